"""Real servers for the tests that need them: a PostgreSQL cluster of the test's own, a scratch
database on an existing server, and the app in gunicorn as production runs it.

Used by test_faults.py (the database stopped under load), test_two_servers.py and
test_backup_restore.py. Everything is named and placed uniquely (free ports, temporary
directories, random database names), so these tests may run side by side, and everything
started here is stopped by whoever started it, on failure too.
"""

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- PostgreSQL ----------------------------------------------------------------------------------


def unavailable(reason: str):
    """Skip a test whose tools are missing here; in CI (`CI` set, as .ci/run sets it), fail
    instead: CI must run these tests, not pass them by skipping."""
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries on this machine (Debian keeps them per version
    in /usr/lib/postgresql/<version>/bin), else the directory of an `initdb` on PATH."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", path.parent.parent.name))

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=version)
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def postgres_tools_or_skip() -> Path:
    """The binaries, or a skip that says how to get them."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        unavailable(
            "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
            "`apt-get install postgresql` (.ci/run does) to run this test."
        )
    return bindir


class Cluster:
    """A PostgreSQL cluster of the test's own: initdb into a temporary directory, served on a
    free port of 127.0.0.1 (never the shared 5432) with trust authentication, its socket in
    that directory. initdb refuses to run as root: as root it runs as the `postgres` user,
    who owns the directory."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.port = free_port()
        self.as_user: list[str] = []
        owner = None
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                unavailable("Running as root with no `postgres` user to run initdb as.")
            runuser = shutil.which("runuser") or shutil.which("sudo")
            if runuser is None:
                unavailable("Running as root with neither runuser nor sudo to run initdb.")
            self.as_user = (
                [runuser, "-u", "postgres", "--"]
                if runuser.endswith("runuser")
                else [runuser, "-u", "postgres"]
            )
        self.home = Path(tempfile.mkdtemp(prefix="commonplace-pg-"))
        if owner is not None:
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"
        self.running = False

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [*self.as_user, *args],
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(args[0]).name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{self.log_text()}"
            )
        return done

    def init(self) -> "Cluster":
        self._run(
            str(self.bindir / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8"),
            *("--locale=C", "--no-sync", "--no-instructions"),
        )
        return self

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 "
            "-c max_connections=40 -c shared_buffers=16MB"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            *("-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60"),
            "start",
        )
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )
        self.running = False

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def destroy(self) -> None:
        """Stop it (at once) if it runs, and remove its files."""
        try:
            if self.running or (self.data / "postmaster.pid").exists():
                self.stop("immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


def sql(url: str, statement: str, params=None) -> list[tuple]:
    """Run one statement on the database at `url` (autocommit); its rows, if any."""
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(
        dbname=parts.path.lstrip("/") or "postgres",
        user=parts.username or "postgres",
        password=parts.password or None,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        connect_timeout=10,
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


class ScratchDatabase:
    """A database of a test's own on the PostgreSQL server at `server_url`, with a random
    name saying what it is for; dropped (connections and all) by `drop`."""

    def __init__(self, server_url: str, purpose: str, *, template: str | None = None):
        """`template`: a database to copy (an already migrated one saves the migrations'
        time); if it cannot be copied just now (someone is connected to it), an empty one."""
        import psycopg2

        parts = urlsplit(server_url)
        self.name = f"commonplace_{purpose}_{secrets.token_hex(4)}"
        self.admin = urlunsplit(parts._replace(path="/postgres", query=""))
        self.url = urlunsplit(parts._replace(path=f"/{self.name}"))
        if template:
            try:
                sql(self.admin, f'CREATE DATABASE "{self.name}" TEMPLATE "{template}"')
                return
            except psycopg2.errors.ObjectInUse:
                pass  # made empty below; the caller's migrate fills it
        sql(self.admin, f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        sql(self.admin, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def postgres_url_or_skip() -> str:
    """DATABASE_URL when it names a PostgreSQL server (as in CI), else a skip."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        unavailable(
            "Needs PostgreSQL: set DATABASE_URL=postgres://… (CI does) to run it on a scratch "
            "database of that server."
        )
    return url


# --- the app ----------------------------------------------------------------------------------


def app_environment(database_url: str, static_root: Path, **extra: str) -> dict[str, str]:
    """The environment production gives the app (DEBUG off, a throwaway secret, the database
    cache table shared by every server), on plain HTTP at 127.0.0.1, with rate limits off
    (these tests make load on purpose)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "DJANGO_ALLOW", "CACHE_URL", "EMAIL_"))
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "commonplace.settings",
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "HTTPS": "false",
            "SECRET_KEY": "throwaway-" + secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "127.0.0.1",
            "ACCOUNT_EMAIL_VERIFICATION": "optional",
            "CACHE_URL": "",
            "COMMONPLACE_RATE_LIMITS": "off",
            "STATIC_ROOT": str(static_root),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


MIGRATE = "from django.core.management import call_command\ncall_command('migrate', verbosity=0)\n"


def shell(env: dict, script: str) -> dict:
    """Run `script` in `manage.py shell` (start it with MIGRATE to migrate first, in the same
    process); the JSON it prints on a line starting `WORLD `."""
    out = manage(env, "shell", "-c", script)
    line = next(line for line in out.splitlines() if line.startswith("WORLD "))
    return json.loads(line[len("WORLD ") :])


class Gunicorn:
    """The app in gunicorn (sync workers) on a free port, as `make run`'s production
    settings serve it; stopped (SIGQUIT, then SIGKILL) by `stop`."""

    def __init__(self, env: dict, log_path: Path, *, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**env, "SITE_URL": self.url}
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 40) -> "Gunicorn":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "Gunicorn":
        """Start it without waiting (several servers start side by side): then `wait_ready`."""
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "gunicorn", "commonplace.wsgi"),
                *("--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)),
                *("--worker-class", "sync", "--timeout", "30", "--graceful-timeout", "5"),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 40) -> "Gunicorn":
        deadline = time.monotonic() + timeout
        while request("GET", self.url + "/healthz", timeout=2).status != 200:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer in {timeout} s:\n{self.log_text()}")
            time.sleep(0.2)
        return self

    def worker_pids(self) -> set[int]:
        """The worker processes (the master's children): the same set before and after means
        no worker was restarted."""
        pid = self.process.pid
        try:
            return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
        except OSError:
            return set()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # gunicorn's quick shutdown
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()


