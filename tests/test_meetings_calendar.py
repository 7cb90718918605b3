"""The private calendar feed: made, shown once, replaced and turned off from the account's
Calendar page; the feed parses back with icalendar, keeps its UIDs, shows its owner's groups
only (and only while they are members), cancelled meetings as cancelled, times in UTC."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from assignments.services import assignment_create
from groups.models import Membership
from groups.services import membership_remove
from meetings import services
from meetings.calendar import assignment_uid
from meetings.models import CalendarFeed
from readings.layout import reading_layout

SOON = timezone.now() + timedelta(days=7)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def schedule(group, facilitator, title, start=None, **fields):
    start = start or SOON
    return services.meeting_create(
        group=group,
        created_by=facilitator,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        **fields,
    )


@pytest.fixture
def world(group, other_group, essay, facilitator, other_member):
    """Our group's meeting (with a link) and assignment; another group's meeting."""
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    ours = schedule(group, facilitator, "Week 2 meeting", link="https://meet.example/w2")
    week = assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2: Why the working class",
        first_block=blocks[0].anchor,
        last_block=blocks[1].anchor,
        due_at=SOON - timedelta(days=1),
    )
    theirs = schedule(other_group, other_member, "Night shift meeting")
    return {"ours": ours, "week": week, "theirs": theirs}


def feed_url(raw: str) -> str:
    return reverse("meetings:calendar_feed", args=[raw])


def events(client, raw: str) -> dict[str, object]:
    response = client.get(feed_url(raw))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_the_feed_parses_and_holds_the_owners_meetings_and_due_dates(client, member, world):
    _, raw = services.calendar_feed_create(user=member)

    found = events(client, raw)

    ours, week = world["ours"], world["week"]
    assert set(found) == {str(ours.uid), assignment_uid(week.pk)}
    meeting = found[str(ours.uid)]
    assert str(meeting["SUMMARY"]) == "Week 2 meeting"
    assert meeting.decoded("DTSTART") == ours.starts_at
    assert meeting.decoded("DTSTART").utcoffset() == timedelta(0)
    assert meeting.decoded("DTEND") - meeting.decoded("DTSTART") == timedelta(minutes=90)
    assert str(meeting["LOCATION"]) == "https://meet.example/w2"
    assert str(meeting["URL"]) == "https://meet.example/w2"
    assert str(meeting["STATUS"]) == "CONFIRMED"
    assert "DTSTAMP" in meeting
    assert reverse("meetings:detail", args=[ours.group.slug, ours.pk]) in str(
        meeting["DESCRIPTION"]
    )
    due = found[assignment_uid(week.pk)]
    assert str(due["SUMMARY"]) == "Due: Week 2: Why the working class (Tuesday Reading Circle)"
    assert due.decoded("DTSTART") == week.due_at
    assert "DTSTAMP" in due


def test_times_are_written_in_utc(client, member, world):
    _, raw = services.calendar_feed_create(user=member)
    body = client.get(feed_url(raw)).content.decode()
    starts = re.findall(r"^DTSTART[^:]*:(.*)\r$", body, re.M)
    assert starts and all(value.endswith("Z") for value in starts)


def test_uids_and_bytes_are_stable_across_two_fetches(client, member, world):
    _, raw = services.calendar_feed_create(user=member)
    first = client.get(feed_url(raw))
    second = client.get(feed_url(raw))

    assert first.content == second.content
    assert first["ETag"] == second["ETag"]
    assert client.get(feed_url(raw), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_a_moved_meeting_keeps_its_uid(client, member, world):
    _, raw = services.calendar_feed_create(user=member)
    before = set(events(client, raw))
    later = SOON + timedelta(days=2)
    services.meeting_update(
        meeting=world["ours"],
        title="Moved",
        starts_at=later,
        ends_at=later + timedelta(hours=1),
    )
    after = events(client, raw)
    assert set(after) == before
    assert str(after[str(world["ours"].uid)]["SUMMARY"]) == "Moved"


def test_the_feed_is_private_to_caches(client, member, world):
    _, raw = services.calendar_feed_create(user=member)
    response = client.get(feed_url(raw))
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


def test_a_feed_shows_only_its_owners_groups(client, member, other_member, world):
    _, ours = services.calendar_feed_create(user=member)
    _, theirs = services.calendar_feed_create(user=other_member)

    assert str(world["theirs"].uid) not in events(client, ours)
    assert set(events(client, theirs)) == {str(world["theirs"].uid)}


def test_a_cancelled_meeting_is_cancelled_in_the_feed(client, member, world):
    services.meeting_cancel(meeting=world["ours"])
    _, raw = services.calendar_feed_create(user=member)

    event = events(client, raw)[str(world["ours"].uid)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("Cancelled:")


def test_a_member_who_leaves_stops_seeing_the_groups_events(client, group, member, world):
    _, raw = services.calendar_feed_create(user=member)
    assert events(client, raw)

    membership_remove(membership=Membership.objects.get(group=group, user=member))

    assert events(client, raw) == {}


@pytest.mark.parametrize("key", ["not-a-key", "x" * 43, "a" * 200])
def test_an_unknown_key_is_a_404(client, world, key):
    assert client.get(feed_url(key)).status_code == 404


def test_a_revoked_or_replaced_key_is_a_404(client, member, world):
    _, first = services.calendar_feed_create(user=member)
    _, second = services.calendar_feed_create(user=member)
    assert client.get(feed_url(first)).status_code == 404
    assert client.get(feed_url(second)).status_code == 200

    services.calendar_feed_revoke(user=member)
    assert client.get(feed_url(second)).status_code == 404


def test_the_key_is_stored_only_as_its_hash(member):
    feed, raw = services.calendar_feed_create(user=member)
    assert len(raw) >= 43
    assert raw not in feed.key_hash and feed.key_hash == services.hash_key(raw)


def test_a_deactivated_accounts_feed_is_a_404(client, member, world):
    _, raw = services.calendar_feed_create(user=member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert client.get(feed_url(raw)).status_code == 404


# --- the Calendar page of the account -------------------------------------------------------------


def test_the_address_is_shown_once_when_made(client, member):
    client.force_login(member)
    page = client.get(reverse("meetings:calendar")).content.decode()
    assert "Make my calendar address" in page

    made = client.post(reverse("meetings:calendar_create"))
    body = made.content.decode()
    assert made.status_code == 200 and made["Cache-Control"] == "no-store"
    address = re.search(r'id="calendar-url" type="text" readonly value="([^"]+)"', body).group(1)
    assert address.startswith("http://testserver/calendar/") and address.endswith(".ics")
    assert "webcal://testserver/calendar/" in body
    assert "Google Calendar" in body
    assert client.get(address.removeprefix("http://testserver")).status_code == 200

    later = client.get(reverse("meetings:calendar")).content.decode()
    assert address not in later and "Replace the address" in later


def test_replacing_asks_first_and_the_old_address_stops(client, member):
    client.force_login(member)
    _, old = services.calendar_feed_create(user=member)

    asked = client.post(reverse("meetings:calendar_create"))
    assert "Replace it" in asked.content.decode()
    assert CalendarFeed.objects.filter(revoked_at__isnull=True).count() == 1

    client.post(reverse("meetings:calendar_create"), {"confirmed": "1"})
    assert client.get(feed_url(old)).status_code == 404
    assert CalendarFeed.objects.filter(user=member, revoked_at__isnull=True).count() == 1


def test_turning_it_off_asks_first(client, member):
    client.force_login(member)
    _, raw = services.calendar_feed_create(user=member)

    client.post(reverse("meetings:calendar_revoke"))
    assert client.get(feed_url(raw)).status_code == 200
    client.post(reverse("meetings:calendar_revoke"), {"confirmed": "1"})
    assert client.get(feed_url(raw)).status_code == 404


def test_one_person_cannot_turn_off_anothers_address(client, member, outsider):
    _, raw = services.calendar_feed_create(user=member)
    client.force_login(outsider)
    client.post(reverse("meetings:calendar_revoke"), {"confirmed": "1"})
    assert client.get(feed_url(raw)).status_code == 200


def test_the_calendar_pages_need_a_login(client):
    response = client.get(reverse("meetings:calendar"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get(reverse("meetings:calendar_create")).status_code in {302, 405}
