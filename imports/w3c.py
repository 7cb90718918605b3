"""W3C Web Annotation files (JSON-LD): an AnnotationCollection with its pages embedded (the
exports app's download, or any client's), an AnnotationPage (a page of the annotation API), a
JSON list of annotations, or one annotation.

- Bodies: TextualBody objects (or `bodyValue`); `format` text/markdown is Markdown, anything
  else (text/plain, or none) plain text, text/html its text; `purpose: tagging` bodies are
  tags. Several text bodies are joined by a blank line.
- Targets: a source with a TextQuoteSelector is a passage (positions are not used); a source
  with no selector, or an empty quote (how this site exports a page note), is a page note; a
  target that is another annotation's id (or any target of a `replying` annotation) is a reply.
- `creator` and `created` are who wrote it and when, unless `originalCreator` and
  `originalCreated` (this site's terms, on a note it imported) say who wrote it first.
- `visibility: private` (this site's extension) is kept; `deleted` and `hidden` annotations
  are left out (their replies join the nearest note above them that is imported).
"""

from django.utils.html import strip_tags

from imports.formats import (
    ImportFileError,
    Item,
    ParsedFile,
    as_list,
    check_count,
    clean_language,
    clean_name,
    extra_selectors,
    import_key,
    parse_date,
    text_of,
)

FORMAT = "W3C Web Annotation (JSON-LD)"
#: How many embedded pages of a collection are followed (through `next`).
MAX_PAGES = 100


def _types(value) -> set[str]:
    return {t for t in as_list(value.get("type")) if isinstance(t, str)}


def recognizes(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, dict) and "Annotation" in _types(v) for v in value)
    if isinstance(value, dict):
        return bool(_types(value) & {"Annotation", "AnnotationPage", "AnnotationCollection"})
    return False


def annotations_of(value) -> list[dict]:
    """The annotation objects of a file `recognizes` accepted, or ImportFileError."""
    if isinstance(value, list):
        found = value
    elif "AnnotationCollection" in _types(value):
        found = _collection_items(value)
    elif "AnnotationPage" in _types(value):
        found = _page_items(value)
    else:
        found = [value]
    for n, item in enumerate(found, start=1):
        if isinstance(item, str):
            raise ImportFileError(
                "The file lists only the annotations' addresses, not the annotations: "
                "export them with their contents."
            )
        if not isinstance(item, dict) or "Annotation" not in _types(item):
            raise ImportFileError(f"Item {n} of the file is not an annotation (type Annotation).")
    return found


def _page_items(page: dict) -> list:
    items = page.get("items", [])
    if not isinstance(items, list):
        raise ImportFileError('The page\'s "items" is not a list of annotations.')
    return items


def _collection_items(collection: dict) -> list:
    if isinstance(collection.get("items"), list):
        return collection["items"]
    page = collection.get("first")
    if page is None:
        if collection.get("total") == 0:
            return []
        raise ImportFileError("The collection has no annotations in it (no first page).")
    if isinstance(page, str):
        raise ImportFileError(
            "The collection's pages are only linked, not in the file: download the "
            "annotations with their pages embedded."
        )
    if not isinstance(page, dict):
        raise ImportFileError("The collection's first page is not an AnnotationPage.")
    found: list = []
    for _ in range(MAX_PAGES):
        found += _page_items(page)
        page = page.get("next")
        if not isinstance(page, dict):
            break  # the last page, or a link to one elsewhere: the file's pages are imported
    return found


def parse(value) -> ParsedFile:
    annotations = annotations_of(value)
    check_count(len(annotations))
    keys = [import_key(data.get("id"), data) for data in annotations]
    in_file = set(keys)
    items = [_item(data, key, in_file) for data, key in zip(annotations, keys, strict=True)]
    _chain_replies(items)
    return ParsedFile(format=FORMAT, items=items)


