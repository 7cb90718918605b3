"""Reads of a group's annotation layer, each a fixed number of queries however much is written."""

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from html import unescape

from django.db.models import Case, Count, F, Prefetch, Q, TextField, Value, When
from django.utils.formats import date_format
from django.utils.html import strip_tags
from django.utils.timezone import localtime

from accounts.models import User
from annotations.access import (
    HELD,
    Action,
    Judge,
    allowed,
    author_label,
    class_q,
    layer_class,
    lock_key,
    own_class_q,
    own_q,
    peek_locks,
    visible_annotations,
    without_bare_placeholders,
)
from annotations.models import Annotation, Flag, PlusOne, Tag
from annotations.services import tag_key
from commonplace.compiled import CompiledQuery, columns, instance
from commonplace.memo import VersionedMemo
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
        if filters and filters.tag and not _tagged(filters.tag, [t.name for t in root.tags.all()]):
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


# --- the group reading page's layer: plain rows, cached per class --------------------------------
#
# A reading page needs every root annotation the viewer may see, with its counts. It is built
# from plain rows (never a model instance per annotation) and cached: the part every viewer of
# a class sees alike (access.class_q: member or facilitator, and the ranges withheld from them
# by "post before you peek", access.peek_locks) under the group reading's layer_version, which
# every write to the layer bumps, so an entry is never stale, only unused; the viewer's own
# private, hidden and withheld annotations (access.own_q) are merged in per request and never
# cached. Authors' names are looked up per request, so a rename shows at once.

LAYER_CACHE_FORMAT = 6  # bump when Root changes shape: old entries are then ignored
# A class's layer and summary never change under their keys (the layer's version is in them):
# each process keeps the last few it read (commonplace/memo.py).
_CLASS_LAYERS = VersionedMemo(size=8)  # a busy layer is a few MB of tuples
_SUMMARIES = VersionedMemo(size=64)

ROW_FIELDS = (
    "id",
    "parent_id",
    "root_id",
    "author_id",
    "motivation",
    "visibility",
    "start",
    "end",
    "anchoring",
    "hidden_at",
    "deleted_at",
    "plus_count",
    "is_answer",
    "orphan_quote",
    "prompt_of_id",
    "created_at",
    "original_author",
    "original_created_at",
)


@dataclass(slots=True)
class Root:
    """One root annotation of a layer, from plain rows: what the page, its data and the
    permission table need of it (the table reads the same attributes as on an Annotation)."""

    pk: int
    group_id: int
    author_id: int | None
    motivation: str
    visibility: str
    start: int | None  # None for a discussion of the whole reading (a page note)
    end: int | None
    anchoring: str
    hidden_at: object
    deleted_at: object
    plus_count: int
    exact: str = ""  # orphans: their passages; page notes: their words (as plain text)
    reply_count: int = 0
    answered: bool = False
    flag_count: int = 0
    tag_names: list = field(default_factory=list)
    parent_id: None = None
    root_id: None = None
    has_visible_replies: bool = True  # it came through the `see` line's query
    prompt_of_id: int | None = None
    reading_id: int | None = None
    activity: object = None  # when it or its last reply (that the class sees) was written
    activity_by: int | None = None  # and by whom
    original_author: str = ""  # imported: who wrote it where it came from, and when
    original_created_at: object = None
    author_label: str = ""
    plussed: bool = False

    @property
    def is_private(self) -> bool:
        return self.visibility == Annotation.Visibility.PRIVATE

    @property
    def is_question(self) -> bool:
        return self.motivation == Annotation.Motivation.QUESTIONING

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def get_motivation_display(self) -> str:
        return Annotation.Motivation(self.motivation).label


