"""Reading an uploaded file of annotations: which format it is, and what every format's
annotation becomes (`Item`), with everything taken from the file checked on the way in.

The file is hostile until proven otherwise: it is decoded as UTF-8, parsed as JSON with its
depth and size bounded, and each value read from it is checked for its type and length before
it is used. Names lose control and direction-override characters; dates must be real ones,
in a plausible range. What cannot be used is reported, never guessed at.
"""

import datetime
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings
from django.utils import timezone

from commonplace import untrusted

#: The largest file accepted (bytes): settings.ANNOTATION_IMPORT_MAX_BYTES.
MAX_FILE_BYTES = settings.ANNOTATION_IMPORT_MAX_BYTES
#: The most annotations one file may hold (replies and page notes included).
MAX_ANNOTATIONS = settings.ANNOTATION_IMPORT_MAX_ANNOTATIONS
#: An import key longer than this (the model's column) is replaced by its digest.
MAX_KEY_LENGTH = 255
#: Other clients' selectors kept with an annotation (RangeSelector, ...): at most this much
#: JSON, the rest dropped.
MAX_EXTRA_SELECTORS_BYTES = 4096
#: Dates outside this range are not believed.
EARLIEST = datetime.datetime(1990, 1, 1, tzinfo=datetime.UTC)

Kind = Literal["passage", "page_note", "reply"]

_LANGUAGE = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


class ImportFileError(Exception):
    """The file cannot be read as annotations at all; the message says why, for a person."""


@dataclass
class Item:
    """One annotation of the file, as this site would keep it.

    `key` names it in its source (the import key); `parent_keys` are the keys of the thread
    above a reply, nearest first (its parent, then the parent's parent, ... up to the root).
    `problem` says why it cannot be imported (it is then only reported); `left_out` says why
    it is deliberately not imported (deleted, hidden).
    """

    key: str
    kind: Kind
    motivation: str = "commenting"
    body: str = ""
    body_format: str = "markdown"
    tags: list[str] = field(default_factory=list)
    visibility: str = "group"
    exact: str = ""
    prefix: str = ""
    suffix: str = ""
    parent_keys: list[str] = field(default_factory=list)
    original_author: str = ""
    original_created_at: datetime.datetime | None = None
    language: str = ""
    extra_selectors: list = field(default_factory=list)
    problem: str = ""
    left_out: str = ""
    bad_date: bool = False

    @property
    def excerpt(self) -> str:
        """A line that lets a person recognize it: its quote, else its words."""
        words = self.exact or self.body or " ".join(f"#{t}" for t in self.tags)
        return " ".join(words.split())[:300]


@dataclass
class ParsedFile:
    """What a file held: its format's name and its annotations in file order."""

    format: str
    items: list[Item]


def load_json(data: bytes):
    """The file's JSON value, or ImportFileError saying why there is none."""
    if not data.strip():
        raise ImportFileError("The file is empty.")
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(f"The file is larger than {untrusted.size(MAX_FILE_BYTES)}.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError("The file is not UTF-8 text: is it really a JSON file?") from None
    try:
        # Valid, no deeper than settings.JSON_MAX_DEPTH, and no NUL or lone surrogate in any
        # string (which no database or page could take): commonplace.untrusted.
        return untrusted.loads(text, what="The file")
    except untrusted.BadInput as error:
        raise ImportFileError(str(error)) from None


def check_count(count: int) -> None:
    if count > MAX_ANNOTATIONS:
        raise ImportFileError(
            f"The file holds {count:,} annotations; at most {MAX_ANNOTATIONS:,} can be imported "
            "at once. Split it, or export one reading at a time."
        )
    if count == 0:
        raise ImportFileError("The file holds no annotations.")


# --- values read from the file --------------------------------------------------------------


def text_of(value, limit: int | None = None) -> str:
    """A string from the file, or "" for anything else; cut to `limit` code points."""
    if not isinstance(value, str):
        return ""
    return value if limit is None else value[:limit]


def clean_name(value) -> str:
    """A person's name from the file: one line of visible characters, at most 200."""
    if not isinstance(value, str):
        return ""
    kept = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if not unicodedata.category(ch).startswith("C") or ch.isspace()
    )
    return " ".join(kept.split())[:200]


def clean_language(value) -> str:
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str) and len(value) <= 35 and _LANGUAGE.match(value):
        return value
    return ""


def parse_date(value) -> tuple[datetime.datetime | None, bool]:
    """(the moment, whether a date was given but could not be believed). A date without a
    zone is taken as UTC; one before 1990 or in the future is not believed."""
    if value in (None, ""):
        return None, False
    if not isinstance(value, str) or len(value) > 64:
        return None, True
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None, True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if not EARLIEST <= moment <= timezone.now() + datetime.timedelta(days=1):
        return None, True
    return moment, False


def import_key(value, data) -> str:
    """The stable name of an annotation in its source: its id when it has one (a string or a
    number), else a digest of its JSON; a long id is replaced by its digest."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        key = value.strip()
        if len(key) <= MAX_KEY_LENGTH:
            return key
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def extra_selectors(selectors: list) -> list:
    """The selectors this site does not use, kept as they came while they stay small."""
    kept, size = [], 0
    for selector in selectors:
        if not isinstance(selector, dict):
            continue
        if selector.get("type") in {"TextQuoteSelector", "TextPositionSelector"}:
            continue
        size += len(json.dumps(selector, ensure_ascii=False))
        if size > MAX_EXTRA_SELECTORS_BYTES:
            break
        kept.append(selector)
    return kept


def as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
