"""Writes to a group's assignments. Each runs in one transaction and checks everything before it
writes anything: bad input raises AssignmentError (with the form field it is about) and leaves
the database as it was.

Roles are the views' business (groups.access, `manage_assignments`); these functions check the
input and that the group is active. Every write that can move what a member sees in the margin
(a range, a due date, "post before you peek") counts one more change to the group reading's
layer (`GroupReading.layer_version`), so pages and caches keyed on it move on.
"""

from datetime import datetime, timedelta
from difflib import SequenceMatcher

from django.db import transaction
from django.db.models import F, Max
from django.http import Http404
from django.utils import timezone

from assignments import events
from assignments.contents import block_end, blocks_of, first_words
from assignments.models import INSTRUCTIONS_MAX_LENGTH, TITLE_MAX_LENGTH, Assignment
from commonplace import markdown
from groups.access import GroupArchived, ensure_writable
from groups.models import GroupReading, ReadingGroup
from readings import text
from readings.layout import reading_layout
from readings.models import Reading

# A due date further out than this is a typo (and near year 9999 it has no UTC instant).
LATEST_DUE = timedelta(days=366 * 5)
EARLIEST_DUE = timedelta(days=366)  # an "already due" date may lie this far back, no further
DIRECTIONS = ("up", "down")


class AssignmentError(Exception):
    """Input that cannot become an assignment; the message says why, for a person. `field`
    names the input it is about: title, reading, first_block, last_block, due_at,
    instructions, direction (or "" for the whole)."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.field = field


class AssignmentGone(AssignmentError, Http404):
    """The assignment was deleted meanwhile: a 404 wherever it surfaces."""

    def __init__(self, message: str = "That assignment was deleted."):
        super().__init__(message)


# --- checks -------------------------------------------------------------------------------------


def _writable(group: ReadingGroup) -> None:
    try:
        ensure_writable(group)
    except GroupArchived as error:
        raise AssignmentError(str(error)) from None


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise AssignmentError("Give the assignment a title.", field="title")
    if len(title) > TITLE_MAX_LENGTH:
        raise AssignmentError(
            f"The title is too long: {len(title):,} characters, the limit is {TITLE_MAX_LENGTH}.",
            field="title",
        )
    return title


def _instructions(instructions: str) -> tuple[str, str]:
    instructions = (instructions or "").replace("\r\n", "\n").strip()
    if len(instructions) > INSTRUCTIONS_MAX_LENGTH:
        raise AssignmentError(
            f"The instructions are too long: {len(instructions):,} characters, the limit is "
            f"{INSTRUCTIONS_MAX_LENGTH:,}.",
            field="instructions",
        )
    return instructions, markdown.render(instructions) if instructions else ""


def whole_minute(instant: datetime) -> datetime:
    return instant.replace(second=0, microsecond=0) if isinstance(instant, datetime) else instant


def _due(due_at: datetime, *, now: datetime, already_due: bool) -> datetime:
    """A due instant in whole minutes (the form shows hours and minutes), not long past, not
    far off."""
    if not isinstance(due_at, datetime) or timezone.is_naive(due_at):
        raise AssignmentError("Give the due date and time.", field="due_at")
    due_at = whole_minute(due_at)
    if due_at < now - EARLIEST_DUE:
        raise AssignmentError(
            "That date is more than a year ago: choose a recent or a coming one.", field="due_at"
        )
    if due_at <= now and not already_due:
        raise AssignmentError(
            "That time has already passed. Choose a later one, or tick “Yes, it is already "
            "due” to set it anyway (members then see it as overdue).",
            field="due_at",
        )
    if due_at > now + LATEST_DUE:
        raise AssignmentError("Choose a due date within the next five years.", field="due_at")
    return due_at


def _group_reading(group: ReadingGroup, reading: Reading) -> GroupReading:
    found = GroupReading.objects.filter(group=group, reading=reading).first()
    if found is None:
        raise AssignmentError(
            "This group does not read that text: add it to the group first.", field="reading"
        )
    return found


def _range(reading: Reading, first_block: str, last_block: str) -> tuple[object, object]:
    """The first and last blocks of a range, by anchor, in this reading and in order."""
    if not first_block:
        raise AssignmentError("Choose where the assignment starts.", field="first_block")
    if not last_block:
        raise AssignmentError("Choose where the assignment ends.", field="last_block")
    blocks = {block.anchor: block for block in blocks_of(reading_layout(reading))}
    first, last = blocks.get(first_block), blocks.get(last_block)
    if first is None:
        raise AssignmentError("That start is not a paragraph of this reading.", field="first_block")
    if last is None:
        raise AssignmentError("That end is not a paragraph of this reading.", field="last_block")
    if last.start < first.start:
        raise AssignmentError(
            "The range ends before it starts: choose an end after the start.", field="last_block"
        )
    return first, last


def _prompts_outside(assignment: Assignment, start: int, end: int) -> None:
    """Refuse a range that would leave one of the assignment's prompts outside it."""
    outside = (
        assignment.prompts.filter(deleted_at__isnull=True, start__isnull=False)
        .exclude(anchoring="orphan")
        .exclude(start__gte=start, end__lte=end)
        .order_by("start")
        .values_list("exact", flat=True)
    )
    quotes = list(outside[:2])
    if quotes:
        count = outside.count()
        words = f"“{first_words(quotes[0])}”"
        raise AssignmentError(
            f"{count} of this assignment's prompts would lie outside that range ({words}"
            f"{' and others' if count > 1 else ''}). Widen the range, or delete the prompt "
            "from its thread first.",
            field="last_block",
        )


