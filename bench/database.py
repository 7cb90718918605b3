"""The benchmark's database: a throwaway PostgreSQL database, or nothing.

The URL comes from --database-url, else BENCH_DATABASE_URL, else DATABASE_URL, else
DEFAULT_URL. Whatever it names must be PostgreSQL and its database name must contain
"bench": any other is refused before a connection is made, because a run drops and
rebuilds the database whenever the data set it holds is not the one asked for. A scale
other than 1 uses its own database beside it (see `for_scale`).

A run holds a PostgreSQL advisory lock (LOCK_KEY) on the database for its whole length, so
two runs never build or measure over each other. The data set a database holds is named by
one row of the `bench_dataset` table (MARKER_TABLE): its generator version, seed and scale.
"""

import json
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

import psycopg2
from psycopg2 import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/commonplace_bench"
REQUIRED_IN_NAME = "bench"
MARKER_TABLE = "bench_dataset"
# Any fixed 64-bit number: pg_try_advisory_lock's key for "a benchmark run is using this".
LOCK_KEY = 0x0C0_77_0BE4C


class Refused(SystemExit):
    """A database the benchmark will not touch; the message says why."""


def choose_url(explicit: str | None, environ) -> str:
    url = explicit or environ.get("BENCH_DATABASE_URL") or environ.get("DATABASE_URL")
    url = url or DEFAULT_URL
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise Refused(f"bench: {url!r} is not PostgreSQL; the benchmark runs on PostgreSQL only.")
    name = database_name(url)
    if REQUIRED_IN_NAME not in name:
        raise Refused(
            f"bench: refusing database {name!r}: a benchmark drops and rebuilds its database, "
            f"so its name must contain {REQUIRED_IN_NAME!r}. Set BENCH_DATABASE_URL (default "
            f"{DEFAULT_URL})."
        )
    return url


def for_scale(url: str, scale: float) -> str:
    """Each scale keeps its own database (`…_scale10`, `…_scale0_1`; scale 1 the name as
    given), so moving between --quick, the default and --scale 10 rebuilds nothing."""
    if scale == 1:
        return url
    parsed = urlparse(url)
    suffix = f"_scale{scale:g}".replace(".", "_")
    return parsed._replace(path=parsed.path + suffix).geturl()


def database_name(url: str) -> str:
    return unquote(urlparse(url).path.lstrip("/"))


@contextmanager
def _cursor(url: str, dbname: str | None = None):
    connection = _connect(url, dbname)
    try:
        with connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def _connect(url: str, dbname: str | None = None):
    parsed = urlparse(url)
    connection = psycopg2.connect(
        dbname=dbname or database_name(url),
        user=unquote(parsed.username or "") or None,
        password=unquote(parsed.password or "") or None,
        host=parsed.hostname or None,
        port=parsed.port or None,
    )
    connection.autocommit = True
    return connection


def ensure_exists(url: str) -> bool:
    """Create the database when missing; True when it was created."""
    name = database_name(url)
    with _cursor(url, "postgres") as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone():
            return False
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def recreate(url: str) -> None:
    """Drop and create the database again (its name was checked by choose_url)."""
    name = database_name(url)
    assert REQUIRED_IN_NAME in name, name
    connection = _connect(url, "postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


@contextmanager
def exclusive(url: str):
    """Hold the benchmark's advisory lock on the database, or refuse: another run has it."""
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                raise Refused(
                    f"bench: another benchmark run is using {database_name(url)!r}; "
                    "wait for it to finish."
                )
        yield
    finally:
        connection.close()  # the lock goes with the session


def marker(url: str) -> dict | None:
    """What the database holds, as the last completed build wrote it; None if unknown."""
    with _cursor(url) as cursor:
        cursor.execute("SELECT to_regclass(%s)", [MARKER_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT value FROM {MARKER_TABLE} WHERE key = 'dataset'")
        row = cursor.fetchone()
        return row[0] if row else None


def write_marker(url: str, value: dict) -> None:
    with _cursor(url) as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (key text PRIMARY KEY, value jsonb)"
        )
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (key, value) VALUES ('dataset', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [json.dumps(value)],
        )


def vacuum_analyze(url: str) -> None:
    """Fresh statistics and a visibility map, as a settled production database has."""
    connection = _connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
    finally:
        connection.close()


def server_version(url: str) -> str:
    with _cursor(url) as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]
