"""Two app servers on one PostgreSQL database (issue 13, "Faults and load").

The app runs as two gunicorn processes on two ports, sharing nothing but a database (a scratch
database on DATABASE_URL's server, copied from the migrated test database, dropped afterwards)
and its cache table, as any number of app servers behind a load balancer would:

- a session made by logging in on one server works on the other;
- a write through one is read through the other, the reading page's cached layer included,
  both ways;
- concurrent edits of one annotation through the two servers with the same If-Match: one wins,
  the other gets 412 (JSON), and the winner's words are what both servers show;
- `send_notifications` run for each server at the same moment (each with its own mail files)
  sends each email, and each digest, exactly once.
"""

import email
import re
import subprocess
import sys
import threading
from collections import Counter
from email import policy
from pathlib import Path

import pytest

from tests.servers import (
    MIGRATE,
    ROOT,
    CollectStatic,
    Gunicorn,
    ScratchDatabase,
    app_environment,
    postgres_url_or_skip,
    request,
    shell,
    sql,
)

pytestmark = pytest.mark.fault

PASSWORD = "two-servers-password-1"
QUOTE = "The premise of socialism is simple: full democracy."
REPLIES = 8  # replies each way in the setup: each is an email to the other person
RACE_ROUNDS = 3

SETUP = """
import json
from datetime import timedelta
from django.utils import timezone
from accounts.models import User
from accounts.tokens import api_token_create
from annotations import services
from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
from groups.models import GroupReading, Membership
from groups.services import group_create
from notifications.models import Email, Notification
from readings.models import Reading
from readings.services import reading_import

essay = (
    Reading.objects.filter(slug=ESSAY_SLUG).first()
    or reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)
)
people = {
    name: User.objects.create_user(
        username=name, email=f"{name}@example.com", password=%(password)r, display_name=display
    )
    for name, display in [
        ("fran", "Fran Facilitator"), ("maria", "Maria Member"), ("noor", "Noor Member")
    ]
}
group = group_create(name="Two Server Circle", created_by=people["fran"])
for name in ("maria", "noor"):
    Membership.objects.create(group=group, user=people[name], role=Membership.Role.MEMBER)
GroupReading.objects.create(group=group, reading=essay, added_by=people["fran"])
text = essay.canonical_text()
start = text.index(%(quote)r)
end = start + len(%(quote)r)
roots = {
    name: services.annotation_create(
        group=group, reading=essay, author=people[name], motivation="commenting",
        body=f"{name} opens a thread.", start=start, end=end,
    )
    for name in ("maria", "noor")
}
for n in range(%(replies)d):
    for author, other in (("noor", "maria"), ("maria", "noor")):
        services.annotation_create(
            group=group, reading=essay, author=people[author], motivation="replying",
            body=f"{author} answers {other}, reply {n}.", parent=roots[other],
        )
# A few of each person's notifications wait for their daily digest, due since yesterday.
for name in ("maria", "noor"):
    waiting = Notification.objects.filter(recipient=people[name], email=Email.QUEUED)
    ids = list(waiting.order_by("pk").values_list("pk", flat=True)[:3])
    Notification.objects.filter(pk__in=ids).update(
        email=Email.DIGEST, created_at=timezone.now() - timedelta(days=2)
    )
print("WORLD " + json.dumps({
    "group": group.slug, "essay": essay.slug,
    "tokens": {name: api_token_create(user=people[name], name="two servers")[1]
               for name in ("maria", "noor")},
    "roots": {name: root.pk for name, root in roots.items()},
}))
"""


