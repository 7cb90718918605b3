"""Meetings of a group: scheduled (with an agenda drawn from the threads and a recap), followed
in a calendar feed, and run live over a group reading (meeting mode: a banner, the
facilitator's spotlight, new notes within seconds).

This app sits above annotations (accounts <- readings <- groups <- assignments <- annotations
<- progress <- meetings <- demo): an agenda pins threads, a member raises one.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotations.models import Annotation
from assignments.models import Assignment
from groups.models import GroupReading, ReadingGroup

TITLE_MAX_LENGTH = 200
LINK_MAX_LENGTH = 500
RECAP_MAX_LENGTH = 20_000
AGENDA_TEXT_MAX_LENGTH = 300


class Meeting(models.Model):
    group = models.ForeignKey(ReadingGroup, on_delete=models.CASCADE, related_name="meetings")
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    starts_at = models.DateTimeField(help_text="Stored in UTC; entered in the group's time zone.")
    duration_minutes = models.PositiveIntegerField(default=90)
    link = models.URLField(max_length=LINK_MAX_LENGTH, blank=True, help_text="http or https.")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="meetings"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    recap = models.TextField(blank=True, max_length=RECAP_MAX_LENGTH)
    recap_html = models.TextField(blank=True)
    # The iCalendar UID: stable across fetches, edits and moves.
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["group", "starts_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None


class AgendaItem(models.Model):
    """A pinned thread (its root annotation) or a free item, in order."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="agenda")
    position = models.PositiveIntegerField(default=0)
    thread = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.CASCADE, related_name="agenda_items"
    )
    text = models.CharField(max_length=AGENDA_TEXT_MAX_LENGTH, blank=True)
    discussed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(thread__isnull=False) | ~Q(text=""), name="agenda_item_not_empty"
            )
        ]

    def __str__(self) -> str:
        return self.text or f"Thread {self.thread_id}"


class Raise(models.Model):
    """A member asked for a thread to be raised at the meeting (one click, undoable)."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="raises")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["annotation", "user"], name="raise_unique")]

    def __str__(self) -> str:
        return f"Raise {self.annotation_id} by {self.user_id}"


class CalendarFeed(models.Model):
    """A person's private iCalendar URL: an unguessable token, stored as its SHA-256 hash;
    revocable and replaceable from the account page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"


class LiveSession(models.Model):
    """Meeting mode on a group reading: running while `ended_at` is empty (one at a time per
    group reading). Every change (start, spotlight, end) moves GroupReading.live_version on,
    in the same transaction, so open pages learn of it from the version check."""

    class Spotlight(models.TextChoices):
        NONE = "", "Nothing"
        PASSAGE = "passage", "A passage"
        THREAD = "thread", "A thread"
        AGENDA = "agenda", "An agenda item"

    group_reading = models.ForeignKey(
        GroupReading, on_delete=models.CASCADE, related_name="live_sessions"
    )
    meeting = models.ForeignKey(
        Meeting, null=True, blank=True, on_delete=models.SET_NULL, related_name="live_sessions"
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    spotlight = models.CharField(max_length=10, choices=Spotlight.choices, blank=True)
    spotlight_start = models.PositiveIntegerField(null=True, blank=True)
    spotlight_end = models.PositiveIntegerField(null=True, blank=True)
    spotlight_thread = models.ForeignKey(
        Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    spotlight_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    spotlight_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_reading"],
                condition=Q(ended_at__isnull=True),
                name="one_live_session_per_group_reading",
            )
        ]

    def __str__(self) -> str:
        return f"Meeting mode on {self.group_reading_id}"
