"""Who may see and do what with an annotation: one table, and the helpers every view calls first.

Every page, count, thread, layer, API response (and every later notification, search, export
or feed) asks this module; nothing else restates a rule. Read the table as: an action is
allowed when ALL the conditions of ANY one of its lines hold. `viewer` is the person's
membership of the annotation's group (outsiders never get this far: the group's wall answers
404 first).

| action       | allowed when                                                                  |
| ------------ | ----------------------------------------------------------------------------- |
| see          | the viewer wrote it                                                           |
|              | it is shared with the group, not hidden, and not withheld from the viewer     |
|              | it is shared with the group, and the viewer is a facilitator                  |
|              | (and a deleted one only while the viewer may see one of its replies)          |
| see_author   | the viewer may see it, and it is not deleted                                  |
| reply        | the viewer may see it and its thread's root, neither is hidden, it is not     |
|              | deleted, the group is active                                                  |
|              | the viewer may see it, it is a thread's root, not hidden, the group is active |
| edit         | the viewer wrote it, it is not deleted, the group is active                   |
| make_private | the viewer wrote it, it is a thread's root, not deleted, the group is active, |
|              | no flag on it or in its thread is open, nobody else has replied in its thread |
| delete       | the viewer wrote it, it is not deleted, the group is active                   |
| plus_one     | the viewer may see it, it is not deleted, the group is active                 |
| flag         | the viewer may see it, someone else wrote it, not deleted, the group is active |
| hide         | a facilitator who may see it, it is not deleted, the group is active          |
| mark_answer  | a reply in a question's thread, not deleted, the group is active, and the     |
|              | viewer asked the question or is a facilitator                                 |

"Withheld" is "post before you peek": in the range of an assignment with that option, until
it is due, a member who has not posted there yet (a shared comment, question, tag note or
reply: not a bare highlight, not a private note) sees nobody else's annotations or replies
there, only the facilitators' prompts (`peek_locks`). Facilitators are never withheld from.

"Hidden" is a facilitator's moderation (hide and unhide are one action); its author still
sees it, with the facilitator's note. A hidden annotation, and every annotation in a thread
whose root is hidden, takes no new replies from anyone, its author and the facilitators
included (the replies already there stay where they were): a facilitator who wants the
discussion to go on shows it again. "Make private" ("only me") is refused while a flag on
the thread is open, so that a flagged note cannot slip out of the facilitators' sight before
one of them has looked at it (hiding it, or dismissing the flag, resolves the flag);
services.annotation_update asks the same conditions again under the annotation's lock.

A private note ("only me") is seen by its author alone, facilitators included. "Deleted" is
the placeholder left where an annotation with replies was deleted: it keeps its place in the
thread but not its author or its words.

Lists and counts use `visible_annotations(viewer)`, the `see` line as a query; the table
test checks that the two always agree.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from annotations.models import DELETED_LABEL, FORMER_MEMBER_LABEL, Annotation, Flag
from assignments.models import Assignment
from groups.access import Condition, GroupArchived, group_reading_for_member
from groups.models import Membership


class Action(StrEnum):
    SEE = "see"
    SEE_AUTHOR = "see_author"
    REPLY = "reply"
    EDIT = "edit"
    MAKE_PRIVATE = "make_private"
    DELETE = "delete"
    PLUS_ONE = "plus_one"
    FLAG = "flag"
    HIDE = "hide"
    MARK_ANSWER = "mark_answer"


def _shown(viewer, item) -> bool:
    return bool(
        item.author_id == viewer.user_id
        or (
            item.visibility == Annotation.Visibility.GROUP
            and (item.hidden_at is None or viewer.role == Membership.Role.FACILITATOR)
            and not _withheld(viewer, item)
        )
    )


# --- post before you peek -----------------------------------------------------------------------


@dataclass(frozen=True)
class Lock:
    """A range whose others' notes a member may not see yet."""

    assignment_id: int
    reading_id: int
    start: int
    end: int


