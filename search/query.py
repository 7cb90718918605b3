"""A search in one group: what matches, in what order, a page at a time, as the viewer may
see it.

Every search starts from `visible_annotations(membership)`, the permission table's `see`
line (annotations/access.py): private notes only for their author, hidden ones only for
facilitators and their authors, nothing behind "post before you peek" that the viewer has not
unlocked. On top of it: nothing deleted (a "[deleted]" placeholder has no words to find),
and a reply only while the viewer may see its thread's root (whose passage it is shown
with). The filters narrow that set; the words then match:

- on PostgreSQL, against the stored tsvector of search.models.SearchEntry: the group's
  matches ranked by ts_rank (body and tags weigh more than the quoted passage; ties newest
  first; past RANKED matches, the newest RANKED), then asked of that set, by id, best
  first (the words are marked by ts_headline);
- on SQLite, as case-insensitive substrings of the body, the quoted passage or a tag, newest
  first, marked in Python (search/marking.py).

At most MAX_RESULTS are found (their ids, in order, in one query), PAGE_SIZE to a page: the
order is stable, so pages never overlap or skip. Results are the annotations and replies that
match, each shown with its thread's passage and opening that thread on the reading page.
Queries: the ids, the page's annotations, their tags, and on PostgreSQL the marks: 4 however
many match (and the cached article of each reading on the page, for sections and paragraphs).
"""

import bisect
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.safestring import SafeString

from annotations.access import author_label, visible_annotations
from annotations.models import Annotation, Tag
from groups.models import Membership
from readings import text as canonical
from readings.article import reading_article
from readings.models import Block, Section
from search import marking
from search.models import SearchEntry
from search.syntax import Query, tsquery_sql

PAGE_SIZE = 20
# Found at most: "more than 500" then. Past that a search asks for more words or filters,
# and a common word costs a bounded number of permission checks.
MAX_RESULTS = 500
MAX_PAGE = MAX_RESULTS // PAGE_SIZE
# Ranked at most (PostgreSQL): past this many matches, the newest this many.
RANKED = 2000

# ts_headline's options: a note's words in up to two fragments around what was found (or its
# first words when only its passage or tags matched); the passage the same way, longer.
BODY_HEADLINE = (
    f"StartSel={marking.START}, StopSel={marking.STOP}, MaxFragments=2, MaxWords=30, "
    'MinWords=20, FragmentDelimiter=" … "'
)
PASSAGE_HEADLINE = (
    f"StartSel={marking.START}, StopSel={marking.STOP}, MaxFragments=1, MaxWords=60, MinWords=40"
)
KINDS = dict(Annotation.Motivation.choices)
PASSAGE_LENGTH = 320  # characters of a long passage shown (SQLite)


@dataclass(frozen=True)
class Criteria:
    """What to look for. `query` may be empty when a filter is given (the newest first)."""

    query: Query = field(default_factory=lambda: Query(()))
    reading_id: int | None = None
    section: tuple[int, int] | None = None  # [start, end) in the reading's canonical text
    author_id: int | None = None
    tag: str = ""
    questions: bool = False
    unanswered: bool = False
    since: datetime | None = None  # aware; from this moment
    until: datetime | None = None  # aware; before this moment

    @property
    def active(self) -> bool:
        """Words, or a filter: something to look for."""
        return bool(self.query) or self != Criteria(query=self.query)


@dataclass
class Found:
    item: Annotation  # the annotation or reply that matched
    root: Annotation  # its thread's root (the item itself for a root)
    kind: str  # "Comment", "Question", "Answer", ...
    author: str
    passage: SafeString  # the root's quoted passage, the words found marked
    words: SafeString  # the item's own words, the words found marked
    tags: list[tuple[str, bool]]  # (name, matched)
    place: str  # "The heading · ¶ 12"
    url: str  # the reading page, with the thread open at the item


@dataclass
class Page:
    results: list[Found]
    total: int  # at most MAX_RESULTS
    number: int
    more: bool = False  # more than MAX_RESULTS matched

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def first_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.results) - 1


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# --- which annotations may be found -------------------------------------------------------------


