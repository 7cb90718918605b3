"""Writes to the annotation layer. Each checks the group is writable and runs atomically.

Every write locks the annotation it changes (so a check made under the lock and the write
after it are one step: two racing edits cannot both win, an edit racing a delete is refused
rather than crashing) and, last, counts one more change to its group's layer
(`GroupReading.layer_version`, see `_layer_changed`) in the same transaction.
"""

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from annotations import access, events
from annotations.anchoring import CONTEXT, Anchor, QuoteAnchorer, reanchor_many
from annotations.models import BODY_MAX_LENGTH, Annotation, Flag, Mention, PlusOne, Tag
from assignments.models import Assignment
from assignments.services import assignments_recompute
from commonplace import markdown, untrusted
from commonplace.compiled import CompiledInsert, CompiledUpdate
from commonplace.urltags import reverse_kept
from groups import services as group_services
from groups.access import ensure_writable
from groups.models import GroupReading, Membership, ReadingGroup
from readings import services as reading_services
from readings.models import Reading

MAX_TAGS = settings.ANNOTATION_MAX_TAGS
TAG_MAX_LENGTH = settings.TAG_MAX_LENGTH
# What a tag loses ("C++", "Marx/Engels" keep their punctuation): control characters and
# invisible formatting (direction overrides, zero-width characters).
TAG_INVISIBLE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]+"
)
#: The most context kept on each side of a quote (Annotation.prefix and suffix hold 64): a
#: client's own prefix or suffix, when it is the text's, up to this long.
CONTEXT_KEPT = 64


class AnnotationError(Exception):
    """Input that cannot become an annotation; the message says why, for a person."""

    def __init__(self, message: str, *, field: str = "", status: int = 400):
        super().__init__(message)
        self.field = field
        self.status = status


class AnnotationChanged(AnnotationError):
    """The annotation is no longer as the caller last saw it (the API's If-Match failed)."""

    def __init__(self, message: str = "The annotation has changed since you fetched it."):
        super().__init__(message, status=412)


class AnnotationGone(AnnotationError, Http404):
    """The annotation was deleted meanwhile: a 404 wherever it surfaces, page or API."""

    def __init__(self, message: str = "That annotation was deleted."):
        super().__init__(message, status=404)


def _lock(annotation: Annotation) -> None:
    """Reload the annotation as it is now and lock its row until the transaction ends.

    Raises AnnotationGone when it was deleted meanwhile. (SQLite has no row locks; there
    every write transaction begins IMMEDIATE, which serializes writers just the same.)
    """
    rows = Annotation.objects.select_for_update(of=("self",)).select_related(
        "author", "group", "reading", "parent", "root", "hidden_by"
    )
    try:
        annotation.refresh_from_db(from_queryset=rows)
    except Annotation.DoesNotExist:
        raise AnnotationGone() from None


def _layer_changed(*, reading_id: int, group_id: int | None) -> None:
    """Count one more change to a group's layer over a reading (to every group's, with
    group_id=None: a revised text moves them all). Called last by every write, in its
    transaction, so nobody reads the new figure without the change that made it."""
    if group_id is None:
        GroupReading.objects.filter(reading_id=reading_id).update(
            layer_version=F("layer_version") + 1
        )
    else:  # every annotation's write: compiled once (commonplace/compiled.py)
        _ONE_LAYER_CHANGED.run(reading_id=reading_id, group_id=group_id)


_NEW_ANNOTATION = CompiledInsert(Annotation)

_ONE_LAYER_CHANGED = CompiledUpdate(
    lambda reading_id, group_id: (
        GroupReading.objects.filter(reading_id=reading_id, group_id=group_id),
        {"layer_version": F("layer_version") + 1},
    ),
    reading_id=int,
    group_id=int,
)


def tag_key(name: str) -> str:
    """What tags are matched, de-duplicated and filtered by: the name with its case folded
    (lowercased, as JavaScript's toLowerCase does, so static/js/reading/layer.js agrees)."""
    return name.lower()


