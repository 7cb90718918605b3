"""The demo's meetings, for `seed_demo` (the demo app calls down into this; nothing else does).

`seed_meetings` gives a group one meeting held last week (with a recap and two threads marked
discussed) and one in six days (discussing an assignment, with an agenda of two pinned threads
and one free item), both at the group's usual hour in its own time zone, through the services
(so every rule holds). It does nothing for a group that has meetings already: safe to run
again.
"""

from datetime import time, timedelta

from django.db import transaction
from django.utils import timezone

from assignments.times import from_group_time, zone_named
from groups.models import Membership
from meetings import services
from meetings.models import Meeting

MEETING_LINK = "https://meet.example/tuesday-reading-circle"
RECAP = (
    "We read the introduction together.\n\n"
    "- Stalinism and social democracy both hand socialism *down* to workers: María's answer "
    "to Fran's question carried the evening.\n"
    "- Sam's strike example held up; Lee wants to hear more about the organising *before* a "
    "walkout.\n"
    "- For Tuesday: read “Why the working class” and answer the two prompts in the margin."
)


@transaction.atomic
def seed_meetings(
    *,
    group,
    facilitator,
    assignment=None,
    discussed=(),
    pinned=(),
    free_item: str = "Check-in: one sentence each on what stayed with you",
    recap: str = RECAP,
    hour: time = time(19, 0),
    now=None,
) -> list[Meeting]:
    """Last week's meeting (recap; `discussed` threads marked discussed) and the one in six
    days (on `assignment`; `free_item`, then the `pinned` threads). `discussed` and `pinned`
    are root annotations of the group shared with it; returns the two meetings, or [] when the
    group has meetings already."""
    if Meeting.objects.filter(group=group).exists():
        return []
    now = now or timezone.now()
    zone = zone_named(group.time_zone)
    today = now.astimezone(zone).date()
    by = Membership.objects.select_related("group").get(group=group, user=facilitator)

    last_start = from_group_time(today - timedelta(days=7), hour, zone)
    last = services.meeting_create(
        group=group,
        created_by=facilitator,
        title="Week 1: What is socialism from below?",
        starts_at=last_start,
        ends_at=last_start + timedelta(minutes=90),
        link=MEETING_LINK,
        in_the_past=True,
        now=now,
    )
    for thread in discussed:
        item = services.agenda_pin(meeting=last, by=by, thread=thread)
        services.agenda_mark_discussed(item=item, now=last_start + timedelta(minutes=30))
    services.meeting_recap(group=group, meeting=last, recap=recap, now=now, by=facilitator)

    next_start = from_group_time(today + timedelta(days=6), hour, zone)
    coming = services.meeting_create(
        group=group,
        created_by=facilitator,
        title=assignment.title if assignment is not None else "Our next meeting",
        starts_at=next_start,
        ends_at=next_start + timedelta(minutes=90),
        link=MEETING_LINK,
        assignment=assignment,
        now=now,
    )
    if free_item:
        services.agenda_add(meeting=coming, text=free_item)
    for thread in pinned:
        services.agenda_pin(meeting=coming, by=by, thread=thread)
    return [last, coming]
