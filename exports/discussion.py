"""What an export holds: a group's discussion of a reading as one member may see it, and
everything one person wrote. Every format (Markdown, CSV, JSON-LD, the printable packet) is
made from these, so they all show the same notes.

Nothing here decides who may see what: the rows come through the permission table
(`annotations.access.visible_annotations`, the `see` line as a query, and `author_label`
for how each author is named), so a member's export holds their own private notes and
nobody else's, no hidden notes (unless they are a facilitator or wrote them) and nothing
withheld by "post before you peek".

Threads are placed where their passage starts: after the first block (paragraph, quote or
caption) whose text ends after the passage's start, so a passage that starts in a heading
goes with its section's first block. Threads about the whole reading (no passage) come
first, orphans (passages a revision lost) last. Within a
thread, replies follow their parent in the order written; a reply whose parent this person
may not see hangs from the thread's first note (or stands first, when that is not shown).

Each read is a fixed number of queries however much was written (tests/test_exports.py pins
them): the annotations, their tags, the reading's sections and blocks (and, for a member while
"post before you peek" runs, the locks: one query).
"""

from bisect import bisect_right
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from annotations.access import Action, author_label, permits, visible_annotations
from annotations.models import Annotation, Tag
from groups.models import GroupReading, Membership
from readings.layout import layout_of, reading_layout
from readings.models import Block, Section

UNTITLED_SECTION = "Introduction"  # the opening section before any heading


@dataclass
class Note:
    """One annotation or reply, as this viewer may see it."""

    annotation: Annotation
    depth: int  # 0 for the thread's first note shown
    author: str  # as the permission table names the author to this viewer
    tags: list[str]
    parent_id: int | None  # the nearest note above it this viewer may see (None: none)

    @property
    def indent(self) -> int:
        """How far a page indents it: as the thread page does, at most three steps."""
        return min(self.depth, 3)


@dataclass
class Thread:
    """A passage and the notes on it this viewer may see, in the order they are read."""

    root: Annotation  # the first note: its passage is always shown, its words only if visible
    root_visible: bool
    notes: list[Note]
    block: Block | None = None  # where the passage starts; None for an orphan or page note
    section: Section | None = None

    @property
    def quote(self) -> str:
        return self.root.exact

    @property
    def is_page_note(self) -> bool:
        """About the whole reading rather than a passage: a root with no range (an orphan
        keeps the range it had before a revision)."""
        return self.root.start is None and self.root.anchoring != Annotation.Anchoring.ORPHAN

    @property
    def is_orphan(self) -> bool:
        return self.block is None and not self.is_page_note

    @property
    def where(self) -> int:
        """0 about the whole reading, 1 on a passage, 2 orphaned: the order they are shown."""
        return 0 if self.is_page_note else 2 if self.is_orphan else 1

    @property
    def is_bare_highlight(self) -> bool:
        """A highlight nobody replied to: a marked passage, not a discussion."""
        return (
            self.root_visible
            and len(self.notes) == 1
            and self.root.motivation == Annotation.Motivation.HIGHLIGHTING
        )

    @property
    def paragraph(self) -> int | None:
        return getattr(self.block, "number", None)

    @property
    def section_title(self) -> str:
        if self.section is None:
            return ""
        return self.section.heading or UNTITLED_SECTION


@dataclass
class Discussion:
    group: object
    reading: object
    membership: Membership
    sections: list  # the reading's sections, each block with .threads
    threads: list[Thread]  # about the whole reading, then in the order of the text, orphans

    @property
    def page_notes(self) -> list[Thread]:
        return [t for t in self.threads if t.is_page_note]

    @property
    def orphans(self) -> list[Thread]:
        return [t for t in self.threads if t.is_orphan]

    @property
    def notes(self) -> list[Note]:
        return [note for thread in self.threads for note in thread.notes]


