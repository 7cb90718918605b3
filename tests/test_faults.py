"""The database goes away under load, and comes back (issue 13, "Faults and load").

A PostgreSQL cluster of this test's own (initdb into a temporary directory, a free port: never
the shared server) holds a migrated database with a group of writers; the app runs as
production runs it (gunicorn, 2 sync workers, DEBUG off) on a free port of 127.0.0.1. Then:

1. WRITERS client threads write through the W3C API (a comment, then a reply to it, over and
   over) for the whole run;
2. after UP_BEFORE seconds the cluster is stopped (`pg_ctl stop -m fast`, which ends every
   connection); while it is down, a signed-in page answers 503 with the friendly page, the
   API 503 with JSON, `/healthz` 503, and no answer anywhere is a 500 or a traceback;
3. after DOWN seconds it is started again; the app answers `/healthz` 200 within RECOVERY
   seconds, with the same gunicorn workers (nothing restarted), and the writers' writes are
   taken again;
4. after UP_AFTER more seconds the writers stop, and every write that was answered 201 is in
   the database with the words it was sent with.

The figures (writes acknowledged, found, answered 503, recovery time) are printed for
SECURITY.md. The whole test takes about 30 s; the cluster and the server are stopped and
removed in the fixture's teardown, on failure too.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from tests.servers import (
    MIGRATE,
    Cluster,
    CollectStatic,
    Gunicorn,
    app_environment,
    postgres_tools_or_skip,
    request,
    shell,
    sql,
)

pytestmark = pytest.mark.fault

WRITERS = 4
UP_BEFORE = 4.0  # seconds of writing before the database is stopped
DOWN = 4.0  # seconds it stays down
RECOVERY = 10.0  # the app must answer /healthz within this long of its return
UP_AFTER = 4.0  # seconds of writing after the app has recovered
QUOTE = "The premise of socialism is simple: full democracy."

SETUP = """
import json
from django.test import Client
from accounts.models import User
from accounts.tokens import api_token_create
from demo.management.commands.seed_demo import ESSAY_PATH, ESSAY_SLUG
from groups.models import GroupReading, Membership
from groups.services import group_create
from readings.services import reading_import

essay = reading_import(data=ESSAY_PATH.read_bytes(), filename=ESSAY_PATH.name, slug=ESSAY_SLUG)
fran = User.objects.create_user(username="fran", email="fran@example.com", password=None)
group = group_create(name="Tuesday Reading Circle", created_by=fran)
GroupReading.objects.create(group=group, reading=essay, added_by=fran)
tokens = []
for n in range(%(writers)d):
    user = User.objects.create_user(
        username=f"writer{n}", email=f"writer{n}@example.com", password=None,
        display_name=f"Writer {n}",
    )
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    tokens.append(api_token_create(user=user, name="fault test")[1])
client = Client()
client.force_login(fran)
print("WORLD " + json.dumps({
    "group": group.slug, "essay": essay.slug, "tokens": tokens,
    "session": client.cookies["sessionid"].value,
}))
"""


@pytest.fixture
def stack(tmp_path):
    """The cluster, the migrated database with its writers, and the app in gunicorn."""
    bindir = postgres_tools_or_skip()
    cluster = Cluster(bindir)
    env = app_environment(cluster.url("commonplace_fault"), tmp_path / "static")
    static = CollectStatic(env)
    server = None
    pool = ThreadPoolExecutor(1)
    try:
        cluster.init()
        cluster.start()
        sql(cluster.url(), 'CREATE DATABASE "commonplace_fault"')
        # Migrated and filled while the static files are collected and the server starts.
        world = pool.submit(shell, env, MIGRATE + SETUP % {"writers": WRITERS})
        static.wait()
        server = Gunicorn(env, tmp_path / "gunicorn.log", workers=2).launch()
        world = world.result(timeout=180)
        server.wait_ready()
        yield cluster, server, world
    finally:
        pool.shutdown(wait=True)
        static.stop()
        if server is not None:
            server.stop()
        cluster.destroy()


@dataclass
class Write:
    kind: str  # "comment" or "reply"
    body: str
    status: int | None
    id: int | None = None
    parent: int | None = None
    when: float = 0.0


@dataclass
class Tally:
    writes: list[Write] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, write: Write, answer) -> None:
        with self.lock:
            self.writes.append(write)
            problem = _problem(answer, expect_json=True)
            if problem:
                self.problems.append(f"{write.kind} {write.body!r}: {problem}")


def _problem(answer, *, expect_json: bool) -> str:
    """What is wrong with an answer given while the database may be down ("" if nothing)."""
    if answer.status is None:
        return f"no answer ({answer.error})"
    if answer.status not in {200, 201, 503}:
        return f"{answer.status}: {answer.text[:300]}"
    if "Traceback" in answer.text or "OperationalError" in answer.text:
        return f"{answer.status} shows a traceback"
    if answer.status == 503:
        if answer.header("Retry-After") == "":
            return "503 without Retry-After"
        if expect_json:
            if not answer.header("Content-Type").startswith("application/json"):
                return f"503 as {answer.header('Content-Type')}, not JSON"
            if answer.json().get("status") != 503 or not answer.json().get("error"):
                return f"503 JSON without its message: {answer.text[:200]}"
    return ""


def writer(base: str, container: str, token: str, number: int, stop, tally: Tally) -> None:
    """Write a comment, then a reply to it, until told to stop."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/ld+json"}
    source = f"{base}/readings/what-is-socialism-from-below.txt"
    sequence = 0
    while not stop.is_set():
        sequence += 1
        body = f"Writer {number}, comment {sequence}: a point worth making."
        data = {
            "type": "Annotation",
            "motivation": "commenting",
            "body": {"type": "TextualBody", "value": body, "format": "text/markdown"},
            "target": {"source": source, "selector": {"type": "TextQuoteSelector", "exact": QUOTE}},
        }
        answer = request("POST", container, data=data, headers=headers)
        write = Write("comment", body, answer.status, when=time.monotonic())
        if answer.status == 201:
            write.id = int(answer.json()["id"].rstrip("/").rsplit("/", 1)[-1])
        tally.add(write, answer)
        if write.id is None:
            time.sleep(0.05)  # not spinning while the database is away
            continue
        reply = f"Writer {number}, reply {sequence}: agreed."
        data = {
            "type": "Annotation",
            "motivation": "replying",
            "body": {"type": "TextualBody", "value": reply, "format": "text/markdown"},
            "target": f"{container}{write.id}",
        }
        answer = request("POST", container, data=data, headers=headers)
        done = Write("reply", reply, answer.status, parent=write.id, when=time.monotonic())
        if answer.status == 201:
            done.id = int(answer.json()["id"].rstrip("/").rsplit("/", 1)[-1])
        tally.add(done, answer)


