"""A database outage, in process: every request that needs the database answers 503 with
Retry-After (a friendly page in the browser, JSON on the API and the pages' JSON endpoints),
never a 500 or a traceback, and the next request after it returns is served as usual.

The outage is simulated by making every new cursor fail the way psycopg2 fails when the
server is gone. The real thing (a PostgreSQL cluster stopped under load, a real server) is
tests/test_faults.py.
"""

import json

import pytest
from django.db import IntegrityError, OperationalError, connections
from django.test import Client, RequestFactory
from django.urls import get_resolver, reverse

from accounts.tokens import api_token_create
from commonplace import outage

REFUSED = (
    'connection to server at "127.0.0.1", port 5432 failed: Connection refused\n'
    "\tIs the server running on that host and accepting TCP/IP connections?"
)


def _refuse(*args, **kwargs):
    raise OperationalError(REFUSED)


class Switch:
    """Takes the database away (every query fails as it does with the server stopped) and
    brings it back."""

    def down(self):
        connections["default"].ensure_connection = _refuse  # hides the method

    def up(self):
        connections["default"].__dict__.pop("ensure_connection", None)


@pytest.fixture
def database(db):
    """The switch; the database is back (before the test's transaction is rolled back, since
    this is set up after `db`) whatever the test did."""
    switch = Switch()
    yield switch
    switch.up()


@pytest.fixture
def database_down(database):
    database.down()


@pytest.fixture
def as_member(client, member, group):
    client.force_login(member)
    return client


def reading_path(group, essay, name="reading"):
    return reverse(f"annotations:{name}", args=[group.slug, essay.slug])


def assert_friendly_page(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert "Back in a moment" in page
    assert "cannot reach its database" in page
    assert "Traceback" not in page and "OperationalError" not in page


def assert_json_503(response):
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(outage.RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {"error": outage.MESSAGE, "status": 503}


# --- pages ---------------------------------------------------------------------------------------


def test_a_signed_in_page_gets_the_friendly_503_when_the_session_cannot_be_read(
    as_member, group, essay, database_down
):
    # The session (and the user it names) are read before any view: that failure is a 503 too.
    assert_friendly_page(as_member.get(reading_path(group, essay)))


def test_logging_in_gets_the_friendly_503(client, member, database_down):
    response = client.post(
        reverse("account_login"), {"login": "maria", "password": "a-long-test-password-1"}
    )

    assert_friendly_page(response)


def test_a_form_post_gets_the_friendly_503_and_the_page_says_nothing_was_saved(
    as_member, group, essay, database_down
):
    response = as_member.post(
        reverse("annotations:discuss", args=[group.slug, essay.slug]), {"body": "Lost?"}
    )

    assert_friendly_page(response)
    assert "may not have been saved" in response.content.decode()


def test_the_friendly_page_is_rendered_without_the_database(rf, database_down):
    # No request, no user, no context processors: rendering it cannot reach the database.
    response = outage.unavailable_response(rf.get("/anything/"))

    assert_friendly_page(response)
    assert "Log out" not in response.content.decode()


def test_the_signed_out_home_page_needs_no_database_and_is_still_served(client, database_down):
    assert client.get("/").status_code == 200


# --- the API and the JSON endpoints --------------------------------------------------------------


def test_the_api_answers_json_503_to_a_token(client, member, group, essay, database):
    _, token = api_token_create(user=member, name="outage")
    database.down()

    response = client.post(
        reading_path(group, essay, "container"),
        data=json.dumps({"motivation": "commenting", "bodyValue": "Hello"}),
        content_type="application/ld+json",
        headers={"Authorization": f"Bearer {token}"},
    )

    assert_json_503(response)


def test_the_api_answers_json_503_to_a_session_asking_for_anything(
    as_member, group, essay, database_down
):
    # curl's Accept: */* and a session cookie: the API's own views are marked as JSON.
    response = as_member.get(reading_path(group, essay, "container"), headers={"Accept": "*/*"})

    assert_json_503(response)


def test_an_api_item_answers_json_503_with_no_accept_header(client, member, group, essay, database):
    _, token = api_token_create(user=member, name="outage")
    database.down()
    path = reverse("annotations:annotation", args=[group.slug, essay.slug, 1])

    assert_json_503(client.get(path, headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("name", ["layer", "version", "excerpts"])
def test_the_reading_pages_json_endpoints_answer_json_503(
    as_member, group, essay, database_down, name
):
    assert_json_503(as_member.get(reading_path(group, essay, name)))


def test_a_script_asking_for_json_gets_json_503(as_member, database_down):
    response = as_member.get(reverse("notifications:inbox"), headers={"Accept": "application/json"})

    assert_json_503(response)


def test_healthz_answers_503(client, database_down):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content)["status"] == "unavailable"


# --- recovery, and what is not an outage ---------------------------------------------------------


def test_the_next_request_after_the_database_returns_is_served(as_member, group, essay, database):
    path = reading_path(group, essay)
    database.down()
    assert as_member.get(path).status_code == 503

    database.up()

    assert as_member.get(path).status_code == 200


def test_other_database_errors_are_not_taken_for_an_outage(rf):
    middleware = outage.DatabaseUnavailableMiddleware(lambda request: None)

    assert middleware.process_exception(rf.get("/"), IntegrityError("duplicate key")) is None


def test_an_outage_that_escapes_the_middleware_is_a_503_not_a_500(rf):
    # Django calls handler500 from inside its `except` block (DEBUG off): an outage met by
    # another middleware, or by the session saved on the way out, is still a 503.
    assert get_resolver().resolve_error_handler(500) is outage.server_error
    request = rf.get("/groups/", headers={"Accept": "text/html"})
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = outage.server_error(request)
    assert_friendly_page(response)

    try:
        raise ValueError("a bug")
    except ValueError:
        response = outage.server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_the_middleware_loads_the_session_and_user_before_the_views_middleware(settings):
    # Right after AuthenticationMiddleware, before anything that reads request.user.
    stack = settings.MIDDLEWARE
    here = stack.index("commonplace.outage.DatabaseUnavailableMiddleware")
    assert stack[here - 1] == "django.contrib.auth.middleware.AuthenticationMiddleware"
    assert here < stack.index("commonplace.middleware.UserTimeZoneMiddleware")


def test_the_middleware_costs_no_query_of_its_own(member, group, essay, django_assert_num_queries):
    client = Client()
    client.force_login(member)
    request = RequestFactory().get("/")
    request.session = client.session
    from django.contrib.auth.middleware import AuthenticationMiddleware

    AuthenticationMiddleware(lambda r: None).process_request(request)
    with django_assert_num_queries(2):  # the session and the user, which every page reads
        outage._load_session_and_user(request)
    with django_assert_num_queries(0):
        assert request.user.is_authenticated
