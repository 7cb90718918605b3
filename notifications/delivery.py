"""Sending notification email, outside any request: `python manage.py send_notifications`,
run by cron every minute (README), safe to run twice at once.

Each run:
1. makes the "due soon" reminders (assignments due within a day in which a member has
   written nothing: there is no write to hang them on, so the run looks for them);
2. sends each email waiting to go straight away. A row is claimed with
   `SELECT ... FOR UPDATE SKIP LOCKED` in its own transaction and held until its email is
   sent and marked sent, so a second run at the same moment takes the next row, never the
   same one. (SQLite has no row locks: there a file lock lets one run at a time.)
3. sends each member's daily digest once their chosen hour has come in their own time zone,
   claiming their preferences row the same way.

Before sending, each notification is asked again whether its recipient may still see it
(notifications.access), still wants that email (preferences, mutes) and has not read it
already in the app; if not, it is dropped, never sent. A mail server that fails for now (a
4xx reply, a dropped connection) is tried again later, backing off; a permanent refusal
(5xx) or too many tries marks it failed.

An email is marked sent in the transaction that sent it: if the process died between the
server accepting it and the commit, the next run would send it again. That window is a few
milliseconds, and is the one duplicate this design allows.
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import smtplib
import tempfile
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignments.times import zone_named
from groups.models import Membership
from notifications import emails, services
from notifications.access import visible_notifications
from notifications.models import Delivery, Email, Kind, Mute, Notification, Preferences

log = logging.getLogger(__name__)

# Waits before each retry of an email the mail server refused for now; then it has failed.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
RELATED = (
    "recipient",
    "group",
    "actor",
    "annotation__author",
    "annotation__root",
    "annotation__parent",
    "annotation__reading",
    "assignment__group_reading__reading",
    "meeting",
)


@dataclass
class Report:
    reminders: int = 0
    sent: int = 0
    dropped: int = 0
    retrying: int = 0
    failed: int = 0
    digests: int = 0
    server_trouble: str = ""

    def __str__(self) -> str:
        said = (
            f"{self.sent} sent, {self.digests} digests, {self.retrying} to retry, "
            f"{self.failed} failed, {self.dropped} dropped, {self.reminders} reminders made"
        )
        if self.server_trouble:
            said += f"; stopped: the mail server is not taking email ({self.server_trouble})"
        return said


class Busy(Exception):
    """Another run holds the single-runner lock (SQLite)."""


class ServerTrouble(Exception):
    """The mail server would not take any email now (refused the log-in or the connection):
    nothing is wrong with the email, so it waits, and the run stops."""


def server_trouble(error: Exception) -> bool:
    """Trouble with the server, not the email: a refused log-in or greeting, a connection
    refused, dropped or timed out. (Every SMTP error is an OSError: a reply about the email
    itself, 4xx or 5xx to its sender, recipient or data, is not this.)"""
    if isinstance(
        error,
        smtplib.SMTPAuthenticationError
        | smtplib.SMTPConnectError
        | smtplib.SMTPHeloError
        | smtplib.SMTPNotSupportedError
        | smtplib.SMTPServerDisconnected,
    ):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def transient(error: Exception) -> bool:
    """Worth another try later: a 4xx reply, or no conversation at all (refused, dropped,
    timed out)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    return isinstance(error, smtplib.SMTPServerDisconnected | OSError)


