"""Writes to a group's meetings, their agendas, recaps and raises, and to the calendar feeds.

Each runs in one transaction and checks everything before it writes anything: bad input raises
MeetingError (with the form field it is about) and leaves the database as it was. Roles are
the views' business (groups.access: `manage_meetings`, `raise`); these functions check the
input, that the group is active, and that every thread they touch is one the acting member
may see (annotations.access), so that no agenda ever carries what its facilitator could not.

Choices where the issue is silent:

- A start in the past is refused unless the facilitator says so (`in_the_past=True`, the
  form's "Yes, it has already happened"), as for an assignment already due: it lets a group
  record a meeting it held to write its recap, and stops a mistyped year.
- A meeting lasts from 1 minute to 12 hours; its end is given as an instant (the form: an
  end time on the start's day), so an end before the start is the error people make.
- An agenda item is marked discussed, and a recap written, from half an hour before the start
  on (marking at the meeting, or after it); a cancelled meeting takes neither.
- A raise asks for the next meeting: marking its thread discussed clears the thread's raises
  (members can raise it again for a later meeting).
"""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from annotations.access import visible_annotations
from annotations.models import Annotation
from assignments.models import Assignment
from commonplace import markdown
from groups.access import GroupArchived, ensure_writable
from groups.models import Membership, ReadingGroup
from meetings import events
from meetings.models import (
    AGENDA_TEXT_MAX_LENGTH,
    LINK_MAX_LENGTH,
    RECAP_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    AgendaItem,
    CalendarFeed,
    Meeting,
    Raise,
)

LONGEST = timedelta(hours=12)
EARLIEST_START = timedelta(days=366)  # a meeting "in the past" may lie this far back
LATEST_START = timedelta(days=366 * 2)
# From when before the start an item can be marked discussed and the recap written.
OPENS_BEFORE = timedelta(minutes=30)
LINK_SCHEMES = ("http", "https")
DIRECTIONS = ("up", "down")


