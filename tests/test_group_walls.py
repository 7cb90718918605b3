"""The walls around a group, tested by walking every URL the project has.

A person who is not a member gets 404 for every page, form, action and download of a
group and for its own readings, exactly as if the group did not exist; a signed-out
visitor is sent to log in; a member without the facilitator role gets 403. Nothing in a
404 or 403 page names the group, and no refused request changes anything.

The walker reads the URL patterns from Django's resolver, so a URL added later (the
annotations app, downloads, ...) is walked without anyone remembering to list it. Each
URL keyword is filled with a real object of the walled group; a keyword the walker does
not know makes it fail until someone teaches `group_object_makers` below how to make one.
"""

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from django.apps import apps
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils import timezone

from groups.models import (
    EmailInvitation,
    GroupReading,
    InviteLink,
    Membership,
    ReadingGroup,
    Removal,
)
from groups.services import group_reading_import, invite_link_create
from readings.models import Block, Reading, Section
from readings.services import reading_import

# --- what the walker skips, and why ------------------------------------------------------
# Only patterns that hold no group's data. Everything else is walked; a new URL that should
# be skipped must be added here, with its reason, by someone who has thought about it.
SKIPPED_NAMES = {
    "home": "lists the signed-in person's own groups only",
    "healthz": "a database ping for load balancers",
    "openapi": "the JSON API's OpenAPI description: the same public document for all",
    "readings:library": "the public library: readings with no group",
    "annotations:vocabulary": "the W3C API's JSON-LD context: the same public document for all",
    "accounts:profile": "the signed-in person's own account",
    "accounts:tokens": "the signed-in person's own API tokens (revoking one is walked)",
    "accounts:delete": "deletes the signed-in person's own account (tests/test_deletion.py)",
    "groups:create": "starts a new group: no existing group's data",
    "meetings:calendar": "the signed-in person's own calendar address (no group's data)",
    "meetings:calendar_create": "makes the signed-in person's own calendar address",
    "meetings:calendar_revoke": "turns off the signed-in person's own calendar address",
    "notifications:inbox": "the signed-in person's own notifications (notifications.access)",
    "notifications:unread": "the signed-in person's own unread count",
    "notifications:mark_all": "marks the signed-in person's own notifications read",
    "notifications:settings": "the signed-in person's own email settings",
    "exports:my_notes": "the signed-in person's own notes, from the groups they are in",
    "exports:my_notes_markdown": "downloads the signed-in person's own notes (exports.discussion)",
    "exports:my_notes_csv": "downloads the signed-in person's own notes as CSV",
    "exports:my_notes_jsonld": "downloads the signed-in person's own notes as JSON-LD",
    "notifications:unsubscribe": (
        "a signed capability URL opened from an email without a session: its signature is "
        "the wall (tests/test_notification_email.py: a tampered token answers 400)"
    ),
    "groups:pending_invitation": (
        "the invitation opened in the visitor's own session (no token, no id in the URL): "
        "404 when none is (tests/test_invitation_security.py)"
    ),
    "groups:invitation_for_you": (
        "an email invitation opened by id from its verified addressee's home page: 404 to "
        "anyone else, the group's facilitators included (tests/test_invitation_security.py)"
    ),
    "meetings:calendar_feed": (
        "a capability URL opened by calendar apps without a session: its key is the wall "
        "(tests/test_meetings_calendar.py: unknown or revoked keys 404, only the owner's groups)"
    ),
}
SKIPPED_NAMESPACES = {
    "admin": "Django's admin: staff only, with its own permission checks",
}
SKIPPED_URLCONF_PREFIXES = {
    "allauth.": "allauth's sign-up, log-in, password and email pages under accounts/",
}
SKIPPED_ROUTE_PREFIXES = {
    "static/": "static files (served outside the URLconf except in development)",
}

