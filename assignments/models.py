"""What a facilitator assigns: a range of a group reading, due at a time, with prompts (root
annotations by a facilitator, `Annotation.prompt_of`) and, optionally, “post before you peek”.
And what members mark read, section by section.

This app sits below `annotations` (accounts <- readings <- groups <- assignments <- annotations):
the permission table in annotations/access.py reads the assignments' ranges to withhold notes
until a member has posted their own.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from groups.models import GroupReading, Membership, ReadingGroup

TITLE_MAX_LENGTH = 200
INSTRUCTIONS_MAX_LENGTH = 10_000


class AssignmentQuerySet(models.QuerySet):
    def peek_locks_open(self, now=None):
        """Assignments whose “post before you peek” still holds: on, and not yet due."""
        return self.filter(post_before_peek=True, due_at__gt=now or timezone.now())


class Assignment(models.Model):
    group_reading = models.ForeignKey(
        GroupReading, on_delete=models.CASCADE, related_name="assignments"
    )
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    position = models.PositiveIntegerField(default=0, help_text="Order in the group's list.")
    # The range: from the first block to the last, by their anchors (which survive revisions of
    # the text that leave those blocks alone), and the offsets in the canonical text they span
    # now [start, end), which a revision of the text recomputes.
    first_block = models.CharField(max_length=20)
    last_block = models.CharField(max_length=20)
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    due_at = models.DateTimeField(help_text="Stored in UTC; entered in the group's time zone.")
    instructions = models.TextField(blank=True, max_length=INSTRUCTIONS_MAX_LENGTH)
    instructions_html = models.TextField(blank=True)
    post_before_peek = models.BooleanField(
        default=False,
        help_text="Members see the others' notes in the range only after posting their own "
        "(or once it is due).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["position", "due_at", "pk"]
        indexes = [models.Index(fields=["group_reading", "due_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="assignment_range_not_empty"
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_due(self, now=None) -> bool:
        return self.due_at <= (now or timezone.now())

    def covers(self, start: int | None, end: int | None) -> bool:
        """Does a passage [start, end) lie (at least partly) in the range?"""
        return start is not None and end is not None and start < self.end and end > self.start


def peek_until_changed(sender, instance, **_) -> None:
    """After an assignment is saved or deleted: the group's latest "post before you peek"
    due time, so that pages of a group with none open never look for locks."""
    group_id = (
        GroupReading.objects.filter(pk=instance.group_reading_id)
        .values_list("group_id", flat=True)
        .first()
    )
    if group_id is None:  # deleted with its group reading (or group)
        return
    latest = Assignment.objects.filter(
        group_reading__group_id=group_id, post_before_peek=True
    ).aggregate(latest=models.Max("due_at"))["latest"]
    ReadingGroup.objects.filter(pk=group_id).update(peek_until=latest)


class SectionRead(models.Model):
    """A member marked a section of a group reading read. Kept by the section's anchor (which a
    revision keeps while the heading stays), per membership: leaving the group forgets it."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="reads")
    reading = models.ForeignKey("readings.Reading", on_delete=models.CASCADE, related_name="+")
    section = models.CharField(max_length=120)
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["read_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["membership", "reading", "section"], name="section_read_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.section} read by membership {self.membership_id}"
