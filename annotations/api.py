"""The W3C Web Annotation Protocol over one group's layer of one reading.

    container  /groups/<group>/readings/<reading>/annotations/        GET HEAD OPTIONS POST
    annotation /groups/<group>/readings/<reading>/annotations/<id>    GET HEAD OPTIONS PUT DELETE

Pages hold PAGE_SIZE annotations (`?page=0`, `?page=1`, … ; `&iris=1` for IRIs only). The
container honours `Prefer: return=representation;include="…#PreferMinimalContainer"` and
`"…#PreferContainedIRIs"`. Authentication: the browser session (with CSRF) or a personal
API token (`Authorization: Bearer …`). Extension keys: `visibility` ("group"/"private"),
and read-only `answer`, `hidden`, `plusOnes`, `edited`, `deleted`.
"""

import datetime
import hashlib
import json
from functools import wraps
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.csrf import csrf_exempt

from accounts.tokens import user_for_bearer
from annotations import services
from annotations.access import (
    Action,
    annotation_for,
    author_label,
    author_username,
    check,
    permits,
    visible_annotations,
)
from annotations.models import Annotation, Tag
from groups.access import GroupAction, GroupArchived, group_check, group_reading_for_member

PAGE_SIZE = 100
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
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def error_response(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message, "status": status}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="commonplace"'
    return response