def _layer_changed(group_reading_id: int) -> None:
    """The reading page marks the range and "post before you peek" withholds notes in it: what
    the group's layer shows moved on (see annotations.services._layer_changed)."""
    GroupReading.objects.filter(pk=group_reading_id).update(layer_version=F("layer_version") + 1)


def _locked(assignment: Assignment) -> Assignment:
    found = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("group_reading__group", "group_reading__reading")
        .filter(pk=assignment.pk)
        .first()
    )
    if found is None:
        raise AssignmentGone()
    return found


# --- writes -------------------------------------------------------------------------------------


@transaction.atomic
def assignment_create(
    *,
    group: ReadingGroup,
    reading: Reading,
    created_by,
    title: str,
    first_block: str,
    last_block: str,
    due_at: datetime,
    instructions: str = "",
    post_before_peek: bool = False,
    already_due: bool = False,
    now: datetime | None = None,
) -> Assignment:
    """Assign the range from `first_block` to `last_block` (block anchors) of a reading the
    group reads, due at `due_at` (aware; the form enters it in the group's zone). A due date
    already past needs `already_due=True`. Placed last in the group's list."""
    now = now or timezone.now()
    _writable(group)
    title = _title(title)
    group_reading = _group_reading(group, reading)
    first, last = _range(reading, first_block, last_block)
    due_at = _due(due_at, now=now, already_due=already_due)
    instructions, instructions_html = _instructions(instructions)
    position = Assignment.objects.filter(group_reading__group=group).aggregate(
        last=Max("position")
    )["last"]
    assignment = Assignment.objects.create(
        group_reading=group_reading,
        title=title,
        position=0 if position is None else position + 1,
        first_block=first.anchor,
        last_block=last.anchor,
        start=first.start,
        end=block_end(last),
        due_at=due_at,
        instructions=instructions,
        instructions_html=instructions_html,
        post_before_peek=bool(post_before_peek),
        created_by=created_by,
    )
    _layer_changed(group_reading.pk)
    events.assignment_created.send(sender=Assignment, assignment=assignment)
    return assignment


