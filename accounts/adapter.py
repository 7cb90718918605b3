"""allauth's adapter, as far as accounts go: the client's address and failed log-ins.

groups.adapter.AccountAdapter (settings.ACCOUNT_ADAPTER) builds on this one.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.contrib.sites.shortcuts import get_current_site
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts.models import User
from commonplace.ratelimits import account_too_many_requests, address_key, client_address


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """The one client address the site's own limits count too (BEHIND_PROXY aware)."""
        return client_address(request)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        """Failed log-ins (ACCOUNT_RATE_LIMITS["login_failed"]) are counted per account AND
        client address: someone guessing from elsewhere locks only their own address out, never
        the owner. allauth keeps this key for the attempt, and clears it for each of the
        account's email addresses when its password is reset (so the same account's key)."""
        login = credentials.get("email", credentials.get("username", "")).strip().lower()
        found = list(
            User.objects.filter(
                Q(username__iexact=login)
                | Q(email__iexact=login)
                | Q(emailaddress__email__iexact=login)
            )
            .values_list("pk", flat=True)
            .distinct()[:2]
        )
        account = f"account:{found[0]}" if len(found) == 1 else f"login:{login}"
        return f"{get_current_site(request).domain}:{account}:{address_key(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        """Over the failed log-in limit: a 429 saying when to try again (allauth shows a form
        error with a 200), for the right password too: else guessing would go on, unlimited,
        with success showing which guess was right."""
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            key = self._get_login_attempts_cache_key(request, **credentials)
            raise ImmediateHttpResponse(
                account_too_many_requests(request, "login_failed", key=key)
            ) from None