def _cached_fields(root: Root) -> tuple:
    return (
        root.pk,
        root.group_id,
        root.author_id,
        root.motivation,
        root.visibility,
        root.start,
        root.end,
        root.anchoring,
        root.hidden_at,
        root.deleted_at,
        root.plus_count,
        root.exact,
        root.reply_count,
        root.answered,
        root.flag_count,
        root.tag_names,
        root.parent_id,
        root.root_id,
        root.has_visible_replies,
        root.prompt_of_id,
        root.reading_id,
        root.activity,
        root.activity_by,
        root.original_author,
        root.original_created_at,
    )


def _rows(query) -> list[tuple]:
    return list(_query_of_rows(query))


def _query_of_rows(query):
    return query.annotate(
        orphan_quote=Case(
            When(anchoring=Annotation.Anchoring.ORPHAN, then=F("exact")),
            # a discussion of the whole reading is listed by its words
            When(parent__isnull=True, start__isnull=True, then=F("body_html")),
            default=Value(""),
            output_field=TextField(),
        )
    ).values_list(*ROW_FIELDS)


def _assemble(group_id: int, reading_id: int, rows: list[tuple], roots: dict[int, Root]) -> None:
    """Add rows to `roots`: new roots, and replies counted on theirs."""
    replies = []
    for row in rows:
        (pk, parent_id, root_id, author_id, motivation, visibility, start, end, anchoring) = row[:9]
        hidden_at, deleted_at, plus_count, is_answer, quote, prompt_of_id, created_at = row[9:16]
        original_author, original_created_at = row[16:]
        if parent_id is None:
            if start is None and quote:  # a page note is listed by its words, as plain text
                quote = " ".join(unescape(strip_tags(quote)).split())
            roots[pk] = Root(
                pk,
                group_id,
                author_id,
                motivation,
                visibility,
                start,
                end,
                anchoring,
                hidden_at,
                deleted_at,
                plus_count,
                exact=quote,
                prompt_of_id=prompt_of_id,
                reading_id=reading_id,
                activity=created_at,
                activity_by=author_id,
                original_author=original_author,
                original_created_at=original_created_at,
            )
        else:
            replies.append((root_id, is_answer and deleted_at is None, created_at, author_id))
    for root_id, answers, created_at, author_id in replies:
        root = roots.get(root_id)
        if root is not None:
            root.reply_count += 1
            root.answered = root.answered or answers
            _active(root, created_at, author_id)


def _active(root: Root, at, by: int | None) -> None:
    if at > root.activity:
        root.activity, root.activity_by = at, by


def _is_new(root: Root, since, viewer_id: int) -> bool:
    """Written to (by someone else) since the viewer's last visit."""
    return since is not None and root.activity > since and root.activity_by != viewer_id


def _tag_names(roots: dict[int, Root], query) -> None:
    for annotation_id, name in query.order_by("name").values_list("annotation_id", "name"):
        root = roots.get(annotation_id)
        if root is not None:
            root.tag_names.append(name)


def _class_layer(group_reading, membership) -> dict[int, Root]:
    """What every viewer of the member's class sees of this group reading, counted: cached
    under the layer's version, so it is built once per change."""
    klass, locks = layer_class(membership), peek_locks(membership)
    key = (
        f"layer:{LAYER_CACHE_FORMAT}:{group_reading.pk}:{group_reading.layer_version}:{klass}"
        f":{lock_key(locks)}"
    )
    cached = _CLASS_LAYERS.cached(key)
    if cached is not None:  # plain tuples: far quicker to unpickle than objects
        return {fields[0]: Root(*fields) for fields in cached}
    group_id, reading_id = group_reading.group_id, group_reading.reading_id
    roots: dict[int, Root] = {}
    rows = without_bare_placeholders(
        _rows(Annotation.objects.filter(class_q(group_id, klass, locks), reading_id=reading_id)),
        id_at=ROW_FIELDS.index("id"),
        parent_at=ROW_FIELDS.index("parent_id"),
        deleted_at=ROW_FIELDS.index("deleted_at"),
    )
    _assemble(group_id, reading_id, rows, roots)
    _tag_names(roots, Tag.objects.filter(annotation_id__in=list(roots)))
    if klass == "facilitator":
        # Open flags on a thread's root or any of its replies, counted per thread.
        for annotation_id, root_id in Flag.objects.filter(
            resolved_at__isnull=True,
            annotation__group_id=group_id,
            annotation__reading_id=reading_id,
        ).values_list("annotation_id", "annotation__root_id"):
            root = roots.get(root_id or annotation_id)
            if root is not None:
                root.flag_count += 1
    _CLASS_LAYERS.keep(key, [_cached_fields(root) for root in roots.values()])
    return roots


