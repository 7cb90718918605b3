"""Who may see a notification: its recipient, while they may still see what it is about.

A notification is told to one person, and only while the permission tables would show them
the thing it points at, asked afresh each time (the inbox, the unread count, every email):

| kind                      | shown to its recipient while                                   |
| ------------------------- | -------------------------------------------------------------- |
| every kind                | they are a member of the group                                 |
| reply, mention, answer,   | they may see the annotation and its thread's root (the `see`   |
| flag                      | line of annotations/access.py: not deleted, not hidden, not    |
|                           | private to someone else, not withheld by “post before you      |
|                           | peek”), and its reading is still one the group reads           |
| answer                    | the reply is still marked as the answer                        |
| flag                      | they are a facilitator, and that person's flag is still open   |
| recap                     | the meeting's recap is not cleared                             |
| due_soon                  | the assignment is not due yet, and they have not written in it |
| assignment, due_soon,     | the assignment or meeting exists (deleting it deletes them)    |
| meeting, recap            |                                                                |

Nothing here restates a rule of who sees an annotation: it asks `visible_q`.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from annotations.access import prime_peek_locks, visible_q
from annotations.models import Annotation, Flag
from groups.models import GroupReading, Membership
from notifications.models import Kind, Notification

ABOUT_ANNOTATIONS = (Kind.REPLY, Kind.MENTION, Kind.ANSWER, Kind.FLAG)


def written_in(*, user, group, reading, start, end) -> QuerySet:
    """What a member wrote in a range (a note, highlight or reply, shared or private, not
    deleted): who has, needs no "due soon" reminder. Each argument a value or an OuterRef."""
    mine = Annotation.objects.filter(
        group_id=group, reading_id=reading, author_id=user, deleted_at__isnull=True
    )
    return mine.filter(
        Q(parent__isnull=True, start__lt=end, end__gt=start)
        | Q(parent__isnull=False, root__start__lt=end, root__end__gt=start)
    )


def _in_group(membership: Membership) -> Q:
    seen = Annotation.objects.filter(visible_q(membership))
    item = Exists(seen.filter(pk=OuterRef("annotation_id"), deleted_at__isnull=True))
    root = Q(annotation__root__isnull=True) | Exists(
        seen.filter(pk=OuterRef("annotation__root_id"))
    )
    still_read = Exists(
        GroupReading.objects.filter(
            group_id=membership.group_id, reading_id=OuterRef("annotation__reading_id")
        )
    )
    about_annotation = Q(kind__in=ABOUT_ANNOTATIONS) & item & root & still_read
    about_annotation &= ~Q(kind=Kind.ANSWER) | Q(annotation__is_answer=True)
    if membership.role == Membership.Role.FACILITATOR:
        open_flag = Exists(  # the flag this line is about: its flagger's, still open
            Flag.objects.filter(
                annotation_id=OuterRef("annotation_id"),
                user_id=OuterRef("actor_id"),
                resolved_at__isnull=True,
            )
        )
        about_annotation &= ~Q(kind=Kind.FLAG) | open_flag
    else:
        about_annotation &= ~Q(kind=Kind.FLAG)
    # A recap cleared is no news; a reminder of a due date past is no reminder.
    news = ~Q(kind=Kind.RECAP) | ~Q(meeting__recap="")
    written = written_in(
        user=OuterRef("recipient_id"),
        group=OuterRef("group_id"),
        reading=OuterRef("assignment__group_reading__reading_id"),
        start=OuterRef("assignment__start"),
        end=OuterRef("assignment__end"),
    )
    news &= ~Q(kind=Kind.DUE_SOON) | (Q(assignment__due_at__gt=timezone.now()) & ~Exists(written))
    return (
        Q(group_id=membership.group_id) & news & (~Q(kind__in=ABOUT_ANNOTATIONS) | about_annotation)
    )


def visible_notifications(user, memberships=None) -> QuerySet:
    """The person's notifications they may see now: one query once their memberships are
    read (`memberships`, when the caller has them, with their groups)."""
    if memberships is None:
        memberships = list(Membership.objects.filter(user=user).select_related("group"))
    prime_peek_locks(memberships)  # every group's "post before you peek" in one query
    shown = Q(pk__in=[])
    for membership in memberships:
        shown |= _in_group(membership)
    return Notification.objects.filter(Q(recipient=user) & shown)