def clean_tags(tags: Iterable[str] | str, *, keep_punctuation: bool = True) -> list[str]:
    """Tags as their writers wrote them ("C++", "Rosa Luxemburg", "¿Por qué?"): only a leading
    "#" (pages show one before every tag), invisible characters and extra whitespace go. A
    string is split at commas and line breaks. Tags that differ only in case are one: the
    first spelling is kept. (`keep_punctuation` is what every tag now does.)

    The work is linear and bounded: names are de-duplicated through a set of their keys, and
    the first tag past MAX_TAGS ends it (a request of 60,000 tags costs what one of eleven
    does); the API counts its tagging bodies before it gets here (annotations.w3c.bodies)."""
    if isinstance(tags, str):
        tags = re.split(r"[,\n]", tags)
    cleaned: list[str] = []
    keys: set[str] = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise AnnotationError("Tags must be text.", field="tags")
        words = TAG_INVISIBLE.sub("", " ".join(tag.split()))  # a tab or line break is a space
        name = " ".join(words.lstrip("#").split())
        if not name:
            continue
        if len(name) > TAG_MAX_LENGTH:
            raise AnnotationError(
                f"A tag can be at most {TAG_MAX_LENGTH} characters long.", field="tags"
            )
        if (found := untrusted.forbidden_character(name)) is not None:
            raise AnnotationError(f"A tag cannot contain {found}.", field="tags")
        key = tag_key(name)
        if key in keys:
            continue
        if len(keys) == MAX_TAGS:
            raise AnnotationError(f"At most {MAX_TAGS} tags.", field="tags")
        keys.add(key)
        cleaned.append(name)
    return cleaned


def check_body(body: str) -> str:
    if not isinstance(body, str):
        raise AnnotationError("The body must be text.", field="body")
    body = body.replace("\r\n", "\n").strip()
    if len(body) > BODY_MAX_LENGTH:
        raise AnnotationError(
            f"The comment is too long: {len(body):,} characters, the limit is {BODY_MAX_LENGTH:,}.",
            field="body",
        )
    if (found := untrusted.forbidden_character(body)) is not None:
        raise AnnotationError(f"The comment cannot contain {found}.", field="body")
    return body


def member_usernames(group: ReadingGroup) -> dict[str, User]:
    return {
        m.user.username.lower(): m.user
        for m in Membership.objects.filter(group=group).select_related("user")
    }


def render_body(
    body: str, group: ReadingGroup, reading: Reading, members: dict[str, User]
) -> tuple[str, set[str]]:
    """Cleaned HTML with @mentions of members linked, and the usernames mentioned."""
    page = reverse_kept("annotations:reading", args=[group.slug, reading.slug])

    def mention_url(name: str) -> str | None:
        user = members.get(name.lower())
        return f"{page}?member={user.username}" if user else None

    return markdown.render_with_mentions(body, mention_url=mention_url)


def _rendered(annotation: Annotation, members: dict[str, User]) -> tuple[str, set[str]]:
    """The body's cleaned HTML and who it mentions: Markdown, or plain text kept plain."""
    if not annotation.body:
        return "", set()
    if annotation.body_format == Annotation.BodyFormat.PLAIN:
        return markdown.render_plain(annotation.body), set()
    return render_body(annotation.body, annotation.group, annotation.reading, members)


def _record_mentions(
    annotation: Annotation, names: set[str], members: dict[str, User], *, new: bool = False
) -> set[int]:
    """Keep Mention rows in step with the body (a `new` annotation has none to compare
    with). A private note mentions nobody: it must never reach anyone but its author,
    notifications included."""
    if annotation.is_private:
        names = set()
    wanted = {members[name].pk for name in names if name in members}
    existing: set[int] = set()
    if not new:
        Mention.objects.filter(annotation=annotation).exclude(user_id__in=wanted).delete()
        existing = set(
            Mention.objects.filter(annotation=annotation).values_list("user_id", flat=True)
        )
    added = wanted - existing
    Mention.objects.bulk_create([Mention(annotation=annotation, user_id=pk) for pk in added])
    return added


