"""Two pages edit the same annotation at once, in a real Chromium: one wins, the other is
told and keeps what it wrote.

The author has the note open in two places: the reading page's panel (the script posts the
edit form with fetch) and the plain edit page (no script involved). Each edit carries the
version its form was drawn from, so the later one, drawn before the first was saved, is
refused (412): its page says so, shows the version saved meanwhile and keeps its text in the
editor, to save over it or drop. A reply refused in the panel (its thread hidden meanwhile)
is told why, and keeps its words too.
"""

import pytest

from tests.test_browser_annotations import (
    PANEL,
    comment_on,
    expect,
    open_reading,
    reading_url,
    watch,
)

pytestmark = pytest.mark.browser

CONFLICT = "This note changed while you were editing it"


def test_the_loser_of_two_concurrent_edits_is_told_and_keeps_their_text(
    transactional_db, essay, group, member, page, second_page, login
):
    note = comment_on(essay, group, member, "socialism from below", "First thoughts.")
    problems = watch(page)
    edit_url = f"{reading_url(group, essay)}notes/{note.pk}/edit/"

    # The panel's editor is drawn first; then the plain edit page, in another window.
    open_reading(page, login, member, group, essay)
    page.locator(f"mark.hl-{note.pk}").first.click()
    page.locator(f"{PANEL} #a-{note.pk}").get_by_role("link", name="Edit").click()
    editor = page.locator(f"{PANEL} form[data-edit-form]")
    editor.locator("textarea[name=body]").fill("Written in the panel.")
    login(second_page, member)
    assert second_page.goto(edit_url).status == 200
    second_page.locator("textarea[name=body]").fill("Written on the edit page.")

    # The edit page saves first and wins; the panel's save is refused, and says so.
    second_page.get_by_role("button", name="Save changes").click()
    expect()(second_page.locator(f"#a-{note.pk} .note__body")).to_have_text(
        "Written on the edit page."
    )
    editor.get_by_role("button", name="Save changes").click()
    notice = page.locator(f"{PANEL} [data-edit-conflict]")
    expect()(notice).to_contain_text(CONFLICT)
    expect()(notice).to_be_focused()
    expect()(notice.locator("[data-edit-theirs]")).to_have_text("Written on the edit page.")
    kept = page.locator(f"{PANEL} form[data-edit-form] textarea[name=body]")
    expect()(kept).to_have_value("Written in the panel.")
    note.refresh_from_db()
    assert note.body == "Written on the edit page."

    # Having seen theirs, the panel saves its own over it, on purpose.
    page.locator(f"{PANEL} form[data-edit-form]").get_by_role(
        "button", name="Save mine instead"
    ).click()
    expect()(page.locator(f"{PANEL} #a-{note.pk} .note__body")).to_have_text(
        "Written in the panel."
    )
    note.refresh_from_db()
    assert note.body == "Written in the panel."

    # The other way round: the plain form, drawn before the panel's save, is the loser.
    assert second_page.goto(edit_url).status == 200
    second_page.locator("textarea[name=body]").fill("Late words from the edit page.")
    page.locator(f"{PANEL} #a-{note.pk}").get_by_role("link", name="Edit").click()
    page.locator(f"{PANEL} form[data-edit-form] textarea[name=body]").fill("Panel again.")
    page.locator(f"{PANEL} form[data-edit-form]").get_by_role("button", name="Save changes").click()
    expect()(page.locator(f"{PANEL} #a-{note.pk} .note__body")).to_have_text("Panel again.")
    with second_page.expect_response(lambda r: r.request.method == "POST") as posted:
        second_page.get_by_role("button", name="Save changes").click()
    assert posted.value.status == 412
    expect()(second_page.get_by_role("alert")).to_contain_text(CONFLICT)
    expect()(second_page.locator("[data-edit-theirs]")).to_have_text("Panel again.")
    expect()(second_page.locator("textarea[name=body]")).to_have_value(
        "Late words from the edit page."
    )
    note.refresh_from_db()
    assert note.body == "Panel again."
    # Chromium logs every 4xx answer to a fetch; the 412 was the point. Nothing else.
    assert [p for p in problems if "status of 412" not in p] == []


def test_a_reply_refused_in_the_panel_says_why_and_keeps_its_words(
    transactional_db, essay, group, member, facilitator, page, second_page, login
):
    """The same for a reply: a facilitator hides the thread while its author writes one."""
    note = comment_on(essay, group, member, "socialism from below", "Off the point.")
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    page.locator(f"mark.hl-{note.pk}").first.click()
    page.locator(f"{PANEL} [data-reply-form] textarea").fill("One more thing.")

    login(second_page, facilitator)
    second_page.goto(f"{reading_url(group, essay)}threads/{note.pk}/")
    second_page.locator(f"#a-{note.pk} summary", has_text="Hide").click()
    second_page.get_by_label("Note to the author").fill("Off topic")
    second_page.get_by_role("button", name="Hide it").click()
    expect()(second_page.locator(f"#a-{note.pk} .note__hidden-note")).to_be_visible()

    page.locator(f"{PANEL} [data-reply-form]").get_by_role("button", name="Reply").click()
    refused = page.locator(f"{PANEL} [data-reply-refused]")
    expect()(refused).to_contain_text("A facilitator hid this thread: it takes no more replies.")
    expect()(refused).to_be_focused()
    expect()(refused.locator("textarea")).to_have_value("One more thing.")
    expect()(page.locator(f"{PANEL} [data-reply-form]")).to_have_count(0)
    assert not note.children.exists()
    assert [p for p in problems if "status of 403" not in p] == []
