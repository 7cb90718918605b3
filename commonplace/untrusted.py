"""Untrusted input: what every request is checked for before a view reads it, and the JSON
reader the annotation API and the importers share. The limits themselves are settings
(the "Input limits" block of commonplace/settings.py); every refusal names the one it hit.

Sizes. A request is judged by its Content-Length before any of its body is read: over
REQUEST_MAX_BYTES (a multipart form, uploaded files included) or over
DATA_UPLOAD_MAX_MEMORY_SIZE (any other body) it is answered 413 at once
(`RequestChecksMiddleware`). What only shows while Django parses a body (the fields of a
multipart form over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields or files) reaches
`bad_request`, the site's handler400, which answers the same 413 (or a plain 400).

Characters. PostgreSQL text cannot hold a NUL (U+0000), and UTF-8 cannot encode a lone
surrogate (U+D800-U+DFFF): either one reaching a query or a page is a 500. So:
- the address: a NUL in the query string is refused with a 400 by the middleware, before any
  page parses its filters (`?tag=`, `?member=`, a search, a cursor...). Nobody types one: a
  browser cannot, so only a crafted link has one, and one home here covers every filter of
  every page, present and future, instead of each parser remembering. (Django decodes query
  strings and form bodies with replacement characters, so no lone surrogate gets in that way;
  the middleware refuses one all the same, should a server hand one over.)
- form fields: Django's CharField refuses a NUL as a field error; the few views that read
  POST values themselves compare them with known values, or look them up in ways that cannot
  fail on one (tests/test_input_limits.py walks them);
- JSON: `read_json` refuses both anywhere in a document (keys too), naming where.

Answers: JSON {"error": ..., "status": ...} (as annotations/api.py's error_response) to an
API client (`wants_json`), the site's own page otherwise.
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve

JSON_TYPES = frozenset({"application/json", "application/ld+json"})
#: What text must not hold: NUL, and a surrogate (always lone, in a Python string).
FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
#: A view that answers JSON (the annotation API) says so with this attribute, so refusals made
#: before it runs answer JSON too.
ANSWERS_JSON = "answers_json"


class BadInput(Exception):
    """Input refused before any work: `status` (400, 413) and a sentence naming the limit."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def size(n: int) -> str:
    """A byte count as people say it: "6 MB", "2.5 MB", "512 KB", "300 bytes"."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if n >= unit:
            return f"{n / unit:.1f}".removesuffix(".0") + f" {name}"
    return f"{n:,} bytes"


def forbidden_character(text: str) -> str | None:
    """What in `text` no database or page can take ("a NUL character", "a lone surrogate
    (U+D800)"), or None."""
    found = FORBIDDEN.search(text)
    if found is None:
        return None
    char = found.group()
    return "a NUL character" if char == "\x00" else f"a lone surrogate (U+{ord(char):04X})"


# --- JSON -----------------------------------------------------------------------------------


def content_length(request) -> int:
    try:
        return max(0, int(request.META.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def read_json(request, *, max_bytes: int | None = None):
    """The request's body as JSON, checked: at most `max_bytes` (API_BODY_MAX_BYTES), judged by
    the Content-Length before it is read; UTF-8; valid; at most JSON_MAX_DEPTH deep; no NUL or
    lone surrogate in any string or key. BadInput (413 or 400) saying which limit it broke."""
    limit = settings.API_BODY_MAX_BYTES if max_bytes is None else max_bytes
    if content_length(request) > limit:
        raise too_large(limit)
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large(min(limit, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)) from None
    if len(raw) > limit:  # a body sent without its length
        raise too_large(limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(400, "The request body is not UTF-8 text.") from None
    return loads(text, what="The request body")


def loads(text: str, *, what: str = "The JSON"):
    """`text` as JSON, checked as read_json says (all but its size). BadInput(400)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(
            400,
            f"{what} is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno}).",
        ) from None
    except RecursionError:
        raise BadInput(400, _too_deep(what)) from None
    except ValueError as error:  # a number past Python's int conversion limit (4,300 digits)
        raise BadInput(400, f"{what} is not valid JSON here: {error}.") from None
    check_json(data, what=what)
    return data


def check_json(data, *, what: str = "The JSON") -> None:
    """Refuse JSON nested more than JSON_MAX_DEPTH deep, or holding a NUL or a lone surrogate
    in any string or key. Walks it once, without recursion (so no depth can crash it)."""
    max_depth = settings.JSON_MAX_DEPTH
    stack: list[tuple[object, int, str]] = [(data, 1, "")]
    while stack:
        value, depth, where = stack.pop()
        if isinstance(value, str):
            _check_text(value, what, where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise BadInput(400, _too_deep(what))
        if isinstance(value, dict):
            for key, item in value.items():
                place = f"{where}.{key}" if where else key
                _check_text(key, what, place)
                stack.append((item, depth + 1, place))
        else:
            stack.extend((item, depth + 1, f"{where}[{i}]") for i, item in enumerate(value))


def _check_text(text: str, what: str, where: str) -> None:
    found = forbidden_character(text)
    if found is not None:
        at = f" (at {where[:80]})" if where else ""
        raise BadInput(400, f"{what} contains {found}{at}: text cannot hold one.")


def _too_deep(what: str) -> str:
    return f"{what} is nested too deeply: at most {settings.JSON_MAX_DEPTH} levels."


# --- answers ----------------------------------------------------------------------------------


def too_large(limit: int) -> BadInput:
    return BadInput(413, f"The request is too large: the limit is {size(limit)} ({limit:,} bytes).")


def wants_json(request) -> bool:
    """Should a refusal be JSON? For the API (its views say so), a JSON body, a bearer token,
    a .json address or a client that asks for JSON and not for pages."""
    bearer = request.headers.get("Authorization", "").startswith("Bearer ")
    if request.content_type in JSON_TYPES or bearer:
        return True
    if request.path.endswith((".json", ".jsonld")):
        return True
    accept = request.headers.get("Accept", "")
    if "json" in accept and "text/html" not in accept:
        return True
    return _answers_json(request)


def _answers_json(request) -> bool:
    """Is the request for a view of the JSON API (one marked ANSWERS_JSON)?"""
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        return False
    return getattr(view, ANSWERS_JSON, False)


def refusal(request, error: BadInput) -> HttpResponse:
    """The answer to refused input: JSON for the API, the site's page in a browser."""
    if wants_json(request):
        return JsonResponse({"error": str(error), "status": error.status}, status=error.status)
    title = "Too large" if error.status == 413 else "That request cannot be read"
    # A bad query string is usually a mangled link: offer the same page without it.
    plain = request.path if request.method in ("GET", "HEAD") and request.GET else ""
    page = render_to_string("refused.html", {"title": title, "message": str(error), "plain": plain})
    return HttpResponse(page, status=error.status)


class RequestChecksMiddleware:
    """Refuse, before any of it is read or any view parses it, a request too large for its
    kind (413) or whose query string holds a NUL or a lone surrogate (400). Goes before the
    session and CSRF middleware (which read the body of a POST)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        error = self.check(request)
        if error is not None:
            return refusal(request, error)
        return self.get_response(request)

    @staticmethod
    def check(request) -> BadInput | None:
        length = content_length(request)
        multipart = request.content_type == "multipart/form-data"
        limit = settings.REQUEST_MAX_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        api_limit = settings.API_BODY_MAX_BYTES
        if length > min(limit, api_limit) and _answers_json(request):
            limit = min(limit, api_limit)  # the API's own limit, named as such
        if length > limit:
            return too_large(limit)
        for name, values in request.GET.lists():
            for text in (name, *values):
                found = forbidden_character(text)
                if found is not None:
                    shown = f"“{name[:40]}”" if name and not forbidden_character(name) else "one"
                    return BadInput(
                        400,
                        f"The address contains {found} in its {shown} parameter: "
                        "remove it and try again.",
                    )
        return None


def bad_request(request, exception=None):
    """The site's handler400 (Django's own refusals of a request it cannot read): a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 naming it, too many fields or files a 400 naming
    theirs, anything else a plain 400; JSON for the API, the site's page otherwise."""
    if isinstance(exception, RequestDataTooBig):
        error = too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    elif isinstance(exception, TooManyFieldsSent):
        error = BadInput(
            400,
            f"The form has too many fields: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,}.",
        )
    elif isinstance(exception, TooManyFilesSent):
        error = BadInput(
            400, f"Too many files at once: at most {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,}."
        )
    else:
        error = BadInput(400, "The request could not be understood.")
    return refusal(request, error)
