"""Notification email as it leaves the site: what each kind of email says, hostile text kept
in its place, a real SMTP conversation on loopback (and a server that fails for now, or for
good), two runs at once on PostgreSQL, what must never be sent, the daily digest at the
member's own hour, one-click unsubscribe (RFC 8058), and the single runner on SQLite.

Mail goes to Django's locmem outbox unless a test starts its own SMTP server. "Now" is passed
to send_notifications where a test depends on the clock.
"""

import io
import json
import re
import socket
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from email import message_from_bytes, policy
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.core import mail, signing
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from annotations import services as annotation_services
from assignments import services as assignment_services
from assignments.contents import blocks_of
from groups.models import GroupReading, Membership
from groups.services import group_create, membership_remove
from meetings import services as meeting_services
from notifications import delivery
from notifications.delivery import BACKOFF, send_notifications
from notifications.models import DEFAULT_DELIVERY, Delivery, Email, Notification, Preferences
from notifications.services import mute_set, notification_mark_read
from notifications.tokens import read_unsubscribe_token
from readings.layout import reading_layout
from tests.annotating import QUOTE, create, reply_to

OTHER_QUOTE = "When socialists talk about ordinary people"
PLACE = "‘Why the working class’"  # the essay's section that both quotes fall in
ONE_CLICK = "List-Unsubscribe=One-Click"
DIGEST_KINDS = [kind for kind, way in DEFAULT_DELIVERY.items() if way == Delivery.DIGEST]
NOTIFICATION_URL = re.compile(r"/notifications/(\d+)/")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Two runs only race for rows on PostgreSQL (SKIP LOCKED); SQLite runs one at a time.",
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="The single-runner file lock is SQLite's alone."
)


# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _own_lock_directory(monkeypatch, tmp_path):
    """The SQLite runner's lock file lives in the temporary directory: this test's own, so
    another test run on this machine cannot make a run here find it busy."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def run_command() -> str:
    out = io.StringIO()
    call_command("send_notifications", stdout=out)
    return out.getvalue()


def sent_to(user) -> list:
    return [m for m in mail.outbox if m.to == [user.email]]


def subjects_to(user) -> list[str]:
    return [m.subject for m in sent_to(user)]


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def parsed(message):
    """The message as a mail client reads it: its bytes on the wire, parsed back."""
    return message_from_bytes(message.message().as_bytes(), policy=policy.default)


def header(message, name) -> str:
    """A header's value as a mail client shows it (a long one is folded right after its
    colon on the wire, which Python's parser keeps as a leading space)."""
    return str(message[name]).strip()


def unsubscribe_path(message) -> str:
    header = message.extra_headers["List-Unsubscribe"]
    assert header.startswith("<") and header.endswith(">"), header
    url = header[1:-1]
    assert url.startswith(f"{settings.SITE_URL}/notifications/unsubscribe/"), url
    return urlsplit(url).path


def token_of(message) -> str:
    return unsubscribe_path(message).rstrip("/").rsplit("/", 1)[1]


def open_url(notification) -> str:
    return f"{settings.SITE_URL}/notifications/{notification.pk}/"


def prefer(user, **choices) -> Preferences:
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults=choices)
    return preferences


def assign(group, reading, facilitator, title="Week 1", due_at=None, **fields):
    """An assignment of the reading's first four blocks."""
    found = blocks_of(reading_layout(reading))
    return assignment_services.assignment_create(
        group=group,
        reading=reading,
        created_by=facilitator,
        title=title,
        first_block=found[0].anchor,
        last_block=found[3].anchor,
        due_at=due_at or timezone.now() + timedelta(days=30),
        **fields,
    )


def schedule(group, facilitator, start, title="Week 2: Why the working class", **fields):
    return meeting_services.meeting_create(
        group=group,
        created_by=facilitator,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        **fields,
    )


def at(day, hour, minute) -> datetime:
    return datetime.combine(day, clock(hour, minute), tzinfo=UTC)


