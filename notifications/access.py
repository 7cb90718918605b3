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
| flag                      | they are a facilitator, and the flag is still open             |
| assignment, due_soon,     | the assignment or meeting exists (deleting it deletes them)    |
| meeting, recap            |                                                                |

Nothing here restates a rule of who sees an annotation: it asks `visible_q`.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet

from annotations.access import visible_q
from annotations.models import Annotation, Flag
from groups.models import GroupReading, Membership
from notifications.models import Kind, Notification

ABOUT_ANNOTATIONS = (Kind.REPLY, Kind.MENTION, Kind.ANSWER, Kind.FLAG)


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
        open_flag = Exists(
            Flag.objects.filter(annotation_id=OuterRef("annotation_id"), resolved_at__isnull=True)
        )
        about_annotation &= ~Q(kind=Kind.FLAG) | open_flag
    else:
        about_annotation &= ~Q(kind=Kind.FLAG)
    return Q(group_id=membership.group_id) & (~Q(kind__in=ABOUT_ANNOTATIONS) | about_annotation)


def visible_notifications(user, memberships=None) -> QuerySet:
    """The person's notifications they may see now: one query once their memberships are
    read (`memberships`, when the caller has them, with their groups)."""
    if memberships is None:
        memberships = list(Membership.objects.filter(user=user).select_related("group"))
    shown = Q(pk__in=[])
    for membership in memberships:
        shown |= _in_group(membership)
    return Notification.objects.filter(Q(recipient=user) & shown)
