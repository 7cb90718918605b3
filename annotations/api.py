"""The W3C Web Annotation Protocol over one group's layer of one reading: the views.

    container  /groups/<group>/readings/<reading>/annotations/        GET HEAD OPTIONS POST
    annotation /groups/<group>/readings/<reading>/annotations/<id>    GET HEAD OPTIONS PUT DELETE

Pages hold PAGE_SIZE annotations in id order, addressed by cursors: the first is `?page=0`,
the last `?page=last`, the others `?after=<id>` (the annotations after that id) and
`?before=<id>` (those just before it), as each page's `next` and `prev` give them; `&iris=1`
for IRIs only. Numbered pages past the first are gone (404): they cost a walk past every page
before them. A cursor beyond the last annotation gives an empty page. The container honours
`Prefer: return=representation;include="…#PreferMinimalContainer"` and
`"…#PreferContainedIRIs"`. Authentication: the browser session (with CSRF) or a personal
API token (`Authorization: Bearer …`). Extension keys: `visibility` ("group"/"private"),
and read-only `answer`, `hidden`, `plusOnes`, `edited`, `deleted`, `originalCreator`,
`originalCreated`: this site's JSON-LD terms, defined at /ns/commonplace.jsonld (`vocabulary`).

A root annotation's target is the reading's text (/readings/<slug>.txt) with a
TextQuoteSelector and a TextPositionSelector in code points; posted ones may name the text,
the library page or the group's reading page, and may carry only a quote (placed by its words,
annotations.anchoring.anchor_quote: a position is a hint, never trusted over the quote), only
a position, or no selector (a note on the whole reading); other selectors are kept and given
back as they came.

HTTP caching: every GET and HEAD carries a strong ETag (see annotations/w3c.py) and
`Cache-Control: private, no-cache`; If-None-Match with the current one answers 304. PUT and
DELETE honour If-Match (and If-None-Match) in the same transaction as the write, under the
annotation's row lock: of two edits sent with the same ETag exactly one wins, the other
gets 412; an edit or delete racing a delete gets 404 (or 412).

The representation (JSON-LD, ETags, reading what is posted) is in annotations/w3c.py; every
decision about who may see or do what is annotations.access's.
"""

import re
import zlib
from dataclasses import dataclass
from functools import wraps
from typing import NamedTuple

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from accounts.names import NAMES_VERSION_KEY, names_version
from accounts.tokens import user_for_bearer
from annotations import services, w3c
from annotations.access import (
    Action,
    annotation_for,
    lock_key,
    peek_locks,
    permits,
    visible_annotations,
)
from annotations.models import Annotation, Tag
from annotations.w3c import ApiError
from commonplace import untrusted
from commonplace.ratelimits import RateLimited, enforce, with_retry_after
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


def too_many_requests(error: RateLimited) -> JsonResponse:
    """Over a rate limit (commonplace.ratelimits): 429, naming the limit, with Retry-After."""
    return with_retry_after(error_response(429, error.api_message()), error)


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
                bearer = user_for_bearer(request)  # counts against the "api_token" limit
            except PermissionDenied as error:
                return error_response(401, str(error))
            except RateLimited as error:
                return too_many_requests(error)
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
            except RateLimited as error:
                return too_many_requests(error)
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

        # Requests refused before the view runs (too large, a NUL in the address) answer JSON,
        # and so does a database outage (commonplace/outage.py).
        setattr(wrapper, untrusted.ANSWERS_JSON, True)
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
    iris = request.GET.get("iris") == "1" or (w3c.PREFER_IRIS in prefer)
    cursor = Cursor.of(request.GET)
    headers = {
        "Link": w3c.CONTAINER_LINK,
        "Allow": "GET, HEAD, OPTIONS, POST",
        "Accept-Post": w3c.CONTENT_TYPE,
    }
    if prefer:
        headers["Preference-Applied"] = "return=representation"
    base = _container_etag(request, group, membership, group_reading, container_iri)
    kept, names = _kept(base)
    if kept is not None:
        response = _headers(kept.etag, VARY_CONTAINER, headers)
        early = _not_modified(request, kept.etag, response)
        return early or _with_body(request, response, zlib.decompress(kept.body))
    visible = visible_annotations(membership).filter(reading=reading)
    embed = cursor is not None or w3c.PREFER_MINIMAL not in prefer
    rows, more = _rows(visible, cursor or Cursor(), reading, iris=iris) if embed else ([], False)
    authors = sorted(
        {(a.author_id, a.author.display_name, a.author.username) for a in rows if _named(a)}
    )
    etag = w3c.etag_of(base, authors)
    response = _headers(etag, VARY_CONTAINER, headers)
    if (early := _not_modified(request, etag, response)) is not None:
        return early
    total = _total(visible, membership, group_reading)
    if cursor is not None:
        body = _page(
            request, membership, visible, container_iri, cursor, rows, more, total, iris=iris
        )
    else:
        first = w3c.page_iri(container_iri, w3c.FIRST_PAGE, iris=iris)
        body = {
            "@context": w3c.contexts(w3c.LDP_CONTEXT),
            "id": container_iri,
            "type": ["BasicContainer", "AnnotationCollection"],
            "label": f"{group.name}: annotations on “{reading.title}”",
            "total": total,
            "first": first,
            "last": first
            if total <= PAGE_SIZE
            else w3c.page_iri(container_iri, w3c.LAST_PAGE, iris=iris),
        }
        if embed and total:
            body["first"] = _page(
                request,
                membership,
                visible,
                container_iri,
                Cursor(),
                rows,
                more,
                total,
                iris=iris,
                nested=True,
            )
    content = w3c.serialize(body)
    _keep(base, Kept(etag, names, zlib.compress(content, 1)))
    return _with_body(request, response, content)


