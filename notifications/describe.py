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

from annotations.models import FORMER_MEMBER_LABEL, Annotation
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
    link: str = ""  # a meeting's call, for a "Join the call" button
    quote_label: str = "The passage"  # or "The discussion", for a page note's thread


def plain(html: str, length: int = WORDS_LENGTH) -> str:
    return Truncator(" ".join(unescape(strip_tags(html or "")).split())).chars(length)


# Who did it, when their account is gone (the permission table's “former member”, as the
# subject of a sentence). Every notification with an actor had one when it was made.
FORMER_MEMBER = f"A {FORMER_MEMBER_LABEL}"


def _name(user) -> str:
    return user.public_name if user is not None else FORMER_MEMBER


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


def _zoned(label: str, zone_name: str) -> str:
    """A time label with the viewer's zone named ("Tue 8 Dec, 19:00 (Chicago time)"), unless
    it already says "your time" beside the group's."""
    if "your time" in label:
        return label
    city = zone_name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{label} ({city} time)"


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
        detail = ""
        about_reading = root.parent_id is None and root.start is None  # a page note
        if n.kind == Kind.MENTION:
            headline = f"{actor} mentioned you"
        elif n.kind == Kind.ANSWER:
            if item.author_id is not None and item.author_id == n.actor_id:
                headline = f"{actor}'s reply is marked as the answer to your question"
            else:
                headline = f"{actor} marked an answer to your question"
        elif n.kind == Kind.FLAG:
            whose = f"{_name(item.author)}'s" if item.author_id else f"a {FORMER_MEMBER_LABEL}'s"
            headline = f"{actor} flagged {whose} {'reply' if item.parent_id else 'note'}"
            detail = f"Reason: “{n.note}”" if n.note else ""
        elif n.event == "thread":
            headline = f"{actor} replied in a thread you're in"
        else:
            headline = f"{actor} replied to your {_what(item.parent)}"
        subject = headline + on
        if n.kind == Kind.REPLY and n.event == "thread":
            subject = f"New reply in a thread you're in: {_quoted(n.place)}"
        if n.kind == Kind.FLAG:
            subject = f"Flagged: {_name(item.author)}'s {'reply' if item.parent_id else 'note'}{on}"
        return Described(
            headline=headline,
            subject=subject,
            path=path,
            quote=(
                plain(root.body_html, 200)
                if about_reading and root.pk != item.pk
                else Truncator(" ".join(root.exact.split())).chars(QUOTE_LENGTH)
            ),
            quote_label="The discussion" if about_reading else "The passage",
            words_html=item.body_html,
            words_text=plain(item.body_html),
            detail=detail,
        )
    if n.assignment_id is not None:
        assignment = n.assignment
        reading = assignment.group_reading.reading
        path = f"{_reading_path(n, reading)}#{assignment.first_block}"
        due = due_label(assignment.due_at, viewer_zone=zone, group_zone=group_zone, now=now)
        relative = due_relative(assignment.due_at, zone=zone, now=now)
        title = f"“{assignment.title}”"
        if n.kind == Kind.DUE_SOON:
            headline = f"Reminder: {title} is {relative}"
            subject = f"Reminder: {title} is {relative}"
        else:
            headline = f"New assignment: {title}"
            subject = f"New assignment: {title}, {relative}"
        return Described(
            headline=headline,
            subject=subject,
            path=path,
            words_html=assignment.instructions_html,
            words_text=plain(assignment.instructions_html),
            detail=f"Due {_zoned(due, zone_name)}",
        )
    meeting = n.meeting
    path = reverse("meetings:detail", args=[n.group.slug, meeting.pk])
    when = _zoned(when_label(meeting, viewer_zone=zone, group_zone=group_zone, now=now), zone_name)
    short = moment(meeting.starts_at, zone, now)
    title = f"“{meeting.title}”"
    if n.kind == Kind.RECAP:
        headline = (
            f"{actor} posted the recap of {title}"
            if n.actor_id
            else f"The recap of {title} is posted"
        )
        return Described(
            headline=headline,
            subject=f"Recap: {title}",
            path=path + "#recap",
            words_html=meeting.recap_html,
            words_text=plain(meeting.recap_html, 1200),
            detail=when,
        )
    if n.event == "cancelled":
        headline = f"{title} is cancelled"
        subject = f"Meeting cancelled: {title} ({short})"
        detail = f"It was to be {when}"
    elif n.event == "moved":
        headline = f"{title} has moved"
        subject = f"Meeting moved: {title}, now {short}"
        was = f"; it was {moment(n.was_at, zone, now)}" if n.was_at else ""
        detail = f"Now {when}{was}"
    else:
        headline = f"Meeting scheduled: {title}"
        subject = f"Meeting scheduled: {title}, {short}"
        detail = when
    return Described(
        headline=headline,
        subject=subject,
        path=path,
        detail=detail,
        link=meeting.link if n.event != "cancelled" else "",
    )
