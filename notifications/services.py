"""Writing notifications: who is told of what (in the transaction of the thing itself), read
marks, mutes, and email preferences.

Who is told is decided here, once per kind; whether they may see it is asked of the
permission tables (annotations/access.py, groups/access.py), never restated. A person is
not told of their own doing, nor of anything in a group or thread they muted.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import User
from annotations.access import Action, permits, prime_peek_locks
from annotations.models import Annotation, Flag
from assignments.models import Assignment
from groups.models import Membership, ReadingGroup
from meetings.models import Meeting
from notifications.access import visible_notifications, written_in
from notifications.models import (
    DEFAULT_DELIVERY,
    Delivery,
    Email,
    Kind,
    Mute,
    Notification,
    Preferences,
)
from notifications.places import place_of

# A meeting this close is news that cannot wait for tomorrow's digest: its email goes
# straight away unless the member turned meeting emails off.
MEETING_URGENT_WITHIN = timedelta(hours=48)
# "Due soon": an assignment due within this, in which the member has written nothing yet.
DUE_SOON_WITHIN = timedelta(hours=24)


class NotificationError(Exception):
    pass


# --- who is told ------------------------------------------------------------------------------


def _recipients(found, thread_id: int | None = None) -> list[Membership]:
    """Memberships with what `_notify` needs in the same query: the person, their saved
    preferences, and whether they muted the group (or this thread)."""
    muted = Mute.objects.filter(user_id=OuterRef("user_id"), group_id=OuterRef("group_id"))
    muted = muted.filter(Q(thread__isnull=True) | Q(thread_id=thread_id))
    members = list(
        found.select_related("group", "user", "user__notification_preferences").annotate(
            muted=Exists(muted)
        )
    )
    prime_peek_locks(members)  # what each may see, asked of all at once
    return members


def _memberships(group_id: int, user_ids: Iterable[int], thread_id: int | None = None):
    found = Membership.objects.filter(group_id=group_id, user_id__in=set(user_ids))
    return _recipients(found, thread_id)


def _email_state(user, kind: str, urgent: bool, now: datetime) -> tuple:
    try:
        delivery = user.notification_preferences.delivery(kind)
    except Preferences.DoesNotExist:
        delivery = DEFAULT_DELIVERY[kind]
    if not user.email or delivery == Delivery.OFF:
        return Email.NONE, None
    if delivery == Delivery.IMMEDIATELY or urgent:
        return Email.QUEUED, now
    return Email.DIGEST, None


def _notify(
    recipients: list[Membership],
    *,
    kind: str,
    group: ReadingGroup,
    actor=None,
    event: str = "",
    annotation: Annotation | None = None,
    assignment: Assignment | None = None,
    meeting: Meeting | None = None,
    place: str = "",
    note: str = "",
    was_at: datetime | None = None,
    urgent: bool = False,
    now: datetime | None = None,
) -> list[Notification]:
    """Tell these members (from `_recipients`: the actor, and those who muted the group or
    the thread, left out). One query, the insert."""
    actor_id = getattr(actor, "pk", None)
    recipients = [m for m in recipients if m.user_id != actor_id and not m.muted]
    if not recipients:
        return []
    now = now or timezone.now()
    rows = []
    for membership in recipients:
        email, after = _email_state(membership.user, kind, urgent, now)
        rows.append(
            Notification(
                recipient_id=membership.user_id,
                group=group,
                kind=kind,
                event=event,
                actor_id=actor_id,
                annotation=annotation,
                assignment=assignment,
                meeting=meeting,
                place=place,
                note=note[:500],
                was_at=was_at,
                created_at=now,
                email=email,
                email_after=after,
            )
        )
    return Notification.objects.bulk_create(rows)


def _may_see(membership: Membership, annotation: Annotation) -> bool:
    """The `see` line for the annotation and its thread's root."""
    if not permits(membership, Action.SEE, annotation):
        return False
    return annotation.root_id is None or permits(membership, Action.SEE, annotation.root)


def _annotation_place(annotation: Annotation) -> str:
    root = annotation.root if annotation.root_id else annotation
    return place_of(annotation.reading, root.start)


def annotation_notify(*, annotation: Annotation, mentioned: set[int]) -> list[Notification]:
    """A new annotation or reply: the members it mentions; for a reply, the author of what
    it answers, and everyone else who wrote in the thread. A private note tells no one."""
    if annotation.is_private or annotation.author_id is None:
        return []
    told: dict[int, tuple[str, str]] = dict.fromkeys(mentioned, (Kind.MENTION, ""))
    if annotation.parent_id is not None:
        parent_author = annotation.parent.author_id
        if parent_author:
            told.setdefault(parent_author, (Kind.REPLY, "reply"))
        in_thread = (
            Annotation.objects.filter(Q(pk=annotation.root_id) | Q(root_id=annotation.root_id))
            .filter(deleted_at__isnull=True, author__isnull=False)
            .exclude(pk=annotation.pk)
            .values_list("author_id", flat=True)
            .distinct()
        )
        for author_id in in_thread:
            told.setdefault(author_id, (Kind.REPLY, "thread"))
    told.pop(annotation.author_id, None)
    if not told:
        return []
    thread_id = annotation.root_id or annotation.pk
    members = [
        m for m in _memberships(annotation.group_id, told, thread_id) if _may_see(m, annotation)
    ]
    place = _annotation_place(annotation)
    made = []
    for kind, event in sorted(set(told.values())):
        made += _notify(
            [m for m in members if told[m.user_id] == (kind, event)],
            kind=kind,
            event=event,
            group=annotation.group,
            actor=annotation.author,
            annotation=annotation,
            place=place,
        )
    return made


