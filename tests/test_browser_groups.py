"""Groups in a real Chromium: joining through a link, losing access, starting a group.

Live-server tests run on `transactional_db`, so each test asks for it before the group.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe

from groups.models import InviteLink, Membership, ReadingGroup
from groups.services import invite_link_create
from tests.conftest import PASSWORD, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def watch(page) -> list[str]:
    """Collect console errors and uncaught exceptions from now on."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_a_newcomer_signs_up_through_a_link_and_lands_in_the_group(
    transactional_db, group, facilitator, page, phone_page
):
    link = invite_link_create(group=group, created_by=facilitator, label="Poster")
    problems = watch(page)

    response = page.goto(f"/join/{link.token}/")

    assert response.status == 200
    expect()(page).to_have_url(re.compile(r"/invitation/$"))  # the token left the address bar
    expect()(page.get_by_role("heading", name="Join Tuesday Reading Circle")).to_be_visible()
    screenshot(page, "groups-join-1280")
    phone_page.goto(f"/join/{link.token}/")
    screenshot(phone_page, "groups-join-375")
    assert scroll_width(phone_page) <= 375

    page.get_by_role("link", name="Sign up to join").click()
    expect()(page).to_have_url(re.compile(r"/accounts/signup/\?next=/invitation/$"))
    page.locator("input[name=email]").fill("rosa@example.org")
    page.locator("input[name=username]").fill("rosa")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.get_by_label("Display name").fill("Rosa Newcomer")
    page.get_by_label("Time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Sign up").click()

    # never silently: a signed-in newcomer confirms joining
    expect()(page).to_have_url(re.compile(r"/invitation/$"))
    assert not Membership.objects.filter(user__username="rosa", group=group).exists()
    page.get_by_role("button", name="Join the group").click()

    expect()(page).to_have_url(re.compile(rf"/groups/{group.slug}/$"))
    expect()(page.get_by_role("heading", level=1)).to_have_text("Tuesday Reading Circle")
    people = page.locator("#people")
    expect()(people.get_by_text("Rosa Newcomer")).to_be_visible()
    expect()(page.get_by_text("Welcome to “Tuesday Reading Circle”!")).to_be_visible()
    assert Membership.objects.get(user__username="rosa", group=group).joined_via == link
    assert not problems


def test_a_removed_member_loses_access_at_once(
    transactional_db, group, facilitator, member, page, second_page, login
):
    member_page = login(page, member)
    assert member_page.goto(f"/groups/{group.slug}/").status == 200
    facilitator_page = login(second_page, facilitator)
    facilitator_page.goto(f"/groups/{group.slug}/")

    remove = facilitator_page.get_by_role("button", name="Remove Maria Member from the group")
    expect()(remove).to_have_text("Remove")
    remove.click()
    dialog = facilitator_page.get_by_role("dialog")
    expect()(dialog).to_contain_text("Their annotations stay")
    dialog.get_by_role("button", name="Remove").click()

    expect()(
        facilitator_page.get_by_text("Maria Member has been removed from the group.")
    ).to_be_visible()
    expect()(remove).to_have_count(0)  # no longer among the members...
    lift = facilitator_page.get_by_role("button", name=re.compile(r"^Let back in\W+Maria Member$"))
    expect()(lift).to_be_visible()  # ...but listed as removed, to be let back in one day
    found = Axe().run(facilitator_page).response["violations"]
    serious = [v["id"] for v in found if v["impact"] in ("serious", "critical")]
    assert not serious, serious  # e.g. a button whose name does not say its visible words
    response = member_page.reload()
    assert response.status == 404
    expect()(member_page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert "Tuesday Reading Circle" not in member_page.content()
    assert not Membership.objects.filter(user=member, group=group).exists()


def test_a_facilitator_starts_a_group_and_creates_an_invitation_link(
    transactional_db, essay, facilitator, page, phone_page, login
):
    problems = watch(page)
    login(page, facilitator)
    page.goto("/")

    page.get_by_role("link", name="Start a group").click()
    page.get_by_label("Name").fill("Harbour Readers")
    page.get_by_label("Description").fill("Dock workers reading together, Thursdays.")
    page.get_by_role("button", name="Create group").click()

    group = ReadingGroup.objects.get(name="Harbour Readers")
    expect()(page).to_have_url(re.compile(rf"/groups/{group.slug}/$"))
    expect()(page.get_by_role("heading", level=1)).to_have_text("Harbour Readers")
    expect()(page.get_by_text("you are a facilitator")).to_be_visible()
    screenshot(page, "groups-home-1280")

    page.get_by_role("navigation", name="Group").get_by_role("link", name="Invite").click()
    page.get_by_label("Label").fill("Union newsletter")
    page.get_by_label("Maximum number of people").fill("20")
    page.get_by_role("button", name="Create a link").click()

    link = InviteLink.objects.get(group=group)
    expect()(page.get_by_text("A new invitation link is ready")).to_be_visible()
    field = page.locator(f"#link-url-{link.pk}")  # shown this once: only its hash is kept
    expect()(field).to_have_value(re.compile(r"/join/[A-Za-z0-9_-]{43}/$"))
    token = field.input_value().rstrip("/").rsplit("/", 1)[1]
    assert InviteLink.objects.for_token(token).get() == link
    expect()(page.locator(f"#link-{link.pk}")).to_contain_text("Union newsletter")
    expect()(page.locator(f"#link-{link.pk}")).to_contain_text("used 0 of 20 times")
    page.evaluate("window.scrollTo(0, 0)")  # the link's #anchor scrolled the page down
    screenshot(page, "groups-invitations-1280")
    assert link.max_uses == 20
    assert not problems

    login(phone_page, facilitator)
    for path, name in [
        (f"/groups/{group.slug}/", "groups-home-375"),
        (f"/groups/{group.slug}/invitations/", "groups-invitations-375"),
    ]:
        assert phone_page.goto(path).status == 200
        screenshot(phone_page, name)
        assert scroll_width(phone_page) <= 375, path


def test_the_remove_buttons_are_reached_with_the_keyboard(
    transactional_db, group, facilitator, member, make_user, page, login
):
    Membership.objects.create(group=group, user=make_user("zed", display_name="Zed Reader"))
    login(page, facilitator)
    page.goto(f"/groups/{group.slug}/")

    reached = []
    for _ in range(80):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "({tag: document.activeElement.tagName, text: document.activeElement.textContent"
            ".trim(), label: document.activeElement.getAttribute('aria-label')})"
        )
        if focused["text"] == "Remove":
            reached.append(focused)
        if len(reached) == 2:
            break

    assert [focused["tag"] for focused in reached] == ["BUTTON", "BUTTON"]
    assert {focused["label"] for focused in reached} == {
        "Remove Maria Member from the group",
        "Remove Zed Reader from the group",
    }
    page.keyboard.press("Enter")  # the second one: Zed
    dialog = page.get_by_role("dialog")
    expect()(dialog).to_contain_text("Remove Zed Reader from the group?")
    expect()(dialog.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # "Remove", by keyboard
    expect()(page.get_by_text("Zed Reader has been removed from the group.")).to_be_visible()
