"""The facilitator's view of a group reading: who took part, and where the discussion gathered,
in one assignment's range or over all time.

Counted from what the facilitator may see (annotations.access.visible_annotations), and of that
the notes shared with the group only: a private note never counts, nor shows, the
facilitator's own included. Deleted placeholders count for nothing; a hidden note still
counts (it was written; hiding is moderation, not erasure).

Per member: annotations (their own passages: highlights, comments, questions), replies,
questions asked, questions answered (their replies marked as the answer), prompts answered
(the facilitators' prompts they replied to), sections of the range marked read, and when they
were last active (seen in the group, wrote or marked a section read, whichever was last).

Per paragraph ("heat"): the threads that start there and their replies. A thread is counted at
the paragraph where its passage starts (in an assignment, at the range's first paragraph if it
starts before the range), so that the ranked list adds up; a bare highlight is no thread until
someone replies.

Each is one query whatever the number of annotations.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from annotations.access import visible_annotations
from annotations.models import Annotation
from assignments.models import Assignment, SectionRead
from groups.models import GroupReading, Membership
from progress.outline import IS_NOTE, in_range
from readings.article import reading_article

# --- who took part --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = True  # numbers sort most first on the first click; names A to Z


COLUMNS = [
    Column("name", "Member", numeric=False),
    Column("annotations", "Annotations"),
    Column("replies", "Replies"),
    Column("questions", "Questions asked"),
    Column("answers", "Questions answered"),
    Column("prompts", "Prompts answered"),
    Column("sections", "Sections read"),
    Column("last_active", "Last active"),
]
COLUMN_KEYS = {column.key for column in COLUMNS}
DEFAULT_SORT = "name"


@dataclass
class Row:
    membership: Membership
    name: str
    username: str
    is_facilitator: bool
    annotations: int = 0
    replies: int = 0
    questions: int = 0
    answers: int = 0
    prompts: int = 0
    sections: int = 0
    last_active: datetime | None = None


def counted(membership: Membership, group_reading: GroupReading, assignment=None) -> QuerySet:
    """The notes that count: seen by the facilitator, shared, not deleted, in the selection."""
    selection = (
        in_range(assignment)
        if assignment is not None
        else Q(group_id=group_reading.group_id, reading_id=group_reading.reading_id)
    )
    return visible_annotations(membership).filter(
        selection, visibility=Annotation.Visibility.GROUP, deleted_at__isnull=True
    )


def participation(
    membership: Membership,
    group_reading: GroupReading,
    assignment: Assignment | None,
    sections: list[str],
) -> list[Row]:
    """A row per member of the group (in name order). `sections`: the anchors of the
    selection's sections, for counting what each marked read. Three queries."""
    people = Membership.objects.filter(group_id=membership.group_id).select_related("user")
    rows = {
        person.user_id: Row(
            membership=person,
            name=person.user.public_name,
            username=person.user.username,
            is_facilitator=person.is_facilitator,
            last_active=person.last_seen_at,
        )
        for person in people
    }
    answered_prompt = (
        Q(root__prompt_of_id=assignment.pk)
        if assignment is not None
        else Q(root__prompt_of__isnull=False)
    )
    stats = (
        counted(membership, group_reading, assignment)
        .filter(author_id__in=rows)
        .order_by()
        .values("author_id")
        .annotate(
            n_annotations=Count("pk", filter=Q(parent__isnull=True)),
            n_replies=Count("pk", filter=Q(parent__isnull=False)),
            n_questions=Count(
                "pk", filter=Q(parent__isnull=True, motivation=Annotation.Motivation.QUESTIONING)
            ),
            n_answers=Count("pk", filter=Q(parent__isnull=False, is_answer=True)),
            n_prompts=Count(
                "root_id", distinct=True, filter=Q(parent__isnull=False) & answered_prompt
            ),
            latest=Max("created_at"),
        )
    )
    for found in stats:
        row = rows[found["author_id"]]
        row.annotations, row.replies = found["n_annotations"], found["n_replies"]
        row.questions, row.answers = found["n_questions"], found["n_answers"]
        row.prompts = found["n_prompts"]
        row.last_active = _latest(row.last_active, found["latest"])
    by_membership = {row.membership.pk: row for row in rows.values()}
    reads = (
        SectionRead.objects.filter(
            membership_id__in=by_membership,
            reading_id=group_reading.reading_id,
            section__in=sections,
        )
        .order_by()
        .values("membership_id")
        .annotate(n=Count("pk"), latest=Max("read_at"))
    )
    for found in reads:
        row = by_membership[found["membership_id"]]
        row.sections = found["n"]
        row.last_active = _latest(row.last_active, found["latest"])
    return sort_rows(list(rows.values()), DEFAULT_SORT)[0]


