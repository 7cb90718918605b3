"""Rate limits on every door: how many annotations, replies, flags, +1s, imports, exports,
invitations, calendar and unsubscribe fetches, API token requests and searches one person may
make in a while, so that one noisy account cannot take the site down for everyone.

The limits live in settings (RATE_LIMITS, ACCOUNT_RATE_LIMITS for allauth's log-in, sign-up
and password doors), read from the environment; this module counts them with django-ratelimit
in the default cache (shared by every app server) and answers the request that goes over:

    @login_required
    @require_POST
    @rate_limit("reply")          # innermost: only requests that may reach the view count
    def reply(request, ...): ...

    enforce(request, "annotate")   # in code that knows which door only once it has read the
                                   # request (the W3C API's POST); raises RateLimited

Over a limit the answer is 429 with `Retry-After` (the seconds until the count starts again):
a page saying what happened and when to try again (templates/429.html), or on the API a JSON
message (annotations.api catches RateLimited); the view does not run, so nothing is written.

Counted per account when signed in, per client address when signed out (IPv6 per /64, as
allauth does); the client address is `client_address`'s, which allauth asks too
(accounts.adapter), and which believes a proxy's X-Forwarded-For only when BEHIND_PROXY is set.
"""

import hashlib
import ipaddress
import math
import time
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render
from django.utils import timezone
from django_ratelimit.core import get_usage

# What each limit counts, as the 429 says it ("Too many new annotations: …").
DOORS = {
    "annotate": "new annotations",
    "reply": "replies",
    "flag": "flags",
    "plus_one": "+1s",
    "import": "imports",
    "export": "exports",
    "invitation_link": "new invitation links",
    "invitation_email": "invitation emails sent",
    "calendar_feed": "fetches of this calendar feed",
    "unsubscribe": "uses of this unsubscribe link",
    "link_guess": "calendar or unsubscribe links that are not ours, from your address",
    "api_token": "requests with an API token",
    "search": "searches",
    # allauth's (ACCOUNT_RATE_LIMITS)
    "login": "log-in attempts from your address",
    "login_failed": "failed log-ins to this account from your address",
    "signup": "sign-ups from your address",
    "reset_password": "password reset emails",
    "reset_password_from_key": "password reset attempts from your address",
    "change_password": "password changes",
    "manage_email": "changes to your email addresses",
    "reauthenticate": "password confirmations",
}
# Doors whose requests write: their page says that nothing was saved.
WRITES = {"annotate", "reply", "flag", "plus_one", "import", "invitation_link"}
WRITES |= {"invitation_email", "unsubscribe", "signup", "change_password", "manage_email"}

_PERIODS = {"s": ("second", 1), "m": ("minute", 60), "h": ("hour", 3600), "d": ("day", 86400)}


class RateLimited(Exception):
    """A request over the `limit` named in settings; `retry_after`: seconds until it may
    try again."""

    def __init__(self, limit: str, retry_after: int, rate: str | None = None):
        self.limit = limit
        self.retry_after = max(1, int(retry_after))
        self.rate = rate
        super().__init__(self.message)

    @property
    def message(self) -> str:
        what = DOORS.get(self.limit, "requests")
        most = f": at most {rate_in_words(self.rate)}" if self.rate else ""
        return f"Too many {what}{most}. Try again in {wait_in_words(self.retry_after)}."

    def api_message(self) -> str:
        """The message, naming the limit, for an API client's logs."""
        return f"{self.message} (rate limit “{self.limit}”)"


def rate_in_words(rate: str) -> str:
    """A rate as the 429 says it: 60/m is "60 a minute", 5/10m "5 every 10 minutes"."""
    count, period = rate.split("/")[:2]
    unit, _ = _PERIODS[period[-1]]
    many = period[:-1]
    if many and many != "1":
        return f"{count} every {many} {unit}s"
    return f"{count} an {unit}" if unit == "hour" else f"{count} a {unit}"


