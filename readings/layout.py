"""A reading laid out for a page: sections with their blocks, paragraph numbers, contents."""

from readings import text
from readings.models import Reading


def reading_layout(reading: Reading) -> dict:
    """Sections with their blocks, paragraph numbers and the table of contents: 2 queries."""
    return layout_of(list(reading.sections.all()), list(reading.blocks.all()))


def layout_of(sections: list, blocks: list) -> dict:
    """As reading_layout, for one reading's sections and blocks already read (a page over
    many readings reads them all in two queries)."""
    sections = sorted(sections, key=lambda section: section.position)
    by_section: dict[int, list] = {section.id: [] for section in sections}
    number = 0
    for segment in text.segments(sections, blocks):
        if segment.kind == "heading":
            segment.obj.start = segment.start
            continue
        block = segment.obj
        if block.kind != block.Kind.CAPTION:
            number += 1
            block.number = number
        else:
            block.number = None
        block.start = segment.start
        by_section[block.section_id].append(block)
    for section in sections:
        section.block_list = by_section[section.id]
    toc: list = []  # level-1 sections, each with .children (its subsections)
    for section in sections:
        section.children = []
        if not section.heading:
            continue
        if section.level > 1 and toc:
            toc[-1].children.append(section)
        else:
            toc.append(section)
    return {"sections": sections, "toc": toc, "paragraph_count": number}
