"""The confirm step before destructive actions (static/js/confirm.js), in Chromium.

Any form with data-confirm="question" opens a modal dialog on submit: Cancel or Escape
leaves everything as it was, the confirm button (named for the action) submits the form
with confirmed=1. Live-server tests run on `transactional_db`, so each test asks for it.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.test_browser_annotations import PANEL, comment_on, open_reading, reading_url, watch

pytestmark = pytest.mark.browser

PHRASE = "socialism from below"

# A form of the kind other pages have (remove a member, archive a group...), with no page
# script of its own: it submits natively, to a page that shows its query string.
PLAIN_FORM = """([label]) => {
  const form = document.createElement("form");
  form.method = "get";
  form.action = "/";
  form.dataset.confirm = "Archive the group? Nobody can add to it after.";
  if (label) form.dataset.confirmLabel = label;
  form.innerHTML = '<input type="hidden" name="group" value="7"><button>Archive</button>';
  document.querySelector("main").prepend(form);
}"""


def test_cancel_or_escape_keeps_the_annotation_and_confirming_deletes_it(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    comment = comment_on(essay, group, member, PHRASE, "Keep me.")
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    page.locator(f"mark.hl-{comment.pk}").click()
    delete = page.locator(f"{PANEL} #a-{comment.pk}").get_by_role("button", name="Delete")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Delete this\?"))

    delete.click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "confirm-1280-delete")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()

    delete.click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator(PANEL)).to_be_visible()  # Escape closed the dialog, not the panel

    assert Annotation.objects.filter(pk=comment.pk, deleted_at__isnull=True).exists()
    expect(page.locator(f"mark.hl-{comment.pk}")).to_have_count(1)

    delete.click()
    dialog.get_by_role("button", name="Delete").click()
    expect(page.locator(f"mark.hl-{comment.pk}")).to_have_count(0)
    assert not Annotation.objects.filter(pk=comment.pk).exists()
    assert problems == []


def test_on_a_phone_the_dialog_fits_the_screen(
    transactional_db, essay, group, member, phone_page, login
):
    page = phone_page
    comment = comment_on(essay, group, member, PHRASE, "Delete me on the bus.")
    open_reading(page, login, member, group, essay)
    page.locator(f"mark.hl-{comment.pk}").tap()
    page.locator(f"{PANEL} #a-{comment.pk}").get_by_role("button", name="Delete").tap()

    dialog = page.get_by_role("dialog", name=re.compile(r"^Delete this\?"))
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 375
    screenshot(page, "confirm-375-delete")


@pytest.mark.parametrize(("label", "button"), [(None, "Archive"), ("Archive it", "Archive it")])
def test_any_form_with_data_confirm_submits_only_once_confirmed(
    transactional_db, essay, group, member, page, login, label, button
):
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    page.evaluate(PLAIN_FORM, [label])
    dialog = page.get_by_role("dialog", name="Archive the group? Nobody can add to it after.")

    page.get_by_role("button", name="Archive", exact=True).click()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert page.url.endswith(reading_url(group, essay))

    page.get_by_role("button", name="Archive", exact=True).click()
    dialog.get_by_role("button", name=button, exact=True).click()

    expect(page).to_have_url(re.compile(r"/\?group=7&confirmed=1$"))
    assert problems == []


def test_loaded_twice_under_two_addresses_it_still_asks_once(
    transactional_db, essay, group, member, page, login
):
    open_reading(page, login, member, group, essay)
    # As when the base template loads the hashed file and a page script imports the plain one.
    page.evaluate("import('/static/js/confirm.js?hashed')")
    page.evaluate(PLAIN_FORM, [None])

    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.locator("dialog[open]")).to_have_count(1)
    page.locator("dialog[open]").get_by_role("button", name="Archive").click()

    expect(page).to_have_url(re.compile(r"\?group=7&confirmed=1$"))  # not asked a second time