def _set_tags(annotation: Annotation, tags: list[str]) -> None:
    Tag.objects.filter(annotation=annotation).exclude(name__in=tags).delete()
    existing = set(Tag.objects.filter(annotation=annotation).values_list("name", flat=True))
    Tag.objects.bulk_create([Tag(annotation=annotation, name=t) for t in tags if t not in existing])


def _canonical_text(reading: Reading) -> str:
    """The reading's canonical text (readings/text.py), which every new annotation is checked
    against: building it reads every section and block, so each process keeps the last few it
    built, under the reading's last change (a revised text saves the reading, so its
    `updated_at` moves on and the old text is never asked for again)."""
    return _canonical_text_at(reading.pk, reading.updated_at)


@functools.lru_cache(maxsize=16)
def _canonical_text_at(reading_id: int, updated_at) -> str:
    return Reading(pk=reading_id).canonical_text()


def check_target(
    text: str, start, end, exact: str | None, prefix=None, suffix=None
) -> tuple[int, int, str, str, str]:
    """Validate a position (and quote) against the canonical text; return the full anchor.
    Its prefix and suffix are the text's own, `CONTEXT` code points each side; a `prefix` or
    `suffix` a client gave is kept instead when it is the text there and longer (up to
    `CONTEXT_KEPT`), so what the client said of the passage is not lost."""
    if (
        isinstance(start, bool)
        or isinstance(end, bool)
        or not isinstance(start, int)
        or not isinstance(end, int)
    ):
        raise AnnotationError("The start and end positions must be whole numbers.", field="target")
    if not 0 <= start < end <= len(text):
        raise AnnotationError(
            f"The positions {start}–{end} are outside the text (0–{len(text)}) or empty.",
            field="target",
        )
    actual = text[start:end]
    if exact is not None and exact != actual:
        raise AnnotationError(
            "The quote does not match the text at that position: the text there is "
            f"“{actual[:80]}”.",
            field="target",
        )
    if not actual.strip():
        raise AnnotationError("Select some words, not only spaces.", field="target")
    before = text[max(0, start - CONTEXT) : start]
    if isinstance(prefix, str) and len(prefix[-CONTEXT_KEPT:]) > len(before):
        given = prefix[-CONTEXT_KEPT:]
        if start >= len(given) and text[start - len(given) : start] == given:
            before = given
    after = text[end : end + CONTEXT]
    if isinstance(suffix, str) and len(suffix[:CONTEXT_KEPT]) > len(after):
        given = suffix[:CONTEXT_KEPT]
        if text[end : end + len(given)] == given:
            after = given
    return start, end, actual, before, after


def place_quote(
    *, reading: Reading, exact: str, prefix: str = "", suffix: str = "", near: int | None = None
) -> tuple[int, int]:
    """Where a TextQuoteSelector from another client lands in the reading's canonical text:
    (start, end) in code points, by annotations.anchoring's rules (exact, then whitespace and
    typography folded, then fuzzy; `near`, a position it gave, only breaks ties). An
    AnnotationError says why when it cannot be placed."""
    anchorer = _quote_anchorer_at(reading.pk, reading.updated_at)
    placement = anchorer.place(exact, prefix, suffix, near=near)
    if placement is not None:
        return placement.anchor.start, placement.anchor.end
    shown = " ".join(exact.split())
    shown = f"“{shown[:80]}{'…' if len(shown) > 80 else ''}”"
    found = anchorer.occurrences(exact)
    if found > 1:
        raise AnnotationError(
            f"The quote {shown} occurs {found} times in the text and its prefix and suffix do "
            "not say which: send the words just before and after it (prefix, suffix), or a "
            "TextPositionSelector over the reading's text.",
            field="target",
        )
    raise AnnotationError(
        f"The quote {shown} is not in this reading's text (even allowing for whitespace, "
        "typography and small differences).",
        field="target",
    )


