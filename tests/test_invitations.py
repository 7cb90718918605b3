"""Invitations: shareable links and personal email invitations, signed in and signed out.

A token lives in its own URL for one request: that request remembers the invitation in the
session and redirects to the token-free page, /invitation/, where a signed-in person presses
Join (nobody joins silently). The security side (hashes, logs, removals, addressees, the mail
quota) is in test_invitation_security.py."""

import html
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from groups.models import EmailInvitation, InviteLink, Membership, new_token
from groups.services import (
    email_invitation_withdraw,
    invite_link_accept,
    invite_link_create,
    invite_link_revoke,
)
from tests.conftest import PASSWORD
from tests.invitations import (
    PENDING,
    accept_pending,
    emailed_path,
    invitation_for,
    open_token,
    verify_address,
)

TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth counts sign-ups and confirmation mails per address in the cache: start afresh."""
    from django.core.cache import cache

    cache.clear()


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def join_url(link) -> str:
    return reverse("groups:join", args=[link.token])


def invitation_url(invitation) -> str:
    return reverse("groups:invitation", args=[invitation.token])


def join_through(client, link):
    """Open the link, then press Join on the token-free page (if it offers it)."""
    opened = open_token(client, join_url(link))
    return accept_pending(client) if opened.status_code == 200 else opened


def is_member(user, group) -> bool:
    return Membership.objects.filter(user=user, group=group).exists()


@pytest.fixture
def link(group, facilitator):
    return invite_link_create(group=group, created_by=facilitator, label="Newsletter")


@pytest.fixture
def as_facilitator(client, facilitator):
    client.force_login(facilitator)
    return client


@pytest.fixture
def as_outsider(client, outsider):
    client.force_login(outsider)
    return client


@pytest.fixture
def invite_by_email(as_facilitator, group, django_capture_on_commit_callbacks):
    """Send invitations through the facilitator's form, running the after-commit mailing."""

    def send(emails: str):
        with django_capture_on_commit_callbacks(execute=True):
            return as_facilitator.post(
                reverse("groups:email_invite", args=[group.slug]), {"emails": emails}
            )

    return send


@pytest.fixture
def olgas_invitation(group, facilitator, outsider):
    """An invitation to Olga (the outsider), whose account has the address, verified."""
    verify_address(outsider, "olga@example.com")
    return invitation_for(group, facilitator, "olga@example.com")


# --- tokens --------------------------------------------------------------------------------


def test_tokens_are_unguessable_and_unique():
    tokens = [new_token() for _ in range(2000)]

    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert len(token) == 43  # secrets.token_urlsafe(32): 256 bits
        assert len(token) * 6 >= 128
        assert TOKEN.match(token)


def test_every_link_and_invitation_gets_its_own_long_token(group, facilitator, olgas_invitation):
    links = [invite_link_create(group=group, created_by=facilitator) for _ in range(5)]
    tokens = [link.token for link in links] + [olgas_invitation.token]

    assert len(set(tokens)) == 6
    assert all(len(token) >= 43 for token in tokens)


# --- joining through a link, signed in ------------------------------------------------------------


def test_opening_a_link_shows_the_group_and_joins_nobody(as_outsider, link, outsider, group):
    response = open_token(as_outsider, join_url(link))

    page = text_of(response)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == PENDING  # the token left the address bar
    assert "Join Tuesday Reading Circle" in page
    assert "Join the group" in page
    assert not is_member(outsider, group)
    link.refresh_from_db()
    assert link.use_count == 0


def test_pressing_join_on_a_link_joins_the_group_as_a_member(as_outsider, link, outsider, group):
    open_token(as_outsider, join_url(link))

    response = as_outsider.post(PENDING, {"decision": "accept"}, follow=True)

    membership = Membership.objects.get(user=outsider, group=group)
    assert response.redirect_chain[0] == (f"/groups/{group.slug}/", 302)
    assert membership.role == Membership.Role.MEMBER
    assert membership.joined_via == link
    assert "Welcome to “Tuesday Reading Circle”!" in text_of(response)
    link.refresh_from_db()
    assert link.use_count == 1


