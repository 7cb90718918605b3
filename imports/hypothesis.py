"""Hypothesis exports: the JSON file its client's "Export" writes (`export_date`,
`export_userid`, `client_version`, `annotations`), or a page of its search API (`rows`).

Each annotation has an `id`, Markdown `text`, `tags`, `target[].selector[]` (a
TextQuoteSelector among RangeSelector and TextPositionSelector), `references` (the ids of the
thread above a reply: the last is its parent, the first its root), `user`
("acct:name@hypothes.is"), `user_info.display_name`, `created`, `permissions`.

- No selector at all: a page note. A reply is an annotation with references.
- `permissions.read` of `group:...` is shared; readable only by its author's `acct:...` it
  was private there, and is imported as a private note of the facilitator importing it (who
  has the file, so could read it anyway; nobody else will).
- `hidden` (moderated) annotations are left out.
"""

import re

from imports.formats import (
    ImportFileError,
    Item,
    ParsedFile,
    as_list,
    check_count,
    clean_name,
    extra_selectors,
    import_key,
    parse_date,
    text_of,
)

FORMAT = "Hypothesis export"
KEY_PREFIX = "hypothesis:"

_ACCOUNT = re.compile(r"^acct:([^@\s]{1,100})@[^\s]{1,253}$")


def recognizes(value) -> bool:
    if not isinstance(value, dict) or "type" in value:
        return False
    return isinstance(value.get("annotations"), list) or (
        isinstance(value.get("rows"), list) and "total" in value
    )


def parse(value) -> ParsedFile:
    rows = value.get("annotations")
    if not isinstance(rows, list):
        rows = value["rows"]
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            raise ImportFileError(f"Annotation {n} of the file is not an object.")
    check_count(len(rows))
    return ParsedFile(format=FORMAT, items=[_item(row) for row in rows])


def _key(value, data=None) -> str:
    if isinstance(value, str) and value.strip():
        return import_key(KEY_PREFIX + value.strip(), data)
    return import_key(None, data)


def _item(data: dict) -> Item:
    created, bad_date = parse_date(data.get("created"))
    body = text_of(data.get("text"))
    tags = [tag for tag in as_list(data.get("tags")) if isinstance(tag, str)]
    item = Item(
        key=_key(data.get("id"), data),
        kind="passage",
        body=body.strip(),
        body_format="markdown",
        tags=tags,
        visibility=_visibility(data),
        original_author=_author(data),
        original_created_at=created,
        bad_date=bad_date,
    )
    if data.get("hidden") is True:
        item.left_out = "Hidden by a moderator where it was written."

    references = [r for r in as_list(data.get("references")) if isinstance(r, str) and r.strip()]
    if references:
        item.kind = "reply"
        item.motivation = "replying"
        item.parent_keys = [_key(r) for r in reversed(references)]
        if not item.body:
            item.problem = "A reply with no words."
        return item

    targets = as_list(data.get("target"))
    target = targets[0] if targets and isinstance(targets[0], dict) else {}
    selectors = [s for s in as_list(target.get("selector")) if isinstance(s, dict)]
    quote = next((s for s in selectors if s.get("type") == "TextQuoteSelector"), None)
    exact = text_of(quote.get("exact")) if quote else ""
    if exact.strip():
        item.exact = exact[:10_000]
        item.prefix = text_of(quote.get("prefix"))[-64:]
        item.suffix = text_of(quote.get("suffix"))[:64]
        item.extra_selectors = extra_selectors(selectors)
        item.motivation = "commenting" if item.body else "tagging" if tags else "highlighting"
    elif selectors:
        item.problem = (
            "It has no quote (TextQuoteSelector): a position on another page cannot say where "
            "it is in this text."
        )
    else:
        item.kind = "page_note"
        item.motivation = "commenting"
        if not item.body:
            item.problem = "A note about the whole reading with no words."
    return item


def _visibility(data: dict) -> str:
    """ "private" when only its author could read it there."""
    permissions = data.get("permissions")
    if not isinstance(permissions, dict) or "read" not in permissions:
        return "group"
    readers = [r for r in as_list(permissions.get("read")) if isinstance(r, str)]
    if any(reader.startswith("group:") for reader in readers):
        return "group"
    return "private"


def _author(data: dict) -> str:
    info = data.get("user_info")
    name = clean_name(info.get("display_name")) if isinstance(info, dict) else ""
    if name:
        return name
    user = data.get("user")
    match = _ACCOUNT.match(user) if isinstance(user, str) else None
    return clean_name(match.group(1)) if match else ""
