"""The W3C Web Annotation data model as this site speaks it: an annotation as JSON-LD, a
container's page, the ETags that name them, this site's own JSON-LD terms, and reading a
posted annotation back.

An annotation's target is a SpecificResource whose `source` is the reading's canonical text,
`/readings/<slug>.txt` (text/plain: exactly the string its selectors count over, in Unicode
code points), with the group's reading page as its `scope` (where the annotation is shown).
So any W3C client that loads the source finds the TextQuoteSelector's prefix + exact + suffix
there character for character, and the TextPositionSelector's offsets.

Nothing here decides who may see or do what: `to_jsonld` names authors through
annotations.access, and `parent_from` asks it whether a reply is allowed. The views that
use all this are in annotations/api.py.
"""

import datetime
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.urls import Resolver404, resolve

from annotations.access import (
    Action,
    author_label,
    author_username,
    check,
    permits,
    visible_annotations,
)
from annotations.models import Annotation
from commonplace import untrusted
from commonplace.urltags import reverse_kept

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
LDP_CONTEXT = "http://www.w3.org/ns/ldp.jsonld"
CONTENT_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
PREFER_MINIMAL = "http://www.w3.org/ns/ldp#PreferMinimalContainer"
PREFER_IRIS = "http://www.w3.org/ns/oa#PreferContainedIRIs"
PREFER_DESCRIPTIONS = "http://www.w3.org/ns/oa#PreferContainedDescriptions"
CONTAINER_LINK = (
    '<http://www.w3.org/ns/ldp#BasicContainer>; rel="type", '
    '<http://www.w3.org/TR/annotation-protocol/>; rel="http://www.w3.org/ns/ldp#constrainedBy"'
)
ANNOTATION_LINK = (
    '<http://www.w3.org/ns/ldp#Resource>; rel="type", '
    '<http://www.w3.org/ns/oa#Annotation>; rel="type"'
)


# --- this site's own terms -------------------------------------------------------------------
#
# What the W3C context (anno.jsonld) does not define, defined in a small JSON-LD context of
# our own, served at /ns/commonplace.jsonld (annotations.api.vocabulary) and listed after the
# W3C one in every `@context`, so a JSON-LD processor reads these keys as IRIs under the site
# (`<SITE_URL>/ns#visibility`) rather than dropping them.

XSD = "http://www.w3.org/2001/XMLSchema#"
#: Each term, and what its value is (an `@type` for a JSON-LD processor, or None for plain
#: JSON values: strings, booleans, numbers and objects).
TERMS: dict[str, str | None] = {
    "visibility": None,  # "group" or "private"
    "plusOnes": XSD + "nonNegativeInteger",  # how many +1s
    "answer": None,  # true: the accepted answer to its thread's question
    "hidden": None,  # {"note": why}: hidden by a facilitator
    "note": None,  # a facilitator's note on a hidden annotation
    "deleted": None,  # true: a placeholder keeping its replies' place
    "edited": XSD + "dateTime",  # when its words last changed
    "originalCreator": None,  # {"type": "Person", "name": …}: who wrote it where it came from
    "originalCreated": XSD + "dateTime",  # when it was written there
}
#: Classes: a target's `state` {"type": "orphaned"} (its words were revised away).
CLASSES = {"orphaned": "Orphaned"}


def namespace() -> str:
    return f"{settings.SITE_URL}/ns#"


def vocabulary_iri() -> str:
    """The address of this site's JSON-LD context (a stable one: the site's own URL)."""
    return settings.SITE_URL + reverse_kept("annotations:vocabulary")


def contexts(*others: str) -> list[str]:
    """An `@context`: the W3C annotation context, `others`, then this site's own."""
    return [ANNO_CONTEXT, *others, vocabulary_iri()]


def vocabulary() -> dict:
    """The JSON-LD context document defining this site's terms (TERMS, CLASSES)."""
    ns = namespace()
    terms: dict = {}
    for term, kind in TERMS.items():
        terms[term] = {"@id": ns + term} if kind is None else {"@id": ns + term, "@type": kind}
    for term, name in CLASSES.items():
        terms[term] = ns + name
    return {"@context": terms}