@pytest.fixture
def two_servers(tmp_path):
    """Servers A and B (gunicorn, one worker each) on one scratch database."""
    server_url = postgres_url_or_skip()
    # An empty database that the setup migrates (a copy of the migrated test database took
    # longer: 5 s to copy, and `migrate` then spent as long finding nothing to do; and when
    # `-k` leaves no test that asks for the database, pytest-django makes none to copy).
    database = ScratchDatabase(server_url, "two_servers")
    env = app_environment(database.url, tmp_path / "static")
    static = CollectStatic(env)
    servers = []
    try:
        world = shell(
            env, MIGRATE + SETUP % {"password": PASSWORD, "quote": QUOTE, "replies": REPLIES}
        )
        static.wait()
        for name in ("a", "b"):
            servers.append(Gunicorn(env, tmp_path / f"gunicorn-{name}.log", workers=1))
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_ready()
        yield {"a": servers[0], "b": servers[1], "env": env, "database": database, **world}
    finally:
        static.stop()
        for server in servers:
            server.stop()
        database.drop()


def paths(world) -> dict[str, str]:
    reading = f"/groups/{world['group']}/readings/{world['essay']}/"
    return {
        "group": f"/groups/{world['group']}/",
        "reading": reading,
        "layer": reading + "layer.json",
        "container": reading + "annotations/",
    }


def log_in(base: str, username: str) -> str:
    """Log in through the form on the server at `base`; the session cookie's value."""
    form = request("GET", f"{base}/accounts/login/")
    csrf = form.cookie("csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = request(
        "POST",
        f"{base}/accounts/login/",
        data=f"login={username}&password={PASSWORD}&csrfmiddlewaretoken={token}".encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={csrf}",
        },
    )
    assert answer.status == 302, answer.text[:500]
    session = answer.cookie("sessionid")
    assert session, answer.headers
    return session