def _posted(*, user, group, reading, start, end) -> QuerySet:
    """What counts as having posted in a range: a shared comment, question, tag note or reply
    there (not a bare highlight, not a private note), not deleted. Each argument a value or an
    OuterRef."""
    mine = Annotation.objects.filter(
        group_id=group,
        author_id=user,
        reading_id=reading,
        visibility=Annotation.Visibility.GROUP,
        deleted_at__isnull=True,
    )
    return mine.filter(parent__isnull=True, start__lt=end, end__gt=start).exclude(
        motivation=Annotation.Motivation.HIGHLIGHTING
    ) | mine.filter(parent__isnull=False, root__start__lt=end, root__end__gt=start)


def _lockable(viewer: Membership, now) -> bool:
    peek_until = viewer.group.peek_until
    return (
        viewer.role != Membership.Role.FACILITATOR and peek_until is not None and peek_until > now
    )


def peek_locks(viewer: Membership) -> tuple[Lock, ...]:
    """The ranges withheld from this member now: assignments with “post before you peek” on,
    not yet due, where they have not posted (a shared comment, question, tag note or reply,
    not deleted). None for a facilitator. One query, kept on the membership for the request."""
    known = getattr(viewer, "_peek_locks", None)
    if known is not None:
        return known
    locks: tuple[Lock, ...] = ()
    if _lockable(viewer, timezone.now()):
        posted = _posted(
            user=viewer.user_id,
            group=viewer.group_id,
            reading=OuterRef("group_reading__reading_id"),
            start=OuterRef("start"),
            end=OuterRef("end"),
        )
        rows = (
            Assignment.objects.peek_locks_open()
            .filter(group_reading__group_id=viewer.group_id)
            .exclude(Exists(posted))
            .order_by("pk")
            .values_list("pk", "group_reading__reading_id", "start", "end")
        )
        locks = tuple(Lock(*row) for row in rows)
    viewer._peek_locks = locks
    return locks


def prime_peek_locks(memberships) -> None:
    """`peek_locks` for many memberships at once (a person's groups in their inbox, the
    members told of a reply): one query for all, instead of one each."""
    now = timezone.now()
    pending = [m for m in memberships if getattr(m, "_peek_locks", None) is None]
    for membership in pending:
        if not _lockable(membership, now):
            membership._peek_locks = ()
    pending = [m for m in pending if getattr(m, "_peek_locks", None) is None]
    if not pending:
        return
    a = "group__group_readings__assignments__"
    posted = _posted(
        user=OuterRef("user_id"),
        group=OuterRef("group_id"),
        reading=OuterRef("group__group_readings__reading_id"),
        start=OuterRef(a + "start"),
        end=OuterRef(a + "end"),
    )
    rows = (
        Membership.objects.filter(
            pk__in=[m.pk for m in pending],
            **{a + "post_before_peek": True, a + "due_at__gt": now},
        )
        .annotate(posted=Exists(posted))
        .filter(posted=False)
        .order_by(a + "pk")
        .values_list("pk", a + "pk", "group__group_readings__reading_id", a + "start", a + "end")
    )
    found: dict[int, list[Lock]] = {m.pk: [] for m in pending}
    for membership_id, *lock in rows:
        found[membership_id].append(Lock(*lock))
    for membership in pending:
        membership._peek_locks = tuple(found[membership.pk])


def _withheld(viewer, item) -> bool:
    locks = peek_locks(viewer)
    if not locks or item.author_id == viewer.user_id:
        return False
    if item.parent_id is None and getattr(item, "prompt_of_id", None) is not None:
        return False  # the prompts are what members answer
    root = item if item.parent_id is None else item.root
    start, end = root.start, root.end
    for lock in locks:
        if lock.reading_id != item.reading_id:
            continue
        # An orphan's offsets are from before a revision: which range it was in is unknown,
        # so while any range of its reading is locked, it is withheld too.
        if root.anchoring == Annotation.Anchoring.ORPHAN:
            return True
        if start is not None and start < lock.end and end > lock.start:
            return True
    return False


