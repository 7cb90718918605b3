"""Where in a reading something is, in words a subject line can carry: the heading of the
section it falls in (“Why the working class”), else the reading's title."""

import bisect

from django.core.cache import cache

from readings import text
from readings.models import Reading

PLACE_MAX_LENGTH = 200


def _headings(reading: Reading) -> list[tuple[int, str]]:
    """(offset, heading) of each section's start, in order: kept per revision of the text."""
    key = f"notifications:headings:{reading.pk}:{reading.updated_at.timestamp()}"
    found = cache.get(key)
    if found is None:
        found = []
        for segment in text.segments(reading.sections.all(), reading.blocks.all()):
            if segment.kind == "heading":
                found.append((segment.start, segment.text))
        cache.set(key, found, 24 * 3600)
    return found


def place_of(reading: Reading, offset: int | None) -> str:
    """The heading of the section holding `offset` (in the canonical text), else the title."""
    if offset is not None:
        headings = _headings(reading)
        at = bisect.bisect_right([start for start, _ in headings], offset) - 1
        if at >= 0:
            return headings[at][1][:PLACE_MAX_LENGTH]
    return reading.title[:PLACE_MAX_LENGTH]