# Keywords the walker fills itself, from the walled group's world (see `world`).
KNOWN_KWARGS = {
    "group_slug": lambda world: world.group.slug,
    # the group's own imported reading, so that the public reading URLs
    # (readings:detail, readings:text) are checked with a group-only reading too
    "reading_slug": lambda world: world.reading.slug,
    "slug": lambda world: world.reading.slug,
    "user_id": lambda world: world.member.pk,
    "link_id": lambda world: world.link.pk,
    "invitation_id": lambda world: world.invitation.pk,
}
# Invitation pages are opened by non-members on purpose: walked with an unknown token, they
# redirect (no-referrer) to the token-free page, which must be the "can't be used" page with a
# 404 (`send` follows that redirect).
TOKEN_KWARGS = {"token"}
UNKNOWN_TOKEN = "not-a-real-token-0123456789abcdefghijklmnopqrstuvw"

# What an intruder posts to every URL: the fields of every form the group views know,
# so that a missing access check would really change something (and be noticed).
INTRUDER_POST = {
    "name": "Taken Over",
    "description": "Intruder was here",
    "time_zone": "Pacific/Auckland",
    "role": "facilitator",
    "reading": "intruders-pamphlet",
    "title": "Intruder's Notes",
    "author": "Intruder",
    "text": "An intruder's paragraph.",
    "text_format": "txt",
    "emails": "intruder@example.com",
    "label": "intruder",
    "max_uses": "5",
    "expires_in": "",
    "decision": "accept",
    "body": "An intruder's comment.",
    "comment": "An intruder's comment.",
    "exact": "socialism",
    # the walled group's name, typed as deleting it asks (so a missing wall would delete it)
    "confirm_name": "Tuesday Reading Circle",
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# --- the world behind the wall ---------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_annotation(world) -> int:
    """A group-visible question of the facilitator's on the group's own reading."""
    from annotations.models import Annotation

    body = "A margin note only the circle may read"
    world.secrets.append(body)
    annotation = Annotation.objects.create(
        group=world.group,
        reading=world.reading,
        author=world.facilitator,
        motivation=Annotation.Motivation.QUESTIONING,
        body=body,
        body_html=f"<p>{body}</p>",
        exact="What we said",
        suffix=" on Tuesday",
        start=0,
        end=12,
    )
    return annotation.pk


def make_assignment(world) -> int:
    """The facilitator's assignment of the group's own reading (its title is the group's)."""
    from assignments.services import assignment_create

    block = world.reading.blocks.first()
    title = "Week 1: what the circle reads"
    world.secrets.append(title)
    assignment = assignment_create(
        group=world.group,
        reading=world.reading,
        created_by=world.facilitator,
        title=title,
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=7),
    )
    return assignment.pk


def make_api_token(world) -> int:
    """The facilitator's personal API token: it opens the group's data to a program."""
    from accounts.tokens import api_token_create

    token, raw = api_token_create(user=world.facilitator, name="Fran's script")
    world.secrets.append(raw)
    return token.pk


def make_removal(world) -> int:
    """Someone the facilitator removed from the group: their removal is what is lifted."""
    from accounts.models import User

    removed = User.objects.create_user(username="removed", email="removed@example.com")
    Removal.objects.create(group=world.group, user=removed, removed_by=world.facilitator)
    return removed.pk


def make_meeting(world) -> int:
    """The facilitator's meeting of the group, a week out (its title is the group's)."""
    from meetings.services import meeting_create

    title = "The circle meets on Tuesday"
    world.secrets.append(title)
    start = timezone.now() + timedelta(days=7)
    meeting = meeting_create(
        group=world.group,
        created_by=world.facilitator,
        title=title,
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        link="https://meet.example/circle",
    )
    return meeting.pk


def make_agenda_item(world) -> int:
    """A free item on the agenda of the world's meeting."""
    from meetings.models import AgendaItem, Meeting
    from meetings.services import agenda_add

    meeting = Meeting.objects.get(pk=made(world, world.makers, "meeting_id"))
    text = "Choose the circle's next reading"
    world.secrets.append(text)
    item = agenda_add(meeting=meeting, text=text)
    assert AgendaItem.objects.filter(pk=item.pk).exists()
    return item.pk


