"""Rate limits on every door (commonplace/ratelimits.py, settings RATE_LIMITS and
ACCOUNT_RATE_LIMITS): over a limit the answer is 429 with Retry-After, JSON on the API and a
page in the browser, and nothing is written; counted per account (or per link, or per client
address when signed out); the client address believes X-Forwarded-For only behind a proxy;
COMMONPLACE_RATE_LIMITS=off turns them all off. These tests run with the limits on, as every
test does: each sets the door it tries to a small rate.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory
from django.urls import reverse

from accounts.tokens import api_token_create
from annotations.models import Annotation, Flag, PlusOne
from commonplace import env as env_module
from commonplace.ratelimits import (
    DOORS,
    address_key,
    client_address,
    rate_in_words,
    wait_in_words,
    who,
)
from groups.models import EmailInvitation, InviteLink
from meetings import services as meetings_services
from notifications.tokens import unsubscribe_token
from readings.layout import reading_layout
from readings.models import Reading
from tests.annotating import QUOTE, create, span
from tests.conftest import PASSWORD

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
SECOND_QUOTE = "When socialists talk about ordinary people"


@pytest.fixture
def limit(settings):
    """Set named limits for this test: limit(annotate="1/m")."""

    def set_limits(**rates):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}

    return set_limits


def signed_in(user, **client_args) -> Client:
    client = Client(**client_args)
    client.force_login(user)
    return client


def reading_path(group, essay, name: str, *args) -> str:
    return reverse(name, args=[group.slug, essay.slug, *args])


def assert_limited(response, name: str, *, longest: int = 60) -> int:
    """A 429 for the limit `name`: Retry-After in whole seconds, within the limit's period;
    a page saying what happened (or, on the API, a JSON error naming the limit)."""
    assert response.status_code == 429, response.content[:500]
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= longest
    if response["Content-Type"].startswith("application/json"):
        body = response.json()
        assert body["status"] == 429
        assert f"Too many {DOORS[name]}" in body["error"]
        assert f"“{name}”" in body["error"]
    else:
        page = response.content.decode()
        assert "<h1>Please slow down</h1>" in page
        assert f"Too many {DOORS[name]}" in page
        assert "data-rate-limit-message" in page
        assert response["Cache-Control"] == "no-store"
        assert response["Referrer-Policy"] == "no-referrer"
    return retry_after


def api_post(client, url: str, data: dict, **headers):
    return client.post(url, json.dumps(data), content_type="application/ld+json", headers=headers)


def api_comment(essay, body="A point.", quote=QUOTE) -> dict:
    start, end = span(essay, quote)
    return {
        "@context": ANNO_CONTEXT,
        "type": "Annotation",
        "motivation": "commenting",
        "body": [{"type": "TextualBody", "value": body, "format": "text/markdown"}],
        "target": {
            "source": "http://testserver" + reverse("readings:text", args=[essay.slug]),
            "selector": [
                {"type": "TextQuoteSelector", "exact": quote},
                {"type": "TextPositionSelector", "start": start, "end": end},
            ],
        },
    }


# --- annotations, replies, flags, +1s: the forms and the API ----------------------------------


def test_new_annotations_from_the_forms_stop_at_the_limit_and_write_nothing(
    limit, group, essay, member
):
    limit(annotate="2/m")
    client = signed_in(member)
    block = reading_layout(essay)["sections"][0].block_list[0]
    quote = block.text[:40]
    annotate = reading_path(group, essay, "annotations:annotate", block.anchor)
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}

    assert client.post(annotate, {**note, "quote": quote}).status_code == 302
    assert client.post(discuss, note).status_code == 302
    refused = client.post(discuss, note)

    assert_limited(refused, "annotate")
    assert "Nothing was saved" in refused.content.decode()
    assert Annotation.objects.count() == 2
    assert_limited(client.post(annotate, {**note, "quote": quote}), "annotate")
    assert Annotation.objects.count() == 2
    # Reading the forms is not writing: they still open.
    assert client.get(discuss).status_code == 200


def test_the_limit_is_per_account(limit, group, essay, member, facilitator):
    limit(annotate="1/m")
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}
    maria = signed_in(member)
    assert maria.post(discuss, note).status_code == 302
    assert maria.post(discuss, note).status_code == 429

    # Fran, at the same address, has her own count.
    assert signed_in(facilitator).post(discuss, note).status_code == 302
    assert Annotation.objects.count() == 2


def test_the_api_and_the_forms_share_one_count_and_the_api_answers_json(
    limit, group, essay, member
):
    limit(annotate="2/m")
    client = signed_in(member)
    container = reading_path(group, essay, "annotations:container")
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}

    assert client.post(discuss, note).status_code == 302
    assert api_post(client, container, api_comment(essay)).status_code == 201
    refused = api_post(client, container, api_comment(essay, quote=SECOND_QUOTE))

    assert refused["Content-Type"] == "application/json"
    assert_limited(refused, "annotate")
    assert Annotation.objects.count() == 2


def test_replies_stop_at_the_limit_through_the_form_and_the_api(limit, group, essay, member):
    limit(reply="2/m")
    root = create(group, essay, member)
    client = signed_in(member)
    form = reading_path(group, essay, "annotations:reply", root.pk)
    container = reading_path(group, essay, "annotations:container")
    api_reply = {
        "@context": ANNO_CONTEXT,
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Yes, and more.",
        "target": f"http://testserver{container}{root.pk}",
    }

    assert client.post(form, {"body": "Yes."}).status_code == 302
    assert api_post(client, container, api_reply).status_code == 201
    assert_limited(client.post(form, {"body": "Yes again."}), "reply")
    assert_limited(api_post(client, container, api_reply), "reply")

    assert Annotation.objects.filter(parent=root).count() == 2
    # Replies and new annotations are counted apart.
    assert api_post(client, container, api_comment(essay)).status_code == 201


def test_flags_and_plus_ones_stop_at_the_limit(limit, group, essay, member, facilitator):
    limit(flag="1/m", plus_one="1/m")
    first = create(group, essay, facilitator)
    second = create(group, essay, facilitator, quote=SECOND_QUOTE)
    client = signed_in(member)

    def note(name, annotation):
        return reading_path(group, essay, f"annotations:{name}", annotation.pk)

    assert client.post(note("flag", first), {"reason": "Off topic."}).status_code == 302
    assert_limited(client.post(note("flag", second), {"reason": "Rude."}), "flag")
    assert client.post(note("plus_one", first)).status_code == 302
    assert_limited(client.post(note("plus_one", second)), "plus_one")

    assert list(Flag.objects.values_list("annotation", flat=True)) == [first.pk]
    assert list(PlusOne.objects.values_list("annotation", flat=True)) == [first.pk]


def test_the_wait_is_until_the_count_starts_again(limit, group, essay, member, monkeypatch):
    """Retry-After is the real time left: just after it, the door opens again."""
    import time
    from types import SimpleNamespace

    import django_ratelimit.core as counting

    limit(annotate="1/h")
    client = signed_in(member)
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}
    assert client.post(discuss, note).status_code == 302
    wait = assert_limited(client.post(discuss, note), "annotate", longest=3600)

    now = time.time()
    monkeypatch.setattr(counting, "time", SimpleNamespace(time=lambda: now + wait - 2))
    assert client.post(discuss, note).status_code == 429
    monkeypatch.setattr(counting, "time", SimpleNamespace(time=lambda: now + wait + 1))
    assert client.post(discuss, note).status_code == 302
    assert Annotation.objects.count() == 2


# --- imports and exports ------------------------------------------------------------------------


def test_annotation_imports_stop_at_the_limit_before_reading_the_file(
    limit, group, essay, facilitator
):
    limit(**{"import": "2/m"})
    client = signed_in(facilitator)
    start = reading_path(group, essay, "imports:start")
    data = json.dumps([api_comment(essay)]).encode()

    preview = client.post(start, {"file": SimpleUploadedFile("notes.json", data)})
    token = preview.context["confirm_form"].initial["preview"]
    assert client.post(start, {"file": SimpleUploadedFile("notes.json", data)}).status_code == 200
    refused = client.post(reading_path(group, essay, "imports:confirm"), {"preview": token})

    assert_limited(refused, "import")
    assert not Annotation.objects.exists()


def test_reading_imports_stop_at_the_limit(limit, group, facilitator):
    limit(**{"import": "1/m"})
    client = signed_in(facilitator)
    url = reverse("groups:reading_import", args=[group.slug])
    pasted = {"title": "A Pamphlet", "text": "A paragraph of it.", "text_format": "txt"}
    assert client.post(url, pasted).status_code == 302
    before = Reading.objects.count()

    assert_limited(client.post(url, {**pasted, "title": "Another"}), "import")
    assert Reading.objects.count() == before


@pytest.mark.parametrize(
    "name",
    [
        "exports:markdown",
        "exports:csv",
        "exports:jsonld",
        "exports:packet",
        "exports:my_notes_markdown",
        "exports:my_notes_csv",
        "exports:my_notes_jsonld",
    ],
)
def test_exports_stop_at_the_limit(limit, group, essay, member, name):
    limit(export="1/m")
    client = signed_in(member)
    url = reverse(name) if name.startswith("exports:my_") else reading_path(group, essay, name)
    assert client.get(url).status_code == 200
    assert_limited(client.get(url), "export")


# --- invitations -------------------------------------------------------------------------------


def test_invitation_links_and_emails_stop_at_the_limit(limit, group, facilitator):
    limit(invitation_link="1/h", invitation_email="1/h")
    client = signed_in(facilitator)
    links = reverse("groups:link_create", args=[group.slug])
    emails = reverse("groups:email_invite", args=[group.slug])
    link = {"label": "Newsletter", "max_uses": "5", "expires_in": ""}
    before = InviteLink.objects.count()

    assert client.post(links, link).status_code == 302
    assert_limited(client.post(links, link), "invitation_link", longest=3600)
    assert InviteLink.objects.count() == before + 1

    assert client.post(emails, {"emails": "ana@example.org"}).status_code == 302
    sent = len(mail.outbox)
    refused = client.post(emails, {"emails": "ben@example.org, cy@example.org"})
    assert_limited(refused, "invitation_email", longest=3600)
    assert "Nothing was saved" in refused.content.decode()
    assert list(EmailInvitation.objects.values_list("email", flat=True)) == ["ana@example.org"]
    assert len(mail.outbox) == sent


# --- capability links: calendar feeds and unsubscribe links, counted per link ------------------


def test_calendar_feed_fetches_are_counted_per_feed(limit, group, member, facilitator):
    limit(calendar_feed="2/h")
    _, mine = meetings_services.calendar_feed_create(user=member)
    _, hers = meetings_services.calendar_feed_create(user=facilitator)
    app = Client()  # a calendar app: no session, the same address for everyone's feeds
    feed = reverse("meetings:calendar_feed", args=[mine])

    assert app.get(feed).status_code == 200
    assert app.get(feed).status_code == 200
    assert_limited(app.get(feed), "calendar_feed", longest=3600)
    assert app.get(reverse("meetings:calendar_feed", args=[hers])).status_code == 200


def test_unsubscribe_links_are_counted_per_link_and_write_nothing_over_it(
    limit, member, facilitator
):
    from notifications.services import unsubscribed

    limit(unsubscribe="1/m")
    mail_client = Client()
    mine = reverse("notifications:unsubscribe", args=[unsubscribe_token(member.pk, "reply")])
    hers = reverse("notifications:unsubscribe", args=[unsubscribe_token(facilitator.pk, "reply")])

    assert mail_client.get(mine).status_code == 200
    assert_limited(mail_client.post(mine), "unsubscribe")
    assert not unsubscribed(user=member, kind="reply")
    assert mail_client.post(hers).status_code == 200


def test_links_that_are_not_ours_are_counted_per_address_too(limit, member):
    """Each made-up key would start a fresh count of its own: misses count per address."""
    limit(link_guess="3/m")
    guesser = Client()
    for n in range(3):
        assert guesser.get(reverse("meetings:calendar_feed", args=[f"guess{n}"])).status_code == 404
    assert_limited(guesser.get(reverse("meetings:calendar_feed", args=["guess9"])), "link_guess")
    forged = reverse("notifications:unsubscribe", args=["forged-token"])
    assert_limited(guesser.post(forged), "link_guess")
    # a real link is not a guess: it is counted per link, as before
    _, real = meetings_services.calendar_feed_create(user=member)
    assert guesser.get(reverse("meetings:calendar_feed", args=[real])).status_code == 200


# --- API tokens and search ---------------------------------------------------------------------


def test_api_token_use_is_counted_per_account(limit, group, essay, member):
    limit(api_token="2/m")
    _, raw = api_token_create(user=member, name="Sync")
    container = reading_path(group, essay, "annotations:container")
    bearer = {"Authorization": f"Bearer {raw}"}
    script = Client()

    assert script.get(container, headers=bearer).status_code == 200
    assert api_post(script, container, api_comment(essay), **bearer).status_code == 201
    refused = api_post(script, container, api_comment(essay, quote=SECOND_QUOTE), **bearer)

    assert refused["Content-Type"] == "application/json"
    assert_limited(refused, "api_token")
    assert Annotation.objects.count() == 1
    # The browser's own session is not token use.
    assert signed_in(member).get(container).status_code == 200


def test_wrong_api_tokens_are_counted_per_address(limit, group, essay):
    limit(api_token="2/m")
    container = reading_path(group, essay, "annotations:container")
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    wrong = {"Authorization": "Bearer cp_not-a-token"}

    assert guesser.get(container, headers=wrong).status_code == 401
    assert guesser.get(container, headers=wrong).status_code == 401
    assert_limited(guesser.get(container, headers=wrong), "api_token")
    assert Client(REMOTE_ADDR="198.51.100.4").get(container, headers=wrong).status_code == 401


def test_searches_stop_at_the_limit(limit, group, member):
    limit(search="1/m")
    client = signed_in(member)
    url = reverse("search:results", args=[group.slug]) + "?q=democracy"
    assert client.get(url).status_code == 200
    assert_limited(client.get(url), "search")


# Every door with a limit: at "0/m" its first request is refused before the view runs (so before
# the group's wall: a count is the asker's own, and says nothing about the group).
DOORS_AT_ZERO = [
    ("annotate", "POST", "annotations:annotate", ("group", "reading", "p-1")),
    ("annotate", "POST", "annotations:discuss", ("group", "reading")),
    ("annotate", "POST", "annotations:prompt_create", ("group", 1)),
    ("reply", "POST", "annotations:reply", ("group", "reading", 1)),
    ("flag", "POST", "annotations:flag", ("group", "reading", 1)),
    ("plus_one", "POST", "annotations:plus_one", ("group", "reading", 1)),
    ("import", "POST", "annotations:reading_revise", ("group", "reading")),
    ("import", "POST", "imports:start", ("group", "reading")),
    ("import", "POST", "imports:confirm", ("group", "reading")),
    ("import", "POST", "groups:reading_import", ("group",)),
    ("export", "GET", "exports:packet", ("group", "reading")),
    ("invitation_link", "POST", "groups:link_create", ("group",)),
    ("invitation_email", "POST", "groups:email_invite", ("group",)),
    ("search", "GET", "search:results", ("group",)),
    ("calendar_feed", "GET", "meetings:calendar_feed", ("unknown-key",)),
    ("unsubscribe", "POST", "notifications:unsubscribe", ("unknown-token",)),
]


@pytest.mark.parametrize(("name", "method", "view", "args"), DOORS_AT_ZERO)
def test_every_door_answers_429_over_its_limit(limit, member, name, method, view, args):
    limit(**{name: "0/m"})
    path = reverse(
        view, args=[{"group": "a-group", "reading": "a-reading"}.get(a, a) for a in args]
    )
    response = getattr(signed_in(member), method.lower())(path)
    assert_limited(response, name)


def test_every_limit_is_described_and_documented(settings):
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in [*settings.RATE_LIMITS, *settings.ACCOUNT_RATE_LIMITS]:
        assert name in DOORS
        assert f"COMMONPLACE_RATE_LIMIT_{name.upper()}" in readme


# --- the off switch and the environment ---------------------------------------------------------


def test_the_off_switch_lets_everything_through(no_rate_limits, limit, group, essay, member):
    limit(annotate="1/m")
    client = signed_in(member)
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}
    for _ in range(3):
        assert client.post(discuss, note).status_code == 302
    assert Annotation.objects.count() == 3
    # allauth's too: no lock after failed log-ins.
    visitor = Client()
    for _ in range(6):
        assert log_in(visitor, member.username, "wrong-guess").status_code == 200
    assert log_in(visitor, member.username, PASSWORD).status_code == 302


def settings_in_fresh_python(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import json; from django.conf import settings as s; print(json.dumps("
        "[s.RATE_LIMITS_ENABLED, s.RATELIMIT_ENABLE, s.RATE_LIMITS, s.ACCOUNT_RATE_LIMITS]))"
    )
    environ = {
        key: value
        for key, value in __import__("os").environ.items()
        if not key.startswith("COMMONPLACE_RATE_LIMIT")
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


def test_the_environment_overrides_limits_and_turns_them_all_off():
    run = settings_in_fresh_python(
        COMMONPLACE_RATE_LIMIT_ANNOTATE="5/10m",
        COMMONPLACE_RATE_LIMIT_SEARCH="off",
        COMMONPLACE_RATE_LIMIT_LOGIN_FAILED="3/m/ip,4/15m/key",
    )
    assert run.returncode == 0, run.stderr
    enabled, ratelimit_enable, doors, accounts = json.loads(run.stdout)
    assert enabled and ratelimit_enable
    assert doors["annotate"] == "5/10m" and doors["search"] is None
    assert doors["reply"] == "60/m"
    assert accounts["login_failed"] == "3/m/ip,4/15m/key"

    run = settings_in_fresh_python(COMMONPLACE_RATE_LIMITS="off")
    assert run.returncode == 0, run.stderr
    enabled, ratelimit_enable, _, accounts = json.loads(run.stdout)
    assert (enabled, ratelimit_enable, accounts) == (False, False, False)


@pytest.mark.parametrize(
    ("variable", "value", "complaint"),
    [
        ("COMMONPLACE_RATE_LIMIT_ANNOTATE", "lots", "must be a rate like 30/m"),
        ("COMMONPLACE_RATE_LIMIT_SIGNUP", "20/m", "must be a rate like 10/m/ip,5/5m/key"),
        ("COMMONPLACE_RATE_LIMIT_ANOTATE", "5/m", "names no rate limit"),
    ],
)
def test_a_wrong_limit_in_the_environment_is_refused_in_one_line(
    monkeypatch, variable, value, complaint
):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv(variable, value)
    prefix = "COMMONPLACE_RATE_LIMIT_"
    with pytest.raises(ImproperlyConfigured, match=complaint):
        env_module.env_rate_limits(prefix, {"annotate": "60/m"}, env_module.RATE)
        env_module.env_rate_limits(prefix, {"signup": "20/m/ip"}, env_module.ACCOUNT_RATE)
        env_module.env_unknown_names(prefix, {"annotate", "signup"})


def test_rates_read_as_words():
    assert rate_in_words("60/m") == "60 a minute"
    assert rate_in_words("30/h") == "30 an hour"
    assert rate_in_words("5/10m") == "5 every 10 minutes"
    assert wait_in_words(1) == "1 second"
    assert wait_in_words(61) == "2 minutes"
    assert wait_in_words(3600) == "1 hour"
    assert wait_in_words(3601) == "1 hour 1 minute"


# --- the client's address: from the proxy's header when, and only when, BEHIND_PROXY -----------


def request_from(remote: str, forwarded: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    request.user = AnonymousUser()
    return request


def test_without_a_proxy_forwarded_headers_are_not_believed(settings):
    settings.BEHIND_PROXY = False
    assert client_address(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("count", "forwarded", "client"),
    [
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # the left one is the client's own claim
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.2", "203.0.113.1"),
        (2, "203.0.113.1", "203.0.113.1"),  # fewer entries than proxies: the farthest one
        (1, "203.0.113.1:5123", "203.0.113.1"),
        (1, "[2001:db8::7]:443", "2001:db8::7"),
        (1, "not-an-address", "10.0.0.1"),  # nonsense: the proxy's own address
        (1, "", "10.0.0.1"),
    ],
)
def test_behind_a_proxy_the_client_is_the_entry_the_outer_proxy_added(
    settings, count, forwarded, client
):
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = count
    assert client_address(request_from("10.0.0.1", forwarded)) == client
    from allauth.account.adapter import get_adapter

    assert get_adapter().get_client_ip(request_from("10.0.0.1", forwarded)) == client


def test_an_unknown_address_is_a_configuration_error_not_one_shared_count(settings):
    """Behind a proxy on a Unix socket REMOTE_ADDR is empty: counting everyone as one address
    would make every per-address limit site-wide, so it says what to set instead."""
    from django.core.exceptions import ImproperlyConfigured

    settings.BEHIND_PROXY = False
    with pytest.raises(ImproperlyConfigured, match="BEHIND_PROXY"):
        client_address(request_from("", "203.0.113.1"))


def test_ipv6_addresses_are_counted_per_64(settings):
    settings.BEHIND_PROXY = False
    assert address_key(request_from("2001:db8:1:2:aaaa::1")) == "2001:db8:1:2::"
    assert who(request_from("2001:db8:1:2:bbbb::9")) == "address:2001:db8:1:2::"


def test_behind_a_proxy_one_visitor_over_a_limit_does_not_stop_the_others(settings, member):
    """Every request comes from the proxy's address; the limit is still per visitor."""
    settings.BEHIND_PROXY = True
    settings.PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {"login": "1/m/ip"}
    wrong = {"login": member.username, "password": "not-it"}

    def visitor(address):
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address)

    assert visitor("203.0.113.1").post("/accounts/login/", wrong).status_code == 200
    assert_limited(visitor("203.0.113.1").post("/accounts/login/", wrong), "login")
    assert visitor("203.0.113.2").post("/accounts/login/", wrong).status_code == 200

    # Without BEHIND_PROXY the header is the client's own word: changing it escapes nothing.
    settings.BEHIND_PROXY = False
    assert visitor("198.51.100.1").post("/accounts/login/", wrong).status_code == 200
    assert visitor("198.51.100.2").post("/accounts/login/", wrong).status_code == 429


