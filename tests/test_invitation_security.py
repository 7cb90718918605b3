"""Invitations under attack (issue 13): findings 1, 4 (the mail side), 10 and 11.

1. An email invitation is for its addressee (an account with that address, verified), and a
   removal stands until a facilitator lifts it: no link or invitation gets a removed person
   back in, one sent before their removal never does, and accepting deletes no removal.
4. Invitation mail is limited per account and per day (counted from the database), and what
   people typed is quoted in it, never made into links.
10. Opening a join link signed out and logging in later joins nobody until Join is pressed.
11. Tokens are stored as hashes only, live in one request, and stay out of `?next=`, the
    Referer (Referrer-Policy: no-referrer), the session, logs and error reports.
"""

import html
import logging
import re
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from groups.models import (
    EmailInvitation,
    InvitationEmailSent,
    InviteLink,
    Membership,
    Removal,
    token_digest,
)
from groups.redaction import redact
from groups.services import (
    INVITATION_PROBLEMS,
    InvitationError,
    InvitationQuotaError,
    email_invitation_accept,
    email_invitations_send,
    invite_link_create,
    membership_remove,
    removal_lift,
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


def text_of(response) -> str:
    """The page's words, without tags."""
    return html.unescape(re.sub(r"<[^>]+>", "", response.content.decode()))


def is_member(user, group) -> bool:
    return Membership.objects.filter(user=user, group=group).exists()


def remove(group, member, facilitator) -> Removal:
    membership_remove(
        membership=Membership.objects.get(group=group, user=member), removed_by=facilitator
    )
    return Removal.objects.get(group=group, user=member)


@pytest.fixture
def send_invitations(client, facilitator, django_capture_on_commit_callbacks):
    """The facilitator's invitation form, with the after-commit mailing run."""

    def send(group, emails: str):
        client.force_login(facilitator)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("groups:email_invite", args=[group.slug]), {"emails": emails}
            )

    return send


# --- 1. an email invitation is for its addressee; a removal stands ---------------------------


def test_a_removed_member_cannot_use_someone_elses_invitation(client, group, member, facilitator):
    remove(group, member, facilitator)
    someone_elses = invitation_for(group, facilitator, "guest@example.org")
    client.force_login(member)

    page = open_token(client, reverse("groups:invitation", args=[someone_elses.token]))
    refused = accept_pending(client)

    assert page.status_code == 200
    assert "Join the group" not in text_of(page)  # no button: the page says what to do
    assert refused.status_code == 403
    assert INVITATION_PROBLEMS["not addressee"] in text_of(refused)
    assert not is_member(member, group)
    assert Removal.objects.get(group=group, user=member).is_standing


def test_nobody_else_can_use_an_invitation_either(client, group, outsider, facilitator):
    guests = invitation_for(group, facilitator, "guest@example.org")
    client.force_login(outsider)

    page = open_token(client, reverse("groups:invitation", args=[guests.token]))

    assert "This invitation is for another address" in text_of(page)
    assert "It invites guest@example.org to" in text_of(page)
    assert "add it to your account and confirm it" in text_of(page)
    assert 'href="/accounts/email/"' in page.content.decode()
    assert accept_pending(client).status_code == 403
    with pytest.raises(InvitationError) as error:
        email_invitation_accept(token=guests.token, user=outsider)
    assert error.value.reason == "not addressee"
    assert not is_member(outsider, group)
    guests.refresh_from_db()
    assert guests.accepted_at is None


def test_an_unverified_address_is_not_enough_and_the_page_says_to_confirm_it(
    client, group, outsider, facilitator
):
    verify_address(outsider, "olga@example.com", verified=False)
    olgas = invitation_for(group, facilitator, "olga@example.com")
    client.force_login(outsider)

    page = open_token(client, reverse("groups:invitation", args=[olgas.token]))

    assert "your account has no confirmed address olga@example.com" in text_of(page)
    assert "Confirm it" in text_of(page)
    assert accept_pending(client).status_code == 403
    assert not is_member(outsider, group)
    verify_address(outsider, "olga@example.com")  # confirmed: the same invitation now works
    assert accept_pending(client)["Location"] == f"/groups/{group.slug}/"
    assert is_member(outsider, group)


def test_removing_a_member_withdraws_the_invitations_waiting_for_them(group, member, facilitator):
    verify_address(member, "maria@elsewhere.org")
    before = invitation_for(group, facilitator, "maria@elsewhere.org")
    guests = invitation_for(group, facilitator, "guest@example.org")

    remove(group, member, facilitator)

    before.refresh_from_db()
    guests.refresh_from_db()
    assert before.withdrawn_at is not None
    assert guests.withdrawn_at is None


