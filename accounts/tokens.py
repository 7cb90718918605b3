"""Personal API tokens: made once, shown once, kept only as a SHA-256 hash."""

import hashlib
import secrets

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import ApiToken, User
from commonplace.compiled import CompiledQuery, columns, instance
from commonplace.ratelimits import address_key, enforce

TOKEN_PREFIX = "cp_"

# Read on every API call: compiled to SQL once (commonplace/compiled.py).
_TOKEN_WITH_USER = CompiledQuery(
    lambda key_hash: (
        ApiToken.objects.filter(key_hash=key_hash, revoked_at__isnull=True)
        .order_by()
        .values_list(*columns(ApiToken), *columns(User, "user__"))
    ),
    key_hash=str,
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip() or "API token", prefix=raw[:10], key_hash=hash_token(raw)
    )
    return token, raw


def api_token_revoke(*, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])


def user_for_bearer(request) -> User | None:
    """The user of a valid `Authorization: Bearer` token; None without one; 401 if invalid.
    Each use counts against the "api_token" rate limit (commonplace.ratelimits: RateLimited
    over it), per the token's account; a wrong token counts against the client's address."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise PermissionDenied("Use 'Authorization: Bearer <token>'.")
    row = _TOKEN_WITH_USER.first(key_hash=hash_token(raw.strip()))
    token = None
    if row is not None:
        token, end = instance(ApiToken, row)
        token.user, _ = instance(User, row, end)
    if token is None or not token.user.is_active:
        enforce(request, "api_token", key=f"address:{address_key(request)}")
        raise PermissionDenied("That API token is not valid or has been revoked.")
    enforce(request, "api_token", key=f"user:{token.user_id}")
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
