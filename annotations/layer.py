"""Reads of a group's annotation layer, each a fixed number of queries however much is written."""

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q

from annotations.access import (
    Action,
    allowed,
    author_label,
    author_username,
    permits,
    visible_annotations,
)
from annotations.models import Annotation, Flag, PlusOne, Tag
from groups.access import GroupAction, group_permits
from groups.models import Membership


@dataclass
class Filters:
    show: str = "all"  # all | mine
    member: str = ""  # a username
    tag: str = ""
    unanswered: bool = False
    highlights: bool = True

    @classmethod
    def from_request(cls, request) -> "Filters":
        get = request.GET
        return cls(
            show="mine" if get.get("show") == "mine" else "all",
            member=get.get("member", "")[:150],
            tag=get.get("tag", "")[:50],
            unanswered=get.get("questions") == "unanswered",
            highlights=get.get("highlights") != "hide",
        )

    @property
    def active(self) -> bool:
        return self != Filters()


def roots_for(user, group, reading, membership, filters: Filters | None = None) -> list:
    """Root annotations the person may see, each with reply_count, answered, plus_count,
    plussed (and flag_count for facilitators). Counts come from grouped queries, so this
    is a fixed number of queries (5, or 6 for a facilitator) however much is written."""
    visible = visible_annotations(membership).filter(reading=reading)
    roots = (
        visible.filter(parent__isnull=True)
        .select_related("author")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("start", "pk")
    )
    if filters:
        if filters.show == "mine":
            roots = roots.filter(author_id=user.pk, deleted_at__isnull=True)
        if filters.member:
            roots = roots.filter(author__username=filters.member, deleted_at__isnull=True)
        if filters.tag:
            roots = roots.filter(tags__name=filters.tag.lower())
        if filters.unanswered:
            roots = roots.filter(motivation=Annotation.Motivation.QUESTIONING)
    replies = {
        row["root_id"]: row
        for row in visible.filter(root__isnull=False)
        .values("root_id")
        .annotate(
            n=Count("pk"), answers=Count("pk", filter=Q(is_answer=True, deleted_at__isnull=True))
        )
        .order_by()
    }
    in_layer = {"annotation__group": group, "annotation__reading": reading}
    plussed = set(
        PlusOne.objects.filter(user_id=user.pk, **in_layer).values_list("annotation_id", flat=True)
    )
    flags = {}
    if group_permits(membership, GroupAction.OPEN_FLAG_LIST):
        # Open flags on a thread's root or any of its replies, counted per thread.
        flags = Counter(
            root_id or pk
            for pk, root_id in Flag.objects.filter(resolved_at__isnull=True, **in_layer)
            .order_by()
            .values_list("annotation_id", "annotation__root_id")
        )
    result = []
    for root in roots:
        root.has_visible_replies = True  # it came through the `see` query
        counts = replies.get(root.pk, {})
        root.reply_count = counts.get("n", 0)
        root.answered = bool(counts.get("answers"))
        root.plussed = root.pk in plussed
        root.flag_count = flags.get(root.pk, 0)
        root.author_label = author_label(membership, root)
        if filters and filters.unanswered and root.answered:
            continue
        if (
            filters
            and not filters.highlights
            and root.motivation == Annotation.Motivation.HIGHLIGHTING
            and not root.reply_count
        ):
            continue
        result.append(root)
    return result


def is_thread(annotation) -> bool:
    """A bare highlight is not a thread until somebody replies to it."""
    return annotation.motivation != Annotation.Motivation.HIGHLIGHTING or annotation.reply_count


