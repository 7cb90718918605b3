"""Shared fixtures: the personas every test speaks of, the essay, and a real browser.

Personas: `facilitator` and `member` read together; `other_member` belongs to another
group; `outsider` belongs to no group. (Groups arrive with the groups issue; until then
they are simply signed-in people.)
"""

import os
import shutil
import uuid
from pathlib import Path

import pytest
from django.db import connection

from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
from readings.services import reading_import

# Playwright's sync API runs an event loop in the test thread; Django's ORM is only
# called synchronously from it, so its async-safety guard does not apply here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "a-long-test-password-1"


def _flush_by_delete() -> None:
    """Empty the tables between transactional tests with DELETE, not PostgreSQL's TRUNCATE.

    Django's flush truncates every table, and TRUNCATE makes each table and index new files:
    0.2 s on an idle machine for ~40 nearly empty tables, 1-3 s when the suite loads both cores,
    after each of the suite's ~260 transactional tests. DELETE empties the same tables in
    ~20 ms. It runs in flush's one transaction, where the foreign keys (Django's are deferred)
    are checked once at the end, and the search triggers it fires only remove rows. A flush
    that resets sequences or cascades keeps Django's TRUNCATE."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


_flush_by_delete()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """A new, empty cache for each test (one process's memory: tests need no shared cache).
    The database cache that deployments use is tested on its own in test_layer_cache.py."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": uuid.uuid4().hex,  # LocMemCache shares storage between same names
        }
    }


@pytest.fixture
def no_rate_limits(settings):
    """Every rate limit off (settings RATE_LIMITS, allauth's too), as COMMONPLACE_RATE_LIMITS=off
    turns them off: only for a test that needs volume, many writes at once as a load would
    make. Every other test runs with the limits on (tests/test_rate_limits.py)."""
    settings.RATE_LIMITS_ENABLED = False
    settings.RATELIMIT_ENABLE = False
    settings.ACCOUNT_RATE_LIMITS = False


def pytest_report_header(config):
    where = connection.settings_dict.get("HOST") or "local file or memory"
    return f"database: {connection.vendor} ({connection.settings_dict['ENGINE']}, {where})"


@pytest.fixture
def make_user(django_user_model):
    def make(username, **fields):
        fields.setdefault("email", f"{username}@example.com")
        fields.setdefault("display_name", username.title())
        return django_user_model.objects.create_user(username=username, password=PASSWORD, **fields)

    return make


@pytest.fixture
def facilitator(make_user):
    return make_user("fran", display_name="Fran Facilitator")


@pytest.fixture
def member(make_user):
    return make_user("maria", display_name="Maria Member")


@pytest.fixture
def other_member(make_user):
    return make_user("noor", display_name="Noor Othergroup")


@pytest.fixture
def outsider(make_user):
    return make_user("olga", display_name="Olga Outsider")


@pytest.fixture
def essay(db):
    return reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)


@pytest.fixture
def group(facilitator, member, essay):
    """“Tuesday Reading Circle”: `facilitator` runs it, `member` reads in it; reads the essay."""
    from groups.models import GroupReading, Membership
    from groups.services import group_create

    group = group_create(name="Tuesday Reading Circle", created_by=facilitator)
    Membership.objects.create(group=group, user=member, role=Membership.Role.MEMBER)
    GroupReading.objects.create(group=group, reading=essay, added_by=facilitator)
    return group


@pytest.fixture
def other_group(other_member, essay):
    """“Night Shift Readers”, run by `other_member`; also reads the essay."""
    from groups.models import GroupReading
    from groups.services import group_create

    group = group_create(name="Night Shift Readers", created_by=other_member)
    GroupReading.objects.create(group=group, reading=essay, added_by=other_member)
    return group


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
            "(or set CHROMIUM_PATH) to run the browser tests."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=CHROMIUM_ARGS,
            headless=True,
        )
        yield browser
        browser.close()


def _desktop_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def page(browser, live_server):
    """A desktop-sized page; `page.goto("/path")` resolves against the live server."""
    yield from _desktop_page(browser, live_server)


@pytest.fixture
def second_page(browser, live_server):
    """Another person's desktop browser, with its own context and cookies."""
    yield from _desktop_page(browser, live_server)


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def login(live_server):
    """Sign a browser page in as a user, through a real session cookie."""
    from django.test import Client

    def sign_in(page, user):
        client = Client()
        client.force_login(user)
        cookie = client.cookies["sessionid"]
        page.context.add_cookies(
            [{"name": "sessionid", "value": cookie.value, "url": live_server.url}]
        )
        return page

    return sign_in


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
