"""The database is unreachable: answer 503, and come back by ourselves when it returns.

While PostgreSQL is stopped, restarting or refusing connections, every request that needs it
gets a 503 with `Retry-After` instead of a 500: a friendly page in the browser
(templates/503.html), a JSON error (`{"error": …, "status": 503}`, the API's shape) for the
API, the pages' JSON endpoints and any client that asks for JSON. The answer is built without
the database: no user, no session, no context processors. `/healthz` says 503 on its own.

Where a failure can happen, and who answers it:
- the session and the user are loaded lazily by the first code that asks, which would be
  UserTimeZoneMiddleware (a failure there would become Django's 500):
  `DatabaseUnavailableMiddleware` sits just after AuthenticationMiddleware and loads them
  itself, where it can answer;
- a view, the API's authentication and a deferred template render: its `process_exception`;
- anything else (another middleware, a session saved on the way out): with DEBUG off, Django
  calls the 500 handler from inside the `except` block, and `server_error` answers 503 when
  the exception being handled is a database outage.

Recovery needs no restart: Django checks a kept connection before its first use in each
request (CONN_HEALTH_CHECKS, commonplace/env.py) and closes one that raised an error at the
end of the request, so the first request after the database returns connects afresh.
"""

import logging
import sys

from django.contrib.auth import SESSION_KEY
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.cache import add_never_cache_headers
from django.views import defaults

from commonplace import untrusted

try:  # Django wraps the driver's errors, but one raised outside its wrapper is the same outage.
    import psycopg2
except ImportError:  # pragma: no cover - psycopg2 is a dependency
    psycopg2 = None

log = logging.getLogger("commonplace.outage")

# Errors that mean "the database is not there now": refused or dropped connections, a server
# shutting down or starting up, a connection already closed. (IntegrityError, DataError and
# ProgrammingError are bugs or bad input, not outages, and are not caught.)
DATABASE_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
if psycopg2 is not None:
    DATABASE_ERRORS += (psycopg2.OperationalError, psycopg2.InterfaceError)

# Seconds a client is asked to wait before trying again: a restart or fail-over takes seconds,
# and clients that all come back at once should not meet a database still warming up.
RETRY_AFTER_SECONDS = 10

MESSAGE = (
    "Commonplace cannot reach its database just now, so what you sent may not have been saved. "
    "Try again shortly."
)


def answers_json(view):
    """Mark a view whose errors are JSON (as the API's views are marked), so an outage, and
    any refusal made before it runs, answers it in JSON whatever the client's Accept says."""
    setattr(view, untrusted.ANSWERS_JSON, True)
    return view


def wants_json(request) -> bool:
    """Should the 503 be JSON? Whenever a refused request would be (commonplace.untrusted:
    the API's views, a JSON body, a bearer token, a .json address, a client asking for JSON),
    and for a page's own script (`X-Requested-With`), which reads JSON errors."""
    return untrusted.wants_json(request) or bool(request.headers.get("X-Requested-With"))


def unavailable_response(request) -> HttpResponse:
    """The 503 for a request that needed the database while it was away (no query made)."""
    if wants_json(request):
        response = JsonResponse({"error": MESSAGE, "status": 503}, status=503)
    else:
        # No request and no context processors: nothing here may ask the database.
        html = loader.get_template("503.html").render({"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def is_outage(error: BaseException | None) -> bool:
    return isinstance(error, DATABASE_ERRORS)


def _logged(request, error: BaseException) -> None:
    first_line = (str(error).strip().splitlines() or [""])[0]
    log.warning(
        "Database unavailable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        type(error).__name__,
        first_line,
    )


class DatabaseUnavailableMiddleware:
    """Answer 503 (page or JSON, with Retry-After) when the database cannot be reached.

    Goes just after AuthenticationMiddleware: it loads the session and the user there, so a
    database that is down at that point is answered here and not by Django's 500.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            _load_session_and_user(request)
        except DATABASE_ERRORS as error:
            _logged(request, error)
            return unavailable_response(request)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            _logged(request, exception)
            return unavailable_response(request)
        return None


def _load_session_and_user(request) -> None:
    """What UserTimeZoneMiddleware and every view would do first: read the session and, if it
    names a user, fetch them (no query for a visitor without a session cookie)."""
    session = getattr(request, "session", None)
    if session is not None and SESSION_KEY in session:
        user = getattr(request, "user", None)
        if user is not None:
            user.is_authenticated  # noqa: B018 - evaluates the lazy user here


def server_error(request, template_name="500.html"):
    """handler500: a database outage that escaped the middleware is still a 503, not a 500."""
    error = sys.exception()
    if is_outage(error):
        _logged(request, error)
        return unavailable_response(request)
    if wants_json(request):  # the API and the pages' scripts read JSON, even a 500's
        return JsonResponse(
            {"error": "Something went wrong on our side; it has been logged.", "status": 500},
            status=500,
        )
    return defaults.server_error(request, template_name=template_name)