def test_an_invitation_to_a_removed_members_own_address_does_not_let_them_in(
    client, group, member, facilitator
):
    verify_address(member, member.email)
    removal = remove(group, member, facilitator)
    after = invitation_for(group, facilitator, member.email)  # e.g. made in the admin
    client.force_login(member)

    page = open_token(client, reverse("groups:invitation", args=[after.token]))
    refused = accept_pending(client)

    for response in (page, refused):
        assert response.status_code == 410
        assert "until a facilitator of the group lifts the removal" in text_of(response)
    assert not is_member(member, group)
    assert Removal.objects.filter(pk=removal.pk, lifted_at=None).exists()


def test_an_invitation_sent_before_the_removal_never_lets_them_in_even_once_lifted(
    group, member, facilitator
):
    verify_address(member, member.email)
    before = invitation_for(group, facilitator, member.email)
    removal = remove(group, member, facilitator)
    EmailInvitation.objects.filter(pk=before.pk).update(withdrawn_at=None)  # waiting, say
    removal_lift(group=group, user_id=member.pk, lifted_by=facilitator)

    with pytest.raises(InvitationError) as error:
        email_invitation_accept(token=before.token, user=member)

    assert error.value.reason == "sent before removal"
    assert not is_member(member, group)
    Removal.objects.get(pk=removal.pk)  # still there


def test_once_lifted_a_new_invitation_lets_them_in_and_the_removal_is_kept(
    client, group, member, facilitator, send_invitations, mailoutbox
):
    verify_address(member, member.email)
    remove(group, member, facilitator)
    refused = send_invitations(group, member.email)
    assert not mailoutbox  # not sent to someone removed...
    follow = client.get(refused["Location"])
    assert f"Not sent to someone removed from the group: {member.email}" in text_of(follow)
    client.post(reverse("groups:removal_lift", args=[group.slug, member.pk]), {"confirmed": "1"})

    send_invitations(group, member.email)  # ...until the removal is lifted
    client.force_login(member)
    open_token(client, emailed_path(mailoutbox[-1]))
    joined = accept_pending(client)

    assert joined["Location"] == f"/groups/{group.slug}/"
    assert is_member(member, group)
    removal = Removal.objects.get(group=group, user=member)  # accepting deleted nothing
    assert removal.lifted_by == facilitator
    assert removal.lifted_at is not None


def test_the_facilitator_sees_who_is_removed_and_lets_them_back_in(
    client, group, member, facilitator
):
    remove(group, member, facilitator)
    client.force_login(facilitator)
    home = client.get(reverse("groups:detail", args=[group.slug]))
    assert "Removed" in text_of(home)
    assert 'Let back in<span class="visually-hidden">: Maria Member</span>' in home.content.decode()
    lift = reverse("groups:removal_lift", args=[group.slug, member.pk])

    asked = client.post(lift)
    assert asked.status_code == 200
    assert "Let Maria Member back in?" in text_of(asked)
    assert Removal.objects.get(user=member).is_standing  # not before confirming

    done = client.post(lift, {"confirmed": "1"}, follow=True)

    assert "Maria Member can be invited again." in text_of(done)
    assert 'Let back in<span class="visually-hidden">: Maria Member' not in done.content.decode()
    assert not Removal.objects.get(user=member).is_standing
    assert not is_member(member, group)  # lifting lets them be invited, it does not add them
    assert client.post(lift, {"confirmed": "1"}).status_code == 404  # nothing left to lift


def test_a_member_cannot_lift_a_removal(client, group, member, facilitator, make_user):
    removed = make_user("rhea")
    Membership.objects.create(group=group, user=removed)
    remove(group, removed, facilitator)
    client.force_login(member)

    response = client.post(
        reverse("groups:removal_lift", args=[group.slug, removed.pk]), {"confirmed": "1"}
    )

    assert response.status_code == 403
    assert Removal.objects.get(user=removed).is_standing
    page = client.get(reverse("groups:detail", args=[group.slug])).content.decode()
    assert ": Rhea</span>" not in page
    assert "removals/" not in page


