"""The access helpers for a meeting's pages.

The rules themselves are lines of the group's table (groups/access.py: `view` to read the
meetings and their agendas, `manage_meetings` for everything a facilitator does with them,
`raise` for a member's "raise at the meeting"); these only fetch.
"""

from django.http import Http404

from groups.access import GroupAction, group_for
from meetings.models import AgendaItem, Meeting


def meeting_for(request, group_slug: str, meeting_id: int, action=GroupAction.VIEW):
    """(group, membership, meeting): 404 unless a member, 403 unless the table allows
    `action`, 404 when the group has no such meeting. The meeting comes with its assignment."""
    group, membership = group_for(request, group_slug, action)
    meeting = (
        Meeting.objects.select_related("assignment__group_reading__reading")
        .filter(pk=meeting_id, group=group)
        .first()
    )
    if meeting is None:
        raise Http404("No such meeting.")
    meeting.group = group
    return group, membership, meeting


def agenda_item_for(request, group_slug: str, meeting_id: int, item_id: int, action):
    """(group, membership, meeting, item), as meeting_for; 404 when the meeting has no such
    item."""
    group, membership, meeting = meeting_for(request, group_slug, meeting_id, action)
    item = AgendaItem.objects.filter(pk=item_id, meeting=meeting).first()
    if item is None:
        raise Http404("No such agenda item.")
    item.meeting = meeting
    return group, membership, meeting, item
