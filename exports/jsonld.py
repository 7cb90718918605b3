"""The discussion as W3C Web Annotation JSON-LD: one AnnotationCollection whose first (and
only) page embeds every annotation exactly as the W3C API serves it (annotations.w3c.to_jsonld,
with each annotation's IRI in its group reading's container), in id order as the container
lists them."""

from django.urls import reverse

from annotations import w3c
from exports.discussion import Discussion, ReadingNotes
from exports.tables import utc


def _collection(request, iri: str, label: str, items: list[dict], now) -> dict:
    return {
        "@context": w3c.contexts(),
        "id": iri,
        "type": "AnnotationCollection",
        "label": label,
        "total": len(items),
        "generated": utc(now),
        "first": {
            "id": f"{iri}#items",
            "type": "AnnotationPage",
            "partOf": iri,
            "startIndex": 0,
            "items": items,
        },
    }


def _items(request, membership, group, reading, notes) -> list[dict]:
    container = request.build_absolute_uri(w3c.container_path(group.slug, reading.slug))
    source = w3c.reading_iri(request, reading)
    return [
        w3c.to_jsonld(
            request,
            membership,
            note.annotation,
            container,
            context=False,
            source=source,
            tags=note.tags,
        )
        for note in sorted(notes, key=lambda n: n.annotation.pk)
    ]


def discussion_jsonld(request, discussion: Discussion, *, now) -> dict:
    group, reading = discussion.group, discussion.reading
    items = _items(request, discussion.membership, group, reading, discussion.notes)
    label = f"{group.name}: annotations on “{reading.title}”"
    return _collection(request, request.build_absolute_uri(), label, items, now)


def my_notes_jsonld(request, places: list[ReadingNotes], *, now) -> dict:
    items = []
    for place in places:
        items += _items(request, place.membership, place.group, place.reading, place.notes)
    iri = request.build_absolute_uri(reverse("exports:my_notes_jsonld"))
    label = f"Everything {request.user.public_name} wrote"
    return _collection(request, iri, label, items, now)
