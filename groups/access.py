"""Who may see and do what in a group: one table, and the helpers every view calls first.

A person who is not a member gets 404 for everything of a group's (they must not learn
that it exists); a member the table refuses gets 403. Deny by default. Read the table as:
an action is allowed when ALL the conditions of ANY one of its lines hold.

| action              | allowed when                                                           |
| ------------------- | ---------------------------------------------------------------------- |
| view                | a member (read the group, its readings, members and annotations)       |
| leave               | a member (the last facilitator is kept by groups.services)             |
| annotate            | a member, the group is active (new highlights, comments, questions)    |
| open_settings       | a facilitator (the settings and add-a-reading pages, also archived)    |
| change_settings     | a facilitator, the group is active                                     |
| archive             | a facilitator (archive and unarchive)                                  |
| add_reading         | a facilitator, the group is active (from the library, or an import)    |
| remove_reading      | a facilitator, the group is active                                     |
| revise_text         | a facilitator, the group is active, the group imported that reading     |
| manage_members      | a facilitator, the group is active (promote, step down, demote, remove)|
| manage_invitations  | a facilitator (see links and invitations, revoke, withdraw; also when  |
|                     | archived: closing a way in changes nobody's membership)                |
| invite              | a facilitator, the group is active (new links, email invitations)      |
| open_flag_list      | a facilitator                                                          |
| manage_assignments  | a facilitator, the group is active (assignments and their prompts)     |
| mark_read           | a member (their own progress: also when archived)                      |
| view_participation  | a facilitator (who took part, and where the discussion gathered)       |
| manage_meetings     | a facilitator, the group is active (schedule, agenda, recap, cancel)   |
| raise               | a member, the group is active ("raise at the meeting" on a thread)     |
| run_meeting         | a facilitator, the group is active (meeting mode: start, spotlight)    |
| import_annotations  | a facilitator, the group is active (a W3C or Hypothesis file)          |
| delete              | a facilitator (the group and everything in it; also when archived)     |
| delete_reading      | a facilitator, the group is active, the group imported that reading     |

The rules about single annotations (see, reply, edit, hide, ...) are in annotations/access.py.

Archiving freezes a group: every line above that asks "the group is active", and in
annotations/access.py every change to an annotation (new ones, replies, edits, deletions, +1s,
flags, hiding, answers), and joining by any invitation (groups.services). What stays: reading
everything, exports and calendar feeds, a member's own progress, leaving the group, closing
invitation links and withdrawing invitations, and unarchiving, which restores everything as it
was. The archive confirmation says so, from ARCHIVE_FREEZES and ARCHIVE_KEEPS below.
"""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Subquery
from django.http import Http404

from commonplace.compiled import CompiledQuery, columns, instance
from groups.models import GroupReading, Membership, ReadingGroup
from readings.models import Reading


class GroupArchived(PermissionDenied):
    """A write to an archived (read-only) group."""


ARCHIVED_MESSAGE = "This group is archived: it can be read but not changed."


class GroupAction(StrEnum):
    VIEW = "view"
    LEAVE = "leave"
    ANNOTATE = "annotate"
    OPEN_SETTINGS = "open_settings"
    CHANGE_SETTINGS = "change_settings"
    ARCHIVE = "archive"
    ADD_READING = "add_reading"
    REMOVE_READING = "remove_reading"
    REVISE_TEXT = "revise_text"
    MANAGE_MEMBERS = "manage_members"
    MANAGE_INVITATIONS = "manage_invitations"
    INVITE = "invite"
    OPEN_FLAG_LIST = "open_flag_list"
    MANAGE_ASSIGNMENTS = "manage_assignments"
    MARK_READ = "mark_read"
    VIEW_PARTICIPATION = "view_participation"
    MANAGE_MEETINGS = "manage_meetings"
    RAISE = "raise"
    RUN_MEETING = "run_meeting"
    IMPORT_ANNOTATIONS = "import_annotations"
    DELETE = "delete"
    DELETE_READING = "delete_reading"


@dataclass(frozen=True)
class Condition:
    """One condition of a permission table (this one and annotations/access.py's), with the
    reason a person is given when it fails. `test(membership, target)`."""

    test: Callable[[Membership, object], bool]
    reason: str
    archived: bool = False  # failing it means "the group is archived", not "you may not"

    def __call__(self, membership: Membership, target=None) -> bool:
        return self.test(membership, target)


