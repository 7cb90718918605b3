"""Adversarial review of issue 11, notifications: what an attacker or a picky product owner
would try against the inbox, the emails, the digest, mutes and one-click unsubscribe.

Each finding that is a real bug is a strict xfail whose reason says what is wrong, where, and
what it should do (it fails, and so turns red, once fixed). What holds is a plain test, kept
as a regression test. Findings come first, most severe first.

Not repeated here: what tests/test_notifications.py and tests/test_notification_email.py
already pin (who is told of each kind, the basic visibility rules, the SMTP conversation, the
two-run race, the digest at 08:00 in Kolkata, the basic unsubscribe).
"""

import contextlib
import hashlib
import html
import io
import smtplib
import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from email import message_from_bytes, policy
from email.utils import parseaddr
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail, signing
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from annotations.models import Flag
from assignments.contents import blocks_of
from assignments.services import assignment_create, assignment_update
from groups.models import GroupReading, Membership
from groups.services import group_archive, group_create, group_reading_remove, membership_remove
from meetings.services import meeting_create, meeting_recap
from notifications import delivery
from notifications.access import visible_notifications
from notifications.delivery import send_notifications
from notifications.models import Delivery, Email, Kind, Mute, Notification, Preferences
from notifications.services import due_soon_notify, mute_set
from notifications.tokens import SALT, unsubscribe_token
from readings.layout import reading_layout
from tests.annotating import QUOTE, create, reply_to, span

OUTSIDE = "When socialists talk about ordinary people"  # another paragraph, same section
DIGEST = "Your daily digest"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="Row locks (SKIP LOCKED) are PostgreSQL's."
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="The single-runner file lock is SQLite's alone."
)


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _own_lock_directory(monkeypatch, tmp_path):
    """The SQLite runner's lock file in this test's own temporary directory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def sami(make_user, group):
    """Another member of `group`."""
    user = make_user("sami", display_name="Sami Classmate")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def note(group, essay, member):
    """Maria's note on QUOTE."""
    return create(group, essay, member, body="Is this the whole premise?")


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def seen(user, **filters) -> list[Notification]:
    """What the person may see of their notifications now."""
    return list(visible_notifications(user).filter(**filters))


def inbox_of(user) -> str:
    response = signed_in(user).get(reverse("notifications:inbox"))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def paragraph_of(reading, quote: str):
    start, _ = span(reading, quote)
    return next(
        b for b in blocks_of(reading_layout(reading)) if b.start <= start < b.start + len(b.text)
    )


def assign(group, essay, facilitator, quote=QUOTE, due_in=timedelta(days=7), **fields):
    """An assignment of the paragraph holding `quote`, due in `due_in`."""
    block = paragraph_of(essay, quote)
    fields.setdefault("title", "Week 1")
    return assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + due_in,
        **fields,
    )


def schedule(group, facilitator, starts_in=timedelta(days=7), **fields):
    start = timezone.now() + starts_in
    fields.setdefault("title", "Week 2")
    return meeting_create(
        group=group,
        created_by=facilitator,
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        **fields,
    )


def local(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=ZoneInfo(zone))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local(day, hour, minute, "UTC").astimezone(UTC)


def sent_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


def digests_to(user) -> list:
    return [m for m in sent_to(user) if m.subject.startswith(DIGEST)]


def prefer(user, **choices) -> Preferences:
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults=choices)
    return preferences


def run_command() -> str:
    out = io.StringIO()
    call_command("send_notifications", stdout=out)
    return out.getvalue()


