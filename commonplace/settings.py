"""Commonplace settings: one file, everything that varies comes from the environment.

Production needs at least DEBUG=false, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL
(see README.md, "Deploying").
"""

from operator import attrgetter
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from commonplace.env import (
    ACCOUNT_RATE,
    RATE,
    cache_from_url,
    database_from_url,
    env_bool,
    env_int,
    env_list,
    env_rate_limits,
    env_str,
    env_unknown_names,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=True)
# Served over TLS? On by default with DEBUG off (secure cookies, HTTPS redirect, HSTS, https
# links in emails); `make run` turns it off to serve the production pages over plain HTTP
# on this machine.
HTTPS = env_bool("HTTPS", default=not DEBUG)

_DEV_SECRET_KEY = "django-insecure-commonplace-development-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value when DEBUG is off "
        "(python -c 'import secrets; print(secrets.token_urlsafe(64))')."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The name and host that emails speak of; they fill django.contrib.sites' record SITE_ID
# (accounts/migrations/0003_site_from_settings.py), which django-allauth reads.
SITE_NAME = env_str("SITE_NAME", "Commonplace")
SITE_DOMAIN = env_str("SITE_DOMAIN", urlsplit(SITE_URL).netloc)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "accounts",
    "readings",
    "groups",
    "assignments",
    "annotations",
    "progress",
    "meetings",
    "notifications",
    "imports",
    "search",
    "exports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Compresses pages and JSON on the wire (Django's BREACH mitigation pads each response);
    # static files come precompressed from WhiteNoise.
    "commonplace.middleware.CompressionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "commonplace.middleware.ContentSecurityPolicyMiddleware",
    # Input (issue 13): a request too large (413) or with a NUL in its query string (400) is
    # refused before the session and CSRF middleware or any view reads it.
    "commonplace.untrusted.RequestChecksMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Database outage (issue 13): a 503 page or JSON error with Retry-After instead of a 500
    # while the database is unreachable. Right after AuthenticationMiddleware: it loads the
    # session and the user itself, so their failure is answered too (commonplace/outage.py).
    "commonplace.outage.DatabaseUnavailableMiddleware",
    "commonplace.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "commonplace.urls"