# --- the container's pages -------------------------------------------------------------------
#
# Keyset pagination: a page is the next PAGE_SIZE annotations in id order after (or before) a
# cursor, read by one walk along the (group, reading, id) index (`annotation_container_page`)
# from the cursor, so page 500 costs what page 1 does, however many rows the rest of the site
# holds. One more row than the page is read, to know whether another page follows.


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the first page (`?page=0`), the last (`?page=last`), or the ids
    just beyond it (`?after=<id>`: the annotations after that id; `?before=<id>`: those just
    before it)."""

    after: int | None = None
    before: int | None = None
    last: bool = False

    @property
    def key(self) -> str:
        if self.after is not None:
            return f"after={self.after}"
        if self.before is not None:
            return f"before={self.before}"
        return w3c.LAST_PAGE if self.last else w3c.FIRST_PAGE

    @property
    def backwards(self) -> bool:
        """Is the page read from its end (the last page, a `before` page)?"""
        return self.last or self.before is not None

    @classmethod
    def of(cls, query) -> "Cursor | None":
        """The page a query asks for; None for the container itself. ApiError(400) for a
        malformed or contradictory cursor, 404 for a numbered page other than 0 (pages are
        no longer numbered: follow `next` from the first)."""
        given = [name for name in ("page", "after", "before") if name in query]
        if not given:
            return None
        if len(given) > 1:
            raise ApiError(400, "Ask for one page: page, after or before, not several.")
        name = given[0]
        value = query[name]
        if name == "page":
            if value == "last":
                return cls(last=True)
            if not PAGE_NUMBER.fullmatch(value):
                raise ApiError(400, 'The page is 0 (the first) or "last".')
            if int(value) != 0:
                raise ApiError(
                    404,
                    "Pages are not numbered: start at ?page=0 (or ?page=last) and follow "
                    "their next and prev links.",
                )
            return cls()
        if not CURSOR.fullmatch(value) or int(value) > MAX_ID:
            raise ApiError(400, f"The {name} cursor is an annotation id: a whole number ≥ 0.")
        return cls(**{name: int(value)})


CURSOR = re.compile(r"[0-9]{1,19}")
PAGE_NUMBER = re.compile(r"-?[0-9]{1,19}")
MAX_ID = 2**63 - 1  # the largest id a (big integer) key can hold


def _rows(visible, cursor: Cursor, reading, *, iris: bool) -> tuple[list, bool]:
    """The page's annotations (their ids, with `iris`) in id order, and whether more lie
    beyond it in the direction it is read (after it; before it, for a backwards page)."""
    rows = visible
    if cursor.after is not None:
        rows = rows.filter(pk__gt=cursor.after)
    if cursor.before is not None:
        rows = rows.filter(pk__lt=cursor.before)
    rows = rows.order_by("-pk" if cursor.backwards else "pk")
    if iris:
        rows = rows.values_list("pk", flat=True)
    else:
        rows = rows.select_related("author", "parent", "root")
    found = list(rows[: PAGE_SIZE + 1])
    more = len(found) > PAGE_SIZE
    found = found[:PAGE_SIZE]
    if cursor.backwards:
        found.reverse()
    if not iris:
        for item in found:
            item.reading = reading
            item.has_visible_replies = True  # it came through the `see` line's query
    return found, more


def _pk(row) -> int:
    return row if isinstance(row, int) else row.pk


def _neighbours(visible, cursor: Cursor, rows: list, more: bool, total: int):
    """The keys of the pages after and before this one (None where there is none). Going on
    the way the page was read, `more` says; the other way, one indexed look for a row beyond
    the cursor (an empty page is past everything in its direction, so its neighbour is the
    first or the last page)."""
    if not rows:
        if cursor.after is not None and total:
            return None, w3c.LAST_PAGE
        if cursor.before is not None and total:
            return w3c.FIRST_PAGE, None
        return None, None
    after_key = f"after={_pk(rows[-1])}"
    before_key = f"before={_pk(rows[0])}"
    if cursor.last:
        return None, before_key if more else None
    if cursor.before is not None:
        beyond = visible.filter(pk__gte=cursor.before).exists()
        return (after_key if beyond else None), (before_key if more else None)
    if cursor.after is not None:
        beyond = visible.filter(pk__lte=cursor.after).exists()
        return (after_key if more else None), (before_key if beyond else None)
    return (after_key if more else None), None


def _start_index(cursor: Cursor, rows: list, total: int) -> int | None:
    """Where the page starts among all the annotations: known for the first and last pages;
    a page in the middle would have to count everything before it, so it does not say."""
    if cursor.last:
        return max(0, total - len(rows))
    if cursor.after is None and cursor.before is None:
        return 0
    return None


def _total(visible, membership, group_reading) -> int:
    """How many annotations this viewer sees here: counted once per change to the layer (the
    version figure), per person and role, and kept in the cache meanwhile."""
    key = (
        f"api-total:{group_reading.pk}:{group_reading.layer_version}:"
        f"{membership.user_id}:{membership.role}:{lock_key(peek_locks(membership))}"
    )
    total = cache.get(key)
    if total is None:
        total = visible.count()
        cache.set(key, total)
    return total


# --- the container's ETag, and what it names kept ---------------------------------------------
#
# A page's ETag is worked out before its body is built, from everything that shapes it: the
# layer's version figure (one more with every write to it), who asks and their role (what they
# may see), the address with its query (page, cursor, iris), Prefer and Accept, the group's and
# reading's names (`_container_etag`), and the names, as they are now, of the people who wrote
# what the page shows (a renamed or deleted account changes what is shown without writing to
# the layer). The body is kept in the cache under the rest, with the version of everyone's
# names it was made under (accounts/names.py): a repeated GET reads both in one cache read and,
# while the names version is the same, answers the kept body (or 304) without reading the page.

PAGE_KEPT_SECONDS = 10 * 60


class Kept(NamedTuple):
    etag: str
    names: str  # the names version (accounts.names) when the page was made
    body: bytes  # zlib-compressed JSON


def _named(row) -> bool:
    return not isinstance(row, int) and row.author_id is not None


def _kept(base: str) -> tuple[Kept | None, str]:
    """The body kept under this ETag's base, if everyone's names are as they were then; and
    the names version now (to keep a page made now under)."""
    found = cache.get_many([_kept_key(base), NAMES_VERSION_KEY])
    names = names_version(found)
    kept = found.get(_kept_key(base))
    return (kept if kept is not None and kept.names == names else None), names


def _keep(base: str, kept: Kept) -> None:
    cache.set(_kept_key(base), kept, timeout=PAGE_KEPT_SECONDS)


def _kept_key(base: str) -> str:
    return "api-page:" + base.strip('"')


def _container_etag(request, group, membership, group_reading, container_iri: str) -> str:
    """The base of the container's (or one page's) ETag: all but its authors' names."""
    reading = group_reading.reading
    return w3c.etag_of(
        "container",
        group_reading.pk,
        group_reading.layer_version,
        membership.user_id,
        membership.role,
        lock_key(peek_locks(membership)),  # a lock lifts at its due time, with no write
        container_iri,
        request.GET.urlencode(),
        request.headers.get("Prefer", ""),
        request.headers.get("Accept", ""),
        group.name,
        reading.title,
        reading.updated_at,
    )