class MeetingError(Exception):
    """Input that cannot become a meeting, agenda item or recap; the message says why, for a
    person. `field` names the input it is about: title, starts_at, ends_at, link,
    assignment, thread, text, recap, direction (or "" for the whole)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


# --- checks -------------------------------------------------------------------------------------


def _writable(group: ReadingGroup) -> None:
    try:
        ensure_writable(group)
    except GroupArchived as error:
        raise MeetingError(str(error)) from None


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise MeetingError("Give the meeting a title.", field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise MeetingError(
            f"The title is too long: {len(title):,} characters, the limit is {TITLE_MAX_LENGTH}.",
            field="title",
        )
    return title


def _aware(instant, field: str, what: str) -> datetime:
    if not isinstance(instant, datetime) or timezone.is_naive(instant):
        raise MeetingError(f"Give the {what}.", field=field)
    return instant.replace(second=0, microsecond=0)


def _times(
    starts_at, ends_at, *, now: datetime, in_the_past: bool, unchanged: datetime | None = None
) -> tuple[datetime, int]:
    """The start (whole minutes) and the duration in minutes."""
    starts_at = _aware(starts_at, "starts_at", "date and start time")
    ends_at = _aware(ends_at, "ends_at", "end time")
    if ends_at <= starts_at:
        raise MeetingError(
            "The meeting ends before it starts: give an end time after the start.",
            field="ends_at",
        )
    if ends_at - starts_at > LONGEST:
        raise MeetingError("That is longer than twelve hours: check the end time.", field="ends_at")
    if starts_at > now + LATEST_START:
        raise MeetingError("Choose a date within the next two years.", field="starts_at")
    if starts_at < now - EARLIEST_START:
        raise MeetingError(
            "That date is more than a year ago: choose a recent or a coming one.",
            field="starts_at",
        )
    if starts_at < now and not in_the_past and starts_at != unchanged:
        raise MeetingError(
            "That time has already passed. Choose a later one, or tick “Yes, it has already "
            "happened” to record a past meeting (to write its recap, say).",
            field="starts_at",
        )
    return starts_at, (ends_at - starts_at) // timedelta(minutes=1)


_url = URLValidator(schemes=list(LINK_SCHEMES))


def clean_link(link: str) -> str:
    """An online meeting's address: http or https only. A bare host and path
    ("zoom.us/j/123") is taken as https."""
    link = (link or "").strip()
    if not link:
        return ""
    scheme = link.split(":", 1)[0].lower() if ":" in link else ""
    if not scheme or (scheme not in LINK_SCHEMES and "." in scheme):
        link, scheme = f"https://{link}", "https"  # "zoom.us/j/1", "meet.example:443/x"
    if scheme not in LINK_SCHEMES:
        raise MeetingError(
            "Only http:// and https:// links can be a meeting's link: paste the address your "
            "browser shows for the call.",
            field="link",
        )
    if len(link) > LINK_MAX_LENGTH:
        raise MeetingError(
            f"The link is too long: the limit is {LINK_MAX_LENGTH} characters.", field="link"
        )
    try:
        _url(link)
    except ValidationError:
        raise MeetingError(
            "That is not a web address: paste the call's link, e.g. https://meet.example/abc.",
            field="link",
        ) from None
    return link


def _assignment(group: ReadingGroup, assignment: Assignment | None) -> Assignment | None:
    if assignment is None:
        return None
    found = (
        Assignment.objects.filter(pk=assignment.pk, group_reading__group_id=group.pk)
        .select_related("group_reading__reading")
        .first()
    )
    if found is None:
        raise MeetingError(
            "That assignment is not one of this group's: choose one of the group's assignments "
            "or none.",
            field="assignment",
        )
    return found


def _locked(meeting: Meeting) -> Meeting:
    found = (
        Meeting.objects.select_for_update(of=("self",))
        .select_related("group")
        .filter(pk=meeting.pk)
        .first()
    )
    if found is None:
        raise MeetingError("That meeting was deleted.")
    return found


def _not_cancelled(meeting: Meeting) -> None:
    if meeting.cancelled_at is not None:
        raise MeetingError("This meeting is cancelled: it cannot be changed.")


def _opened(meeting: Meeting, now: datetime, what: str) -> None:
    if now < meeting.starts_at - OPENS_BEFORE:
        raise MeetingError(
            f"The meeting has not started yet: {what} from half an hour before it starts."
        )


def _same_group(meeting: Meeting, group: ReadingGroup) -> None:
    if meeting.group_id != group.pk:
        raise MeetingError("That meeting is not one of this group's.")


# --- meetings -----------------------------------------------------------------------------------


@transaction.atomic
def meeting_create(
    *,
    group: ReadingGroup,
    created_by,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    link: str = "",
    assignment: Assignment | None = None,
    in_the_past: bool = False,
    now: datetime | None = None,
) -> Meeting:
    """Schedule a meeting of the group (the form enters its times in the group's zone)."""
    now = now or timezone.now()
    _writable(group)
    title = _title(title)
    starts_at, minutes = _times(starts_at, ends_at, now=now, in_the_past=in_the_past)
    link = clean_link(link)
    assignment = _assignment(group, assignment)
    meeting = Meeting.objects.create(
        group=group,
        title=title,
        starts_at=starts_at,
        duration_minutes=minutes,
        link=link,
        assignment=assignment,
        created_by=created_by,
    )
    if starts_at > now:  # a past meeting entered for the record is news to nobody
        events.meeting_scheduled.send(sender=Meeting, meeting=meeting, by=created_by)
    return meeting


@transaction.atomic
def meeting_update(
    *,
    meeting: Meeting,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    link: str = "",
    assignment: Assignment | None = None,
    in_the_past: bool = False,
    now: datetime | None = None,
    by=None,
) -> Meeting:
    """Edit or move a meeting. A past start is kept without asking again when it is not
    moved (editing the link of last week's meeting, say)."""
    now = now or timezone.now()
    meeting = _locked(meeting)
    _writable(meeting.group)
    _not_cancelled(meeting)
    title = _title(title)
    starts_at, minutes = _times(
        starts_at, ends_at, now=now, in_the_past=in_the_past, unchanged=meeting.starts_at
    )
    was_starts_at, was_minutes = meeting.starts_at, meeting.duration_minutes
    meeting.title = title
    meeting.starts_at = starts_at
    meeting.duration_minutes = minutes
    meeting.link = clean_link(link)
    meeting.assignment = _assignment(meeting.group, assignment)
    meeting.save(
        update_fields=["title", "starts_at", "duration_minutes", "link", "assignment", "updated_at"]
    )
    if (starts_at, minutes) != (was_starts_at, was_minutes) and starts_at > now:
        events.meeting_moved.send(
            sender=Meeting, meeting=meeting, by=by, was_starts_at=was_starts_at
        )
    return meeting


@transaction.atomic
def meeting_cancel(*, meeting: Meeting, now: datetime | None = None, by=None) -> Meeting:
    """Cancel a meeting: it stays listed (and in calendars) as cancelled."""
    meeting = _locked(meeting)
    _writable(meeting.group)
    _not_cancelled(meeting)
    meeting.cancelled_at = now or timezone.now()
    meeting.save(update_fields=["cancelled_at", "updated_at"])
    if meeting.starts_at + timedelta(minutes=meeting.duration_minutes) > meeting.cancelled_at:
        events.meeting_cancelled.send(sender=Meeting, meeting=meeting, by=by)
    return meeting


@transaction.atomic
def meeting_recap(
    *, group: ReadingGroup, meeting: Meeting, recap: str, now: datetime | None = None, by=None
) -> Meeting:
    """Write (or rewrite, or clear) the meeting's recap: Markdown, rendered and cleaned once."""
    now = now or timezone.now()
    _same_group(meeting, group)
    meeting = _locked(meeting)
    _writable(meeting.group)
    _not_cancelled(meeting)
    _opened(meeting, now, "its recap can be written")
    recap = (recap or "").replace("\r\n", "\n").strip()
    if len(recap) > RECAP_MAX_LENGTH:
        raise MeetingError(
            f"The recap is too long: {len(recap):,} characters, the limit is {RECAP_MAX_LENGTH:,}.",
            field="recap",
        )
    first = not meeting.recap and recap
    meeting.recap = recap
    meeting.recap_html = markdown.render(recap) if recap else ""
    meeting.save(update_fields=["recap", "recap_html", "updated_at"])
    if first:
        events.recap_posted.send(sender=Meeting, meeting=meeting, by=by)
    return meeting


# --- the agenda ---------------------------------------------------------------------------------


def pinnable(by: Membership):
    """The threads a facilitator may pin: roots of the group they may see, shared with the
    group (never a private note), not hidden, not deleted, on a reading the group still reads.
    Through annotations.access.visible_annotations, as every list of threads is."""
    return visible_annotations(by).filter(
        parent__isnull=True,
        visibility=Annotation.Visibility.GROUP,
        hidden_at__isnull=True,
        deleted_at__isnull=True,
        reading__group_readings__group_id=by.group_id,
    )


def _next_position(meeting: Meeting) -> int:
    last = meeting.agenda.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


@transaction.atomic
def agenda_pin(*, meeting: Meeting, by: Membership, thread: Annotation) -> AgendaItem:
    """Pin a thread (its root annotation) last on the meeting's agenda. `by` is the
    facilitator's membership: the thread must be one of their group's that they may see,
    shared, not hidden or deleted (meetings.services.pinnable)."""
    _same_group(meeting, by.group)
    meeting = _locked(meeting)
    _writable(meeting.group)
    _not_cancelled(meeting)
    found = pinnable(by).filter(pk=thread.pk, group_id=meeting.group_id).first()
    if found is None:
        raise MeetingError(
            "That thread cannot be pinned here: it is not a shared thread of this group.",
            field="thread",
        )
    if meeting.agenda.filter(thread=found).exists():
        raise MeetingError("That thread is on the agenda already.", field="thread")
    return AgendaItem.objects.create(
        meeting=meeting, thread=found, position=_next_position(meeting)
    )


@transaction.atomic
def agenda_add(*, meeting: Meeting, text: str) -> AgendaItem:
    """A free item ("Welcome and check-in", "Choose the next reading") last on the agenda."""
    meeting = _locked(meeting)
    _writable(meeting.group)
    _not_cancelled(meeting)
    text = " ".join((text or "").split())
    if not text:
        raise MeetingError("Write the item.", field="text")
    if len(text) > AGENDA_TEXT_MAX_LENGTH:
        raise MeetingError(
            f"The item is too long: {len(text):,} characters, the limit is "
            f"{AGENDA_TEXT_MAX_LENGTH}. Put the detail in the recap.",
            field="text",
        )
    return AgendaItem.objects.create(meeting=meeting, text=text, position=_next_position(meeting))


def _item_locked(item: AgendaItem) -> tuple[AgendaItem, Meeting]:
    meeting = _locked(item.meeting)
    found = AgendaItem.objects.filter(pk=item.pk, meeting=meeting).first()
    if found is None:
        raise MeetingError("That item is no longer on the agenda.")
    return found, meeting


@transaction.atomic
def agenda_move(*, item: AgendaItem, direction: str) -> None:
    """Swap an item with its neighbour above or below (the positions are renumbered 0..n-1)."""
    if direction not in DIRECTIONS:
        raise MeetingError("Move it up or down.", field="direction")
    item, meeting = _item_locked(item)
    _writable(meeting.group)
    _not_cancelled(meeting)
    items = list(meeting.agenda.order_by("position", "pk"))
    index = next(i for i, found in enumerate(items) if found.pk == item.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(items):
        return  # already first (or last): nothing to do
    items[index], items[other] = items[other], items[index]
    for position, found in enumerate(items):
        if found.position != position:
            found.position = position
            found.save(update_fields=["position"])


@transaction.atomic
def agenda_remove(*, item: AgendaItem) -> None:
    """Take an item off the agenda (a pinned thread itself stays where it is)."""
    item, meeting = _item_locked(item)
    _writable(meeting.group)
    _not_cancelled(meeting)
    item.delete()


@transaction.atomic
def agenda_mark_discussed(
    *, item: AgendaItem, discussed: bool = True, now: datetime | None = None
) -> AgendaItem:
    """Mark an item discussed (or not). Marking a thread discussed clears its raises: a raise
    asks for the next meeting, and this was it."""
    now = now or timezone.now()
    item, meeting = _item_locked(item)
    _writable(meeting.group)
    _not_cancelled(meeting)
    _opened(meeting, now, "items can be marked discussed")
    item.discussed_at = now if discussed else None
    item.save(update_fields=["discussed_at"])
    if discussed and item.thread_id:
        Raise.objects.filter(annotation_id=item.thread_id).delete()
    return item


# --- raise at the meeting -----------------------------------------------------------------------


@transaction.atomic
def raise_toggle(*, membership: Membership, thread: Annotation, raised: bool) -> bool:
    """A member asks for a thread to be raised at the meeting (or takes it back). The thread:
    a root of their group they may see, shared with the group, not hidden or deleted. Returns
    whether it is raised by them now."""
    _writable(membership.group)
    if thread.parent_id is not None:
        raise MeetingError("Raise the whole thread, from its first note.", field="thread")
    found = pinnable(membership).filter(pk=thread.pk).exists()
    if not found:
        raise MeetingError(
            "Only a shared thread of the group can be raised at the meeting.", field="thread"
        )
    if not raised:
        Raise.objects.filter(annotation=thread, user_id=membership.user_id).delete()
        return False
    Raise.objects.get_or_create(annotation=thread, user_id=membership.user_id)
    return True


# --- calendar feeds -----------------------------------------------------------------------------


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def calendar_feed_create(*, user, now: datetime | None = None) -> tuple[CalendarFeed, str]:
    """A new private calendar address for `user`, replacing (revoking) any they had. Returns
    the feed and its key, which is stored only as a hash: shown once, then only replaceable."""
    now = now or timezone.now()
    CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    raw = secrets.token_urlsafe(32)
    return CalendarFeed.objects.create(user=user, key_hash=hash_key(raw)), raw


@transaction.atomic
def calendar_feed_revoke(*, user, now: datetime | None = None) -> int:
    """Turn off the person's calendar address (calendars subscribed to it get 404)."""
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=now or timezone.now()
    )


def calendar_feed_owner(raw: str):
    """The active owner of a live calendar key, or None."""
    if not raw or len(raw) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(key_hash=hash_key(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return feed.user if feed is not None else None
