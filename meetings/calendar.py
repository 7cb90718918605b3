"""A person's iCalendar feed (RFC 5545, written with the `icalendar` library): the meetings and
the assignment due dates of every group they are a member of now. Leaving a group takes its
events out of the next fetch; nothing else of anyone's is in it.

- A meeting is a VEVENT with the UID of Meeting.uid (stable across edits and moves), its start
  and end in UTC, the call's link as LOCATION and URL (the meeting's page as URL when it has no
  link), its agenda page in the DESCRIPTION, and STATUS:CANCELLED (and "Cancelled:" before the
  title, which some calendar apps show instead) once cancelled.
- A due date is a VEVENT at the due instant, without an end (a moment, not busy time: TRANSP
  TRANSPARENT), with the UID `assignment-<pk>@<SITE_DOMAIN's host>`.
- DTSTAMP and LAST-MODIFIED are when the event last changed (the calendar has no METHOD, so
  DTSTAMP means exactly that), which keeps the feed's bytes, and its ETag, the same between
  fetches while nothing changed.

What is shown: meetings and due dates from a year back on. Three queries.
"""

import hashlib
from datetime import UTC, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vDuration

from assignments.models import Assignment
from groups.models import Membership
from meetings.models import Meeting
from meetings.times import ends_at

KEPT_FOR = timedelta(days=366)
REFRESH = timedelta(hours=1)
PRODID = "-//Commonplace//Meetings and due dates//EN"


def assignment_uid(assignment_id: int) -> str:
    return f"assignment-{assignment_id}@{settings.SITE_DOMAIN.split(':')[0]}"


def feed_etag(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def feed_for(user, *, request, now=None) -> bytes:
    """The feed of `user` as bytes (CRLF lines, folded as the RFC asks)."""
    now = now or timezone.now()
    since = now - KEPT_FOR
    group_ids = list(Membership.objects.filter(user=user).values_list("group_id", flat=True))
    meetings = (
        Meeting.objects.filter(group_id__in=group_ids, starts_at__gte=since)
        .select_related("group", "assignment")
        .order_by("starts_at", "pk")
    )
    assignments = (
        Assignment.objects.filter(group_reading__group_id__in=group_ids, due_at__gte=since)
        .select_related("group_reading__group", "group_reading__reading")
        .order_by("due_at", "pk")
    )
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", "Commonplace: your reading groups")
    calendar.add("x-wr-caldesc", "Meetings and due dates of your groups on Commonplace.")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for meeting in meetings:
        calendar.add_component(_meeting_event(meeting, request))
    for assignment in assignments:
        calendar.add_component(_due_event(assignment, request))
    return calendar.to_ical()


def _meeting_event(meeting: Meeting, request) -> Event:
    page = request.build_absolute_uri(
        reverse("meetings:detail", args=[meeting.group.slug, meeting.pk])
    )
    cancelled = meeting.cancelled_at is not None
    event = Event()
    event.add("uid", str(meeting.uid))
    event.add("summary", f"{'Cancelled: ' if cancelled else ''}{meeting.title}")
    event.add("dtstart", meeting.starts_at.astimezone(UTC))
    event.add("dtend", ends_at(meeting).astimezone(UTC))
    event.add("dtstamp", meeting.updated_at)
    event.add("created", meeting.created_at)
    event.add("last-modified", meeting.updated_at)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    lines = [f"{meeting.group.name}: a meeting of the group."]
    if meeting.assignment is not None:
        lines.append(f"Discusses: {meeting.assignment.title}.")
    if meeting.link:
        event.add("location", meeting.link)
        event.add("url", meeting.link)
        lines.append(f"Join: {meeting.link}")
    else:
        event.add("url", page)
    lines.append(f"Agenda: {page}")
    event.add("description", "\n".join(lines))
    return event


def _due_event(assignment: Assignment, request) -> Event:
    group = assignment.group_reading.group
    page = request.build_absolute_uri(
        reverse("assignments:list", args=[group.slug]) + f"#assignment-{assignment.pk}"
    )
    event = Event()
    event.add("uid", assignment_uid(assignment.pk))
    event.add("summary", f"Due: {assignment.title} ({group.name})")
    event.add("dtstart", assignment.due_at.astimezone(UTC))
    event.add("dtstamp", assignment.updated_at)
    event.add("created", assignment.created_at)
    event.add("last-modified", assignment.updated_at)
    event.add("transp", "TRANSPARENT")
    event.add("url", page)
    event.add(
        "description",
        f"{group.name}: read {assignment.group_reading.reading.title} by then.\n{page}",
    )
    return event