def parsed(message):
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def one_click(path):
    """The mail client's POST of RFC 8058: no session, no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    return client.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )


def unsubscribe_url(user, kind) -> str:
    return reverse("notifications:unsubscribe", args=[unsubscribe_token(user.pk, kind)])


def group_with(name, essay, facilitator, *members):
    group = group_create(name=name, created_by=facilitator)
    for user in members:
        Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    GroupReading.objects.create(group=group, reading=essay, added_by=facilitator)
    return group


# =================================================================================================
# Findings: real bugs, most severe first
# =================================================================================================


@pytest.mark.django_db
def test_the_runs_mail_connection_cannot_block_forever(settings, monkeypatch, note, sami):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    made = []
    real = delivery.get_connection

    def spy(*args, **kwargs):
        connection = real(*args, **kwargs)
        made.append(connection)
        connection.send_messages = lambda messages: len(messages)  # no real server
        return connection

    monkeypatch.setattr(delivery, "get_connection", spy)
    reply_to(note, sami, body="Over the wire.")

    send_notifications()

    [used] = made
    assert used.timeout is not None and 0 < used.timeout <= 120, used.timeout


class RefusesLogin:
    """A mail connection whose server refuses the site's credentials (535) for now: the
    password was rotated, the provider's auth is down for a minute."""

    tries = 0

    def send_messages(self, messages):
        RefusesLogin.tries += 1
        raise smtplib.SMTPAuthenticationError(535, b"5.7.8 Authentication credentials invalid")

    def close(self):
        pass


@pytest.mark.django_db
def test_a_mail_server_refusing_the_login_does_not_fail_every_waiting_email(
    group, essay, note, member, sami, facilitator
):
    for i in range(3):
        reply_to(note, sami, body=f"Reply {i}.")
    create(group, essay, sami, quote=OUTSIDE, body="For @fran.")

    send_notifications(mail=RefusesLogin())

    states = set(Notification.objects.values_list("email", flat=True))
    assert Email.FAILED not in states, states
    assert states == {Email.QUEUED}


@pytest.mark.django_db
def test_a_recap_cleared_leaves_the_inbox_and_is_never_emailed(group, facilitator, member):
    past = schedule(group, facilitator, starts_in=timedelta(hours=-3), in_the_past=True)
    meeting_recap(group=group, meeting=past, recap="We chose week 3.", by=facilitator)
    assert len(seen(member, kind=Kind.RECAP)) == 1

    meeting_recap(group=group, meeting=past, recap="", by=facilitator)
    send_notifications(now=timezone.now() + timedelta(days=1))

    assert seen(member, kind=Kind.RECAP) == []
    assert "posted the recap" not in inbox_of(member)
    assert sent_to(member) == []


@pytest.mark.django_db
def test_after_the_digests_one_click_unsubscribe_no_digest_comes(group, essay, facilitator, member):
    assign(group, essay, facilitator)  # waits for the digest (the default)
    prefer(member, assignment=Delivery.IMMEDIATELY)  # changes her mind about assignments

    assert one_click(unsubscribe_url(member, "digest")).status_code == 200
    send_notifications(now=timezone.now() + timedelta(days=1))

    assert digests_to(member) == []


def _locked_groups(count, essay, facilitator, member):
    """`count` groups of Maria's, each with “post before you peek” open and a notification."""
    for i in range(count):
        group = group_with(f"Locked {i}", essay, facilitator, member)
        assign(group, essay, facilitator, post_before_peek=True, title=f"Locked {i}")


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["notifications:inbox", "notifications:unread"])
def test_the_inbox_and_unread_count_cost_the_same_with_more_locked_groups(
    essay, facilitator, member, page
):
    _locked_groups(1, essay, facilitator, member)
    client = signed_in(member)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(page)).status_code == 200

    _locked_groups(4, essay, facilitator, member)
    with CaptureQueriesContext(connection) as five:
        assert client.get(reverse(page)).status_code == 200

    assert len(five) == len(one)


def _thread_with(count, group, essay, facilitator, member, make_user, prefix):
    root = create(group, essay, member, body="Start here.")
    for i in range(count):
        user = make_user(f"{prefix}{i}")
        Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
        reply_to(root, user, body=f"Reply {i}.")
    return root