@functools.lru_cache(maxsize=8)
def _quote_anchorer_at(reading_id: int, updated_at) -> QuoteAnchorer:
    """The canonical text's anchorer, kept like the text itself (see _canonical_text)."""
    return QuoteAnchorer(_canonical_text_at(reading_id, updated_at))


def _check_prompt(assignment, annotation, group, reading, author) -> None:
    """A prompt: a facilitator's shared question on a passage inside the assignment's range."""
    group_reading = assignment.group_reading
    if group_reading.group_id != group.pk or group_reading.reading_id != reading.pk:
        raise AnnotationError("That assignment is not on this group's reading.")
    if not Membership.objects.filter(
        group=group, user=author, role=Membership.Role.FACILITATOR
    ).exists():
        raise AnnotationError("Only a facilitator can set a prompt.")
    if annotation.motivation != Annotation.Motivation.QUESTIONING:
        raise AnnotationError("A prompt is a question.", field="motivation")
    if annotation.visibility != Annotation.Visibility.GROUP:
        raise AnnotationError("A prompt is shared with the group.", field="visibility")
    if not (assignment.start <= annotation.start and annotation.end <= assignment.end):
        raise AnnotationError(
            "A prompt's passage must lie inside the assigned range.", field="target"
        )


@transaction.atomic
def annotation_create(
    *,
    group: ReadingGroup,
    reading: Reading,
    author: User,
    motivation: str,
    body: str = "",
    tags: Iterable[str] = (),
    visibility: str = Annotation.Visibility.GROUP,
    start: int | None = None,
    end: int | None = None,
    exact: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
    parent: Annotation | None = None,
    text: str | None = None,
    prompt_of: Assignment | None = None,
    page_note: bool = False,
    body_format: str = Annotation.BodyFormat.MARKDOWN,
    language: str = "",
    extra_selectors: list | None = None,
    original_author: str = "",
    original_created_at=None,
    import_key: str = "",
    imported: bool = False,
) -> Annotation:
    """Create a highlight, comment or question on the text, or a reply to `parent`; with
    `prompt_of`, a facilitator's discussion prompt (a shared question in the assignment's range);
    with `page_note`, a comment or question about the whole reading (no passage).

    `text` is the reading's canonical text, when the caller already has it; `prefix` and
    `suffix`, the context a client gave with its quote (kept when it is the text's, see
    check_target). `body_format`
    "plain" keeps the body as plain text (from another client); `original_author`,
    `original_created_at` and `import_key` mark an imported annotation. `imported` (the
    imports app) keeps the tags' punctuation, and treats @names as the other site's people:
    they are not linked and nobody here is told.
    """
    ensure_writable(group)
    body = check_body(body)
    tags = clean_tags(tags, keep_punctuation=imported)
    if not isinstance(visibility, str) or visibility not in Annotation.Visibility.values:
        raise AnnotationError("Visibility is “group” or “private”.", field="visibility")
    # Only a body with an @ (or an entity that renders as one) can mention anybody.
    mentions = not imported and ("@" in body or "&" in body)
    members = member_usernames(group) if mentions else {}
    if body_format not in Annotation.BodyFormat.values:
        raise AnnotationError("The body's format is Markdown or plain text.", field="body")
    annotation = Annotation(
        group=group,
        reading=reading,
        author=author,
        visibility=visibility,
        body_format=body_format,
        language=(language or "")[:35],
        extra_selectors=list(extra_selectors or []),
        original_author=" ".join((original_author or "").split())[:200],
        original_created_at=original_created_at,
        import_key=(import_key or "")[:255],
    )
    if parent is not None:
        if prompt_of is not None:
            raise AnnotationError("A prompt is a passage of the text, not a reply.")
        if parent.group_id != group.pk or parent.reading_id != reading.pk:
            raise AnnotationError("A reply must answer an annotation of the same reading.")
        # Locked, so a delete of the parent waits, or has happened: no orphaned reply. Read
        # as it is now with only its thread's root (every row joined to a locking read is
        # more for PostgreSQL to plan: all of _lock's take it some 3 ms).
        try:
            locked = (
                Annotation.objects.select_for_update(of=("self",))
                .select_related("root")
                .get(pk=parent.pk)
            )
        except Annotation.DoesNotExist:
            raise AnnotationGone() from None
        if locked.is_deleted and not locked.children.exists():
            raise AnnotationError("That annotation was deleted.")
        if not access.open_to_replies(locked):  # hidden meanwhile: every reply path asks
            raise AnnotationError(access.HIDDEN_THREAD_MESSAGE, field="body", status=403)
        if not body:
            raise AnnotationError("Write a reply.", field="body")
        annotation.parent = parent
        annotation.root = locked.root if locked.root_id else parent
        annotation.motivation = Annotation.Motivation.REPLYING
        if locked.is_private:
            annotation.visibility = Annotation.Visibility.PRIVATE
    elif page_note:
        if prompt_of is not None:
            raise AnnotationError("A prompt is a passage of the text.")
        if motivation not in {"commenting", "questioning"}:
            raise AnnotationError(
                "A discussion of the whole reading is a comment or a question.",
                field="motivation",
            )
        if not body:
            raise AnnotationError("Write something to start the discussion.", field="body")
        annotation.motivation = motivation
    else:
        if motivation not in Annotation.ROOT_MOTIVATIONS:
            raise AnnotationError(
                "The motivation is highlighting, commenting, questioning or tagging.",
                field="motivation",
            )
        if motivation in {"commenting", "questioning"} and not body:
            raise AnnotationError(
                "Write a comment, or save the passage as a highlight.", field="body"
            )
        if motivation == "tagging" and not tags:
            raise AnnotationError("Add at least one tag.", field="tags")
        if text is None:
            text = _canonical_text(reading)
        start, end, exact, prefix, suffix = check_target(text, start, end, exact, prefix, suffix)
        annotation.motivation = motivation
        annotation.start, annotation.end = start, end
        annotation.exact, annotation.prefix, annotation.suffix = exact, prefix, suffix
        if prompt_of is not None:
            _check_prompt(prompt_of, annotation, group, reading, author)
            annotation.prompt_of = prompt_of
    annotation.body = body
    annotation.body_html, names = _rendered(annotation, members)
    _NEW_ANNOTATION.run(annotation)  # annotation.save(), its INSERT made once
    Tag.objects.bulk_create([Tag(annotation=annotation, name=name) for name in tags])
    mentioned = _record_mentions(annotation, names, members, new=True)
    _layer_changed(reading_id=reading.pk, group_id=group.pk)
    events.annotation_created.send(sender=Annotation, annotation=annotation, mentioned=mentioned)
    annotation.held = False  # new: no flag on it (access.is_held need not ask)
    return annotation


