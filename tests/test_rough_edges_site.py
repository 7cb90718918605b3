"""Rough edges around the site: its name in account emails, the account pages in one wording
and without empty boxes, invitation cards in good English and the reader's own time, the
product's error pages with DEBUG off, and the address `make run` serves.
"""

import html
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from allauth.account.utils import user_pk_to_url_str
from django.contrib.sites.models import Site
from django.core import mail
from django.core.management import call_command
from django.http import HttpResponse
from django.utils import timezone
from django.views.defaults import server_error

from accounts.sites import site_from_settings
from commonplace.middleware import UserTimeZoneMiddleware
from groups.models import InviteLink
from groups.services import invite_link_create
from tests.conftest import PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth counts password resets and confirmation mails per address in the cache."""
    from django.core.cache import cache

    cache.clear()


def text_of(response) -> str:
    """The page's words as a reader sees them: entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(response.content.decode()).split())


def fresh_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Import the settings in a new interpreter with `env` on top of a development environment."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SITE_", "DEBUG", "HTTPS", "SECRET_KEY", "ALLOWED_HOSTS"))
    }
    environ.update(DJANGO_SETTINGS_MODULE="commonplace.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- the site's name and host in account emails (not "example.com") ---------------------------


def test_a_password_reset_email_says_commonplace_and_links_to_the_host(client, member):
    client.post("/accounts/password/reset/", {"email": member.email}, HTTP_HOST="127.0.0.1:8000")

    [email] = mail.outbox
    assert email.subject.startswith("[Commonplace] ")
    assert "Hello from Commonplace!" in email.body
    assert "Thank you for using Commonplace!\n127.0.0.1:8000" in email.body
    assert re.search(r"http://127\.0\.0\.1:8000/accounts/password/reset/key/\S+/", email.body)
    assert "example.com" not in email.subject + email.body


def test_a_confirmation_email_speaks_of_the_configured_site(client, settings, db):
    settings.SITE_NAME = "Reading Room"
    settings.SITE_DOMAIN = "read.example.org"
    site_from_settings()

    client.post(
        "/accounts/signup/",
        {
            "email": "ana@readers.test",
            "username": "ana",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "time_zone": "UTC",
        },
        HTTP_HOST="localhost",
    )

    [email] = mail.outbox
    assert "Hello from Reading Room!" in email.body
    assert "read.example.org" in email.body
    assert "http://localhost/accounts/confirm-email/" in email.body
    assert "example.com" not in email.body


def test_the_migrated_site_record_is_commonplace(db):
    site = Site.objects.get_current()

    assert (site.name, site.domain) == ("Commonplace", "127.0.0.1:8000")


def test_a_flushed_database_gets_the_site_from_settings_back(db):
    """`flush` (and every live-server test) lets sites recreate "example.com"; not for long."""
    call_command("flush", interactive=False, verbosity=0)

    site = Site.objects.get_current()
    assert (site.name, site.domain) == ("Commonplace", "127.0.0.1:8000")


def test_the_site_domain_follows_site_url_unless_given():
    code = "import commonplace.settings as s; print(s.SITE_NAME, s.SITE_DOMAIN, s.SITE_URL)"

    served = fresh_python(code, SITE_URL="http://127.0.0.1:8101")
    named = fresh_python(code, SITE_NAME="Reading Room", SITE_DOMAIN="read.example.org")

    assert served.returncode == 0, served.stderr
    assert served.stdout.split() == ["Commonplace", "127.0.0.1:8101", "http://127.0.0.1:8101"]
    assert named.stdout.split()[:3] == ["Reading", "Room", "read.example.org"]


# --- account pages: one wording ("Log in", "Log out", "Sign up"), finished -------------------

OTHER_WORDING = re.compile(r"\b[Ss]ign(?:ed)?[ -]?(?:[Ii]n|[Oo]ut)\b|Sign Up|Signup|Log In|Log Out")


def reset_key_url(user) -> str:
    key = default_token_generator.make_token(user)
    return f"/accounts/password/reset/key/{user_pk_to_url_str(user)}-{key}/"


def confirm_email_url(user) -> str:
    address = EmailAddress.objects.create(user=user, email="second@readers.test", verified=False)
    return f"/accounts/confirm-email/{EmailConfirmationHMAC(address).key}/"


ACCOUNT_PAGES = [
    # (who, url or a function of the member giving it, the heading)
    (None, "/accounts/login/", "Log in"),
    (None, "/accounts/signup/", "Sign up"),
    (None, "/accounts/password/reset/", "Reset your password"),
    (None, "/accounts/password/reset/done/", "Check your email"),
    (None, reset_key_url, "Choose a new password"),
    (None, "/accounts/password/reset/key/1-not-a-key/", "This link has expired"),
    (None, "/accounts/password/reset/key/done/", "Password changed"),
    (None, "/accounts/inactive/", "Account inactive"),
    (None, "/accounts/confirm-email/", "Check your email"),
    (None, confirm_email_url, "Confirm your email address"),
    (None, "/accounts/confirm-email/not-a-key/", "Confirm your email address"),
    ("member", "/accounts/logout/", "Log out"),
    ("member", "/accounts/password/change/", "Change your password"),
    ("passwordless", "/accounts/password/set/", "Set a password"),
    ("member", "/accounts/email/", "Email addresses"),
    ("member", "/accounts/reauthenticate/", "Confirm it's you"),
    ("member", "/accounts/reauthenticate/code/", "Confirm it's you"),
    ("member", "/accounts/profile/", "Your profile"),
    ("member", "/accounts/tokens/", "API tokens"),
]


def page_id(page) -> str:
    who, url, _ = page
    where = url if isinstance(url, str) else url.__name__
    return f"{who or 'visitor'} {where}"


@pytest.fixture
def passwordless(make_user):
    user = make_user("pat")
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user


@pytest.mark.parametrize(("who", "url", "heading"), ACCOUNT_PAGES, ids=map(page_id, ACCOUNT_PAGES))
def test_each_account_page_says_log_in_and_has_its_heading(
    client, request, member, who, url, heading
):
    if who:
        client.force_login(request.getfixturevalue(who))
    if not isinstance(url, str):
        url = url(member)

    response = client.get(url, follow=True)

    assert response.status_code == 200
    text = text_of(response)
    assert re.search(rf"<h1[^>]*>\s*{re.escape(heading)}\s*</h1>", text), text[:3000]
    assert OTHER_WORDING.findall(text) == []


def test_logging_in_and_out_say_log(client, member):
    logged_in = client.post(
        "/accounts/login/", {"login": "maria", "password": PASSWORD}, follow=True
    )
    logged_out = client.post("/accounts/logout/", follow=True)

    assert "Logged in as Maria Member." in text_of(logged_in)
    assert "You have logged out." in text_of(logged_out)
    assert OTHER_WORDING.findall(text_of(logged_in) + text_of(logged_out)) == []


def test_the_email_page_lists_addresses_with_plain_badges(client, member):
    EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
    EmailAddress.objects.create(user=member, email="maria@elsewhere.test", verified=False)
    client.force_login(member)

    text = text_of(client.get("/accounts/email/"))

    assert 'maria@example.com</label> <span class="email-choice__badges">' in text
    assert (
        '<span class="badge badge--ok">verified</span> <span class="badge">primary</span>' in text
    )
    assert '<span class="badge badge--warn">not verified</span>' in text
    assert 'name="action_remove" class="link-button link-button--danger">Remove' in text


# An element drawn as a box (border or background) with nothing in it: what the password
# pages showed when allauth's bare "cancel" form wore the panel style.
EMPTY_BOXES = """() => [...document.querySelectorAll("main *")].filter((el) => {
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  if (!box.width || !box.height || style.visibility === "hidden") return false;
  if (["INPUT", "SELECT", "TEXTAREA", "BUTTON", "HR", "IMG", "svg"].includes(el.tagName)) {
    return false;
  }
  const framed = (parseFloat(style.borderTopWidth) > 0 && style.borderTopStyle !== "none")
    || style.backgroundColor !== "rgba(0, 0, 0, 0)";
  const filled = el.innerText.trim() !== ""
    || el.querySelector("input:not([type=hidden]), select, textarea, button, img, svg");
  return framed && !filled;
}).map((el) => el.outerHTML.slice(0, 200))"""


@pytest.mark.browser
def test_the_password_pages_draw_no_empty_box(transactional_db, page, login, member, make_user):
    from tests.conftest import screenshot

    urls = [
        "/accounts/password/reset/",
        "/accounts/password/reset/done/",
        reset_key_url(member),
        "/accounts/password/reset/key/1-not-a-key/",
        "/accounts/password/reset/key/done/",
    ]
    found = {}
    for url in urls:
        page.goto(url)
        found[url] = page.evaluate(EMPTY_BOXES)
    login(page, member)
    for url in ["/accounts/password/change/", "/accounts/email/", "/accounts/logout/"]:
        page.goto(url)
        found[url] = page.evaluate(EMPTY_BOXES)
    screenshot(page, "account-logout")

    assert {url: boxes for url, boxes in found.items() if boxes} == {}


# --- invitation cards: plurals and the reader's time zone ------------------------------------


@pytest.mark.parametrize(
    ("use_count", "max_uses", "words"),
    [
        (0, None, "not used yet"),
        (1, None, "used once"),
        (2, None, "used 2 times"),
        (0, 1, "used 0 of 1 time"),
        (1, 5, "used 1 of 5 times"),
        (2, 5, "used 2 of 5 times"),
    ],
)
def test_an_invitation_card_counts_its_uses_in_good_english(
    client, group, facilitator, use_count, max_uses, words
):
    link = invite_link_create(group=group, created_by=facilitator, max_uses=max_uses)
    InviteLink.objects.filter(pk=link.pk).update(use_count=use_count)
    client.force_login(facilitator)

    text = text_of(client.get(f"/groups/{group.slug}/invitations/"))

    card = re.search(rf'id="link-{link.pk}".*?</li>', text).group(0)
    assert f"· {words}" in card
    assert not re.search(r"\b(?:[02-9]|1\d) time\b|\b1 times\b", card)


def test_invitation_expiry_shows_in_the_readers_own_time_zone(client, group, facilitator):
    expires = datetime(2030, 1, 15, 18, 0, tzinfo=UTC)
    invite_link_create(group=group, created_by=facilitator, expires_at=expires)
    facilitator.time_zone = "America/Chicago"
    facilitator.save(update_fields=["time_zone"])
    client.force_login(facilitator)

    text = text_of(client.get(f"/groups/{group.slug}/invitations/"))

    assert (
        'expires <time datetime="2030-01-15T12:00:00-06:00">15 Jan 2030, 12:00 CST</time>' in text
    )
    assert "UTC" not in text.split('id="links-h"')[1].split('id="emails-h"')[0]


def current_zone_for(rf, user) -> str:
    request = rf.get("/")
    request.user = user
    middleware = UserTimeZoneMiddleware(
        lambda request: HttpResponse(timezone.get_current_timezone_name())
    )
    response = middleware(request)
    assert timezone.get_current_timezone_name() == "UTC"  # nothing leaks past the request
    return response.content.decode()


def test_the_time_zone_middleware_follows_the_signed_in_person(rf, settings, member):
    from django.contrib.auth.models import AnonymousUser

    member.time_zone = "Asia/Tokyo"

    assert current_zone_for(rf, member) == "Asia/Tokyo"
    assert current_zone_for(rf, AnonymousUser()) == "UTC"
    member.time_zone = "Mars/Olympus_Mons"
    assert current_zone_for(rf, member) == "UTC"
    middleware = settings.MIDDLEWARE
    assert middleware.index("commonplace.middleware.UserTimeZoneMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


# --- DEBUG off: the product's own error pages -------------------------------------------------


def test_with_debug_off_an_outsider_gets_the_sites_own_404_for_a_group(
    client, settings, outsider, group
):
    settings.DEBUG = False
    client.force_login(outsider)

    response = client.get(f"/groups/{group.slug}/")

    assert response.status_code == 404
    text = text_of(response)
    assert "<h1>Page not found</h1>" in text
    assert '<a class="brand" href="/">' in text
    assert "URLconf" not in text and "Tuesday Reading Circle" not in text


def test_the_500_page_is_the_sites_own_and_needs_no_context(rf, settings):
    settings.DEBUG = False

    response = server_error(rf.get("/"))

    assert response.status_code == 500
    text = text_of(response)
    assert "<h1>Something went wrong</h1>" in text
    assert "/static/css/site.css" in text
    assert "Server Error (500)" not in text


# --- `make run`: DEBUG off, at the address asked for -----------------------------------------


def make_dry_run(*args: str) -> str:
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    environ = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "PORT"}}
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", *args],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_run_serves_with_debug_off_at_the_port_asked_for():
    lines = make_dry_run("run", "PORT=8101").splitlines()

    [serve] = [line for line in lines if "manage.py runserver" in line]
    [seed] = [line for line in lines if "manage.py seed_demo" in line]
    assert serve.endswith("runserver 127.0.0.1:8101")
    assert "DEBUG=false" in serve and "HTTPS=false" in serve
    assert "SITE_URL=http://127.0.0.1:8101" in serve and "SITE_URL=http://127.0.0.1:8101" in seed
    assert 'ALLOWED_HOSTS="127.0.0.1,' in serve
    assert any("manage.py collectstatic --noinput" in line for line in lines)
    assert any("http://127.0.0.1:8101/" in line for line in lines if line.startswith("echo"))
    assert not any(":8000" in line for line in lines)


def test_make_dev_keeps_the_debug_server():
    lines = make_dry_run("dev", "PORT=8102").splitlines()

    [serve] = [line for line in lines if "manage.py runserver" in line]
    assert "DEBUG=true" in serve and serve.endswith("runserver 127.0.0.1:8102")


def test_the_make_run_environment_serves_plain_http_with_debug_off():
    code = (
        "import json, commonplace.settings as s; print(json.dumps([s.DEBUG, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.ACCOUNT_DEFAULT_HTTP_PROTOCOL, s.ALLOWED_HOSTS, "
        "s.STORAGES['staticfiles']['BACKEND']]))"
    )

    result = fresh_python(
        code,
        DEBUG="false",
        HTTPS="false",
        SECRET_KEY="k" * 64,
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        '[false, false, false, false, 0, "http", ["127.0.0.1", "localhost"], '
        '"commonplace.storage.StaticStorage"]'
    )


def test_the_demo_prints_the_address_actually_served(db, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8101"
    out = StringIO()

    call_command("seed_demo", stdout=out)

    assert "Demo logins at http://127.0.0.1:8101/accounts/login/" in out.getvalue()
    assert ":8000" not in out.getvalue()