def test_signing_up_with_the_invited_address_verifies_it_and_another_address_does_not(
    client, group, facilitator, settings, mailoutbox
):
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    invitation = invitation_for(group, facilitator, "rosa@example.org")
    path = reverse("groups:invitation", args=[invitation.token])
    signup = {
        "username": "rosa",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "time_zone": "UTC",
        "display_name": "Rosa",
    }

    page = open_token(client, path)
    assert "Sign up with rosa@example.org" in text_of(page)
    response = client.post("/accounts/signup/", {**signup, "email": "rosa@example.org"})

    # the invitation's link came to that mailbox: no confirmation mail, straight to Join
    assert response["Location"] == PENDING
    assert not mailoutbox
    rosa = User.objects.get(username="rosa")
    assert rosa.emailaddress_set.get().verified
    assert accept_pending(client)["Location"] == f"/groups/{group.slug}/"

    other = type(client)()
    open_token(other, path)
    response = other.post(
        "/accounts/signup/", {**signup, "username": "mallory", "email": "mallory@example.org"}
    )
    assert response["Location"] == "/accounts/confirm-email/"
    mallory = User.objects.get(username="mallory")
    assert not mallory.emailaddress_set.filter(verified=True).exists()


def test_the_home_pages_invitation_opens_only_for_its_verified_addressee(
    client, group, facilitator, outsider, member
):
    invitation = invitation_for(group, facilitator, "olga@example.com")
    for_you = reverse("groups:invitation_for_you", args=[invitation.pk])
    client.force_login(outsider)
    assert client.get(for_you).status_code == 404  # address not verified yet
    client.force_login(facilitator)
    assert client.get(for_you).status_code == 404  # the group's facilitator is not Olga
    verify_address(outsider, "olga@example.com")
    client.force_login(outsider)

    response = client.get(for_you)

    assert response.status_code == 302
    assert response["Location"] == PENDING
    assert accept_pending(client)["Location"] == f"/groups/{group.slug}/"
    assert client.get(for_you).status_code == 404  # accepted: no longer pending


# --- 4. invitation mail: a quota per account and day; user text quoted ------------------------


def test_the_daily_quota_refuses_a_batch_past_it_naming_the_limit_and_writing_nothing(
    client, group, facilitator, send_invitations, mailoutbox, settings
):
    settings.INVITATION_EMAILS_PER_DAY = 3
    first = send_invitations(group, "a@example.org b@example.org")
    assert first.status_code == 302
    assert len(mailoutbox) == 2

    response = send_invitations(group, "c@example.org d@example.org")

    page = text_of(response)
    assert response.status_code == 400
    assert "You can send at most 3 invitation emails a day" in page
    assert "You have sent 2 in the last 24 hours, so 1 more can go now; you entered 2." in page
    oldest = InvitationEmailSent.objects.order_by("sent_at").first().sent_at
    frees_at = timezone.localtime(oldest + timedelta(days=1))
    assert f"All 2 can go from {frees_at:%-d %B %Y, %H:%M}" in page
    assert "Nothing was sent." in page
    assert len(mailoutbox) == 2
    assert EmailInvitation.objects.count() == 2


def test_the_quota_counts_every_group_of_the_account_and_frees_up_after_a_day(
    client, group, facilitator, send_invitations, mailoutbox, settings
):
    settings.INVITATION_EMAILS_PER_DAY = 2
    from groups.services import group_create

    second = group_create(name="Second Circle", created_by=facilitator)
    send_invitations(group, "a@example.org b@example.org")

    assert send_invitations(second, "c@example.org").status_code == 400
    # a@ is new to the second group: it would be one more mail
    assert send_invitations(second, "a@example.org").status_code == 400
    InvitationEmailSent.objects.update(sent_at=timezone.now() - timedelta(hours=25))
    assert send_invitations(second, "c@example.org d@example.org").status_code == 302
    assert len(mailoutbox) == 4
    assert InvitationEmailSent.objects.count() == 2  # the day-old sends are dropped


def test_deleting_the_group_or_withdrawing_gives_no_quota_back(
    client, facilitator, send_invitations, mailoutbox, settings
):
    """Else: fill the day's quota, delete the group, make another, and send again."""
    settings.INVITATION_EMAILS_PER_DAY = 2
    from groups.services import email_invitation_withdraw, group_create, group_delete

    first = group_create(name="First Circle", created_by=facilitator)
    send_invitations(first, "a@example.org b@example.org")
    group_delete(group=first)
    second = group_create(name="Second Circle", created_by=facilitator)
    assert send_invitations(second, "c@example.org").status_code == 400

    settings.INVITATION_EMAILS_PER_DAY = 3
    send_invitations(second, "c@example.org")
    email_invitation_withdraw(invitation=EmailInvitation.objects.get(email="c@example.org"))
    assert send_invitations(second, "d@example.org").status_code == 400
    assert len(mailoutbox) == 3


