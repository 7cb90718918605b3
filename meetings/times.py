"""How a meeting's time reads, on top of assignments.times (one home for the wording of
instants): "Tue 14 Jan, 19:00–20:30 your time · 20:00–21:30 in the group's time", and where it
stands now: "in 3 days", "tomorrow", "in 2 hours", "starts in 10 minutes", "now, until
20:30", "ended", "cancelled".

A meeting's link is made prominent ("soon") from JOIN_EARLY before it starts until it ends.
Every function takes `now` (and the zones) as arguments, so that tests pass a frozen clock.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from django.utils import dateformat

from assignments.times import CLOCK, MINUTES_UNTIL, moment

JOIN_EARLY = timedelta(minutes=15)
HOURS_UNTIL = timedelta(hours=12)


def ends_at(meeting) -> datetime:
    return meeting.starts_at + timedelta(minutes=meeting.duration_minutes)


@dataclass(frozen=True)
class Phase:
    """Where a meeting stands at `now`."""

    name: str  # "upcoming", "soon" (within JOIN_EARLY of its start), "running", "ended",
    # "cancelled"

    @property
    def joinable(self) -> bool:
        """The link is shown big: just before the start, and while it runs."""
        return self.name in {"soon", "running"}

    @property
    def is_past(self) -> bool:
        return self.name == "ended"


def phase(meeting, now: datetime) -> Phase:
    if meeting.cancelled_at is not None:
        return Phase("cancelled")
    if now >= ends_at(meeting):
        return Phase("ended")
    if now >= meeting.starts_at:
        return Phase("running")
    if now >= meeting.starts_at - JOIN_EARLY:
        return Phase("soon")
    return Phase("upcoming")


def _span(start: datetime, end: datetime, zone: tzinfo, now: datetime) -> str:
    """ "Tue 14 Jan, 19:00–20:30" in `zone` (the end's day too when it is another)."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_end.date() == local_start.date():
        return f"{moment(start, zone, now)}–{dateformat.format(local_end, CLOCK)}"
    return f"{moment(start, zone, now)} – {moment(end, zone, now)}"


def when_label(meeting, *, viewer_zone: tzinfo, group_zone: tzinfo, now: datetime) -> str:
    """The meeting's time in the viewer's zone, with the group's beside it when the clocks
    differ: "Tue 14 Jan, 19:00–20:30 your time · 20:00–21:30 in the group's time"."""
    start, end = meeting.starts_at, ends_at(meeting)
    yours = _span(start, end, viewer_zone, now)
    mine, theirs = start.astimezone(viewer_zone), start.astimezone(group_zone)
    if mine.replace(tzinfo=None) == theirs.replace(tzinfo=None):
        return yours
    if theirs.date() == mine.date():
        group_end = end.astimezone(group_zone)
        group_part = (
            f"{dateformat.format(theirs, CLOCK)}–{dateformat.format(group_end, CLOCK)}"
            if group_end.date() == theirs.date()
            else _span(start, end, group_zone, now)
        )
    else:
        group_part = _span(start, end, group_zone, now)
    return f"{yours} your time · {group_part} in the group's time"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def relative(meeting, *, zone: tzinfo, now: datetime) -> str:
    """Where the meeting stands, in a few words, with days counted in the viewer's zone."""
    current = phase(meeting, now).name
    if current == "cancelled":
        return "cancelled"
    if current == "ended":
        return "ended"
    if current == "running":
        return f"now, until {dateformat.format(ends_at(meeting).astimezone(zone), CLOCK)}"
    left = meeting.starts_at - now
    if left < MINUTES_UNTIL:
        return f"starts in {_count(max(1, left // timedelta(minutes=1)), 'minute')}"
    if left < HOURS_UNTIL:
        return f"in {_count(left // timedelta(hours=1), 'hour')}"
    days = (meeting.starts_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"in {_count(days, 'day')}"


def day_label(instant: datetime, zone: tzinfo, now: datetime) -> str:
    """ "14 Jan" (for "discussed on 14 Jan"), with the year when it is not this year's."""
    local = instant.astimezone(zone)
    return dateformat.format(local, "j M" if local.year == now.astimezone(zone).year else "j M Y")