# --- log-in, sign-up, password reset (allauth's limits), and the admin's log-in -----------------


def log_in(client, login: str, password: str):
    return client.post("/accounts/login/", {"login": login, "password": password})


def test_failed_log_ins_lock_that_address_out_of_that_account_with_a_429(member):
    """Five wrong passwords: a 429 saying how long to wait, even for the right password (else
    guessing would go on); the owner, elsewhere, logs in as usual."""
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(5):
        assert log_in(attacker, member.username, "wrong-guess").status_code == 200

    refused = log_in(attacker, member.username, PASSWORD)
    wait = assert_limited(refused, "login_failed", longest=300)
    assert wait > 240
    assert "Reset it by email" in refused.content.decode()
    assert "_auth_user_id" not in attacker.session
    # The same account by its email address is the same count.
    assert log_in(attacker, member.email, PASSWORD).status_code == 429

    owner = Client(REMOTE_ADDR="198.51.100.20")
    assert log_in(owner, member.username, PASSWORD).status_code == 302
    assert owner.session["_auth_user_id"] == str(member.pk)


def test_a_password_reset_lifts_the_failed_log_in_lock(member):
    from allauth.account.models import EmailAddress

    EmailAddress.objects.create(user=member, email=member.email, primary=True, verified=True)
    locked = Client(REMOTE_ADDR="203.0.113.70")
    for _ in range(5):
        log_in(locked, member.username, "wrong-guess")
    assert log_in(locked, member.username, PASSWORD).status_code == 429

    locked.post("/accounts/password/reset/", {"email": member.email})
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", mail.outbox[-1].body)
    form = locked.get(link.group(1), follow=True)
    new_password = "a-brand-new-password-2"
    locked.post(form.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})

    assert log_in(locked, member.username, new_password).status_code == 302