def candidates(membership: Membership, criteria: Criteria) -> QuerySet:
    """What this viewer may find in their group, narrowed by the filters (not the words)."""
    visible = visible_annotations(membership)
    found = visible.filter(
        Q(parent__isnull=True)
        | Exists(visible_annotations(membership).filter(pk=OuterRef("root_id"))),
        deleted_at__isnull=True,
    )
    if criteria.reading_id is not None:
        found = found.filter(reading_id=criteria.reading_id)
    if criteria.section is not None:
        start, end = criteria.section
        orphan = Annotation.Anchoring.ORPHAN
        found = found.filter(
            Q(parent__isnull=True, start__gte=start, start__lt=end) & ~Q(anchoring=orphan)
            | Q(parent__isnull=False, root__start__gte=start, root__start__lt=end)
            & ~Q(root__anchoring=orphan)
        )
    if criteria.author_id is not None:
        found = found.filter(author_id=criteria.author_id)
    if criteria.tag:
        tagged = Tag.objects.filter(name__iexact=criteria.tag)
        found = found.filter(
            Exists(tagged.filter(annotation_id=OuterRef("pk")))
            | Exists(tagged.filter(annotation_id=OuterRef("root_id")))
        )
    if criteria.questions or criteria.unanswered:
        question = Annotation.Motivation.QUESTIONING
        found = found.filter(
            Q(parent__isnull=True, motivation=question) | Q(root__motivation=question)
        )
    if criteria.unanswered:
        # As the reading page counts it: an answer the viewer can see, not deleted.
        answers = visible_annotations(membership).filter(is_answer=True, deleted_at__isnull=True)
        found = found.filter(
            Q(parent__isnull=True) & ~Exists(answers.filter(root_id=OuterRef("pk")))
            | Q(parent__isnull=False) & ~Exists(answers.filter(root_id=OuterRef("root_id")))
        )
    if criteria.since is not None:
        found = found.filter(created_at__gte=criteria.since)
    if criteria.until is not None:
        found = found.filter(created_at__lt=criteria.until)
    return found


def tag_seen(membership: Membership, tag: str) -> bool:
    """Whether any note this viewer may see carries the tag (to say so when none does)."""
    tagged = Tag.objects.filter(name__iexact=tag, annotation_id=OuterRef("pk"))
    return visible_annotations(membership).filter(Exists(tagged), deleted_at__isnull=True).exists()


def section_range(section: Section, sections: list[Section]) -> tuple[int, int]:
    """Where a section lies in its reading's canonical text: from its heading (or first
    block) to the next section's. `sections`: every section of the reading. One query."""
    blocks = Block.objects.filter(reading_id=section.reading_id).only(
        "id", "section_id", "position", "kind", "text"
    )
    starts: dict[int, int] = {}
    for segment in canonical.segments(sections, blocks):
        section_id = segment.obj.pk if segment.kind == "heading" else segment.obj.section_id
        starts.setdefault(section_id, segment.start)
    ordered = sorted(sections, key=lambda s: s.position)
    start = starts.get(section.pk)
    if start is None:
        return (0, 0)  # an empty section: nothing is in it
    later = [starts[s.pk] for s in ordered if s.position > section.position and s.pk in starts]
    return (start, later[0] if later else 2**31 - 1)


# --- the words ----------------------------------------------------------------------------


def _words_q(query: Query) -> Q:
    """SQLite: the query as substrings of the body, the passage or a tag."""

    def term_q(term) -> Q:
        tagged = Tag.objects.filter(annotation_id=OuterRef("pk"), name__icontains=term.text)
        found = Q(body__icontains=term.text) | Q(exact__icontains=term.text) | Q(Exists(tagged))
        return ~found if term.negated else found

    result = Q(pk__in=[])
    for group in query.alternatives:
        both = Q()
        for term in group:
            both &= term_q(term)
        result |= both
    return result


def _ranked_ids(membership: Membership, criteria: Criteria) -> list[int]:
    """The ids of what matches, best first: at most MAX_RESULTS + 1 (the one more says that
    there are more)."""
    found = candidates(membership, criteria).order_by()
    if not (criteria.query and _postgres()):
        if criteria.query:
            found = found.filter(_words_q(criteria.query))
        return list(found.order_by("-pk").values_list("pk", flat=True)[: MAX_RESULTS + 1])
    # The group's matches ranked in the index's table first (the fence, OFFSET 0, keeps the
    # sort inside), then the permission table asked of each in that order until enough are
    # found: a common word costs one sort of its matches and MAX_RESULTS lookups, not a
    # lookup per match. A word in more than RANKED of the group's notes ranks the newest
    # RANKED of them: walking the group's entries newest first (search_entry_group_newest)
    # stops after RANKED matches, where ranking every match of a word in nearly every note
    # of a group of 100,000 cost 6x the reading page. For a rarer word the planner reads its
    # matches from the GIN index instead; the tsquery is written out in each place (not a
    # joined subquery) so that it can tell which.
    visible_sql, visible_params = found.values("pk").query.sql_with_params()
    tsquery, tsquery_params = tsquery_sql(criteria.query)
    # ::bigint: the GIN index's btree_gin class compares bigint with bigint only (with an
    # integer parameter the group is not in the index condition and every group's matches are
    # read: 280 ms instead of 8 at 1M annotations).
    reading = "AND n.reading_id = %s::bigint" if criteria.reading_id is not None else ""
    table = SearchEntry._meta.db_table
    sql = (
        "SELECT r.id FROM ("
        f" SELECT e.annotation_id AS id, ts_rank(e.vector, {tsquery}) AS rank FROM {table} e"
        " WHERE e.annotation_id IN ("
        f"  SELECT n.annotation_id FROM {table} n"
        f"  WHERE n.group_id = %s::bigint {reading} AND n.vector @@ {tsquery}"
        "   ORDER BY n.annotation_id DESC LIMIT %s)"
        " ORDER BY rank DESC, id DESC OFFSET 0"
        f") r WHERE r.id IN ({visible_sql}) ORDER BY r.rank DESC, r.id DESC LIMIT %s"
    )
    params = [
        *tsquery_params,
        membership.group_id,
        *([criteria.reading_id] if reading else []),
        *tsquery_params,
        RANKED,
        *visible_params,
        MAX_RESULTS + 1,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _headlines(query: Query, bodies: list[str], passages: list[str]) -> list[tuple[str, str]]:
    """ts_headline of each body and passage, in one query."""
    sql, params = tsquery_sql(query)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ts_headline('english'::regconfig, t.b, q.q, %s),"
            " ts_headline('english'::regconfig, t.p, q.q, %s)"
            " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS t(b, p, n),"
            f" (SELECT {sql} AS q) AS q ORDER BY t.n",
            [BODY_HEADLINE, PASSAGE_HEADLINE, bodies, passages, *params],
        )
        return cursor.fetchall()


