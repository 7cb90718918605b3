from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpResponseRedirect


class AccountAdapter(DefaultAccountAdapter):
    """Lands a person who came through an invitation in their new group after logging in."""

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        from groups.views import accept_pending_invitation

        group_url = accept_pending_invitation(request, user)
        if group_url and isinstance(response, HttpResponseRedirect):
            return HttpResponseRedirect(group_url)
        return response
