import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse


def new_anchor() -> str:
    """A short permanent id for a block: stays the same when the reading is revised."""
    return "p-" + secrets.token_hex(4)


class ReadingQuerySet(models.QuerySet):
    def public(self):
        return self.filter(owner_group__isnull=True)

    def visible_to(self, user):
        """The public library plus readings imported by the user's groups."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            models.Q(owner_group__isnull=True) | models.Q(owner_group__memberships__user=user)
        )


class Reading(models.Model):
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=600, blank=True, help_text="The dek: one sentence.")
    author = models.CharField(max_length=200, blank=True)
    publication = models.CharField(max_length=200, blank=True)
    source_url = models.URLField(max_length=500, blank=True)
    attribution = models.TextField(
        blank=True, help_text="Where the text comes from and on what terms it is shared."
    )
    about_author = models.TextField(blank=True, help_text="A line about the author.")
    slug = models.SlugField(max_length=120, unique=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    owner_group = models.ForeignKey(
        "groups.ReadingGroup",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="own_readings",
        help_text="Empty: in the public library. Set: imported by this group, visible to it only.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReadingQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("readings:detail", args=[self.slug])

    def canonical_text(self) -> str:
        from readings.text import canonical_text

        return canonical_text(self)


class Section(models.Model):
    """A run of blocks under one heading. The first section may have no heading (the intro)."""

    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="sections")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    level = models.PositiveSmallIntegerField(default=1, help_text="1 = section, 2 = subsection.")
    anchor = models.SlugField(max_length=120)

    class Meta:
        ordering = ["reading", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reading", "position"], name="section_position_unique"),
            models.UniqueConstraint(fields=["reading", "anchor"], name="section_anchor_unique"),
        ]

    def __str__(self) -> str:
        return self.heading or "(introduction)"


class Block(models.Model):
    class Kind(models.TextChoices):
        PARAGRAPH = "paragraph", "Paragraph"
        BLOCKQUOTE = "blockquote", "Blockquote"
        CAPTION = "caption", "Figure caption"

    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="blocks")
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="blocks")
    position = models.PositiveIntegerField(help_text="Order within the whole reading.")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PARAGRAPH)
    text = models.TextField(help_text="Plain text: the words annotations count over.")
    html = models.TextField(help_text="Sanitized inline HTML whose text content equals `text`.")
    anchor = models.CharField(max_length=20, default=new_anchor)

    class Meta:
        ordering = ["reading", "position"]
        constraints = [
            models.UniqueConstraint(fields=["reading", "position"], name="block_position_unique"),
            models.UniqueConstraint(fields=["reading", "anchor"], name="block_anchor_unique"),
        ]

    def __str__(self) -> str:
        return self.text[:60]