def mentions_notify(*, annotation: Annotation, mentioned: set[int]) -> list[Notification]:
    """An edit that mentions members it did not before: they are told."""
    if annotation.is_private or not mentioned:
        return []
    already = set(  # told of it already, as a mention or a reply (not as a flag, say)
        Notification.objects.filter(
            annotation=annotation,
            recipient_id__in=mentioned,
            kind__in=[Kind.MENTION, Kind.REPLY],
        ).values_list("recipient_id", flat=True)
    )
    thread_id = annotation.root_id or annotation.pk
    members = [
        m
        for m in _memberships(annotation.group_id, set(mentioned) - already, thread_id)
        if _may_see(m, annotation)
    ]
    return _notify(
        members,
        kind=Kind.MENTION,
        group=annotation.group,
        actor=annotation.author,
        annotation=annotation,
        place=_annotation_place(annotation),
    )


def answer_notify(*, reply: Annotation, by) -> list[Notification]:
    """A reply marked as the answer: the person who asked is told (unless they marked it)."""
    root = reply.root
    if root is None or root.author_id is None or reply.is_private:
        return []
    if Notification.objects.filter(kind=Kind.ANSWER, annotation=reply).exists():
        return []  # marked, unmarked and marked again: told once
    members = [
        m for m in _memberships(reply.group_id, [root.author_id], root.pk) if _may_see(m, reply)
    ]
    return _notify(
        members,
        kind=Kind.ANSWER,
        group=reply.group,
        actor=by or reply.author,
        annotation=reply,
        place=_annotation_place(reply),
    )


def flag_notify(*, flag: Flag) -> list[Notification]:
    """A new flag: the group's facilitators who may see the annotation, but its author."""
    annotation = flag.annotation
    facilitators = Membership.objects.filter(
        group_id=annotation.group_id, role=Membership.Role.FACILITATOR
    ).exclude(user_id=annotation.author_id)
    # One line per flagger and note: flagged again (after it was resolved), the new line
    # replaces the old.
    Notification.objects.filter(
        kind=Kind.FLAG, annotation=annotation, actor_id=flag.user_id
    ).delete()
    # A muted thread does not silence moderation: only muting the whole group does.
    members = [m for m in _recipients(facilitators) if _may_see(m, annotation)]
    return _notify(
        members,
        kind=Kind.FLAG,
        group=annotation.group,
        actor=flag.user,
        note=flag.reason,
        annotation=annotation,
        place=_annotation_place(annotation),
    )


def _everyone(group: ReadingGroup, role: str | None = None) -> list[Membership]:
    found = Membership.objects.filter(group=group)
    if role:
        found = found.filter(role=role)
    return _recipients(found)


def assignment_notify(*, assignment: Assignment) -> list[Notification]:
    group_reading = assignment.group_reading
    return _notify(
        _everyone(group_reading.group),
        kind=Kind.ASSIGNMENT,
        group=group_reading.group,
        actor=assignment.created_by,
        assignment=assignment,
        place=place_of(group_reading.reading, assignment.start),
    )


def meeting_notify(*, meeting: Meeting, event: str, by=None, was_starts_at=None):
    """Scheduled, moved or cancelled: every member hears it, the latest news replacing what
    they were told of the meeting before (a move's notice replaces the schedule's)."""
    now = timezone.now()
    Notification.objects.filter(meeting=meeting, kind=Kind.MEETING).delete()
    soon = min(meeting.starts_at, was_starts_at or meeting.starts_at) - now
    return _notify(
        _everyone(meeting.group),
        kind=Kind.MEETING,
        event=event,
        group=meeting.group,
        actor=by,
        meeting=meeting,
        was_at=was_starts_at,
        urgent=soon < MEETING_URGENT_WITHIN,
        now=now,
    )


def recap_notify(*, meeting: Meeting, by=None) -> list[Notification]:
    """A recap posted: every member hears it once (a recap cleared and written again is not
    news twice)."""
    told = set(
        Notification.objects.filter(kind=Kind.RECAP, meeting=meeting).values_list(
            "recipient_id", flat=True
        )
    )
    members = [m for m in _everyone(meeting.group) if m.user_id not in told]
    return _notify(members, kind=Kind.RECAP, group=meeting.group, actor=by, meeting=meeting)