WSGI_APPLICATION = "commonplace.wsgi.application"
ASGI_APPLICATION = "commonplace.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {% url %} answering from a memo of reverse() (commonplace/urltags.py).
            "builtins": ["commonplace.urltags"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"), BASE_DIR)}
# The statements every request runs first are PREPAREd once per PostgreSQL session
# (commonplace/compiled.py). Off behind a pooler in transaction mode, which moves a client's
# transactions between server sessions (PgBouncer's pool_mode=transaction).
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", default=True)
# Shared by every app server: the database's cache table by default, Redis through CACHE_URL.
CACHES = {"default": cache_from_url(env_str("CACHE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Django's and allauth's backends, reading the session's user through a query compiled once
# (accounts/backends.py); sessions that named the plain classes were moved by accounts/0004.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
# Django's database sessions, read through a query compiled once (commonplace/sessions.py).
SESSION_ENGINE = "commonplace.sessions"

# django-allauth: log in with username or email; verification is optional while
# developing and mandatory in production unless ACCOUNT_EMAIL_VERIFICATION says otherwise.
SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env_str(
    "ACCOUNT_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupExtraForm"
ACCOUNT_USER_DISPLAY = attrgetter("public_name")  # "Logged in as María Gómez."
ACCOUNT_ADAPTER = "groups.adapter.AccountAdapter"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where collectstatic writes and WhiteNoise serves from (issue 13: a deploy, or a test's own
# server, may put it elsewhere).
STATIC_ROOT = env_str("STATIC_ROOT") or BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "commonplace.storage.StaticStorage"
    },
}

# Email: console in development; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", default=False)
# A mail server that accepts a connection and never answers must not hang send_notifications.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Commonplace <noreply@commonplace.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security headers. HTTPS-only settings switch on with HTTPS (by default, with DEBUG off).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=False)
# Joining the browsers' HSTS preload list is a decision for whoever runs the site (it is hard
# to undo), so its deploy-check warning is silenced unless they opt in above.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# Behind a reverse proxy (BEHIND_PROXY=true), and only then, the proxy's headers are believed:
# X-Forwarded-Proto for HTTPS, and X-Forwarded-For for the client's address (rate limits,
# commonplace.ratelimits.client_address): PROXY_COUNT proxies each add one entry to it.
BEHIND_PROXY = env_bool("BEHIND_PROXY", default=False)
PROXY_COUNT = env_int("PROXY_COUNT", 1)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Rate limits: limits on every door (commonplace/ratelimits.py; README, "Rate limits") ---
# Counted in the default cache (shared by every app server), per account when signed in and per
# client address when signed out; a calendar feed or unsubscribe link is counted per link (it
# stands for its account, and calendar and mail services fetch many people's links from the
# same few addresses). Over a limit: 429 with Retry-After, JSON on the API, a page otherwise;
# nothing is written. COMMONPLACE_RATE_LIMIT_<NAME>=30/m changes one (or "off" for that one);
# COMMONPLACE_RATE_LIMITS=off turns every limit off, allauth's too: for benchmarks and load
# tests only, never in production.
RATE_LIMITS_ENABLED = env_bool("COMMONPLACE_RATE_LIMITS", default=True)
_RATE_LIMIT_PREFIX = "COMMONPLACE_RATE_LIMIT_"
RATE_LIMITS = env_rate_limits(
    _RATE_LIMIT_PREFIX,
    {
        "annotate": "60/m",  # new annotations and discussions: reading page, forms, API, prompts
        "reply": "60/m",  # replies: thread forms and the API
        "flag": "60/m",
        "plus_one": "60/m",
        "import": "30/h",  # annotation and reading imports (each upload and each confirmation)
        "export": "60/h",  # Markdown, CSV and JSON-LD downloads, the printable packet
        "invitation_link": "30/h",  # new invitation links, per facilitator
        "invitation_email": "20/h",  # invitation emails sent (each form of up to 50 addresses)
        "calendar_feed": "60/h",  # per feed: calendar apps refresh every 15 minutes or more
        "unsubscribe": "30/m",  # per link
        "link_guess": "30/m",  # per address: calendar and unsubscribe links that are not ours
        "api_token": "300/m",  # requests made with a personal API token
        "search": "60/m",
    },
    RATE,
)
# allauth's own limits (log-in, sign-up, passwords), in its notation: "/ip" per client
# address, "/user" per account, "/key" per what is typed (the email of a password reset; for
# failed log-ins the account AND the address, accounts.adapter: a stranger elsewhere cannot
# lock the owner out). After 5 failed log-ins for an account from one address that address
# waits 5 minutes (a 429 saying when to try again).
ACCOUNT_RATE_LIMITS = env_rate_limits(
    _RATE_LIMIT_PREFIX,
    {
        "login": "30/m/ip",
        "login_failed": "10/m/ip,5/5m/key",
        "signup": "20/m/ip,100/h/ip",
        "reset_password": "20/m/ip,5/h/key",  # key: the email address the reset goes to
        "reset_password_from_key": "20/m/ip",
        "change_password": "5/m/user",
        "manage_email": "10/m/user",
        "reauthenticate": "10/m/user",
    },
    ACCOUNT_RATE,
)
env_unknown_names(_RATE_LIMIT_PREFIX, RATE_LIMITS.keys() | ACCOUNT_RATE_LIMITS.keys())
if not RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False  # allauth: no limits at all
# django-ratelimit: the client address comes from the one function allauth uses too
# (accounts.adapter). DatabaseCache adds to a count by reading then writing it, so two requests
# at the same instant may count once: a burst can pass a limit by a few (Redis counts exactly).
# A cache that cannot count lets requests through rather than refusing everyone.
RATELIMIT_ENABLE = RATE_LIMITS_ENABLED
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "commonplace.ratelimits.client_address"
RATELIMIT_FAIL_OPEN = True
# --- end of rate limits ---

# Content-Security-Policy sent on every response (commonplace.middleware): no inline
# scripts or styles anywhere, everything comes from static/.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)

# --- Input limits (issue 13): what a client may send -----------------------------------------
# One place for them: the forms, the annotation API, the importers and the request checks
# (commonplace/untrusted.py) read these, and every refusal names the limit (413 for a request
# too large, 400 otherwise; JSON on the API, the site's page in a browser).
KIB, MIB = 1024, 1024 * 1024
# Readings: the importer refuses files (and pasted texts) larger than this many bytes, and
# bounds its work before doing it (readings/importer.py): lines in the file, paragraphs and
# headings (a long book in short paragraphs has a few thousand), and the characters of one
# paragraph or heading (inline Markdown costs more than linear time in a paragraph's length).
READING_IMPORT_MAX_BYTES = 2 * MIB
READING_IMPORT_MAX_LINES = 100_000
READING_IMPORT_MAX_BLOCKS = 5_000
READING_IMPORT_MAX_PARAGRAPH_CHARS = 20_000
# ...and in Markdown the characters that start inline markup (* _ [ ] ( ) ` < \ & !): ordinary
# prose has a few in a thousand; each may make the parser look through the rest of its paragraph.
READING_IMPORT_MAX_MARKUP = 100_000
# Annotation imports (imports/): the file, and how many annotations it may hold.
ANNOTATION_IMPORT_MAX_BYTES = 5 * MIB
ANNOTATION_IMPORT_MAX_ANNOTATIONS = 1000
# A whole request, uploaded files included, judged by its Content-Length before any of it is
# read: room for the largest upload (an annotation file) and the rest of its form.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES", 6 * MIB)
# Everything but uploaded files (form fields, any other body): room for a pasted reading and
# the rest of its form. Django's own limit; the request checks answer 413 past it.
DATA_UPLOAD_MAX_MEMORY_SIZE = READING_IMPORT_MAX_BYTES + 512 * KIB
# One annotation's JSON posted to the annotation API (a body of 10,000 characters, its tags
# and a long quote take well under this), and how deeply its JSON may nest.
API_BODY_MAX_BYTES = 1 * MIB
JSON_MAX_DEPTH = 32
# Annotations: the body's length, how many tags and how long each.
ANNOTATION_BODY_MAX_LENGTH = 10_000
ANNOTATION_MAX_TAGS = 10
TAG_MAX_LENGTH = 50
# --- end of input limits ---------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_str("LOG_LEVEL", "INFO" if not DEBUG else "WARNING"),
    },
}

# --- Invitations (issue 13: findings 4 and 11) ------------------------------------------------
# Invitation emails one account may send in any 24 hours, all its groups together: counted
# from the database, so the quota holds across app servers (groups.services).
INVITATION_EMAILS_PER_DAY = env_int("INVITATION_EMAILS_PER_DAY", 100)
# Error reports (500 mails, the debug page) with invitation tokens blanked out of paths,
# URLs and variables (groups.redaction); the request loggers are filtered in groups.apps.
DEFAULT_EXCEPTION_REPORTER = "groups.redaction.TokenRedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "groups.redaction.TokenRedactingReporterFilter"