def make_notification(world) -> int:
    """The facilitator told that the member replied to their question."""
    from annotations.models import Annotation
    from annotations.services import annotation_create
    from notifications.models import Notification

    root = Annotation.objects.get(pk=made(world, world.makers, "annotation_id"))
    body = "A reply the circle keeps to itself"
    world.secrets.append(body)
    reply = annotation_create(
        group=world.group,
        reading=world.reading,
        author=world.member,
        motivation="replying",
        body=body,
        parent=root,
    )
    return Notification.objects.get(annotation=reply, recipient=world.facilitator).pk


@pytest.fixture
def group_object_makers():
    """How to fill URL keywords that later features add, with a real object of the group.

    Keys are a keyword (`"annotation_id"`) or, when one keyword means different things in
    different URLs, `"namespace:name kwarg"` (`"annotations:detail pk"`). Each value is a
    function of the world (`world.group`, `world.reading`, `world.facilitator`,
    `world.member`, ...) returning the keyword's value. Make the object as
    `world.facilitator` in `world.group`, so that the facilitator can reach it (the walker
    checks that every filled URL really exists for them), and append any text of it that
    an outsider must never see to `world.secrets`.
    """
    return {
        "annotation_id": make_annotation,
        "block_anchor": lambda world: world.reading.blocks.first().anchor,
        "token_id": make_api_token,
        "assignment_id": make_assignment,
        "section_anchor": lambda world: world.reading.sections.first().anchor,
        "groups:removal_lift user_id": make_removal,
        "meeting_id": make_meeting,
        "item_id": make_agenda_item,
        "notification_id": make_notification,
    }


@pytest.fixture
def world(group, facilitator, member):
    """The walled group: “Tuesday Reading Circle” with its own reading, a link, an invitation."""
    group_reading = group_reading_import(
        group=group,
        added_by=facilitator,
        data=b"# Minutes of the Circle\n\nWhat we said on Tuesday, for us alone.\n",
        filename="minutes.md",
        overrides={},
    )
    link = invite_link_create(group=group, created_by=facilitator, label="Newsletter")
    invitation = EmailInvitation.objects.create(
        group=group,
        email="guest@example.com",
        invited_by=facilitator,
        expires_at=timezone.now() + timedelta(days=30),
    )
    # a public reading the group does not read, for the intruder's "add a reading" POST
    reading_import(
        data=b"The pamphlet's only paragraph.\n",
        filename="pamphlet.txt",
        slug="intruders-pamphlet",
        overrides={"title": "A Pamphlet"},
    )
    return SimpleNamespace(
        group=group,
        reading=group_reading.reading,
        link=link,
        invitation=invitation,
        facilitator=facilitator,
        member=member,
        secrets=[group.name, group_reading.reading.title, "What we said on Tuesday"],
        made={},
    )


# --- walking the resolver ----------------------------------------------------------------------


@dataclass
class Route:
    route: str
    name: str
    callback: object
    kwargs: list[str]
    urlconfs: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.name or '(unnamed)'} ({self.route})"


def _pattern_text(pattern) -> str:
    text = str(pattern)
    if isinstance(pattern, RegexPattern):
        text = text.removeprefix("^").removesuffix("$")
    return text


def _pattern_kwargs(pattern) -> list[str]:
    if isinstance(pattern, RoutePattern):
        return list(pattern.converters)
    return list(pattern.regex.groupindex)


