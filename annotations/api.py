"""The W3C Web Annotation Protocol over one group's layer of one reading: the views.

    container  /groups/<group>/readings/<reading>/annotations/        GET HEAD OPTIONS POST
    annotation /groups/<group>/readings/<reading>/annotations/<id>    GET HEAD OPTIONS PUT DELETE

Pages hold PAGE_SIZE annotations (`?page=0`, `?page=1`, … ; `&iris=1` for IRIs only). The
container honours `Prefer: return=representation;include="…#PreferMinimalContainer"` and
`"…#PreferContainedIRIs"`. Authentication: the browser session (with CSRF) or a personal
API token (`Authorization: Bearer …`). Extension keys: `visibility` ("group"/"private"),
and read-only `answer`, `hidden`, `plusOnes`, `edited`, `deleted`.

HTTP caching: every GET and HEAD carries a strong ETag (see annotations/w3c.py) and
`Cache-Control: private, no-cache`; If-None-Match with the current one answers 304. PUT and
DELETE honour If-Match (and If-None-Match) in the same transaction as the write, under the
annotation's row lock: of two edits sent with the same ETag exactly one wins, the other
gets 412; an edit or delete racing a delete gets 404 (or 412).

The representation (JSON-LD, ETags, reading what is posted) is in annotations/w3c.py; every
decision about who may see or do what is annotations.access's.
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt

from accounts.tokens import user_for_bearer
from annotations import services, w3c
from annotations.access import Action, annotation_for, permits, visible_annotations
from annotations.models import Annotation, Tag
from annotations.w3c import ApiError
from groups.access import GroupAction, GroupArchived, group_check, group_reading_for_member

PAGE_SIZE = 100
CONDITIONS = ("If-Match", "If-None-Match")
# Who is asking shapes every answer (what they may see, and do): caches keep one per person.
VARY_CONTAINER = ("Accept", "Prefer", "Authorization", "Cookie")
VARY_ANNOTATION = ("Accept", "Authorization", "Cookie")


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


# --- conditional requests ---------------------------------------------------------------------


def _headers(etag: str, vary: tuple[str, ...], headers: dict[str, str]) -> HttpResponse:
    """An empty response with the headers a 200 and its 304 share (RFC 9110 15.4.5)."""
    response = HttpResponse(content_type=w3c.CONTENT_TYPE, headers=headers)
    response["ETag"] = etag
    patch_vary_headers(response, vary)
    patch_cache_control(response, private=True, no_cache=True)
    return response


def _not_modified(request, etag: str, response: HttpResponse) -> HttpResponse | None:
    """Django's answer to the request's conditional headers, given the current ETag: a 304
    (carrying `response`'s headers) for a GET or HEAD whose If-None-Match names it, a 412
    when an If-Match fails; None when the full response should follow."""
    if request.method not in {"GET", "HEAD"}:
        return None
    answer = get_conditional_response(request, etag=etag, response=response)
    if answer is response:
        return None
    if answer.status_code == 412:
        return error_response(412, "The representation has changed (If-Match failed).")
    return answer


def _with_body(request, response: HttpResponse, body: bytes, status: int = 200) -> HttpResponse:
    if request.method != "HEAD":
        response.content = body
    response.status_code = status
    return response


# --- views ---------------------------------------------------------------------------------


@api_view(["GET", "HEAD", "OPTIONS", "POST"])
def container(request, group_slug, reading_slug):
    group, membership, group_reading = group_reading_for_member(request, group_slug, reading_slug)
    reading = group_reading.reading
    container_iri = request.build_absolute_uri(w3c.container_path(group.slug, reading.slug))
    if request.method == "POST":
        return _create(request, group, membership, reading, container_iri)
    prefer = request.headers.get("Prefer", "")
    etag = _container_etag(request, group, membership, group_reading, container_iri)
    headers = {
        "Link": w3c.CONTAINER_LINK,
        "Allow": "GET, HEAD, OPTIONS, POST",
        "Accept-Post": w3c.CONTENT_TYPE,
    }
    if prefer:
        headers["Preference-Applied"] = "return=representation"
    response = _headers(etag, VARY_CONTAINER, headers)
    if (early := _not_modified(request, etag, response)) is not None:
        return early
    visible = visible_annotations(membership).filter(reading=reading)
    total = visible.count()
    last_page = max(0, (total - 1) // PAGE_SIZE)
    iris = request.GET.get("iris") == "1" or (w3c.PREFER_IRIS in prefer)
    suffix = "&iris=1" if iris else ""
    if "page" in request.GET:
        try:
            number = int(request.GET["page"])
        except ValueError:
            raise ApiError(400, "The page is a whole number.") from None
        if not 0 <= number <= last_page:
            raise ApiError(404, f"There are pages 0 to {last_page}.")
        body = _page(request, membership, visible, container_iri, number, last_page, total, iris)
    else:
        body = {
            "@context": [w3c.ANNO_CONTEXT, w3c.LDP_CONTEXT],
            "id": container_iri,
            "type": ["BasicContainer", "AnnotationCollection"],
            "label": f"{group.name}: annotations on “{reading.title}”",
            "total": total,
            "first": f"{container_iri}?page=0{suffix}",
            "last": f"{container_iri}?page={last_page}{suffix}",
        }
        if w3c.PREFER_MINIMAL not in prefer and total:
            body["first"] = _page(
                request, membership, visible, container_iri, 0, last_page, total, iris, nested=True
            )
    return _with_body(request, response, w3c.serialize(body))


def _container_etag(request, group, membership, group_reading, container_iri: str) -> str:
    """The container's (or one page's) ETag, before anything of it is built: the layer's
    version figure (one more with every write to it), and everything else that shapes the
    answer to this request: who asks and their role (what they may see), the address with
    its query (page, iris), Prefer and Accept, the group's and reading's names, and the
    names of the people who wrote in the layer as they are now (one query: a renamed or
    deleted account changes what is shown without writing to the layer)."""
    reading = group_reading.reading
    authors = list(
        Annotation.objects.filter(group=group, reading=reading)
        .order_by("author_id")
        .values_list("author_id", "author__display_name", "author__username")
        .distinct()
    )
    return w3c.etag_of(
        "container",
        group_reading.pk,
        group_reading.layer_version,
        membership.user_id,
        membership.role,
        container_iri,
        request.GET.urlencode(),
        request.headers.get("Prefer", ""),
        request.headers.get("Accept", ""),
        group.name,
        reading.title,
        reading.updated_at,
        authors,
    )


def _page(
    request, viewer, visible, container_iri, number, last_page, total, iris, *, nested=False
) -> dict:
    rows = visible.order_by("pk")[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
    if iris:
        items = [f"{container_iri}{pk}" for pk in rows.values_list("pk", flat=True)]
    else:
        rows = rows.select_related("author", "reading", "parent", "root").prefetch_related(
            Prefetch("tags", queryset=Tag.objects.order_by("name"))
        )
        items = [w3c.to_jsonld(request, viewer, a, container_iri, context=False) for a in rows]
    return w3c.page_jsonld(
        container_iri,
        number,
        last_page,
        total,
        number * PAGE_SIZE,
        items,
        iris=iris,
        context=not nested,
    )


def _create(request, group, membership, reading, container_iri):
    data = w3c.parse(request)
    body, tags = w3c.bodies(data)
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
        where = {"parent": w3c.parent_from(target, container_iri, reading, membership)}
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
        if not w3c.same_source(request, target.get("source"), reading, group.slug):
            raise ApiError(400, "The target's source must be this reading.")
        start, end, exact = w3c.selectors(target)
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
        w3c.container_path(group.slug, group_reading.reading.slug)
    )
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return _annotation_response(request, membership, item, container_iri, conditional=True)
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match.strip() != "*" and not parse_etags(if_match):
        # Django would ignore a header it cannot read, and let a stale write through.
        raise ApiError(400, 'If-Match takes the quoted ETag a GET gave (e.g. "abc…"), or *.')
    precondition = None
    if any(name in request.headers for name in CONDITIONS):
        # Asked by the service of the annotation as it is now, under its row lock, so the
        # check and the write are one step: a racing edit or delete cannot slip between.
        def precondition(current: Annotation) -> bool:
            etag = _representation(request, membership, current, container_iri)[0]
            return get_conditional_response(request, etag=etag) is None

    if request.method == "DELETE":
        services.annotation_delete(annotation=item, precondition=precondition)
        return HttpResponse(status=204)
    data = w3c.parse(request)
    body, tags = w3c.bodies(data)
    target = data.get("target")
    if target is not None and not item.is_reply:
        if not isinstance(target, dict) or not w3c.same_source(
            request, target.get("source"), item.reading, group.slug
        ):
            raise ApiError(400, "The target's source must be this reading.")
        start, end, _ = w3c.selectors(target)
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
        precondition=precondition,
    )
    return _annotation_response(request, membership, item, container_iri)


def _representation(request, viewer, item: Annotation, container_iri: str):
    """(ETag, body, Allow) of one annotation for this viewer."""
    changeable = permits(viewer, Action.EDIT, item)
    allow = "GET, HEAD, OPTIONS, PUT, DELETE" if changeable else "GET, HEAD, OPTIONS"
    body = w3c.serialize(w3c.to_jsonld(request, viewer, item, container_iri))
    return w3c.annotation_etag(body, allow), body, allow


def _annotation_response(
    request, viewer, item, container_iri, *, status=200, conditional=False
) -> HttpResponse:
    etag, body, allow = _representation(request, viewer, item, container_iri)
    response = _headers(etag, VARY_ANNOTATION, {"Link": w3c.ANNOTATION_LINK, "Allow": allow})
    if conditional and (early := _not_modified(request, etag, response)) is not None:
        return early
    return _with_body(request, response, body, status)
