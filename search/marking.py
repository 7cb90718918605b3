"""The words a search found, marked with <mark> in text shown on the results page.

Safely: the text is always escaped first and only our own <mark> and </mark> are put
between the escaped pieces, in pairs, so nothing a member wrote is ever taken as HTML.

PostgreSQL finds the words (ts_headline, which knows that "strikes" matched "strike") and
brackets them with two private-use characters, taken out of the text beforehand so that a
note cannot forge them; `from_headline` turns them into marks. On SQLite, `mark_words`
marks each word or phrase searched for wherever it occurs, whatever its case.
"""

import re
from html import unescape

from django.utils.html import escape, strip_tags
from django.utils.safestring import SafeString, mark_safe

START, STOP = "\ue000", "\ue001"  # what ts_headline is asked to put around a match
EXCERPT = 240  # characters of a note shown around its first match (SQLite)
ELLIPSIS = "…"


def plain(html: str) -> str:
    """A note's cleaned HTML as plain words, without our markers."""
    return unmarkable(" ".join(unescape(strip_tags(html or "")).split()))


def unmarkable(text: str) -> str:
    return (text or "").replace(START, "").replace(STOP, "")


def from_headline(headline: str, *, whole: str | None = None) -> SafeString:
    """ts_headline's output (text with START/STOP around matches) as safe HTML. `whole`: the
    text it was cut from, to show with an ellipsis where the cut left words out."""
    out, inside = [], False
    shown = unmarkable(headline).strip() if whole is not None else ""
    if shown and not whole.startswith(shown.split(" … ")[0]):
        out.append(ELLIPSIS + " ")
    for piece in re.split(f"([{START}{STOP}])", headline or ""):
        if piece == START:
            if not inside:
                out.append("<mark>")
                inside = True
        elif piece == STOP:
            if inside:
                out.append("</mark>")
                inside = False
        else:
            out.append(escape(piece))
    if inside:
        out.append("</mark>")
    if shown and not whole.endswith(shown.split(" … ")[-1]):
        out.append(" " + ELLIPSIS)
    return mark_safe("".join(out))  # every piece escaped above; only our marks added


def spans_of(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Where the words occur in the text, whatever their case: merged, in order."""
    found = []
    for word in {w for w in words if w}:
        # A phrase's words may be apart by any run of spaces in the text.
        pattern = r"\s+".join(re.escape(part) for part in word.split())
        found += [
            m.span() for m in re.finditer(pattern, text, re.IGNORECASE) if m.end() > m.start()
        ]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mark_words(text: str, words: list[str], *, around: int | None = None) -> SafeString:
    """The text, escaped, with each occurrence of the words marked. `around`: cut the text
    to about that many characters around the first occurrence."""
    text = text or ""
    spans = spans_of(text, words)
    begin, end = 0, len(text)
    if around is not None and len(text) > around:
        first = spans[0][0] if spans else 0
        begin = max(0, min(first - around // 3, len(text) - around))
        end = begin + around
        # at word boundaries
        if begin > 0:
            space = text.rfind(" ", 0, begin + 1)
            begin = space + 1 if space >= 0 else begin
        if end < len(text):
            space = text.find(" ", end)
            end = space if space >= 0 else len(text)
    out = [ELLIPSIS + " " if begin > 0 else ""]
    at = begin
    for start, stop in spans:
        if stop <= begin or start >= end:
            continue
        start, stop = max(start, begin), min(stop, end)
        out += [escape(text[at:start]), "<mark>", escape(text[start:stop]), "</mark>"]
        at = stop
    out.append(escape(text[at:end]))
    if end < len(text):
        out.append(" " + ELLIPSIS)
    return mark_safe("".join(out))  # every piece of the text escaped above
