"""An assigned range in terms of a reading's contents: the choices a facilitator picks the range
from, and the words a page names a range with.

A range runs from one block to another (`Assignment.first_block` .. `last_block`, by anchor).
The "From" and "To" lists offer each section ("§ Why the working class") and each paragraph
("¶ 12 — The first words of it…"): a section stands for its first block in "From" and for its
last block (its subsections' included) in "To", so both lists carry block anchors only.
"""

from dataclasses import dataclass

from readings.layout import reading_layout

WORDS = 8  # a paragraph is named by its number and its first few words
CHARACTERS = 48
INDENT = "\u2003"  # an em space: options cannot be styled, so depth is shown by indenting


def blocks_of(layout: dict) -> list:
    """Every block of a laid-out reading in document order (each with .start and .number)."""
    return [block for section in layout["sections"] for block in section.block_list]


def block_end(block) -> int:
    return block.start + len(block.text)


def first_words(text: str) -> str:
    words = text.split()
    shown = " ".join(words[:WORDS])
    if len(shown) > CHARACTERS:
        shown = shown[:CHARACTERS].rsplit(" ", 1)[0]
    return shown + ("…" if shown != " ".join(words) else "")


def paragraph_label(block) -> str:
    """ "¶ 12 — The first words of it…" (a figure caption has no number)."""
    mark = f"¶ {block.number}" if block.number else "Caption"
    return f"{mark} — {first_words(block.text)}"


def section_extents(layout: dict) -> list[tuple[object, list]]:
    """(section, its blocks and its subsections' blocks) for each section with a heading."""
    sections = layout["sections"]
    extents = []
    for index, section in enumerate(sections):
        if not section.heading:
            continue
        blocks = list(section.block_list)
        for later in sections[index + 1 :]:
            if later.heading and later.level <= section.level:
                break
            blocks += later.block_list
        extents.append((section, blocks))
    return extents


def range_choices(layout: dict) -> tuple[list, list]:
    """The "From" and "To" choices: sections and paragraphs in document order."""
    extent = {section.pk: blocks for section, blocks in section_extents(layout)}
    starts: list[tuple[str, str]] = [("", "Choose where it starts")]
    ends: list[tuple[str, str]] = [("", "Choose where it ends")]
    for section in layout["sections"]:
        depth = INDENT * (section.level - 1) if section.heading else ""
        blocks = extent.get(section.pk)
        if blocks:
            label = f"{depth}§ {section.heading}"
            starts.append((blocks[0].anchor, label))
            ends.append((blocks[-1].anchor, f"{label} (to its end)"))
        for block in section.block_list:
            label = f"{depth}{INDENT if section.heading else ''}{paragraph_label(block)}"
            starts.append((block.anchor, label))
            ends.append((block.anchor, label))
    return starts, ends


def paragraph_choices(layout: dict, start: int, end: int) -> list[tuple[str, str]]:
    """The paragraphs inside [start, end), for choosing a prompt's passage."""
    return [
        (block.anchor, paragraph_label(block))
        for block in blocks_of(layout)
        if start <= block.start and block_end(block) <= end
    ]


@dataclass(frozen=True)
class RangeName:
    paragraphs: str  # "¶ 5–22"
    sections: str  # "§ Why the working class", "§ A to § B", "the introduction"

    def __str__(self) -> str:
        return f"{self.paragraphs} · {self.sections}" if self.sections else self.paragraphs


def range_name(layout: dict, start: int, end: int) -> RangeName:
    """How a page names the range [start, end): its paragraphs and the sections it spans."""
    sections = [s for s in layout["sections"] if s.block_list]
    inside = [
        (section, block)
        for section in sections
        for block in section.block_list
        if start <= block.start and block_end(block) <= end
    ]
    if not inside:
        return RangeName("", "")
    numbers = [block.number for _, block in inside if block.number]
    if not numbers:
        paragraphs = "a caption"
    elif numbers[0] == numbers[-1]:
        paragraphs = f"¶ {numbers[0]}"
    else:
        paragraphs = f"¶ {numbers[0]}–{numbers[-1]}"
    first, last = inside[0][0], inside[-1][0]

    def name(section) -> str:
        return f"§ {section.heading}" if section.heading else "the introduction"

    spanned = name(first) if first.pk == last.pk else f"{name(first)} to {name(last)}"
    return RangeName(paragraphs, spanned)


class Layouts:
    """Reading layouts for one request, each laid out once (two queries a reading)."""

    def __init__(self):
        self._known: dict[int, dict] = {}

    def __call__(self, reading) -> dict:
        if reading.pk not in self._known:
            self._known[reading.pk] = reading_layout(reading)
        return self._known[reading.pk]
