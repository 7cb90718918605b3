from django.http import HttpResponseRedirect
from django.urls import reverse

from accounts.adapter import AccountAdapter as BaseAccountAdapter
from groups import services


class AccountAdapter(BaseAccountAdapter):
    """Brings a person who opened an invitation back to it after logging in or signing up, to
    confirm joining there: nobody is added to a group without pressing Join (finding 10).

    It lives in groups (not accounts) because it calls down into the groups' services."""

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        if services.invitation_remembered(request.session) is None:
            return response
        if isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(reverse("groups:pending_invitation"))
        return response

    def is_email_verified(self, request, email):
        """An address signed up with here, right after opening an email invitation sent to
        it, is verified: the invitation's link came to that mailbox (as allauth's own
        confirmation link would)."""
        if super().is_email_verified(request, email):
            return True
        session = getattr(request, "session", None)  # allauth passes a provider at times
        invited = services.invitation_remembered_address(session) if session else None
        return bool(invited and invited.lower() == (email or "").lower())