class ApiError(Exception):
    """A request the protocol refuses; the API answers it as JSON with this status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# --- representation ---------------------------------------------------------------------------


def container_path(group_slug: str, reading_slug: str) -> str:
    return reverse_kept("annotations:container", args=[group_slug, reading_slug])


def reading_iri(request, reading) -> str:
    """What annotations on a reading target (their `source`): its canonical text, served as
    text/plain at /readings/<slug>.txt, the very string their selectors count over."""
    return request.build_absolute_uri(reverse_kept("readings:text", args=[reading.slug]))


@functools.lru_cache(maxsize=256)
def scope_of(container: str) -> str:
    """The group's reading page (a target's `scope`: where its annotations are shown), from
    the IRI of the group reading's container."""
    parts = urlsplit(container)
    page = reverse_kept("annotations:reading", kwargs=resolve(parts.path).kwargs)
    return urlunsplit((parts.scheme, parts.netloc, page, "", ""))


def to_jsonld(
    request,
    viewer,
    annotation: Annotation,
    container: str,
    *,
    context: bool = True,
    source: str | None = None,
    tags: list[str] | None = None,
) -> dict:
    """One annotation as this viewer may see it. `source` (its reading's IRI, see
    reading_iri) and `tags` (its tags' names), when the caller has them: a page of a hundred
    annotations of one reading works the IRI out once and reads all their tags in one query; a
    new annotation's tags are the ones just written. Tags are listed in code point order,
    whatever the database's collation, so every way of building the same annotation gives the
    same bytes (and ETag). Every key not in the W3C context is one of TERMS."""
    iri = f"{container}{annotation.pk}"
    data: dict = {}
    if context:
        data["@context"] = contexts()
    data.update({"id": iri, "type": "Annotation", "motivation": annotation.motivation})
    data["creator"] = {"type": "Person", "name": author_label(viewer, annotation)}
    nickname = author_username(viewer, annotation)
    if nickname:
        data["creator"]["nickname"] = nickname
    data["created"] = _utc(annotation.created_at)
    data["modified"] = _utc(annotation.modified_at)
    bodies = []
    if annotation.body and not annotation.is_deleted:
        text = {"type": "TextualBody", "value": annotation.body, "format": _FORMATS[0]}
        if annotation.body_format == Annotation.BodyFormat.PLAIN:
            text["format"] = _FORMATS[1]
        if annotation.language:
            text["language"] = annotation.language
        text["purpose"] = "replying" if annotation.is_reply else "commenting"
        bodies.append(text)
    for tag in sorted(_tags(annotation) if tags is None else tags):
        bodies.append({"type": "TextualBody", "value": tag, "purpose": "tagging"})
    if bodies:
        data["body"] = bodies
    if annotation.is_reply:
        data["target"] = _reply_target(request, viewer, annotation, container)
    else:
        data["target"] = _passage_target(request, annotation, container, source)
    data["visibility"] = annotation.visibility
    if annotation.is_deleted:  # a placeholder keeps nothing of what it was
        data["deleted"] = True
        return data
    if annotation.edited_at:
        data["edited"] = _utc(annotation.edited_at)
    if annotation.is_answer:
        data["answer"] = True
    if annotation.is_hidden:
        data["hidden"] = {"note": annotation.hidden_note}
    plus = getattr(annotation, "plus_count", None)
    if plus is not None:
        data["plusOnes"] = plus
    if annotation.original_author:
        data["originalCreator"] = {"type": "Person", "name": annotation.original_author}
    if annotation.original_created_at:
        data["originalCreated"] = _utc(annotation.original_created_at)
    return data


def _reply_target(request, viewer, reply: Annotation, container: str):
    """The IRI of the annotation a reply answers, or of the nearest one above it the viewer
    may see; a reply under a root hidden from them targets the root's passage instead."""
    reply.parent.has_visible_replies = True  # this reply is one, and the viewer sees it
    for above in (reply.parent, reply.root):
        if permits(viewer, Action.SEE, above):
            return f"{container}{above.pk}"
    reply.root.reading = reply.reading
    return _passage_target(request, reply.root, container)