@pytest.mark.django_db
def test_a_reply_costs_the_same_queries_however_many_took_part_with_a_lock_open(
    group, essay, facilitator, member, make_user
):
    assign(group, essay, facilitator, quote=OUTSIDE, post_before_peek=True)
    small = _thread_with(5, group, essay, facilitator, member, make_user, "small")
    large = _thread_with(25, group, essay, facilitator, member, make_user, "large")

    with CaptureQueriesContext(connection) as few:
        reply_to(small, facilitator, body="To five.")
    with CaptureQueriesContext(connection) as many:
        reply_to(large, facilitator, body="To twenty-five.")

    assert Notification.objects.filter(annotation__body="To twenty-five.").count() == 26
    assert len(many) == len(few), (len(few), len(many))


@pytest.mark.django_db
def test_a_deadline_extended_is_reminded_of_again_before_the_new_due_date(
    group, essay, facilitator, member
):
    assignment = assign(group, essay, facilitator, due_in=timedelta(hours=12))
    assert due_soon_notify() == 1
    assignment_update(
        assignment=assignment,
        title=assignment.title,
        first_block=assignment.first_block,
        last_block=assignment.last_block,
        due_at=timezone.now() + timedelta(days=5),
    )

    later = timezone.now() + timedelta(days=4, hours=12)  # the new deadline is 12 h away

    assert due_soon_notify(now=later) == 1


@pytest.mark.django_db
def test_a_due_soon_line_stops_saying_nothing_is_written_once_the_member_writes(
    group, essay, facilitator, member
):
    assign(group, essay, facilitator, due_in=timedelta(hours=12))
    due_soon_notify()
    assert "Reminder:" in inbox_of(member)

    create(group, essay, member, body="Here is what I think.")

    assert "Reminder:" not in inbox_of(member)  # the reminder goes once they have written


@pytest.mark.django_db
def test_a_digest_hour_moved_later_the_same_day_still_sends_at_the_new_hour(
    group, essay, facilitator, member
):
    day = (timezone.now() + timedelta(days=2)).date()
    assign(group, essay, facilitator)
    Notification.objects.update(created_at=at(day, 7))
    assert send_notifications(now=at(day, 8, 1)).digests == 1  # UTC, 08:00: the default
    late = assign(group, essay, facilitator, title="Week 2")
    Notification.objects.filter(assignment=late).update(created_at=at(day, 10))

    prefer(member, digest_hour=20)

    assert send_notifications(now=at(day, 20, 1)).digests == 1


@pytest.mark.django_db
def test_a_member_who_moves_west_gets_the_next_digest_at_their_new_hour(
    group, essay, facilitator, member
):
    day = (timezone.now() + timedelta(days=2)).date()
    member.time_zone = "Asia/Kolkata"
    member.save(update_fields=["time_zone"])
    assign(group, essay, facilitator)
    Notification.objects.update(created_at=at(day, 1))
    assert send_notifications(now=local(day, 8, 1, "Asia/Kolkata")).digests == 1

    member.time_zone = "America/Los_Angeles"
    member.save(update_fields=["time_zone"])
    late = assign(group, essay, facilitator, title="Week 2")
    Notification.objects.filter(assignment=late).update(created_at=at(day, 4))

    assert send_notifications(now=local(day, 8, 1, "America/Los_Angeles")).digests == 1


@pytest.mark.django_db
def test_a_note_flagged_again_after_a_resolved_flag_shows_one_flag_line(
    group, essay, facilitator, member, sami
):
    rude = create(group, essay, sami, body="Something rude.")
    annotation_services.annotation_flag(annotation=rude, user=member, reason="Rude.")
    annotation_services.annotation_hide(annotation=rude, by=facilitator, note="Rude.")
    annotation_services.annotation_unhide(annotation=rude)

    annotation_services.annotation_flag(annotation=rude, user=member, reason="Rude again.")

    assert len(seen(facilitator, kind=Kind.FLAG)) == 1