def on_one_line(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


@pytest.fixture
def classmate(make_user, group):
    user = make_user("sami", display_name="Sami Classmate")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def note(group, essay, member):
    """Maria's note on the essay's first sentence."""
    return create(group, essay, member, body="Democracy *all the way* down.")


# --- each kind of email -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reply_sends_the_notes_author_one_email_that_says_what_where_and_how_to_stop(
    member, facilitator, note
):
    reply = reply_to(note, facilitator, body="Then say **who decides**.")
    notification = Notification.objects.get(recipient=member, annotation=reply)

    run_command()

    [message] = mail.outbox
    assert message.to == ["maria@example.com"]
    assert message.subject == f"Fran Facilitator replied to your note on {PLACE}"
    name, address = parseaddr(message.from_email)
    assert name == f"Tuesday Reading Circle via {settings.SITE_NAME}"
    assert address == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    unsubscribe_url = settings.SITE_URL + unsubscribe_path(message)
    html = html_of(message)
    for part in (message.body, html):
        assert "Tuesday Reading Circle" in part
        assert QUOTE in part
        assert open_url(notification) in part
        assert f"{settings.SITE_URL}/notifications/settings/" in part
        assert unsubscribe_url in part
    assert "Then say who decides." in message.body
    assert "Then say <strong>who decides</strong>." in html
    headers = parsed(message)
    assert header(headers, "List-Unsubscribe") == f"<{unsubscribe_url}>"
    assert header(headers, "List-Unsubscribe-Post") == ONE_CLICK
    list_id = header(headers, "List-Id")
    assert list_id.startswith('"Tuesday Reading Circle" <tuesday-reading-circle.')
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "reply")
    notification.refresh_from_db()
    assert notification.email == Email.SENT
    assert notification.emailed_at is not None


@pytest.mark.django_db
def test_running_again_sends_nothing_more(facilitator, note):
    reply_to(note, facilitator, body="Once.")
    assert run_command().startswith("1 sent,")

    assert run_command().startswith("0 sent,")
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_mention_email_names_who_mentioned_you_and_quotes_their_words(
    group, essay, member, facilitator
):
    mention = create(group, essay, facilitator, quote=OTHER_QUOTE, body="Over to you, @maria.")

    run_command()

    [message] = sent_to(member)
    assert message.subject == f"Fran Facilitator mentioned you on {PLACE}"
    assert OTHER_QUOTE in message.body
    assert "Fran Facilitator wrote:\nOver to you, @maria." in message.body
    # The mention's link is site-relative in the app; in the email it must be absolute.
    assert f'href="{settings.SITE_URL}/groups/' in html_of(message)
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "mention")
    assert open_url(Notification.objects.get(annotation=mention, recipient=member)) in message.body


@pytest.mark.django_db
def test_an_answer_email_tells_the_asker_their_question_was_answered(
    group, essay, member, facilitator, classmate
):
    question = create(group, essay, member, body="Who decides?", motivation="questioning")
    answer = reply_to(question, classmate, body="The workers, together.")
    annotation_services.annotation_mark_answer(reply=answer, is_answer=True, by=facilitator)

    run_command()

    assert sorted(subjects_to(member)) == [
        f"Fran Facilitator marked an answer to your question on {PLACE}",
        f"Sami Classmate replied to your question on {PLACE}",
    ]
    [message] = [m for m in sent_to(member) if "marked an answer" in m.subject]
    assert QUOTE in message.body
    assert "The workers, together." in message.body
    assert "The workers, together." in html_of(message)
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "answer")


@pytest.mark.django_db
def test_an_answer_email_names_the_replys_author_as_the_one_who_wrote_it(
    group, essay, member, facilitator, classmate
):
    question = create(group, essay, member, body="Who decides?", motivation="questioning")
    answer = reply_to(question, classmate, body="The workers, together.")
    annotation_services.annotation_mark_answer(reply=answer, is_answer=True, by=facilitator)

    run_command()

    [message] = [m for m in sent_to(member) if "marked an answer" in m.subject]
    assert "Fran Facilitator wrote:" not in message.body
    assert "Sami Classmate wrote:\nThe workers, together." in message.body


@pytest.mark.django_db
def test_an_assignment_email_gives_its_title_due_date_and_instructions(
    group, essay, member, facilitator
):
    prefer(member, assignment=Delivery.IMMEDIATELY)
    assignment = assign(group, essay, facilitator, instructions="Read it *slowly*.")

    run_command()

    [message] = sent_to(member)
    assert message.subject == "New assignment: “Week 1”, due in 30 days"
    assert "New assignment: “Week 1”" in message.body
    assert "Instructions:\nRead it slowly." in message.body
    assert "Read it <em>slowly</em>." in html_of(message)
    due = assignment.due_at
    assert f"Due {due:%a} {due.day} {due:%b}" in message.body
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "assignment")