def edit_version(annotation: Annotation, tags: Iterable[str] | None = None) -> str:
    """What an edit form was drawn from, as a short token (the browser's If-Match): the
    annotation's words, their format, its kind, visibility and tags (`tags`: its tag names,
    if known; else read). An edit sent with an older token is refused (AnnotationChanged) and
    not saved over what was saved meanwhile; a +1, a flag or a reply elsewhere in the thread
    leaves it as it was."""
    if tags is None:
        tags = Tag.objects.filter(annotation=annotation).values_list("name", flat=True)
    state = [
        annotation.body,
        annotation.body_format,
        annotation.motivation,
        annotation.visibility,
        sorted(tags),
    ]
    digest = hashlib.sha256(json.dumps(state, ensure_ascii=False).encode())
    return digest.hexdigest()[:32]


@transaction.atomic
def annotation_update(
    *,
    annotation: Annotation,
    body: str | None = None,
    tags: Iterable[str] | None = None,
    visibility: str | None = None,
    motivation: str | None = None,
    body_format: str | None = None,
    language: str | None = None,
    precondition: Callable[[Annotation], bool] | None = None,
) -> Annotation:
    """Change an annotation's words (and their format and language), tags, visibility or
    kind. `precondition`, when given, is asked of the annotation as it is now, under its
    lock: False refuses the edit with AnnotationChanged (the API passes its If-Match check)."""
    _lock(annotation)
    if precondition is not None and not precondition(annotation):
        raise AnnotationChanged()
    ensure_writable(annotation.group)
    if annotation.is_deleted:
        raise AnnotationGone()
    fields = ["modified_at"]
    mentioned: set[int] = set()
    shared_replies: list[tuple[Annotation, set[int]]] = []
    if language is not None and language[:35] != annotation.language:
        annotation.language = language[:35]
        fields.append("language")
    rerender = False
    if body_format is not None and body_format != annotation.body_format:
        if body_format not in Annotation.BodyFormat.values:
            raise AnnotationError("The body's format is Markdown or plain text.", field="body")
        annotation.body_format = body_format
        fields.append("body_format")
        rerender = True
    if body is not None or rerender:
        body = check_body(annotation.body if body is None else body)
        if annotation.is_reply and not body:
            raise AnnotationError("A reply cannot be empty.", field="body")
        if body != annotation.body or rerender:
            if reason := access.held_for_moderation(annotation):
                raise AnnotationError(reason, field="body", status=409)
            members = member_usernames(annotation.group)
            annotation.body = body
            annotation.body_html, names = _rendered(annotation, members)
            annotation.edited_at = timezone.now()
            fields += ["body", "body_html", "edited_at"]
            mentioned = _record_mentions(annotation, names, members)
    if motivation is not None and motivation != annotation.motivation:
        if annotation.is_reply or motivation not in Annotation.ROOT_MOTIVATIONS:
            raise AnnotationError("That motivation cannot be set here.", field="motivation")
        annotation.motivation = motivation
        fields.append("motivation")
    if annotation.motivation in {"commenting", "questioning"} and not annotation.body:
        raise AnnotationError("Write a comment, or save the passage as a highlight.", field="body")
    if visibility is not None and visibility != annotation.visibility:
        if visibility not in Annotation.Visibility.values:
            raise AnnotationError("Visibility is “group” or “private”.", field="visibility")
        if annotation.is_reply:
            raise AnnotationError("A reply has its thread's visibility.", field="visibility")
        if visibility == Annotation.Visibility.PRIVATE and (
            reason := access.stays_shared(annotation)
        ):
            # annotations.access's make_private line, asked under the lock: a flag raised
            # or a reply written since the page was drawn still counts.
            status = 409 if reason == access.FLAGGED_MESSAGE else 400
            raise AnnotationError(reason, field="visibility", status=status)
        annotation.visibility = visibility
        fields.append("visibility")
        Annotation.objects.filter(root=annotation).update(visibility=visibility)
        # Mentions follow visibility, for the root and every reply in its thread.
        members = member_usernames(annotation.group)
        for item in [annotation, *Annotation.objects.filter(root=annotation)]:
            item.visibility = visibility
            names = (
                render_body(item.body, item.group, item.reading, members)[1] if item.body else set()
            )
            added = _record_mentions(item, names, members)
            if item.pk == annotation.pk:
                mentioned |= added  # a note shared now tells those it mentions
            elif added:  # and so does each of its replies
                shared_replies.append((item, added))
    if tags is not None:
        _set_tags(annotation, clean_tags(tags))
    annotation.save(update_fields=fields)
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)
    if mentioned:
        events.mentions_added.send(sender=Annotation, annotation=annotation, mentioned=mentioned)
    for reply, added in shared_replies:
        events.mentions_added.send(sender=Annotation, annotation=reply, mentioned=added)
    return annotation


