"""Several people at once: racing edits on PostgreSQL, and the embedded SQLite default under a
small group's concurrent writes.

The races run real threads, each with its own database connection, started together by a
barrier; each round repeats so an ordering that happens to work once does not hide a bug.
The SQLite test runs the site in a real server process (gunicorn, 2 workers x 4 threads) on
its own database file, since the in-memory test database cannot show file locking.
"""

import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.tokens import api_token_create
from annotations import services
from annotations.models import Annotation

ROUNDS = 10
QUOTE = "The premise of socialism is simple: full democracy."
BASE_DIR = Path(settings.BASE_DIR)

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Row locks only race on PostgreSQL (CI sets DATABASE_URL to one); SQLite runs one "
    "writer at a time, which the server test below covers.",
)


# --- racing edits (PostgreSQL) -------------------------------------------------------------------


def _item_path(annotation) -> str:
    return reverse(
        "annotations:annotation",
        args=[annotation.group.slug, annotation.reading.slug, annotation.pk],
    )


def _note(group, essay, author, body) -> Annotation:
    text = essay.canonical_text()
    start = text.index(QUOTE)
    return services.annotation_create(
        group=group,
        reading=essay,
        author=author,
        motivation="commenting",
        body=body,
        start=start,
        end=start + len(QUOTE),
    )


def _race(*requests) -> list[int]:
    """Send the requests at the same moment, each from its own thread and connection."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | None] = [None] * len(requests)
    errors: list[BaseException] = []

    def run(index, send):
        try:
            client = Client()
            barrier.wait(timeout=10)
            statuses[index] = send(client).status_code
        except BaseException as error:  # a thread's failure must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, send)) for i, send in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return statuses


def _put(path, token, body, etag):
    data = {
        "type": "Annotation",
        "motivation": "commenting",
        "body": [{"type": "TextualBody", "value": body, "format": "text/markdown"}],
    }

    def send(client):
        return client.put(
            path,
            data=json.dumps(data),
            content_type="application/ld+json",
            headers={"Authorization": f"Bearer {token}", "If-Match": etag},
        )

    return send


def _delete(path, token, etag=None):
    def send(client):
        headers = {"Authorization": f"Bearer {token}"}
        if etag:
            headers["If-Match"] = etag
        return client.delete(path, headers=headers)

    return send


@pytest.fixture
def member_token(member):
    return api_token_create(user=member, name="racing")[1]


def _etag(path, token) -> str:
    response = Client().get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response["ETag"]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_of_two_puts_with_the_same_etag_exactly_one_wins(group, essay, member, member_token):
    note = _note(group, essay, member, "First words.")
    path = _item_path(note)
    for round_ in range(ROUNDS):
        etag = _etag(path, member_token)

        statuses = _race(
            _put(path, member_token, f"Alice's words, round {round_}.", etag),
            _put(path, member_token, f"Bob's words, round {round_}.", etag),
        )

        assert sorted(statuses) == [200, 412], f"round {round_}: {statuses}"
        note.refresh_from_db()
        assert note.body in {f"Alice's words, round {round_}.", f"Bob's words, round {round_}."}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_put_racing_a_delete_gets_412_or_404_never_500(group, essay, member, member_token):
    for round_ in range(ROUNDS):
        path = _item_path(_note(group, essay, member, f"Round {round_}."))
        etag = _etag(path, member_token)

        put_status, delete_status = _race(
            _put(path, member_token, "Edited meanwhile.", etag),
            _delete(path, member_token, etag),
        )

        assert put_status in {200, 412, 404}, f"round {round_}: PUT {put_status}"
        assert delete_status in {204, 412, 404}, f"round {round_}: DELETE {delete_status}"
        # Exactly one of them happened: an edit and then a refused delete, or the delete.
        assert (put_status == 200) != (delete_status == 204), (put_status, delete_status)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_deletes_delete_once_and_the_other_gets_404_or_412(group, essay, member, member_token):
    for round_ in range(ROUNDS):
        path = _item_path(_note(group, essay, member, f"Round {round_}."))
        etag = _etag(path, member_token)

        statuses = _race(
            _delete(path, member_token, etag),
            _delete(path, member_token, etag if round_ % 2 else None),
        )

        assert statuses.count(204) == 1, f"round {round_}: {statuses}"
        assert set(statuses) - {204} <= {404, 412}, f"round {round_}: {statuses}"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_reply_racing_the_delete_of_its_parent_never_fails_with_500(
    group, essay, member, facilitator, member_token
):
    reply_token = api_token_create(user=facilitator, name="replying")[1]
    for round_ in range(ROUNDS):
        note = _note(group, essay, member, f"Round {round_}.")
        path = _item_path(note)
        container = reverse("annotations:container", args=[group.slug, essay.slug])
        reply = {
            "type": "Annotation",
            "motivation": "replying",
            "bodyValue": "A reply.",
            "target": "http://testserver" + path,
        }

        def send_reply(client, reply=reply, container=container):
            return client.post(
                container,
                data=json.dumps(reply),
                content_type="application/ld+json",
                headers={"Authorization": f"Bearer {reply_token}"},
            )

        reply_status, delete_status = _race(send_reply, _delete(path, member_token))

        assert reply_status in {201, 400, 404}, f"round {round_}: reply {reply_status}"
        assert delete_status == 204, f"round {round_}: delete {delete_status}"
        if reply_status == 201:  # the reply was first: the note stays as a “[deleted]” holder
            assert Annotation.objects.get(pk=note.pk).is_deleted


# --- the SQLite default under concurrent writers -------------------------------------------------

WRITERS = 4
POSTS_PER_WRITER = 25
JOINERS = 20

SETUP = """
import json
from django.test import Client
from accounts.models import User
from accounts.tokens import api_token_create
from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
from groups.models import GroupReading, Membership
from groups.services import group_create, invite_link_create
from readings.services import reading_import

