"""Due dates: entered in the group's time zone, stored in UTC, shown in each viewer's own zone
with the group's alongside, and said relatively. "Now" is passed in, never waited for.

The group meets in America/Chicago (UTC-6 in winter, UTC-5 from the second Sunday of March to
the first Sunday of November). Europe/Berlin changes its clocks on other days (the last Sundays
of March and October), Asia/Kolkata never (UTC+5:30).
"""

import html
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from assignments import services, times
from assignments.contents import blocks_of
from groups.models import Membership
from readings.layout import reading_layout

CHICAGO = ZoneInfo("America/Chicago")
BERLIN = ZoneInfo("Europe/Berlin")
KOLKATA = ZoneInfo("Asia/Kolkata")

# Entered on 1 March 2025, in Chicago's winter time (UTC-6); Chicago's clocks go forward on
# 9 March; Berlin's on 30 March.
ENTERED = datetime(2025, 3, 1, 10, 0, tzinfo=CHICAGO)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- entering a due date in the group's zone -------------------------------------------------


def test_a_wall_time_after_the_clocks_change_is_that_wall_time_there():
    """Entered in winter, due after the clocks go forward: 19:00 is 19:00 CDT (UTC-5), not the
    UTC-6 it would be if the offset of the day of entry were used."""
    due = times.from_group_time(date(2025, 3, 20), time(19, 0), CHICAGO)

    assert due == datetime(2025, 3, 21, 0, 0, tzinfo=UTC)
    assert times.to_group_time(due, CHICAGO) == (date(2025, 3, 20), time(19, 0))


def test_a_wall_time_the_clocks_skip_is_refused():
    with pytest.raises(times.NoSuchTime, match="does not exist in America/Chicago"):
        times.from_group_time(date(2025, 3, 9), time(2, 30), CHICAGO)


def test_a_wall_time_that_happens_twice_is_the_first_one():
    """01:30 on 2 November 2025 happens in CDT and again in CST: the first (UTC-5)."""
    due = times.from_group_time(date(2025, 11, 2), time(1, 30), CHICAGO)

    assert due == datetime(2025, 11, 2, 6, 30, tzinfo=UTC)


# --- showing it -------------------------------------------------------------------------------

DUE = datetime(2025, 3, 21, 0, 0, tzinfo=UTC)  # Thu 20 March, 19:00 in Chicago (CDT)


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        # Kolkata is 10:30 ahead of Chicago in March after the change: the next morning there
        (KOLKATA, "Fri 21 Mar, 05:30 your time · Thu 20 Mar, 19:00 in the group's time"),
        # Berlin has not changed its clocks yet (UTC+1): 6 hours ahead, not the usual 7
        (BERLIN, "Fri 21 Mar, 01:00 your time · Thu 20 Mar, 19:00 in the group's time"),
        (CHICAGO, "Thu 20 Mar, 19:00"),
    ],
    ids=["Kolkata", "Berlin", "Chicago"],
)
def test_a_due_date_reads_in_the_viewers_time_and_the_groups(viewer, expected):
    assert times.due_label(DUE, viewer_zone=viewer, group_zone=CHICAGO, now=ENTERED) == expected


def test_the_groups_part_names_only_the_hour_when_it_is_the_same_day():
    due = times.from_group_time(date(2025, 1, 14), time(12, 0), CHICAGO)

    label = times.due_label(due, viewer_zone=BERLIN, group_zone=CHICAGO, now=ENTERED)

    assert label == "Tue 14 Jan, 19:00 your time · 12:00 in the group's time"


def test_a_zone_whose_clock_reads_the_same_shows_one_time():
    """Paris and Berlin are different zones with the same clock: nothing to add."""
    label = times.due_label(
        DUE, viewer_zone=ZoneInfo("Europe/Paris"), group_zone=BERLIN, now=ENTERED
    )

    assert label == "Fri 21 Mar, 01:00"