def layer_roots(membership, group_reading) -> list[Root]:
    """Every root annotation this member may see in the group reading, in text order, with
    its counts: the class's cached part and the member's own private, hidden and withheld
    ones."""
    roots = _class_layer(group_reading, membership)
    own = _own_rows(membership, group_reading)
    if own:
        extra: dict[int, Root] = {}
        _assemble(membership.group_id, group_reading.reading_id, own, extra)
        extra = {pk: root for pk, root in extra.items() if pk not in roots}
        roots.update(extra)
        for root_id, answers, created_at in _own_replies(own):
            root = roots.get(root_id)
            if root is not None and root_id not in extra:
                root.reply_count += 1
                root.answered = root.answered or answers
                _active(root, created_at, membership.user_id)
        if extra:
            _own_tag_names(extra, membership, group_reading)
    return sorted(roots.values(), key=_text_order)


def _own_rows(membership, group_reading) -> list[tuple]:
    if peek_locks(membership):  # the ranges withheld from them vary: the ORM builds the query
        return _rows(
            Annotation.objects.filter(own_q(membership), reading_id=group_reading.reading_id)
        )
    return _OWN_ROWS[layer_class(membership)].rows(
        group_id=membership.group_id,
        user_id=membership.user_id,
        reading_id=group_reading.reading_id,
    )


def _own_rows_query(klass: str) -> CompiledQuery:
    return CompiledQuery(
        lambda group_id, user_id, reading_id: _query_of_rows(
            Annotation.objects.filter(own_class_q(group_id, user_id, klass), reading_id=reading_id)
        ),
        group_id=int,
        user_id=int,
        reading_id=int,
    )


# Every reading page reads its viewer's own rows: compiled to SQL once per class
# (commonplace/compiled.py), for the viewers no peek lock holds back.
_OWN_ROWS = {klass: _own_rows_query(klass) for klass in ("member", "facilitator")}


def _own_tag_names(extra: dict[int, Root], membership, group_reading) -> None:
    """The tags of the viewer's own roots in `extra` (from _own_rows)."""
    if peek_locks(membership):
        _tag_names(extra, Tag.objects.filter(annotation_id__in=list(extra)))
        return
    rows = _OWN_TAGS[layer_class(membership)].rows(
        group_id=membership.group_id,
        user_id=membership.user_id,
        reading_id=group_reading.reading_id,
    )
    for annotation_id, name in rows:
        root = extra.get(annotation_id)
        if root is not None:
            root.tag_names.append(name)


def _own_tags_query(klass: str) -> CompiledQuery:
    return CompiledQuery(
        lambda group_id, user_id, reading_id: (
            Tag.objects.filter(
                annotation__in=Annotation.objects.filter(
                    own_class_q(group_id, user_id, klass),
                    reading_id=reading_id,
                    parent__isnull=True,
                ).values("pk")
            )
            .order_by("name")
            .values_list("annotation_id", "name")
        ),
        group_id=int,
        user_id=int,
        reading_id=int,
    )


_OWN_TAGS = {klass: _own_tags_query(klass) for klass in ("member", "facilitator")}