def test_a_member_opening_the_link_again_lands_in_the_group_without_using_it(
    client, link, member, group
):
    client.force_login(member)

    response = client.get(join_url(link))

    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.slug}/"
    link.refresh_from_db()
    assert link.use_count == 0


def test_use_count_goes_up_with_each_person(client, link, make_user):
    for n in range(3):
        client.force_login(make_user(f"joiner{n}"))
        join_through(client, link)

    link.refresh_from_db()
    assert link.use_count == 3


def test_a_link_stops_at_its_maximum_number_of_people(client, group, facilitator, make_user):
    link = invite_link_create(group=group, created_by=facilitator, max_uses=2)
    people = [make_user(f"joiner{n}") for n in range(3)]

    statuses = []
    for person in people:
        client.force_login(person)
        statuses.append(join_through(client, link).status_code)

    assert statuses == [302, 302, 410]
    assert [is_member(person, group) for person in people] == [True, True, False]
    link.refresh_from_db()
    assert link.use_count == 2


def expire(link):
    link.expires_at = timezone.now() - timedelta(minutes=1)
    link.save()
    return link


def revoke(link):
    invite_link_revoke(link=link)
    return link


def use_up(link):
    link.max_uses, link.use_count = 3, 3
    link.save()
    return link


LINK_PROBLEMS = {
    "expired": (expire, 410, "This invitation has expired."),
    "revoked": (revoke, 410, "This invitation link has been turned off"),
    "used up": (use_up, 410, "This invitation link has been used as many times as it allows."),
    "mistyped": (None, 404, "This invitation is not valid: check that you copied the whole link."),
}


@pytest.mark.parametrize(
    "problem, when",
    [(problem, "on opening") for problem in LINK_PROBLEMS]
    # opened while good, spoiled before Join is pressed (a mistyped link never opens)
    + [(problem, "on joining") for problem in LINK_PROBLEMS if problem != "mistyped"],
)
@pytest.mark.parametrize("signed_in", [True, False], ids=["signed in", "signed out"])
def test_a_link_that_cannot_be_used_shows_a_clear_page_and_joins_nobody(
    client, link, outsider, group, problem, signed_in, when
):
    spoil, status, sentence = LINK_PROBLEMS[problem]
    if signed_in:
        client.force_login(outsider)
    if when == "on joining":
        open_token(client, join_url(link))
        spoil(link)
        response = client.post(PENDING, {"decision": "accept"})
    else:
        address = join_url(link)[:-2] + "/" if spoil is None else join_url(spoil(link))
        response = open_token(client, address)

    page = text_of(response)
    assert response.status_code == status
    assert "This invitation can't be used" in page
    assert sentence in page
    assert "Tuesday Reading Circle" not in page
    assert not is_member(outsider, group)
    assert group.memberships.count() == 2
    link.refresh_from_db()
    assert link.use_count == (3 if problem == "used up" else 0)
    assert "pending_invite" not in client.session


@pytest.mark.parametrize(
    "token",
    ["x", "a" * 43, "../../admin", "' OR 1=1 --", "🙂" * 10],
    ids=["short", "made up", "path", "sql", "emoji"],
)
@pytest.mark.parametrize("kind", ["join", "invitations"])
def test_a_made_up_token_is_a_clear_404_never_a_server_error(client, outsider, link, token, kind):
    client.raise_request_exception = False
    client.force_login(outsider)

    response = open_token(client, f"/{kind}/{token}/")

    assert response.status_code == 404
    if "This invitation" in text_of(response):  # our page, not the resolver's
        assert "This invitation is not valid" in text_of(response)


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.parametrize("kind", ["join", "invitations"])
def test_a_token_with_a_nul_character_is_a_clear_404_never_a_server_error(
    client, outsider, link, kind
):
    client.raise_request_exception = False
    client.force_login(outsider)

    response = open_token(client, f"/{kind}/%00/")

    assert response.status_code == 404
    assert "This invitation is not valid" in text_of(response)