def test_addresses_skipped_do_not_count_and_a_batch_over_the_limit_says_so(
    client, group, facilitator, send_invitations, mailoutbox, settings
):
    settings.INVITATION_EMAILS_PER_DAY = 2
    send_invitations(group, "a@example.org")

    again = send_invitations(group, "a@example.org maria@example.com b@example.org")
    too_many = send_invitations(group, "c@example.org d@example.org e@example.org")

    assert again.status_code == 302  # a is invited already, Maria is a member: one goes
    assert len(mailoutbox) == 2
    assert too_many.status_code == 400
    assert "so no more can go now; you entered 3." in text_of(too_many)
    assert "Send at most 2 at a time." in text_of(too_many)


def test_the_invitations_page_says_how_many_emails_are_left(
    client, group, facilitator, send_invitations, settings
):
    settings.INVITATION_EMAILS_PER_DAY = 5
    send_invitations(group, "a@example.org")

    page = text_of(client.get(reverse("groups:invitations", args=[group.slug])))

    assert "You can send 5 invitation emails a day; 4 left now." in page


ON_POSTGRES = connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="two writers at once need PostgreSQL's row locks")
def test_two_batches_at_once_cannot_both_slip_under_the_quota(group, facilitator, settings):
    """As from two app servers: each batch fits alone, not both. The inviter's row is
    locked while counting, so the second counts the first's invitations."""
    settings.INVITATION_EMAILS_PER_DAY = 3
    barrier, results = threading.Barrier(2), []

    def send(emails):
        try:
            barrier.wait(timeout=10)
            email_invitations_send(group=group, invited_by=facilitator, emails=emails)
            results.append("sent")
        except InvitationQuotaError:
            results.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(emails,))
        for emails in (["a@example.org", "b@example.org"], ["c@example.org", "d@example.org"])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["refused", "sent"]
    assert EmailInvitation.objects.count() == 2


HOSTILE_NAME = 'Win a prize at https://evil.example/login <a href="https://evil.example">here</a>'
HOSTILE_DESCRIPTION = (
    "Reset your password: www.evil.example/reset\n"
    '<script>alert("x")</script><img src=x onerror=alert(1)>\n'
    "[click me](javascript:alert(1))"
)


def test_user_text_in_the_mail_is_quoted_and_never_a_link(
    group, facilitator, mailoutbox, django_capture_on_commit_callbacks, settings
):
    site = settings.SITE_URL  # no request here: the address comes from the settings
    group.name, group.description = HOSTILE_NAME, HOSTILE_DESCRIPTION
    group.save()
    facilitator.display_name = "Security Team http://evil.example"
    facilitator.save()

    with django_capture_on_commit_callbacks(execute=True):
        email_invitations_send(group=group, invited_by=facilitator, emails=["ana@example.org"])

    (message,) = mailoutbox
    path = emailed_path(message)
    # text part: every line with words people typed is quoted behind "> "
    for line in message.body.splitlines():
        if "evil" in line or "alert" in line:
            assert line.startswith("> "), line
    assert "> Security Team http://evil.example" in message.body
    assert f"> {HOSTILE_NAME}" in message.body
    assert "> Reset your password: www.evil.example/reset" in message.body
    unquoted_urls = [
        line for line in message.body.splitlines() if "://" in line and not line.startswith(">")
    ]
    assert unquoted_urls == [f"{site}{path}"]  # the one link is the invitation
    # HTML part: escaped, and its only link is the invitation's
    (html_part, mimetype) = message.alternatives[0]
    assert mimetype == "text/html"
    assert re.findall(r"<a\b[^>]*>", html_part) == [
        re.search(r'<a href="[^"]*"[^>]*>', html_part).group(0)
    ]
    assert f'<a href="{site}{path}"' in html_part
    assert "<script" not in html_part
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html_part
    assert "&lt;a href=&quot;https://evil.example&quot;&gt;here&lt;/a&gt;" in html_part
    assert "onerror=" not in html_part.replace("onerror=alert(1)&gt;", "")
    assert "\n" not in message.subject
    assert "“Win a prize at https://evil.example/login" in message.subject


# --- 10. no silent joining after log-in ----------------------------------------------------