def walk(resolver=None, prefix="", kwargs=(), urlconfs=(), namespaces=()):
    """Every URLPattern of the project with its full route and all its keywords."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + _pattern_text(entry.pattern)
        names = [*kwargs, *_pattern_kwargs(entry.pattern)]
        if isinstance(entry, URLResolver):
            module = entry.urlconf_name if isinstance(entry.urlconf_name, str) else ""
            module = module or getattr(entry.urlconf_module, "__name__", "")
            yield from walk(
                entry,
                route,
                names,
                [*urlconfs, module],
                [*namespaces, entry.namespace] if entry.namespace else namespaces,
            )
        else:
            assert isinstance(entry, URLPattern)
            name = ":".join([*namespaces, entry.name]) if entry.name else ""
            yield Route(route, name, entry.callback, names, list(urlconfs), list(namespaces))


def skip_reason(route: Route) -> str | None:
    if route.name in SKIPPED_NAMES:
        return SKIPPED_NAMES[route.name]
    for namespace in route.namespaces:
        if namespace in SKIPPED_NAMESPACES:
            return SKIPPED_NAMESPACES[namespace]
    for urlconf in route.urlconfs:
        for prefix, reason in SKIPPED_URLCONF_PREFIXES.items():
            if urlconf.startswith(prefix):
                return reason
    for prefix, reason in SKIPPED_ROUTE_PREFIXES.items():
        if route.route.startswith(prefix):
            return reason
    return None


def fill(route: Route, world, makers) -> dict[str, object]:
    world.makers = makers  # a maker may need another's object (an agenda item, its meeting)
    values = {}
    for kwarg in route.kwargs:
        if kwarg in TOKEN_KWARGS:
            values[kwarg] = UNKNOWN_TOKEN
        elif f"{route.name} {kwarg}" in makers:
            values[kwarg] = made(world, makers, f"{route.name} {kwarg}")
        elif kwarg in makers:
            values[kwarg] = made(world, makers, kwarg)
        elif kwarg in KNOWN_KWARGS:
            values[kwarg] = KNOWN_KWARGS[kwarg](world)
        else:
            pytest.fail(
                f"The wall walker does not know how to fill <{kwarg}> in {route}. Add a maker "
                f"for {kwarg!r} (or for '{route.name} {kwarg}') to the `group_object_makers` "
                "fixture in tests/test_group_walls.py that makes a real object of world.group, "
                "so that the new URL is checked for outsiders too.",
                pytrace=False,
            )
    return values


def made(world, makers, key: str):
    """Each maker runs once per world: every URL with that keyword gets the same object."""
    if key not in world.made:
        world.made[key] = makers[key](world)
    return world.made[key]


def build(route: Route, values: dict[str, object]) -> str:
    def value_of(match):
        return str(values[match.group("name")])

    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value_of, route.route)  # path() routes
    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", value_of, path)  # re_path() routes
    url = "/" + path
    match = resolve(url)
    assert match.func == route.callback, f"{url} resolves to {match.view_name}, not {route}"
    return url


def bogus(values: dict[str, object]) -> dict[str, object]:
    """The same keywords pointing at nothing: what a group that does not exist looks like."""
    return {
        name: 987_654_321 if isinstance(value, int) else f"no-such-{name.replace('_', '-')}"
        for name, value in values.items()
    }


@dataclass
class Target:
    route: Route
    url: str
    missing_url: str  # the same URL for objects that do not exist
    has_token: bool


def targets_of(world, makers) -> list[Target]:
    """Every walked URL, filled with the world's objects (fails on a keyword it cannot fill)."""
    found = []
    for route in walk():
        if skip_reason(route):
            continue
        values = fill(route, world, makers)
        found.append(
            Target(
                route=route,
                url=build(route, values),
                missing_url=build(route, bogus(values)),
                has_token=bool(TOKEN_KWARGS & set(route.kwargs)),
            )
        )
    walked = {target.route.name for target in found}
    # a walker that finds nothing proves nothing
    assert {"groups:detail", "groups:member_remove", "readings:detail", "groups:join"} <= walked
    assert "search:results" in walked  # search (search/urls.py): a group's notes, by words
    assert {"imports:start", "imports:confirm"} <= walked  # importing annotations
    return found


# --- what "nothing changed" means -----------------------------------------------------------


