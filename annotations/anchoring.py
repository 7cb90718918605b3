"""Re-anchoring annotations when a reading's canonical text is revised.

An annotation targets a reading's canonical text with two W3C selectors: a
TextPositionSelector (`start`, `end`) and a TextQuoteSelector (`exact`, with up to
`CONTEXT` characters of `prefix` and `suffix`). Everything here counts Unicode code
points, i.e. plain Python ``str`` indices: an emoji such as "👩🏽‍🔬" is four code points,
"e\\u0301" is two, and right-to-left scripts need nothing special. Texts are never
converted to bytes or UTF-16.

When the text changes, `reanchor` tries, in order:

1. **The old position** -- ``new_text[start:end] == exact``: status ``"exact"``. If neither
   the prefix nor the suffix agrees there any more (a short word that an insertion happened
   to line up with), an occurrence elsewhere whose context agrees wins instead.
2. **The exact quote** -- every occurrence of `exact` in the new text is ranked by how well
   the text around it matches the stored prefix and suffix, then by its distance from the
   old position: status ``"moved"``. The winner must be *corroborated*: its prefix or its
   suffix still agrees (see `CONTEXT_AGREEMENT`). Without agreeing context, only the single
   occurrence of a quote at least `DISTINCTIVE_LENGTH` long is trusted, and only if no
   corroborated fuzzy match exists; a short word found elsewhere is not "the same words".
3. **A fuzzy match** (quotes of at least `MIN_FUZZY_LENGTH` characters) tolerating small
   edits inside the quote: `rapidfuzz.fuzz.partial_ratio_alignment` locates the best region
   near the old position (`LOCAL_RADIUS`), then in the whole text. The quote's boundaries
   are carried over through a Levenshtein alignment of the old passage (prefix + exact +
   suffix) with the text there, as a diff would, then snapped to word boundaries where the
   original quote began or ended on one. The match is accepted when
   ``fuzz.ratio >= FUZZY_THRESHOLD``, its length is within `MAX_LENGTH_CHANGE` of the
   original, and its context is corroborated -- or, when the quote does not occur exactly
   at all, the quote is at least `DISTINCTIVE_LENGTH` long: status ``"fuzzy"``.
4. Otherwise the annotation is an **orphan**: it is never silently moved to the wrong words.

`reanchor_many` gives the same answers for a whole list, sharing the work: the occurrences
of each distinct quote are found once, through an index of the new text's `GRAM`-grams.

**Placing a quote** from elsewhere (`anchor_quote`, `QuoteAnchorer`): another client, or an
imported file, names a passage by its TextQuoteSelector, made on its own copy of the text (a
web page with its own markup, whitespace and typography). Its TextPositionSelector, if any,
is only a hint (`near`): the quote decides. In order:

1. **Exact** -- the quote's very characters occur in the text: status ``"exact"``.
2. **Normalized** -- they occur once whitespace and typography are folded on both sides
   (`fold`): runs of whitespace are one space and no space stands beside a dash; curly quotes
   are straight, every dash is a hyphen, an ellipsis three dots; compatibility characters are
   decomposed (NBSP, ligatures, precomposed accents); soft hyphens and zero-width spaces
   vanish. Letter case is kept. Status ``"normalized"``.
   In both steps, among several occurrences the one whose surroundings agree with the given
   prefix or suffix wins (`CONTEXT_AGREEMENT`); with none agreeing, an occurrence is still
   taken when it stands exactly at `near`, or when it is the only one and either no context
   was given or the quote is at least `UNIQUE_LENGTH` long. A common phrase with no telling
   context is not placed at a guess.
3. **Fuzzy** -- step 3 of re-anchoring over the folded text, around `near` first: small edits
   inside the quote are tolerated when its context corroborates the place, or when a quote of
   `DISTINCTIVE_LENGTH` or more occurs nowhere exactly. Status ``"fuzzy"``.
4. Otherwise None: the quote cannot be placed.

The span found in the folded text is mapped back to the text's own code points, so the anchor
quotes the text's own words, with its own context.
"""

import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Levenshtein, Opcodes

__all__ = [
    "CONTEXT",
    "Anchor",
    "Placement",
    "QuoteAnchorer",
    "Status",
    "anchor_at",
    "anchor_quote",
    "fold",
    "reanchor",
    "reanchor_many",
]