def test_sign_ups_over_the_limit_get_a_429_with_retry_after(db, settings):
    settings.ACCOUNT_RATE_LIMITS = {"signup": "1/m/ip"}
    visitor = Client(REMOTE_ADDR="203.0.113.80")

    def sign_up(name):
        fields = {"email": f"{name}@example.org", "username": name, "time_zone": "UTC"}
        return visitor.post(
            "/accounts/signup/", {**fields, "password1": PASSWORD, "password2": PASSWORD}
        )

    assert sign_up("ana").status_code == 302
    refused = sign_up("ben")
    assert_limited(refused, "signup")
    from accounts.models import User

    assert not User.objects.filter(username="ben").exists()


def test_password_resets_to_one_address_wait_for_the_real_time_left(settings, member):
    settings.ACCOUNT_RATE_LIMITS = {"reset_password": "20/m/ip,1/h/key"}
    visitor = Client(REMOTE_ADDR="203.0.113.90")
    assert visitor.post("/accounts/password/reset/", {"email": member.email}).status_code == 302
    refused = visitor.post("/accounts/password/reset/", {"email": member.email.upper()})

    wait = assert_limited(refused, "reset_password", longest=3600)
    assert wait > 3500
    assert len(mail.outbox) == 1


def test_the_admin_log_in_is_the_site_log_in_with_its_limits(member):
    """/admin/login/ has no form of its own to guess passwords at: it sends people to the
    site's log-in, where failed log-ins are limited (above)."""
    member.is_staff = member.is_superuser = True
    member.save()
    admin = Client()

    response = admin.post("/admin/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=")
    assert "_auth_user_id" not in admin.session
    assert admin.get("/admin/login/")["Location"].startswith(reverse("account_login"))

    for _ in range(5):
        log_in(admin, member.username, "wrong-guess")
    assert log_in(admin, member.username, PASSWORD).status_code == 429

    staff = Client(REMOTE_ADDR="198.51.100.30")
    assert log_in(staff, member.username, PASSWORD).status_code == 302
    assert staff.get("/admin/").status_code == 200


