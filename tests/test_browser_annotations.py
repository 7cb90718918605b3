"""The annotation layer in a real Chromium, driven the way a reader drives it.

Words are selected with the mouse (or the keyboard), the toolbar and editor are clicked and
typed into, threads are read in the panel. The ORM only sets up data and checks what was
stored. Live-server tests run on `transactional_db`, so each test asks for it first.
"""

import re

import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

PANEL = "#annotation-panel"
TOOLBAR = "#selection-toolbar"
BLOCKS = ".reading__body .block__text"

# Viewport coordinates inside the first ("start") or last ("end") character of `phrase` in an
# element, so a mouse pressed there puts the caret just before it (released there, just after
# it); or the centre of the phrase ("middle"), for a double-click.
CHARACTER_POINT = """
([selector, index, phrase, edge]) => {
  const el = document.querySelectorAll(selector)[index];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let text = "";
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    nodes.push([n, text.length]);
    text += n.data;
  }
  const found = text.indexOf(phrase);
  if (found < 0) throw new Error(`“${phrase}” is not in ${selector}[${index}]`);
  if (edge === "middle") {
    const [node, offset] = nodes.filter(([, o]) => o <= found).pop();
    const range = document.createRange();
    range.setStart(node, found - offset);
    range.setEnd(node, found - offset + phrase.length);
    const rect = range.getClientRects()[0];
    return { x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 };
  }
  let at = edge === "start" ? found : found + phrase.length - 1;
  if (edge !== "start" && /[\\udc00-\\udfff]/.test(text[at])) at -= 1;
  const width = /[\\ud800-\\udbff]/.test(text[at]) ? 2 : 1;
  const [node, offset] = nodes.filter(([, o]) => o <= at).pop();
  const range = document.createRange();
  range.setStart(node, at - offset);
  range.setEnd(node, at - offset + width);
  const rect = range.getClientRects()[0];
  const y = rect.top + rect.height / 2;
  return edge === "start" ? { x: rect.left + 1, y } : { x: rect.right - 1, y };
}
"""


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def watch(page) -> list[str]:
    """Collect console errors and uncaught exceptions from now on."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def reading_url(group, reading) -> str:
    return f"/groups/{group.slug}/readings/{reading.slug}/"


def open_reading(page, login, user, group, reading):
    login(page, user)
    response = page.goto(reading_url(group, reading))
    assert response.status == 200
    expect()(page.locator("body.js-annotations")).to_have_count(1)  # the script has started
    wait_until_drawn(page)
    return page


def wait_until_drawn(page) -> None:
    """Wait for the page's script to have fetched the layer and drawn all of it."""
    page.wait_for_function("() => window.__commonplace?.state === 'drawn'")


def point(page, index: int, phrase: str, edge: str, selector: str = BLOCKS) -> dict:
    return page.evaluate(CHARACTER_POINT, [selector, index, phrase, edge])


def drag_select(page, start: tuple[int, str], end: tuple[int, str]) -> str:
    """Press the mouse on the first letter of one phrase, release on the last letter of
    another (each given as (block index, phrase)); return the selection as the reader sees it."""
    page.locator(BLOCKS).nth(start[0]).scroll_into_view_if_needed()
    a = point(page, start[0], start[1], "start")
    b = point(page, end[0], end[1], "end")
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move((a["x"] + b["x"]) / 2, (a["y"] + b["y"]) / 2, steps=4)
    page.mouse.move(b["x"], b["y"], steps=4)
    page.mouse.up()
    return settled_selection(page)


def settled_selection(page) -> str:
    """Wait for the toolbar to follow the final selection (it is placed 180 ms after the last
    selection change, so a toolbar shown mid-drag may still hold an earlier one)."""
    page.wait_for_timeout(250)
    expect()(page.locator(TOOLBAR)).to_be_visible()
    return page.evaluate("window.getSelection().toString()")


def select_phrase(page, index: int, phrase: str) -> str:
    return drag_select(page, (index, phrase), (index, phrase))