#: Code points of prefix and suffix stored on each side of a quote.
CONTEXT = 32

#: Quotes shorter than this are never matched fuzzily.
MIN_FUZZY_LENGTH = 4
#: Minimum `rapidfuzz.fuzz.ratio` (0-100) between the old quote and a fuzzy match.
FUZZY_THRESHOLD = 85.0
#: A fuzzy match may be at most this fraction longer or shorter than the old quote.
MAX_LENGTH_CHANGE = 0.25
#: Minimum `partial_ratio` (0-100) for a region to be considered at all. It scores a window
#: of the quote's own length, so a quote that grew or shrank scores lower there than in the
#: end, hence a lower bar than `FUZZY_THRESHOLD`.
LOCATE_CUTOFF = 70.0
#: Fuzzy search looks this many code points (or 4x the quote's length) around the old
#: position before searching the whole text.
LOCAL_RADIUS = 1024

#: A side of the context (prefix or suffix) agrees when its Indel similarity (0-1) with the
#: text now beside the candidate reaches this. Unrelated 32-character windows of English
#: prose score 0.38 (median) to 0.59 (99.9th percentile); 0.65 tolerates about eleven
#: characters inserted or deleted right next to the quote.
CONTEXT_AGREEMENT = 0.65
#: Stored context sides shorter than this (at the very start or end of the text) are too
#: short for similarity to mean anything: they must match exactly to agree.
MIN_CONTEXT_EVIDENCE = 8
#: A quote this long is evidence on its own: found with no agreeing context, it is still
#: placed (the single exact occurrence, or else a fuzzy match if it has no exact one).
DISTINCTIVE_LENGTH = 32

#: Weight of nearness to the old position when ranking occurrences of a quote; context
#: similarity (0-2) dominates, nearness decides between occurrences with equal context.
NEARNESS_WEIGHT = 0.1
#: A quote with more occurrences than this has only its full-context occurrences and the
#: nearest ones to the old position ranked (keeps very common short quotes linear).
MAX_RANKED_OCCURRENCES = 64

#: Quotes longer than this are located by three probes (head, middle, tail) rather than
#: whole: `partial_ratio` over a long text gets slow for long needles.
LONG_QUOTE = 256
#: Length of each probe used to locate a long quote.
PROBE_LENGTH = 64

#: Length of the n-grams indexed by `reanchor_many` to find occurrences of quotes.
GRAM = 8
#: `reanchor_many` builds the n-gram index only for at least this many anchors.
INDEX_MIN_ANCHORS = 32

#: Placing a quote from elsewhere: an occurrence whose context does not agree is still taken
#: when it is the only one and the quote is at least this long (in folded code points):
#: sixteen characters of prose occurring once are the same words, even when the page around
#: them was laid out differently.
UNIQUE_LENGTH = 16

Status = Literal["exact", "moved", "normalized", "fuzzy", "orphan"]


@dataclass(frozen=True)
class Anchor:
    """Where an annotation sits: `text[start:end] == exact`, with its surrounding context.

    Offsets are code points (Python ``str`` indices). `prefix` is the text just before
    `start` and `suffix` the text just after `end`, each up to `CONTEXT` code points.
    """

    start: int
    end: int
    exact: str
    prefix: str = ""
    suffix: str = ""


@dataclass(frozen=True)
class Placement:
    """The outcome of re-anchoring one `Anchor` against a revised text, or of placing a quote.

    `status` is ``"exact"`` (same position; for a placed quote, the same characters),
    ``"moved"`` (same words, elsewhere), ``"normalized"`` (a placed quote's words, once
    whitespace and typography are folded), ``"fuzzy"`` (slightly different words) or
    ``"orphan"`` (not found); `anchor` is the anchor in the new text, with fresh context,
    and is None exactly for orphans.
    """

    status: Status
    anchor: Anchor | None

    def __post_init__(self) -> None:
        if (self.status == "orphan") != (self.anchor is None):
            raise ValueError("a Placement has no anchor exactly when it is an orphan")


ORPHAN = Placement("orphan", None)