def group_discussion(
    membership: Membership, group_reading: GroupReading, *, private: bool = True
) -> Discussion:
    """The group's discussion of the reading as this member may see it: 4 queries (5 for a
    member while "post before you peek" runs). `private=False` leaves out their own private
    notes (a packet to hand round)."""
    reading = group_reading.reading
    visible = visible_annotations(membership).filter(reading=reading)
    rows = list(
        visible.select_related("author", "hidden_by", "parent", "root").order_by("created_at", "pk")
    )
    tags = _tag_names(visible)
    if not private:
        rows = [row for row in rows if row.visibility != Annotation.Visibility.PRIVATE]
    layout = reading_layout(reading)
    for row in rows:
        row.reading = reading  # for the W3C source and permalinks, without a query each
    threads = _threads(membership, rows, tags)
    _place(threads, layout["sections"])
    return Discussion(
        group=membership.group,
        reading=reading,
        membership=membership,
        sections=layout["sections"],
        threads=threads,
    )


def _tag_names(annotations) -> dict[int, list[str]]:
    """Tag names by annotation, for these annotations: one query (a subquery, not a list of
    ids, however many there are), names in code point order."""
    found: dict[int, list[str]] = {}
    rows = Tag.objects.filter(annotation__in=annotations.values("pk")).values_list(
        "annotation_id", "name"
    )
    for annotation_id, name in rows:
        found.setdefault(annotation_id, []).append(name)
    return {pk: sorted(names) for pk, names in found.items()}


def _threads(membership: Membership, rows: list[Annotation], tags) -> list[Thread]:
    """Rows (in the order written) gathered into threads, each in tree order. Every row came
    through the `see` query, so each is marked as having visible replies (the table's last
    clause) and the parents and roots it names are the very objects listed, so asking the
    table about them costs no query."""
    by_id = {row.pk: row for row in rows}
    for row in rows:
        row.has_visible_replies = True
    for row in rows:
        for name in ("parent", "root"):
            above_id = getattr(row, f"{name}_id")
            if above_id is None:
                continue
            if above_id in by_id:
                setattr(row, name, by_id[above_id])
            else:  # not visible: the table says so without asking again
                getattr(row, name).has_visible_replies = False
        if row.parent_id is not None and row.parent.root_id is not None:
            row.parent.root = row.root
    threads: dict[int, list[Annotation]] = {}
    for row in rows:
        threads.setdefault(row.root_id or row.pk, []).append(row)
    found = []
    for root_id, members in threads.items():
        root = by_id.get(root_id) or members[0].root
        found.append(_thread(membership, root, root_id in by_id, members, tags))
    return found


def _thread(membership, root, root_visible: bool, rows: list, tags) -> Thread:
    children: dict[int | None, list[Annotation]] = {}
    shown = {row.pk for row in rows}
    for row in rows:
        if row.pk == root.pk:
            continue
        parent = row.parent_id if row.parent_id in shown else None
        if parent is None and root_visible:
            parent = root.pk  # its parent is not shown: it hangs from the first note
        children.setdefault(parent, []).append(row)
    notes: list[Note] = []

    def walk(row, depth: int, above: int | None) -> None:
        notes.append(
            Note(
                annotation=row,
                depth=depth,
                author=author_label(membership, row),
                tags=tags.get(row.pk, []),
                parent_id=above,
            )
        )
        for child in children.get(row.pk, []):
            walk(child, depth + 1, row.pk)

    if root_visible:
        walk(root, 0, None)
    else:
        for top in children.get(None, []):
            walk(top, 0, None)
    return Thread(root=root, root_visible=root_visible, notes=notes)


def _place(threads: list[Thread], sections: list) -> None:
    """Put each thread after the block where its passage starts (see the module's docstring),
    sort them: those about the whole reading first, then in the order of the text, orphans
    last (oldest first); and give each block the list of its threads (`block.threads`)."""
    blocks = [block for section in sections for block in section.block_list]
    section_of = {section.id: section for section in sections}
    ends = [block.start + len(block.text) for block in blocks]
    for block in blocks:
        block.threads = []
    for thread in threads:
        root = thread.root
        if root.anchoring == Annotation.Anchoring.ORPHAN or root.start is None or not blocks:
            continue
        index = min(bisect_right(ends, root.start), len(blocks) - 1)
        thread.block = blocks[index]
        thread.section = section_of[thread.block.section_id]
    order = {block.pk: index for index, block in enumerate(blocks)}
    threads.sort(
        key=lambda t: (
            t.where,
            order.get(getattr(t.block, "pk", None), 0),
            t.root.start or 0,
            t.root.created_at,
            t.root.pk,
        )
    )
    for thread in threads:
        if thread.block is not None:
            thread.block.threads.append(thread)