is_member = Condition(lambda m, target: m is not None, "Only members can do that.")
is_facilitator = Condition(
    lambda m, target: m.role == Membership.Role.FACILITATOR, "Only facilitators can do that."
)
group_active = Condition(lambda m, target: not m.group.is_archived, ARCHIVED_MESSAGE, archived=True)
imported_here = Condition(
    lambda m, target: target is not None and target.reading.owner_group_id == m.group_id,
    "Only readings imported by this group can be revised here.",
)
imported_here_to_delete = Condition(
    imported_here.test,
    "Only a text this group imported can be deleted here; a reading from the library can "
    "only be taken off the group's list.",
)

# What archiving stops, and what it leaves, in words for the archive confirmation (the table
# and annotations/access.py enforce it; tests/test_moderation_rules.py holds them together).
ARCHIVE_FREEZES = (
    "New highlights, comments, questions and replies, and any change to those already there "
    "(editing, deleting, +1s, flags, hiding, marking answers)",
    "Changes to who is in the group: nobody can join (invitation links and email invitations "
    "stop working), no new invitations are sent, and facilitators cannot remove, promote or "
    "demote anyone",
    "Readings (adding, taking off the list, revising or deleting the text), the group's "
    "settings and importing annotations",
    "Assignments and prompts; meetings (scheduling, agendas, recaps, meeting mode) and raising "
    "threads for a meeting",
)
ARCHIVE_KEEPS = (
    "Everyone can still read everything: readings, threads, members, meetings and recaps",
    "Exports and calendar feeds keep working, and members can still mark sections read",
    "Anyone can leave the group; facilitators can still turn off invitation links and "
    "withdraw email invitations",
    "Unarchiving brings everything back as it was",
)

GROUP_PERMISSIONS: dict[GroupAction, list[list[Condition]]] = {
    GroupAction.VIEW: [[is_member]],
    GroupAction.LEAVE: [[is_member]],
    GroupAction.ANNOTATE: [[is_member, group_active]],
    GroupAction.OPEN_SETTINGS: [[is_facilitator]],
    GroupAction.CHANGE_SETTINGS: [[is_facilitator, group_active]],
    GroupAction.ARCHIVE: [[is_facilitator]],
    GroupAction.ADD_READING: [[is_facilitator, group_active]],
    GroupAction.REMOVE_READING: [[is_facilitator, group_active]],
    GroupAction.REVISE_TEXT: [[is_facilitator, group_active, imported_here]],
    GroupAction.MANAGE_MEMBERS: [[is_facilitator, group_active]],
    GroupAction.MANAGE_INVITATIONS: [[is_facilitator]],
    GroupAction.INVITE: [[is_facilitator, group_active]],
    GroupAction.OPEN_FLAG_LIST: [[is_facilitator]],
    GroupAction.MANAGE_ASSIGNMENTS: [[is_facilitator, group_active]],
    GroupAction.MARK_READ: [[is_member]],
    GroupAction.VIEW_PARTICIPATION: [[is_facilitator]],
    GroupAction.MANAGE_MEETINGS: [[is_facilitator, group_active]],
    GroupAction.RAISE: [[is_member, group_active]],
    GroupAction.RUN_MEETING: [[is_facilitator, group_active]],
    GroupAction.IMPORT_ANNOTATIONS: [[is_facilitator, group_active]],
    GroupAction.DELETE: [[is_facilitator]],
    GroupAction.DELETE_READING: [[is_facilitator, group_active, imported_here_to_delete]],
}


def group_permits(membership: Membership | None, action: GroupAction | str, target=None) -> bool:
    """May this member do this in their group? `target` is the GroupReading for revise_text and
    delete_reading."""
    if membership is None:
        return False
    return any(
        all(condition(membership, target) for condition in line)
        for line in GROUP_PERMISSIONS[action]
    )


def group_check(membership: Membership, action: GroupAction | str, target=None) -> None:
    """As `group_permits`, raising GroupArchived when only the archive stands in the way, and
    PermissionDenied (403) with the reason otherwise."""
    if group_permits(membership, action, target):
        return
    failed = [c for c in GROUP_PERMISSIONS[action][0] if not c(membership, target)]
    if failed and all(c.archived for c in failed):
        raise GroupArchived(failed[0].reason)
    raise PermissionDenied(next(c.reason for c in failed if not c.archived))


class GroupAllowed(dict):
    """What a member may do in the group, for templates: `{% if can.invite %}`."""

    def __missing__(self, key):
        return False


def group_allowed(membership: Membership | None) -> GroupAllowed:
    return GroupAllowed({action.value: group_permits(membership, action) for action in GroupAction})


# --- the helpers views call first ------------------------------------------------------------