def test_the_service_refuses_a_spoiled_link_too(link, outsider):
    from groups.services import InvitationError

    revoke(link)

    with pytest.raises(InvitationError) as error:
        invite_link_accept(token=link.token, user=outsider)
    assert error.value.reason == "revoked"


# --- managing links --------------------------------------------------------------------------


def test_the_facilitator_creates_a_link_with_expiry_and_maximum(as_facilitator, group):
    response = as_facilitator.post(
        reverse("groups:link_create", args=[group.slug]),
        {"label": "Union newsletter", "expires_in": "7", "max_uses": "12"},
    )

    link = InviteLink.objects.get(group=group)
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.slug}/invitations/#link-{link.pk}"
    assert link.label == "Union newsletter"
    assert link.max_uses == 12
    assert abs(link.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert len(link.token_hash) == 64
    page = as_facilitator.get(reverse("groups:invitations", args=[group.slug])).content.decode()
    shown = re.search(r"http://testserver(/join/[A-Za-z0-9_-]{43}/)", page)
    assert shown, "the new link's address is shown"
    assert InviteLink.objects.for_token(shown.group(1).split("/")[2]).get() == link
    again = as_facilitator.get(reverse("groups:invitations", args=[group.slug])).content.decode()
    assert shown.group(1) not in again  # only once
    assert "The link was shown once" in text_of(
        as_facilitator.get(reverse("groups:invitations", args=[group.slug]))
    )


@pytest.mark.parametrize(
    "data",
    [{"max_uses": "0"}, {"max_uses": "many"}, {"expires_in": "365"}, {"label": "x" * 81}],
    ids=["zero uses", "not a number", "unknown expiry", "label too long"],
)
def test_an_invalid_link_form_is_shown_with_errors_and_creates_nothing(as_facilitator, group, data):
    response = as_facilitator.post(reverse("groups:link_create", args=[group.slug]), data)

    assert response.status_code == 400
    assert "errorlist" in response.content.decode()
    assert not InviteLink.objects.exists()


def test_the_invitations_page_lists_who_joined_through_each_link(
    client, group, facilitator, make_user
):
    newsletter = invite_link_create(group=group, created_by=facilitator, label="Newsletter")
    poster = invite_link_create(group=group, created_by=facilitator, label="Poster")
    for username, link in [("ana", newsletter), ("ben", newsletter), ("cleo", poster)]:
        client.force_login(make_user(username, display_name=username.title() + " Joiner"))
        join_through(client, link)
    client.force_login(facilitator)

    page = text_of(client.get(reverse("groups:invitations", args=[group.slug])))

    cards = {
        label: page[page.index(f'id="link-{link.pk}"') :].split("</li>")[0]
        for label, link in [("Newsletter", newsletter), ("Poster", poster)]
    }
    assert "Joined through it: Ana Joiner, Ben Joiner" in cards["Newsletter"]
    assert "used 2 times" in cards["Newsletter"]
    assert "Joined through it: Cleo Joiner" in cards["Poster"]
    assert "Ana" not in cards["Poster"]


def test_the_facilitator_revokes_a_link(as_facilitator, group, link, client, outsider):
    response = as_facilitator.post(
        reverse("groups:link_revoke", args=[group.slug, link.pk]), {"confirmed": "1"}, follow=True
    )

    link.refresh_from_db()
    assert link.revoked_at is not None
    assert "The link is turned off" in text_of(response)
    card = text_of(response).split(f'id="link-{link.pk}"')[1].split("</li>")[0]
    assert "revoked" in card
    assert "Turn off this link" not in card
    client.force_login(outsider)
    assert open_token(client, join_url(link)).status_code == 410
    assert not is_member(outsider, group)


def test_a_link_of_another_group_cannot_be_revoked_from_here(
    as_facilitator, group, other_group, other_member
):
    theirs = invite_link_create(group=other_group, created_by=other_member)

    response = as_facilitator.post(
        reverse("groups:link_revoke", args=[group.slug, theirs.pk]), {"confirmed": "1"}
    )

    theirs.refresh_from_db()
    assert response.status_code == 404
    assert theirs.revoked_at is None


# --- email invitations ---------------------------------------------------------------------------


def test_inviting_two_addresses_sends_each_a_personal_link(invite_by_email, group, mailoutbox):
    response = invite_by_email("ana@example.org,\n Ben@Example.org")

    assert response.status_code == 302
    invitations = {i.email: i for i in EmailInvitation.objects.filter(group=group)}
    assert set(invitations) == {"ana@example.org", "ben@example.org"}
    assert len(mailoutbox) == 2
    paths = {}
    for message in mailoutbox:
        (address,) = message.to
        paths[address] = emailed_path(message)
        token = paths[address].split("/")[2]
        assert EmailInvitation.objects.for_token(token).get() == invitations[address]
        assert "Fran Facilitator invites you" in message.subject
        assert "Tuesday Reading Circle" in message.subject
    assert paths["ana@example.org"] != paths["ben@example.org"]


@pytest.mark.parametrize(
    "emails, message",
    [
        ("ana@example.org, not-an-address", "These are not email addresses: not-an-address"),
        ("ana@example.org bob@", "These are not email addresses: bob@"),
        ("   ", "This field is required."),
        (", ;", "Enter at least one email address."),
        (" ".join(f"p{n}@example.org" for n in range(51)), "At most 50 addresses"),
    ],
    ids=["not an address", "half an address", "blank", "only separators", "too many"],
)
def test_invalid_addresses_are_a_form_error_and_nothing_is_sent(
    invite_by_email, group, mailoutbox, emails, message
):
    response = invite_by_email(emails)

    assert response.status_code == 400
    assert message in text_of(response)
    assert not EmailInvitation.objects.exists()
    assert not mailoutbox


def test_members_and_people_already_invited_are_skipped(
    invite_by_email, group, olgas_invitation, mailoutbox
):
    response = invite_by_email("MARIA@example.com olga@example.com new@example.org")

    assert response.status_code == 302
    assert [message.to for message in mailoutbox] == [["new@example.org"]]
    assert EmailInvitation.objects.filter(email="olga@example.com").count() == 1
    assert not EmailInvitation.objects.filter(email="maria@example.com").exists()
    follow_up = invite_by_email("fran@example.com")
    assert follow_up.status_code == 302
    assert len(mailoutbox) == 1


def test_the_skipped_addresses_are_named(invite_by_email, as_facilitator, group, olgas_invitation):
    invite_by_email("maria@example.com olga@example.com")

    page = text_of(as_facilitator.get(reverse("groups:invitations", args=[group.slug])))

    assert "Already a member or already invited: maria@example.com, olga@example.com" in page


def test_a_withdrawn_address_can_be_invited_again(invite_by_email, olgas_invitation, mailoutbox):
    email_invitation_withdraw(invitation=olgas_invitation)

    invite_by_email("olga@example.com")

    assert len(mailoutbox) == 1
    assert EmailInvitation.objects.pending().filter(email="olga@example.com").count() == 1


def test_pending_invitations_are_listed_and_can_be_withdrawn(
    as_facilitator, group, olgas_invitation, client
):
    invitations_page = reverse("groups:invitations", args=[group.slug])
    assert "olga@example.com" in text_of(as_facilitator.get(invitations_page))

    response = as_facilitator.post(
        reverse("groups:email_withdraw", args=[group.slug, olgas_invitation.pk]),
        {"confirmed": "1"},
        follow=True,
    )

    olgas_invitation.refresh_from_db()
    assert olgas_invitation.withdrawn_at is not None
    assert "The invitation to olga@example.com is withdrawn." in text_of(response)
    assert "Withdraw the invitation to olga@example.com" not in text_of(response)


def test_a_withdrawn_invitations_link_shows_the_clear_page(
    client, outsider, group, olgas_invitation
):
    client.force_login(outsider)
    open_token(client, invitation_url(olgas_invitation))  # opened, then withdrawn
    email_invitation_withdraw(invitation=olgas_invitation)

    for response in (
        client.post(PENDING, {"decision": "accept"}),
        open_token(client, invitation_url(olgas_invitation)),
    ):
        assert response.status_code == 410
        assert "This invitation has been withdrawn." in text_of(response)
    assert not is_member(outsider, group)


def test_an_invitation_of_another_group_cannot_be_withdrawn_from_here(
    as_facilitator, group, other_group, other_member
):
    theirs = EmailInvitation.objects.create(
        group=other_group,
        email="x@example.org",
        invited_by=other_member,
        expires_at=timezone.now() + timedelta(days=1),
    )

    response = as_facilitator.post(reverse("groups:email_withdraw", args=[group.slug, theirs.pk]))

    theirs.refresh_from_db()
    assert response.status_code == 404
    assert theirs.withdrawn_at is None


def test_the_personal_link_shows_who_invited_and_joins_nobody_yet(
    as_outsider, olgas_invitation, outsider, group
):
    response = open_token(as_outsider, invitation_url(olgas_invitation))

    page = text_of(response)
    assert response.status_code == 200
    assert "Join Tuesday Reading Circle" in page
    assert "Fran Facilitator sent this invitation" in page
    assert "Decline" in page
    assert not is_member(outsider, group)


def test_accepting_the_personal_link_joins_the_group(
    as_outsider, olgas_invitation, outsider, group
):
    open_token(as_outsider, invitation_url(olgas_invitation))
    response = as_outsider.post(PENDING, {"decision": "accept"})

    olgas_invitation.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.slug}/"
    assert is_member(outsider, group)
    assert olgas_invitation.accepted_by == outsider
    assert olgas_invitation.accepted_at is not None
    again = as_outsider.get(invitation_url(olgas_invitation))
    assert again.status_code == 302  # a member is simply taken to the group