@pytest.mark.django_db
def test_a_mention_added_by_an_edit_reaches_a_facilitator_told_of_a_flag_on_it(
    group, essay, facilitator, member, sami
):
    flagged = create(group, essay, sami, body="Something rude.")
    annotation_services.annotation_flag(annotation=flagged, user=member, reason="Rude.")
    # (its words are held while the flag is open: the facilitator has looked, and let it be)
    Flag.objects.filter(annotation=flagged).update(resolved_at=timezone.now())

    annotation_services.annotation_update(annotation=flagged, body="Sorry. @fran, is it fine?")

    assert Notification.objects.filter(recipient=facilitator, kind=Kind.MENTION).exists()


@pytest.mark.django_db
def test_sharing_a_private_thread_tells_those_its_replies_mention(group, essay, member, sami):
    private = create(group, essay, member, body="Only me for now.", visibility="private")
    reply_to(private, member, body="@sami, look at this.")

    annotation_services.annotation_update(annotation=private, visibility="group")

    assert Notification.objects.filter(recipient=sami, kind=Kind.MENTION).exists()


@pytest.mark.django_db
def test_every_unmute_the_settings_page_offers_works(group, essay, facilitator, member, sami):
    thread = create(group, essay, sami, body="Sami's thread.")
    mute_set(user=member, group=group, thread=thread, muted=True)
    annotation_services.annotation_hide(annotation=thread, by=facilitator, note="Off topic.")
    client = signed_in(member)

    page = client.get(reverse("notifications:settings")).content.decode()

    if "Muted threads" in page:
        url = reverse("notifications:mute_thread", args=[group.slug, essay.slug, thread.pk])
        response = client.post(url, {"muted": "0"})
        assert response.status_code == 302
        assert not Mute.objects.filter(user=member).exists()


@pytest.mark.django_db
def test_an_empty_settings_post_says_what_is_missing(member, group):
    response = signed_in(member).post(reverse("notifications:settings"), {})

    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()


@sqlite_only
@pytest.mark.django_db
def test_the_run_lock_does_not_truncate_a_file_a_symlink_points_at(tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("precious")
    database = str(Path(str(settings.DATABASES["default"]["NAME"])).resolve())
    name = hashlib.sha256(database.encode()).hexdigest()[:16]
    planted = Path(tempfile.gettempdir()) / f"commonplace-send-notifications-{name}.lock"
    planted.symlink_to(victim)

    with contextlib.suppress(OSError):  # refusing to follow it is fine
        send_notifications()

    assert victim.read_text() == "precious"


# =================================================================================================
# What holds (regression tests)
# =================================================================================================

# --- walls: redirects, CSRF, other people's ids -------------------------------------------------

HOSTILE_NEXT = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "http:///evil.example",
    "https:evil.example",
    " //evil.example",
    "/\t/evil.example",
    "\x00//evil.example",
    "javascript:alert(1)",
]


@pytest.mark.django_db
@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_next_never_sends_anyone_off_the_site(group, facilitator, member, target):
    schedule(group, facilitator)
    notification = Notification.objects.get(recipient=member)
    client = signed_in(member)
    posts = [
        reverse("notifications:mark", args=[notification.pk]),
        reverse("notifications:mark_all"),
        reverse("notifications:mute_group", args=[group.slug]),
    ]

    for url in posts:
        response = client.post(url, {"next": target, "muted": "0", "read": "0"})
        assert response.status_code == 302
        location = response["Location"]
        assert location.startswith("/") and not location.startswith(("//", "/\\")), location
        assert "evil" not in location.replace("%", ""), location


@pytest.mark.django_db
def test_every_state_change_but_unsubscribe_needs_a_csrf_token(group, essay, member, note):
    schedule(group, group.memberships.get(role="facilitator").user)
    notification = Notification.objects.get(recipient=member)
    client = signed_in(member, enforce_csrf_checks=True)
    posts = [
        (reverse("notifications:mark", args=[notification.pk]), {"read": "1"}),
        (reverse("notifications:mark_all"), {}),
        (reverse("notifications:settings"), {"digest_hour": "3"}),
        (reverse("notifications:mute_group", args=[group.slug]), {}),
        (reverse("notifications:mute_thread", args=[group.slug, essay.slug, note.pk]), {}),
    ]

    for url, data in posts:
        assert client.post(url, data).status_code == 403, url

    notification.refresh_from_db()
    assert notification.read_at is None
    assert not Mute.objects.exists()
    assert not Preferences.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["99999999999999999999", "9223372036854775808", "0"])