# The lookups every group page and API call makes first, compiled to SQL once per process
# (commonplace/compiled.py): the ORM's own compiling cost several times the query.
_MEMBERSHIP_OF = CompiledQuery(
    lambda user_id, slug: (
        Membership.objects.filter(group__slug=slug, user_id=user_id)
        .order_by()  # one row at most: no join for Membership's default ordering
        .values_list(*columns(Membership), *columns(ReadingGroup, "group__"))[:1]
    ),
    user_id=int,
    slug=str,
)


def _readable_group_reading(user_id, slug, reading_slug):
    """The group reading of these slugs, if this person is a member of its group. The slugs
    are looked up in subqueries, not joined: PostgreSQL plans the four-table join in 0.7 ms,
    this in 0.2 (bench/README.md)."""
    return GroupReading.objects.filter(
        group_id=Subquery(ReadingGroup.objects.filter(slug=slug).order_by().values("pk")),
        reading_id=Subquery(Reading.objects.filter(slug=reading_slug).order_by().values("pk")),
        group__memberships__user_id=user_id,
    ).order_by()


# The group reading with its group, its reading and the person's membership.
_GROUP_READING_OF = CompiledQuery(
    lambda user_id, slug, reading_slug: _readable_group_reading(
        user_id, slug, reading_slug
    ).values_list(
        *columns(GroupReading),
        *columns(ReadingGroup, "group__"),
        *columns(Reading, "reading__"),
        *columns(Membership, "group__memberships__"),
    )[:1],
    user_id=int,
    slug=str,
    reading_slug=str,
)

# The version figures a reading page polls (annotations:version), for a member only.
_VERSIONS_OF = CompiledQuery(
    lambda user_id, slug, reading_slug: _readable_group_reading(
        user_id, slug, reading_slug
    ).values_list("layer_version", "live_version")[:1],
    user_id=int,
    slug=str,
    reading_slug=str,
)


def _membership(request, slug: str) -> Membership:
    """The person's membership of the group, with the group: 404 to anyone else."""
    row = (
        _MEMBERSHIP_OF.first(user_id=request.user.pk, slug=slug)
        if request.user.is_authenticated
        else None
    )
    if row is None:
        raise Http404("No such group.")
    membership, end = instance(Membership, row)
    membership.group, _ = instance(ReadingGroup, row, end)
    return membership


def group_for(request, slug: str, action: GroupAction = GroupAction.VIEW):
    """(group, membership): 404 unless a member, then 403 unless the table allows `action`."""
    membership = _membership(request, slug)
    group_check(membership, action)
    return membership.group, membership


def group_for_member(request, slug: str) -> tuple[ReadingGroup, Membership]:
    return group_for(request, slug, GroupAction.VIEW)


def group_reading_for(request, slug: str, reading_slug: str, action=GroupAction.VIEW):
    """(group, membership, group_reading): 404 unless a member reading it, 403 unless the
    table allows `action` on this group reading. One query: the group reading with its group,
    its reading and the person's membership."""
    row = _member_row(_GROUP_READING_OF, request, slug=slug, reading_slug=reading_slug)
    found, end = instance(GroupReading, row)
    group, end = instance(ReadingGroup, row, end)
    reading, end = instance(Reading, row, end)
    membership, _ = instance(Membership, row, end)
    found.group = membership.group = group
    found.reading = reading
    group_check(membership, action, found)
    return group, membership, found


def group_reading_versions(request, slug: str, reading_slug: str) -> tuple[int, int]:
    """(layer_version, live_version) of a group reading the person may view: 404 otherwise.
    One indexed query, for the pages' polling."""
    return _member_row(_VERSIONS_OF, request, slug=slug, reading_slug=reading_slug)


def _member_row(query: CompiledQuery, request, **values) -> tuple:
    """The query's row for the signed-in person: 404 to anyone else."""
    row = query.first(user_id=request.user.pk, **values) if request.user.is_authenticated else None
    if row is None:
        raise Http404("No such group.")
    return row


def group_reading_for_member(request, slug: str, reading_slug: str):
    return group_reading_for(request, slug, reading_slug, GroupAction.VIEW)


def group_reading_for_facilitator(request, slug: str, reading_slug: str, action: GroupAction):
    """As group_reading_for_member, for a facilitator's action on the group reading
    (remove_reading, revise_text, delete_reading, open_flag_list): 403 for anyone the table
    refuses."""
    return group_reading_for(request, slug, reading_slug, action)


def ensure_writable(group: ReadingGroup) -> None:
    """The services' own guard: nothing new is written into an archived group."""
    if group.is_archived:
        raise GroupArchived(ARCHIVED_MESSAGE)