def _why_not(n: Notification, preferences: Preferences, now: datetime) -> str:
    """Why this notification's email must not go now ("" when it may)."""
    if n.read_at is not None:
        return "Read in the app first."
    if not n.recipient.email or not n.recipient.is_active:
        return "No email address."
    # An address signed up with and not yet confirmed is not mailed (one made by an admin or
    # a script, which allauth has no record of, is).
    unconfirmed = EmailAddress.objects.filter(
        user_id=n.recipient_id, email__iexact=n.recipient.email, verified=False
    )
    if unconfirmed.exists():
        return "Email address not confirmed."
    if preferences.delivery(n.kind) == Delivery.OFF:
        return "Turned off."
    thread = (n.annotation.root_id or n.annotation_id) if n.annotation_id else None
    if n.kind == Kind.FLAG:
        thread = None  # moderation is silenced only by muting the whole group
    muted = Mute.objects.filter(user_id=n.recipient_id, group_id=n.group_id).filter(
        Q(thread__isnull=True) | Q(thread_id=thread)
    )
    if muted.exists():
        return "Muted."
    # asked of the notification's own group only: one membership, not all of the person's
    in_group = Membership.objects.filter(user_id=n.recipient_id, group_id=n.group_id)
    if (
        not visible_notifications(n.recipient, list(in_group.select_related("group")))
        .filter(pk=n.pk)
        .exists()
    ):
        return "No longer visible to its recipient."
    if n.kind == Kind.DUE_SOON and (
        n.assignment.due_at <= now or services.wrote_in(n.assignment, [n.recipient_id])
    ):
        return "Written in since, or already due."
    return ""


def _failed(n: Notification, error: Exception, now: datetime, report: Report) -> None:
    n.email_attempts += 1
    n.email_error = emails.one_line(f"{type(error).__name__}: {error}", 300)
    if transient(error) and n.email_attempts < MAX_ATTEMPTS:
        n.email_after = now + BACKOFF[n.email_attempts - 1]
        report.retrying += 1
    else:
        n.email = Email.FAILED
        report.failed += 1
    log.warning("Notification %s: email not sent (%s)", n.pk, n.email_error)


def _deliver(n: Notification, now: datetime, mail, report: Report) -> None:
    preferences = Preferences.for_user(n.recipient)
    fields = ["email", "email_after", "email_attempts", "email_error", "emailed_at"]
    reason = _why_not(n, preferences, now)
    if reason:
        n.email, n.email_error = Email.DROPPED, reason
        report.dropped += 1
    elif preferences.delivery(n.kind) == Delivery.DIGEST and n.kind != Kind.MEETING:
        n.email = Email.DIGEST  # they chose the digest since (a meeting soon stays urgent)
    else:
        try:
            mail.send_messages([emails.notification_message(n, now=now)])
        except Exception as error:  # noqa: BLE001 - the mail server's trouble is recorded
            with contextlib.suppress(Exception):
                mail.close()
            if server_trouble(error):  # not this email's fault: it waits, the run stops
                n.email_attempts += 1  # counted, but never failed for it
                n.email_after = now + BACKOFF[0]
                n.email_error = emails.one_line(f"{type(error).__name__}: {error}", 300)
                n.save(update_fields=fields)
                report.retrying += 1
                report.server_trouble = n.email_error
                return
            _failed(n, error, now, report)
        else:
            n.email, n.emailed_at, n.email_error = Email.SENT, timezone.now(), ""
            report.sent += 1
    n.save(update_fields=fields)


def _send_now(now: datetime, mail, report: Report) -> None:
    """Each row taken leaves the queue for now (sent, dropped, failed, or waiting until a later
    time), so the loop ends; a row seen twice would mean it did not, and stops it."""
    seen: set[int] = set()
    while True:
        with transaction.atomic():
            n = (
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(email=Email.QUEUED, email_after__lte=now)
                .select_related(*RELATED)
                .order_by("email_after", "pk")
                .first()
            )
            if n is None or n.pk in seen:
                return
            seen.add(n.pk)
            _deliver(n, now, mail, report)
        if report.server_trouble:  # committed what it did; the rest waits for a later run
            raise ServerTrouble(report.server_trouble)


def digest_slot(preferences: Preferences, zone_name: str, now: datetime) -> datetime:
    """The latest time the member's digest was due: today at their hour in their zone, or
    yesterday's if that hour has not come yet today."""
    zone = zone_named(zone_name)
    local = now.astimezone(zone)
    day = local.date() if local.hour >= preferences.digest_hour else local.date() - timedelta(1)
    return datetime.combine(day, time(preferences.digest_hour), tzinfo=zone)


