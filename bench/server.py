"""The server under test, as production runs it: collectstatic into the run's own
STATIC_ROOT (WhiteNoise, hashed and compressed), then gunicorn with WORKERS sync workers,
DEBUG off, plain HTTP, on a free port of 127.0.0.1. Started and stopped by the run.

It runs a snapshot of the working tree taken when the run starts (`snapshot`): the tree is
shared with people changing the app, and a run (or two scales compared) must measure one
version of the code throughout.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

WORKERS = 2
START_TIMEOUT = 30  # seconds for gunicorn to answer /healthz
ROOT = Path(__file__).resolve().parent.parent


SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "staticfiles", "test-artifacts", "__pycache__", "*.sqlite3*", ".*_cache",
    "results", "*.egg-info", "node_modules",
)  # fmt: skip


def snapshot(dest: Path) -> Path:
    """Copy the working tree as it is now (committed or not) to `dest`."""
    shutil.copytree(ROOT, dest, ignore=SNAPSHOT_IGNORE, symlinks=True)
    return dest


def environment(
    *, code: Path, database_url: str, static_root: str, secret_key: str, port: int
) -> dict:
    """The environment of the server and of the run's own Django (the same settings)."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "BENCH_STATIC_ROOT": static_root,
            "DATABASE_URL": database_url,
            "DEBUG": "false",
            "HTTPS": "false",
            "SECRET_KEY": secret_key,
            # testserver: the run's in-process test client (query counts) uses the settings too.
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ACCOUNT_EMAIL_VERIFICATION": "optional",
            "LOG_LEVEL": "WARNING",
            # A benchmark writes far faster than any person: the rate limits would answer 429.
            "COMMONPLACE_RATE_LIMITS": "off",
            "PYTHONPATH": str(code),
        }
    )
    return env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collectstatic(env: dict) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=env["PYTHONPATH"],
        env=env,
        check=True,
    )
    return time.perf_counter() - began


class Gunicorn:
    def __init__(self, env: dict, port: int, log_path: Path):
        self.env = env
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{port}"

    def __enter__(self) -> "Gunicorn":
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed in __exit__)
        self.process = subprocess.Popen(
            [
                str(gunicorn),
                "commonplace.wsgi",
                "--workers",
                str(WORKERS),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--error-logfile",
                "-",
            ],
            cwd=self.env["PYTHONPATH"],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: gunicorn exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise SystemExit(f"bench: gunicorn did not answer in time; see {self.log_path}")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def workers(self) -> list[int]:
        """The worker processes' ids (the master's children), from /proc."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def worker_rss_kib(self) -> list[int]:
        sizes = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]))
        return sizes