def snapshot() -> dict:
    state = {
        "groups": list(
            ReadingGroup.objects.order_by("pk").values_list(
                "pk", "name", "slug", "description", "time_zone", "archived_at"
            )
        ),
        "memberships": list(
            Membership.objects.order_by("pk").values_list("pk", "group_id", "user_id", "role")
        ),
        "group_readings": list(
            GroupReading.objects.order_by("pk").values_list("pk", "group_id", "reading_id")
        ),
        "readings": list(Reading.objects.order_by("pk").values_list("pk", "slug", "title")),
        "sections": Section.objects.count(),
        "blocks": Block.objects.count(),
        "links": list(
            InviteLink.objects.order_by("pk").values_list("pk", "revoked_at", "use_count")
        ),
        "invitations": list(
            EmailInvitation.objects.order_by("pk").values_list(
                "pk", "email", "withdrawn_at", "accepted_at", "declined_at"
            )
        ),
        "removals": list(Removal.objects.order_by("pk").values_list("pk", "user_id", "lifted_at")),
        "mail": len(mail.outbox),
    }
    # and every row of every table of the project's own apps (annotations included)
    labels = ("accounts", "readings", "groups", "assignments", "annotations", "meetings")
    for label in (*labels, "notifications", "search"):
        for model in apps.get_app_config(label).get_models():
            state[model._meta.label] = model.objects.count()
    return state


def changes(before: dict, after: dict) -> list[str]:
    return [
        f"{key}: {before[key]!r} -> {after[key]!r}" for key in before if before[key] != after[key]
    ]


# --- the checks --------------------------------------------------------------------------


WALKED = Counter()  # (route, method, who) -> requests sent: SECURITY.md's figure


def send(client, method: str, url: str):
    """The answer to `method` at `url`. An invitation token's URL only ever redirects to the
    token-free page that says what it opens (groups.views.join): that page is the answer."""
    who = getattr(getattr(client, "session", None), "get", lambda key: None)("_auth_user_id")
    WALKED[(resolve(urlsplit(url).path).route, method, who)] += 1
    response = _send(client, method, url)
    if TOKEN_ROUTE.match(url) and response.status_code == 302:
        assert response["Referrer-Policy"] == "no-referrer"
        location = response["Location"]
        assert location.startswith(reverse("groups:pending_invitation")), location
        return client.generic(method, location)
    return response


TOKEN_ROUTE = re.compile(r"^/(join|invitations)/[^/]+/$")


def _send(client, method: str, url: str):
    data = INTRUDER_POST if method == "POST" else None
    if method in {"PUT", "PATCH", "DELETE"}:
        return client.generic(
            method,
            url,
            data="name=Taken+Over&role=facilitator",
            content_type="application/x-www-form-urlencoded",
        )
    return client.generic(method, url) if data is None else client.post(url, data)


def leaks(response, world) -> list[str]:
    body = response.content.decode(errors="replace")
    return [secret for secret in world.secrets if secret in body]


def is_json(response) -> bool:
    return "json" in response.get("Content-Type", "")


def method_refused(response, method: str) -> bool:
    """A 405 that really means the view does not take this method at all."""
    allowed = {m.strip().upper() for m in response.get("Allow", "").split(",") if m.strip()}
    return response.status_code == 405 and method not in allowed


def as_facilitator(world, targets, method: str) -> list[tuple[Target, int]]:
    """Each URL as the group's facilitator, each request rolled back: (target, status)."""
    statuses = []
    for target in targets:
        if target.has_token:
            continue
        with transaction.atomic():
            client = Client(raise_request_exception=False)
            client.force_login(world.facilitator)
            statuses.append((target, send(client, method, target.url).status_code))
            transaction.set_rollback(True)
    return statuses


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_url_of_the_group_exists_for_its_facilitator(world, group_object_makers, method):
    """The walls below prove nothing unless the walked URLs lead to real things."""
    problems = [
        f"{method} {target.url} ({target.route.name}) -> 404"
        for target, status in as_facilitator(world, targets_of(world, group_object_makers), method)
        if status == 404
    ]
    assert not problems, "URLs the facilitator cannot reach:\n" + "\n".join(problems)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_url_of_the_group_breaks_for_its_facilitator(world, group_object_makers, method):
    problems = [
        f"{method} {target.url} ({target.route.name}) -> {status}"
        for target, status in as_facilitator(world, targets_of(world, group_object_makers), method)
        if status >= 500
    ]
    assert not problems, "Server errors:\n" + "\n".join(problems)