def _digest(preferences: Preferences, now: datetime, mail, report: Report) -> None:
    user = preferences.user
    slot = digest_slot(preferences, user.time_zone, now)
    if preferences.last_digest_at is not None and preferences.last_digest_at >= slot:
        return
    if preferences.digest_retry_at is not None and preferences.digest_retry_at > now:
        return
    # What waited for this slot; what came after it waits for the next one.
    waiting = Notification.objects.filter(recipient=user, email=Email.DIGEST, created_at__lt=slot)
    waiting_ids = set(waiting.values_list("pk", flat=True))
    kept = []
    if waiting_ids:
        candidates = (
            visible_notifications(user)
            .filter(pk__in=waiting_ids, read_at__isnull=True)
            .select_related(*RELATED)
            .order_by("created_at", "pk")
        )
        kept = [n for n in candidates if not _why_not(n, preferences, now)]
    kept_ids = {n.pk for n in kept}
    dropped = Notification.objects.filter(pk__in=waiting_ids - kept_ids)
    report.dropped += dropped.update(email=Email.DROPPED, email_error="Not in the digest.")
    fields = ["last_digest_at", "digest_attempts", "digest_retry_at"]
    if kept:
        try:
            mail.send_messages([emails.digest_message(user, kept, now=now)])
        except Exception as error:  # noqa: BLE001 - the mail server's trouble is recorded
            with contextlib.suppress(Exception):
                mail.close()
            log.warning("Digest for user %s not sent (%s)", user.pk, error)
            if server_trouble(error):  # not this digest's fault: it waits, the run stops
                preferences.digest_attempts += 1
                preferences.digest_retry_at = now + BACKOFF[0]
                preferences.save(update_fields=fields)
                report.retrying += 1
                report.server_trouble = emails.one_line(f"{type(error).__name__}: {error}", 300)
                return
            preferences.digest_attempts += 1
            if transient(error) and preferences.digest_attempts < MAX_ATTEMPTS:
                preferences.digest_retry_at = now + BACKOFF[preferences.digest_attempts - 1]
                report.retrying += 1
                preferences.save(update_fields=fields)
                return
            Notification.objects.filter(pk__in=kept_ids).update(
                email=Email.FAILED, email_error=emails.one_line(str(error), 300)
            )
            report.failed += 1
        else:
            Notification.objects.filter(pk__in=kept_ids).update(
                email=Email.SENT, emailed_at=timezone.now(), email_error=""
            )
            report.digests += 1
    preferences.last_digest_at = slot
    preferences.digest_attempts, preferences.digest_retry_at = 0, None
    preferences.save(update_fields=fields)


def _send_digests(now: datetime, mail, report: Report) -> None:
    waiting = list(
        Notification.objects.filter(email=Email.DIGEST)
        .values_list("recipient_id", flat=True)
        .distinct()
        .order_by("recipient_id")
    )
    # Everyone waiting needs a row to claim (defaults for those who never saved theirs).
    Preferences.objects.bulk_create(
        [Preferences(user_id=pk) for pk in waiting], ignore_conflicts=True
    )
    for user_id in waiting:
        with transaction.atomic():
            preferences = (
                Preferences.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user")
                .filter(user_id=user_id)
                .first()
            )
            if preferences is not None:  # else another run is sending it
                _digest(preferences, now, mail, report)
        if report.server_trouble:
            raise ServerTrouble(report.server_trouble)


@contextlib.contextmanager
def _single_runner():
    """SQLite has no SKIP LOCKED: there, one run at a time (a second one finds it busy)."""
    if db.vendor != "sqlite":
        yield
        return
    database = str(Path(str(settings.DATABASES["default"]["NAME"])).resolve())
    name = hashlib.sha256(database.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"commonplace-send-notifications-{name}.lock"
    # Opened without following a link planted at that name, and without emptying anything.
    handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("Another send_notifications is running.") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def send_notifications(*, now: datetime | None = None, mail=None) -> Report:
    """One run: reminders, emails due now, digests due now."""
    now = now or timezone.now()
    report = Report()
    with _single_runner():
        report.reminders = services.due_soon_notify(now=now)
        mail = mail or get_connection()
        try:
            _send_now(now, mail, report)
            _send_digests(now, mail, report)
        except ServerTrouble as trouble:
            log.warning("The mail server is not taking email now (%s): trying again later", trouble)
        finally:
            with contextlib.suppress(Exception):
                mail.close()
    return report
