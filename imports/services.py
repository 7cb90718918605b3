"""Importing a file's annotations into a group reading: the plan a facilitator previews
(`import_plan`), and the import itself (`annotations_import`), in one transaction.

The plan decides, for every annotation of the file, what becomes of it:

- **import**: a passage placed in the text (exact, or whitespace/typography folded: counted
  as anchored; or fuzzy), a page note (a discussion of the whole reading), or a reply;
- **already**: an annotation with the same import key is already in this group reading (or
  the file came from this very group reading's API, and the annotation is here): not again;
- **unmatched**: its quote is not in the text (listed, with the reason);
- **skipped**: it cannot or should not be imported (no words, too long, deleted or hidden where
  it was written, a private reply in a shared thread, a reply whose thread is not imported),
  with the reason.

A reply goes under its parent; when the parent is not imported (unmatched, skipped), under
the nearest note above it in its thread that is (from the file, or already here and open to
the facilitator's reply), and the preview counts it as moved up; with none, it is skipped.

Every annotation is authored by the importing facilitator and keeps who wrote it and when
(`original_author`, `original_created_at`: "originally by ..."), its key (`import_key`), its
body's format and language, and the selectors this site does not use. Bodies go through
annotations.services like any other, so they are cleaned the same way.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.models import User
from annotations.access import Action, permits
from annotations.models import Annotation
from annotations.services import AnnotationError, annotation_create, check_body, clean_tags
from groups.models import Membership
from imports.formats import Item, ParsedFile
from imports.quotes import QuoteMatch, anchor_quotes
from readings.models import Reading

Outcome = Literal["import", "already", "unmatched", "skipped"]


class ImportFailed(Exception):
    """The import stopped and nothing was written; the message says why, for a person."""


@dataclass
class Entry:
    """What becomes of one annotation of the file."""

    item: Item
    outcome: Outcome = "import"
    reason: str = ""
    match: QuoteMatch | None = None
    words: str = ""  # a placed passage's words in the text
    parent: str = ""  # a reply's: the key of the annotation it goes under
    moved_up: bool = False  # under a note further up its thread than its parent
    private_thread: bool = False


@dataclass
class ImportPlan:
    format: str
    entries: list[Entry]
    # annotations already in the group reading that the file names (by import key or, for a
    # file of this group reading's API, by IRI), and those a reply may go under
    existing: dict[str, Annotation] = field(default_factory=dict)
    repliable: set[str] = field(default_factory=set)
    # the replies to import, each after the note it goes under
    reply_order: list[Entry] = field(default_factory=list)

    def _of(self, outcome: Outcome) -> list[Entry]:
        return [e for e in self.entries if e.outcome == outcome]

    @property
    def to_import(self) -> list[Entry]:
        """What will be written, each after the annotation it goes under."""
        roots = [e for e in self._of("import") if e.item.kind != "reply"]
        return roots + [e for e in self.reply_order if e.outcome == "import"]

    @property
    def anchored(self) -> list[Entry]:
        return [
            e
            for e in self._of("import")
            if e.match is not None and e.match.status in {"exact", "normalized"}
        ]

    @property
    def fuzzy(self) -> list[Entry]:
        return [e for e in self._of("import") if e.match is not None and e.match.status == "fuzzy"]

    @property
    def page_notes(self) -> list[Entry]:
        return [e for e in self._of("import") if e.item.kind == "page_note"]

    @property
    def replies(self) -> list[Entry]:
        return [e for e in self._of("import") if e.item.kind == "reply"]

    @property
    def moved_up(self) -> list[Entry]:
        return [e for e in self.replies if e.moved_up]

    @property
    def private(self) -> list[Entry]:
        return [e for e in self._of("import") if e.private_thread]

    @property
    def bad_dates(self) -> list[Entry]:
        return [e for e in self._of("import") if e.item.bad_date]

    @property
    def already(self) -> list[Entry]:
        return self._of("already")

    @property
    def unmatched(self) -> list[Entry]:
        return self._of("unmatched")

    @property
    def skipped(self) -> list[Entry]:
        return self._of("skipped")

    @property
    def not_imported(self) -> list[Entry]:
        return [e for e in self.entries if e.outcome != "import"]


# --- the plan ---------------------------------------------------------------------------------


def import_plan(
    *,
    membership: Membership,
    reading: Reading,
    parsed: ParsedFile,
    text: str,
    here: str = "",
) -> ImportPlan:
    """What importing `parsed` into the member's group reading would do; writes nothing.

    `text` is the reading's canonical text; `here` the absolute IRI of the group reading's
    annotation container (a file exported from it names its annotations by IRIs under it).
    """
    plan = ImportPlan(format=parsed.format, entries=[Entry(item) for item in parsed.items])
    seen: set[str] = set()
    for entry in plan.entries:
        if entry.item.key in seen:
            _skip(entry, "It appears twice in the file.")
        seen.add(entry.item.key)
        if entry.outcome == "import":
            _check(entry)

    _find_existing(plan, membership, reading, here)
    for entry in plan.entries:
        if entry.outcome != "skipped" and entry.item.key in plan.existing:
            entry.outcome, entry.reason = "already", "Already imported."

    _place(plan, text)
    _thread(plan)
    return plan


def _skip(entry: Entry, reason: str) -> None:
    entry.outcome, entry.reason = "skipped", reason


def _check(entry: Entry) -> None:
    """Leave out what the file itself rules out, and what this site could not keep."""
    item = entry.item
    if item.left_out or item.problem:
        _skip(entry, item.left_out or item.problem)
        return
    try:
        item.body = check_body(item.body)
        tags = clean_tags(item.tags, keep_punctuation=True)
    except AnnotationError as error:
        _skip(entry, str(error))
        return
    if item.motivation == "tagging" and not tags:
        item.motivation = "highlighting"
    entry.private_thread = item.kind != "reply" and item.visibility == "private"


def _find_existing(plan: ImportPlan, membership: Membership, reading: Reading, here: str):
    """The annotations of the group reading that the file names, in one query."""
    keys = {e.item.key for e in plan.entries} | {
        key for e in plan.entries for key in e.item.parent_keys
    }
    ids = {}
    if here:
        for key in keys:
            rest = key.removeprefix(here)
            if rest != key and rest.isdigit() and len(rest) < 19:
                ids[int(rest)] = key
    found = (
        Annotation.objects.filter(group=membership.group, reading=reading)
        .filter(Q(import_key__in=keys) | Q(pk__in=ids))
        .select_related("root", "group")
    )
    for annotation in found:
        key = ids.get(annotation.pk) or annotation.import_key
        if key in keys:
            plan.existing[key] = annotation
            if annotation.deleted_at is None and permits(membership, Action.REPLY, annotation):
                plan.repliable.add(key)


def _place(plan: ImportPlan, text: str) -> None:
    passages = [e for e in plan.entries if e.outcome == "import" and e.item.kind == "passage"]
    matches = anchor_quotes(text, [(e.item.exact, e.item.prefix, e.item.suffix) for e in passages])
    for entry, match in zip(passages, matches, strict=True):
        entry.match = match
        if match.placed:
            entry.words = text[match.start : match.end]
        else:
            entry.outcome, entry.reason = "unmatched", match.reason


def _thread(plan: ImportPlan) -> None:
    """Find each reply the annotation it goes under, nearest first up its thread.

    Replies are taken shortest thread first, and go only under a note already settled (a
    root, or a reply taken before them): so parents are written first, and a file whose
    replies answer each other in a loop cannot send the import round it."""
    by_key: dict[str, Entry] = {}
    for entry in plan.entries:
        by_key.setdefault(entry.item.key, entry)
    settled = {e.item.key for e in plan.entries if e.outcome == "import" and e.item.kind != "reply"}
    replies = [e for e in plan.entries if e.outcome == "import" and e.item.kind == "reply"]
    for entry in sorted(replies, key=lambda e: len(e.item.parent_keys)):
        for n, key in enumerate(entry.item.parent_keys):
            above = by_key.get(key)
            if above is not None and key in settled and above is not entry:
                entry.parent, entry.moved_up = key, n > 0
                private = above.private_thread
                break
            if key in plan.repliable:
                entry.parent, entry.moved_up = key, n > 0
                private = _private_thread(plan.existing[key])
                break
        else:
            _skip(entry, _orphan_reason(entry, by_key, plan))
            continue
        if entry.item.visibility == "private" and not private:
            _skip(
                entry,
                "A private reply in a shared thread: here a reply has its thread's visibility, "
                "so the group would see it.",
            )
            continue
        entry.private_thread = private
        settled.add(entry.item.key)
        plan.reply_order.append(entry)


def _private_thread(annotation: Annotation) -> bool:
    root = annotation.root if annotation.root_id else annotation
    return root.visibility == Annotation.Visibility.PRIVATE


def _orphan_reason(entry: Entry, by_key: dict[str, Entry], plan: ImportPlan) -> str:
    keys = entry.item.parent_keys
    if keys and keys[-1] in by_key and by_key[keys[-1]].outcome == "unmatched":
        return "The passage its thread is about was not found in the text."
    if any(key in plan.existing for key in keys):
        return "The note it answers here was deleted, or is not open to your reply."
    if not any(key in by_key for key in keys):
        return "The note it answers is not in the file."
    return "No note above it in its thread is imported."


# --- the import -------------------------------------------------------------------------------


@dataclass
class ImportResult:
    imported: int
    fuzzy: int
    page_notes: int
    replies: int
    already: int
    unmatched: int
    skipped: int


@transaction.atomic
def annotations_import(
    *, membership: Membership, reading: Reading, importer: User, plan: ImportPlan, text: str
) -> ImportResult:
    """Write the plan's annotations, parents first, all or nothing: any failure rolls back
    everything and raises ImportFailed. `text` is the reading's canonical text."""
    group = membership.group
    made: dict[str, Annotation] = {}
    for number, entry in enumerate(plan.to_import, start=1):
        item = entry.item
        fields = {
            "group": group,
            "reading": reading,
            "author": importer,
            "body": item.body,
            "tags": item.tags,
            "visibility": item.visibility,
            "body_format": item.body_format,
            "language": item.language,
            "extra_selectors": item.extra_selectors,
            "original_author": item.original_author,
            "original_created_at": item.original_created_at,
            "import_key": item.key,
            "imported": True,
            "text": text,
        }
        if item.kind == "reply":
            fields["motivation"] = Annotation.Motivation.REPLYING
            fields["parent"] = made.get(entry.parent) or plan.existing[entry.parent]
        elif item.kind == "page_note":
            fields["motivation"] = item.motivation
            fields["page_note"] = True
        else:
            fields["motivation"] = item.motivation
            fields["start"], fields["end"] = entry.match.start, entry.match.end
        try:
            made[item.key] = annotation_create(**fields)
        except AnnotationError as error:
            raise ImportFailed(
                f"Nothing was imported: annotation {number} (“{item.excerpt[:80]}”) could not "
                f"be saved: {error}"
            ) from error
        except IntegrityError:
            raise ImportFailed(
                "Nothing was imported: some of these annotations were imported meanwhile, by "
                "someone else. Upload the file again to see what is left."
            ) from None
    counts = defaultdict(int)
    for entry in plan.to_import:
        counts[entry.item.kind] += 1
    return ImportResult(
        imported=len(made),
        fuzzy=len(plan.fuzzy),
        page_notes=counts["page_note"],
        replies=counts["reply"],
        already=len(plan.already),
        unmatched=len(plan.unmatched),
        skipped=len(plan.skipped),
    )