def wrote_in(assignment: Assignment, user_ids: Iterable[int]) -> set[int]:
    """Which of these members wrote anything (a note, highlight or reply, shared or private)
    in the assignment's range."""
    group_reading = assignment.group_reading
    written = written_in(
        user=OuterRef("pk"),
        group=group_reading.group_id,
        reading=group_reading.reading_id,
        start=assignment.start,
        end=assignment.end,
    )
    return set(
        User.objects.filter(pk__in=set(user_ids))
        .filter(Exists(written))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def due_soon_notify(*, now: datetime | None = None) -> int:
    """Remind each member of an assignment due within a day in which they have written
    nothing yet: once per member and assignment (the sweep `send_notifications` runs)."""
    now = now or timezone.now()
    due = (
        Assignment.objects.filter(
            due_at__gt=now,
            due_at__lte=now + DUE_SOON_WITHIN,
            group_reading__group__archived_at__isnull=True,
        )
        .select_related("group_reading__group", "group_reading__reading")
        .order_by("due_at")
    )
    made = 0
    for assignment in due:
        group = assignment.group_reading.group
        members = _everyone(group, Membership.Role.MEMBER)
        reminders = Notification.objects.filter(assignment=assignment, kind=Kind.DUE_SOON)
        # A reminder of an earlier due date (since moved) gives way to the new one.
        reminders.exclude(was_at=assignment.due_at).delete()
        reminded = set(reminders.values_list("recipient_id", flat=True))
        members = [m for m in members if m.user_id not in reminded]
        written = wrote_in(assignment, [m.user_id for m in members])
        made += len(
            _notify(
                [m for m in members if m.user_id not in written],
                kind=Kind.DUE_SOON,
                group=group,
                assignment=assignment,
                place=place_of(assignment.group_reading.reading, assignment.start),
                was_at=assignment.due_at,
                now=now,
            )
        )
    return made


# --- the inbox ----------------------------------------------------------------------------------


def inbox(found, user):
    """What the inbox lists and counts of `found` (visible_notifications): not what the
    person muted since, a whole group or a thread (flags are silenced only with the group)."""
    mutes = Mute.objects.filter(user=user)
    group_muted = Exists(mutes.filter(thread__isnull=True, group_id=OuterRef("group_id")))
    thread_muted = Exists(mutes.filter(thread_id=OuterRef("annotation__root_id"))) | Exists(
        mutes.filter(thread_id=OuterRef("annotation_id"))
    )
    return found.exclude(group_muted).exclude(Q(thread_muted) & ~Q(kind=Kind.FLAG))


# --- read marks -------------------------------------------------------------------------------


def notification_mark_read(*, notification: Notification, read: bool = True) -> None:
    notification.read_at = timezone.now() if read else None
    notification.save(update_fields=["read_at"])


def notifications_mark_all_read(*, user) -> int:
    shown = inbox(visible_notifications(user), user).filter(read_at__isnull=True)
    return Notification.objects.filter(pk__in=list(shown.values_list("pk", flat=True))).update(
        read_at=timezone.now()
    )


# --- mutes and preferences --------------------------------------------------------------------


@transaction.atomic
def mute_set(*, user, group: ReadingGroup, thread: Annotation | None = None, muted: bool) -> bool:
    """Mute or unmute a group, or one thread (its root) of it. Returns whether it is muted."""
    if thread is not None:
        thread = thread if thread.root_id is None else thread.root
        if thread.group_id != group.pk:
            raise NotificationError("That thread is not one of this group's.")
    found = Mute.objects.filter(user=user, group=group, thread=thread)
    if muted:
        if not found.exists():
            Mute.objects.create(user=user, group=group, thread=thread)
    else:
        found.delete()
    return muted


def unsubscribed(*, user, kind: str) -> bool:
    """Is that email already off (for "digest": is no kind going to the digest)?"""
    preferences = Preferences.for_user(user)
    if kind == "digest":
        return all(preferences.delivery(k) != Delivery.DIGEST for k in Kind.values)
    return preferences.delivery(kind) == Delivery.OFF


@transaction.atomic
def preferences_unsubscribe(*, user, kind: str) -> list[str]:
    """One-click unsubscribe: no more email of this kind (for "digest": no more digest, every
    kind it carried turned off). Returns the kinds turned off."""
    preferences, _ = Preferences.objects.select_for_update().get_or_create(user=user)
    if kind == "digest":
        kinds = [k for k in Kind.values if preferences.delivery(k) == Delivery.DIGEST]
    elif kind in Kind.values:
        kinds = [kind] if preferences.delivery(kind) != Delivery.OFF else []
    else:
        raise NotificationError("Unknown kind of notification.")
    for k in kinds:
        setattr(preferences, k, Delivery.OFF)
    preferences.save(update_fields=kinds)
    waiting = Notification.objects.filter(recipient=user, email__in=[Email.QUEUED, Email.DIGEST])
    if kind == "digest":  # whatever waits for the digest, of any kind
        waiting = waiting.filter(Q(kind__in=kinds) | Q(email=Email.DIGEST))
    else:
        waiting = waiting.filter(kind__in=kinds)
    waiting.update(email=Email.DROPPED, email_error="Unsubscribed.")
    return kinds