@pytest.mark.django_db
def test_an_assignment_waits_for_the_digest_by_default(group, essay, member, facilitator):
    assign(group, essay, facilitator)

    run_command()

    assert mail.outbox == []
    assert Notification.objects.get(recipient=member).email == Email.DIGEST


@pytest.mark.django_db
def test_a_due_soon_email_reminds_a_member_who_has_not_written_in_it_yet(
    group, essay, member, facilitator
):
    assign(group, essay, facilitator, title="Week 1", due_at=timezone.now() + timedelta(hours=5))

    run_command()
    run_command()  # (see the xfail below: the reminder waits for the next run)

    [message] = sent_to(member)
    subject = message.subject
    assert re.fullmatch(r"Reminder: “Week 1” is due in [45] hours", subject), subject
    assert "You haven't written in it yet" in message.body
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "due_soon")
    assert sent_to(facilitator) == []  # facilitators are not reminded


@pytest.mark.django_db
def test_a_due_soon_reminder_is_emailed_by_the_run_that_made_it(group, essay, member, facilitator):
    assign(group, essay, facilitator, due_at=timezone.now() + timedelta(hours=5))

    assert run_command().startswith("1 sent,")

    assert [m.subject for m in sent_to(member)][0].startswith("Reminder: “Week 1” is due in")


@pytest.mark.django_db
def test_meeting_emails_say_scheduled_moved_and_cancelled(group, member, facilitator):
    prefer(member, meeting=Delivery.IMMEDIATELY)
    start = (timezone.now() + timedelta(days=5)).replace(hour=18, minute=0, second=0)
    meeting = schedule(group, facilitator, start)
    run_command()
    moved = start + timedelta(days=1, hours=1)
    meeting_services.meeting_update(
        meeting=meeting,
        title=meeting.title,
        starts_at=moved,
        ends_at=moved + timedelta(minutes=90),
        by=facilitator,
    )
    run_command()
    meeting_services.meeting_cancel(meeting=meeting, by=facilitator)
    run_command()

    scheduled, was_moved, cancelled = sent_to(member)
    assert scheduled.subject.startswith("Meeting scheduled: “Week 2: Why the working class”, ")
    assert scheduled.subject.endswith("18:00")
    assert f"{start.day} {start:%b}" in scheduled.subject
    assert was_moved.subject.startswith("Meeting moved: “Week 2: Why the working class”, now ")
    assert was_moved.subject.endswith("19:00")
    assert f"{moved.day} {moved:%b}" in was_moved.subject
    assert cancelled.subject.startswith("Meeting cancelled: “Week 2: Why the working class” (")
    assert "“Week 2: Why the working class” is cancelled" in cancelled.body
    for message in (scheduled, was_moved, cancelled):
        assert "Tuesday Reading Circle" in message.body
        assert f"/groups/{group.slug}/" not in message.body  # it links through the inbox
        assert NOTIFICATION_URL.search(message.body)
        assert read_unsubscribe_token(token_of(message)) == (member.pk, "meeting")


@pytest.mark.django_db
def test_a_meeting_within_two_days_is_emailed_at_once_despite_the_digest(
    group, member, facilitator
):
    schedule(group, facilitator, timezone.now() + timedelta(hours=20))

    run_command()

    [message] = sent_to(member)
    assert message.subject.startswith("Meeting scheduled: “Week 2: Why the working class”")


@pytest.mark.django_db
def test_a_recap_email_carries_the_recap(group, member, facilitator):
    prefer(member, recap=Delivery.IMMEDIATELY)
    start = timezone.now() - timedelta(hours=3)
    meeting = schedule(group, facilitator, start, title="Week 1", in_the_past=True)
    meeting_services.meeting_recap(
        group=group, meeting=meeting, recap="We talked about **strikes**.", by=facilitator
    )

    run_command()

    [message] = sent_to(member)
    assert message.subject == "Recap: “Week 1”"
    assert "Fran Facilitator posted the recap of “Week 1”" in message.body
    assert "The recap:\nWe talked about strikes." in message.body
    assert "We talked about <strong>strikes</strong>." in html_of(message)
    assert read_unsubscribe_token(token_of(message)) == (member.pk, "recap")