def canonical(reading) -> str:
    return reading.canonical_text()


def comment_on(reading, group, author, phrase: str, body: str = "", **fields):
    """Set up a root annotation on the first occurrence of `phrase`."""
    from annotations.services import annotation_create

    text = canonical(reading)
    start = text.index(phrase)
    fields.setdefault("motivation", "commenting" if body else "highlighting")
    return annotation_create(
        group=group,
        reading=reading,
        author=author,
        body=body,
        start=start,
        end=start + len(phrase),
        exact=phrase,
        text=text,
        **fields,
    )


def reply_to(annotation, author, body: str):
    from annotations.services import annotation_create

    return annotation_create(
        group=annotation.group,
        reading=annotation.reading,
        author=author,
        motivation="replying",
        body=body,
        parent=annotation,
    )


# The viewer's whole layer from the address the page fetches it from (#reading-config's
# data-layer, less any filter in its query string), fetched in the page with the reader's
# cookies: one object per row, named by the header's columns.
LAYER_ROWS = """
async () => {
  const url = document.getElementById("reading-config").dataset.layer.split("?")[0];
  const layer = await (await fetch(url, { credentials: "same-origin" })).json();
  const named = (row) => Object.fromEntries(layer.columns.map((name, i) => [name, row[i]]));
  return layer.rows.map(named);
}
"""


def layer_rows(page) -> list[dict]:
    """The viewer's whole layer as the server sends it (no filter applied, orphans too)."""
    return page.evaluate(LAYER_ROWS)


def layer_ids(page) -> list[int]:
    return [row["id"] for row in layer_rows(page)]


def drawn_ids(page) -> list[int]:
    """The annotations the page has drawn (once it has drawn them all), in id order."""
    wait_until_drawn(page)
    return page.evaluate(
        """() => [...new Set([...document.querySelectorAll("mark.hl")]
                  .flatMap((mark) => mark.dataset.ids.split(" ").map(Number)))]
                  .sort((a, b) => a - b)"""
    )


# --- commenting and threads ---------------------------------------------------------------------


