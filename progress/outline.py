"""Readings as progress pages see them: sections and paragraphs in document order, without
their words, and an assignment's range in those terms.

A range runs from one block to another (`Assignment.first_block` .. `last_block`, by anchor);
its sections are the sections (subsections counted on their own, as a member marks them)
that hold at least one of its blocks. Anchors survive revisions that leave their blocks
alone; a range whose end blocks a revision removed has no sections until it is edited.

`outlines(reading_ids)` reads any number of readings in one query.
"""

from dataclasses import dataclass, field

from django.db.models import Q

from annotations.models import Annotation
from readings.models import Block

INTRODUCTION = "Introduction"  # what a section without a heading is called


@dataclass(frozen=True)
class Section:
    anchor: str
    heading: str
    level: int

    @property
    def label(self) -> str:
        return self.heading or INTRODUCTION


@dataclass(frozen=True)
class Paragraph:
    anchor: str
    number: int | None  # None for a figure caption
    section: Section
    first_in_section: bool
    last_in_section: bool


@dataclass
class Outline:
    paragraphs: list[Paragraph]
    _index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self._index = {p.anchor: i for i, p in enumerate(self.paragraphs)}

    def between(self, first: str, last: str) -> list[Paragraph]:
        """The blocks from `first` to `last` (anchors), both included; [] if either is gone."""
        i, j = self._index.get(first), self._index.get(last)
        if i is None or j is None or j < i:
            return []
        return self.paragraphs[i : j + 1]

    def sections_between(self, first: str, last: str) -> list[Section]:
        seen: dict[str, Section] = {}
        for paragraph in self.between(first, last):
            seen.setdefault(paragraph.section.anchor, paragraph.section)
        return list(seen.values())

    def range_label(self, first: str, last: str) -> str:
        """ "§ From “Why the working class” to ¶ 14 (¶ 3–14)": where a range starts and ends,
        by section when it takes a section whole at that end, else by paragraph."""
        inside = self.between(first, last)
        if not inside:
            return "§ The assigned passage"
        start, end = inside[0], inside[-1]
        numbers = [p.number for p in inside if p.number]
        if not numbers:
            paragraphs = ""
        elif numbers[0] == numbers[-1]:
            paragraphs = f"\u00a0(¶\u00a0{numbers[0]})"
        else:
            paragraphs = f"\u00a0(¶\u00a0{numbers[0]}–\u2060{numbers[-1]})"
        whole = start.first_in_section and end.last_in_section
        if whole and start.section == end.section:
            return f"§ {start.section.label}{paragraphs}"
        frm = f"“{start.section.label}”" if start.first_in_section else _paragraph(start)
        to = f"“{end.section.label}”" if end.last_in_section else _paragraph(end)
        return f"§ From {frm} to {to}{paragraphs}"


def _paragraph(paragraph: Paragraph) -> str:
    return (
        f"¶ {paragraph.number}"
        if paragraph.number
        else f"the caption in “{paragraph.section.label}”"
    )


def outlines(reading_ids) -> dict[int, Outline]:
    """Each reading's outline: one query, whatever the number of readings."""
    rows = (
        Block.objects.filter(reading_id__in=set(reading_ids))
        .order_by("reading_id", "section__position", "position")
        .values_list(
            "reading_id", "anchor", "kind", "section__anchor", "section__heading", "section__level"
        )
    )
    by_reading: dict[int, list[tuple]] = {}
    for row in rows:
        by_reading.setdefault(row[0], []).append(row)
    return {reading_id: _outline(found) for reading_id, found in by_reading.items()}


def _outline(rows: list[tuple]) -> Outline:
    paragraphs: list[Paragraph] = []
    sections: dict[str, Section] = {}
    number = 0
    for index, (_, anchor, kind, section_anchor, heading, level) in enumerate(rows):
        section = sections.setdefault(section_anchor, Section(section_anchor, heading, level))
        if kind != Block.Kind.CAPTION:
            number += 1
        previous = rows[index - 1][3] if index else None
        following = rows[index + 1][3] if index + 1 < len(rows) else None
        paragraphs.append(
            Paragraph(
                anchor=anchor,
                number=number if kind != Block.Kind.CAPTION else None,
                section=section,
                first_in_section=previous != section_anchor,
                last_in_section=following != section_anchor,
            )
        )
    return Outline(paragraphs)


# --- annotations in a range -----------------------------------------------------------------------


def in_range(assignment) -> Q:
    """The annotations of an assignment's range: roots whose passage lies (at least partly) in
    it, and the replies in their threads."""
    group_reading = assignment.group_reading
    return Q(group_id=group_reading.group_id, reading_id=group_reading.reading_id) & (
        Q(parent__isnull=True, start__lt=assignment.end, end__gt=assignment.start)
        | Q(parent__isnull=False, root__start__lt=assignment.end, root__end__gt=assignment.start)
    )


# A note is anything written: not a bare highlight (whose replies are notes all the same), not
# the placeholder a deleted annotation leaves.
IS_NOTE = ~Q(parent__isnull=True, motivation=Annotation.Motivation.HIGHLIGHTING) & Q(
    deleted_at__isnull=True
)