def _passage_target(
    request, annotation: Annotation, container: str, source: str | None = None
) -> dict:
    """The reading's text (`source`) shown on the group's page (`scope`): the whole of it for
    a page note; else the passage, by its quote and position and any selectors another client
    gave. An orphan keeps its quote (and those selectors) but not its old position, which now
    points at other words."""
    target: dict = {
        "source": source or reading_iri(request, annotation.reading),
        "scope": scope_of(container),
    }
    if annotation.is_page_note:
        return target
    selectors = [
        {
            "type": "TextQuoteSelector",
            "exact": annotation.exact,
            "prefix": annotation.prefix,
            "suffix": annotation.suffix,
        }
    ]
    orphan = annotation.anchoring == Annotation.Anchoring.ORPHAN
    if not orphan:
        selectors.append(
            {"type": "TextPositionSelector", "start": annotation.start, "end": annotation.end}
        )
    target["selector"] = selectors + list(annotation.extra_selectors or [])
    if orphan:
        target["state"] = {"type": "orphaned"}
    return target


# Pages are addressed by these keys, put after the container's IRI: the first and the last
# page by name, the others by a cursor (the id just beyond them), so that reading any page is
# one walk along the (group, reading, id) index from where it starts, never past what comes
# before it.
FIRST_PAGE = "page=0"
LAST_PAGE = "page=last"


def page_iri(container: str, key: str, *, iris: bool) -> str:
    """A page's IRI: `key` is FIRST_PAGE, LAST_PAGE, `after=<id>` or `before=<id>`."""
    return f"{container}?{key}{'&iris=1' if iris else ''}"


def page_jsonld(
    container: str,
    key: str,
    total: int,
    items: list,
    *,
    start_index: int | None,
    next_key: str | None,
    prev_key: str | None,
    iris: bool,
    context: bool,
) -> dict:
    """One AnnotationPage of the container; `items` are annotations or their IRIs. Keys
    (see page_iri) name the page itself and its neighbours; `start_index` is left out where it
    would cost counting everything before the page."""
    page = {}
    if context:
        page["@context"] = contexts()
    page.update(
        {
            "id": page_iri(container, key, iris=iris),
            "type": "AnnotationPage",
            "partOf": {"id": container, "total": total, "type": "AnnotationCollection"},
        }
    )
    if start_index is not None:
        page["startIndex"] = start_index
    page["items"] = items
    if next_key is not None:
        page["next"] = page_iri(container, next_key, iris=iris)
    if prev_key is not None:
        page["prev"] = page_iri(container, prev_key, iris=iris)
    return page


def _tags(annotation) -> list[str]:
    cache = getattr(annotation, "_prefetched_objects_cache", {})
    if "tags" in cache:
        return [tag.name for tag in cache["tags"]]
    return list(annotation.tags.values_list("name", flat=True))


def _utc(moment) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def serialize(data: dict) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


# --- ETags -------------------------------------------------------------------------------------
#
# A strong ETag names one representation for one viewer. The container's and its pages' are
# worked out before any annotation is read, from what shapes them (the layer's version figure,
# who is asking, the address, the Prefer and Accept headers, the names shown), so an unchanged
# poll answers 304 without building the body. A single annotation's is a digest of the
# representation itself (words, tags, +1s, answer, hiding, anchor, author's name, the methods
# allowed): whatever changes in what is sent changes it.


def etag_of(*parts) -> str:
    """A strong ETag that differs whenever any of `parts` does."""
    text = "\x1f".join(repr(part) for part in parts)
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def annotation_etag(body: bytes, allow: str) -> str:
    return etag_of("annotation", body, allow)


# --- input ---------------------------------------------------------------------------------