def test_a_notification_id_out_of_range_answers_404_not_500(member, group, number):
    client = signed_in(member)

    assert client.get(f"/notifications/{number}/").status_code == 404
    assert client.post(f"/notifications/{number}/read/").status_code == 404


@pytest.mark.django_db
def test_another_groups_member_cannot_read_mark_or_open_my_notification(
    group, facilitator, member, other_member, other_group
):
    schedule(group, facilitator)
    mine = Notification.objects.get(recipient=member)
    client = signed_in(other_member)

    assert client.get(reverse("notifications:open", args=[mine.pk])).status_code == 404
    assert client.post(reverse("notifications:mark", args=[mine.pk])).status_code == 404
    client.post(reverse("notifications:mark_all"))
    assert client.get(reverse("notifications:unread")).json()["unread"] == 0

    mine.refresh_from_db()
    assert mine.read_at is None


# --- unsubscribe misuse ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_unsubscribe_link_replayed_changes_nothing_more_and_touches_no_one_else(
    member, sami, note
):
    url = unsubscribe_url(member, "reply")

    assert one_click(url).status_code == 200
    assert one_click(url).status_code == 200

    assert Preferences.objects.get(user=member).reply == Delivery.OFF
    assert not Preferences.objects.filter(user=sami).exists()


@pytest.mark.django_db
def test_an_unsubscribe_link_of_a_deleted_or_deactivated_account_answers_400(
    member, sami, make_user
):
    gone = make_user("gone")
    url = unsubscribe_url(gone, "reply")
    gone.delete()
    sami.is_active = False
    sami.save(update_fields=["is_active"])

    for path in (url, unsubscribe_url(sami, "reply")):
        assert Client().get(path).status_code == 400
        assert one_click(path).status_code == 400

    assert not Preferences.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [{"u": "2", "k": "reply"}, {"u": 2, "k": "everything"}, {"u": 2}, [2, "reply"], "2:reply"],
    ids=["id-as-text", "unknown-kind", "no-kind", "a-list", "a-string"],
)
def test_a_signed_token_of_the_wrong_shape_answers_400_and_changes_nothing(member, payload):
    member_payload = payload
    if isinstance(payload, dict) and payload.get("u") == 2:
        member_payload = {**payload, "u": member.pk}
    token = signing.dumps(member_payload, salt=SALT, compress=False)
    path = reverse("notifications:unsubscribe", args=[token])

    assert Client().get(path).status_code == 400
    assert one_click(path).status_code == 400
    assert not Preferences.objects.exists()


@pytest.mark.django_db
def test_a_token_signed_for_another_purpose_does_not_unsubscribe(member):
    token = signing.dumps({"u": member.pk, "k": "reply"}, salt="some.other.purpose")

    assert one_click(reverse("notifications:unsubscribe", args=[token])).status_code == 400
    assert not Preferences.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_unsubscribe_takes_only_get_and_post(member, method):
    response = getattr(Client(), method)(unsubscribe_url(member, "reply"))

    assert response.status_code == 405
    assert not Preferences.objects.exists()


