"""Helpers for the invitation tests: a token only exists in the mail or on the object that
made it, and opening one is two requests (the token's URL, then the token-free page)."""

import re
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.urls import reverse
from django.utils import timezone

from groups.models import EmailInvitation

PENDING = "/invitation/"  # reverse("groups:pending_invitation")
EMAILED = re.compile(r"https?://[^/\s]+(/invitations/[A-Za-z0-9_-]{43}/)")


def open_token(client, path: str):
    """Open a token's URL as a browser would, following its redirect to the page it shows."""
    response = client.get(path)
    if response.status_code == 302:
        assert response["Referrer-Policy"] == "no-referrer"
        response = client.get(response["Location"])
    return response


def accept_pending(client):
    return client.post(reverse("groups:pending_invitation"), {"decision": "accept"})


def emailed_path(message) -> str:
    """The invitation's path in a sent mail (its text part)."""
    found = EMAILED.search(message.body)
    assert found, message.body
    return found.group(1)


def verify_address(user, email: str, *, verified: bool = True) -> EmailAddress:
    address, _ = EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": verified, "primary": email == user.email}
    )
    return address


def invitation_for(group, invited_by, email: str, **fields) -> EmailInvitation:
    """An invitation row, its token kept on the returned object (`.token`)."""
    fields.setdefault("expires_at", timezone.now() + timedelta(days=30))
    return EmailInvitation.objects.create(group=group, email=email, invited_by=invited_by, **fields)
