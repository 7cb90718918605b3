"""The one-click unsubscribe link's token: who, and which kind of email (or "digest"), signed
with the site's secret so that it needs no log-in and cannot be forged or altered."""

from django.core import signing

SALT = "notifications.unsubscribe"


def unsubscribe_token(user_id: int, kind: str) -> str:
    return signing.dumps({"u": user_id, "k": kind}, salt=SALT, compress=False)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind), or None for a token that was not made here."""
    try:
        found = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("u"), int):
        return None
    if not isinstance(found.get("k"), str):
        return None
    return found["u"], found["k"]
