"""A reading's article (header, contents, sections and blocks) rendered once per revision.

The essay is the same for every viewer of every group, and rendering its 60 blocks through
the template engine is the larger half of a reading page's work, so the HTML is rendered
once and kept in the cache (shared by every app server) under the reading's `updated_at`,
which every revision of its text moves on (an entry is never stale, only unused). A page
that adds something of its own (a group reading's margin beside each block, a section's
"mark read", an assignment's due date in the contents) asks for `slots`: the HTML then comes
in parts, with a slot between each two, named (kind, anchor): ("block", a block's anchor)
after each block, ("section", its anchor) after each section's heading, ("toc", a section's
anchor) after each entry of the contents (twice: the side and the inline contents).
"""

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import get_template, render_to_string

from commonplace.memo import VersionedMemo
from readings.layout import reading_layout
from readings.models import Reading

ARTICLE_CACHE_FORMAT = 4  # bump when Span or the cached tuple changes shape
ARTICLE_TEMPLATES = ("readings/_reading.html", "readings/_toc.html")


@dataclass(frozen=True, slots=True)
class Span:
    """One block of the article: where its text lies in the canonical text."""

    anchor: str
    number: int | None  # paragraph number; None for a caption
    start: int
    end: int
    section: str  # its section's anchor


@dataclass(frozen=True)
class Article:
    parts: tuple[str, ...]  # one more than the slots
    slots: tuple[tuple[str, str], ...]  # (kind, anchor) of each slot, in order
    spans: tuple[Span, ...]
    paragraph_count: int
    headings: dict[str, str]  # section anchor -> its heading ("" for an untitled opening)

    def html(self, fill: Callable[[str, str], str] | None = None) -> str:
        """The article, each slot filled with `fill(kind, anchor)` (HTML the caller made
        safe), or left empty."""
        if fill is None:
            return "".join(self.parts)
        out = [self.parts[0]]
        for (kind, anchor), after in zip(self.slots, self.parts[1:], strict=True):
            out.append(fill(kind, anchor))
            out.append(after)
        return "".join(out)


# A revision's article never changes under its key: each process keeps the last few it read.
_ARTICLES = VersionedMemo(size=8)


def reading_article(reading: Reading, *, slots: bool = False) -> Article:
    """The rendered article: one cache read, or (once per revision) 2 queries and a render."""
    key = (
        f"article:{ARTICLE_CACHE_FORMAT}:{reading.pk}:{reading.updated_at.timestamp()}:{int(slots)}"
    )
    cached = _ARTICLES.cached(key)
    if cached is None:
        cached = _render(reading, slots)
        _ARTICLES.keep(key, cached)
    parts, keys, spans, paragraph_count, headings = cached
    return Article(
        tuple(parts),
        tuple(map(tuple, keys)),
        tuple(Span(*s) for s in spans),
        paragraph_count,
        dict(headings),
    )


@functools.cache
def _templates_version() -> str:
    """A digest of the article's templates as this process loaded them, so that a deploy that
    changes them never serves an article rendered by the old ones from the shared cache."""
    sources = "".join(get_template(name).template.source for name in ARTICLE_TEMPLATES)
    return hashlib.sha256(sources.encode()).hexdigest()[:12]


def _render(reading: Reading, slots: bool) -> tuple:
    layout = reading_layout(reading)
    # A marker no text can hold: made afresh for each render, never seen outside it.
    token = f"slot-{secrets.token_hex(16)}" if slots else ""
    html = render_to_string("readings/_reading.html", {"reading": reading, "slot": token, **layout})
    parts, keys = [html], []
    if slots:
        pieces = re.split(rf"<!--{token}:(\w+):([^>]*?)-->", html)
        parts = pieces[0::3]
        keys = list(zip(pieces[1::3], pieces[2::3], strict=True))
    blocks = [block for section in layout["sections"] for block in section.block_list]
    spans = [
        (b.anchor, b.number, b.start, b.start + len(b.text), _section_anchor(layout, b))
        for b in blocks
    ]
    headings = {section.anchor: section.heading for section in layout["sections"]}
    return parts, keys, spans, layout["paragraph_count"], headings


def _section_anchor(layout: dict, block) -> str:
    return next(s.anchor for s in layout["sections"] if s.id == block.section_id)
