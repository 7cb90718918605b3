"""The W3C Web Annotation data model as this site speaks it: an annotation as JSON-LD, a
container's page, the ETags that name them, and reading a posted annotation back.

Nothing here decides who may see or do what: `to_jsonld` names authors through
annotations.access, and `parent_from` asks it whether a reply is allowed. The views that
use all this are in annotations/api.py.
"""

import datetime
import hashlib
import json
from urllib.parse import urlsplit

from django.urls import Resolver404, resolve, reverse

from annotations.access import (
    Action,
    author_label,
    author_username,
    check,
    permits,
    visible_annotations,
)
from annotations.models import Annotation

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


class ApiError(Exception):
    """A request the protocol refuses; the API answers it as JSON with this status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


# --- representation ---------------------------------------------------------------------------


def container_path(group_slug: str, reading_slug: str) -> str:
    return reverse("annotations:container", args=[group_slug, reading_slug])


def reading_iri(request, reading) -> str:
    return request.build_absolute_uri(reverse("readings:detail", args=[reading.slug]))


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
    """One annotation as this viewer may see it. `source` (its reading's IRI) and `tags` (its
    tags' names), when the caller has them: a page of a hundred annotations of one reading
    works the IRI out once and reads all their tags in one query; a new annotation's tags are
    the ones just written. Tags are listed in code point order, whatever the database's
    collation, so every way of building the same annotation gives the same bytes (and ETag)."""
    iri = f"{container}{annotation.pk}"
    data: dict = {}
    if context:
        data["@context"] = ANNO_CONTEXT
    data.update({"id": iri, "type": "Annotation", "motivation": annotation.motivation})
    data["creator"] = {"type": "Person", "name": author_label(viewer, annotation)}
    nickname = author_username(viewer, annotation)
    if nickname:
        data["creator"]["nickname"] = nickname
    data["created"] = _utc(annotation.created_at)
    data["modified"] = _utc(annotation.modified_at)
    bodies = []
    if annotation.body and not annotation.is_deleted:
        bodies.append(
            {
                "type": "TextualBody",
                "value": annotation.body,
                "format": "text/markdown",
                "language": "en",
                "purpose": "replying" if annotation.is_reply else "commenting",
            }
        )
    for tag in sorted(_tags(annotation) if tags is None else tags):
        bodies.append({"type": "TextualBody", "value": tag, "purpose": "tagging"})
    if bodies:
        data["body"] = bodies
    if annotation.is_reply:
        data["target"] = _reply_target(request, viewer, annotation, container)
    else:
        data["target"] = _passage_target(request, annotation, source)
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
    return data


def _reply_target(request, viewer, reply: Annotation, container: str):
    """The IRI of the annotation a reply answers, or of the nearest one above it the viewer
    may see; a reply under a root hidden from them targets the root's passage instead."""
    reply.parent.has_visible_replies = True  # this reply is one, and the viewer sees it
    for above in (reply.parent, reply.root):
        if permits(viewer, Action.SEE, above):
            return f"{container}{above.pk}"
    reply.root.reading = reply.reading
    return _passage_target(request, reply.root)


def _passage_target(request, annotation: Annotation, source: str | None = None) -> dict:
    target = {
        "source": source or reading_iri(request, annotation.reading),
        "selector": [
            {
                "type": "TextQuoteSelector",
                "exact": annotation.exact,
                "prefix": annotation.prefix,
                "suffix": annotation.suffix,
            },
            {"type": "TextPositionSelector", "start": annotation.start, "end": annotation.end},
        ],
    }
    if annotation.anchoring == Annotation.Anchoring.ORPHAN:
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
        page["@context"] = ANNO_CONTEXT
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
    """The posted annotation: a JSON object of type Annotation, sent as JSON-LD (or JSON)."""
    content_type = request.content_type or ""
    if content_type not in {"application/ld+json", "application/json"}:
        raise ApiError(
            415,
            f"Send JSON-LD (Content-Type: {CONTENT_TYPE}), not {content_type or 'nothing'}.",
        )
    try:
        data = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ApiError(400, f"The request body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    kind = data.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "Annotation" not in kinds:
        raise ApiError(400, 'The "type" must be "Annotation".')
    return data


def bodies(data: dict) -> tuple[str, list[str]]:
    """(Markdown body, tags) from the annotation's body or bodyValue."""
    raw = data.get("body", [])
    if "bodyValue" in data:
        if not isinstance(data["bodyValue"], str):
            raise ApiError(400, '"bodyValue" must be a string.')
        raw = [
            {"type": "TextualBody", "value": data["bodyValue"]},
            *(raw if isinstance(raw, list) else [raw]),
        ]
    items = raw if isinstance(raw, list) else [raw]
    text_parts: list[str] = []
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
        fmt = item.get("format", "text/markdown")
        if not isinstance(fmt, str) or fmt not in {"text/markdown", "text/plain"}:
            raise ApiError(400, 'A body\'s "format" is text/markdown or text/plain.')
        if item.get("purpose") == "tagging":
            tags.append(value)
        else:
            text_parts.append(value)
    if len(text_parts) > 1:
        raise ApiError(400, "Send at most one text body (plus tagging bodies).")
    return (text_parts[0] if text_parts else ""), tags


def selectors(target) -> tuple[int | None, int | None, str | None]:
    """(start, end, exact) from a target's TextPositionSelector and TextQuoteSelector."""
    found = target.get("selector", [])
    found = found if isinstance(found, list) else [found]
    start = end = exact = None
    for selector in found:
        if not isinstance(selector, dict):
            raise ApiError(400, "Each selector must be an object.")
        kind = selector.get("type")
        if kind == "TextPositionSelector":
            start, end = selector.get("start"), selector.get("end")
        elif kind == "TextQuoteSelector":
            exact = selector.get("exact")
            if not isinstance(exact, str):
                raise ApiError(400, 'A TextQuoteSelector needs a string "exact".')
    if start is None or end is None:
        raise ApiError(400, "The target needs a TextPositionSelector with start and end.")
    return start, end, exact


def _path_of(iri: str) -> str:
    try:
        return urlsplit(iri).path
    except ValueError:
        raise ApiError(400, f"{iri[:80]!r} is not a valid IRI.") from None


def same_source(request, source, reading, group_slug) -> bool:
    """Is `source` this reading (its library page or the group's reading page), on this site?"""
    if not isinstance(source, str):
        return False
    path = _path_of(source)
    netloc = urlsplit(source).netloc
    page = reverse("annotations:reading", args=[group_slug, reading.slug])
    return path in {reverse("readings:detail", args=[reading.slug]), page} and (
        not netloc or netloc == request.get_host()
    )


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