def _own_replies(own: list[tuple]):
    """(root id, is a live answer, written at) of each of the viewer's own replies."""
    parent_at, root_at = ROW_FIELDS.index("parent_id"), ROW_FIELDS.index("root_id")
    answer_at, deleted_at = ROW_FIELDS.index("is_answer"), ROW_FIELDS.index("deleted_at")
    created_at = ROW_FIELDS.index("created_at")
    for row in own:
        if row[parent_at] is not None:
            yield row[root_at], row[answer_at] and row[deleted_at] is None, row[created_at]


def _named(membership, roots: list[Root], members: list) -> dict[int, object]:
    """Authors' Users by id, now: the members, plus any former member still named."""
    users = {m.user_id: m.user for m in members}
    missing = {r.author_id for r in roots if r.author_id and r.author_id not in users}
    if missing:
        users.update((u.pk, u) for u in User.objects.filter(pk__in=missing))
    return users


def _matches(root: Root, filters: Filters, user_id: int, member_id: int | None) -> bool:
    if filters.show == "mine" and (root.author_id != user_id or root.is_deleted):
        return False
    if filters.member and (root.author_id != member_id or root.is_deleted):
        return False
    if filters.tag and not _tagged(filters.tag, root.tag_names):
        return False
    if filters.unanswered and (not root.is_question or root.answered):
        return False
    return filters.highlights or is_thread(root)


def _tagged(tag: str, names) -> bool:
    """Whether one of `names` is `tag`, whatever the case of either (tags keep the case they
    were written in; the filter folds it, as static/js/reading/layer.js does)."""
    wanted = tag_key(tag)
    return any(tag_key(name) == wanted for name in names)


def tag_choices(names) -> list[str]:
    """The tags to filter by, one per tag whatever its case ("C++" and "c++" are one), in
    the spelling that sorts first, in order of their folded names."""
    spellings: dict[str, str] = {}
    for name in names:
        key = tag_key(name)
        spellings[key] = min(spellings.get(key, name), name)
    return [spellings[key] for key in sorted(spellings)]


@dataclass
class Summary:
    """What the reading page shows of a layer without JavaScript: threads per block (the
    margin's counts), the totals, the tags to filter by, the orphans. `bare` keeps the anchored
    highlights nobody has replied to (a reply makes one a thread) with their blocks."""

    counts: list[int]
    threads: int = 0
    flagged: int = 0
    tags: set = field(default_factory=set)
    orphans: list = field(default_factory=list)
    bare: dict = field(default_factory=dict)
    page_notes: list = field(default_factory=list)  # discussions of the whole reading

    def add(self, root: Root, blocks: tuple[int, ...]) -> None:
        self.tags.update(root.tag_names)
        if root.flag_count:
            self.flagged += 1
        if root.start is None:
            self.page_notes.append(root)
            self.threads += 1
        elif root.anchoring == Annotation.Anchoring.ORPHAN:
            self.orphans.append(root)
        elif is_thread(root):
            self.threads += 1
            for index in blocks:
                self.counts[index] += 1
        else:
            self.bare[root.pk] = blocks

    def replied(self, root_id: int) -> None:
        """One more reply, from outside the summary, to a root already in it."""
        blocks = self.bare.pop(root_id, None)
        if blocks is not None:
            self.threads += 1
            for index in blocks:
                self.counts[index] += 1
        for listed in (*self.orphans, *self.page_notes):
            if listed.pk == root_id:
                listed.reply_count += 1


def _blocks_of(root: Root, spans, starts: list[int]) -> tuple[int, ...]:
    """The indexes of the blocks a root's passage touches (none for a page note)."""
    if root.start is None:
        return ()
    index, found = max(0, bisect_right(starts, root.start) - 1), []
    while index < len(spans) and spans[index].start < root.end:
        if spans[index].end > root.start:
            found.append(index)
        index += 1
    return tuple(found)


def _summarise(roots, spans) -> Summary:
    summary, starts = Summary(counts=[0] * len(spans)), [span.start for span in spans]
    for root in roots:
        summary.add(root, _blocks_of(root, spans, starts))
    return summary


