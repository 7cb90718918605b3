"""Settings read from the environment, the production checks, and /healthz."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection

from commonplace.env import SQLITE_OPTIONS, database_from_url, env_bool, env_int, env_list

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# --- /healthz --------------------------------------------------------------------------------


def test_healthz_answers_200_with_json_and_the_database_vendor(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok", "database": connection.vendor}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_needs_no_login_and_does_not_redirect(client, db):
    response = client.get("/healthz", follow=False)

    assert response.status_code == 200


class BrokenConnection:
    vendor = "broken"

    def cursor(self):
        raise OperationalError("could not connect to server: Connection refused")


def test_healthz_answers_503_when_the_database_is_unreachable(client, db, monkeypatch):
    monkeypatch.setattr("commonplace.views.connection", BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert json.loads(response.content) == {"status": "unavailable", "database": "unreachable"}


def test_healthz_answers_503_when_the_query_fails(client, db, monkeypatch):
    class FailingCursor:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, sql, params=None):
            raise OperationalError("server closed the connection unexpectedly")

    class HalfBrokenConnection:
        vendor = "half-broken"

        def cursor(self):
            return FailingCursor()

    monkeypatch.setattr("commonplace.views.connection", HalfBrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503


def test_healthz_rejects_post(client, db):
    assert client.post("/healthz").status_code == 405


# --- DATABASE_URL ----------------------------------------------------------------------------


def test_no_database_url_means_the_sqlite_file_in_the_project(tmp_path):
    assert database_from_url("", tmp_path) == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": tmp_path / "db.sqlite3",
        "OPTIONS": SQLITE_OPTIONS,
    }


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("sqlite:///relative/db.sqlite3", "relative/db.sqlite3"),
        ("sqlite:///:memory:", ":memory:"),
    ],
    ids=["relative", "memory"],
)
def test_it_parses_a_sqlite_url(tmp_path, url, name):
    assert database_from_url(url, tmp_path) == {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": SQLITE_OPTIONS,
    }


def test_it_parses_an_absolute_sqlite_path(tmp_path):
    config = database_from_url("sqlite:////var/lib/commonplace/db.sqlite3", tmp_path)

    assert config["NAME"] == "/var/lib/commonplace/db.sqlite3"


def test_it_parses_a_postgres_url_with_user_password_host_port_and_name(tmp_path):
    config = database_from_url("postgres://reader:s3cret@db.example.org:6543/commonplace", tmp_path)

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["USER"] == "reader"
    assert config["PASSWORD"] == "s3cret"
    assert config["HOST"] == "db.example.org"
    assert config["PORT"] == "6543"
    assert config["NAME"] == "commonplace"
    assert config["OPTIONS"] == {"options": "-c jit=off", "connect_timeout": "5"}


def test_it_unquotes_postgres_credentials_and_keeps_query_options(tmp_path):
    config = database_from_url(
        "postgresql://us%40er:p%40ss%2Fw%3Ard@127.0.0.1/my%20db?sslmode=require", tmp_path
    )

    assert config["USER"] == "us@er"
    assert config["PASSWORD"] == "p@ss/w:rd"
    assert config["HOST"] == "127.0.0.1"
    assert config["PORT"] == ""
    assert config["NAME"] == "my db"
    assert config["OPTIONS"] == {
        "sslmode": "require",
        "options": "-c jit=off",
        "connect_timeout": "5",
    }


def test_a_postgres_url_may_set_its_own_connect_timeout(tmp_path):
    # An unreachable database answers 503 after connect_timeout seconds, not minutes later.
    config = database_from_url("postgres://db.example.org/commonplace?connect_timeout=2", tmp_path)

    assert config["OPTIONS"]["connect_timeout"] == "2"


def test_a_postgres_url_without_credentials(tmp_path):
    config = database_from_url("postgres://postgres@127.0.0.1:5432/commonplace", tmp_path)

    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"]) == (
        "postgres",
        "",
        "127.0.0.1",
        "5432",
    )


@pytest.mark.parametrize(
    "url",
    ["mysql://user:pw@host/db", "oracle://x/y", "http://example.org/db", "db.sqlite3"],
)
def test_it_rejects_other_schemes(tmp_path, url):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL scheme"):
        database_from_url(url, tmp_path)


# --- the small env readers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("1", True), ("YES", True), (" on ", True), ("false", False), ("0", False)],
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, value):
    monkeypatch.setenv("COMMONPLACE_TEST_FLAG", raw)

    assert env_bool("COMMONPLACE_TEST_FLAG") is value


def test_env_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("COMMONPLACE_TEST_FLAG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="must be true or false"):
        env_bool("COMMONPLACE_TEST_FLAG")


def test_env_int_and_env_list(monkeypatch):
    monkeypatch.setenv("COMMONPLACE_TEST_INT", "42")
    monkeypatch.setenv("COMMONPLACE_TEST_LIST", " a.example.org, ,b.example.org ")

    assert env_int("COMMONPLACE_TEST_INT", 1) == 42
    assert env_list("COMMONPLACE_TEST_LIST") == ["a.example.org", "b.example.org"]
    monkeypatch.setenv("COMMONPLACE_TEST_INT", "forty-two")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("COMMONPLACE_TEST_INT", 1)


# --- production settings, in a fresh interpreter ----------------------------------------------


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "DJANGO_SETTINGS_MODULE",
            "SECURE_HSTS_PRELOAD",
            "SECURE_SSL_REDIRECT",
            "SECURE_HSTS_SECONDS",
            "CSRF_TRUSTED_ORIGINS",
            "DJANGO_ALLOW_ASYNC_UNSAFE",  # conftest sets it for Playwright; never in production
        }
    }
    env.update(
        DEBUG="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy-check.sqlite3'}",
        DJANGO_SETTINGS_MODULE="commonplace.settings",
    )
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_settings_refuse_the_default_secret_key_with_debug_off(tmp_path):
    result = run(["-c", "import commonplace.settings"], production_env(tmp_path))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set to a long random value when DEBUG is off" in result.stderr


def test_settings_refuse_a_short_secret_key_with_debug_off(tmp_path):
    result = run(
        ["-c", "import commonplace.settings"], production_env(tmp_path, SECRET_KEY="too-short")
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_settings_accept_the_default_secret_key_while_developing(tmp_path):
    env = production_env(tmp_path)
    env["DEBUG"] = "true"

    result = run(["-c", "import commonplace.settings as s; print(s.DEBUG)"], env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def deploy_env(tmp_path, **extra: str) -> dict[str, str]:
    return production_env(
        tmp_path,
        SECRET_KEY=secrets.token_urlsafe(64)[:64],
        ALLOWED_HOSTS="commonplace.example.org",
        **extra,
    )


def test_check_deploy_passes_at_the_default_fail_level(tmp_path):
    result = run(["manage.py", "check", "--deploy"], deploy_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert "ERRORS" not in result.stderr


def test_check_deploy_passes_with_warnings_as_failures(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], deploy_env(tmp_path)
    )

    assert result.returncode == 0, result.stderr


def test_check_deploy_with_hsts_preload_has_no_warnings_at_all(tmp_path):
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        deploy_env(tmp_path, SECURE_HSTS_PRELOAD="true"),
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_turn_on_the_https_protections(tmp_path):
    script = (
        "import json, commonplace.settings as s; print(json.dumps({"
        "'ssl': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'session': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
        "'hosts': s.ALLOWED_HOSTS, 'verify': s.ACCOUNT_EMAIL_VERIFICATION}))"
    )

    result = run(["-c", script], deploy_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ssl": True,
        "hsts": 31536000,
        "session": True,
        "csrf": True,
        "hosts": ["commonplace.example.org"],
        "verify": "mandatory",
    }
