"""Post before you peek, in a real Chromium: a member who has not posted in the range sees only
the prompt there (and the API agrees); once they answer the prompt, the others' notes appear
on the page and in the API. Live-server tests run on `transactional_db`."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from assignments.models import Assignment
from groups.models import GroupReading, Membership
from tests.annotating import QUOTE, create, prompt_for
from tests.conftest import screenshot
from tests.test_annotation_pages import block_of

pytestmark = pytest.mark.browser


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


@pytest.fixture
def locked(transactional_db, group, essay, member, facilitator, make_user):
    """Week 1 (QUOTE's paragraph) with post before you peek; a prompt, Maria's note and
    Fran's note in it; Lee has posted nothing."""
    lee = make_user("lee", display_name="Lee Lurker")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    block = block_of(essay, QUOTE)
    week = Assignment.objects.create(
        group_reading=GroupReading.objects.get(group=group, reading=essay),
        title="Week 1",
        first_block=block.anchor,
        last_block=block.anchor,
        start=block.start,
        end=block.start + len(block.text),
        due_at=timezone.now() + timedelta(days=5),
        post_before_peek=True,
        created_by=facilitator,
    )
    prompt = prompt_for(week, facilitator, body="What is “full democracy” for you?")
    notes = [
        create(group, essay, member, quote=QUOTE[:40], body="Maria's reading."),
        create(group, essay, facilitator, quote=QUOTE[-30:], body="Fran's aside."),
    ]
    return {"lee": lee, "prompt": prompt, "notes": notes}


def api_ids(user, group, essay) -> set[int]:
    raw = api_token_create(user=user, name="check")[1]
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    body = api.get(reverse("annotations:container", args=[group.slug, essay.slug])).json()
    return {int(item["id"].rsplit("/", 1)[1]) for item in body["first"]["items"]}


def test_a_member_sees_the_others_notes_only_after_answering_the_prompt(
    group, essay, locked, page, login
):
    lee, prompt, notes = locked["lee"], locked["prompt"], locked["notes"]
    reading_url = reverse("annotations:reading", args=[group.slug, essay.slug])
    login(page, lee).goto(reading_url)

    expect()(page.locator(f"mark.hl-{prompt.pk}").first).to_be_attached()
    for note in notes:
        expect()(page.locator(f"mark.hl-{note.pk}")).to_have_count(0)
    expect()(page.locator(".assignment-flag__waiting")).to_have_text(
        "2 notes from the group, visible once you post yours"
    )
    assert api_ids(lee, group, essay) == {prompt.pk}
    screenshot(page, "peek-locked-1280")

    page.goto(reverse("annotations:thread", args=[group.slug, essay.slug, prompt.pk]))
    page.get_by_label("Reply").fill("Deciding together how work is done.")
    page.get_by_role("button", name="Reply", exact=True).click()
    expect()(page.get_by_text("Deciding together how work is done.")).to_be_visible()

    page.goto(reading_url)
    for note in notes:
        expect()(page.locator(f"mark.hl-{note.pk}").first).to_be_attached()
    expect()(page.locator(".assignment-flag__waiting")).to_have_count(0)
    assert api_ids(lee, group, essay) >= {prompt.pk, *(note.pk for note in notes)}
    screenshot(page, "peek-unlocked-1280")