@transaction.atomic
def assignment_update(
    *,
    assignment: Assignment,
    title: str,
    first_block: str,
    last_block: str,
    due_at: datetime,
    instructions: str = "",
    post_before_peek: bool = False,
    already_due: bool = False,
    now: datetime | None = None,
) -> Assignment:
    """Change an assignment (not its reading). A due date already past needs `already_due`
    only when it changes: editing the title of last week's assignment asks nothing. A range
    that would leave one of its prompts outside is refused."""
    now = now or timezone.now()
    assignment = _locked(assignment)
    group_reading = assignment.group_reading
    _writable(group_reading.group)
    title = _title(title)
    first, last = _range(group_reading.reading, first_block, last_block)
    if whole_minute(due_at) != whole_minute(assignment.due_at):
        due_at = _due(due_at, now=now, already_due=already_due)
    else:
        due_at = assignment.due_at  # unchanged to the minute the form shows: kept as it was
    instructions, instructions_html = _instructions(instructions)
    start, end = first.start, block_end(last)
    if (start, end) != (assignment.start, assignment.end):
        _prompts_outside(assignment, start, end)
    assignment.title = title
    assignment.first_block, assignment.last_block = first.anchor, last.anchor
    assignment.start, assignment.end = start, end
    assignment.due_at = due_at
    assignment.instructions, assignment.instructions_html = instructions, instructions_html
    assignment.post_before_peek = bool(post_before_peek)
    assignment.save(
        update_fields=[
            "title",
            "first_block",
            "last_block",
            "start",
            "end",
            "due_at",
            "instructions",
            "instructions_html",
            "post_before_peek",
            "updated_at",
        ]
    )
    _layer_changed(group_reading.pk)
    return assignment


@transaction.atomic
def assignment_delete(*, assignment: Assignment) -> None:
    """Delete an assignment. Its prompts and every annotation written under it stay: a prompt
    becomes a plain question (`Annotation.prompt_of` is set to NULL by its foreign key)."""
    assignment = _locked(assignment)
    _writable(assignment.group_reading.group)
    group_reading_id = assignment.group_reading_id
    assignment.delete()
    _layer_changed(group_reading_id)


@transaction.atomic
def assignment_move(*, assignment: Assignment, direction: str) -> bool:
    """Move an assignment one place up or down the group's list (False when it is already at
    that end). The list is renumbered 0, 1, 2, … as it goes."""
    if direction not in DIRECTIONS:
        raise AssignmentError("Move it up or down.", field="direction")
    assignment = _locked(assignment)
    group = assignment.group_reading.group
    _writable(group)
    rows = list(
        Assignment.objects.select_for_update()
        .filter(group_reading__group=group)
        .order_by("position", "due_at", "pk")
        .only("pk", "position")
    )
    index = next(i for i, row in enumerate(rows) if row.pk == assignment.pk)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    changed = []
    for position, row in enumerate(rows):
        if row.position != position:
            row.position = position
            changed.append(row)
    Assignment.objects.bulk_update(changed, ["position"])
    return True


# --- after a revision of the text ---------------------------------------------------------------


def _old_paragraph(old: list[tuple[int, str]], offset: int) -> int:
    """The index of the old text's paragraph that holds the character at `offset`."""
    for index, (start, words) in enumerate(old):
        if offset < start + len(words) + len(text.SEPARATOR):
            return index
    return len(old) - 1


def _through_revision(opcodes, index: int, *, end: bool) -> int:
    """Where an old paragraph went in the new text: itself when kept, the paragraph it became
    when edited, and when it was deleted, the paragraph after the gap (for a start) or before it
    (for an end)."""
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 <= index < i2:
            if tag == "equal":
                return j1 + (index - i1)
            if tag == "replace":
                return min(j1 + (index - i1), j2 - 1)
            return j1 - 1 if end else j1  # "delete"
    return 0