def api_view(methods: list[str]):
    """Authenticate (session with CSRF, or bearer token), then turn errors into 4xx JSON."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error_response(405, f"{request.method} is not allowed here.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                bearer = user_for_bearer(request)
            except PermissionDenied as error:
                return error_response(401, str(error))
            if bearer is not None:
                request.user = bearer
            elif not request.user.is_authenticated:
                return error_response(
                    401, "Sign in, or send a personal API token as a Bearer token."
                )
            elif request.method not in {"GET", "HEAD", "OPTIONS"}:
                reason = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
                if reason is not None:
                    return error_response(403, "CSRF check failed: send the X-CSRFToken header.")
            try:
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error.status, str(error))
            except services.AnnotationError as error:
                return error_response(error.status, str(error))
            except GroupArchived as error:
                return error_response(403, str(error))
            except Http404:
                return error_response(404, "Not found.")
            except PermissionDenied as error:
                return error_response(403, str(error) or "Not allowed.")

        return wrapper

    return decorate


# --- representation ---------------------------------------------------------------------------


def container_path(group_slug: str, reading_slug: str) -> str:
    return reverse("annotations:container", args=[group_slug, reading_slug])


def reading_iri(request, reading) -> str:
    return request.build_absolute_uri(reverse("readings:detail", args=[reading.slug]))


def to_jsonld(
    request, viewer, annotation: Annotation, container: str, *, context: bool = True
) -> dict:
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
    for tag in _tags(annotation):
        bodies.append({"type": "TextualBody", "value": tag, "purpose": "tagging"})
    if bodies:
        data["body"] = bodies
    if annotation.is_reply:
        data["target"] = f"{container}{annotation.parent_id}"
    else:
        data["target"] = {
            "source": reading_iri(request, annotation.reading),
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
            data["target"]["state"] = {"type": "orphaned"}
    data["visibility"] = annotation.visibility
    if annotation.edited_at:
        data["edited"] = _utc(annotation.edited_at)
    if annotation.is_deleted:
        data["deleted"] = True
    if annotation.is_answer:
        data["answer"] = True
    if annotation.is_hidden:
        data["hidden"] = {"note": annotation.hidden_note}
    plus = getattr(annotation, "plus_count", None)
    if plus is not None:
        data["plusOnes"] = plus
    return data


def _tags(annotation) -> list[str]:
    cache = getattr(annotation, "_prefetched_objects_cache", {})
    if "tags" in cache:
        return [tag.name for tag in cache["tags"]]
    return list(annotation.tags.values_list("name", flat=True))


def _utc(moment) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag_for(annotation: Annotation) -> str:
    plus = getattr(annotation, "plus_count", None)
    if plus is None:
        plus = annotation.plus_ones.count()
    return f'"{annotation.pk}-{annotation.modified_at.timestamp():.6f}-{plus}"'


def _annotation_response(request, viewer, annotation, container, *, status=200) -> HttpResponse:
    changeable = permits(viewer, Action.EDIT, annotation)
    body = to_jsonld(request, viewer, annotation, container)
    response = HttpResponse(
        b"" if request.method == "HEAD" else json.dumps(body, ensure_ascii=False).encode(),
        status=status,
        content_type=CONTENT_TYPE,
    )
    response["ETag"] = etag_for(annotation)
    response["Link"] = ANNOTATION_LINK
    response["Allow"] = "GET, HEAD, OPTIONS, PUT, DELETE" if changeable else "GET, HEAD, OPTIONS"
    response["Vary"] = "Accept"
    return response


# --- input ---------------------------------------------------------------------------------


def _parse(request) -> dict:
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


def _bodies(data: dict) -> tuple[str, list[str]]:
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


def _selectors(target) -> tuple[int | None, int | None, str | None]:
    selectors = target.get("selector", [])
    selectors = selectors if isinstance(selectors, list) else [selectors]
    start = end = exact = None
    for selector in selectors:
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


def _same_source(request, source, reading, group_slug) -> bool:
    if not isinstance(source, str):
        return False
    path = _path_of(source)
    netloc = urlsplit(source).netloc
    page = reverse("annotations:reading", args=[group_slug, reading.slug])
    return path in {reverse("readings:detail", args=[reading.slug]), page} and (
        not netloc or netloc == request.get_host()
    )


def _parent_from(request, target, container: str, group, reading, membership) -> Annotation:
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


# --- views ---------------------------------------------------------------------------------


@api_view(["GET", "HEAD", "OPTIONS", "POST"])
def container(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    reading = group_reading.reading
    container_iri = request.build_absolute_uri(container_path(group.slug, reading.slug))
    if request.method == "POST":
        return _create(request, group, membership, reading, container_iri)
    visible = visible_annotations(membership).filter(reading=reading)
    stats = visible.aggregate(total=Count("pk"), latest=Max("modified_at"))
    total = stats["total"]
    last_page = max(0, (total - 1) // PAGE_SIZE)
    prefer = request.headers.get("Prefer", "")
    iris = request.GET.get("iris") == "1" or (PREFER_IRIS in prefer)
    suffix = "&iris=1" if iris else ""
    if "page" in request.GET:
        try:
            number = int(request.GET["page"])
        except ValueError:
            raise ApiError(400, "The page is a whole number.") from None
        if not 0 <= number <= last_page:
            raise ApiError(404, f"There are pages 0 to {last_page}.")
        body = _page(
            request,
            membership,
            visible,
            container_iri,
            number,
            last_page,
            total,
            iris,
            context=True,
        )
    else:
        body = {
            "@context": [ANNO_CONTEXT, LDP_CONTEXT],
            "id": container_iri,
            "type": ["BasicContainer", "AnnotationCollection"],
            "label": f"{group.name}: annotations on “{reading.title}”",
            "total": total,
            "first": f"{container_iri}?page=0{suffix}",
            "last": f"{container_iri}?page={last_page}{suffix}",
        }
        if PREFER_MINIMAL not in prefer and total:
            body["first"] = _page(
                request,
                membership,
                visible,
                container_iri,
                0,
                last_page,
                total,
                iris,
                context=False,
            )
    digest = hashlib.sha256(
        f"{total}|{stats['latest']}|{iris}|{request.GET.urlencode()}|{prefer}".encode()
    ).hexdigest()[:32]
    response = HttpResponse(
        b"" if request.method == "HEAD" else json.dumps(body, ensure_ascii=False).encode(),
        content_type=CONTENT_TYPE,
    )
    response["ETag"] = f'"{digest}"'
    response["Link"] = CONTAINER_LINK
    response["Allow"] = "GET, HEAD, OPTIONS, POST"
    response["Accept-Post"] = CONTENT_TYPE
    response["Vary"] = "Accept, Prefer"
    if prefer:
        response["Preference-Applied"] = "return=representation"
    return response


def _page(
    request, viewer, visible, container_iri, number, last_page, total, iris, *, context
) -> dict:
    suffix = "&iris=1" if iris else ""
    rows = visible.order_by("pk")[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
    if iris:
        items = [f"{container_iri}{pk}" for pk in rows.values_list("pk", flat=True)]
    else:
        rows = (
            rows.select_related("author", "reading")
            .prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
            .annotate(plus_count=Count("plus_ones"))
        )
        items = [to_jsonld(request, viewer, a, container_iri, context=False) for a in rows]
    page = {}
    if context:
        page["@context"] = ANNO_CONTEXT
    page.update(
        {
            "id": f"{container_iri}?page={number}{suffix}",
            "type": "AnnotationPage",
            "partOf": {"id": container_iri, "total": total, "type": "AnnotationCollection"},
            "startIndex": number * PAGE_SIZE,
            "items": items,
        }
    )
    if number < last_page:
        page["next"] = f"{container_iri}?page={number + 1}{suffix}"
    if number > 0:
        page["prev"] = f"{container_iri}?page={number - 1}{suffix}"
    return page


def _create(request, group, membership, reading, container_iri):
    data = _parse(request)
    body, tags = _bodies(data)
    motivation = data.get("motivation", "commenting" if body else "highlighting")
    if isinstance(motivation, list):
        motivation = motivation[0] if len(motivation) == 1 else None
    if not isinstance(motivation, str):
        raise ApiError(400, 'The "motivation" must be a single string.')
    visibility = data.get("visibility", Annotation.Visibility.GROUP)
    target = data.get("target")
    if target is None:
        raise ApiError(400, "The annotation needs a target.")
    if motivation == "replying":
        where = {"parent": _parent_from(request, target, container_iri, group, reading, membership)}
    else:
        group_check(membership, GroupAction.ANNOTATE)
        if motivation not in Annotation.ROOT_MOTIVATIONS:
            raise ApiError(
                400,
                "The motivation is one of highlighting, commenting, questioning, replying or "
                "tagging.",
            )
        if not isinstance(target, dict):
            raise ApiError(400, "The target is an object with a source and selectors.")
        if not _same_source(request, target.get("source"), reading, group.slug):
            raise ApiError(400, "The target's source must be this reading.")
        start, end, exact = _selectors(target)
        where = {"visibility": visibility, "start": start, "end": end, "exact": exact}
    annotation = services.annotation_create(
        group=group,
        reading=reading,
        author=request.user,
        motivation=motivation,
        body=body,
        tags=tags,
        **where,
    )
    annotation.plus_count = 0
    response = _annotation_response(request, membership, annotation, container_iri, status=201)
    response["Location"] = f"{container_iri}{annotation.pk}"
    return response


@api_view(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def annotation(request, group_slug, reading_slug, annotation_id):
    action = {"PUT": Action.EDIT, "DELETE": Action.DELETE}.get(request.method, Action.SEE)
    group, membership, group_reading, item = annotation_for(
        request, group_slug, reading_slug, annotation_id, action
    )
    container_iri = request.build_absolute_uri(
        container_path(group.slug, group_reading.reading.slug)
    )
    if request.method in {"PUT", "DELETE"}:
        if_match = request.headers.get("If-Match")
        if if_match and if_match.strip() not in {etag_for(item), "*"}:
            raise ApiError(
                412, "The annotation has changed since you fetched it (If-Match failed)."
            )
        if request.method == "DELETE":
            services.annotation_delete(annotation=item)
            return HttpResponse(status=204)
        data = _parse(request)
        body, tags = _bodies(data)
        target = data.get("target")
        if target is not None and not item.is_reply:
            if not isinstance(target, dict) or not _same_source(
                request, target.get("source"), item.reading, group.slug
            ):
                raise ApiError(400, "The target's source must be this reading.")
            start, end, _ = _selectors(target)
            if (start, end) != (item.start, item.end):
                raise ApiError(
                    400, "An annotation's target cannot be changed; delete and re-create it."
                )
        motivation = data.get("motivation")
        if motivation is not None and not isinstance(motivation, str):
            raise ApiError(400, 'The "motivation" must be a single string.')
        visibility = data.get("visibility")
        if visibility is not None and not isinstance(visibility, str):
            raise ApiError(400, 'The "visibility" is "group" or "private".')
        services.annotation_update(
            annotation=item,
            body=body,
            tags=tags,
            visibility=visibility,
            motivation=None if item.is_reply else motivation,
        )
        item.refresh_from_db()
    item.plus_count = item.plus_ones.count()
    return _annotation_response(request, membership, item, container_iri)