def _page(
    request,
    viewer,
    visible,
    container_iri,
    cursor: Cursor,
    rows,
    more,
    total,
    *,
    iris,
    nested=False,
) -> dict:
    next_key, prev_key = _neighbours(visible, cursor, rows, more, total)
    if iris:
        items = [f"{container_iri}{pk}" for pk in rows]
    else:
        tags: dict[int, list[str]] = {}
        names = Tag.objects.filter(annotation_id__in=[a.pk for a in rows]).order_by("name")
        for annotation_id, name in names.values_list("annotation_id", "name") if rows else ():
            tags.setdefault(annotation_id, []).append(name)
        source = w3c.reading_iri(request, rows[0].reading) if rows else None
        items = [
            w3c.to_jsonld(
                request,
                viewer,
                a,
                container_iri,
                context=False,
                source=source,
                tags=tags.get(a.pk, []),
            )
            for a in rows
        ]
    return w3c.page_jsonld(
        container_iri,
        cursor.key,
        total,
        items,
        start_index=_start_index(cursor, rows, total),
        next_key=next_key,
        prev_key=prev_key,
        iris=iris,
        context=not nested,
    )


def _create(request, group, membership, reading, container_iri):
    data = w3c.parse(request)
    body, tags, body_format, language = w3c.bodies(data)
    tags = services.clean_tags(tags)  # as the service keeps them: the answer shows them
    motivation = data.get("motivation", "commenting" if body else "highlighting")
    if isinstance(motivation, list):
        motivation = motivation[0] if len(motivation) == 1 else None
    if not isinstance(motivation, str):
        raise ApiError(400, 'The "motivation" must be a single string.')
    visibility = data.get("visibility", Annotation.Visibility.GROUP)
    target = data.get("target")
    if target is None:
        raise ApiError(400, "The annotation needs a target.")
    # Counted with the reading page's forms: a reply or a new annotation, however it is sent.
    enforce(request, "reply" if motivation == "replying" else "annotate")
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
        where = {
            "visibility": visibility,
            **_place(w3c.passage(request, target, reading, group.slug), reading),
        }
    annotation = services.annotation_create(
        group=group,
        reading=reading,
        author=request.user,
        motivation=motivation,
        body=body,
        tags=tags,
        body_format=body_format,
        language=language,
        **where,
    )
    response = _annotation_response(
        request, membership, annotation, container_iri, status=201, tags=tags
    )
    response["Location"] = f"{container_iri}{annotation.pk}"
    return response


