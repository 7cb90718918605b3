"""The demo's assignments (seed_demo): what issue 9 asks the demo to show, and the seed still
safe to run again."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from annotations.access import peek_locks
from annotations.models import Annotation
from assignments.models import Assignment, SectionRead
from groups.models import Membership


@pytest.fixture
def seeded(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())


def membership(group_slug, username) -> Membership:
    return Membership.objects.select_related("group").get(
        group__slug=group_slug, user__username=username
    )


def test_tuesday_has_week_2_with_two_prompts_and_no_peeking_rule(seeded):
    week2 = Assignment.objects.get(group_reading__group__slug="tuesday-reading-circle")
    assert week2.title == "Week 2: Why the working class"
    assert not week2.post_before_peek
    assert timedelta(days=6) < week2.due_at - timezone.now() <= timedelta(days=7)
    sections = list(week2.group_reading.reading.sections.order_by("position"))
    assert week2.first_block == sections[0].blocks.order_by("position").first().anchor
    assert week2.last_block == sections[1].blocks.order_by("-position").first().anchor
    prompts = Annotation.objects.filter(prompt_of=week2)
    assert prompts.count() == 2
    assert all(week2.start <= p.start and p.end <= week2.end for p in prompts)


def test_night_shift_withholds_from_lee_but_not_from_ade(seeded):
    night = Assignment.objects.get(group_reading__group__slug="night-shift-readers")
    assert night.post_before_peek
    in_range = Annotation.objects.filter(
        group__slug="night-shift-readers", start__gte=night.start, end__lte=night.end
    )
    assert {a.author.username for a in in_range} >= {"ade", "noor"}
    assert not in_range.filter(author__username="lee").exists()
    assert peek_locks(membership("night-shift-readers", "lee"))
    assert not peek_locks(membership("night-shift-readers", "ade"))


def test_sam_has_read_the_first_section(seeded):
    sam = membership("tuesday-reading-circle", "sam")
    first = sam.group.group_readings.get().reading.sections.order_by("position").first()
    assert SectionRead.objects.filter(membership=sam, section=first.anchor).exists()


def test_seeding_again_adds_nothing(seeded):
    counts = (Assignment.objects.count(), Annotation.objects.count(), SectionRead.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        Assignment.objects.count(),
        Annotation.objects.count(),
        SectionRead.objects.count(),
    ) == counts


def test_tuesday_has_last_weeks_meeting_and_the_next_one(seeded):
    from meetings.models import Meeting

    past, upcoming = Meeting.objects.filter(group__slug="tuesday-reading-circle").order_by(
        "starts_at"
    )
    now = timezone.now()
    assert past.starts_at < now and past.recap
    assert past.agenda.filter(discussed_at__isnull=False, thread__isnull=False).count() == 2
    assert timedelta(days=5) < upcoming.starts_at - now < timedelta(days=7)
    assert upcoming.assignment.title == "Week 2: Why the working class"
    assert upcoming.agenda.filter(thread__isnull=False).count() == 2
    assert upcoming.agenda.filter(thread__isnull=True).count() == 1