def _class_summary(group_reading, membership, article_key: str, spans) -> Summary:
    """The class's summary, cached like the class's layer (under the layer's version, and the
    article's revision that placed its blocks)."""
    key = (
        f"layer-summary:{LAYER_CACHE_FORMAT}:{group_reading.pk}:{group_reading.layer_version}"
        f":{layer_class(membership)}:{lock_key(peek_locks(membership))}:{article_key}"
    )
    cached = _SUMMARIES.cached(key)
    if cached is not None:
        counts, threads, flagged, tags, orphans, bare, page_notes = cached
        return Summary(
            list(counts),
            threads,
            flagged,
            set(tags),
            [Root(*f) for f in orphans],
            dict(bare),
            [Root(*f) for f in page_notes],
        )
    summary = _summarise(
        sorted(_class_layer(group_reading, membership).values(), key=_text_order), spans
    )
    _SUMMARIES.keep(
        key,
        (
            list(summary.counts),
            summary.threads,
            summary.flagged,
            sorted(summary.tags),
            [_cached_fields(root) for root in summary.orphans],
            dict(summary.bare),
            [_cached_fields(root) for root in summary.page_notes],
        ),
    )
    return summary


def _text_order(root: Root) -> tuple[int, int]:
    return (-1 if root.start is None else root.start, root.pk)


# The group's members with their accounts, by name: read by every reading page and layer.json,
# compiled to SQL once (commonplace/compiled.py).
_MEMBERS = CompiledQuery(
    lambda group_id: (
        Membership.objects.filter(group_id=group_id)
        .order_by("user__display_name", "user__username", "pk")
        .values_list(*columns(Membership), *columns(User, "user__"))
    ),
    group_id=int,
)


def group_members(group_id: int) -> list[Membership]:
    """The group's memberships, each with its `user`, by display name."""
    members = []
    for row in _MEMBERS.rows(group_id=group_id):
        membership, end = instance(Membership, row)
        membership.user, _ = instance(User, row, end)
        members.append(membership)
    return members


def reading_layer(
    *, group, membership, group_reading, article, article_key: str, filters: Filters
) -> dict:
    """What the group reading page shows of the layer (the highlights themselves come from
    layer_data, fetched by the page's script). Unfiltered, as most visits are: the class's
    cached summary with the viewer's own private and hidden annotations added (one query);
    filtered, the summary of the roots that match."""
    members = group_members(group.pk)
    spans = article.spans
    if filters.active:
        every = layer_roots(membership, group_reading)
        member_id = next((m.user_id for m in members if m.user.username == filters.member), None)
        summary = _summarise(
            (r for r in every if _matches(r, filters, membership.user_id, member_id)), spans
        )
        summary.tags = {name for root in every for name in root.tag_names}
    else:
        summary = _class_summary(group_reading, membership, article_key, spans)
        _add_own(summary, membership, group_reading, spans)
    summary.orphans.sort(key=_text_order)
    # The reading's discussions, the liveliest first.
    summary.page_notes.sort(key=lambda root: (root.activity, root.pk), reverse=True)
    users = _named(membership, [*summary.orphans, *summary.page_notes], members)
    judge = Judge(membership)
    for root in (*summary.orphans, *summary.page_notes):
        root.author_label = judge.author_label(root, users.get(root.author_id))
    tags = tag_choices(summary.tags)
    return {
        "members": members,
        "summary": summary,
        "orphans": summary.orphans,
        "page_notes": summary.page_notes,
        "tags": tags,
        # the filter's tag as the list spells it ("c++" in the address is "C++" chosen)
        "tag_chosen": next((name for name in tags if _tagged(filters.tag, [name])), ""),
        "thread_total": summary.threads,
        "flag_total": summary.flagged,
        "members_data": [
            {"username": m.user.username, "name": m.user.public_name} for m in members
        ],
        "filters": filters,
    }