def test_a_planted_join_link_does_not_join_the_victim_at_their_next_log_in(
    client, group, facilitator, outsider
):
    link = invite_link_create(group=group, created_by=facilitator)
    open_token(client, reverse("groups:join", args=[link.token]))  # planted while signed out

    response = client.post("/accounts/login/", {"login": "olga", "password": PASSWORD})

    assert response["Location"] == PENDING  # asked, never added
    assert not is_member(outsider, group)
    confirm = client.get(PENDING)
    assert "Do you want to join “Tuesday Reading Circle” as Olga Outsider?" in text_of(confirm)
    assert "No thanks" in text_of(confirm)
    declined = client.post(PENDING, {"decision": "no"}, follow=True)
    assert "You did not join “Tuesday Reading Circle”." in text_of(declined)
    assert not is_member(outsider, group)
    client.logout()
    again = client.post("/accounts/login/", {"login": "olga", "password": PASSWORD})
    assert again["Location"] == "/"  # forgotten: nothing waits any more
    link.refresh_from_db()
    assert link.use_count == 0


def test_the_pending_page_needs_a_post_with_the_decision_to_join(client, group, facilitator):
    link = invite_link_create(group=group, created_by=facilitator)
    person = User.objects.create_user(username="pia", email="pia@example.org", password=PASSWORD)
    client.force_login(person)
    open_token(client, reverse("groups:join", args=[link.token]))

    assert client.get(PENDING).status_code == 200
    assert client.post(PENDING, {}).status_code == 400
    assert not is_member(person, group)
    assert accept_pending(client).status_code == 302
    assert is_member(person, group)


def test_a_signed_out_post_to_the_pending_page_is_sent_to_log_in(client, group, facilitator):
    link = invite_link_create(group=group, created_by=facilitator)
    open_token(client, reverse("groups:join", args=[link.token]))

    response = accept_pending(client)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/invitation/"


def test_with_nothing_opened_the_pending_page_says_so(client, outsider):
    for signed_in in (False, True):
        if signed_in:
            client.force_login(outsider)
        response = client.get(PENDING)
        assert response.status_code == 404
        assert INVITATION_PROBLEMS["none"] in text_of(response)


# --- 11. tokens: hashed, in one request, out of next, Referer, session and logs ---------------


def every_stored_text() -> str:
    """Every text column of the project's invitation tables and the sessions."""
    from django.contrib.sessions.models import Session

    rows = [*InviteLink.objects.values(), *EmailInvitation.objects.values()]
    sessions = [s.get_decoded() for s in Session.objects.all()]
    return repr(rows) + repr(sessions)


def test_only_a_hash_of_each_token_is_stored(client, group, facilitator, outsider):
    link = invite_link_create(group=group, created_by=facilitator)
    invitation = invitation_for(group, facilitator, "olga@example.com")
    client.force_login(outsider)
    open_token(client, reverse("groups:join", args=[link.token]))

    stored = every_stored_text()

    for made in (link, invitation):
        assert len(made.token) == 43
        assert made.token not in stored  # not in the tables, not in the session
        assert type(made).objects.get(pk=made.pk).token is None
        assert type(made).objects.get(pk=made.pk).token_hash == token_digest(made.token)
    with pytest.raises(ValueError):
        InviteLink.objects.get(pk=link.pk).token_path()


def test_the_token_lives_in_one_request_and_never_in_next(client, group, facilitator):
    link = invite_link_create(group=group, created_by=facilitator)

    response = client.get(reverse("groups:join", args=[link.token]))

    assert response.status_code == 302
    assert response["Location"] == PENDING
    assert response["Referrer-Policy"] == "no-referrer"
    page = client.get(PENDING)
    assert link.token not in page.content.decode()
    assert "next=/invitation/" in page.content.decode()
    assert "/join/" not in page.content.decode()


@pytest.mark.parametrize("kind", ["join", "invitation"])
def test_every_answer_at_a_token_url_is_a_no_referrer_redirect(client, group, facilitator, kind):
    """No page is ever shown at a token's URL, so none can leak it as a Referer; the redirect
    says no-referrer, so the page it leads to is not told the token either."""
    link = invite_link_create(group=group, created_by=facilitator)
    made = link if kind == "join" else invitation_for(group, facilitator, "x@example.org")
    good = reverse(f"groups:{kind}", args=[made.token])
    unknown = reverse(f"groups:{kind}", args=["a" * 43])

    for path, location in [(good, PENDING), (unknown, f"{PENDING}?problem=unknown")]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == location
        assert response["Referrer-Policy"] == "no-referrer"
    client.force_login(facilitator)  # a member is sent to the group
    member = client.get(good)
    assert member["Location"] == f"/groups/{group.slug}/"
    assert member["Referrer-Policy"] == "no-referrer"
    # the token-free page has forms: under no-referrer their POSTs would say Origin: null
    assert client.get(PENDING)["Referrer-Policy"] == "same-origin"