def test_a_signed_in_person_who_is_not_staff_is_refused_the_admin(member):
    assert signed_in(member).get("/admin/login/").status_code == 403


# --- on the database cache that deployments share -----------------------------------------------


def test_limits_count_in_the_database_cache_every_server_shares(
    settings, limit, group, essay, member
):
    """The other tests count in one process's memory; deployments count in the database cache
    table (CACHE_URL unset), where every app server sees the same counts."""
    from commonplace.env import cache_from_url

    settings.CACHES = {"default": cache_from_url("")}
    limit(annotate="1/m")
    discuss = reading_path(group, essay, "annotations:discuss")
    note = {"kind": "commenting", "body": "A thought.", "visibility": "group"}

    assert signed_in(member).post(discuss, note).status_code == 302
    # Another server: a new client and session, the same shared count.
    assert_limited(signed_in(member).post(discuss, note), "annotate")
    for _ in range(5):
        log_in(Client(), member.username, "wrong-guess")
    assert_limited(log_in(Client(), member.username, PASSWORD), "login_failed", longest=300)
    assert Annotation.objects.count() == 1


# --- in the browser: the reading page's panel says which limit, and keeps the text -------------


@pytest.mark.browser
def test_the_reading_panel_says_a_reply_is_over_the_limit_and_keeps_it(
    transactional_db, limit, group, essay, member, facilitator, page, login
):
    from playwright.sync_api import expect

    limit(reply="0/m")
    root = create(group, essay, facilitator, body="Which two?")
    login(page, member)
    page.goto(reading_path(group, essay, "annotations:reading") + f"#a-{root.pk}")
    thread = page.locator(f"#annotation-panel [data-thread-root='{root.pk}']")
    thread.locator("[data-reply-form] textarea").fill("Stalinism and social democracy.")
    thread.get_by_role("button", name="Reply", exact=True).click()

    expect(page.locator("#annotation-panel .panel-message")).to_have_text(
        re.compile(r"^Too many replies: at most 0 a minute\. Try again in \d+ seconds?\.$")
    )
    expect(thread.locator("[data-reply-form] textarea")).to_have_value(
        "Stalinism and social democracy."
    )
    assert not Annotation.objects.filter(parent=root).exists()

    # The 429 page itself: no serious accessibility problem, light or dark.
    from axe_playwright_python.sync_playwright import Axe

    from tests.test_browser_axe import AXE_OPTIONS, FAILING_IMPACTS

    limit(export="0/m")
    assert page.goto(reading_path(group, essay, "exports:packet")).status == 429
    for scheme in ["light", "dark"]:
        page.emulate_media(color_scheme=scheme)
        violations = Axe().run(page, options=AXE_OPTIONS).response["violations"]
        assert [v["id"] for v in violations if v["impact"] in FAILING_IMPACTS] == []