def wait_in_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'' if seconds == 1 else 's'}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    hours, minutes = divmod(minutes, 60)
    words = f"{hours} hour{'' if hours == 1 else 's'}"
    return words + (f" {minutes} minute{'' if minutes == 1 else 's'}" if minutes else "")


# --- who is asking ---------------------------------------------------------------------------


def client_address(request) -> str:
    """The address of the person asking. Without a proxy (BEHIND_PROXY unset) it is the
    connection's, REMOTE_ADDR, whatever headers say. Behind one it is the entry PROXY_COUNT
    from the right of X-Forwarded-For: each of our proxies adds the address it saw connecting
    to the right of what came to it, so that entry is the one the outermost proxy saw, and
    anything to its left was sent by the client and may be made up. The one answer for
    django-ratelimit (RATELIMIT_IP_META_KEY) and allauth (accounts.adapter.get_client_ip)."""
    if settings.BEHIND_PROXY:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [entry.strip() for entry in header.split(",") if entry.strip()]
        if entries:
            count = max(1, settings.PROXY_COUNT)
            # Fewer entries than proxies: it came in past an outer proxy; the left-most entry
            # is then the farthest address any of ours saw.
            found = _address(entries[-count] if len(entries) >= count else entries[0])
            if found:
                return found
    found = _address(request.META.get("REMOTE_ADDR", ""))
    if not found:
        raise ImproperlyConfigured(
            "The client's address is unknown (REMOTE_ADDR is empty or not an address): "
            "behind a reverse proxy, set BEHIND_PROXY=true (and PROXY_COUNT)."
        )
    return found


def _address(entry: str) -> str | None:
    """An address as a proxy may write it ("203.0.113.7", "203.0.113.7:5123",
    "[2001:db8::1]:443", "2001:db8::1"), normalised; None if it is not one."""
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        entry = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        entry = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def address_key(request) -> str:
    """The client address as counted: IPv6 per /64 (one home network or host gets a whole
    /64, and could otherwise take a new address for each request), as allauth counts it."""
    address = ipaddress.ip_address(client_address(request))
    if address.version == 6:
        prefix = getattr(settings, "ALLAUTH_RATE_LIMIT_IPV6_PREFIX", 64)
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)
    return str(address)


def who(request) -> str:
    """Whose count a request adds to: the account when signed in, else the address."""
    if request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"address:{address_key(request)}"


def count_guess(request) -> None:
    """A capability link that is not ours (an unknown calendar feed, a forged unsubscribe
    token): counted per address too, so one address cannot try key after key, each with a
    fresh count of its own. Raises RateLimited over the limit."""
    enforce(request, "link_guess", key=f"address:{address_key(request)}")


def secret_key(prefix: str, secret: str) -> str:
    """A count kept per capability link (a calendar feed, an unsubscribe link), without
    keeping the link itself in the cache."""
    return f"{prefix}:{hashlib.sha256(secret.encode()).hexdigest()}"


# --- counting --------------------------------------------------------------------------------