def test_a_dead_token_writes_no_session(client, group, facilitator):
    link = invite_link_create(group=group, created_by=facilitator)
    InviteLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())

    response = client.get(reverse("groups:join", args=[link.token]))
    shown = client.get(response["Location"])

    assert response["Location"] == f"{PENDING}?problem=revoked"
    assert shown.status_code == 410
    assert "turned off by the group's facilitator" in text_of(shown)
    assert "sessionid" not in client.cookies


def test_tokens_are_blanked_in_the_request_logs(client, caplog, group, facilitator):
    link = invite_link_create(group=group, created_by=facilitator)
    dead = invite_link_create(group=group, created_by=facilitator)
    InviteLink.objects.filter(pk=dead.pk).update(revoked_at=timezone.now())
    caplog.set_level(logging.INFO)

    client.post(reverse("groups:join", args=[dead.token]))  # 405, logged by django.request
    client.put(reverse("groups:invitation", args=["Q" * 43]))  # 405, logged
    logging.getLogger("django.server").info('"GET %s HTTP/1.1" 302 0', link.token_path())

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Method Not Allowed (POST): /join/[token]/" in logged
    assert "Method Not Allowed (PUT): /invitations/[token]/" in logged
    assert '"GET /join/[token]/ HTTP/1.1" 302 0' in logged
    for token in (link.token, dead.token, "Q" * 43):
        assert token not in logged


def test_tokens_are_blanked_in_error_reports(client, group, facilitator, settings, monkeypatch):
    """A server error while a token is in the URL: the mail to ADMINS and the DEBUG page."""
    from groups import services

    link = invite_link_create(group=group, created_by=facilitator)
    path = reverse("groups:join", args=[link.token])

    def broken(*args, **kwargs):
        raise RuntimeError("the session store is down")

    monkeypatch.setattr(services, "invitation_remember", broken)
    client.raise_request_exception = False
    settings.ADMINS = [("Ops", "ops@example.org")]

    settings.DEBUG = False
    assert client.get(path).status_code == 500
    (report,) = mail.outbox
    assert "/join/[token]/" in report.subject + report.body
    assert link.token not in report.subject + report.body + repr(report.alternatives)

    settings.DEBUG = True
    debug_page = client.get(path)
    assert debug_page.status_code == 500
    assert "/join/[token]/" in debug_page.content.decode()
    assert link.token not in debug_page.content.decode()


def test_redaction_leaves_the_facilitators_own_pages_alone():
    assert redact("/groups/circle/invitations/emails/") == "/groups/circle/invitations/emails/"
    assert redact("/invitations/for-you/12/") == "/invitations/for-you/12/"
    token = "x" * 43
    assert redact(f"GET https://site/join/{token}/ 200") == "GET https://site/join/[token]/ 200"
    assert redact(f"'/invitations/{token}/'") == "'/invitations/[token]/'"


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_existing_tokens_so_links_already_sent_keep_working():
    """Rows written with plain tokens (before migration 0007) open with the same tokens."""
    executor = MigrationExecutor(connection)
    before, after = (
        [("groups", "0006_groupreading_live_version")],
        executor.loader.graph.leaf_nodes("groups"),
    )
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    OldGroup = old_apps.get_model("groups", "ReadingGroup")
    OldLink = old_apps.get_model("groups", "InviteLink")
    OldInvitation = old_apps.get_model("groups", "EmailInvitation")
    group = OldGroup.objects.create(name="Old Circle", slug="old-circle")
    OldLink.objects.create(group=group, token="old-link-token-" + "L" * 28)
    OldInvitation.objects.create(
        group=group,
        email="ana@example.org",
        token="old-invitation-token-" + "I" * 22,
        expires_at=timezone.now() + timedelta(days=3),
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    link = InviteLink.objects.for_token("old-link-token-" + "L" * 28).get()
    invitation = EmailInvitation.objects.for_token("old-invitation-token-" + "I" * 22).get()
    assert link.group.name == invitation.group.name == "Old Circle"
    assert "old-link-token" not in repr(list(InviteLink.objects.values()))
    assert "old-invitation-token" not in repr(list(EmailInvitation.objects.values()))