def parse(request) -> dict:
    """The posted annotation: a JSON object of type Annotation, sent as JSON-LD (or JSON).
    Checked before any work (size, depth, characters); ApiError (400, 413, 415) otherwise."""
    content_type = request.content_type or ""
    if content_type not in {"application/ld+json", "application/json"}:
        raise ApiError(
            415,
            f"Send JSON-LD (Content-Type: {CONTENT_TYPE}), not {content_type or 'nothing'}.",
        )
    try:
        # At most API_BODY_MAX_BYTES (413 from its Content-Length, before it is read), JSON no
        # deeper than JSON_MAX_DEPTH, no NUL or lone surrogate anywhere (commonplace.untrusted).
        data = untrusted.read_json(request)
    except untrusted.BadInput as error:
        raise ApiError(error.status, str(error)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    kind = data.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "Annotation" not in kinds:
        raise ApiError(400, 'The "type" must be "Annotation".')
    return data


class Bodies(NamedTuple):
    text: str  # the one text body ("" for none)
    tags: list[str]
    format: str  # Annotation.BodyFormat: markdown, or plain for text/plain
    language: str  # the text body's language (a BCP 47 tag), "" when not said


_FORMATS = ("text/markdown", "text/plain")
LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def bodies(data: dict) -> Bodies:
    """The text body, tags, format and language from the annotation's body or bodyValue. A
    body with no format is Markdown (what this site writes); text/plain is kept as it is."""
    raw = data.get("body", [])
    if "bodyValue" in data:
        if not isinstance(data["bodyValue"], str):
            raise ApiError(400, '"bodyValue" must be a string.')
        raw = [
            {"type": "TextualBody", "value": data["bodyValue"]},
            *(raw if isinstance(raw, list) else [raw]),
        ]
    items = raw if isinstance(raw, list) else [raw]
    most = settings.ANNOTATION_MAX_TAGS
    # Counted before any of them is read: room for one text body and the tags twice over
    # (tags differing only in case are one, annotations.services.clean_tags), no more.
    if len(items) > 1 + 2 * most:
        raise ApiError(
            400,
            f"At most {most} tags (and one text body): {len(items):,} bodies were sent.",
        )
    texts: list[dict] = []
    tags: list[str] = []
    for item in items:
        if isinstance(item, str):
            raise ApiError(
                400, "Bodies must be TextualBody objects; external bodies are not supported."
            )
        if not isinstance(item, dict):
            raise ApiError(400, "Each body must be a TextualBody object.")
        if item.get("type", "TextualBody") != "TextualBody":
            raise ApiError(400, 'Only bodies of type "TextualBody" are supported.')
        value = item.get("value")
        if not isinstance(value, str):
            raise ApiError(400, 'A TextualBody needs a string "value".')
        fmt = item.get("format", _FORMATS[0])
        if not isinstance(fmt, str) or fmt not in _FORMATS:
            raise ApiError(400, 'A body\'s "format" is text/markdown or text/plain.')
        if item.get("purpose") == "tagging":
            tags.append(value)
        else:
            texts.append(item)
    if len(texts) > 1:
        raise ApiError(400, "Send at most one text body (plus tagging bodies).")
    if not texts:
        return Bodies("", tags, Annotation.BodyFormat.MARKDOWN, "")
    text = texts[0]
    plain = text.get("format") == _FORMATS[1]
    return Bodies(
        text["value"],
        tags,
        Annotation.BodyFormat.PLAIN if plain else Annotation.BodyFormat.MARKDOWN,
        _language(text.get("language")),
    )


def _language(value) -> str:
    """A body's language: a BCP 47 tag ("en", "pt-BR"), or one of a list; "" for none."""
    if isinstance(value, list) and len(value) <= 1:
        value = value[0] if value else None
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 35 or not LANGUAGE.fullmatch(value.strip()):
        raise ApiError(400, 'A body\'s "language" is a language tag such as "en" or "pt-BR".')
    return value.strip()


# --- a posted target -----------------------------------------------------------------------

#: Selectors this site does not read (RangeSelector, XPathSelector, CssSelector, …) are kept
#: and given back, up to this many, and this many characters of JSON in all.
MAX_EXTRA_SELECTORS = 10
EXTRA_SELECTORS_MAX_LENGTH = 10_000


@dataclass(frozen=True)
class Passage:
    """What a posted target says of where in the reading an annotation is: nothing (a page
    note: the whole reading), or a quote (`exact`, with the client's `prefix` and `suffix`)
    and/or a position (`start`, `end`, counted over whatever page the client annotated: a
    hint, never trusted over the quote), and the selectors this site does not read."""

    page_note: bool = False
    exact: str | None = None
    prefix: str = ""
    suffix: str = ""
    start: int | None = None
    end: int | None = None
    extra: list = field(default_factory=list)


def passage(request, target, reading, group_slug: str) -> Passage:
    """Read a root annotation's target: the reading (its text, its library page or the
    group's reading page) as an IRI, or a SpecificResource (alone or in a list of one) with
    a TextQuoteSelector, a TextPositionSelector, both, or no selector at all (a page note).
    ApiError(400) for anything else."""
    if isinstance(target, list):
        if len(target) != 1:
            raise ApiError(400, "Send one target: a passage of this reading, or the reading.")
        target = target[0]
    if isinstance(target, str):
        target = {"source": target}
    if not isinstance(target, dict):
        raise ApiError(400, "The target is an object with a source and selectors.")
    source = target["source"] if "source" in target else target.get("id")
    if not same_source(request, source, reading, group_slug):
        raise ApiError(
            400,
            "The target's source must be this reading: "
            f"{reading_iri(request, reading)} (or its page).",
        )
    found = target.get("selector", [])
    found = found if isinstance(found, list) else [found]
    quote: dict | None = None
    position: tuple[int, int] | None = None
    extra: list[dict] = []
    for selector in found:
        if not isinstance(selector, dict):
            raise ApiError(400, "Each selector must be an object.")
        kind = selector.get("type")
        if kind == "TextQuoteSelector":
            if quote is not None:
                raise ApiError(400, "Send one TextQuoteSelector.")
            quote = _quote(selector)
        elif kind == "TextPositionSelector":
            if position is not None:
                raise ApiError(400, "Send one TextPositionSelector.")
            position = _position(selector)
        elif isinstance(kind, str) and kind:
            extra.append(selector)
        else:
            raise ApiError(400, 'Each selector needs a "type".')
    if len(extra) > MAX_EXTRA_SELECTORS or len(serialize(extra)) > EXTRA_SELECTORS_MAX_LENGTH:
        raise ApiError(
            400,
            f"Send at most {MAX_EXTRA_SELECTORS} other selectors, in at most "
            f"{EXTRA_SELECTORS_MAX_LENGTH:,} characters.",
        )
    if quote is not None and not quote["exact"]:
        quote = None  # an empty quote says nothing (this site's old exports of a page note)
    if position == (None, None):
        position = None
    if quote is None and position is None:
        if extra:
            raise ApiError(
                400,
                f"A {extra[0]['type']} cannot say where the passage is in this reading's text: "
                "send a TextQuoteSelector (or a TextPositionSelector over "
                f"{reading_iri(request, reading)}).",
            )
        return Passage(page_note=True)
    start, end = position or (None, None)
    if quote is None:
        return Passage(start=start, end=end, extra=extra)
    return Passage(**quote, start=start, end=end, extra=extra)


def _quote(selector: dict) -> dict:
    exact = selector.get("exact")
    prefix, suffix = selector.get("prefix", ""), selector.get("suffix", "")
    if not isinstance(exact, str):
        raise ApiError(400, 'A TextQuoteSelector needs a string "exact".')
    if not isinstance(prefix, str) or not isinstance(suffix, str):
        raise ApiError(400, "A TextQuoteSelector's prefix and suffix are strings.")
    return {"exact": exact, "prefix": prefix, "suffix": suffix}


def _position(selector: dict) -> tuple:
    start, end = selector.get("start"), selector.get("end")
    if start is None and end is None:
        return (None, None)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (start, end)):
        raise ApiError(400, "A TextPositionSelector's start and end are whole numbers.")
    return (start, end)


