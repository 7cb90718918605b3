"""Mouse selections snap to whole words; the keyboard passage picker stays exact (Chromium).

A reader dragging from the middle of one word to the middle of another means those words:
the selection on screen widens to them and that is what is saved. In the editor's passage
box, chosen with Shift and the arrows, the reader gets exactly the characters chosen. Live-
server tests run on `transactional_db`, so each test asks for it first.
"""

import pytest
from playwright.sync_api import expect

from tests.test_browser_annotations import (
    BLOCKS,
    PANEL,
    TOOLBAR,
    canonical,
    layer_rows,
    open_reading,
    point,
    settled_selection,
    tab_to,
    watch,
)

pytestmark = pytest.mark.browser


def drag(page, index: int, start_in: str, end_in: str) -> None:
    """Press the mouse just before the first letter of `start_in`, release just after the last
    letter of `end_in` (both in block `index`), as a hand on a mouse would."""
    page.locator(BLOCKS).nth(index).scroll_into_view_if_needed()
    a = point(page, index, start_in, "start")
    b = point(page, index, end_in, "end")
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2, steps=4)
    page.mouse.move(b["x"], b["y"], steps=4)
    page.mouse.up()


def test_a_drag_from_mid_word_to_mid_word_saves_whole_words(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    problems = watch(page)
    open_reading(page, login, member, group, essay)

    drag(page, 2, "cialists talk", "we are really ta")  # so|cialists ... really ta|lking
    whole = "socialists talk about ordinary people, we are really talking"
    assert settled_selection(page) == whole  # the selection on screen shows what will be saved
    page.locator(TOOLBAR).get_by_role("button", name="Highlight").click()

    expect(page.locator("mark.hl")).to_have_count(1)
    annotation = Annotation.objects.get()
    assert annotation.exact == whole
    assert canonical(essay)[annotation.start : annotation.end] == whole
    page.reload()
    (item,) = layer_rows(page)
    assert canonical(essay)[item["start"] : item["end"]] == whole
    expect(page.locator(f"mark.hl-{annotation.pk}")).to_have_text(whole)
    assert problems == []


def test_a_drag_ending_past_a_comma_keeps_the_words_and_drops_the_comma(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    open_reading(page, login, member, group, essay)

    drag(page, 0, "eeply-felt", "world without poverty,")  # d|eeply-felt, hyphen and all
    page.locator(TOOLBAR).get_by_role("button", name="Comment").click()
    words = "deeply-felt and shared desire for a world without poverty"
    expect(page.locator(f"{PANEL} [data-editor-quote]")).to_have_text(words)
    page.keyboard.type("Whose desire?")
    page.locator(PANEL).get_by_role("button", name="Save").click()

    expect(page.locator(f"{PANEL} [data-thread-root] .note__body")).to_have_text("Whose desire?")
    assert Annotation.objects.get().exact == words


def test_the_keyboard_passage_picker_chooses_exactly_even_half_a_word(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    open_reading(page, login, member, group, essay)
    tab_to(page, "a[data-annotate]")
    page.keyboard.press("Enter")
    expect(page.locator(f"{PANEL} [data-editor-passage]")).to_be_focused()

    page.keyboard.press("Control+Home")
    for _ in range(len("The word soc")):
        page.keyboard.press("Shift+ArrowRight")
    expect(page.locator(f"{PANEL} [data-editor-quote]")).to_have_text("The word soc")
    page.locator(PANEL).get_by_label("Highlight only").check()
    page.locator(PANEL).get_by_role("button", name="Save").click()

    expect(page.locator("mark.hl")).to_have_text("The word soc")
    assert Annotation.objects.get().exact == "The word soc"