def anchor_at(text: str, start: int, end: int, context: int = CONTEXT) -> Anchor:
    """The Anchor for text[start:end] with up to `context` code points of prefix/suffix.

    The prefix and suffix are shorter near the start and end of the text. Raises
    ValueError unless ``0 <= start <= end <= len(text)`` and ``context >= 0``.
    """
    if not 0 <= start <= end <= len(text):
        raise ValueError(f"span {start}:{end} is outside a text of length {len(text)}")
    if context < 0:
        raise ValueError("context must not be negative")
    return Anchor(
        start=start,
        end=end,
        exact=text[start:end],
        prefix=text[max(0, start - context) : start],
        suffix=text[end : end + context],
    )


def reanchor(anchor: Anchor, new_text: str) -> Placement:
    """Find `anchor` in `new_text`: exact position, then exact quote, then fuzzy, else orphan.

    A placed anchor always has ``exact == new_text[start:end]`` and its prefix and suffix
    recomputed from `new_text` (`CONTEXT` code points each side); for an unchanged text it
    equals an anchor made by `anchor_at`. See the module docstring for the rules.
    """
    return _Reanchorer(new_text, index=False).place(anchor)


def reanchor_many(anchors: list[Anchor], new_text: str) -> list[Placement]:
    """Same as [reanchor(a, new_text) for a in anchors], but fast for thousands of anchors
    over a 100k-character text (precompute what can be shared; the exact-position and
    exact-quote paths must not be quadratic).

    Shared work: the occurrences of each distinct quote are looked up once, through an
    index of the new text's `GRAM`-grams (built once, in linear time), and identical
    anchors are placed once.
    """
    reanchorer = _Reanchorer(new_text, index=len(anchors) >= INDEX_MIN_ANCHORS)
    placed: dict[Anchor, Placement] = {}
    results = []
    for anchor in anchors:
        placement = placed.get(anchor)
        if placement is None:
            placement = placed[anchor] = reanchorer.place(anchor)
        results.append(placement)
    return results


# --- words --------------------------------------------------------------------------------

# Inside a word (between two word characters) these belong to it: "don't", "workers’",
# and the zero-width (non-)joiners of Persian and Arabic script.
_JOINERS = frozenset("'\u2019\u200c\u200d")


def _is_word_char(ch: str) -> bool:
    """Letters and digits of any script, underscores and combining marks."""
    return ch.isalnum() or ch == "_" or unicodedata.category(ch).startswith("M")


def _in_word(text: str, i: int) -> bool:
    ch = text[i]
    if _is_word_char(ch):
        return True
    return (
        ch in _JOINERS
        and 0 < i < len(text) - 1
        and _is_word_char(text[i - 1])
        and _is_word_char(text[i + 1])
    )


def _word_start(text: str, i: int) -> bool:
    return 0 <= i < len(text) and _in_word(text, i) and (i == 0 or not _in_word(text, i - 1))


def _word_end(text: str, j: int) -> bool:
    return (
        0 < j <= len(text) and _in_word(text, j - 1) and (j == len(text) or not _in_word(text, j))
    )


def _starts_on_word(anchor: Anchor) -> bool:
    """Whether the old quote began exactly at the start of a word."""
    around = anchor.prefix[-1:] + anchor.exact[:2]
    return _word_start(around, len(anchor.prefix[-1:]))


def _ends_on_word(anchor: Anchor) -> bool:
    """Whether the old quote ended exactly at the end of a word."""
    around = anchor.exact[-2:] + anchor.suffix[:1]
    return _word_end(around, len(anchor.exact[-2:]))


# --- the work ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    ratio: float
    corroborated: bool