def test_declining_the_personal_link(as_outsider, olgas_invitation, outsider, group, client):
    open_token(as_outsider, invitation_url(olgas_invitation))
    response = as_outsider.post(PENDING, {"decision": "decline"}, follow=True)

    olgas_invitation.refresh_from_db()
    assert response.redirect_chain[0] == ("/", 302)
    assert "You declined the invitation to “Tuesday Reading Circle”." in text_of(response)
    assert olgas_invitation.declined_at is not None
    assert not is_member(outsider, group)
    assert "Invitations for you" not in text_of(response)
    later = open_token(as_outsider, invitation_url(olgas_invitation))
    assert later.status_code == 410
    assert "This invitation was declined." in text_of(later)


def test_an_expired_personal_invitation_shows_the_clear_page(as_outsider, olgas_invitation):
    open_token(as_outsider, invitation_url(olgas_invitation))
    olgas_invitation.expires_at = timezone.now() - timedelta(seconds=1)
    olgas_invitation.save()

    response = as_outsider.post(PENDING, {"decision": "accept"})

    assert response.status_code == 410
    assert "This invitation has expired." in text_of(response)


def test_a_mistyped_personal_link_is_a_clear_404(as_outsider, olgas_invitation):
    response = open_token(as_outsider, f"/invitations/{olgas_invitation.token[:-3]}/")

    assert response.status_code == 404
    assert "This invitation is not valid" in text_of(response)