def test_get_never_changes_anything_even_for_the_facilitator(world, group_object_makers):
    targets = targets_of(world, group_object_makers)
    client = Client(raise_request_exception=False)
    client.force_login(world.facilitator)
    before = snapshot()

    for target in targets:
        for method in ("GET", "HEAD"):
            send(client, method, target.url)

    assert not changes(before, snapshot())


def test_every_change_needs_a_csrf_token_even_from_the_facilitator(world, group_object_makers):
    """A page on another site cannot make a signed-in facilitator's browser change the group."""
    targets = targets_of(world, group_object_makers)
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    client.force_login(world.facilitator)
    before = snapshot()
    problems = []

    for target in targets:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            response = send(client, method, target.url)
            if response.status_code != 403 and not method_refused(response, method):
                problems.append(
                    f"{method} {target.url} ({target.route.name}) -> {response.status_code}"
                )

    assert not problems, "Changes accepted without a CSRF token:\n" + "\n".join(problems)
    assert not changes(before, snapshot())


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
def test_a_non_member_gets_404_for_every_url_of_the_group(
    request, persona, world, group_object_makers, other_group
):
    targets = targets_of(world, group_object_makers)
    person = request.getfixturevalue(persona)
    client = Client(raise_request_exception=False)
    client.force_login(person)
    before = snapshot()
    problems = []
    for target in targets:
        for method in METHODS:
            response = send(client, method, target.url)
            status = response.status_code
            where = f"{method} {target.url} ({target.route.name}) -> {status}"
            if not (status == 404 or method_refused(response, method)):
                problems.append(where)
            if found := leaks(response, world):
                problems.append(f"{where} shows {found}")
            clear_page = "This invitation is not valid" in response.content.decode()
            if status == 404 and target.has_token and method != "HEAD" and not clear_page:
                problems.append(f"{where} is not the clear 'invitation not valid' page")
            missing = send(client, method, target.missing_url)
            if missing.status_code != status:
                problems.append(
                    f"{where}, but {missing.status_code} for {target.missing_url}: "
                    "a non-member can tell that the group exists"
                )
    assert not problems, f"The wall lets {persona} through:\n" + "\n".join(problems)
    assert not changes(before, snapshot()), "Refused requests changed the database"


def test_a_signed_out_visitor_is_sent_to_log_in_for_every_url_of_the_group(
    world, group_object_makers
):
    targets = targets_of(world, group_object_makers)
    client = Client(raise_request_exception=False)
    before = snapshot()
    problems = []
    for target in targets:
        for method in ("GET", "POST"):
            response = send(client, method, target.url)
            status = response.status_code
            where = f"{method} {target.url} ({target.route.name}) -> {status}"
            if status == 302:
                location = urlsplit(response["Location"])
                next_url = parse_qs(location.query).get("next", [""])[0]
                if location.path != "/accounts/login/" or next_url != target.url:
                    problems.append(f"{where} {response['Location']} (not to log in)")
            elif status == 401 and is_json(response):
                pass  # an API tells a program 401 rather than sending it to an HTML log-in page
            elif not (status == 404 or method_refused(response, method)):
                problems.append(where)
            if found := leaks(response, world):
                problems.append(f"{where} shows {found}")
            missing = send(client, method, target.missing_url)
            if missing.status_code != status:
                problems.append(
                    f"{where}, but {missing.status_code} for {target.missing_url}: "
                    "a visitor can tell that the group exists"
                )
    assert not problems, "The wall lets a signed-out visitor through:\n" + "\n".join(problems)
    assert not changes(before, snapshot()), "Refused requests changed the database"