def reading_layer(*, user, group, membership, reading, layout: dict, filters: Filters) -> dict:
    members = list(
        Membership.objects.filter(group=group)
        .select_related("user")
        .order_by("user__display_name", "user__username")
    )
    facilitator_ids = {m.user_id for m in members if m.is_facilitator}
    roots = roots_for(user, group, reading, membership, filters)

    blocks = [b for section in layout["sections"] for b in section.block_list]
    starts = [b.start for b in blocks]
    for block in blocks:
        block.thread_count = 0
        block.end = block.start + len(block.text)
    anchored, orphans, tags = [], [], set()
    for annotation in roots:
        annotation.tag_names = [tag.name for tag in annotation.tags.all()]
        tags.update(annotation.tag_names)
        if annotation.anchoring == Annotation.Anchoring.ORPHAN:
            orphans.append(annotation)
            continue
        anchored.append(annotation)
        if not is_thread(annotation):
            continue
        index = max(0, bisect_right(starts, annotation.start) - 1)
        while index < len(blocks) and blocks[index].start < annotation.end:
            if blocks[index].end > annotation.start:
                blocks[index].thread_count += 1
            index += 1

    data = [
        {
            "id": a.pk,
            "start": a.start,
            "end": a.end,
            "motivation": a.motivation,
            "author": a.author_label,
            "username": author_username(membership, a),
            "private": a.is_private,
            "replies": a.reply_count,
            "answered": bool(a.answered) if a.is_question else None,
            "mine": a.author_id == user.pk and permits(membership, Action.SEE_AUTHOR, a),
            "facilitator": a.author_id in facilitator_ids
            and permits(membership, Action.SEE_AUTHOR, a),
            "hidden": a.is_hidden,
            "deleted": a.is_deleted,
            "tags": a.tag_names,
        }
        for a in anchored
    ]
    return {
        "members": members,
        "facilitator_ids": facilitator_ids,
        "roots": anchored,
        "orphans": orphans,
        "tags": sorted(tags),
        "thread_total": sum(1 for a in anchored if is_thread(a)),
        "flag_total": sum(1 for a in roots if a.flag_count),
        "layer_data": data,
        "members_data": [
            {"username": m.user.username, "name": m.user.public_name} for m in members
        ],
        "filters": filters,
    }


def thread_for(user, group, membership, root: Annotation) -> list[Annotation]:
    """The root and every visible reply, in tree order, each with .depth (capped at 3)."""
    visible = visible_annotations(membership)
    rows = list(
        visible.filter(Q(pk=root.pk) | Q(root_id=root.pk))
        .select_related("author", "hidden_by")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
        .order_by("created_at", "pk")
    )
    ids = [row.pk for row in rows]
    plussed = set(
        PlusOne.objects.filter(annotation_id__in=ids, user_id=user.pk).values_list(
            "annotation_id", flat=True
        )
    )
    # Every row came through the `see` query, which keeps a deleted one only for a reply.
    root.has_visible_replies = any(row.pk == root.pk for row in rows)
    for row in rows:
        row.has_visible_replies = True
        row.group, row.reading = group, root.reading  # for permalinks, without a query each
        if row.root_id == root.pk:
            row.root = root
        row.plussed = row.pk in plussed
        row.author_label = author_label(membership, row)
        row.can = allowed(membership, row)
    if group_permits(membership, GroupAction.OPEN_FLAG_LIST):
        flags = {
            f.annotation_id: f
            for f in Flag.objects.filter(
                annotation__in=[r.pk for r in rows], resolved_at__isnull=True
            ).select_related("user")
        }
    else:
        flags = {}
    children: dict[int | None, list[Annotation]] = {}
    by_id = {row.pk: row for row in rows}
    for row in rows:
        row.open_flag = flags.get(row.pk)
        # A reply whose parent this person may not see (hidden) stands at the top.
        parent = row.parent_id if row.parent_id in by_id and row.pk != root.pk else None
        children.setdefault(parent, []).append(row)
    ordered: list[Annotation] = []

    def walk(node, depth):
        node.depth = min(depth, 3)
        ordered.append(node)
        for child in children.get(node.pk, []):
            walk(child, depth + 1)

    for top in children.get(None, []):
        walk(top, 0)
    return ordered