@transaction.atomic
def annotation_delete(
    *, annotation: Annotation, precondition: Callable[[Annotation], bool] | None = None
) -> None:
    """Delete; an annotation with replies leaves “[deleted]” in its place, keeping them.
    `precondition` as for annotation_update."""
    _lock(annotation)
    if precondition is not None and not precondition(annotation):
        raise AnnotationChanged()
    ensure_writable(annotation.group)
    if annotation.is_deleted:
        raise AnnotationGone()
    if reason := access.held_for_moderation(annotation):
        raise AnnotationError(reason, status=409)
    layer = {"reading_id": annotation.reading_id, "group_id": annotation.group_id}
    if annotation.children.exists():
        annotation.deleted_at = timezone.now()
        annotation.body = ""
        annotation.body_html = ""
        annotation.save(update_fields=["deleted_at", "body", "body_html", "modified_at"])
        annotation.tags.all().delete()
        annotation.mentions.all().delete()
        # Nothing is left to look at: its flags are settled, not left on the flag list.
        Flag.objects.filter(annotation=annotation, resolved_at__isnull=True).update(
            resolved_at=timezone.now()
        )
        _layer_changed(**layer)
        return
    parent = annotation.parent
    annotation.delete()
    # A “[deleted]” placeholder whose last reply is gone has nothing left to hold. Locked
    # first, so a reply being written to it meanwhile is seen (or waits).
    while parent is not None:
        try:
            _lock(parent)
        except AnnotationGone:
            break
        if not parent.is_deleted or parent.children.exists():
            break
        grandparent = parent.parent
        parent.delete()
        parent = grandparent
    _layer_changed(**layer)


