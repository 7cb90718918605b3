"""Invitation tokens kept out of logs and error reports (issue 13, finding 11).

A token lives in the URL of one request only (groups.views.join and .invitation look it up,
remember the invitation in the session and redirect to a token-free page), but that one
request is still written down: Django's `django.request` logger names the path of a 4xx or
5xx, `runserver`'s `django.server` logs every request line, and an error report (the mail to
ADMINS, the DEBUG page) shows the path, the URL, the request's repr and the views' local
variables. Everything here blanks the token out of those, keeping the rest readable:
"/join/[token]/".

What it cannot reach: the access log of the web server in front (nginx, gunicorn's
`--access-logfile`), which records the path before Django runs; the README's production
section says how to keep those paths out of it.
"""

import logging
import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# A token (groups.models.new_token: 43 URL-safe characters) after /join/ or /invitations/.
# The facilitator's own pages under /groups/<slug>/invitations/ go on with short words
# ("links", "emails"), which this leaves alone.
TOKEN_IN_PATH = re.compile(r"(/(?:join|invitations)/)[A-Za-z0-9_-]{20,}")
REDACTED = "[token]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text)


class RedactInvitationTokens(logging.Filter):
    """A logging filter: the record's message with tokens blanked (it never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_filters() -> None:
    """On the loggers that write request paths (groups.apps calls it once at start-up)."""
    for name in ("django.request", "django.server", "django.security.csrf"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactInvitationTokens) for f in logger.filters):
            logger.addFilter(RedactInvitationTokens())


class _Redacted:
    """Shows a value the way the report would, with tokens blanked."""

    def __init__(self, value):
        self.text = redact(repr(value))

    def __repr__(self) -> str:
        return self.text


class TokenRedactingReporterFilter(SafeExceptionReporterFilter):
    """Django's own filter (passwords, keys...), plus: a variable named `token` (the
    invitation views' argument, Django's `callback_kwargs`) is hidden, and paths and URLs in
    the request's META and in every variable lose their tokens."""

    def get_safe_request_meta(self, request):
        return {
            key: redact(value) if isinstance(value, str) else value
            for key, value in super().get_safe_request_meta(request).items()
        }

    def get_traceback_frame_variables(self, request, tb_frame):
        cleansed = []
        for name, value in super().get_traceback_frame_variables(request, tb_frame):
            if name == "token":
                value = self.cleansed_substitute
            elif isinstance(value, dict) and "token" in value:
                value = {**value, "token": self.cleansed_substitute}
            cleansed.append((name, _Redacted(value)))
        return cleansed


class TokenRedactingExceptionReporter(ExceptionReporter):
    """The report (HTML and text) with tokens blanked wherever a path or URL shows one."""

    def get_traceback_html(self):
        return redact(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return redact(str(super().get_traceback_text()))