# --- hostile text in headers and bodies ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name",
    [
        'Evil" <attacker@evil.example>, "x',
        "Club <attacker@evil.example>",
        'x\\" <attacker@evil.example>',
        "attacker@evil.example",
        "Reading\r\nReply-To: attacker@evil.example",
    ],
)
def test_a_group_name_never_adds_a_sender_or_recipient(essay, facilitator, member, name):
    group = group_with(name, essay, facilitator, member)
    schedule(group, facilitator, starts_in=timedelta(hours=5))  # soon: emailed at once

    send_notifications()

    [message] = mail.outbox
    headers = parsed(message)
    assert [a.addr_spec for a in headers["From"].addresses] == [
        parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    ]
    assert headers.get_all("To") == ["maria@example.com"]
    assert headers.get_all("Reply-To") is None
    assert headers.get_all("Cc") is None and headers.get_all("Bcc") is None


@pytest.mark.django_db
def test_hostile_meeting_and_assignment_titles_stay_on_one_subject_line_and_escaped(
    group, essay, facilitator, member
):
    title = "<b>Week</b>\x07\x1b[31m\u202e one\u2028Bcc: victim@example.com"
    prefer(member, assignment=Delivery.IMMEDIATELY, meeting=Delivery.IMMEDIATELY)
    assign(group, essay, facilitator, title=title, instructions="<script>x()</script> *Read*")
    schedule(group, facilitator, title=title)

    send_notifications()

    assert len(mail.outbox) == 2
    for message in mail.outbox:
        headers = parsed(message)
        subject = str(headers["Subject"]).strip()
        assert all(ch.isprintable() for ch in subject), repr(subject)
        assert headers.get_all("Bcc") is None
        body = message.alternatives[0][0]
        assert "<b>Week</b>" not in body and "<script>" not in body
        assert "&lt;b&gt;Week&lt;/b&gt;" in body


@pytest.mark.django_db
def test_a_digest_from_many_groups_keeps_a_short_subject(essay, facilitator, member):
    for i in range(12):
        group = group_with(f"A rather long reading group name number {i}", essay, facilitator)
        Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
        assign(group, essay, facilitator)

    send_notifications(now=timezone.now() + timedelta(days=1))

    [digest] = digests_to(member)
    assert len(digest.subject) <= 140
    assert digest.body.count("== A rather long reading group name number") == 12


# --- stale notifications after visibility changes ------------------------------------------------


@pytest.mark.django_db
def test_a_lock_that_starts_after_the_reply_keeps_its_email_from_being_sent(
    group, essay, facilitator, member, sami
):
    highlight = create(group, essay, member, body="")
    reply_to(highlight, sami, body="Why this sentence?")
    assign(group, essay, facilitator, post_before_peek=True)

    send_notifications()

    assert [m.subject for m in sent_to(member) if "replied" in m.subject] == []
    assert Notification.objects.get(recipient=member, kind=Kind.REPLY).email == Email.DROPPED


@pytest.mark.django_db
def test_a_thread_made_private_by_its_author_takes_its_mentions_notifications_along(
    group, essay, member, sami
):
    thread = create(group, essay, member, body="A thought.")
    reply_to(thread, member, body="@sami, do you agree?")
    assert len(seen(sami, kind=Kind.MENTION)) == 1

    annotation_services.annotation_update(annotation=thread, visibility="private")
    send_notifications()

    assert seen(sami) == []
    assert sent_to(sami) == []


@pytest.mark.django_db
def test_a_reading_removed_takes_its_assignment_and_reminder_notifications_along(
    group, essay, facilitator, member
):
    assign(group, essay, facilitator, due_in=timedelta(hours=12))
    due_soon_notify()
    assert {n.kind for n in seen(member)} == {Kind.ASSIGNMENT, Kind.DUE_SOON}

    group_reading_remove(group=group, reading=essay)
    send_notifications(now=timezone.now() + timedelta(days=1))

    assert seen(member) == []
    assert sent_to(member) == []


@pytest.mark.django_db
def test_a_mention_in_a_hidden_thread_tells_no_member(group, essay, facilitator, member, sami):
    thread = create(group, essay, sami, body="Something rude.")
    annotation_services.annotation_hide(annotation=thread, by=facilitator, note="Rude.")

    with pytest.raises(annotation_services.AnnotationError):  # a hidden thread takes none
        reply_to(thread, facilitator, body="@maria, please ignore this thread.")

    assert not Notification.objects.filter(recipient=member).exists()


