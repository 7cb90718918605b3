"""The session engine: Django's database sessions, with the read every signed-in request makes
first compiled to SQL once (commonplace/compiled.py). Writes, expiry and `clearsessions` are
Django's own."""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from commonplace.compiled import CompiledQuery

_SESSION_DATA = CompiledQuery(
    lambda key, now: (
        Session.objects.filter(session_key=key, expire_date__gt=now)
        .order_by()
        .values_list("session_data")
    ),
    key=str,
    now=datetime,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        key = self.session_key  # None unless it looks like a key (Django's own check)
        row = _SESSION_DATA.first(key=key, now=timezone.now()) if key else None
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=key, session_data=row[0])