def _item(data: dict, key: str, in_file: set[str]) -> Item:
    motivations = [m for m in as_list(data.get("motivation")) if isinstance(m, str)]
    motivation = motivations[0] if motivations else ""
    body, body_format, tags, language = _bodies(data)
    # a note this site imported once says who wrote it first, and when (its own terms)
    author = _creator(data.get("originalCreator")) or _creator(data.get("creator"))
    created, bad_date = parse_date(data.get("originalCreated") or data.get("created"))
    item = Item(
        key=key,
        kind="passage",
        body=body,
        body_format=body_format,
        tags=tags,
        visibility="private" if data.get("visibility") == "private" else "group",
        original_author=author,
        original_created_at=created,
        bad_date=bad_date,
        language=language,
    )
    if data.get("deleted") is True:
        item.left_out = "Deleted where it was written."
    elif data.get("hidden"):
        item.left_out = "Hidden by a facilitator where it was written."

    targets = as_list(data.get("target"))
    target = targets[0] if targets else None
    parent = _annotation_target(target)
    if parent is not None and (parent in in_file or motivation == "replying"):
        item.kind = "reply"
        item.motivation = "replying"
        item.parent_keys = [parent]
        if not body and not item.problem:
            item.problem = "A reply with no words."
        return item

    if not isinstance(target, dict | str):
        item.problem = item.problem or "It has no target: nothing says what it is about."
        return item
    selectors = as_list(target.get("selector")) if isinstance(target, dict) else []
    quote = next(
        (s for s in selectors if isinstance(s, dict) and s.get("type") == "TextQuoteSelector"),
        None,
    )
    exact = text_of(quote.get("exact")) if quote else ""
    if exact.strip():
        item.exact = exact[:10_000]
        item.prefix = text_of(quote.get("prefix"))[-64:]
        item.suffix = text_of(quote.get("suffix"))[:64]
        item.extra_selectors = extra_selectors(selectors)
        item.motivation = _root_motivation(motivation, body, tags)
    elif quote is None and any(_places_something(s) for s in selectors):
        item.problem = item.problem or (
            "It has no quote (TextQuoteSelector): a position or a selector on another page "
            "cannot say where it is in this text."
        )
    else:
        item.kind = "page_note"
        item.motivation = "questioning" if motivation == "questioning" else "commenting"
        if not body and not item.problem:
            item.problem = "A note about the whole reading with no words."
    return item


def _places_something(selector) -> bool:
    """Whether a selector points somewhere (this site exports a page note's target with an
    empty quote and a position of nulls)."""
    if not isinstance(selector, dict):
        return False
    if selector.get("type") == "TextPositionSelector":
        return selector.get("start") is not None
    return True


def _annotation_target(target) -> str | None:
    """The IRI a target names when it may be another annotation: a bare IRI, or an object
    with an id or source and no selector."""
    if isinstance(target, str):
        return import_key(target, target)
    if isinstance(target, dict) and not target.get("selector"):
        iri = target.get("id") or target.get("source")
        if isinstance(iri, str) and iri.strip():
            return import_key(iri, iri)
    return None


def _root_motivation(motivation: str, body: str, tags: list[str]) -> str:
    """The declared motivation where it fits what the annotation holds, else what it holds
    says: words make a comment, tags alone a tag note, nothing a highlight."""
    if motivation == "questioning" and body:
        return "questioning"
    if body:
        return "commenting"
    if motivation == "highlighting" or not tags:
        return "highlighting"
    return "tagging"


def _bodies(data: dict) -> tuple[str, str, list[str], str]:
    """(text, its format, tags, language) from the bodies."""
    bodies = as_list(data.get("body"))
    if isinstance(data.get("bodyValue"), str):
        bodies = [{"type": "TextualBody", "value": data["bodyValue"]}, *bodies]
    texts: list[tuple[str, str]] = []
    tags: list[str] = []
    language = ""
    for body in bodies:
        if not isinstance(body, dict):
            continue  # an external body (a link to elsewhere): nothing to import
        kinds = _types(body)
        if kinds and "TextualBody" not in kinds:
            continue
        value = body.get("value")
        if not isinstance(value, str):
            continue
        purposes = {p for p in as_list(body.get("purpose")) if isinstance(p, str)}
        if "tagging" in purposes:
            tags.append(value)
            continue
        fmt = body.get("format")
        if fmt == "text/markdown":
            texts.append((value, "markdown"))
        elif fmt == "text/html":
            texts.append((strip_tags(value), "plain"))
        else:
            texts.append((value, "plain"))
        language = language or clean_language(body.get("language"))
    words = [(value.strip(), fmt) for value, fmt in texts if value.strip()]
    if not words:
        return "", "markdown", tags, language
    body_format = "markdown" if all(fmt == "markdown" for _, fmt in words) else "plain"
    return "\n\n".join(value for value, _ in words), body_format, tags, language


def _creator(value) -> str:
    creators = as_list(value)
    creator = creators[0] if creators else None
    if isinstance(creator, dict):
        return clean_name(creator.get("name")) or clean_name(creator.get("nickname"))
    return clean_name(creator)


def _chain_replies(items: list[Item]) -> None:
    """Give every reply the whole thread above it (nearest first), as far as the file knows
    it; a loop of replies answering each other stops where it would repeat."""
    parent_of = {item.key: item.parent_keys[0] for item in items if item.kind == "reply"}
    for item in items:
        if item.kind != "reply":
            continue
        chain, seen = [], {item.key}
        above = parent_of.get(item.key)
        while above is not None and above not in seen:
            chain.append(above)
            seen.add(above)
            above = parent_of.get(above)
        item.parent_keys = chain