# --- archived groups -----------------------------------------------------------------------


@pytest.fixture
def archived(group):
    group.archived_at = timezone.now()
    group.save()
    return group


@pytest.mark.parametrize("action", ["open", "join"])
def test_nobody_joins_an_archived_group_through_a_link(
    as_outsider, link, archived, outsider, action
):
    response = open_token(as_outsider, join_url(link))
    if action == "join":
        response = as_outsider.post(PENDING, {"decision": "accept"})

    assert response.status_code == 410
    assert "This group is archived and is not taking new members." in text_of(response)
    assert not is_member(outsider, archived)
    link.refresh_from_db()
    assert link.use_count == 0


def test_nobody_joins_an_archived_group_through_an_email_invitation(
    as_outsider, olgas_invitation, archived, outsider
):
    open_token(as_outsider, invitation_url(olgas_invitation))
    response = as_outsider.post(PENDING, {"decision": "accept"})

    olgas_invitation.refresh_from_db()
    assert response.status_code == 410
    assert "archived" in text_of(response)
    assert not is_member(outsider, archived)
    assert olgas_invitation.accepted_at is None


def test_the_service_refuses_an_archived_group_too(link, archived, outsider):
    from groups.services import InvitationError

    with pytest.raises(InvitationError) as error:
        invite_link_accept(token=link.token, user=outsider)

    assert error.value.reason == "archived"
    assert not is_member(outsider, archived)