@pytest.mark.django_db
def test_a_flag_email_goes_to_the_facilitator_with_the_flagged_words(
    member, facilitator, classmate, note
):
    annotation_services.annotation_flag(annotation=note, user=classmate, reason="Off topic")

    run_command()

    assert sent_to(member) == []
    [message] = sent_to(facilitator)
    assert message.subject == f"Flagged: Maria Member's note on {PLACE}"
    assert QUOTE in message.body
    assert "Democracy all the way down." in message.body
    assert read_unsubscribe_token(token_of(message)) == (facilitator.pk, "flag")


@pytest.mark.django_db
def test_a_flag_email_does_not_say_the_flagger_wrote_the_flagged_note(
    member, facilitator, classmate, note
):
    annotation_services.annotation_flag(annotation=note, user=classmate, reason="Off topic")

    run_command()

    [message] = sent_to(facilitator)
    assert "Sami Classmate wrote:" not in message.body
    assert "Sami Classmate wrote:" not in html_of(message)


# --- hostile text ------------------------------------------------------------------------------

HOSTILE_GROUP = "<script>alert('group')</script>\r\nBcc: victim@example.com\x07\u2028Club"
HOSTILE_NAME = "Mallory\r\nBcc: victim@example.com\x1b[31m\x85"
HOSTILE_BODY = "<script>alert('body')</script>\n\nLine one\nLine two <img src=x onerror=alert(1)>"


@pytest.fixture
def hostile_group(essay, facilitator, member, make_user):
    group = group_create(name=HOSTILE_GROUP, created_by=facilitator)
    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    mallory = make_user("mallory", display_name=HOSTILE_NAME)
    Membership.objects.create(group=group, user=mallory, role=Membership.Role.MEMBER)
    GroupReading.objects.create(group=group, reading=essay, added_by=facilitator)
    return group, mallory