def _path_of(iri: str) -> str:
    try:
        return urlsplit(iri).path
    except ValueError:
        raise ApiError(400, f"{iri[:80]!r} is not a valid IRI.") from None


def same_source(request, source, reading, group_slug) -> bool:
    """Is `source` this reading (its text, its library page or the group's reading page), on
    this site?"""
    if not isinstance(source, str):
        return False
    path = _path_of(source)
    netloc = urlsplit(source).netloc
    ours = {
        reverse_kept("readings:text", args=[reading.slug]),
        reverse_kept("readings:detail", args=[reading.slug]),
        reverse_kept("annotations:reading", args=[group_slug, reading.slug]),
    }
    return path in ours and (not netloc or netloc == request.get_host())


def parent_from(target, container: str, reading, membership) -> Annotation:
    """The annotation a posted reply answers: one in this container the member may reply to
    (annotations.access decides), else ApiError(400) or the access check's 404/403."""
    iri = target
    if isinstance(target, dict):
        iri = target.get("id") or target.get("source")
    if not isinstance(iri, str):
        raise ApiError(400, "A reply's target is the IRI of the annotation it answers.")
    path = _path_of(iri)
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if (
        match is None
        or match.url_name != "annotation"
        or not path.startswith(urlsplit(container).path)
    ):
        raise ApiError(400, "A reply's target must be an annotation in this container.")
    parent = (
        visible_annotations(membership)
        .filter(reading=reading, pk=match.kwargs["annotation_id"])
        .select_related("group", "root")
        .first()
    )
    if parent is None:
        raise ApiError(400, "The annotation this replies to does not exist.")
    check(membership, Action.REPLY, parent)
    return parent