class CollectStatic:
    """What a deploy does before serving with DEBUG off (hashed names for WhiteNoise), run in
    the background while the database is made: `wait()` before starting the server."""

    def __init__(self, env: dict):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self, timeout: float = 120) -> None:
        out, _ = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise RuntimeError(f"collectstatic failed:\n{out}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


# --- HTTP ---------------------------------------------------------------------------------------


class Answer:
    def __init__(self, status: int | None, headers, body: bytes, error: str = ""):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.error = error  # a connection that failed: no status

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""

    def cookie(self, name: str) -> str | None:
        """The value a Set-Cookie header of the answer gives `name`, if any."""
        for line in self.headers.get_all("Set-Cookie") or []:
            key, _, rest = line.partition("=")
            if key.strip() == name:
                return rest.split(";", 1)[0]
        return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def request(method: str, url: str, *, data=None, headers=None, timeout: float = 10) -> Answer:
    """One HTTP request, no redirects followed; an HTTP error is an answer like any other,
    a connection that fails is an Answer with no status."""
    body = None
    headers = dict(headers or {})
    if data is not None:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        headers.setdefault("Content-Type", "application/ld+json")
    prepared = urllib.request.Request(url, data=body, headers=headers, method=method)
    try:
        with _opener.open(prepared, timeout=timeout) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers, error.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
        return Answer(None, None, b"", error=f"{type(error).__name__}: {error}")