class _Reanchorer:
    """Places anchors in one new text, caching what anchors can share."""

    def __init__(self, text: str, *, index: bool) -> None:
        self.text = text
        self._use_index = index
        self._grams: dict[str, list[int]] | None = None
        self._occurrences: dict[str, list[int]] = {}

    # -- the steps

    def place(self, anchor: Anchor) -> Placement:
        text, exact = self.text, anchor.exact
        in_place = (
            0 <= anchor.start <= anchor.end <= len(text)
            and text[anchor.start : anchor.end] == exact
        )
        if in_place and (not exact or self._corroborated(anchor, anchor.start, anchor.end)):
            return Placement("exact", anchor_at(text, anchor.start, anchor.end))
        if not exact:
            return ORPHAN

        fallback: int | None = None
        occurrences = self.occurrences(exact)
        if occurrences:
            start, corroborated = self._best_occurrence(anchor, occurrences)
            if corroborated:
                return Placement("moved", anchor_at(text, start, start + len(exact)))
            if in_place:  # the same words at the same offset beat anything uncorroborated
                return Placement("exact", anchor_at(text, anchor.start, anchor.end))
            if len(occurrences) == 1 and len(exact) >= DISTINCTIVE_LENGTH:
                fallback = start

        if len(exact) >= MIN_FUZZY_LENGTH:
            match = self._fuzzy(anchor, trust_long_quote=not occurrences)
            if match is not None:
                return Placement("fuzzy", anchor_at(text, match.start, match.end))
        if fallback is not None:
            return Placement("moved", anchor_at(text, fallback, fallback + len(exact)))
        return ORPHAN

    # -- exact quotes

    def occurrences(self, quote: str) -> list[int]:
        """Every start of `quote` in the text (overlapping ones too), ascending."""
        found = self._occurrences.get(quote)
        if found is None:
            if self._use_index and len(quote) >= GRAM:
                found = self._indexed_occurrences(quote)
            else:
                found = _find_all(self.text, quote)
            self._occurrences[quote] = found
        return found

    def _indexed_occurrences(self, quote: str) -> list[int]:
        if self._grams is None:
            grams: dict[str, list[int]] = {}
            text = self.text
            for i in range(len(text) - GRAM + 1):
                gram = text[i : i + GRAM]
                positions = grams.get(gram)
                if positions is None:
                    grams[gram] = [i]
                else:
                    positions.append(i)
            self._grams = grams
        text = self.text
        return [i for i in self._grams.get(quote[:GRAM], ()) if text.startswith(quote, i)]

    def _best_occurrence(self, anchor: Anchor, occurrences: list[int]) -> tuple[int, bool]:
        """The best-ranked occurrence of the quote, and whether its context agrees."""
        text, length = self.text, len(anchor.exact)
        candidates: list[int] | set[int] = occurrences
        if len(occurrences) > MAX_RANKED_OCCURRENCES:
            here = bisect_left(occurrences, anchor.start)
            half = MAX_RANKED_OCCURRENCES // 2
            candidates = set(occurrences[max(0, here - half) : here + half])
            whole = anchor.prefix + anchor.exact + anchor.suffix
            candidates.update(i + len(anchor.prefix) for i in _find_all(text, whole))

        span = max(1, len(text))
        best_key: tuple[float, int] | None = None
        best = (0, False)
        for start in candidates:
            before, after = self._context_similarity(anchor, start, start + length)
            distance = abs(start - anchor.start)
            key = (before + after + NEARNESS_WEIGHT * (1 - distance / span), -start)
            if best_key is None or key > best_key:
                best_key = key
                best = (start, _agreeing(anchor, before, after))
        return best

    def _corroborated(self, anchor: Anchor, start: int, end: int) -> bool:
        """Whether the stored prefix or suffix agrees with the text now around a span."""
        return _agreeing(anchor, *self._context_similarity(anchor, start, end))

    def _context_similarity(self, anchor: Anchor, start: int, end: int) -> tuple[float, float]:
        """How similar (0-1) the stored prefix and suffix are to the text now around a span."""
        text = self.text
        if anchor.prefix:
            before = text[max(0, start - len(anchor.prefix)) : start]
            prefix = Indel.normalized_similarity(anchor.prefix, before)
        else:
            prefix = 1.0 if start == 0 else 0.0
        if anchor.suffix:
            suffix = Indel.normalized_similarity(
                anchor.suffix, text[end : end + len(anchor.suffix)]
            )
        else:
            suffix = 1.0 if end == len(text) else 0.0
        return prefix, suffix

    # -- fuzzy matches

    def _fuzzy(self, anchor: Anchor, *, trust_long_quote: bool) -> _Candidate | None:
        """The best acceptable fuzzy match, near the old position first, then anywhere."""
        text, exact = self.text, anchor.exact
        radius = max(LOCAL_RADIUS, 4 * len(exact))
        near = min(max(anchor.start, 0), len(text))
        low = max(0, near - radius)
        high = min(len(text), near + (anchor.end - anchor.start) + radius)
        searches = [(low, high)] if (low, high) == (0, len(text)) else [(low, high), (0, len(text))]
        for low, high in searches:
            accepted = []
            for region in self._locate(exact, low, high):
                candidate = self._refine(anchor, region)
                if candidate is not None and self._acceptable(anchor, candidate, trust_long_quote):
                    accepted.append(candidate)
            if accepted:
                return max(accepted, key=lambda c: (c.ratio, -abs(c.start - anchor.start)))
        return None

    def _acceptable(self, anchor: Anchor, candidate: _Candidate, trust_long_quote: bool) -> bool:
        exact = anchor.exact
        if self.text[candidate.start : candidate.end] == exact:
            return False  # an exact occurrence: already judged, and not good enough
        if candidate.ratio < FUZZY_THRESHOLD:
            return False
        if not _length_ok(candidate.end - candidate.start, len(exact)):
            return False
        return candidate.corroborated or (trust_long_quote and len(exact) >= DISTINCTIVE_LENGTH)

    def _locate(self, exact: str, low: int, high: int) -> list[tuple[int, int]]:
        """Rough regions of text[low:high] resembling `exact`, as (start, end) in the text."""
        haystack = self.text[low:high]
        if len(haystack) <= len(exact):
            return [(low, high)] if haystack else []
        if len(exact) <= LONG_QUOTE:
            found = fuzz.partial_ratio_alignment(exact, haystack, score_cutoff=LOCATE_CUTOFF)
            return [] if found is None else [(low + found.dest_start, low + found.dest_end)]
        # Long quotes: locate a head, a middle and a tail probe, each implying a region.
        regions: list[tuple[int, int]] = []
        for offset in (0, (len(exact) - PROBE_LENGTH) // 2, len(exact) - PROBE_LENGTH):
            probe = exact[offset : offset + PROBE_LENGTH]
            found = fuzz.partial_ratio_alignment(probe, haystack, score_cutoff=LOCATE_CUTOFF)
            if found is None:
                continue
            start = low + found.dest_start - offset
            if all(abs(start - other) > PROBE_LENGTH // 8 for other, _ in regions):
                regions.append((start, start + len(exact)))
        return regions

    def _refine(self, anchor: Anchor, region: tuple[int, int]) -> _Candidate | None:
        """Turn a rough region into a span, and judge it.

        The old passage (prefix + exact + suffix) is aligned with the new text around the
        region, and the quote's two boundaries are carried through that alignment, as a diff
        would: a word replaced at the edge of the quote stays inside it, text inserted
        between the quote and its context stays outside. A boundary that was at the start
        or end of a word is then snapped to one in the new text.
        """
        text, exact, prefix = self.text, anchor.exact, anchor.prefix
        pad = len(exact) // 4 + 8
        low = max(0, region[0] - len(prefix) - pad)
        high = min(len(text), region[1] + len(anchor.suffix) + pad)
        if low >= high:
            return None
        opcodes = Levenshtein.opcodes(prefix + exact + anchor.suffix, text[low:high])
        start = low + _map_start(opcodes, len(prefix))
        end = low + _map_end(opcodes, len(prefix) + len(exact))
        starts = _snap(text, start, pad, _word_start) if _starts_on_word(anchor) else [start]
        ends = _snap(text, end, pad, _word_end) if _ends_on_word(anchor) else [end]
        spans = [(s, e) for s in starts for e in ends if s < e]
        if not spans:
            return None

        def quality(span: tuple[int, int]) -> tuple[bool, float, int]:
            size = span[1] - span[0]
            ratio = fuzz.ratio(exact, text[span[0] : span[1]])
            return _length_ok(size, len(exact)), ratio, -abs(size - len(exact))

        start, end = max(spans, key=quality)
        return _Candidate(
            start=start,
            end=end,
            ratio=fuzz.ratio(exact, text[start:end]),
            corroborated=self._corroborated(anchor, start, end),
        )


# --- helpers ------------------------------------------------------------------------------


def _find_all(text: str, quote: str) -> list[int]:
    found = []
    i = text.find(quote)
    while i != -1:
        found.append(i)
        i = text.find(quote, i + 1)
    return found


def _agreeing(anchor: Anchor, before: float, after: float) -> bool:
    """Whether the prefix (similarity `before`) or the suffix (`after`) agrees."""
    return _agrees(anchor.prefix, before) or _agrees(anchor.suffix, after)


def _agrees(stored: str, similarity: float) -> bool:
    """Whether one side of the stored context agrees with the text beside a candidate."""
    if len(stored) < MIN_CONTEXT_EVIDENCE:
        return similarity == 1.0
    return similarity >= CONTEXT_AGREEMENT


def _length_ok(size: int, original: int) -> bool:
    return abs(size - original) <= MAX_LENGTH_CHANGE * original


def _segments(opcodes: Opcodes) -> list[tuple[bool, int, int, int, int]]:
    """The alignment as (equal, src_start, src_end, dest_start, dest_end) segments: runs of
    equal text, and hunks merging each run of consecutive edits (as in a diff)."""
    segments: list[tuple[bool, int, int, int, int]] = []
    for op in opcodes:
        equal = op.tag == "equal"
        if segments and not equal and not segments[-1][0]:
            _, src_start, _, dest_start, _ = segments.pop()
            segments.append((False, src_start, op.src_end, dest_start, op.dest_end))
        else:
            segments.append((equal, op.src_start, op.src_end, op.dest_start, op.dest_end))
    return segments


def _map_start(opcodes: Opcodes, boundary: int) -> int:
    """Where an old start boundary lands in the new text. An edit hunk beginning at it is
    inside the quote, unless it only inserts text (which then stays before the quote)."""
    for equal, src_start, src_end, dest_start, dest_end in _segments(opcodes):
        if src_start <= boundary < src_end:
            if equal:
                return dest_start + boundary - src_start
            share = (boundary - src_start) / (src_end - src_start)
            return dest_start + round(share * (dest_end - dest_start))
    return opcodes.dest_len


def _map_end(opcodes: Opcodes, boundary: int) -> int:
    """Where an old end boundary lands in the new text. An edit hunk ending at it is inside
    the quote, unless it only inserts text (which then stays after the quote)."""
    for equal, src_start, src_end, dest_start, dest_end in reversed(_segments(opcodes)):
        if src_start < boundary <= src_end:
            if equal:
                return dest_start + boundary - src_start
            share = (src_end - boundary) / (src_end - src_start)
            return dest_end - round(share * (dest_end - dest_start))
    return 0


def _snap(text: str, position: int, pad: int, is_boundary: Callable[[str, int], bool]) -> list[int]:
    """`position` if it is a word boundary of the wanted kind, else the nearest such
    boundaries within `pad` on either side (or `position` itself if there are none)."""
    if is_boundary(text, position):
        return [position]
    found = []
    for step in (-1, 1):
        i = position + step
        while abs(i - position) <= pad and 0 <= i <= len(text):
            if is_boundary(text, i):
                found.append(i)
                break
            i += step
    return found or [position]


# --- placing a quote from elsewhere -------------------------------------------------------

# Typography folded to plain ASCII before comparing.
_FOLD = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4`", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
    **dict.fromkeys(
        "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d", "-"
    ),
    "\u2026": "...",
}
# Invisible characters that one copy of a text may have and another lack.
_DROP = frozenset("\u00ad\u200b\u2060\ufeff")


def _fold_char(ch: str) -> str:
    if ch in _FOLD:
        return _FOLD[ch]
    if ch in _DROP:
        return ""
    if ch.isspace():
        return " "
    if ch.isascii():
        return ch
    return "".join(
        _FOLD.get(c, " " if c.isspace() else c) for c in unicodedata.normalize("NFKD", ch)
    )


class _Folded:
    """A text folded for comparison (see `fold`), with, for each folded code point, the
    index of the code point of the original it came from."""

    def __init__(self, text: str):
        chars: list[str] = []
        origin: list[int] = []
        for i, ch in enumerate(text):
            for out in _fold_char(ch):
                if out == " ":
                    if chars and chars[-1] in " -":
                        continue  # one space for a run of whitespace, none after a dash
                elif out == "-":
                    if chars and chars[-1] == "-":
                        continue  # "--" is one dash
                    if chars and chars[-1] == " ":
                        chars.pop()  # and none before one
                        origin.pop()
                chars.append(out)
                origin.append(i)
        self.text = "".join(chars)
        self.origin = origin

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span the folded span [start, end) came from."""
        return self.origin[start], self.origin[end - 1] + 1

    def at(self, index: int) -> int:
        """The folded index of the original code point `index` (or of the next one kept)."""
        return bisect_left(self.origin, index)


def fold(text: str) -> str:
    """`text` folded for comparison: whitespace runs are one space and none stands beside a
    dash; curly quotes are straight, dashes hyphens, an ellipsis three dots; compatibility
    characters are decomposed; soft hyphens and zero-width spaces are dropped. Case is kept."""
    return _Folded(text).text


def anchor_quote(
    text: str, exact: str, prefix: str = "", suffix: str = "", *, near: int | None = None
) -> Placement | None:
    """Place a TextQuoteSelector (`exact`, with the `prefix` and `suffix` its client gave) in
    `text`: exact, then normalized, then fuzzy (see the module docstring); None when it cannot
    be placed. `near` is a position (code points in `text`) to prefer among equals: a
    TextPositionSelector's start, never trusted over the quote. The anchor quotes `text`."""
    return QuoteAnchorer(text).place(exact, prefix, suffix, near=near)


class QuoteAnchorer:
    """Places quotes in one text. The folded copy of the text is built once, when a quote
    first needs it, so one anchorer serves many quotes (an import, a reading's API)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._folded: _Folded | None = None
        self._reanchorer: _Reanchorer | None = None

    @property
    def folded(self) -> _Folded:
        if self._folded is None:
            self._folded = _Folded(self.text)
        return self._folded

    def occurrences(self, exact: str) -> int:
        """How many times the quote occurs in the text, folded (for a message saying why a
        quote was not placed: none, or too many to choose from)."""
        quote = fold(exact).strip()
        return len(_find_all(self.folded.text, quote)) if quote else 0

    def place(
        self, exact: str, prefix: str = "", suffix: str = "", *, near: int | None = None
    ) -> Placement | None:
        text = self.text
        if not exact.strip():
            return None
        if near is not None and not 0 <= near <= len(text):
            near = None
        before, after = prefix[-CONTEXT:], suffix[:CONTEXT]
        start = _choose(text, _find_all(text, exact), len(exact), before, after, near)
        if start is not None:
            return Placement("exact", anchor_at(text, start, start + len(exact)))

        folded = self.folded
        quote = fold(exact).strip()
        if not quote:
            return None
        before, after = fold(prefix)[-CONTEXT:], fold(suffix)[:CONTEXT]
        here = None if near is None else folded.at(near)
        starts = _find_all(folded.text, quote)
        start = _choose(folded.text, starts, len(quote), before, after, here)
        if start is not None:
            return self._placed(exact, folded.span(start, start + len(quote)), "normalized")
        if starts or len(quote) < MIN_FUZZY_LENGTH:
            return None  # the words are there, but which of them is not known: no guessing

        if self._reanchorer is None:
            self._reanchorer = _Reanchorer(folded.text, index=False)
        hint = 0 if here is None else here
        anchor = Anchor(hint, hint + len(quote), quote, before, after)
        match = self._reanchorer._fuzzy(anchor, trust_long_quote=True)
        if match is None:
            return None
        return self._placed(exact, folded.span(match.start, match.end), "fuzzy")

    def _placed(self, exact: str, span: tuple[int, int], status: Status) -> Placement | None:
        """The anchor of a span mapped back from the folded text, trimmed of whitespace."""
        text = self.text
        start, end = span
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start == end:
            return None
        if text[start:end] == exact:
            status = "exact"
        return Placement(status, anchor_at(text, start, end))


def _choose(
    text: str, starts: list[int], length: int, prefix: str, suffix: str, near: int | None
) -> int | None:
    """Which occurrence of a quote (starting at `starts`) to take, by the context its client
    gave; None if none may be taken (see the module docstring). An empty side is no evidence
    either way."""
    if not starts:
        return None
    best_key: tuple | None = None
    best, agrees = starts[0], False
    for start in starts:
        end = start + length
        score, agreeing = 0.0, False
        if prefix:
            similar = Indel.normalized_similarity(prefix, text[max(0, start - len(prefix)) : start])
            score, agreeing = score + similar, _agrees(prefix, similar)
        if suffix:
            similar = Indel.normalized_similarity(suffix, text[end : end + len(suffix)])
            score, agreeing = score + similar, agreeing or _agrees(suffix, similar)
        key = (agreeing, score, start == near, -abs(start - near) if near is not None else 0)
        if best_key is None or key > best_key:
            best_key, best, agrees = key, start, agreeing
    if agrees:
        return best
    if near is not None and near in starts:
        return near  # no context says otherwise, and the position says it is this one
    if len(starts) == 1 and (not (prefix or suffix) or length >= UNIQUE_LENGTH):
        return best
    return None