def test_a_member_comments_on_words_selected_with_the_mouse(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    problems = watch(page)
    open_reading(page, login, member, group, essay)

    selected = select_phrase(page, 0, "the deeply-felt and shared desire")
    assert selected.strip() == "the deeply-felt and shared desire"
    page.locator(TOOLBAR).get_by_role("button", name="Comment").click()
    panel = page.locator(PANEL)
    expect()(panel.locator("[data-editor-quote]")).to_have_text(selected.strip())
    expect()(page.locator("#editor-body")).to_be_focused()
    page.keyboard.type("Is this **democracy** from _below_?")
    panel.get_by_role("button", name="Save").click()

    thread = panel.locator("[data-thread-root]")
    expect()(thread).to_be_visible()
    expect()(thread.locator(".note__body strong")).to_have_text("democracy")
    expect()(thread.locator(".note__body em")).to_have_text("below")
    annotation = Annotation.objects.get()
    assert annotation.exact == selected.strip()
    assert annotation.author == member
    assert annotation.motivation == "commenting"
    assert canonical(essay)[annotation.start : annotation.end] == annotation.exact

    page.reload()
    mark = page.locator(f"mark.hl-{annotation.pk}")
    expect()(mark).to_have_text(annotation.exact)
    first = page.locator(".reading__body .block").first
    expect()(first.locator("a.margin__count")).to_have_text("1 thread")
    assert problems == []


def test_another_member_sees_the_comment_opens_it_from_the_mark_and_replies(
    transactional_db, essay, group, member, facilitator, page, second_page, login
):
    annotation = comment_on(
        essay, group, member, "socialism from below", "The title in a phrase.", tags=["theme"]
    )
    problems = watch(page) + watch(second_page)
    fran = open_reading(second_page, login, facilitator, group, essay)

    mark = fran.locator(f"mark.hl-{annotation.pk}").first
    expect()(mark).to_be_visible()
    mark.click()
    thread = fran.locator(f"{PANEL} [data-thread-root='{annotation.pk}']")
    expect()(thread.locator(".note__body")).to_have_text("The title in a phrase.")
    expect()(thread.locator(".note__by").first).to_have_text("Maria Member")
    thread.locator("[data-reply-form] textarea").fill("Agreed: read it *twice*.")
    thread.get_by_role("button", name="Reply", exact=True).click()
    reply = fran.locator(f"{PANEL} .note--depth1")
    expect()(reply.locator(".note__body em")).to_have_text("twice")
    expect()(reply.locator(".note__by")).to_have_text("Fran Facilitator")
    screenshot(fran, "annotations-1280-thread-open")

    maria = open_reading(page, login, member, group, essay)
    maria.locator(f"mark.hl-{annotation.pk}").first.click()
    expect()(maria.locator(f"{PANEL} .note--depth1 .note__body")).to_have_text(
        "Agreed: read it twice."
    )
    assert annotation.children.get().author == facilitator
    assert problems == []


def test_the_other_group_and_outsiders_see_nothing_of_the_comment(
    transactional_db, essay, group, other_group, member, other_member, outsider, page, login
):
    annotation = comment_on(essay, group, member, "socialism from below", "Only for Tuesdays.")
    problems = watch(page)

    open_reading(page, login, other_member, other_group, essay)
    expect()(page.locator(".block__text").first).to_be_visible()
    expect()(page.locator("mark.hl")).to_have_count(0)
    expect()(page.locator("a.margin__count")).to_have_count(0)
    assert layer_ids(page) == []
    assert "Only for Tuesdays" not in page.content()
    assert problems == []
    assert page.request.get(reading_url(group, essay)).status == 404
    thread_url = f"{reading_url(group, essay)}threads/{annotation.pk}/"
    assert page.request.get(thread_url).status == 404

    page.context.clear_cookies()
    login(page, outsider)
    response = page.goto(reading_url(group, essay))
    assert response.status == 404
    expect()(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert "Tuesday Reading Circle" not in page.content()


def test_a_private_note_is_invisible_to_the_rest_of_the_group(
    transactional_db, essay, group, member, facilitator, page, second_page, login
):
    from annotations.models import Annotation

    problems = watch(page) + watch(second_page)
    open_reading(page, login, member, group, essay)
    selected = select_phrase(page, 1, "a specter haunting")
    page.locator(TOOLBAR).get_by_role("button", name="Comment").click()
    page.keyboard.type("Note to self: look up the Manifesto.")
    page.locator(PANEL).get_by_label("Only me (a private note)").check()
    page.locator(PANEL).get_by_role("button", name="Save").click()
    expect()(page.locator(f"{PANEL} .badge--private")).to_have_text("only you")
    note = Annotation.objects.get()
    assert note.visibility == "private"
    assert note.exact == selected.strip()
    expect()(page.locator(f"mark.hl-{note.pk}")).to_have_class(re.compile(r"\bhl--private\b"))

    open_reading(second_page, login, facilitator, group, essay)
    expect()(second_page.locator(".block__text").nth(1)).to_be_visible()
    expect()(second_page.locator("mark.hl")).to_have_count(0)
    expect()(second_page.locator("a.margin__count")).to_have_count(0)
    assert layer_ids(second_page) == []
    assert "look up the Manifesto" not in second_page.content()
    thread_url = f"{reading_url(group, essay)}threads/{note.pk}/"
    assert second_page.request.get(thread_url).status == 404
    assert problems == []


def test_the_author_edits_and_then_deletes_a_comment_that_has_a_reply(
    transactional_db, essay, group, member, facilitator, page, login
):
    annotation = comment_on(essay, group, member, "socialism from below", "First thoughts.")
    reply = reply_to(annotation, facilitator, "A reply that must survive.")
    problems = watch(page)
    open_reading(page, login, member, group, essay)

    page.locator(f"mark.hl-{annotation.pk}").first.click()
    note = page.locator(f"{PANEL} #a-{annotation.pk}")
    expect()(note.locator(".note__body")).to_have_text("First thoughts.")
    expect()(note.locator(".note__edited")).to_have_count(0)
    note.get_by_role("link", name="Edit").click()
    editor = page.locator(f"{PANEL} form[data-edit-form]")
    expect()(editor.locator("textarea[name=body]")).to_have_value("First thoughts.")
    editor.locator("textarea[name=body]").fill("Second thoughts, **better** ones.")
    editor.get_by_role("button", name="Save changes").click()
    expect()(note.locator(".note__body")).to_have_text("Second thoughts, better ones.")
    expect()(note.locator(".note__edited")).to_have_text("(edited)")
    annotation.refresh_from_db()
    assert annotation.edited_at is not None

    note.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog", name=re.compile(r"^Delete this\?")).get_by_role(
        "button", name="Delete"
    ).click()
    expect()(note.locator(".note__deleted")).to_have_text("[deleted]")
    expect()(page.locator(f"{PANEL} #a-{reply.pk} .note__body")).to_have_text(
        "A reply that must survive."
    )
    annotation.refresh_from_db()
    assert annotation.deleted_at is not None

    page.reload()
    page.locator(f"mark.hl-{annotation.pk}").first.click()
    expect()(page.locator(f"{PANEL} #a-{annotation.pk} .note__deleted")).to_have_text("[deleted]")
    expect()(page.locator(f"{PANEL} #a-{reply.pk}")).to_be_visible()
    assert problems == []


# --- selections that are hard to anchor ---------------------------------------------------------


def test_a_highlight_across_a_section_heading_marks_both_paragraphs_and_the_heading(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    problems = watch(page)
    open_reading(page, login, member, group, essay)

    drag_select(page, (1, "workers’ control and complete"), (2, "we are really talking"))
    page.locator(TOOLBAR).get_by_role("button", name="Highlight").click()
    expect()(page.locator("mark.hl")).not_to_have_count(0)
    annotation = Annotation.objects.get()
    assert annotation.motivation == "highlighting"
    assert annotation.exact.startswith("workers’ control and complete democracy.")
    assert annotation.exact.endswith("we are really talking")
    assert "\n\nWhy the working class\n\n" in annotation.exact
    assert canonical(essay)[annotation.start : annotation.end] == annotation.exact

    page.reload()
    marks = f"mark.hl-{annotation.pk}"
    blocks = page.locator(BLOCKS)
    expect()(blocks.nth(1).locator(marks)).to_have_text("workers’ control and complete democracy.")
    expect()(page.locator(f"#why-the-working-class-h {marks}")).to_have_text(
        "Why the working class"
    )
    expect()(blocks.nth(2).locator(marks)).to_have_text(
        "When socialists talk about ordinary people, we are really talking"
    )
    assert problems == []


HARD_SCRIPTS = """---
title: Hard scripts
---

👩🏽‍🔬 Scientists 🧪 test the water before the meeting.

Cafe\u0301 society meets after work on Thursdays.

العمال يصنعون التاريخ: workers make history together.
"""


def test_highlights_after_emoji_combining_accents_and_arabic_anchor_exactly(
    transactional_db, group, facilitator, member, page, login
):
    from annotations.models import Annotation
    from groups.models import GroupReading
    from readings.services import reading_import

    reading = reading_import(data=HARD_SCRIPTS.encode(), filename="scripts.md", slug="scripts")
    GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)
    text = canonical(reading)
    problems = watch(page)
    open_reading(page, login, member, group, reading)
    highlight = page.locator(TOOLBAR).get_by_role("button", name="Highlight")

    chosen = [select_phrase(page, 0, "test the water").strip()]
    highlight.click()
    expect()(page.locator("mark.hl")).to_have_count(1)

    word = point(page, 1, "society", "middle")  # just after the combining accent
    page.mouse.dblclick(word["x"], word["y"])
    chosen.append(settled_selection(page).strip())
    highlight.click()
    expect()(page.locator("mark.hl")).to_have_count(2)

    chosen.append(select_phrase(page, 2, "make history").strip())
    highlight.click()
    expect()(page.locator("mark.hl")).to_have_count(3)

    assert chosen == ["test the water", "society", "make history"]
    stored = list(Annotation.objects.order_by("start"))
    assert [a.exact for a in stored] == chosen
    for annotation in stored:
        assert text[annotation.start : annotation.end] == annotation.exact

    page.reload()
    for annotation in stored:
        expect()(page.locator(f"mark.hl-{annotation.pk}")).to_have_text(annotation.exact)
    assert problems == []


# --- keyboard, phone, permalinks, filters -------------------------------------------------------


def focused(page, selector: str) -> bool:
    return page.evaluate(f"document.activeElement.matches({selector!r})")


def tab_to(page, selector: str, *, key: str = "Tab", limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page, selector):
            return
    raise AssertionError(f"{key} never reached {selector}")


def test_the_second_skip_link_takes_a_keyboard_reader_straight_to_the_text(
    transactional_db, essay, group, member, page, login
):
    open_reading(page, login, member, group, essay)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the text"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "text"

    tab_to(page, "a[data-annotate]", limit=3)  # the first paragraph's control, at once


def test_a_keyboard_reader_chooses_the_exact_words_with_shift_and_the_arrows(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    problems = watch(page)
    open_reading(page, login, member, group, essay)
    tab_to(page, "a[data-annotate]")
    page.keyboard.press("Enter")
    expect()(page.locator(f"{PANEL} [data-editor-passage]")).to_be_focused()

    page.keyboard.press("Control+Home")
    for _ in range(len("The word socialism")):
        page.keyboard.press("Shift+ArrowRight")
    expect()(page.locator(f"{PANEL} [data-editor-quote]")).to_have_text(
        "The word socialism", timeout=2_000
    )
    tab_to(page, "#editor-body", limit=5)
    page.keyboard.type("It opens on the *word*, not the thing.")
    tab_to(page, f"{PANEL} button[type=submit]", limit=8)
    page.keyboard.press("Enter")

    expect()(page.locator(f"{PANEL} [data-thread-root] .note__body em")).to_have_text("word")
    annotation = Annotation.objects.get()
    assert annotation.exact == "The word socialism"
    assert annotation.start == 0
    assert problems == []


def test_a_keyboard_reader_annotates_a_paragraph_and_replies_without_a_mouse(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    problems = watch(page)
    open_reading(page, login, member, group, essay)
    first = page.locator(".reading__body .block").first
    annotate = first.locator("a[data-annotate]")
    expect()(annotate).to_have_css("opacity", "0")

    tab_to(page, "a[data-annotate]")
    expect()(annotate).to_be_focused()
    expect()(annotate).to_have_css("opacity", "1")  # it shows itself on focus
    page.keyboard.press("Enter")
    expect()(page.locator(f"{PANEL} [data-editor-passage]")).to_be_focused()
    tab_to(page, "#editor-body", limit=5)
    page.keyboard.type("The whole opening, by *keyboard*.")
    tab_to(page, f"{PANEL} button[type=submit]", limit=8)
    page.keyboard.press("Enter")

    expect()(page.locator(f"{PANEL} [data-thread-root] .note__body em")).to_have_text("keyboard")
    annotation = Annotation.objects.get()
    assert annotation.exact == essay.blocks.order_by("position").first().text
    assert annotation.start == 0

    page.keyboard.press("Escape")
    expect()(page.locator(PANEL)).to_be_hidden()
    expect()(annotate).to_be_focused()  # back where the reader was
    tab_to(page, "a.margin__count", key="Shift+Tab", limit=3)
    count = first.locator("a.margin__count")
    expect()(count).to_be_focused()
    expect()(count).to_have_text("1 thread")
    page.keyboard.press("Enter")
    expect()(page.locator(f"{PANEL} [data-thread-root='{annotation.pk}']")).to_be_visible()
    tab_to(page, f"{PANEL} [data-reply-form] textarea", limit=15)
    page.keyboard.type("Replying by keyboard.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect()(page.locator(f"{PANEL} .note--depth1 .note__body")).to_have_text(
        "Replying by keyboard."
    )
    assert annotation.children.get().body == "Replying by keyboard."

    page.keyboard.press("Escape")
    expect()(page.locator(PANEL)).to_be_hidden()
    expect()(count).to_be_focused()
    assert problems == []


def test_on_a_phone_a_thread_opens_as_a_bottom_sheet_and_the_toolbar_docks(
    transactional_db, essay, group, member, facilitator, phone_page, login
):
    from annotations.models import Annotation

    page = phone_page
    annotation = comment_on(essay, group, facilitator, "socialism from below", "On the phone.")
    reply_to(annotation, member, "Reading on the bus.")
    problems = watch(page)
    open_reading(page, login, member, group, essay)

    block = page.locator(".block", has=page.locator(f"mark.hl-{annotation.pk}"))
    block.locator("a.margin__count").tap()
    panel = page.locator(PANEL)
    expect()(panel.locator(".note--depth1 .note__body")).to_have_text("Reading on the bus.")
    box = panel.bounding_box()
    assert box["x"] == 0
    assert box["width"] == 375
    assert abs(box["y"] + box["height"] - 740) <= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "annotations-375-thread-open")

    panel.locator("[data-panel-close]").tap()
    expect()(panel).to_be_hidden()
    page.evaluate(
        """() => {
          const text = document.querySelectorAll(".block__text")[1].firstChild;
          const range = document.createRange();
          range.setStart(text, 0);
          range.setEnd(text, "The future of our generation".length);
          getSelection().removeAllRanges();
          getSelection().addRange(range);
        }"""
    )
    toolbar = page.locator(TOOLBAR)
    expect()(toolbar).to_be_visible()
    expect()(toolbar).to_have_class(re.compile(r"\bselection-toolbar--docked\b"))
    bar = toolbar.bounding_box()
    assert bar["y"] + bar["height"] <= 740
    toolbar.get_by_role("button", name="Highlight").tap()
    expect()(page.locator("mark.hl--plain")).to_have_text("The future of our generation")
    assert Annotation.objects.filter(motivation="highlighting").get().author == member
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert problems == []


def test_a_permalink_opens_the_panel_with_that_thread(
    transactional_db, essay, group, member, facilitator, page, login
):
    annotation = comment_on(essay, group, facilitator, "Both of these", "Which two?")
    reply = reply_to(annotation, member, "Stalinism and social democracy.")
    problems = watch(page)
    login(page, member)

    page.goto(f"{reading_url(group, essay)}#a-{annotation.pk}")
    panel = page.locator(PANEL)
    expect()(panel.locator(f"[data-thread-root='{annotation.pk}']")).to_be_visible()
    expect()(panel.locator(f"#a-{annotation.pk} .note__body")).to_have_text("Which two?")
    mark = page.locator(f"mark.hl-{annotation.pk}")
    expect()(mark).to_have_class(re.compile(r"\bhl--active\b"))
    expect()(mark).to_be_in_viewport()

    page.goto(f"{reading_url(group, essay)}#a-{reply.pk}")
    page.reload()  # a change of hash alone does not load the page
    expect()(panel.locator(f"#a-{reply.pk}")).to_have_class(re.compile(r"\bnote--target\b"))
    expect()(panel.locator(f"#a-{annotation.pk} .note__body")).to_have_text("Which two?")
    assert problems == []


def test_choosing_only_mine_reloads_the_page_without_the_others_marks(
    transactional_db, essay, group, member, facilitator, page, login
):
    mine = comment_on(essay, group, member, "socialism from below", "Mine.")
    theirs = comment_on(essay, group, facilitator, "Both of these", "Theirs.")
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    expect()(page.locator(f"mark.hl-{theirs.pk}")).to_have_count(1)

    page.get_by_label("Show").select_option(label="Only mine")

    expect()(page).to_have_url(re.compile(r"[?&]show=mine\b"))
    expect()(page.get_by_label("Show")).to_have_value("mine")
    expect()(page.locator(f"mark.hl-{mine.pk}").first).to_be_visible()
    expect()(page.locator(f"mark.hl-{theirs.pk}")).to_have_count(0)
    assert drawn_ids(page) == [mine.pk]
    assert problems == []


# --- while the layer is on its way, or if it never comes ----------------------------------------


def test_the_text_reads_and_takes_a_highlight_before_the_layer_arrives(
    transactional_db, essay, group, member, facilitator, page, login
):
    from annotations.models import Annotation

    theirs = comment_on(essay, group, facilitator, "Both of these", "Theirs.")
    problems = watch(page)
    held = []
    page.route("**/layer.json", lambda route: held.append(route))  # held until let through
    login(page, member)
    page.goto(reading_url(group, essay))
    expect()(page.locator("body.js-annotations")).to_have_count(1)
    assert page.evaluate("window.__commonplace.state") == "loading"
    expect()(page.locator(BLOCKS).first).to_be_visible()
    page.mouse.wheel(0, 600)  # it scrolls
    page.wait_for_function("() => window.scrollY > 0")

    select_phrase(page, 1, "a specter haunting")
    page.locator(TOOLBAR).get_by_role("button", name="Highlight").click()
    expect()(page.locator("mark.hl")).to_have_text("a specter haunting")  # drawn at once
    mine = Annotation.objects.get(motivation="highlighting")
    expect()(page.locator(f"mark.hl-{mine.pk}")).to_have_count(1)

    held[0].continue_()
    wait_until_drawn(page)
    expect()(page.locator(f"mark.hl-{theirs.pk}")).to_have_count(1)
    expect()(page.locator(f"mark.hl-{mine.pk}")).to_have_text("a specter haunting")
    assert drawn_ids(page) == sorted([theirs.pk, mine.pk])
    assert problems == []


def test_without_the_layer_the_page_says_so_and_the_counts_still_lead_to_the_threads(
    transactional_db, essay, group, member, facilitator, page, login
):
    comment_on(essay, group, facilitator, "socialism from below", "Still here.")
    page.route("**/layer.json", lambda route: route.fulfill(status=503, body="Busy"))
    login(page, member)
    page.goto(reading_url(group, essay))

    expect()(page.get_by_role("status")).to_have_text(
        "The highlights could not be loaded. Reload the page to try again."
    )
    assert page.evaluate("window.__commonplace.state") == "failed"
    expect()(page.locator("mark.hl")).to_have_count(0)
    count = page.locator(".block", has_text="socialism from below").first.locator("a.margin__count")
    expect()(count).to_have_text("1 thread")  # as the server counted
    count.click()
    expect()(page).to_have_url(re.compile(r"/threads/\?block="))
    expect()(page.get_by_text("Still here.")).to_be_visible()


def test_coming_back_to_the_page_revalidates_the_layer_instead_of_loading_it_again(
    transactional_db, essay, group, member, facilitator, page, login
):
    theirs = comment_on(essay, group, facilitator, "Both of these", "Theirs.")
    open_reading(page, login, member, group, essay)
    # What the server itself answered for the layer, before the browser's cache answers the page.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    layer_requests, answers = set(), {}

    def sent(event):
        if event["request"]["url"].split("?")[0].endswith("/layer.json"):
            layer_requests.add(event["requestId"])

    network.on("Network.requestWillBeSent", sent)
    network.on(
        "Network.responseReceivedExtraInfo",
        lambda event: answers.__setitem__(event["requestId"], event["statusCode"]),
    )

    page.reload()
    wait_until_drawn(page)

    assert [answers.get(request) for request in layer_requests] == [304]
    expect()(page.locator(f"mark.hl-{theirs.pk}")).to_have_count(1)  # drawn from the cache
