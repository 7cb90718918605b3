"""Who may see and do what in a group: one family of helpers, called first in every view.

A person who is not a member gets 404 for everything of a group's (they must not learn
that it exists); a member without the needed role gets 403. Deny by default.

| action                                   | member | facilitator |
| ---------------------------------------- | ------ | ----------- |
| read the group, its readings and members | yes    | yes         |
| leave the group                          | yes    | yes (not the last facilitator) |
| change settings, archive, add readings   | no     | yes         |
| invite, remove, promote or demote people | no     | yes         |
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404

from groups.models import GroupReading, Membership, ReadingGroup


class GroupArchived(PermissionDenied):
    """A write to an archived (read-only) group."""


def group_for_member(request, slug: str) -> tuple[ReadingGroup, Membership]:
    membership = (
        Membership.objects.select_related("group")
        .filter(group__slug=slug, user_id=request.user.pk)
        .first()
        if request.user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such group.")
    return membership.group, membership


def group_for_facilitator(request, slug: str) -> tuple[ReadingGroup, Membership]:
    group, membership = group_for_member(request, slug)
    if not membership.is_facilitator:
        raise PermissionDenied("Only facilitators can do that.")
    return group, membership


def group_reading_for_member(request, slug: str, reading_slug: str):
    group, membership = group_for_member(request, slug)
    group_reading = get_object_or_404(
        GroupReading.objects.select_related("reading", "group"),
        group=group,
        reading__slug=reading_slug,
    )
    return group, membership, group_reading


def ensure_writable(group: ReadingGroup) -> None:
    if group.is_archived:
        raise GroupArchived("This group is archived: it can be read but not changed.")