host = User.objects.create_user("host", "host@example.com", "a-long-test-password-1")
group = group_create(name="Concurrent Circle", created_by=host)
essay = reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)
GroupReading.objects.create(group=group, reading=essay, added_by=host)
tokens = []
for n in range({writers}):
    writer = User.objects.create_user(f"writer{{n}}", f"writer{{n}}@example.com")
    Membership.objects.create(group=group, user=writer)
    tokens.append(api_token_create(user=writer, name="load")[1])
link = invite_link_create(group=group, created_by=host)
sessions = []
for n in range({joiners}):
    client = Client()
    client.force_login(User.objects.create_user(f"joiner{{n}}", f"joiner{{n}}@example.com"))
    sessions.append(client.cookies["sessionid"].value)
start = essay.canonical_text().index({quote!r})
print(json.dumps({{
    "container": f"/groups/{{group.slug}}/readings/{{essay.slug}}/annotations/",
    "join": link.token_path(),
    "tokens": tokens,
    "sessions": sessions,
    "start": start,
    "essay": essay.slug,
}}))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _request(url, *, method="GET", data=None, headers=None) -> int:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def sqlite_server(tmp_path):
    """The site in gunicorn (2 workers x 4 threads) on a fresh SQLite file, set up with a
    group, 4 members with API tokens, an invitation link and 20 signed-in people."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'commonplace.sqlite3'}",
        "DEBUG": "false",
        "HTTPS": "false",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "commonplace.settings",
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    run = {"cwd": BASE_DIR, "env": env, "capture_output": True, "text": True, "timeout": 120}
    migrated = subprocess.run([*manage, "migrate", "--noinput"], **run)
    assert migrated.returncode == 0, migrated.stderr
    script = SETUP.format(writers=WRITERS, joiners=JOINERS, quote=QUOTE)
    made = subprocess.run([*manage, "shell", "-c", script], **run)
    assert made.returncode == 0, made.stderr
    world = json.loads(made.stdout.strip().splitlines()[-1])
    port = _free_port()
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "commonplace.wsgi"),
            *("--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"),
            *("--worker-class", "gthread", "--timeout", "60"),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    world["url"] = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while _request_quietly(world["url"] + "/healthz") != 200:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield world
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def _request_quietly(url) -> int | None:
    try:
        return _request(url)
    except OSError:
        return None


def test_the_sqlite_default_takes_a_groups_concurrent_writes_and_joins(sqlite_server, tmp_path):
    world = sqlite_server
    container = world["url"] + world["container"]
    source = f"{world['url']}/readings/{world['essay']}/"
    statuses: list[tuple[str, int]] = []
    barrier = threading.Barrier(WRITERS + JOINERS)

    def write(token):
        barrier.wait(timeout=30)
        for n in range(POSTS_PER_WRITER):
            body = {
                "type": "Annotation",
                "motivation": "commenting",
                "bodyValue": f"Note {n}.",
                "target": {
                    "source": source,
                    "selector": {
                        "type": "TextPositionSelector",
                        "start": world["start"],
                        "end": world["start"] + len(QUOTE),
                    },
                },
            }
            status = _request(
                container,
                method="POST",
                data=json.dumps(body).encode(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/ld+json",
                },
            )
            statuses.append(("post", status))
            if n % 5 == 0:  # readers too, as a group's pages would be
                reading = _request(container, headers={"Authorization": f"Bearer {token}"})
                statuses.append(("get", reading))

    def join(session):
        """Open the link (its token is remembered in the session, then forgotten by the
        address), then press Join on the token-free page: two requests, both redirects."""
        csrf = secrets.token_hex(16)  # a 32-character secret, sent as cookie and header
        headers = {
            "Cookie": f"sessionid={session}; csrftoken={csrf}",
            "X-CSRFToken": csrf,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        barrier.wait(timeout=30)
        for method, path, data in (
            ("GET", world["join"], None),
            ("POST", "/invitation/", b"decision=accept"),
        ):
            status = _request(world["url"] + path, method=method, data=data, headers=headers)
            statuses.append(("join", status))

    started = time.monotonic()
    threads = [threading.Thread(target=write, args=(token,)) for token in world["tokens"]]
    threads += [threading.Thread(target=join, args=(session,)) for session in world["sessions"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    failed = [(kind, status) for kind, status in statuses if status >= 500]
    assert not failed, f"{len(failed)} of {len(statuses)} requests failed: {failed[:5]}"
    assert [s for k, s in statuses if k == "post"] == [201] * (WRITERS * POSTS_PER_WRITER)
    assert [s for k, s in statuses if k == "join"] == [302] * (2 * JOINERS)
    assert time.monotonic() - started < 60
    token = world["tokens"][0]
    total = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(container, headers={"Authorization": f"Bearer {token}"})
        ).read()
    )["total"]
    assert total == WRITERS * POSTS_PER_WRITER
    with sqlite3.connect(tmp_path / "commonplace.sqlite3") as db:
        (members,) = db.execute("SELECT count(*) FROM groups_membership").fetchone()
    assert members == 1 + WRITERS + JOINERS  # the host, the writers, every joiner
