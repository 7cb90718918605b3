"""Backups (issue 13): a database with the demo in it is dumped with `pg_dump` and restored with
`pg_restore` into a scratch database, with exactly the commands the README gives, and the app
works on the copy: every table holds the same rows, `migrate --check` finds nothing to do,
pages and search answer, and new writes go on from where the ids left off.

PostgreSQL only (DATABASE_URL names the server, as in CI); both databases are scratch ones with
random names, dropped afterwards.
"""

import shutil
import subprocess

import pytest
from django.db import connection

from tests.servers import (
    MIGRATE,
    ScratchDatabase,
    app_environment,
    postgres_bindir,
    postgres_url_or_skip,
    shell,
    sql,
    unavailable,
)

pytestmark = pytest.mark.fault

SEED = MIGRATE + "call_command('seed_demo', force=True, verbosity=0)\nprint('WORLD {}')\n"

# On the restored copy: what a deploy checks, then the app used as a reader would use it.
CHECK = """
import json
from django.core.management import call_command
from django.test import Client
from annotations import services
from annotations.models import Annotation
from groups.models import GroupReading, Membership

call_command("migrate", check_unapplied=True, verbosity=0)  # `migrate --check`: exits 1 if not
group_reading = GroupReading.objects.select_related("group", "reading").order_by("pk").first()
group, reading = group_reading.group, group_reading.reading
facilitator = Membership.objects.filter(group=group, role="facilitator").first().user
client = Client()
client.force_login(facilitator)
page = client.get(f"/groups/{group.slug}/readings/{reading.slug}/")
layer = client.get(f"/groups/{group.slug}/readings/{reading.slug}/layer.json")
shown = Annotation.objects.filter(
    group=group, reading=reading, parent=None, visibility="group", deleted_at=None,
    hidden_at=None, start__isnull=False,
).order_by("pk").first()
text = reading.canonical_text()
made = services.annotation_create(
    group=group, reading=reading, author=facilitator, motivation="commenting",
    body="Restored and writing again: zanzibarite.", start=0, end=min(20, len(text)),
)
found = client.get(f"/groups/{group.slug}/search/", {"q": "zanzibarite"})
print("WORLD " + json.dumps({
    "page": page.status_code,
    # the page's highlights come from its layer: a note the group can see is among its rows
    "page_shows_a_note": layer.status_code == 200 and shown is not None
    and shown.pk in [row[0] for row in layer.json()["rows"]],
    "new_id": made.pk,
    "search": found.status_code,
    "search_finds_it": "zanzibarite" in found.content.decode(),
}))
"""


def tool(name: str) -> str:
    bindir = postgres_bindir()
    path = str(bindir / name) if bindir and (bindir / name).exists() else shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed: `apt-get install postgresql-client` (.ci/run does).")
    return path


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"


def table_counts(url: str) -> dict[str, int]:
    tables = [
        name
        for (name,) in sql(
            url,
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        )
    ]
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    return dict(sql(url, query))


@pytest.fixture
def source(django_db_setup, django_db_blocker):
    """A scratch database (a copy of the migrated test database) with the demo seeded."""
    server = postgres_url_or_skip()
    with django_db_blocker.unblock():
        template = connection.settings_dict["NAME"]
        connection.close()  # a template may have no other connection while it is copied
    database = ScratchDatabase(server, "backup", template=template)
    try:
        yield server, database
    finally:
        database.drop()


def test_a_pg_dump_restored_into_a_scratch_database_is_a_working_copy(source, tmp_path):
    server, database = source
    pg_dump, pg_restore = tool("pg_dump"), tool("pg_restore")
    shell(app_environment(database.url, tmp_path / "static"), SEED)
    dump = tmp_path / "commonplace.dump"

    # The README's commands: dump, make an empty database, restore into it.
    run(pg_dump, "--format=custom", "--no-owner", f"--file={dump}", database.url)
    restored = ScratchDatabase(server, "restored")
    try:
        run(pg_restore, "--no-owner", "--exit-on-error", f"--dbname={restored.url}", str(dump))

        before, after = table_counts(database.url), table_counts(restored.url)
        assert after == before
        for table in (
            "accounts_user",
            "annotations_annotation",
            "groups_readinggroup",
            "notifications_notification",
            "meetings_meeting",
            "django_migrations",
        ):
            assert before.get(table, 0) > 0, f"the demo left {table} empty"  # fmt: skip
        bodies = "SELECT md5(string_agg(body, '|' ORDER BY id)) FROM annotations_annotation"
        assert sql(restored.url, bodies) == sql(database.url, bodies)

        # DEBUG on only so pages need no collected static files: this is about the data.
        env = app_environment(
            restored.url, tmp_path / "static", ALLOWED_HOSTS="testserver", DEBUG="true"
        )
        works = shell(env, CHECK)
        assert works["page"] == 200 and works["page_shows_a_note"]
        [(highest,)] = sql(database.url, "SELECT max(id) FROM annotations_annotation")
        assert works["new_id"] > highest  # the sequences came back too
        assert works["search"] == 200 and works["search_finds_it"]  # and the search triggers
        print(
            f"\nbackup: {sum(before.values())} rows in {len(before)} tables dumped "
            f"({dump.stat().st_size // 1024} KiB) and restored identically"
        )
    finally:
        restored.drop()
