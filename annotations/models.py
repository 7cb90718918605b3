from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

BODY_MAX_LENGTH = settings.ANNOTATION_BODY_MAX_LENGTH


# How an author is named where they may not be: the author of a deleted annotation is not
# named at all, and one whose account is gone is a former member.
DELETED_LABEL = "[deleted]"
FORMER_MEMBER_LABEL = "former member"


class AnnotationQuerySet(models.QuerySet):
    def roots(self):
        return self.filter(parent__isnull=True)


class Annotation(models.Model):
    """A highlight, comment, question or reply in one group's layer over one reading.

    Root annotations target the reading's canonical text through a W3C TextQuoteSelector
    (exact/prefix/suffix) and TextPositionSelector (start/end, in code points). Replies
    target their parent; every reply keeps its thread's root.
    """

    class Motivation(models.TextChoices):
        HIGHLIGHTING = "highlighting", "Highlight"
        COMMENTING = "commenting", "Comment"
        QUESTIONING = "questioning", "Question"
        REPLYING = "replying", "Reply"
        TAGGING = "tagging", "Tags"

    ROOT_MOTIVATIONS = frozenset({"highlighting", "commenting", "questioning", "tagging"})

    class Visibility(models.TextChoices):
        GROUP = "group", "Group"
        PRIVATE = "private", "Only me"

    class BodyFormat(models.TextChoices):
        MARKDOWN = "markdown", "Markdown"
        PLAIN = "plain", "Plain text"

    class Anchoring(models.TextChoices):
        ANCHORED = "anchored", "Anchored"
        FUZZY = "fuzzy", "Re-anchored approximately"
        ORPHAN = "orphan", "Orphaned"

    # No index of its own: the (group, reading, ...) indexes below start with it. Each index
    # is one more write for every annotation saved (issue 8).
    group = models.ForeignKey(
        "groups.ReadingGroup",
        on_delete=models.CASCADE,
        related_name="annotations",
        db_index=False,
    )
    reading = models.ForeignKey(
        "readings.Reading", on_delete=models.CASCADE, related_name="annotations"
    )
    author = models.ForeignKey(  # indexed by (author, group), below
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="annotations",
        db_index=False,
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    root = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="thread"
    )
    motivation = models.CharField(max_length=20, choices=Motivation.choices)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.GROUP
    )
    body = models.TextField(blank=True, max_length=BODY_MAX_LENGTH)
    body_html = models.TextField(blank=True)

    # The target (root annotations only).
    exact = models.TextField(blank=True)
    prefix = models.CharField(max_length=64, blank=True)
    suffix = models.CharField(max_length=64, blank=True)
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    anchoring = models.CharField(
        max_length=10, choices=Anchoring.choices, default=Anchoring.ANCHORED
    )

    is_answer = models.BooleanField(default=False)
    # How many +1s it has: kept by annotations.services.annotation_plus_one in the same
    # transaction as the PlusOne rows, so a layer is read without counting them.
    plus_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_note = models.CharField(max_length=500, blank=True)
    # A facilitator's discussion prompt for an assignment (a root question in its range). Kept,
    # as a plain question, if the assignment is deleted.
    prompt_of = models.ForeignKey(
        "assignments.Assignment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prompts",
    )

    # Brought in from elsewhere (a W3C file, a Hypothesis export): who wrote it there and when,
    # shown as "originally by <name>, <date>" (the importing facilitator is its author here),
    # and a key naming it in its source, so that importing the same file twice adds nothing.
    original_author = models.CharField(max_length=200, blank=True)
    original_created_at = models.DateTimeField(null=True, blank=True)
    import_key = models.CharField(max_length=255, blank=True)
    # The body as it was given: Markdown (what this site writes), or plain text from another
    # client (shown as plain text, never rendered as Markdown); and its language, when said.
    body_format = models.CharField(
        max_length=10, choices=BodyFormat.choices, default=BodyFormat.MARKDOWN
    )
    language = models.CharField(max_length=35, blank=True)
    # Selectors another client sent that this site does not use (RangeSelector, XPathSelector
    # ...): kept, and given back as they came.
    extra_selectors = models.JSONField(default=list, blank=True)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["start", "created_at"]
        indexes = [
            models.Index(fields=["group", "reading", "start"]),
            # The API's container pages: keyset pagination by id within a group reading.
            models.Index(fields=["group", "reading", "id"], name="annotation_container_page"),
            models.Index(fields=["author", "group"]),
            # A reader's own notes beyond their class's cached layer (annotations.access.own_q),
            # read by every reading page: a handful of rows, not all they ever wrote.
            models.Index(
                fields=["group", "author", "reading"],
                condition=models.Q(visibility="private") | models.Q(hidden_at__isnull=False),
                name="annotation_own_beyond",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__gt=models.F("start")),
                name="annotation_range_not_empty",
            ),
            models.UniqueConstraint(
                fields=["group", "reading", "import_key"],
                condition=~Q(import_key=""),
                name="annotation_imported_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_motivation_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        thread = self.root_id or self.pk
        return reverse(
            "annotations:thread",
            args=[self.group.slug, self.reading.slug, thread],
        ) + (f"#a-{self.pk}" if self.root_id else "")

    @property
    def is_reply(self) -> bool:
        return self.parent_id is not None

    @property
    def is_page_note(self) -> bool:
        """A thread about the whole reading, not a passage (Hypothesis's "page note"): a root
        with no range. (An orphan keeps the range it had before a revision.)"""
        return self.parent_id is None and self.start is None

    @property
    def is_question(self) -> bool:
        return self.motivation == self.Motivation.QUESTIONING

    @property
    def is_private(self) -> bool:
        return self.visibility == self.Visibility.PRIVATE

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None


class Tag(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["annotation", "name"], name="tag_unique"),
        ]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class PlusOne(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="plus_ones")
    # A +1 outlives its giver's account, as their annotations do (and Annotation.plus_count
    # keeps counting it).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation", "user"], name="plus_one_unique"),
        ]

    def __str__(self) -> str:
        return f"+1 on #{self.annotation_id}"


class Flag(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["annotation", "user"], name="flag_unique"),
        ]

    def __str__(self) -> str:
        return f"Flag on #{self.annotation_id}: {self.reason[:40]}"


class Mention(models.Model):
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation", "user"], name="mention_unique"),
        ]

    def __str__(self) -> str:
        return f"@{self.user_id} in #{self.annotation_id}"
