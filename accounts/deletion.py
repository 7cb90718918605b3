"""Deleting an account: what the person is told, and the one service that does it.

The User row is deleted, not kept as a tombstone. Every foreign key to it already says what
becomes of the person's things (commonplace/deletion.py has the apps' own words for them):
their personal data goes with the row (profile, email addresses, password, API tokens,
sessions' hold on it, notification settings, calendar addresses, memberships, mentions,
raised hands, flags not yet settled), and what they wrote for others stays, its author set
to nobody (`on_delete=SET_NULL`), named “former member” by the permission table
(annotations.access.author_label). A tombstone row would keep a name-shaped thing that every
query and every rule (members, mentions, the author's own rights) must remember to treat as
nobody; a NULL author is nobody to every query already (`author_id = <viewer>` never holds),
so no rule can mistake a departed account for a person. The username is free again; ids are
never reused, so nothing of theirs can pass to whoever takes it.

What the cascade cannot decide is done first, in the same transaction: the apps' `prepare`
steps (the private notes go; a group with nobody else in it goes; an account that is a
group's only facilitator, with others in the group, is refused until someone else is one).
"""

from django.db import transaction

from accounts.models import User
from commonplace.deletion import Consequence, deletion_prepare, register_deletion_part


def connect() -> None:
    register_deletion_part("account", describe=describe_account)


def describe_account(user: User):
    yield Consequence(
        "your profile: username, display name, email addresses, time zone and password"
    )
    if user.api_tokens.filter(revoked_at__isnull=True).exists():
        yield Consequence("your API tokens: programs that use them stop working")


@transaction.atomic
def account_delete(*, user: User) -> None:
    """Delete the account, or nothing (DeletionBlocked, before anything is written)."""
    deletion_prepare("account", user)
    user.delete()
