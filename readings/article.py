"""A reading's article (header, contents, sections and blocks) rendered once per revision.

The essay is the same for every viewer of every group, and rendering its 60 blocks through
the template engine is the larger half of a reading page's work, so the HTML is rendered
once and kept in the cache (shared by every app server) under the reading's `updated_at`,
which every revision of its text moves on (an entry is never stale, only unused). A page
that adds something beside each block (the group reading's margin) asks for `slots`: the
HTML comes in parts, one more than the blocks, to be joined with what goes after each block.
"""

import secrets
from dataclasses import dataclass

from django.core.cache import cache
from django.template.loader import render_to_string

from readings.layout import reading_layout
from readings.models import Reading

ARTICLE_CACHE_FORMAT = 1  # bump when the template or Span changes: old entries are then ignored


@dataclass(frozen=True, slots=True)
class Span:
    """One block of the article: where its text lies in the canonical text."""

    anchor: str
    number: int | None  # paragraph number; None for a caption
    start: int
    end: int


@dataclass(frozen=True)
class Article:
    parts: tuple[str, ...]  # len(spans) + 1 with slots, else one
    spans: tuple[Span, ...]
    paragraph_count: int


def reading_article(reading: Reading, *, slots: bool = False) -> Article:
    """The rendered article: one cache read, or (once per revision) 2 queries and a render."""
    key = (
        f"article:{ARTICLE_CACHE_FORMAT}:{reading.pk}:{reading.updated_at.timestamp()}:{int(slots)}"
    )
    cached = cache.get(key)
    if cached is None:
        cached = _render(reading, slots)
        cache.set(key, cached)
    parts, spans, paragraph_count = cached
    return Article(tuple(parts), tuple(Span(*s) for s in spans), paragraph_count)


def _render(reading: Reading, slots: bool) -> tuple:
    layout = reading_layout(reading)
    # A marker no text can hold: made afresh for each render, never seen outside it.
    marker = f"<!--slot-{secrets.token_hex(16)}-->" if slots else ""
    html = render_to_string(
        "readings/_reading.html", {"reading": reading, "slot": marker, **layout}
    )
    blocks = [block for section in layout["sections"] for block in section.block_list]
    parts = html.split(marker) if slots else [html]
    if slots and len(parts) != len(blocks) + 1:
        raise AssertionError("Every block of the article has one slot after it.")
    spans = [
        (block.anchor, block.number, block.start, block.start + len(block.text)) for block in blocks
    ]
    return parts, spans, layout["paragraph_count"]