# --- signed out: through log-in or sign-up into the group ------------------------------------


SIGNUP = {
    "email": "rosa@example.org",
    "username": "rosa",
    "password1": PASSWORD,
    "password2": PASSWORD,
    "time_zone": "Europe/Berlin",
    "display_name": "Rosa L.",
}


def test_a_signed_out_visitor_is_offered_sign_up_and_log_in(client, link, group):
    response = open_token(client, join_url(link))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Join Tuesday Reading Circle" in text_of(response)
    assert 'href="/accounts/signup/?next=/invitation/"' in page
    assert 'href="/accounts/login/?next=/invitation/"' in page
    assert "Sign up to join" in page
    assert "asked to confirm joining" in text_of(response)
    assert group.memberships.count() == 2


def test_logging_in_from_a_link_asks_to_confirm_then_joins(client, link, outsider, group):
    open_token(client, join_url(link))

    response = client.post(
        "/accounts/login/?next=/invitation/", {"login": "olga", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == PENDING
    assert not is_member(outsider, group)  # not before Join is pressed
    confirm = client.get(PENDING)
    assert "Join the group" in text_of(confirm)
    assert "No thanks" in text_of(confirm)
    joined = client.post(PENDING, {"decision": "accept"})
    assert joined["Location"] == f"/groups/{group.slug}/"
    membership = Membership.objects.get(user=outsider, group=group)
    assert membership.joined_via == link
    link.refresh_from_db()
    assert link.use_count == 1
    assert client.get(joined["Location"]).status_code == 200


def test_signing_up_from_a_link_asks_to_confirm_then_joins(client, link, group):
    open_token(client, join_url(link))

    response = client.post("/accounts/signup/?next=/invitation/", SIGNUP)

    assert response.status_code == 302
    assert response["Location"] == PENDING
    rosa = User.objects.get(username="rosa")
    assert not is_member(rosa, group)
    joined = client.post(PENDING, {"decision": "accept"})
    assert joined["Location"] == f"/groups/{group.slug}/"
    assert Membership.objects.get(user=rosa, group=group).role == Membership.Role.MEMBER
    assert rosa.display_name == "Rosa L."
    page = text_of(client.get(joined["Location"]))
    assert "Welcome to “Tuesday Reading Circle”!" in page
    assert "Rosa L." in page


def test_signing_up_with_email_verification_asks_to_confirm_once_the_address_is_confirmed(
    client, link, group, settings, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # as in production
    open_token(client, join_url(link))

    response = client.post("/accounts/signup/?next=/invitation/", SIGNUP)
    assert response["Location"] == "/accounts/confirm-email/"
    rosa = User.objects.get(username="rosa")
    assert not is_member(rosa, group)  # not before the address is confirmed
    confirm = re.search(r"https?://testserver(/accounts/confirm-email/\S+/)", mailoutbox[-1].body)

    response = client.post(confirm.group(1))

    assert response.status_code == 302
    assert response["Location"] == PENDING
    assert not is_member(rosa, group)
    assert client.post(PENDING, {"decision": "accept"})["Location"] == f"/groups/{group.slug}/"
    assert is_member(rosa, group)


def test_logging_in_from_a_personal_invitation_asks_to_confirm_then_joins(
    client, olgas_invitation, outsider, group
):
    assert open_token(client, invitation_url(olgas_invitation)).status_code == 200

    response = client.post("/accounts/login/", {"login": "olga@example.com", "password": PASSWORD})

    assert response["Location"] == PENDING
    assert not is_member(outsider, group)
    assert client.post(PENDING, {"decision": "accept"})["Location"] == f"/groups/{group.slug}/"
    olgas_invitation.refresh_from_db()
    assert is_member(outsider, group)
    assert olgas_invitation.accepted_by == outsider


def test_a_link_revoked_before_log_in_joins_nobody_and_says_why(client, link, outsider, group):
    client.get(join_url(link))
    revoke(link)

    response = client.post("/accounts/login/", {"login": "olga", "password": PASSWORD}, follow=True)

    assert not is_member(outsider, group)
    assert "This invitation link has been turned off" in text_of(response)
    assert response.redirect_chain[-1][0] != f"/groups/{group.slug}/"


def test_a_bad_link_remembers_nothing_for_after_log_in(client, link, outsider, group):
    client.get(f"/join/{link.token}x/")

    response = client.post("/accounts/login/", {"login": "olga", "password": PASSWORD})

    assert response["Location"] == "/"
    assert not is_member(outsider, group)


def test_an_inviter_whose_name_holds_a_carriage_return_still_sends_the_invitation(
    client, group, facilitator, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(facilitator)
    client.post(
        reverse("accounts:profile"), {"display_name": "Fran\rFacilitator", "time_zone": "UTC"}
    )
    facilitator.refresh_from_db()
    assert facilitator.display_name == "Fran Facilitator"  # names are cleaned on save

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("groups:email_invite", args=[group.slug]), {"emails": "ana@example.org"}
        )

    assert response.status_code == 302
    assert [message.to for message in mailoutbox] == [["ana@example.org"]]
    assert "\r" not in mailoutbox[0].subject


def test_home_shows_no_invitation_for_an_address_that_is_not_verified(
    client, outsider, group, facilitator
):
    guests = EmailInvitation.objects.create(
        group=group,
        email="guest@example.com",
        invited_by=facilitator,
        expires_at=timezone.now() + timedelta(days=3),
    )
    client.force_login(outsider)
    client.post("/accounts/email/", {"action_add": "", "email": "guest@example.com"})

    page = client.get(reverse("home")).content.decode()

    assert guests.token not in page
    assert "Tuesday Reading Circle" not in page


# --- someone a facilitator removed --------------------------------------------------------


def test_a_removed_member_cannot_come_back_through_a_link(client, group, member, link, facilitator):
    client.force_login(facilitator)
    client.post(reverse("groups:member_remove", args=[group.slug, member.pk]), {"confirmed": "1"})
    assert not is_member(member, group)

    client.force_login(member)
    response = open_token(client, join_url(link))

    assert response.status_code == 410
    assert "removed you from this group" in text_of(response)
    assert accept_pending(client).status_code == 410
    assert not is_member(member, group)


def test_once_the_removal_is_lifted_a_link_lets_them_in_again(client, group, member, facilitator):
    client.force_login(facilitator)
    client.post(reverse("groups:member_remove", args=[group.slug, member.pk]), {"confirmed": "1"})
    client.post(reverse("groups:removal_lift", args=[group.slug, member.pk]), {"confirmed": "1"})
    link = invite_link_create(group=group, created_by=facilitator)

    client.force_login(member)
    join_through(client, link)

    assert is_member(member, group)


def test_someone_who_left_of_their_own_accord_can_rejoin_through_a_link(
    client, group, member, link
):
    client.force_login(member)
    client.post(reverse("groups:leave", args=[group.slug]), {"confirmed": "1"})
    assert not is_member(member, group)

    join_through(client, link)

    assert is_member(member, group)