# --- a page of results ------------------------------------------------------------------------


def search(membership: Membership, criteria: Criteria, *, page: int = 1) -> Page:
    """The page-th page of what the viewer finds in their group."""
    page = max(1, min(page, MAX_PAGE))
    ranked = _ranked_ids(membership, criteria)
    more, ranked = len(ranked) > MAX_RESULTS, ranked[:MAX_RESULTS]
    total = len(ranked)
    ids = ranked[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not ids:
        return Page([], total, page, more)
    by_id = Annotation.objects.select_related("author", "reading", "root").in_bulk(ids)
    items = [by_id[pk] for pk in ids if pk in by_id]
    roots = [item.root if item.root_id else item for item in items]
    tags: dict[int, list[str]] = {}
    for annotation_id, name in (
        Tag.objects.filter(annotation_id__in={a.pk for a in items} | {r.pk for r in roots})
        .order_by("name")
        .values_list("annotation_id", "name")
    ):
        tags.setdefault(annotation_id, []).append(name)
    bodies = [marking.plain(item.body_html) for item in items]
    passages = [marking.unmarkable(root.exact) for root in roots]
    words = criteria.query.positive
    if criteria.query and _postgres():
        marked = [
            (marking.from_headline(body, whole=text), marking.from_headline(passage, whole=quote))
            for (body, passage), text, quote in zip(
                _headlines(criteria.query, bodies, passages), bodies, passages, strict=True
            )
        ]
    else:
        marked = [
            (
                marking.mark_words(body, words, around=marking.EXCERPT),
                marking.mark_words(passage, words, around=PASSAGE_LENGTH),
            )
            for body, passage in zip(bodies, passages, strict=True)
        ]
    places = _Places()
    group_slug = membership.group.slug
    results = []
    for item, root, (body, passage) in zip(items, roots, marked, strict=True):
        names = sorted(set(tags.get(item.pk, [])) | set(tags.get(root.pk, [])))
        results.append(
            Found(
                item=item,
                root=root,
                kind="Answer" if item.is_answer else KINDS.get(item.motivation, ""),
                author=author_label(membership, item),
                passage=passage,
                words=body,
                tags=[(name, any(w.lower() in name.lower() for w in words)) for name in names],
                place=places(item.reading, root),
                url=reverse("annotations:reading", args=[group_slug, item.reading.slug])
                + f"#a-{item.pk}",
            )
        )
    return Page(results, total, page, more)


class _Places:
    """Where a thread's passage is: its section's heading and its paragraph's number, from
    the reading's article (cached once per revision, shared with the reading page)."""

    def __init__(self):
        self.articles: dict[int, tuple] = {}

    def __call__(self, reading, root) -> str:
        if root.start is None:
            return "About the whole reading"
        if root.anchoring == Annotation.Anchoring.ORPHAN:
            return "Passage no longer in the text"
        if reading.pk not in self.articles:
            article = reading_article(reading, slots=True)
            spans = sorted(article.spans, key=lambda span: span.start)
            self.articles[reading.pk] = (article, spans, [span.start for span in spans])
        article, spans, starts = self.articles[reading.pk]
        at = bisect.bisect_right(starts, root.start) - 1
        if at < 0:
            return article.headings.get(spans[0].section, "") if spans else ""
        span = spans[at]
        heading = article.headings.get(span.section) or "Introduction"
        return f"{heading} · ¶ {span.number}" if span.number else heading
