"""Every highlight on the reading page reachable and operable by keyboard, in Chromium.

Each annotation's first mark is a button in the tab order, named for what it opens; Enter or
Space opens it in the panel, where Edit and Delete work as they do with a mouse. Live-server
tests run on `transactional_db`, so each test asks for it first.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.test_browser_annotations import (
    PANEL,
    comment_on,
    focused,
    open_reading,
    reply_to,
    tab_to,
    watch,
)

pytestmark = pytest.mark.browser

PHRASE = "socialism from below"


def test_a_keyboard_reader_opens_a_bare_highlight_and_deletes_it(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    highlight = comment_on(essay, group, member, PHRASE)
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    mark = page.locator(f"mark.hl-{highlight.pk}")
    expect(mark).to_have_class(re.compile(r"\bhl--plain\b"))
    expect(mark).to_have_attribute("role", "button")
    expect(page.get_by_role("button", name=f"Highlight by you: “{PHRASE}”")).to_have_count(1)

    block = page.locator("#" + mark.evaluate("(m) => m.closest('.block').id"))
    tab_to(page, f"mark.hl-{highlight.pk}")
    screenshot(page, "keyboard-1280-highlight-focused")
    page.keyboard.press("Enter")
    note = page.locator(f"{PANEL} #a-{highlight.pk}")
    expect(note.locator(".note__highlight")).to_have_text("Highlighted")
    expect(note.get_by_role("link", name="Edit")).to_be_visible()

    tab_to(page, f"{PANEL} #a-{highlight.pk} .link-button--danger", limit=15)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Delete this\?"))
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Delete")).to_be_focused()
    page.keyboard.press("Enter")

    expect(mark).to_have_count(0)
    expect(page.locator(PANEL)).to_be_hidden()
    expect(block.locator("a[data-annotate]")).to_be_focused()  # where the highlight was
    assert not Annotation.objects.filter(pk=highlight.pk).exists()
    assert problems == []


def test_space_opens_a_highlight_and_escape_brings_focus_back_to_it(
    transactional_db, essay, group, member, facilitator, page, login
):
    comment = comment_on(essay, group, facilitator, PHRASE, "The title in a phrase.")
    reply_to(comment, member, "Agreed.")
    open_reading(page, login, member, group, essay)
    name = f"Comment by Fran Facilitator, 1 reply: “{PHRASE}”"
    mark = page.get_by_role("button", name=name)

    tab_to(page, f"mark.hl-{comment.pk}")
    expect(mark).to_be_focused()
    page.keyboard.press("Space")
    thread = page.locator(f"{PANEL} [data-thread-root='{comment.pk}']")
    expect(thread.locator(".note__body").first).to_have_text("The title in a phrase.")
    expect(thread.get_by_role("link", name="Edit")).to_have_count(1)  # only on my reply
    expect(mark).to_be_in_viewport()  # Space did not scroll the page on

    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    expect(mark).to_be_focused()


def test_every_annotation_has_one_tab_stop_even_inside_another(
    transactional_db, essay, group, member, facilitator, page, login
):
    outer = comment_on(essay, group, facilitator, PHRASE, "Outer.")
    inner = comment_on(essay, group, member, "from below")  # a bare highlight inside it
    open_reading(page, login, member, group, essay)

    stops = page.locator("mark.hl[tabindex='0']")
    expect(stops).to_have_count(2)
    expect(stops.nth(0)).to_have_attribute("data-starts", str(outer.pk))
    expect(stops.nth(1)).to_have_attribute("data-starts", str(inner.pk))
    expect(stops.nth(1)).to_have_accessible_name("Highlight by you: “from below”")

    tab_to(page, f"mark[data-starts='{inner.pk}']")
    page.keyboard.press("Enter")
    expect(page.locator(f"{PANEL} [data-thread-root='{inner.pk}']")).to_be_visible()


def test_the_hidden_apply_button_is_no_stop_for_the_tab_key(
    transactional_db, essay, group, member, page, login
):
    open_reading(page, login, member, group, essay)
    expect(page.locator("[data-filters-submit]")).to_be_hidden()

    page.get_by_label("Hide highlights").focus()
    page.keyboard.press("Tab")

    assert not focused(page, "[data-filters-submit]")
    assert focused(page, ".layer-summary a")  # straight on to the thread count