@transaction.atomic
def annotation_mark_answer(*, reply: Annotation, is_answer: bool, by: User | None = None) -> None:
    _lock(reply)
    ensure_writable(reply.group)
    if not reply.is_reply:
        raise AnnotationError("Only a reply can be marked as the answer.")
    was = reply.is_answer
    reply.is_answer = is_answer
    reply.save(update_fields=["is_answer", "modified_at"])
    _layer_changed(reading_id=reply.reading_id, group_id=reply.group_id)
    if is_answer and not was:
        events.answer_marked.send(sender=Annotation, reply=reply, by=by)


@transaction.atomic
def annotation_plus_one(*, annotation: Annotation, user: User) -> bool:
    """Toggle the person's +1. Returns True when it is now on."""
    _lock(annotation)
    ensure_writable(annotation.group)
    deleted, _ = PlusOne.objects.filter(annotation=annotation, user=user).delete()
    if not deleted:
        PlusOne.objects.create(annotation=annotation, user=user)
    Annotation.objects.filter(pk=annotation.pk).update(
        plus_count=F("plus_count") + (-1 if deleted else 1)
    )
    annotation.plus_count += -1 if deleted else 1
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)
    return not deleted


@transaction.atomic
def annotation_flag(*, annotation: Annotation, user: User, reason: str) -> Flag:
    _lock(annotation)
    ensure_writable(annotation.group)
    reason = " ".join((reason or "").split())
    if not reason:
        raise AnnotationError("Say why you are flagging it.", field="reason")
    if len(reason) > 500:
        raise AnnotationError("Keep the reason under 500 characters.", field="reason")
    was_open = Flag.objects.filter(
        annotation=annotation, user=user, resolved_at__isnull=True
    ).exists()
    flag, _ = Flag.objects.update_or_create(
        annotation=annotation, user=user, defaults={"reason": reason, "resolved_at": None}
    )
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)
    annotation.held = True  # its words are held now (access.not_held)
    if not was_open:
        events.flag_raised.send(sender=Flag, flag=flag)
    return flag


