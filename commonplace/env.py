"""Tiny typed readers for settings that come from the environment."""

import os
import re
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


# SQLite, set up for a small group writing at once (several server threads or workers):
# - WAL lets readers go on while one writer writes, and synchronous=NORMAL is safe with it;
# - a writer waits up to `timeout` seconds for the lock instead of failing "database is
#   locked" at once;
# - transactions begin IMMEDIATE, taking the write lock up front: a deferred transaction that
#   reads and then writes cannot wait for the lock (SQLite fails it at once to avoid a
#   deadlock), and those failures were most of the 500s under concurrent writes.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
}


def _sqlite(path) -> dict:
    return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": dict(SQLITE_OPTIONS)}


# Seconds to wait for PostgreSQL to accept a connection (see database_from_url).
CONNECT_TIMEOUT = 5


def database_from_url(url: str, base_dir) -> dict:
    """Turn DATABASE_URL into a DATABASES entry: sqlite:///path or postgres://user@host:port/name."""
    if not url:
        return _sqlite(base_dir / "db.sqlite3")
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # sqlite:///relative/path.db and sqlite:////absolute/path.db, as in dj-database-url.
        path = unquote(parsed.path)
        path = path[1:] if path.startswith("/") else path
        return _sqlite(path or base_dir / "db.sqlite3")
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        options = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        # Our queries are small and many: JIT compiling them costs more than it saves (15-28
        # ms a query at a million rows, measured by make bench). ?options=... overrides it.
        options.setdefault("options", "-c jit=off")
        # A database that does not answer (a network cut, a host down) must not hold a worker
        # until TCP gives up, minutes later: after this many seconds the request answers 503
        # (commonplace/outage.py). ?connect_timeout=... overrides it.
        options.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(f"DATABASE_URL scheme {parsed.scheme!r} is not supported")


CACHE_TABLE = "commonplace_cache"


def cache_from_url(url: str) -> dict:
    """Turn CACHE_URL into a CACHES entry. Empty: the database cache table (shared by every
    app server, created by a migration); redis://host:port/db: Redis (needs the `redis`
    package); locmem://: one process's memory (tests of a single process only)."""
    if not url:
        return {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": CACHE_TABLE,
            "TIMEOUT": 24 * 60 * 60,
            "OPTIONS": {"MAX_ENTRIES": 20_000, "CULL_FREQUENCY": 4},
        }
    scheme = urlparse(url).scheme
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(f"CACHE_URL scheme {scheme!r} is not supported")


# Rate limits (commonplace/ratelimits.py). A door's limit is "<count>/<period>", the period a
# number of seconds, minutes, hours or days ("60/m", "5/10m", "30/h"), as django-ratelimit
# reads it; allauth's are a comma-separated list of "<count>/<period>/<ip|user|key>". "off"
# turns one limit off.
RATE = r"[0-9]+/[0-9]*[smhd]"
ACCOUNT_RATE = rf"{RATE}/(ip|user|key)(,\s*{RATE}/(ip|user|key))*"


def env_rate_limits(prefix: str, defaults: dict[str, str | None], pattern: str) -> dict:
    """`defaults` with each limit overridden by <prefix><NAME> when set: NAME is the limit's
    name in capitals ("annotate" -> COMMONPLACE_RATE_LIMIT_ANNOTATE). "off" makes it None."""
    limits = dict(defaults)
    for name in defaults:
        variable = prefix + name.upper()
        raw = os.environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        value = raw.strip()
        if value.lower() == "off":
            limits[name] = None
        elif re.fullmatch(pattern, value):
            limits[name] = value
        else:
            example = "30/m" if pattern == RATE else "10/m/ip,5/5m/key"
            raise ImproperlyConfigured(
                f"{variable} must be a rate like {example}, or off, not {raw!r}"
            )
    return limits


def env_unknown_names(prefix: str, known) -> None:
    """Refuse a <prefix><NAME> variable naming no limit (a typo would silently change nothing)."""
    names = {prefix + name.upper() for name in known}
    for variable in sorted(os.environ):
        if variable.startswith(prefix) and variable not in names:
            raise ImproperlyConfigured(
                f"{variable} names no rate limit; the limits are: "
                + ", ".join(sorted(n.removeprefix(prefix) for n in names))
            )