def locked_q(locks) -> Q:
    """Everything in these ranges but the prompts (and, on a reading with a locked range, its
    orphans, whose offsets are from before a revision), as a query."""
    found = Q(pk__in=[])
    orphan = Annotation.Anchoring.ORPHAN
    for reading_id in {lock.reading_id for lock in locks}:
        found |= Q(reading_id=reading_id, parent__isnull=True, anchoring=orphan) | Q(
            reading_id=reading_id, parent__isnull=False, root__anchoring=orphan
        )
    for lock in locks:
        found |= Q(
            reading_id=lock.reading_id,
            parent__isnull=True,
            prompt_of__isnull=True,
            start__lt=lock.end,
            end__gt=lock.start,
        ) | Q(
            reading_id=lock.reading_id,
            parent__isnull=False,
            root__start__lt=lock.end,
            root__end__gt=lock.start,
        )
    return found


def forget_peek_locks(viewer: Membership) -> None:
    """After the viewer's own write in a request: their locks may have changed."""
    viewer.__dict__.pop("_peek_locks", None)


def withheld_counts(viewer: Membership, reading_id: int) -> dict[int, int]:
    """How many of the others' annotations and replies each lock withholds from this viewer
    ("5 notes from the group, visible once you post yours"), by assignment id: one query,
    none without locks. Counts what the viewer would see once it lifts."""
    locks = [lock for lock in peek_locks(viewer) if lock.reading_id == reading_id]
    if not locks:
        return {}
    shared = Annotation.objects.filter(
        group_id=viewer.group_id,
        reading_id=reading_id,
        visibility=Annotation.Visibility.GROUP,
        hidden_at__isnull=True,
        deleted_at__isnull=True,
    ).exclude(author_id=viewer.user_id)
    found = shared.aggregate(
        **{f"a{lock.assignment_id}": Count("pk", filter=locked_q((lock,))) for lock in locks}
    )
    return {lock.assignment_id: found[f"a{lock.assignment_id}"] for lock in locks}


def lock_key(locks) -> str:
    """The part of a cache key (or ETag) that tells locked viewers apart."""
    return ",".join(str(lock.assignment_id) for lock in locks) or "-"


def _has_visible_replies(viewer, item) -> bool:
    """Lists set `has_visible_replies` on what they fetched through visible_annotations (which
    asks the same in SQL); a single item asks the database."""
    known = getattr(item, "has_visible_replies", None)
    if known is not None:
        return known
    return Annotation.objects.filter(Q(parent_id=item.pk) & _shown_q(viewer)).exists()


def _can_see(viewer, item) -> bool:
    return _shown(viewer, item) and (item.deleted_at is None or _has_visible_replies(viewer, item))


def _can_see_root(viewer, item) -> bool:
    return item.root_id is None or _can_see(viewer, item.root)


def _question_root(item):
    root = item.root if item.root_id else None
    return (
        root if root is not None and root.motivation == Annotation.Motivation.QUESTIONING else None
    )


may_see = Condition(_can_see, "You cannot see that.")
HIDDEN_THREAD_MESSAGE = "A facilitator hid this thread: it takes no more replies."
sees_the_thread = Condition(_can_see_root, HIDDEN_THREAD_MESSAGE)


def open_to_replies(item) -> bool:
    """Neither the annotation nor its thread's root is hidden (`item.root` as loaded with
    it). services.annotation_create asks it again of the rows it locks."""
    root = item.root if item.root_id else None
    return item.hidden_at is None and (root is None or root.hidden_at is None)


not_hidden_thread = Condition(lambda viewer, item: open_to_replies(item), HIDDEN_THREAD_MESSAGE)
is_author = Condition(
    lambda viewer, item: item.author_id == viewer.user_id,
    "Only its author can change an annotation.",
)
not_author = Condition(
    lambda viewer, item: item.author_id != viewer.user_id, "That is your own annotation."
)
is_facilitator = Condition(
    lambda viewer, item: viewer.role == Membership.Role.FACILITATOR,
    "Only facilitators can do that.",
)
not_deleted = Condition(
    lambda viewer, item: item.deleted_at is None, "That annotation was deleted."
)
is_root = Condition(lambda viewer, item: item.parent_id is None, "That annotation was deleted.")
group_active = Condition(
    lambda viewer, item: not viewer.group.is_archived,
    "This group is archived: it can be read but not changed.",
    archived=True,
)


def _thread_of(item) -> Q:
    root_id = item.root_id or item.pk
    return Q(annotation_id=root_id) | Q(annotation__root_id=root_id)