# --- facilitator-only actions ------------------------------------------------------------------

FACILITATOR_ACTIONS = [
    # (url name, method, keywords beyond the group's slug)
    ("settings", "GET", ()),
    ("settings", "POST", ()),
    ("archive", "POST", ()),
    ("unarchive", "POST", ()),
    ("member_role", "POST", ("user_id",)),
    ("member_remove", "POST", ("user_id",)),
    ("reading_add", "GET", ()),
    ("reading_add", "POST", ()),
    ("reading_import", "POST", ()),
    ("reading_remove", "POST", ("reading_slug",)),
    ("reading_delete", "GET", ("reading_slug",)),
    ("reading_delete", "POST", ("reading_slug",)),
    ("delete", "GET", ()),
    ("delete", "POST", ()),
    ("invitations", "GET", ()),
    ("link_create", "POST", ()),
    ("link_revoke", "POST", ("link_id",)),
    ("email_invite", "POST", ()),
    ("email_withdraw", "POST", ("invitation_id",)),
    ("removal_lift", "POST", ("user_id",)),
]
# Every view that changes something (the forms' pages, settings and reading_add, may GET).
MUTATING = {
    "archive": (),
    "unarchive": (),
    "leave": (),
    "member_role": ("user_id",),
    "member_remove": ("user_id",),
    "reading_import": (),
    "reading_remove": ("reading_slug",),
    "link_create": (),
    "link_revoke": ("link_id",),
    "email_invite": (),
    "email_withdraw": ("invitation_id",),
    "removal_lift": ("user_id",),
}


def action_url(world, name: str, extra=()) -> str:
    values = {"group_slug": world.group.slug}
    if name == "member_role":
        values["user_id"] = world.member.pk  # a member promoting themselves
    if name == "member_remove":
        values["user_id"] = world.facilitator.pk  # a member removing the facilitator
    for kwarg in extra:
        values.setdefault(kwarg, KNOWN_KWARGS[kwarg](world))
    return reverse(f"groups:{name}", kwargs=values)


def _id(action) -> str:
    return f"{action[1]} {action[0]}"


@pytest.mark.parametrize("action", FACILITATOR_ACTIONS, ids=_id)
def test_a_member_without_the_role_gets_403_and_nothing_changes(client, world, action):
    name, method, extra = action
    url = action_url(world, name, extra)
    client.force_login(world.member)
    before = snapshot()

    response = send(client, method, url)

    assert response.status_code == 403
    assert not leaks(response, world)
    assert "Not allowed" in response.content.decode()
    assert not changes(before, snapshot())


@pytest.mark.parametrize("action", FACILITATOR_ACTIONS, ids=_id)
def test_an_outsider_gets_404_for_a_facilitator_action(client, world, outsider, action):
    name, method, extra = action
    client.force_login(outsider)
    before = snapshot()

    response = send(client, method, action_url(world, name, extra))

    assert response.status_code == 404
    assert not leaks(response, world)
    assert not changes(before, snapshot())


@pytest.mark.parametrize("name", MUTATING)
def test_every_mutating_view_rejects_get(client, world, name):
    client.force_login(world.facilitator)
    before = snapshot()

    response = client.get(action_url(world, name, MUTATING[name]))

    assert response.status_code == 405
    assert not changes(before, snapshot())


@pytest.fixture(scope="module", autouse=True)
def walked_figure():
    """With WALLS_FIGURE=<path>, writes how many URL x method x persona combinations the walk
    sent (and requests in all) there, for SECURITY.md."""
    yield
    if path := os.environ.get("WALLS_FIGURE"):
        with open(path, "w") as out:
            out.write(f"{len(WALKED)} combinations, {sum(WALKED.values())} requests\n")