def api(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/ld+json"}


def comment(body: str) -> dict:
    return {
        "type": "Annotation",
        "motivation": "commenting",
        "body": {"type": "TextualBody", "value": body, "format": "text/markdown"},
        "target": {"source": "/readings/what-is-socialism-from-below.txt",
                   "selector": {"type": "TextQuoteSelector", "exact": QUOTE}},
    }  # fmt: skip


def layer_rows(base: str, path: str, session: str) -> dict[int, list]:
    answer = request("GET", base + path, headers={"Cookie": f"sessionid={session}"})
    assert answer.status == 200, answer.text[:300]
    return {row[0]: row for row in answer.json()["rows"]}


def body_of(answer) -> str:
    body = answer.json()["body"]
    return (body[0] if isinstance(body, list) else body)["value"]


def test_two_servers_share_sessions_writes_the_layer_cache_edits_and_email(two_servers):
    world = two_servers
    a, b = world["a"].url, world["b"].url
    where = paths(world)
    maria, noor = world["tokens"]["maria"], world["tokens"]["noor"]

    # A session made on A works on B (and B without it sends the visitor to log in).
    session = log_in(a, "maria")
    page = request("GET", b + where["group"], headers={"Cookie": f"sessionid={session}"})
    assert page.status == 200
    assert "Two Server Circle" in page.text and "Maria Member" in page.text
    assert request("GET", b + where["group"]).status == 302

    # A write through A is read through B, the cached layer included (B cached it first)...
    before = layer_rows(b, where["layer"], session)
    made = request(
        "POST", a + where["container"], data=comment("Written on A."), headers=api(maria)
    )
    assert made.status == 201, made.text[:500]
    item = made.json()["id"].split("/annotations/", 1)[1]
    new_id = int(item)
    assert new_id not in before and new_id in layer_rows(b, where["layer"], session)
    read = request("GET", f"{b}{where['container']}{item}", headers=api(maria))
    assert read.status == 200 and body_of(read) == "Written on A."

    # ... and a reply through B is counted on A's (cached) layer.
    reply = {
        "type": "Annotation",
        "motivation": "replying",
        "body": {"type": "TextualBody", "value": "Answered on B.", "format": "text/markdown"},
        "target": made.json()["id"],
    }
    assert request("POST", b + where["container"], data=reply, headers=api(noor)).status == 201
    assert layer_rows(a, where["layer"], session)[new_id][6] == 1  # reply_count
    thread = request(
        "GET",
        f"{a}{where['reading']}threads/{new_id}/",
        headers={"Cookie": f"sessionid={session}"},
    )
    assert thread.status == 200 and "Answered on B." in thread.text

    # Concurrent edits through A and B with the same If-Match: one wins, one gets 412.
    url = {name: f"{server}{where['container']}{item}" for name, server in (("a", a), ("b", b))}
    for round_ in range(RACE_ROUNDS):
        etag = request("GET", url["a"], headers=api(maria)).header("ETag")
        assert etag
        answers = {}
        barrier = threading.Barrier(2)

        def edit(name, etag=etag, round_=round_, answers=answers, barrier=barrier):
            data = comment(f"Edited through {name.upper()}, round {round_}.")
            del data["target"]
            barrier.wait(timeout=10)
            answers[name] = request(
                "PUT", url[name], data=data, headers={**api(maria), "If-Match": etag}
            )

        racers = [threading.Thread(target=edit, args=(name,)) for name in ("a", "b")]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=30)
        statuses = sorted(answer.status for answer in answers.values())
        assert statuses == [200, 412], {k: (v.status, v.text[:200]) for k, v in answers.items()}
        winner = next(name for name, answer in answers.items() if answer.status == 200)
        loser = answers["b" if winner == "a" else "a"]
        assert loser.header("Content-Type") == "application/json"
        assert loser.json()["status"] == 412 and "changed" in loser.json()["error"]
        for name in ("a", "b"):
            now = request("GET", url[name], headers=api(maria))
            assert body_of(now) == f"Edited through {winner.upper()}, round {round_}."

    # send_notifications on each server at the same moment: every email exactly once.
    queued, digests = _waiting(world["database"].url)
    assert queued >= REPLIES and digests == 2
    mail = Path(world["env"]["STATIC_ROOT"]).parent / "mail"
    mail.mkdir()
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "send_notifications"],
            cwd=ROOT,
            env={
                **world[name].env,
                "EMAIL_BACKEND": "tests.mail_race.RaceFileBackend",
                "RACE_MAIL_DIR": str(mail),
                "RACE_RUNNERS": "2",
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("a", "b")
    ]
    reports = []
    for run in runs:
        out, _ = run.communicate(timeout=90)
        assert run.returncode == 0, out
        reports.append(out)
    sent = [_figure(out, "sent") for out in reports]
    sent_digests = [_figure(out, "digests") for out in reports]
    assert len(list(mail.glob("arrived-*"))) == 2
    assert all(n > 0 for n in sent), f"the runs did not overlap: {reports}"
    assert sum(sent) == queued and sum(sent_digests) == digests, reports

    messages = _messages(mail)
    keys = Counter((m["To"], m["Subject"], _text(m)) for m in messages)
    assert len(messages) == queued + digests
    assert [key for key, count in keys.items() if count > 1] == []
    assert _waiting(world["database"].url) == (0, 0)
    print(
        f"\ntwo servers: {queued} emails and {digests} digests, sent once each by two "
        f"concurrent runs ({sent[0]}+{sent[1]} emails, {sent_digests[0]}+{sent_digests[1]} "
        f"digests); {RACE_ROUNDS} If-Match races, one winner and one 412 each"
    )


def _waiting(url: str) -> tuple[int, int]:
    """(emails waiting to go now, people with a digest waiting)."""
    [(queued, digests)] = sql(
        url,
        "SELECT count(*) FILTER (WHERE email = 'queued' AND email_after <= now()),"
        " count(DISTINCT recipient_id) FILTER (WHERE email = 'digest')"
        " FROM notifications_notification",
    )
    return queued, digests


def _figure(report: str, name: str) -> int:
    found = re.search(rf"(\d+) {name}", report)
    assert found, report
    return int(found.group(1))


def _messages(directory: Path) -> list:
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in directory.glob("*.log"):
        for chunk in path.read_bytes().split(separator):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk, policy=policy.default))
    return messages


def _text(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""
