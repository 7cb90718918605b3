"""A preview's file, kept between the preview and its confirmation.

The uploaded file is kept in the cache that every app server shares (by default the
database's cache table; see CACHE_URL) for an hour, under an unguessable token that the
preview's form posts back, and only for the person who uploaded it and the group reading it
was previewed for. Confirming reads the file again and re-plans it against the text as it is
then, so what is imported is what a preview made at that moment would show. Nothing of the
group's is written until then.
"""

import hashlib
import secrets
from dataclasses import dataclass

from django.core.cache import cache

#: How long a preview can be confirmed (seconds).
PREVIEW_SECONDS = 60 * 60
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{32,64}$"


@dataclass(frozen=True)
class Preview:
    token: str
    data: bytes
    name: str
    digest: str


def _cache_key(token: str) -> str:
    return f"imports:preview:{token}"


def preview_keep(*, user_id: int, group_reading_id: int, data: bytes, name: str) -> Preview:
    token = secrets.token_urlsafe(32)
    digest = hashlib.sha256(data).hexdigest()
    cache.set(
        _cache_key(token),
        {"user": user_id, "group_reading": group_reading_id, "data": data, "name": name},
        PREVIEW_SECONDS,
    )
    return Preview(token=token, data=data, name=name, digest=digest)


def preview_take(*, user_id: int, group_reading_id: int, token: str) -> Preview | None:
    """The kept preview, if it is this person's for this group reading and has not expired."""
    kept = cache.get(_cache_key(token))
    if not isinstance(kept, dict):
        return None
    if kept.get("user") != user_id or kept.get("group_reading") != group_reading_id:
        return None
    data = kept["data"]
    return Preview(token, data, kept["name"], hashlib.sha256(data).hexdigest())


def preview_forget(token: str) -> None:
    cache.delete(_cache_key(token))