@pytest.mark.django_db
def test_hostile_names_and_words_are_escaped_in_html_and_kept_to_one_header_line(
    hostile_group, essay, member
):
    group, mallory = hostile_group
    note = create(group, essay, member, body="Mine.")
    reply_to(note, mallory, body=HOSTILE_BODY)

    run_command()

    [message] = mail.outbox
    headers = parsed(message)
    assert headers.get_all("Bcc") is None
    assert headers.get_all("To") == ["maria@example.com"]
    for name in ("Subject", "From", "List-Id", "List-Unsubscribe"):
        value = header(headers, name)
        assert on_one_line(value), (name, value)
    subject = header(headers, "Subject")
    assert subject.startswith("Mallory Bcc: victim@example.com")
    assert subject.endswith(f"replied to your note on {PLACE}")
    [sender] = headers["From"].addresses
    assert sender.addr_spec == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    assert sender.display_name.startswith("<script>alert('group')</script> Bcc: victim@")
    html = html_of(message)
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(&#x27;group&#x27;)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert('body')&lt;/script&gt;" in html


@pytest.mark.django_db
def test_a_digest_from_a_hostile_group_keeps_its_subject_on_one_line(
    hostile_group, essay, facilitator, member
):
    group, _ = hostile_group
    assign(group, essay, facilitator, title="Week\t1 <b>bold</b>")

    send_notifications(now=timezone.now() + timedelta(days=1))

    [message] = sent_to(member)
    subject = header(parsed(message), "Subject")
    assert on_one_line(subject)
    assert subject.startswith("Your daily digest: 1 update from <script>alert('group')</script>")
    html = html_of(message)
    assert "<script" not in html and "<b>bold" not in html
    assert "Week 1 &lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.django_db
def test_a_group_name_cannot_put_another_list_id_in_the_list_id_header(essay, facilitator, member):
    group = group_create(
        name="Readers <tuesday-reading-circle.commonplace.example>", created_by=facilitator
    )
    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    GroupReading.objects.create(group=group, reading=essay, added_by=facilitator)
    reply_to(create(group, essay, member, body="Mine."), facilitator, body="Yours.")

    run_command()

    [message] = mail.outbox
    ids = re.findall(r"<([^<>]*)>", header(parsed(message), "List-Id"))
    assert ids == [f"{group.slug}.{settings.SITE_DOMAIN.split(':')[0]}"]  # a host, no port


# --- a real SMTP conversation ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler: answers DATA with `answers` in turn (then accepts), and keeps the
    envelopes it accepted."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.tries = 0
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.answers:
            return self.answers.pop(0)
        self.received.append(envelope)
        return "250 2.0.0 Accepted"


@pytest.fixture
def mail_server(settings):
    """Start an SMTP server on loopback and point Django's SMTP backend at it."""
    controllers = []

    def start(*answers) -> Mailbox:
        mailbox = Mailbox(answers)
        port = free_port()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()


@pytest.mark.django_db
def test_an_email_crosses_a_real_smtp_conversation_with_its_headers(
    mail_server, member, facilitator, note
):
    mailbox = mail_server()
    reply_to(note, facilitator, body="Over the *wire*.")

    report = send_notifications()

    assert report.sent == 1
    [envelope] = mailbox.received
    assert envelope.mail_from == parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    assert envelope.rcpt_tos == ["maria@example.com"]
    message = message_from_bytes(envelope.content, policy=policy.default)
    assert header(message, "Subject") == f"Fran Facilitator replied to your note on {PLACE}"
    assert message["From"].addresses[0].display_name == (
        f"Tuesday Reading Circle via {settings.SITE_NAME}"
    )
    assert header(message, "List-Unsubscribe").startswith(
        f"<{settings.SITE_URL}/notifications/unsubscribe/"
    )
    assert header(message, "List-Unsubscribe-Post") == ONE_CLICK
    assert header(message, "Auto-Submitted") == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert "Over the wire." in message.get_body(("plain",)).get_content()
    assert "Over the <em>wire</em>." in message.get_body(("html",)).get_content()


@pytest.mark.django_db
def test_a_mail_server_that_fails_once_gets_the_email_once_after_the_backoff(
    mail_server, member, facilitator, note
):
    mailbox = mail_server("451 4.3.0 Try again later")
    reply = reply_to(note, facilitator, body="Persistent.")
    notification = Notification.objects.get(recipient=member, annotation=reply)
    start = timezone.now()

    report = send_notifications(now=start)

    assert (report.sent, report.retrying, report.failed) == (0, 1, 0)
    notification.refresh_from_db()
    assert notification.email == Email.QUEUED
    assert notification.email_attempts == 1
    assert notification.email_after == start + BACKOFF[0]
    assert "451" in notification.email_error

    assert send_notifications(now=start + BACKOFF[0] - timedelta(seconds=1)).sent == 0
    assert mailbox.tries == 1

    assert send_notifications(now=start + BACKOFF[0]).sent == 1
    assert send_notifications(now=start + timedelta(hours=5)).sent == 0
    assert mailbox.tries == 2
    [envelope] = mailbox.received
    assert envelope.rcpt_tos == ["maria@example.com"]
    notification.refresh_from_db()
    assert (notification.email, notification.email_attempts) == (Email.SENT, 1)
    assert notification.email_error == ""


@pytest.mark.django_db
def test_a_permanent_refusal_marks_the_email_failed_and_never_retries(
    mail_server, member, facilitator, note
):
    mailbox = mail_server(*["550 5.1.1 No such mailbox here"] * 3)
    reply = reply_to(note, facilitator, body="Into the void.")
    notification = Notification.objects.get(recipient=member, annotation=reply)
    start = timezone.now()

    report = send_notifications(now=start)

    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    notification.refresh_from_db()
    assert (notification.email, notification.email_attempts) == (Email.FAILED, 1)
    assert "550" in notification.email_error
    for later in (BACKOFF[0], timedelta(hours=5), timedelta(days=2)):
        assert send_notifications(now=start + later).sent == 0
    assert mailbox.tries == 1
    assert mailbox.received == []


@pytest.mark.django_db
def test_a_digest_the_server_refuses_for_now_goes_once_after_the_backoff(
    mail_server, group, essay, member, facilitator
):
    mailbox = mail_server("421 4.7.0 Slow down")
    assign(group, essay, facilitator)
    start = timezone.now() + timedelta(days=1)  # past Maria's 08:00 (UTC) since it was made

    assert send_notifications(now=start).retrying == 1
    preferences = Preferences.objects.get(user=member)
    assert preferences.digest_attempts == 1
    assert preferences.digest_retry_at == start + BACKOFF[0]
    assert Notification.objects.get(recipient=member).email == Email.DIGEST

    assert send_notifications(now=start + timedelta(seconds=30)).digests == 0
    assert send_notifications(now=start + BACKOFF[0]).digests == 1
    assert send_notifications(now=start + timedelta(hours=2)).digests == 0
    assert (mailbox.tries, len(mailbox.received)) == (2, 1)
    assert Notification.objects.get(recipient=member).email == Email.SENT


@pytest.mark.django_db
def test_a_mail_server_that_is_not_answering_leaves_the_email_queued_for_later(
    settings, member, facilitator, note
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    reply = reply_to(note, facilitator, body="Anyone there?")
    start = timezone.now()

    report = send_notifications(now=start)

    assert (report.sent, report.retrying) == (0, 1)
    notification = Notification.objects.get(recipient=member, annotation=reply)
    assert (notification.email, notification.email_attempts) == (Email.QUEUED, 1)
    assert notification.email_after == start + BACKOFF[0]


# --- two runs at once (PostgreSQL) -------------------------------------------------------------


class Recorder(BaseEmailBackend):
    """A mail connection that keeps what it is given in a list shared between threads, taking
    a moment per message as a server would, so that two runs overlap."""

    def __init__(self, kept: list, lock: threading.Lock, **kwargs):
        super().__init__(**kwargs)
        self.kept, self.lock = kept, lock

    def send_messages(self, messages):
        time.sleep(0.005)
        with self.lock:
            self.kept.extend(messages)
        return len(messages)


def _race(*runs) -> list:
    """Start the runs at the same moment, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(runs))
    results: list = [None] * len(runs)
    errors: list[BaseException] = []

    def go(index, run):
        try:
            barrier.wait(timeout=10)
            results[index] = run()
        except BaseException as error:  # a thread's failure must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(i, run)) for i, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_runs_started_together_send_every_email_exactly_once(
    group, essay, facilitator, member, classmate
):
    frans_note = create(group, essay, facilitator, body="Start here.")
    marias_note = create(group, essay, member, quote=OTHER_QUOTE, body="And here.")
    for i in range(15):
        reply_to(frans_note, member, body=f"Maria's reply {i}.")
        reply_to(marias_note, classmate, body=f"Sami's reply {i}.")
    assign(group, essay, facilitator)  # Maria and Sami: tomorrow's digest
    queued = set(Notification.objects.filter(email=Email.QUEUED).values_list("pk", flat=True))
    assert len(queued) == 30
    kept: list = []
    lock = threading.Lock()
    later = timezone.now() + timedelta(days=1)

    def run():
        return send_notifications(now=later, mail=Recorder(kept, lock))

    reports = _race(run, run)

    digests = [m for m in kept if m.subject.startswith("Your daily digest")]
    singles = [m for m in kept if m not in digests]
    by_notification = Counter(int(NOTIFICATION_URL.search(m.body)[1]) for m in singles)
    assert by_notification == Counter(queued), "each email exactly once"
    assert sorted(m.to[0] for m in digests) == ["maria@example.com", "sami@example.com"]
    assert sum(r.sent for r in reports) == 30
    assert sum(r.digests for r in reports) == 2
    assert all(r.sent for r in reports), "both runs took a share: they did race"
    assert Notification.objects.exclude(email=Email.SENT).count() == 0


# --- what is never sent ------------------------------------------------------------------------


def _hide(reply, facilitator, member):
    annotation_services.annotation_hide(annotation=reply, by=facilitator, note="Off topic.")


def _delete(reply, facilitator, member):
    reply_to(reply, facilitator, body="Kept.")  # a reply of its own keeps a “[deleted]” place
    annotation_services.annotation_delete(annotation=reply)


def _leave(reply, facilitator, member):
    membership_remove(membership=Membership.objects.get(group=reply.group, user=member))


def _read(reply, facilitator, member):
    notification_mark_read(notification=Notification.objects.get(annotation=reply))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "before_the_run", [_hide, _delete, _leave, _read], ids=["hidden", "deleted", "left", "read"]
)
def test_a_notification_its_member_can_no_longer_see_or_has_read_is_never_emailed(
    before_the_run, member, facilitator, classmate, note
):
    reply = reply_to(note, classmate, body="Something worth hearing.")
    notification = Notification.objects.get(recipient=member, annotation=reply)

    before_the_run(reply, facilitator, member)
    report = run_command()

    assert not [s for s in subjects_to(member) if s.startswith("Sami Classmate")]
    notification.refresh_from_db()
    assert notification.email == Email.DROPPED
    assert notification.email_error
    assert notification.emailed_at is None
    assert "1 dropped" in report


@pytest.mark.django_db
def test_a_reply_deleted_before_the_run_takes_its_notification_with_it(member, classmate, note):
    reply = reply_to(note, classmate, body="Never mind.")
    annotation_services.annotation_delete(annotation=reply)

    run_command()

    assert mail.outbox == []
    assert not Notification.objects.filter(recipient=member).exists()


@pytest.mark.django_db
def test_a_muted_thread_is_not_emailed(member, classmate, note):
    reply = reply_to(note, classmate, body="First.")
    mute_set(user=member, group=note.group, thread=note, muted=True)

    run_command()

    assert mail.outbox == []
    assert Notification.objects.get(annotation=reply).email == Email.DROPPED


# --- the daily digest --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_digest_arrives_at_the_members_hour_in_their_zone_once_a_day(
    group, other_group, essay, member, facilitator, other_member
):
    member.time_zone = "Asia/Kolkata"  # 08:00 there is 02:30 UTC
    member.save(update_fields=["time_zone"])
    Membership.objects.create(group=other_group, user=member, role=Membership.Role.MEMBER)
    assign(group, essay, facilitator, title="Week 1")
    schedule(group, facilitator, timezone.now() + timedelta(days=5))
    past = schedule(
        group, facilitator, timezone.now() - timedelta(hours=3), title="Week 0", in_the_past=True
    )
    meeting_services.meeting_recap(group=group, meeting=past, recap="We met.", by=facilitator)
    assign(other_group, essay, other_member, title="Night reading")
    waiting = Notification.objects.filter(recipient=member)
    assert sorted(waiting.values_list("kind", "email")) == [
        ("assignment", "digest"),
        ("assignment", "digest"),
        ("meeting", "digest"),
        ("recap", "digest"),
    ]
    day = (timezone.now() + timedelta(days=2)).date()
    waiting.update(created_at=at(day, 1, 0))

    assert send_notifications(now=at(day, 2, 29)).digests == 0  # 07:59 in Kolkata
    assert mail.outbox == []

    assert send_notifications(now=at(day, 2, 31)).digests == 1  # 08:01 in Kolkata
    [digest] = mail.outbox
    assert digest.to == ["maria@example.com"]
    assert digest.subject == (
        "Your daily digest: 4 updates from Night Shift Readers, Tuesday Reading Circle"
    )
    text = digest.body
    night, tuesday = text.index("== Night Shift Readers =="), text.index("== Tuesday Reading")
    assert night < text.index("Night reading") < tuesday
    for headline in (
        "New assignment: “Week 1”",
        "Meeting scheduled: “Week 2: Why the working class”",
        "Fran Facilitator posted the recap of “Week 0”",
    ):
        assert tuesday < text.index(headline)
        assert headline in html_of(digest)
    for notification in waiting:
        assert open_url(notification) in text
        assert notification.email == Email.SENT
    headers = parsed(digest)
    assert header(headers, "List-Unsubscribe-Post") == ONE_CLICK
    assert read_unsubscribe_token(token_of(digest)) == (member.pk, "digest")

    assert send_notifications(now=at(day, 5, 0)).digests == 0  # the same day: nothing more
    late = assign(group, essay, facilitator, title="Week 2")
    Notification.objects.filter(assignment=late).update(created_at=at(day, 3, 0))  # after 08:00
    for now in (at(day, 5, 0), at(day, 23, 0), at(day + timedelta(days=1), 2, 29)):
        assert send_notifications(now=now).digests == 0
    assert len(mail.outbox) == 1

    assert send_notifications(now=at(day + timedelta(days=1), 2, 31)).digests == 1
    tomorrow = mail.outbox[1]
    assert tomorrow.subject == "Your daily digest: 1 update from Tuesday Reading Circle"
    assert "New assignment: “Week 2”" in tomorrow.body
    assert "Week 1" not in tomorrow.body


@pytest.mark.django_db
def test_a_digest_leaves_out_what_its_member_can_no_longer_see(
    group, other_group, essay, member, facilitator, other_member
):
    membership = Membership.objects.create(
        group=other_group, user=member, role=Membership.Role.MEMBER
    )
    assign(group, essay, facilitator, title="Week 1")
    gone = assign(other_group, essay, other_member, title="Night reading")
    membership_remove(membership=membership)

    send_notifications(now=timezone.now() + timedelta(days=1))

    [digest] = mail.outbox
    assert digest.subject == "Your daily digest: 1 update from Tuesday Reading Circle"
    assert "Night" not in digest.body
    assert Notification.objects.get(assignment=gone).email == Email.DROPPED


# --- one-click unsubscribe ---------------------------------------------------------------------


def one_click(path):
    """The mail client's POST of RFC 8058: no session, no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    return client.post(path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")


@pytest.mark.django_db
def test_one_click_unsubscribe_turns_that_kind_off_and_only_that_kind(
    group, essay, member, facilitator, note
):
    reply_to(note, facilitator, body="First.")
    run_command()
    [message] = sent_to(member)

    response = one_click(unsubscribe_path(message))

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    preferences = Preferences.objects.get(user=member)
    assert preferences.reply == Delivery.OFF
    assert preferences.mention == Delivery.IMMEDIATELY
    assert preferences.assignment == Delivery.DIGEST
    reply_to(note, facilitator, body="Second.")
    create(group, essay, facilitator, quote=OTHER_QUOTE, body="Over to you, @maria.")
    run_command()
    assert subjects_to(member)[1:] == [f"Fran Facilitator mentioned you on {PLACE}"]


@pytest.mark.django_db
def test_a_get_of_the_unsubscribe_link_asks_first_and_changes_nothing(member, facilitator, note):
    reply_to(note, facilitator, body="First.")
    run_command()
    [message] = sent_to(member)
    path = unsubscribe_path(message)

    response = Client(enforce_csrf_checks=True).get(path)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe?" in page
    assert f'action="{path}"' in page
    assert not Preferences.objects.filter(user=member).exists()


@pytest.mark.django_db
def test_a_tampered_unsubscribe_token_answers_400_and_changes_nothing(member, facilitator, note):
    reply_to(note, facilitator, body="First.")
    run_command()
    [message] = sent_to(member)
    token = token_of(message)
    payload, stamp, signature = token.split(":")
    other = "A" if signature[10] != "A" else "B"
    forged = signing.b64_encode(json.dumps({"u": facilitator.pk, "k": "reply"}).encode()).decode()
    tampered = [
        f"{payload}:{stamp}:{signature[:10]}{other}{signature[11:]}",  # the signature altered
        f"{forged}:{stamp}:{signature}",  # pointed at someone else
        "not-a-token",
    ]

    for bad in tampered:
        path = f"/notifications/unsubscribe/{bad}/"
        assert Client(enforce_csrf_checks=True).get(path).status_code == 400, bad
        assert one_click(path).status_code == 400, bad

    assert not Preferences.objects.exists()


@pytest.mark.django_db
def test_the_digests_one_click_unsubscribe_turns_every_digest_kind_off(
    group, essay, member, facilitator, note
):
    assign(group, essay, facilitator)
    send_notifications(now=timezone.now() + timedelta(days=1))
    [digest] = sent_to(member)

    assert one_click(unsubscribe_path(digest)).status_code == 200

    preferences = Preferences.objects.get(user=member)
    assert {k: preferences.delivery(k) for k in DIGEST_KINDS} == dict.fromkeys(
        DIGEST_KINDS, Delivery.OFF
    )
    assert preferences.reply == Delivery.IMMEDIATELY
    assign(group, essay, facilitator, title="Week 2")
    reply_to(note, facilitator, body="Still here.")
    send_notifications(now=timezone.now() + timedelta(days=2))
    assert subjects_to(member)[1:] == [f"Fran Facilitator replied to your note on {PLACE}"]


# --- one run at a time on SQLite ---------------------------------------------------------------


@sqlite_only
@pytest.mark.django_db
def test_while_a_run_holds_the_lock_another_finds_it_busy_and_says_so_in_one_line(
    member, facilitator, note
):
    reply_to(note, facilitator, body="Wait your turn.")

    with delivery._single_runner():
        with pytest.raises(delivery.Busy):
            send_notifications()
        output = run_command()  # returns: the command exits 0

    assert output == "Another send_notifications is running.\n"
    assert mail.outbox == []
    assert run_command().startswith("1 sent,")


@sqlite_only
@pytest.mark.django_db
def test_two_databases_with_the_same_file_name_do_not_share_the_lock(monkeypatch):
    database = settings.DATABASES["default"]
    monkeypatch.setitem(database, "NAME", "/srv/first-site/db.sqlite3")
    with delivery._single_runner():
        monkeypatch.setitem(database, "NAME", "/srv/second-site/db.sqlite3")
        with delivery._single_runner():
            pass
