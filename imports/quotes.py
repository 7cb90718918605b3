"""Placing an imported quote in a reading's canonical text, by its words alone.

An annotation brought in from elsewhere was made on another copy of the text (a web page with
its own markup, whitespace and typography), so its TextPositionSelector is never used here,
not even as a hint: only its TextQuoteSelector (`exact`, `prefix`, `suffix`) is.
annotations.anchoring places it (`QuoteAnchorer`: exact, then whitespace- and
typography-insensitive, then fuzzy; a common phrase with no telling context is not placed at
a guess); this module adds what an import reports: how each quote was placed, and why one
was not.
"""

from dataclasses import dataclass
from typing import Literal

from annotations.anchoring import QuoteAnchorer

Status = Literal["exact", "normalized", "fuzzy", "unmatched"]


@dataclass(frozen=True)
class QuoteMatch:
    """Where a quote was placed: `text[start:end]`, and how (`status`). An unmatched quote
    has start == end == None and a `reason` a person can read."""

    status: Status
    start: int | None = None
    end: int | None = None
    reason: str = ""

    @property
    def placed(self) -> bool:
        return self.start is not None


def anchor_quotes(text: str, quotes: list[tuple[str, str, str]]) -> list[QuoteMatch]:
    """Place each (exact, prefix, suffix) in `text`, sharing the work between them."""
    anchorer = QuoteAnchorer(text)
    return [_match(anchorer, *quote) for quote in quotes]


def anchor_quote(text: str, exact: str, prefix: str = "", suffix: str = "") -> QuoteMatch:
    return anchor_quotes(text, [(exact, prefix, suffix)])[0]


def _match(anchorer: QuoteAnchorer, exact: str, prefix: str, suffix: str) -> QuoteMatch:
    if not exact.strip():
        return QuoteMatch("unmatched", reason="The quote is empty.")
    placement = anchorer.place(exact, prefix, suffix)
    if placement is not None and placement.anchor is not None:
        status = placement.status if placement.status in {"exact", "fuzzy"} else "normalized"
        return QuoteMatch(status, placement.anchor.start, placement.anchor.end)
    count = anchorer.occurrences(exact)
    if not count:
        return QuoteMatch("unmatched", reason="Not found in the text.")
    return QuoteMatch(
        "unmatched",
        reason=f"Found {count} times in the text, and its context does not say which.",
    )