def _latest(*moments):
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


NEVER = datetime.min.replace(tzinfo=UTC)


def _sort_value(row: Row, key: str):
    value = getattr(row, key)
    return (value or NEVER) if key == "last_active" else value


def sort_rows(rows: list[Row], sort: str) -> tuple[list[Row], str, bool]:
    """Rows sorted by ?sort=column (A to Z, fewest first) or ?sort=-column (the other way);
    an unknown column sorts by name. Ties go by name. Returns (rows, column, descending)."""
    key = sort.removeprefix("-")
    if key not in COLUMN_KEYS:
        key, sort = DEFAULT_SORT, DEFAULT_SORT
    descending = sort.startswith("-")
    by_name = sorted(rows, key=lambda row: (row.name.casefold(), row.username))
    if key == "name":
        ordered = by_name[::-1] if descending else by_name
    else:  # sorted() is stable, reversed or not: ties stay in name order
        ordered = sorted(by_name, key=lambda row: _sort_value(row, key), reverse=descending)
    return ordered, key, descending


def header_links(key: str, descending: bool) -> list[dict]:
    """Each column's header: the ?sort= its link asks for, and its aria-sort if it is the
    column sorted by. A second click on the sorted column turns the order round."""
    headers = []
    for column in COLUMNS:
        if column.key == key:
            wanted = column.key if descending else f"-{column.key}"
            aria = "descending" if descending else "ascending"
        else:
            wanted = f"-{column.key}" if column.numeric else column.key
            aria = ""
        headers.append({"column": column, "sort": wanted, "aria_sort": aria})
    return headers


# --- CSV ------------------------------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such
# a cell gets a leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_table(rows: list[Row], sections_total: int) -> list[list]:
    header = [
        "Member",
        "Username",
        "Role",
        "Annotations",
        "Replies",
        "Questions asked",
        "Questions answered",
        "Prompts answered",
        f"Sections read (of {sections_total})",
        "Last active",
    ]
    table = [header]
    for row in rows:
        last = (
            timezone.localtime(row.last_active).isoformat(timespec="minutes")
            if row.last_active
            else ""
        )
        table.append(
            [
                row.name,
                row.username,
                "facilitator" if row.is_facilitator else "member",
                row.annotations,
                row.replies,
                row.questions,
                row.answers,
                row.prompts,
                row.sections,
                last,
            ]
        )
    return [[csv_cell(value) for value in line] for line in table]


# --- where the discussion gathered ----------------------------------------------------------------


def heat_by_start(
    membership: Membership, group_reading: GroupReading, assignment=None
) -> list[tuple[int, int, int]]:
    """(where a thread starts, its threads, their replies) grouped by start: one query."""
    rows = (
        counted(membership, group_reading, assignment)
        .annotate(at=Coalesce("root__start", "start"), in_thread=Coalesce("root_id", "pk"))
        .order_by()
        .values("at")
        .annotate(
            threads=Count("in_thread", distinct=True, filter=IS_NOTE),
            replies=Count("pk", filter=Q(parent__isnull=False)),
        )
        .values_list("at", "threads", "replies")
    )
    return [row for row in rows if row[0] is not None]


def binned(
    starts: list[tuple[int, int, int]], spans: list[tuple[str, int]], assignment=None
) -> dict[str, tuple[int, int]]:
    """Threads and replies per block: `spans` are (block anchor, start) in document order."""
    offsets = [start for _, start in spans]
    heat: dict[str, tuple[int, int]] = {}
    for at, threads, replies in starts:
        if assignment is not None:
            at = max(at, assignment.start)
        index = max(bisect_right(offsets, at) - 1, 0)
        if not spans or not (threads or replies):
            continue
        anchor = spans[index][0]
        before = heat.get(anchor, (0, 0))
        heat[anchor] = (before[0] + threads, before[1] + replies)
    return heat


def heat(
    membership: Membership, group_reading: GroupReading, assignment: Assignment | None = None
) -> dict[str, tuple[int, int]]:
    """{block anchor: (threads, replies)} of a group reading, over all time or in an
    assignment's range, for the shaded margin of a facilitator's reading page. Blocks with
    neither are left out. One query, and the reading's article from the cache (the page has
    just rendered it)."""
    spans = reading_article(group_reading.reading, slots=True).spans  # the reading page's entry
    return binned(
        heat_by_start(membership, group_reading, assignment),
        [(span.anchor, span.start) for span in spans],
        assignment,
    )