FLAGGED_MESSAGE = (
    "Someone flagged this thread for the facilitators: it stays visible to the group until a "
    "facilitator has looked at the flag."
)
no_open_flag = Condition(
    lambda viewer, item: (
        not Flag.objects.filter(_thread_of(item), resolved_at__isnull=True).exists()
    ),
    FLAGGED_MESSAGE,
)
alone_in_thread = Condition(
    lambda viewer, item: (
        not Annotation.objects.filter(root_id=item.root_id or item.pk)
        .exclude(author_id=item.author_id)
        .exists()
    ),
    "Others have replied, so this thread stays visible to the group.",
)
is_thread_root = Condition(
    lambda viewer, item: item.parent_id is None, "A reply has its thread's visibility."
)
# What keeps a shared thread shared, whoever asks (the make_private line's conditions on the
# thread itself): services.annotation_update asks them under the annotation's lock.
STAYS_SHARED = (no_open_flag, alone_in_thread)


FLAGGED_ITEM_MESSAGE = (
    "Someone flagged this for the facilitators: its words stay as they are, and it stays, until "
    "a facilitator has looked at the flag."
)


def is_held(item) -> bool:
    """An open flag on this very annotation. Pages that list many items annotate `held`
    (layer.thread_for), so asking costs no query each; otherwise one query."""
    held = getattr(item, "held", None)
    if held is None:
        held = Flag.objects.filter(annotation_id=item.pk, resolved_at__isnull=True).exists()
        item.held = held
    return held


not_held = Condition(lambda viewer, item: not is_held(item), FLAGGED_ITEM_MESSAGE)
# An annotation's open flag, to annotate a query with (`.annotate(held=HELD)`).
HELD = Exists(Flag.objects.filter(annotation_id=OuterRef("pk"), resolved_at__isnull=True))


def held_for_moderation(item) -> str | None:
    """Why its author cannot change its words or delete it now (an open flag on it: else the
    flagged words would slip away before a facilitator saw them), or None. The edit and
    delete lines' condition, asked again by the services under the annotation's lock (a flag
    raised since the page was drawn still counts), as `stays_shared` is."""
    item.held = None  # asked afresh
    return None if not_held(None, item) else FLAGGED_ITEM_MESSAGE


def stays_shared(item) -> str | None:
    """Why this thread cannot be made private now, or None when it can."""
    return next((c.reason for c in STAYS_SHARED if not c(None, item)), None)


in_question_thread = Condition(
    lambda viewer, item: item.parent_id is not None and _question_root(item) is not None,
    "Only a reply to a question can be its answer.",
)
asked_or_facilitates = Condition(
    lambda viewer, item: (
        viewer.role == Membership.Role.FACILITATOR
        or getattr(_question_root(item), "author_id", None) == viewer.user_id
    ),
    "Only the person who asked, or a facilitator, can choose the answer.",
)


PERMISSIONS: dict[Action, list[list[Condition]]] = {
    Action.SEE: [[may_see]],
    Action.SEE_AUTHOR: [[not_deleted, may_see]],
    Action.REPLY: [
        [may_see, sees_the_thread, not_hidden_thread, not_deleted, group_active],
        [may_see, is_root, not_hidden_thread, group_active],  # a deleted root gathers its thread
    ],
    Action.EDIT: [[is_author, not_deleted, group_active, not_held]],
    Action.MAKE_PRIVATE: [
        [is_author, is_thread_root, not_deleted, group_active, *STAYS_SHARED],
    ],
    Action.DELETE: [[is_author, not_deleted, group_active, not_held]],
    Action.PLUS_ONE: [[may_see, not_deleted, group_active]],
    Action.FLAG: [[may_see, not_author, not_deleted, group_active]],
    Action.HIDE: [[is_facilitator, may_see, not_deleted, group_active]],
    Action.MARK_ANSWER: [
        [in_question_thread, asked_or_facilitates, may_see, not_deleted, group_active]
    ],
}


def permits(viewer: Membership, action: Action | str, item: Annotation) -> bool:
    """May this member do this to this annotation? The one answer everything asks."""
    if item.group_id != viewer.group_id:
        return False
    return any(all(condition(viewer, item) for condition in line) for line in PERMISSIONS[action])


