"""The access helper for an assignment's pages (and its prompts' pages in the annotations app).

The rule itself is a line of the group's table (groups/access.py: `view` to read the list,
`manage_assignments` for everything a facilitator does with it); this only fetches.
"""

from django.http import Http404

from assignments.models import Assignment
from commonplace.compiled import CompiledQuery, columns, instance
from groups.access import GroupAction, group_for


def assignment_for(request, group_slug: str, assignment_id: int, action=GroupAction.VIEW):
    """(group, membership, assignment): 404 unless a member, 403 unless the table allows
    `action`, 404 when the group has no such assignment. The assignment comes with its group
    reading, reading and group."""
    group, membership = group_for(request, group_slug, action)
    assignment = (
        Assignment.objects.select_related("group_reading__reading")
        .filter(pk=assignment_id, group_reading__group=group)
        .first()
    )
    if assignment is None:
        raise Http404("No such assignment.")
    assignment.group_reading.group = group
    return group, membership, assignment


# The group reading page asks for its reading's assignments on every view (compiled once:
# commonplace/compiled.py). The caller has checked the viewer may see the group reading.
_ASSIGNMENTS_OF = CompiledQuery(
    lambda group_reading_id: Assignment.objects.filter(
        group_reading_id=group_reading_id
    ).values_list(*columns(Assignment)),
    group_reading_id=int,
)


def assignments_of(group_reading) -> list[Assignment]:
    """The group reading's assignments, in the list's order (position, due date), each with
    `group_reading` set."""
    found = []
    for row in _ASSIGNMENTS_OF.rows(group_reading_id=group_reading.pk):
        assignment, _ = instance(Assignment, row)
        assignment.group_reading = group_reading
        found.append(assignment)
    return found
