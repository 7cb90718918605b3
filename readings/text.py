"""The canonical text of a reading: defined here once.

It is the text of every non-empty section heading and every block, in document order,
joined by a blank line ("\\n\\n"). Annotations count positions in Unicode code points
(Python `str` indices) over exactly this string.
"""

from dataclasses import dataclass

SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Segment:
    kind: str  # "heading" or a Block.Kind value
    text: str
    start: int  # code point offset of the first character in the canonical text
    obj: object  # the Section (for headings) or Block

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def segments(sections, blocks) -> list[Segment]:
    """Lay out headings and blocks in document order with their code point offsets.

    `sections` and `blocks` are iterables of Section and Block rows of one reading (in any
    order); the result is in document order.
    """
    by_section: dict[int, list] = {}
    for block in blocks:
        by_section.setdefault(block.section_id, []).append(block)
    result: list[Segment] = []
    offset = 0

    def add(kind, text, obj):
        nonlocal offset
        if result:
            offset += len(SEPARATOR)
        result.append(Segment(kind, text, offset, obj))
        offset += len(text)

    for section in sorted(sections, key=lambda s: s.position):
        if section.heading:
            add("heading", section.heading, section)
        for block in sorted(by_section.get(section.id, []), key=lambda b: b.position):
            add(block.kind, block.text, block)
    return result


def join(segment_list: list[Segment]) -> str:
    return SEPARATOR.join(segment.text for segment in segment_list)


def canonical_text(reading) -> str:
    return join(segments(reading.sections.all(), reading.blocks.all()))