def wait_until(predicate, seconds: float, step: float = 0.1) -> float | None:
    """Seconds until `predicate()` held, or None if it did not within `seconds`."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if predicate():
            return time.monotonic() - began
        time.sleep(step)
    return None


def test_the_app_survives_its_database_stopping_under_load_and_loses_no_acknowledged_write(
    stack,
):
    cluster, server, world = stack
    base = server.url
    reading = f"{base}/groups/{world['group']}/readings/{world['essay']}/"
    container = reading + "annotations/"
    workers_before = server.worker_pids()
    assert len(workers_before) == 2

    tally = Tally()
    stop = threading.Event()
    threads = [
        threading.Thread(target=writer, args=(base, container, token, n, stop, tally), daemon=True)
        for n, token in enumerate(world["tokens"])
    ]
    for thread in threads:
        thread.start()
    try:
        time.sleep(UP_BEFORE)
        stopped_at = time.monotonic()
        cluster.stop("fast")  # every connection ended; new ones refused

        # While it is down: the page, the API and /healthz, from outside.
        down = {}
        cookie = {"Cookie": f"sessionid={world['session']}"}
        down["page"] = request("GET", reading, headers={**cookie, "Accept": "text/html"})
        down["api"] = request(
            "GET", container, headers={"Authorization": f"Bearer {world['tokens'][0]}"}
        )
        down["api_session"] = request("GET", container, headers={**cookie, "Accept": "*/*"})
        down["healthz"] = request("GET", base + "/healthz")
        time.sleep(max(0.0, DOWN - (time.monotonic() - stopped_at)))
        down["healthz_later"] = request("GET", base + "/healthz")

        cluster.start()
        started_at = time.monotonic()
        recovered = wait_until(
            lambda: request("GET", base + "/healthz", timeout=5).status == 200, RECOVERY
        )
        assert recovered is not None, f"no recovery within {RECOVERY} s:\n{server.log_text()}"
        time.sleep(UP_AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)

    # While it was down.
    page = down["page"]
    assert page.status == 503, page.text[:500]
    assert page.header("Content-Type").startswith("text/html")
    assert "Back in a moment" in page.text and "Traceback" not in page.text
    assert page.header("Retry-After")
    for name in ("api", "api_session"):
        assert _problem(down[name], expect_json=True) == "", name
        assert down[name].status == 503, (name, down[name].text[:300])
    for name in ("healthz", "healthz_later"):
        assert down[name].status == 503
        assert down[name].json()["status"] == "unavailable"

    # Every answer under load was a 201 or a JSON 503, none a 500, an HTML error or a hang.
    assert tally.problems == []
    acknowledged = [w for w in tally.writes if w.status == 201]
    refused = [w for w in tally.writes if w.status == 503]
    before = [w for w in acknowledged if w.when < stopped_at]
    after = [w for w in acknowledged if w.when > started_at + recovered]
    assert before and refused, "the load did not span the outage"
    assert len(after) >= WRITERS, "writes were not taken again after the database returned"
    # ... by every worker: none still refuses once the app answers again (a kept connection
    # that died with the old server is dropped, not reused).
    late = [w for w in refused if w.when > started_at + recovered + 1.0]
    assert late == [], f"{len(late)} writes refused after the recovery"
    # Recovered by itself: the same workers, no restart.
    assert server.worker_pids() == workers_before
    log = server.log_text()
    assert "Traceback" not in log and "Internal Server Error" not in log, log[-3000:]

    # Every acknowledged write is in the database, with its words (and a reply with its parent).
    rows = {
        pk: (body, parent)
        for pk, body, parent in sql(
            cluster.url("commonplace_fault"),
            "SELECT id, body, parent_id FROM annotations_annotation WHERE id = ANY(%s)",
            ([w.id for w in acknowledged],),
        )
    }
    missing = [w for w in acknowledged if w.id not in rows]
    changed = [w for w in acknowledged if w.id in rows and rows[w.id] != (w.body, w.parent)]
    assert missing == [] and changed == []

    print(
        f"\nfault test: {len(tally.writes)} writes sent by {WRITERS} writers; "
        f"{len(acknowledged)} acknowledged (201), {len(acknowledged) - len(missing)} found in "
        f"the database after the restart; {len(refused)} answered 503 (JSON) while it was down; "
        f"0 answered 500; healthz 200 again {recovered:.1f} s after PostgreSQL was back "
        f"(down {started_at - stopped_at:.1f} s), same gunicorn workers"
    )