@pytest.mark.django_db
def test_a_member_removed_and_added_again_is_not_emailed_what_was_dropped_meanwhile(
    group, essay, facilitator, member, sami, note
):
    reply_to(note, sami, body="Before she left.")
    membership = Membership.objects.get(group=group, user=member)
    membership_remove(membership=membership, removed_by=facilitator)
    send_notifications()
    reply_to(note, sami, body="While she was away.")
    schedule(group, facilitator, title="While away")

    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    send_notifications(now=timezone.now() + timedelta(days=1))

    assert sent_to(member) == []
    assert [n.annotation.body for n in seen(member)] == ["Before she left."]


@pytest.mark.django_db
def test_an_archived_group_makes_no_more_reminders_but_keeps_its_inbox_lines(
    group, essay, facilitator, member
):
    assign(group, essay, facilitator, due_in=timedelta(hours=12))
    group_archive(group=group)

    assert due_soon_notify() == 0
    assert {n.kind for n in seen(member)} == {Kind.ASSIGNMENT}
    assert "New assignment" in inbox_of(member)


# --- preferences changed between creation and sending ------------------------------------------


@pytest.mark.django_db
def test_a_reply_moved_to_the_digest_before_the_run_is_emailed_once_in_the_digest(
    member, sami, note
):
    reply_to(note, sami, body="Once only.")
    prefer(member, reply=Delivery.DIGEST)

    for hours in (0, 1, 25, 26, 49):
        send_notifications(now=timezone.now() + timedelta(hours=hours))

    [digest] = sent_to(member)
    assert digest.subject.startswith(DIGEST)
    assert "Once only." in digest.body


@pytest.mark.django_db
def test_a_kind_turned_off_before_the_digest_is_not_in_it(group, essay, facilitator, member):
    assign(group, essay, facilitator)
    prefer(member, assignment=Delivery.OFF)

    send_notifications(now=timezone.now() + timedelta(days=1))

    assert sent_to(member) == []
    assert Notification.objects.get(recipient=member).email == Email.DROPPED


# --- digest timing: clocks that jump, midnight ----------------------------------------------------


def _digest_runs(member, start: datetime, end: datetime, every=timedelta(minutes=30)):
    """Run every `every` from `start` until `end`; the times a digest went to the member."""
    sent_at = []
    now = start
    while now < end:
        before = len(digests_to(member))
        send_notifications(now=now)
        if len(digests_to(member)) > before:
            sent_at.append(now)
        now += every
    return sent_at


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("day", "hour", "first_utc"),
    [
        (date(2031, 3, 9), 2, 7),  # New York springs forward: 02:00 does not exist (03:00)
        (date(2031, 11, 2), 1, 5),  # New York falls back: 01:00 happens twice
    ],
    ids=["spring-forward", "fall-back"],
)
def test_a_digest_at_an_hour_the_clocks_skip_or_repeat_comes_once(
    group, essay, facilitator, member, day, hour, first_utc
):
    member.time_zone = "America/New_York"
    member.save(update_fields=["time_zone"])
    prefer(member, digest_hour=hour)
    assign(group, essay, facilitator)
    Notification.objects.update(created_at=at(day - timedelta(days=1), 12))

    runs = _digest_runs(member, at(day, 0), at(day + timedelta(days=1), 0))

    assert runs == [at(day, first_utc)]


