import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import time_zone_choices

EMAIL_INVITATION_LIFETIME = timedelta(days=30)


def new_token() -> str:
    """256 bits from the OS's CSPRNG, URL-safe: unguessable invitation tokens."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What is kept of an invitation token: its SHA-256, in hex. A token is 256 random bits,
    so a plain hash can be neither reversed nor guessed, and a leaked table or backup opens no
    invitation; the link a person holds is looked up by the hash of what they present."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class HashedToken(models.Model):
    """An invitation reached through a secret token, of which only the hash is stored.

    The token itself exists only on the object that made it (`token`, not a column): the
    email carries it, or the facilitator is shown it once."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)

    token: str | None = None

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self.token_hash:
            self.issue_token()
        super().save(*args, **kwargs)

    def issue_token(self) -> str:
        self.token = new_token()
        self.token_hash = token_digest(self.token)
        return self.token


class TokenQuerySet(models.QuerySet):
    def for_token(self, token: str):
        return self.filter(token_hash=token_digest(token))


class ReadingGroupQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(memberships__user=user)


class ReadingGroup(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(max_length=2000, blank=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        choices=time_zone_choices,
        help_text="Meetings and due dates are set in this time zone.",
    )
    readings = models.ManyToManyField(
        "readings.Reading", through="GroupReading", related_name="reading_groups"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    # The latest due time of the group's assignments with "post before you peek" on, kept by
    # assignments (its signals): while it is past or empty, nothing is withheld from anyone,
    # and the permission table need not look (annotations.access.peek_locks).
    peek_until = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ReadingGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("groups:detail", args=[self.slug])

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Membership(models.Model):
    class Role(models.TextChoices):
        FACILITATOR = "facilitator", "Facilitator"
        MEMBER = "member", "Member"

    group = models.ForeignKey(ReadingGroup, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    joined_via = models.ForeignKey(
        "InviteLink",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="memberships",
    )
    # Visits, for "since your last visit": when the member was last seen in the group, and
    # when their visit before the present one ended (groups.services.membership_seen).
    last_seen_at = models.DateTimeField(null=True, blank=True)
    previous_visit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "-role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "group"], name="membership_unique"),
        ]
        indexes = [models.Index(fields=["group", "role"])]

    def __str__(self) -> str:
        return f"{self.user} in {self.group} ({self.role})"

    @property
    def is_facilitator(self) -> bool:
        return self.role == self.Role.FACILITATOR


class GroupReading(models.Model):
    group = models.ForeignKey(ReadingGroup, on_delete=models.CASCADE, related_name="group_readings")
    reading = models.ForeignKey(
        "readings.Reading", on_delete=models.CASCADE, related_name="group_readings"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    # The “what changed” figure for this group's layer over the reading: every write to the layer
    # (annotations.services) adds one in the same transaction. Polls and caches key on it.
    layer_version = models.PositiveBigIntegerField(default=0)
    # The same for meeting mode (meetings.LiveSession): started, spotlight moved, ended.
    live_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["added_at"]
        constraints = [
            models.UniqueConstraint(fields=["group", "reading"], name="group_reading_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.reading} in {self.group}"

    def get_absolute_url(self) -> str:
        return reverse("annotations:reading", args=[self.group.slug, self.reading.slug])


class InviteLink(HashedToken):
    """A shareable link anyone can use to join, until it expires, is used up or revoked."""

    group = models.ForeignKey(ReadingGroup, on_delete=models.CASCADE, related_name="invite_links")
    label = models.CharField(max_length=80, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label or f"Link {self.pk} for {self.group}"

    def token_path(self) -> str:
        """The link's address: only on the object that made the token (it is not stored)."""
        if not self.token:
            raise ValueError("Only a link's hash is stored: its address was shown when made.")
        return reverse("groups:join", args=[self.token])

    def problem(self, now=None) -> str | None:
        """Why this link cannot be used now, or None if it can."""
        now = now or timezone.now()
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= now:
            return "expired"
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return "used up"
        return None

    @property
    def is_active(self) -> bool:
        return self.problem() is None


class EmailInvitationQuerySet(TokenQuerySet):
    def pending(self):
        return self.filter(
            accepted_at__isnull=True,
            withdrawn_at__isnull=True,
            declined_at__isnull=True,
            expires_at__gt=timezone.now(),
        )

    def for_emails(self, emails):
        query = Q()
        for email in emails:
            query |= Q(email__iexact=email)
        return self.filter(query) if emails else self.none()


class EmailInvitation(HashedToken):
    """A personal invitation sent to one address, for the account that has it, verified."""

    group = models.ForeignKey(
        ReadingGroup, on_delete=models.CASCADE, related_name="email_invitations"
    )
    email = models.EmailField()
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    objects = EmailInvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["email"])]

    def __str__(self) -> str:
        return f"{self.email} to {self.group}"

    def token_path(self) -> str:
        """The address in the email: only on the object that made the token."""
        if not self.token:
            raise ValueError("Only an invitation's hash is stored: its address is in the email.")
        return reverse("groups:invitation", args=[self.token])

    def problem(self, now=None) -> str | None:
        now = now or timezone.now()
        if self.withdrawn_at:
            return "withdrawn"
        if self.accepted_at:
            return "already accepted"
        if self.declined_at:
            return "declined"
        if self.expires_at <= now:
            return "expired"
        return None


class RemovalQuerySet(models.QuerySet):
    def standing(self):
        return self.filter(lifted_at__isnull=True)


class Removal(models.Model):
    """A person a facilitator removed: no invitation, link or email, lets them back in until
    a facilitator lifts the removal. The row stays when it is lifted (`lifted_at`): an email
    invitation sent before the latest removal never lets them in."""

    group = models.ForeignKey(ReadingGroup, on_delete=models.CASCADE, related_name="removals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RemovalQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["group", "user"], name="removal_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} removed from {self.group}"

    @property
    def is_standing(self) -> bool:
        return self.lifted_at is None


class InvitationEmailSent(models.Model):
    """One invitation email sent, kept for the sender's daily quota (INVITATION_EMAILS_PER_DAY,
    groups.services): not the invitation itself, so deleting the group, withdrawing the
    invitation or its being accepted gives no quota back. Rows older than the quota's window
    are dropped as the sender sends again."""

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["sender", "sent_at"], name="invitation_sent_quota")]

    def __str__(self) -> str:
        return f"Invitation email by #{self.sender_id} at {self.sent_at:%Y-%m-%d %H:%M}"
