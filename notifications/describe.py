"""How a notification reads: one home for the words of the inbox line, the email's subject and
its body, so the app and the mail say the same thing.

Everything is plain text (templates escape it), but for `words_html`: the thing's own
Markdown, rendered and cleaned when it was written. Times are in the recipient's own zone.
"""

from dataclasses import dataclass
from datetime import datetime
from html import unescape

from django.urls import reverse
from django.utils.html import strip_tags
from django.utils.text import Truncator

from annotations.models import Annotation
from assignments.times import due_label, due_relative, moment, zone_named
from meetings.times import when_label
from notifications.models import Kind, Notification

QUOTE_LENGTH = 300  # characters of the passage quoted
WORDS_LENGTH = 600  # characters of the words quoted in plain text
SUBJECT_PLACE_LENGTH = 60
# The inbox's short label for each kind.
SHORT = {
    Kind.REPLY: "Reply",
    Kind.MENTION: "Mention",
    Kind.ANSWER: "Answer",
    Kind.ASSIGNMENT: "Assignment",
    Kind.DUE_SOON: "Due soon",
    Kind.MEETING: "Meeting",
    Kind.RECAP: "Recap",
    Kind.FLAG: "Flag",
}


@dataclass
class Described:
    headline: str  # "María replied to your note"
    subject: str  # "María replied to your note on ‘Why the working class’"
    path: str  # where it leads, with the thread open
    quote: str = ""  # the passage
    words_html: str = ""  # the words (cleaned HTML)
    words_text: str = ""
    detail: str = ""  # "Tue 8 Dec, 19:00–20:30", "due tomorrow"
    short: str = ""  # "Reply"


def plain(html: str, length: int = WORDS_LENGTH) -> str:
    return Truncator(" ".join(unescape(strip_tags(html or "")).split())).chars(length)


def _name(user) -> str:
    return user.public_name if user is not None else "Someone"


def _what(item: Annotation | None) -> str:
    """How someone's own annotation is called: "note", "question", "highlight", "reply"."""
    if item is None:
        return "note"
    if item.parent_id is not None:
        return "reply"
    return {
        Annotation.Motivation.QUESTIONING: "question",
        Annotation.Motivation.HIGHLIGHTING: "highlight",
        Annotation.Motivation.TAGGING: "tags",
    }.get(item.motivation, "note")


def _quoted(place: str) -> str:
    return f"‘{Truncator(place).chars(SUBJECT_PLACE_LENGTH)}’"


def _reading_path(notification: Notification, reading) -> str:
    return reverse("annotations:reading", args=[notification.group.slug, reading.slug])


def describe(notification: Notification, *, zone_name: str, now: datetime) -> Described:
    described = _describe(notification, zone_name=zone_name, now=now)
    described.short = SHORT[notification.kind]
    return described


def _describe(notification: Notification, *, zone_name: str, now: datetime) -> Described:
    n = notification
    zone = zone_named(zone_name)
    group_zone = zone_named(n.group.time_zone)
    actor = _name(n.actor)
    if n.annotation_id is not None:
        item = n.annotation
        root = item.root if item.root_id else item
        path = f"{_reading_path(n, item.reading)}#a-{item.pk}"
        on = f" on {_quoted(n.place)}" if n.place else ""
        if n.kind == Kind.MENTION:
            headline = f"{actor} mentioned you"
        elif n.kind == Kind.ANSWER:
            headline = f"{actor} marked an answer to your question"
        elif n.kind == Kind.FLAG:
            headline = f"{actor} flagged {'a reply' if item.parent_id else 'a note'}"
        elif n.event == "thread":
            headline = f"{actor} replied in a thread you're in"
        else:
            headline = f"{actor} replied to your {_what(item.parent)}"
        return Described(
            headline=headline,
            subject=headline + on,
            path=path,
            quote=Truncator(" ".join(root.exact.split())).chars(QUOTE_LENGTH),
            words_html=item.body_html,
            words_text=plain(item.body_html),
        )
    if n.assignment_id is not None:
        assignment = n.assignment
        reading = assignment.group_reading.reading
        path = f"{_reading_path(n, reading)}#{assignment.first_block}"
        due = due_label(assignment.due_at, viewer_zone=zone, group_zone=group_zone, now=now)
        relative = due_relative(assignment.due_at, zone=zone, now=now)
        if n.kind == Kind.DUE_SOON:
            headline = f"“{assignment.title}” is {relative}, and you haven't written in it yet"
            subject = f"{relative.capitalize()}: {assignment.title}"
        else:
            headline = f"New assignment: “{assignment.title}”"
            subject = f"New assignment: {assignment.title}, {relative}"
        return Described(
            headline=headline,
            subject=subject,
            path=path,
            words_html=assignment.instructions_html,
            words_text=plain(assignment.instructions_html),
            detail=f"Due {due}" + (f" · {n.place}" if n.place else ""),
        )
    meeting = n.meeting
    path = reverse("meetings:detail", args=[n.group.slug, meeting.pk])
    when = when_label(meeting, viewer_zone=zone, group_zone=group_zone, now=now)
    short = moment(meeting.starts_at, zone, now)
    if n.kind == Kind.RECAP:
        return Described(
            headline=f"{actor} posted the recap of “{meeting.title}”",
            subject=f"Recap: {meeting.title}",
            path=path + "#recap",
            words_html=meeting.recap_html,
            words_text=plain(meeting.recap_html, 1200),
            detail=when,
        )
    if n.event == "cancelled":
        headline = f"“{meeting.title}” is cancelled"
        subject = f"Cancelled: {meeting.title}, {short}"
    elif n.event == "moved":
        headline = f"“{meeting.title}” moved to {short}"
        subject = f"Meeting moved: {meeting.title}, now {short}"
    else:
        headline = f"Meeting scheduled: “{meeting.title}”, {short}"
        subject = f"Meeting scheduled: {meeting.title}, {short}"
    return Described(headline=headline, subject=subject, path=path, detail=when)