def facilitator_ids(group) -> set[int]:
    """The group's facilitators (a page marks their notes): one query."""
    return set(
        Membership.objects.filter(group=group, role=Membership.Role.FACILITATOR).values_list(
            "user_id", flat=True
        )
    )


# --- everything one person wrote ----------------------------------------------------------------


@dataclass
class ReadingNotes:
    """One person's own notes on one reading in one group, in the order of the text."""

    group: object
    reading: object
    membership: Membership
    threads: list[Thread]

    @property
    def notes(self) -> list[Note]:
        return [note for thread in self.threads for note in thread.notes]


def my_notes(user) -> list[ReadingNotes]:
    """Everything this person wrote and may still see: their own annotations and replies, not
    deleted, in the groups they still belong to, on the readings those groups still read;
    grouped by group (by name) and reading (by title), each in the order of the text. Five
    queries, however much they wrote and in however many groups."""
    memberships = {
        m.group_id: m
        for m in Membership.objects.filter(user_id=user.pk).select_related("group").order_by()
    }
    read_here = GroupReading.objects.filter(
        group_id=OuterRef("group_id"), reading_id=OuterRef("reading_id")
    )
    mine = Annotation.objects.filter(
        author_id=user.pk,
        deleted_at__isnull=True,
        group_id__in=list(memberships),
    ).filter(Exists(read_here))
    rows = list(mine.select_related("reading", "parent", "root").order_by("created_at", "pk"))
    for row in rows:
        row.author = user
        if row.parent_id is not None and row.parent.root_id is not None:
            row.parent.root = row.root  # the W3C reply target asks the table about it
    # Through the table all the same: an author may see their own, in a group they are in.
    rows = [row for row in rows if permits(memberships[row.group_id], Action.SEE, row)]
    tags = _tag_names(mine)
    layouts = _layouts({row.reading_id for row in rows})
    by_place: dict[tuple[int, int], list[Annotation]] = {}
    for row in rows:
        row.group = memberships[row.group_id].group
        by_place.setdefault((row.group_id, row.reading_id), []).append(row)
    found = []
    for (group_id, reading_id), place_rows in by_place.items():
        membership = memberships[group_id]
        threads = _own_threads(membership, place_rows, tags)
        _place(threads, layouts[reading_id]["sections"])
        found.append(
            ReadingNotes(
                group=membership.group,
                reading=place_rows[0].reading,
                membership=membership,
                threads=threads,
            )
        )
    found.sort(
        key=lambda r: (r.group.name.lower(), r.group.pk, r.reading.title.lower(), r.reading.pk)
    )
    return found


def _own_threads(membership, rows: list[Annotation], tags) -> list[Thread]:
    """One's own notes gathered by the passage they are on: a root with one's own replies
    under it, or (when the root is someone else's) the replies alone under its passage. The
    others' notes are not part of "my notes"."""
    groups: dict[int, list[Annotation]] = {}
    own = {row.pk for row in rows}
    for row in rows:
        groups.setdefault(row.root_id or row.pk, []).append(row)
    threads = []
    for root_id, members in groups.items():
        own_root = next((row for row in members if row.pk == root_id), None)
        root = own_root or members[0].root
        notes = [
            Note(
                annotation=row,
                depth=0 if row.pk == root_id or own_root is None else 1,
                author=author_label(membership, row),
                tags=tags.get(row.pk, []),
                parent_id=row.parent_id if row.parent_id in own else None,
            )
            for row in ([own_root] if own_root else [])
            + [row for row in members if row.pk != root_id]
        ]
        threads.append(Thread(root=root, root_visible=own_root is not None, notes=notes))
    return threads


def _layouts(reading_ids: set[int]) -> dict[int, dict]:
    """The layouts of these readings: two queries for all of them."""
    sections: dict[int, list] = {pk: [] for pk in reading_ids}
    blocks: dict[int, list] = {pk: [] for pk in reading_ids}
    for section in Section.objects.filter(reading_id__in=reading_ids).order_by():
        sections[section.reading_id].append(section)
    for block in Block.objects.filter(reading_id__in=reading_ids).defer("html").order_by():
        blocks[block.reading_id].append(block)
    return {pk: layout_of(sections[pk], blocks[pk]) for pk in reading_ids}
