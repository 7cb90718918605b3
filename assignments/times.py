"""How a due date reads: one home for the wording, used by every page that shows one.

A due date is stored in UTC and entered in the group's time zone (`from_group_time`). It is
shown in the viewer's own zone, with the group's alongside when the two clocks differ at that
moment ("Tue 14 Jan, 19:00 your time · 20:00 in the group's time"), and with a relative phrase
("due in 3 days", "due tomorrow", "due in 5 hours", "due today", "overdue by 2 days").

Every function takes `now` (and the zones) as arguments, so tests freeze time by passing it in;
`assignments.templatetags.assignment_times` supplies the request's zone and the clock.

The arithmetic is zoneinfo's: a wall time is converted per instant, so a due date entered in
America/Chicago before the clocks change and due after it keeps its wall time there, and every
other zone sees the instant that wall time really is.
"""

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.utils import dateformat

DAY = "D j M"  # Tue 14 Jan
DAY_WITH_YEAR = "D j M Y"  # Tue 14 Jan 2027, when it is not this year
CLOCK = "H:i"  # 19:00

# Below these a relative phrase counts minutes (then hours) rather than hours (then days).
MINUTES_UNTIL = timedelta(hours=1)
HOURS_UNTIL = timedelta(hours=12)  # "due in 8 hours" reads better than "due tomorrow" at 23:00
OVERDUE_HOURS_UNTIL = timedelta(days=1)


class NoSuchTime(ValueError):
    """A wall time the group's clocks skip (the hour the clocks go forward)."""


def _safe(wording):
    """A wording of an instant that a zone cannot hold (year 1 west of UTC, year 9999 east of
    it) says so instead of failing the page."""

    @functools.wraps(wording)
    def worded(instant, *args, **kwargs):
        try:
            return wording(instant, *args, **kwargs)
        except (OverflowError, ValueError):
            return "at an impossible time"

    return worded


def zone_named(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def from_group_time(day: date, clock: time, zone: tzinfo) -> datetime:
    """The UTC instant of a wall time in the group's zone.

    A time the clocks skip raises NoSuchTime; a time that happens twice (the hour the clocks
    go back) is its first occurrence. A date so far out that it has no UTC instant raises
    OverflowError."""
    wall = datetime.combine(day, clock.replace(tzinfo=None, fold=0), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise NoSuchTime(
            f"{clock:%H:%M} on {day.day} {day:%B} does not exist in {zone}: the clocks go forward "
            "then. Choose a time an hour later."
        )
    return instant


def to_group_time(instant: datetime, zone: tzinfo) -> tuple[date, time]:
    """The wall date and time in the group's zone, for a form."""
    local = instant.astimezone(zone)
    return local.date(), local.time().replace(tzinfo=None, second=0, microsecond=0)


@_safe
def moment(instant: datetime, zone: tzinfo, now: datetime) -> str:
    """ "Tue 14 Jan, 19:00" in `zone` (the year too when it is not this year there)."""
    local = instant.astimezone(zone)
    day = DAY if local.year == now.astimezone(zone).year else DAY_WITH_YEAR
    return dateformat.format(local, f"{day}, {CLOCK}")


@_safe
def due_label(instant: datetime, *, viewer_zone: tzinfo, group_zone: tzinfo, now: datetime) -> str:
    """ "Tue 14 Jan, 19:00 your time · 20:00 in the group's time", or just the first part when
    the viewer's clock and the group's read the same at that moment. The group's part names the
    day only when it is another day there."""
    yours = instant.astimezone(viewer_zone)
    theirs = instant.astimezone(group_zone)
    if yours.replace(tzinfo=None) == theirs.replace(tzinfo=None):
        return moment(instant, viewer_zone, now)
    group_part = (
        dateformat.format(theirs, CLOCK)
        if theirs.date() == yours.date()
        else moment(instant, group_zone, now)
    )
    return f"{moment(instant, viewer_zone, now)} your time · {group_part} in the group's time"


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


@_safe
def due_relative(instant: datetime, *, zone: tzinfo, now: datetime) -> str:
    """ "due in 25 minutes", "due in 5 hours", "due today", "due tomorrow", "due in 3 days";
    "overdue by 25 minutes", "overdue by 5 hours", "overdue by 2 days". Days are calendar
    days in the viewer's zone (due tomorrow means on the viewer's tomorrow)."""
    left = instant - now
    days = (instant.astimezone(zone).date() - now.astimezone(zone).date()).days
    if left <= timedelta(0):
        late = -left
        if late < MINUTES_UNTIL:
            return f"overdue by {_count(max(1, late // timedelta(minutes=1)), 'minute')}"
        if late < OVERDUE_HOURS_UNTIL:
            return f"overdue by {_count(late // timedelta(hours=1), 'hour')}"
        return f"overdue by {_count(max(1, -days), 'day')}"
    if left < MINUTES_UNTIL:
        return f"due in {_count(max(1, left // timedelta(minutes=1)), 'minute')}"
    if left < HOURS_UNTIL:
        return f"due in {_count(left // timedelta(hours=1), 'hour')}"
    if days == 0:
        return "due today"
    if days == 1:
        return "due tomorrow"
    return f"due in {_count(days, 'day')}"


def utc_iso(instant: datetime) -> str:
    """The `datetime` attribute of a <time> element: UTC, to the second."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