def check(viewer: Membership, action: Action | str, item: Annotation) -> None:
    """As `permits`, raising what a view answers: 404 when the person may not even see the
    annotation, GroupArchived (403) when only the archive stands in the way, else 403."""
    if permits(viewer, action, item):
        return
    if not permits(viewer, Action.SEE, item):
        raise Http404("No such annotation.")
    failed = _failed(viewer, action, item)
    if failed and all(condition.archived for condition in failed):
        raise GroupArchived(failed[0].reason)
    raise PermissionDenied(reason_refused(viewer, action, item))


def _failed(viewer, action, item) -> list[Condition]:
    return [condition for condition in PERMISSIONS[action][0] if not condition(viewer, item)]


def reason_refused(viewer: Membership, action: Action | str, item: Annotation) -> str:
    """Why the table refuses this (for a page to say so beside the control it withholds):
    the first reason of its first line that fails, the archive's last."""
    failed = _failed(viewer, action, item)
    reason = next((c.reason for c in failed if not c.archived), None)
    return reason or (failed[0].reason if failed else "Not allowed.")


class Judge:
    """`permits` for many root annotations at once (a layer's 2,000): the table is asked once
    per kind of root, roots being alike when they agree on every attribute it reads (not for
    make_private, whose answer reads the thread's flags and replies)."""

    def __init__(self, viewer: Membership):
        self.viewer = viewer
        self.answers: dict[tuple, bool] = {}

    def __call__(self, action: Action | str, item) -> bool:
        if item.parent_id is not None:  # replies: their thread's root counts too
            return permits(self.viewer, action, item)
        key = (
            action,
            item.group_id,
            item.author_id == self.viewer.user_id,
            item.visibility,
            item.hidden_at is None,
            item.deleted_at is None,
            getattr(item, "has_visible_replies", None),
            _withheld(self.viewer, item),
        )
        answer = self.answers.get(key)
        if answer is None:
            answer = self.answers[key] = permits(self.viewer, action, item)
        return answer

    def author_label(self, item, author=None) -> str:
        return _name(item, author) if self(Action.SEE_AUTHOR, item) else DELETED_LABEL

    def author_username(self, item, author=None) -> str:
        return _username(item, author) if self(Action.SEE_AUTHOR, item) else ""


ACTIONS = frozenset(Action)  # StrEnum members: "edit" in ACTIONS


class Allowed(dict):
    """What a viewer may do to one item, for templates: `{% if a.can.edit %}`. Each action
    is asked of the table when first looked up (some, like make_private, read the database:
    a thread page that never shows them never asks); anything else is False."""

    def __init__(self, viewer: Membership, item: Annotation):
        super().__init__()
        self.viewer, self.item = viewer, item

    def __missing__(self, key):
        if key not in ACTIONS:
            return False
        answer = self[key] = permits(self.viewer, key, self.item)
        return answer


def allowed(viewer: Membership, item: Annotation) -> Allowed:
    return Allowed(viewer, item)


def author_label(viewer: Membership, item: Annotation, author=None) -> str:
    """How the author is named to this viewer: “[deleted]” hides a deleted annotation's
    author; an author whose account is gone is a “former member”. `author`: the author's
    User, when the item does not carry it (a layer built from plain rows)."""
    return _name(item, author) if permits(viewer, Action.SEE_AUTHOR, item) else DELETED_LABEL


def author_username(viewer: Membership, item: Annotation, author=None) -> str:
    return _username(item, author) if permits(viewer, Action.SEE_AUTHOR, item) else ""


def _name(item, author) -> str:
    author = (author or getattr(item, "author", None)) if item.author_id else None
    return author.public_name if author else FORMER_MEMBER_LABEL


def _username(item, author) -> str:
    author = (author or getattr(item, "author", None)) if item.author_id else None
    return author.username if author else ""


# --- the `see` line as a query ------------------------------------------------------------------


def _shown_q(viewer: Membership) -> Q:
    shared = Q(visibility=Annotation.Visibility.GROUP)
    if viewer.role != Membership.Role.FACILITATOR:
        shared &= Q(hidden_at__isnull=True)
        if locks := peek_locks(viewer):
            shared &= ~locked_q(locks)
    return Q(group_id=viewer.group_id) & (shared | Q(author_id=viewer.user_id))