def enforce(request, limit: str, *, key: str | None = None) -> None:
    """Count this request against the named limit (per `who` asks, or per `key`); raise
    RateLimited when it goes over. A name missing from settings.RATE_LIMITS is a KeyError:
    every door's limit lives there."""
    rate = settings.RATE_LIMITS[limit]
    if not settings.RATE_LIMITS_ENABLED or rate is None:
        return
    value = key or who(request)
    usage = get_usage(
        request,
        group=f"commonplace.{limit}",
        key=lambda group, request: value,
        rate=rate,
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise RateLimited(limit, usage["time_left"], rate)


def rate_limit(limit: str, *, methods=None, key=None):
    """Decorate a view: each request (of `methods`, if given) counts against `limit`; over it,
    the 429 page and the view does not run. `key(request, **view_kwargs)` counts per
    something other than the person asking (a capability link)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if methods is None or request.method in methods:
                try:
                    enforce(request, limit, key=key(request, **kwargs) if key else None)
                except RateLimited as error:
                    return too_many_requests(request, error)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


# --- answering -------------------------------------------------------------------------------


def with_retry_after(response, error: RateLimited):
    response["Retry-After"] = str(error.retry_after)
    return response


def too_many_requests(request, error: RateLimited):
    """The browser's 429: what happened, and when to try again."""
    context = {
        "message": error.message,
        "wait": wait_in_words(error.retry_after),
        "retry_at": timezone.now() + timedelta(seconds=error.retry_after),
        "long_wait": error.retry_after >= 60,  # worth saying the time on the clock
        "again": request.get_full_path() if request.method in ("GET", "HEAD") else "",
        "unsaved": error.limit in WRITES and request.method == "POST",
        "limit": error.limit,
        "account_door": error.limit in ACCOUNT_DOORS,
    }
    response = render(request, "429.html", context, status=429)
    response["Cache-Control"] = "no-store"
    # Some doors are capability links (a calendar feed, an unsubscribe link): leaving this page
    # must not carry their address on in a Referer, as their own pages make sure.
    response["Referrer-Policy"] = "no-referrer"
    return with_retry_after(response, error)


# --- allauth's limits ------------------------------------------------------------------------
#
# allauth counts its own doors (ACCOUNT_RATE_LIMITS) and answers 429 through the URLconf's
# `handler429` (commonplace.urls), without saying which limit or for how long. Its views are
# known by their URL names, and its counts are lists of the times of recent requests in the
# same cache: the wait is until the oldest request that fills a limit leaves its window.

ALLAUTH_ACTIONS = {
    "account_login": "login",
    "account_signup": "signup",
    "account_reset_password": "reset_password",
    "account_reset_password_from_key": "reset_password_from_key",
    "account_change_password": "change_password",
    "account_set_password": "change_password",
    "account_email": "manage_email",
    "account_reauthenticate": "reauthenticate",
}

ACCOUNT_DOORS = {*ALLAUTH_ACTIONS.values(), "login_failed"}


def account_wait(request, action: str, *, key: str | None = None) -> int:
    """Seconds until allauth lets this request through `action` again: until each full limit
    has a free place. A limit it cannot look up (counted per a key it does not know) is taken
    as full for its whole period, as is the longest when none is found full: a client told to
    wait too little would only be refused again."""
    from allauth.core.internal.ratelimit import get_cache_key, get_rates

    now = time.time()
    rates = get_rates(app="allauth.account", action=action)
    waits = []
    for rate in rates:
        if (rate.per == "key" and key is None) or (
            rate.per == "user" and not request.user.is_authenticated
        ):
            waits.append(rate.duration)
            continue
        cache_key = get_cache_key(request, app="allauth.account", action=action, rate=rate, key=key)
        history = cache.get(cache_key, [])
        recent = sorted((t for t in history if t > now - rate.duration), reverse=True)
        if len(recent) >= rate.amount:
            waits.append(recent[rate.amount - 1] + rate.duration - now)
    if not waits:
        waits = [max((rate.duration for rate in rates), default=60)]
    return max(1, math.ceil(max(waits)))


def account_too_many_requests(request, action: str, *, key: str | None = None):
    return too_many_requests(request, RateLimited(action, account_wait(request, action, key=key)))


def allauth_too_many_requests(request):
    """allauth's 429 (commonplace.urls.handler429): the site's page, with Retry-After."""
    match = request.resolver_match
    action = ALLAUTH_ACTIONS.get(match.url_name if match else "")
    if action is None:  # a door of allauth's not listed above: say so, and a minute
        return too_many_requests(request, RateLimited("requests", 60))
    key = None
    if action == "reset_password":
        key = request.POST.get("email", "").strip().lower() or None
    return account_too_many_requests(request, action, key=key)