def _nearest(blocks: list, offset: int, edge) -> int:
    """The index of the block whose `edge` (its start, or its end) is nearest `offset`."""
    return min(range(len(blocks)), key=lambda i: (abs(edge(blocks[i]) - offset), i))


class _Revision:
    """Finds where a lost end of a range went: through a paragraph-by-paragraph diff of the old
    and the new text when the old one is known, else by its offset."""

    def __init__(self, layout: dict, old_text: str | None):
        self.blocks = blocks_of(layout)
        self.index = {block.anchor: i for i, block in enumerate(self.blocks)}
        self.opcodes = None
        if old_text is None:
            return
        new = text.segments(layout["sections"], self.blocks)
        # each paragraph of the new text: the index of its block (None for a heading)
        self.new = [None if s.kind == "heading" else self.index[s.obj.anchor] for s in new]
        old_words = old_text.split(text.SEPARATOR)
        self.old, offset = [], 0
        for words in old_words:
            self.old.append((offset, words))
            offset += len(words) + len(text.SEPARATOR)
        matcher = SequenceMatcher(None, old_words, [s.text for s in new], autojunk=False)
        self.opcodes = matcher.get_opcodes()

    def start(self, offset: int) -> int:
        if self.opcodes is None:
            return _nearest(self.blocks, offset, lambda b: b.start)
        at = _through_revision(self.opcodes, _old_paragraph(self.old, offset), end=False)
        following = [i for i in self.new[max(at, 0) :] if i is not None]
        return following[0] if following else len(self.blocks) - 1

    def end(self, offset: int) -> int:
        if self.opcodes is None:
            return _nearest(self.blocks, offset, block_end)
        at = _through_revision(self.opcodes, _old_paragraph(self.old, offset - 1), end=True)
        before = [i for i in self.new[: at + 1] if i is not None]
        return before[-1] if before else 0


@transaction.atomic
def assignments_recompute(*, reading: Reading, old_text: str | None = None) -> int:
    """After a revision of a reading's text, put every assignment on it (any group's) back on
    its blocks: the range runs again from its first block's start to its last block's end.
    Returns how many assignments changed. Call it inside the revision's transaction, after the
    new blocks are written, with the canonical text from before the revision (`old_text`).

    Blocks keep their anchors through a revision unless their own words changed, and an end
    whose anchor survived stays on its block. An end whose paragraph was edited or deleted is
    found through a paragraph-by-paragraph diff of `old_text` and the new text: an edited
    paragraph keeps its place in the range; a deleted first paragraph makes the range start at
    the next one still there, a deleted last paragraph end at the one before. (Without
    `old_text`, at the block whose start, or end, is now nearest the old offset.) If the ends
    come out crossed (the whole range deleted, or its last block moved before its first) the
    range shrinks to one block, the one where it started. Prompts are annotations, re-anchored
    with the others; one may come to lie outside the range."""
    assignments = list(
        Assignment.objects.select_for_update().filter(group_reading__reading=reading).order_by("pk")
    )
    if not assignments:
        return 0
    revision = _Revision(reading_layout(reading), old_text)
    blocks = revision.blocks
    if not blocks:
        return 0  # a text with no paragraphs left: keep the old offsets rather than none
    changed = []
    for assignment in assignments:
        first = revision.index.get(assignment.first_block)
        last = revision.index.get(assignment.last_block)
        if first is None:
            first = revision.start(assignment.start)
        if last is None:
            last = revision.end(assignment.end)
        if last < first:
            last = first
        new = (blocks[first].anchor, blocks[last].anchor, blocks[first].start)
        new += (block_end(blocks[last]),)
        old = (assignment.first_block, assignment.last_block, assignment.start, assignment.end)
        if new != old:
            assignment.first_block, assignment.last_block, assignment.start, assignment.end = new
            changed.append(assignment)
    Assignment.objects.bulk_update(changed, ["first_block", "last_block", "start", "end"])
    return len(changed)
