"""What members hear between meetings: notifications in the app, and how each reaches them
by email.

A Notification is one person told of one thing (a reply, a mention, a meeting moved...). It
points at the thing rather than copying it: the inbox and every email read the thing as it is
now, through the permission tables, so a notification about something since deleted, hidden,
made private or withheld from its recipient is shown nowhere and never emailed
(notifications.access). Its email travels by its own small state machine, claimed by
`send_notifications` (notifications.delivery).

This app sits above every other (accounts <- ... <- meetings <- notifications): it hears the
lower apps through their `events` signals, sent inside their writes' transactions.
"""

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    REPLY = "reply", "Replies to you and in your threads"
    MENTION = "mention", "@mentions of you"
    ANSWER = "answer", "Answers marked on your questions"
    ASSIGNMENT = "assignment", "New assignments"
    DUE_SOON = "due_soon", "Assignments due within a day that you haven't written in"
    MEETING = "meeting", "Meetings scheduled, moved or cancelled"
    RECAP = "recap", "Meeting recaps"
    FLAG = "flag", "Flags for facilitators"


class Delivery(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DIGEST = "digest", "In the daily digest"
    OFF = "off", "Off"


# What a member who never opened their settings gets: what is addressed to them personally
# straight away; news of the group once a day. "Due soon" is a reminder, useless a day late,
# so it comes straight away too.
DEFAULT_DELIVERY = {
    Kind.REPLY: Delivery.IMMEDIATELY,
    Kind.MENTION: Delivery.IMMEDIATELY,
    Kind.ANSWER: Delivery.IMMEDIATELY,
    Kind.ASSIGNMENT: Delivery.DIGEST,
    Kind.DUE_SOON: Delivery.IMMEDIATELY,
    Kind.MEETING: Delivery.DIGEST,
    Kind.RECAP: Delivery.DIGEST,
    Kind.FLAG: Delivery.IMMEDIATELY,
}
DEFAULT_DIGEST_HOUR = 8  # in the member's own time zone


def _delivery_field(kind: Kind):
    return models.CharField(
        max_length=12,
        choices=Delivery.choices,
        default=DEFAULT_DELIVERY[kind],
        verbose_name=kind.label,
    )


class Preferences(models.Model):
    """One member's email settings: one choice per kind, and the digest's hour (in their
    own time zone, `User.time_zone`). Absent until first saved: defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    reply = _delivery_field(Kind.REPLY)
    mention = _delivery_field(Kind.MENTION)
    answer = _delivery_field(Kind.ANSWER)
    assignment = _delivery_field(Kind.ASSIGNMENT)
    due_soon = _delivery_field(Kind.DUE_SOON)
    meeting = _delivery_field(Kind.MEETING)
    recap = _delivery_field(Kind.RECAP)
    flag = _delivery_field(Kind.FLAG)
    digest_hour = models.PositiveSmallIntegerField(
        default=DEFAULT_DIGEST_HOUR,
        choices=[(hour, f"{hour:02d}:00") for hour in range(24)],
        help_text="When the daily digest goes out, in your time zone.",
    )
    # The last digest's slot (the hour it was for, sent or found empty): a later slot, in
    # whatever zone and at whatever hour the member has now, is the next digest.
    last_digest_at = models.DateTimeField(null=True, blank=True)
    # A digest the mail server refused for now: tried again from this time.
    digest_attempts = models.PositiveSmallIntegerField(default=0)
    digest_retry_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"

    def delivery(self, kind: str) -> str:
        return getattr(self, kind)

    @classmethod
    def for_user(cls, user) -> "Preferences":
        """The saved preferences, or the defaults (unsaved)."""
        return cls.objects.filter(user=user).first() or cls(user=user)


class Mute(models.Model):
    """A member's "stop telling me about this": a whole group, or one thread (its root)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("groups.ReadingGroup", on_delete=models.CASCADE, related_name="+")
    thread = models.ForeignKey(
        "annotations.Annotation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"],
                condition=models.Q(thread__isnull=True),
                name="mute_group_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "thread"],
                condition=models.Q(thread__isnull=False),
                name="mute_thread_unique",
            ),
        ]

    def __str__(self) -> str:
        what = f"thread #{self.thread_id}" if self.thread_id else str(self.group)
        return f"{self.user} mutes {what}"


class Email(models.TextChoices):
    """Where a notification's email is."""

    NONE = "none", "Not emailed"  # off, muted, or superseded
    QUEUED = "queued", "Waiting to be sent"
    DIGEST = "digest", "Waiting for the digest"
    SENT = "sent", "Sent"
    DROPPED = "dropped", "Not sent: no longer visible, read, or turned off"
    FAILED = "failed", "Failed"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    group = models.ForeignKey(
        "groups.ReadingGroup", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What happened, where a kind has several ("scheduled", "moved", "cancelled" for meetings;
    # "reply" or "thread" for replies: to one's own words, or in a thread one took part in).
    event = models.CharField(max_length=12, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The thing it is about (one of them, by kind). Deleting the thing deletes the notification.
    annotation = models.ForeignKey(
        "annotations.Annotation", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    meeting = models.ForeignKey(
        "meetings.Meeting", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Where in the reading, as the section's heading when it was written ("Why the working
    # class"): for the inbox line and the email's subject.
    place = models.CharField(max_length=200, blank=True)
    # What else the line needs from the moment it was written: a flag's reason; a moved
    # meeting's old start; the due date a "due soon" reminder was for.
    note = models.CharField(max_length=500, blank=True)
    was_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    email = models.CharField(max_length=8, choices=Email.choices, default=Email.NONE)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_after = models.DateTimeField(null=True, blank=True)  # next try, for QUEUED
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["email_after"],
                condition=models.Q(email="queued"),
                name="notification_email_queue",
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(email="digest"),
                name="notification_digest_queue",
            ),
        ]
        constraints = [
            # One "due soon" reminder per member, assignment and due date (`was_at`), however
            # often the sweep runs; a new due date may be reminded of again.
            models.UniqueConstraint(
                fields=["recipient", "assignment", "was_at"],
                condition=models.Q(kind="due_soon"),
                name="notification_due_soon_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient_id} (#{self.pk})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None