def _place(passage: w3c.Passage, reading) -> dict:
    """annotation_create's keywords for a posted passage: the whole reading (a page note), or
    where its quote lands in the reading's text (services.place_quote; its position, if any,
    only breaks ties), or its position when it has no quote."""
    if passage.page_note:
        return {"page_note": True}
    start, end = passage.start, passage.end
    if passage.exact is not None:
        start, end = services.place_quote(
            reading=reading,
            exact=passage.exact,
            prefix=passage.prefix,
            suffix=passage.suffix,
            near=start,
        )
    return {
        "start": start,
        "end": end,
        "prefix": passage.prefix,
        "suffix": passage.suffix,
        "extra_selectors": passage.extra,
    }


def _same_passage(passage: w3c.Passage, item: Annotation) -> bool:
    """Does a target sent with an edit name the passage the annotation already has? (As it
    gave it: our quote, with our position or none, as an orphan's has; or any quote and
    position that land there.)"""
    if passage.page_note or item.is_page_note:
        return passage.page_note and item.is_page_note
    if passage.exact is None:
        return (passage.start, passage.end) == (item.start, item.end)
    if passage.exact == item.exact and passage.start in {None, item.start}:
        return True
    try:
        placed = _place(passage, item.reading)
    except services.AnnotationError:
        return False
    return (placed["start"], placed["end"]) == (item.start, item.end)


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
    if if_match is not None and if_match.strip() != "*":
        # A gzipped answer's ETag is made weak (W/"…") by the compression middleware, and
        # If-Match compares strongly, so the tag a client was given would never match. It
        # names the same JSON either way (our ETag is a digest of it): compare it as ours.
        request.META["HTTP_IF_MATCH"] = ", ".join(
            tag.removeprefix("W/") for tag in parse_etags(if_match)
        )
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
    body, tags, body_format, language = w3c.bodies(data)
    target = data.get("target")
    if (
        target is not None
        and not item.is_reply
        and not _same_passage(w3c.passage(request, target, item.reading, group.slug), item)
    ):
        raise ApiError(400, "An annotation's target cannot be changed; delete and re-create it.")
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
        body_format=body_format,
        language=language,
        precondition=precondition,
    )
    return _annotation_response(request, membership, item, container_iri)


def _representation(request, viewer, item: Annotation, container_iri: str, tags=None):
    """(ETag, body, Allow) of one annotation for this viewer (`tags`: its tags, if known)."""
    changeable = permits(viewer, Action.EDIT, item)
    allow = "GET, HEAD, OPTIONS, PUT, DELETE" if changeable else "GET, HEAD, OPTIONS"
    body = w3c.serialize(w3c.to_jsonld(request, viewer, item, container_iri, tags=tags))
    return w3c.annotation_etag(body, allow), body, allow


def _annotation_response(
    request, viewer, item, container_iri, *, status=200, conditional=False, tags=None
) -> HttpResponse:
    etag, body, allow = _representation(request, viewer, item, container_iri, tags)
    response = _headers(etag, VARY_ANNOTATION, {"Link": w3c.ANNOTATION_LINK, "Allow": allow})
    if conditional and (early := _not_modified(request, etag, response)) is not None:
        return early
    return _with_body(request, response, body, status)


@csrf_exempt  # it only reads (require_safe): any other method gets 405, not a CSRF 403
@require_safe
def vocabulary(request):
    """This site's JSON-LD context (annotations.w3c.TERMS): public, the same for everyone,
    at a stable address, so any JSON-LD processor may fetch it."""
    response = JsonResponse(w3c.vocabulary(), content_type="application/ld+json")
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    response["Access-Control-Allow-Origin"] = "*"
    return response
