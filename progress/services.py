"""Writes of progress: a member marks a section of a group reading read, or unmarks it.

Marking read is the member's own progress, not something written into the group: it is
allowed in an archived group too (groups.access: mark_read).
"""

from assignments.models import SectionRead
from groups.models import Membership
from readings.models import Reading


def section_read_mark(*, membership: Membership, reading: Reading, section: str) -> SectionRead:
    """Idempotent: marking a section read twice keeps the first time."""
    read, _ = SectionRead.objects.get_or_create(
        membership=membership, reading=reading, section=section
    )
    return read


def section_read_unmark(*, membership: Membership, reading: Reading, section: str) -> None:
    SectionRead.objects.filter(membership=membership, reading=reading, section=section).delete()