def _add_own(summary: Summary, membership, group_reading, spans) -> None:
    """The viewer's own private, hidden and withheld annotations, which no cache entry holds."""
    own = _own_rows(membership, group_reading)
    if not own:
        return
    extra: dict[int, Root] = {}
    _assemble(membership.group_id, group_reading.reading_id, own, extra)
    for root_id, _, _ in _own_replies(own):
        if root_id not in extra:
            summary.replied(root_id)
    if extra:
        _own_tag_names(extra, membership, group_reading)
        starts = [span.start for span in spans]
        for root in sorted(extra.values(), key=_text_order):
            summary.add(root, _blocks_of(root, spans, starts))


LAYER_COLUMNS = (
    "id",
    "start",
    "end",
    "motivation",
    "author",
    "private",
    "replies",
    "answered",
    "mine",
    "facilitator",
    "hidden",
    "deleted",
    "tags",
    "plussed",
    "orphan",
    "prompt",
    "new",
    "original",
)


def layer_data(*, membership, group_reading, filters: Filters) -> dict:
    """The viewer's layer, through the page's filters, as compact JSON for its script: one
    row per root annotation under `columns`; authors and tags as indexes into `people` and
    `tags`."""
    members = group_members(membership.group_id)
    facilitator_ids = {m.user_id for m in members if m.is_facilitator}
    member_id = next((m.user_id for m in members if m.user.username == filters.member), None)
    roots = [
        root
        for root in layer_roots(membership, group_reading)
        if _matches(root, filters, membership.user_id, member_id)
    ]
    users = _named(membership, roots, members)
    judge = Judge(membership)
    plussed = set(
        PlusOne.objects.filter(
            user_id=membership.user_id,
            annotation__group_id=group_reading.group_id,
            annotation__reading_id=group_reading.reading_id,
        ).values_list("annotation_id", flat=True)
    )
    people: dict[tuple[str, str], int] = {}
    tags: dict[str, int] = {}
    rows = []
    since = membership.previous_visit_at
    for root in roots:
        author = users.get(root.author_id)
        named = judge(Action.SEE_AUTHOR, root)
        person = (
            judge.author_label(root, author),
            judge.author_username(root, author),
        )
        rows.append(
            [
                root.pk,
                root.start,
                root.end,
                root.motivation,
                people.setdefault(person, len(people)),
                root.is_private,
                root.reply_count,
                root.answered if root.is_question else None,
                named and root.author_id == membership.user_id,
                named and root.author_id in facilitator_ids,
                root.is_hidden,
                root.is_deleted,
                [tags.setdefault(name, len(tags)) for name in root.tag_names],
                root.pk in plussed,
                root.anchoring == Annotation.Anchoring.ORPHAN,
                root.prompt_of_id,
                _is_new(root, since, membership.user_id),
                _originally(root),
            ]
        )
    return {
        "version": group_reading.layer_version,
        "columns": LAYER_COLUMNS,
        "rows": rows,
        "people": [{"name": name, "username": username} for name, username in people],
        "tags": list(tags),
    }


def _originally(root: Root) -> str | None:
    """An imported note's "originally by <name>, <date>" (the date in the viewer's zone), as
    the pages say it (_original.html); None for one written here."""
    if root.is_deleted or not (root.original_author or root.original_created_at):
        return None
    said = f"originally by {root.original_author or 'someone elsewhere'}"
    if root.original_created_at:
        said += f", {date_format(localtime(root.original_created_at), 'j M Y')}"
    return said


def thread_for(user, group, membership, root: Annotation) -> list[Annotation]:
    """The root and every visible reply, in tree order, each with .depth (capped at 3)."""
    visible = visible_annotations(membership)
    rows = list(
        visible.filter(Q(pk=root.pk) | Q(root_id=root.pk))
        # an open flag on each (the edit and delete lines ask it: access.not_held)
        .annotate(held=HELD)
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
