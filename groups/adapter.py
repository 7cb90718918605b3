from django.contrib import messages
from django.http import HttpResponseRedirect

from accounts.adapter import AccountAdapter as BaseAccountAdapter
from groups import services


class AccountAdapter(BaseAccountAdapter):
    """Lands a person who came through an invitation in their new group after logging in.

    It lives in groups (not accounts) because it calls down into the groups' services."""

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        try:
            membership, joined = services.invitation_accept_remembered(
                session=request.session, user=user
            )
        except services.InvitationError as error:
            messages.error(request, str(error))
            return response
        if membership is None:
            return response
        if joined:
            messages.success(request, f"Welcome to “{membership.group.name}”!")
        if isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(membership.group.get_absolute_url())
        return response
