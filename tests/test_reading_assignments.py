"""The group reading page shows what is assigned: a quiet band beside the range, its title and
due date (the viewer's time, the group's beside it) at the first block, the notes waiting
behind "post before you peek", and what is due in the contents."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment
from groups.models import GroupReading, Membership
from tests.annotating import QUOTE, create
from tests.test_annotation_pages import blocks_of


@pytest.fixture
def assignment(group, essay, facilitator):
    blocks = blocks_of(essay)[:3]
    return Assignment.objects.create(
        group_reading=GroupReading.objects.get(group=group, reading=essay),
        title="Week 2: Why the working class",
        first_block=blocks[0].anchor,
        last_block=blocks[-1].anchor,
        start=blocks[0].start,
        end=blocks[-1].start + len(blocks[-1].text),
        due_at=datetime(2030, 1, 15, 1, 0, tzinfo=UTC),  # Mon 14 Jan 2030, 19:00 in Chicago
        created_by=facilitator,
    )


def page(user, group, essay) -> str:
    client = Client()
    client.force_login(user)
    return client.get(
        reverse("annotations:reading", args=[group.slug, essay.slug])
    ).content.decode()


def margin_of(html: str, anchor: str) -> str:
    """The block's margin, and the assignment's caption when the block carries one."""
    found = re.search(rf'<div class="margin[^"]*" data-block="{anchor}">.*?</div>', html, re.S)
    assert found, anchor
    flag = re.search(rf'<div class="assignment-flag" data-for="{anchor}">.*?</div>', html, re.S)
    return found.group(0) + (flag.group(0) if flag else "")


def test_the_range_is_banded_and_labelled_at_its_first_block(group, essay, member, assignment):
    group.time_zone = "America/Chicago"
    group.save()
    member.time_zone = "Europe/Berlin"
    member.save()
    blocks = blocks_of(essay)

    html = page(member, group, essay)

    first = margin_of(html, blocks[0].anchor)
    assert "margin--assigned" in first and "Week 2: Why the working class" in first
    assert "Tue 15 Jan 2030, 02:00 your time · Mon 14 Jan 2030, 19:00 in the group&#x27;s" in first
    assert "margin--assigned" in margin_of(html, blocks[2].anchor)
    assert "Week 2" not in margin_of(html, blocks[2].anchor)  # labelled once
    assert "margin--assigned" not in margin_of(html, blocks[3].anchor)
    assert re.search(r'class="toc__assigned">Week 2: Why the working class · due in', html)


def test_a_locked_member_is_told_how_many_notes_wait(
    group, essay, member, facilitator, make_user, assignment
):
    assignment.post_before_peek = True
    assignment.due_at = timezone.now() + timedelta(days=7)
    assignment.save()
    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    blocks = blocks_of(essay)
    inside = blocks[1].text[:40]
    create(group, essay, member, quote=inside, body="Mine.")
    create(group, essay, facilitator, quote=inside, body="Fran's.")
    create(group, essay, member, quote=inside, body="Private.", visibility="private")

    assert "2 notes from the group, visible once you post yours" in margin_of(
        page(lee, group, essay), blocks[0].anchor
    )
    assert "visible once you post yours" not in page(member, group, essay)  # Maria posted
    assert "visible once you post yours" not in page(facilitator, group, essay)


def test_a_title_is_escaped(group, essay, member, assignment):
    assignment.title = "<script>alert(1)</script>"
    assignment.save()
    html = page(member, group, essay)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_quote_fixture_is_outside_any_assignment(essay):
    assert QUOTE  # the shared fixtures' passage stays usable beside these tests


def test_a_facilitator_sees_where_the_discussion_gathered_and_a_member_does_not(
    group, essay, member, facilitator
):
    create(group, essay, member, body="One.")
    create(group, essay, member, body="Two.", visibility="private")  # never counted

    html = page(facilitator, group, essay)
    hot = re.findall(r'<div class="(margin[^"]*)"', html)
    assert sum("margin--heat-5" in classes for classes in hot) == 1
    assert "1 thread · 0 replies" in html
    assert "margin--heat" not in page(member, group, essay)


def test_sections_are_marked_read_from_the_reading_page(client, group, essay, member):
    client.force_login(member)
    url = reverse("annotations:reading", args=[group.slug, essay.slug])
    html = client.get(url).content.decode()
    first = essay.sections.order_by("position").first()
    assert 'aria-label="Mark read: Introduction"' in html
    action = reverse("progress:section_read", args=[group.slug, essay.slug, first.anchor])
    assert action in html

    client.post(action, {"read": "1", "next": url})

    assert 'Read <span aria-hidden="true">✓</span> — unmark' in client.get(url).content.decode()


def test_no_template_comment_leaks_into_the_page(group, essay, member):
    assert "{#" not in page(member, group, essay)
    assert "{% comment" not in page(member, group, essay)


def test_a_facilitator_chooses_the_heat_maps_assignment(
    group, essay, member, facilitator, assignment
):
    blocks = blocks_of(essay)
    inside = blocks[1].text[:40]
    create(group, essay, member, quote=inside, body="In the range.")
    create(group, essay, member, body="Outside the range.")  # QUOTE: a later paragraph
    client = Client()
    client.force_login(facilitator)
    url = reverse("annotations:reading", args=[group.slug, essay.slug])

    every = client.get(url).content.decode()
    week = client.get(url, {"heat": assignment.pk}).content.decode()

    assert every.count("margin--heat ") == 2
    assert week.count("margin--heat ") == 1
    assert f'<option value="{assignment.pk}" selected>' in week
    assert 'name="heat"' not in page(member, group, essay)  # members have no heat map