@pytest.mark.django_db
def test_a_midnight_digest_comes_once_a_day(group, essay, facilitator, member):
    zone = "Pacific/Auckland"
    member.time_zone = zone
    member.save(update_fields=["time_zone"])
    prefer(member, digest_hour=0)
    day = (timezone.now() + timedelta(days=3)).date()
    first = assign(group, essay, facilitator)
    Notification.objects.filter(assignment=first).update(
        created_at=local(day - timedelta(days=1), 22, 0, zone)
    )
    second = assign(group, essay, facilitator, title="Week 2")
    Notification.objects.filter(assignment=second).update(created_at=local(day, 12, 0, zone))

    sent = _digest_runs(
        member,
        local(day - timedelta(days=1), 23, 0, zone),
        local(day + timedelta(days=1), 23, 0, zone),
        every=timedelta(hours=1),
    )

    assert sent == [local(day, 0, 0, zone), local(day + timedelta(days=1), 0, 0, zone)]
    first_digest, second_digest = digests_to(member)
    assert "Week 1" in first_digest.body and "Week 2" not in first_digest.body
    assert "Week 2" in second_digest.body and "Week 1" not in second_digest.body


# --- query counts that hold ---------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["notifications:inbox", "notifications:unread"])
def test_the_inbox_and_unread_count_cost_the_same_however_many_groups_without_locks(
    essay, facilitator, member, page
):
    def join(count, start):
        for i in range(start, start + count):
            group = group_with(f"Open {i}", essay, facilitator, member)
            assign(group, essay, facilitator, title=f"Open {i}")

    join(1, 0)
    client = signed_in(member)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse(page)).status_code == 200
    join(7, 1)
    with CaptureQueriesContext(connection) as eight:
        assert client.get(reverse(page)).status_code == 200

    assert len(eight) == len(one)


@pytest.mark.django_db
def test_a_reply_costs_the_same_queries_for_5_or_50_who_took_part_without_locks(
    group, essay, facilitator, member, make_user
):
    small = _thread_with(5, group, essay, facilitator, member, make_user, "small")
    large = _thread_with(50, group, essay, facilitator, member, make_user, "large")

    with CaptureQueriesContext(connection) as few:
        reply_to(small, facilitator, body="To five.")
    with CaptureQueriesContext(connection) as many:
        reply_to(large, facilitator, body="To fifty.")

    assert Notification.objects.filter(annotation__body="To fifty.").count() == 51
    assert len(many) == len(few)


@pytest.mark.django_db
def test_the_unread_count_of_someone_in_no_group_is_zero(outsider):
    response = signed_in(outsider).get(reverse("notifications:unread"))

    assert response.status_code == 200
    assert response.json()["unread"] == 0


# --- the send command on a database error --------------------------------------------------------


@pytest.mark.django_db
def test_the_command_says_in_one_line_that_the_database_is_not_answering(monkeypatch):
    def down(**kwargs):
        raise OperationalError("could not connect to server\nIs the server running?")

    monkeypatch.setattr(delivery.services, "due_soon_notify", down)

    with pytest.raises(CommandError) as raised:
        run_command()

    assert "\n" not in str(raised.value)
    assert "could not connect" in str(raised.value)


@pytest.mark.django_db
def test_an_email_whose_sent_mark_fails_to_save_stays_queued_rather_than_lost(
    monkeypatch, member, sami, note
):
    reply_to(note, sami, body="Important.")
    real_save = Notification.save

    def broken_save(self, *args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(Notification, "save", broken_save)
    with pytest.raises(CommandError):
        run_command()
    monkeypatch.setattr(Notification, "save", real_save)

    assert Notification.objects.get(recipient=member).email == Email.QUEUED


# --- PostgreSQL: a row another run holds is skipped, not waited for ------------------------------


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_row_another_run_holds_is_skipped_not_waited_for_and_sent_once_later(
    member, sami, facilitator, note
):
    first = reply_to(note, sami, body="First.")
    reply_to(note, facilitator, body="Second.")
    held = Notification.objects.get(recipient=member, annotation=first)
    locked, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Notification.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        report = send_notifications()
    finally:
        release.set()
        holder.join(30)

    assert report.sent == 2  # Maria's of the second reply, and Sami's
    held.refresh_from_db()
    assert held.email == Email.QUEUED
    assert send_notifications().sent == 1
    assert send_notifications().sent == 0
    assert len(mail.outbox) == 3
    assert len({m.body for m in mail.outbox}) == 3