def test_a_due_date_in_another_year_says_the_year():
    due = datetime(2026, 1, 14, 1, 0, tzinfo=UTC)

    label = times.due_label(due, viewer_zone=UTC, group_zone=UTC, now=ENTERED)

    assert label == "Wed 14 Jan 2026, 01:00"


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        (ENTERED + timedelta(minutes=25), "due in 25 minutes"),
        (ENTERED + timedelta(minutes=61), "due in 1 hour"),
        (ENTERED + timedelta(hours=5, minutes=10), "due in 5 hours"),
        (ENTERED.replace(hour=23), "due today"),  # 13 hours on, the same day
        (ENTERED + timedelta(days=1), "due tomorrow"),
        (ENTERED + timedelta(days=3), "due in 3 days"),
        (ENTERED + timedelta(days=19, hours=9), "due in 19 days"),  # across the change
        (ENTERED - timedelta(minutes=1), "overdue by 1 minute"),
        (ENTERED - timedelta(hours=2), "overdue by 2 hours"),
        (ENTERED - timedelta(days=2), "overdue by 2 days"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_relative_phrase(due, expected):
    assert times.due_relative(due, zone=CHICAGO, now=ENTERED) == expected


def test_late_in_the_evening_tomorrow_morning_is_hours_away():
    evening = datetime(2025, 3, 1, 23, 0, tzinfo=CHICAGO)

    assert times.due_relative(evening + timedelta(hours=8), zone=CHICAGO, now=evening) == (
        "due in 8 hours"
    )


def test_tomorrow_is_the_viewers_tomorrow():
    """The same instant is tomorrow in Kolkata and today in Chicago."""
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # 17:30 in Kolkata, 06:00 in Chicago
    due = datetime(2025, 3, 2, 2, 0, tzinfo=UTC)  # 07:30 tomorrow in Kolkata, 20:00 in Chicago

    assert times.due_relative(due, zone=KOLKATA, now=now) == "due tomorrow"
    assert times.due_relative(due, zone=CHICAGO, now=now) == "due today"


def test_the_template_tags_give_a_time_element_in_utc():
    group = SimpleNamespace(time_zone="America/Chicago")
    template = Template(
        "{% load assignment_times %}{% due_at due group %} — {% due_relative due %}"
    )

    with timezone.override(KOLKATA):
        shown = template.render(Context({"due": DUE, "group": group, "now": ENTERED}))

    assert shown.startswith('<time datetime="2025-03-21T00:00:00Z"')
    assert "Fri 21 Mar, 05:30 your time · Thu 20 Mar, 19:00 in the group&#x27;s time</time>" in (
        shown
    )
    assert shown.endswith(" — due in 20 days")  # 1 March 21:30 to 21 March 05:30, in Kolkata


# --- end to end: entered by the facilitator, read by members in Kolkata and Berlin -------------


@pytest.fixture
def chicago_group(group, member, facilitator, make_user):
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    facilitator.time_zone = "America/Chicago"
    facilitator.save(update_fields=["time_zone"])
    member.time_zone = "Asia/Kolkata"
    member.save(update_fields=["time_zone"])
    berliner = make_user("bert", display_name="Bert Berlin", time_zone="Europe/Berlin")
    Membership.objects.create(group=group, user=berliner, role=Membership.Role.MEMBER)
    group.berliner = berliner
    return group


def page_text(client, user, group) -> str:
    client.force_login(user)
    response = client.get(reverse("assignments:list", args=[group.slug]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def day(moment: datetime) -> str:
    """ "Fri 21 Mar" (with the year when it is not this year), worked out without Django."""
    year = "" if moment.year == timezone.now().year else f" {moment.year}"
    return f"{moment:%a} {moment.day} {moment:%b}{year}"


@pytest.mark.parametrize("month", [1, 7], ids=["winter", "summer"])
def test_entered_in_chicago_and_read_in_kolkata_and_berlin(
    client, chicago_group, essay, facilitator, member, month
):
    """Next year's January and July: whatever today is, one of them is across a change of
    Chicago's clocks from the day it is entered."""
    due_day = date(timezone.now().year + 1, month, 14)
    found = blocks_of(reading_layout(essay))
    client.force_login(facilitator)
    response = client.post(
        reverse("assignments:create", args=[chicago_group.slug]),
        {
            "reading": essay.slug,
            "title": "Week 3",
            "first_block": found[0].anchor,
            "last_block": found[2].anchor,
            "due_date": f"{due_day:%Y-%m-%d}",
            "due_time": "19:00",
        },
    )
    assert response.status_code == 302
    offset = 6 if month == 1 else 5  # CST, CDT
    utc = datetime.combine(due_day, time(19, 0), tzinfo=UTC) + timedelta(hours=offset)
    assignment = chicago_group.group_readings.get().assignments.get()
    assert assignment.due_at == utc

    in_kolkata = utc.astimezone(KOLKATA)
    in_berlin = utc.astimezone(BERLIN)
    group_part = f"{day(due_day)}, 19:00 in the group's time"
    assert f"{day(in_kolkata)}, {in_kolkata:%H:%M} your time · {group_part}" in page_text(
        client, member, chicago_group
    )
    assert f"{day(in_berlin)}, {in_berlin:%H:%M} your time · {group_part}" in page_text(
        client, chicago_group.berliner, chicago_group
    )
    assert f"{day(due_day)}, 19:00</time>" in page_text(client, facilitator, chicago_group)
    assert f'datetime="{utc:%Y-%m-%dT%H:%M:%SZ}"' in page_text(client, member, chicago_group)


def test_the_service_keeps_the_instant_whatever_zone_the_server_runs_in(
    chicago_group, essay, facilitator, settings
):
    settings.TIME_ZONE = "Asia/Tokyo"
    found = blocks_of(reading_layout(essay))
    due = times.from_group_time(date(2025, 3, 20), time(19, 0), CHICAGO)

    assignment = services.assignment_create(
        group=chicago_group,
        reading=essay,
        created_by=facilitator,
        title="Week 3",
        first_block=found[0].anchor,
        last_block=found[1].anchor,
        due_at=due,
        now=ENTERED,
    )

    assignment.refresh_from_db()
    assert assignment.due_at == datetime(2025, 3, 21, 0, 0, tzinfo=UTC)