@transaction.atomic
def annotation_hide(*, annotation: Annotation, by: User, note: str) -> None:
    """Hide it from the group, with a note for its author; its open flags are resolved."""
    _lock(annotation)
    ensure_writable(annotation.group)
    note = " ".join((note or "").split())
    if not note:
        raise AnnotationError("Leave a note saying why it is hidden.", field="note")
    annotation.hidden_at = timezone.now()
    annotation.hidden_by = by
    annotation.hidden_note = note[:500]
    annotation.save(update_fields=["hidden_at", "hidden_by", "hidden_note", "modified_at"])
    Flag.objects.filter(annotation=annotation, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)


@transaction.atomic
def annotation_flags_dismiss(*, annotation: Annotation) -> int:
    """A facilitator looked at the flags on it and leaves it as it is: they are resolved
    (and so its author may make it private again, annotations.access). How many were open."""
    _lock(annotation)
    ensure_writable(annotation.group)
    resolved = Flag.objects.filter(annotation=annotation, resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)
    return resolved


@transaction.atomic
def annotation_unhide(*, annotation: Annotation) -> None:
    _lock(annotation)
    ensure_writable(annotation.group)
    annotation.hidden_at = None
    annotation.hidden_by = None
    annotation.hidden_note = ""
    annotation.save(update_fields=["hidden_at", "hidden_by", "hidden_note", "modified_at"])
    _layer_changed(reading_id=annotation.reading_id, group_id=annotation.group_id)


@transaction.atomic
def annotations_reanchor(*, reading: Reading, old_text: str, new_text: str) -> dict[str, int]:
    """After a revision of the reading, move every annotation onto the new text. Every
    group's layer over the reading counts a change: its text did, if nothing else."""
    roots = list(
        Annotation.objects.filter(reading=reading, parent__isnull=True, start__isnull=False)
        .only("id", "start", "end", "exact", "prefix", "suffix", "anchoring")
        .order_by("pk")
    )
    if old_text == new_text or not roots:
        _layer_changed(reading_id=reading.pk, group_id=None)
        return {"exact": len(roots)}
    anchors = [Anchor(a.start, a.end, a.exact, a.prefix, a.suffix) for a in roots]
    counts: dict[str, int] = {}
    changed = []
    for annotation, placement in zip(roots, reanchor_many(anchors, new_text), strict=True):
        counts[placement.status] = counts.get(placement.status, 0) + 1
        if placement.status == "orphan":
            annotation.anchoring = Annotation.Anchoring.ORPHAN
        else:
            new = placement.anchor
            annotation.start, annotation.end = new.start, new.end
            annotation.exact, annotation.prefix, annotation.suffix = (
                new.exact,
                new.prefix,
                new.suffix,
            )
            annotation.anchoring = (
                Annotation.Anchoring.FUZZY
                if placement.status == "fuzzy"
                else Annotation.Anchoring.ANCHORED
            )
        changed.append(annotation)
    Annotation.objects.bulk_update(
        changed, ["start", "end", "exact", "prefix", "suffix", "anchoring"], batch_size=500
    )
    _layer_changed(reading_id=reading.pk, group_id=None)
    return counts


def _reanchor(reading: Reading, old_text: str, new_text: str) -> dict[str, int]:
    """After a revision: the annotations onto the new text, and the assignments onto its
    blocks (in the revision's transaction)."""
    assignments_recompute(reading=reading, old_text=old_text)
    return annotations_reanchor(reading=reading, old_text=old_text, new_text=new_text)


def reading_import_reanchoring(**kwargs) -> Reading:
    """readings.services.reading_import, moving every group's annotations onto a replaced text
    in the same transaction (the `import_reading` command uses this)."""
    return reading_services.reading_import(**kwargs, reanchor=_reanchor)


def group_reading_revise(
    *, group: ReadingGroup, reading: Reading, data: bytes, filename: str, overrides: dict
) -> Reading:
    """A facilitator's new text for a reading their group imported; annotations re-anchor."""
    return group_services.group_reading_revise(
        group=group,
        reading=reading,
        data=data,
        filename=filename,
        overrides=overrides,
        reanchor=_reanchor,
    )