def visible_q(viewer: Membership) -> Q:
    """The `see` line of the table, for the database: shared and not hidden (or hidden, to a
    facilitator), or the viewer's own; a deleted placeholder only while one of its replies is
    (else it would tell that a hidden reply exists).

    The replies are looked for per deleted row, through the parent index. (`parent_id >=`
    restates `parent_id =` so that PostgreSQL cannot turn the subquery into a hash of every
    shown row of the group, which it builds for a page of a hundred as for a count of all.)"""
    replies = Annotation.objects.filter(
        _shown_q(viewer), Q(parent_id=OuterRef("pk")), Q(parent_id__gte=OuterRef("pk"))
    )
    return _shown_q(viewer) & (Q(deleted_at__isnull=True) | Exists(replies))


def visible_annotations(viewer: Membership) -> QuerySet:
    """Every annotation and reply of the viewer's group that the viewer may see."""
    return Annotation.objects.filter(visible_q(viewer))


# --- the `see` line split for caching ----------------------------------------------------------
#
# A busy group's layer is built once per change and shared: what every member sees alike (the
# viewer's class: member or facilitator), cached, plus what only this viewer sees (their own
# private notes, and their own hidden annotations), merged in per request, so one person's
# notes never enter another's cache entry. class_q(...) | own_q(viewer) is visible_q(viewer),
# except that a deleted placeholder is kept only for replies its class may see (a person may
# miss a placeholder held up by their own hidden reply: shown less, never more).


def layer_class(viewer: Membership) -> str:
    return "facilitator" if viewer.role == Membership.Role.FACILITATOR else "member"


def class_q(group_id: int, layer_class: str, locks=()) -> Q:
    """What every viewer of this class (with these peek locks) sees of the group's
    annotations, but for the deleted placeholders' rule: the caller reads the whole class and
    drops the placeholders none of whose replies it read (without_bare_placeholders), which
    costs no second scan."""
    shared = Q(group_id=group_id, visibility=Annotation.Visibility.GROUP)
    if layer_class != "facilitator":
        shared &= Q(hidden_at__isnull=True)
    if locks:
        shared &= ~locked_q(locks)
    return shared


def without_bare_placeholders(rows: list[tuple], *, id_at: int, parent_at: int, deleted_at: int):
    """The `see` line's last clause over rows read whole: a deleted placeholder stays only
    while one of its replies is among them."""
    parents = {row[parent_at] for row in rows}
    return [row for row in rows if row[deleted_at] is None or row[id_at] in parents]


def own_q(viewer: Membership) -> Q:
    """What this viewer sees beyond their class: only ever their own annotations (private,
    hidden, or in a range withheld from them)."""
    return own_class_q(viewer.group_id, viewer.user_id, layer_class(viewer), peek_locks(viewer))


def own_class_q(group_id: int, user_id: int, layer_class: str, locks=()) -> Q:
    """own_q for the viewer of this group and class, with these peek locks."""
    mine = Q(group_id=group_id, author_id=user_id)
    beyond = Q(visibility=Annotation.Visibility.PRIVATE)
    if layer_class != "facilitator":
        beyond |= Q(hidden_at__isnull=False)
    if locks:
        beyond |= locked_q(locks)
    return mine & beyond


# --- the helpers views call first ------------------------------------------------------------


def annotation_for(request, group_slug, reading_slug, annotation_id, action=Action.SEE):
    """(group, membership, group_reading, annotation) when the person may do `action` to it:
    404 when they may not see it (or it is not in this group's reading), 403 otherwise."""
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    annotation = (
        visible_annotations(membership)
        .filter(reading=group_reading.reading, pk=annotation_id)
        .annotate(held=HELD)  # for the edit and delete lines, in the same query
        .select_related("author", "group", "reading", "parent", "root", "hidden_by")
        .first()
    )
    if annotation is None:
        raise Http404("No such annotation.")
    check(membership, action, annotation)
    return group, membership, group_reading, annotation


def annotation_for_reader(request, group_slug, reading_slug, annotation_id):
    return annotation_for(request, group_slug, reading_slug, annotation_id, Action.SEE)
