"""Deleting a group, a reading or an account: each asks first, says what will go and what will
stay, and then does exactly that in one transaction (commonplace/deletion.py).

An account's shared notes and replies stay, named “former member” wherever authors are named
(thread page, reading page layer, W3C API, exports, search, notifications and their email);
its private notes go. A group goes with everything in it; a text a group imported goes with
everything on it.
"""

from datetime import timedelta
from html import unescape

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, User
from accounts.tokens import api_token_create
from annotations.models import Annotation, Flag, PlusOne
from annotations.services import annotation_flag, annotation_plus_one
from assignments.models import Assignment
from assignments.services import assignment_create
from commonplace.deletion import DeletionBlocked
from groups.models import (
    EmailInvitation,
    GroupReading,
    InviteLink,
    Membership,
    ReadingGroup,
)
from groups.services import (
    group_archive,
    group_create,
    group_reading_import,
    invite_link_create,
    membership_set_role,
)
from meetings.models import AgendaItem, Meeting
from meetings.services import agenda_pin, meeting_create
from notifications.emails import notification_message
from notifications.models import Notification
from readings.models import Block, Reading, Section
from search.models import SearchEntry
from tests.annotating import create, reply_to
from tests.conftest import PASSWORD

FORMER = "former member"


def text(response) -> str:
    """The page as a reader reads it (entities such as &#x27; unescaped)."""
    return unescape(response.content.decode())


MINUTES = b"# Minutes of the Circle\n\nWhat we said on Tuesday, for us alone.\n"


def thread_url(note) -> str:
    return reverse("annotations:thread", args=[note.group.slug, note.reading.slug, note.pk])


def layer_authors(client, group, reading) -> dict[int, str]:
    data = client.get(reverse("annotations:layer", args=[group.slug, reading.slug])).json()
    columns = data["columns"]
    return {
        row[columns.index("id")]: data["people"][row[columns.index("author")]]["name"]
        for row in data["rows"]
    }


# --- an account ----------------------------------------------------------------------------------


@pytest.fixture
def marias_world(group, essay, member, facilitator):
    """Maria's traces in the circle: a shared comment (with Fran's reply), a reply to Fran's
    question, a private note with her own reply, a +1, a flag, a token and an email address."""
    question = create(
        group, essay, facilitator, body="What is *full* democracy?", motivation="questioning"
    )
    shared = create(
        group, essay, member, quote="full democracy", body="Maria's shared thought about power."
    )
    answer_of_fran = reply_to(shared, facilitator, body="Fran answers Maria.")
    reply = reply_to(question, member, body="Maria's reply: everyone decides.")
    private = create(
        group,
        essay,
        member,
        quote="The premise of socialism",
        body="Maria's secret doubt.",
        visibility="private",
    )
    private_reply = reply_to(private, member, body="Maria's second secret.")
    annotation_plus_one(annotation=question, user=member)
    annotation_flag(annotation=answer_of_fran, user=member, reason="Too curt")
    api_token_create(user=member, name="Maria's script")
    EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
    return {
        "question": question,
        "shared": shared,
        "reply": reply,
        "private": private,
        "private_reply": private_reply,
    }


def delete_account(client, password=PASSWORD):
    return client.post(reverse("accounts:delete"), {"password": password})


def test_the_account_page_says_what_will_go_and_what_will_stay(client, member, marias_world):
    client.force_login(member)

    response = client.get(reverse("accounts:delete"))

    html = text(response)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "Your 2 private notes" in html
    assert "Your 2 shared notes, highlights and replies stay" in html
    assert "shown as written by “former member”" in html
    assert "Your membership of 1 group (“Tuesday Reading Circle”)" in html
    assert "Your API tokens" in html
    assert 'name="password"' in html
    assert "This cannot be undone" in html
    assert User.objects.filter(pk=member.pk).exists()


def test_a_wrong_password_deletes_nothing(client, member, marias_world):
    client.force_login(member)

    response = delete_account(client, password="not-my-password")

    assert response.status_code == 400
    assert "That is not your password" in text(response)
    assert User.objects.filter(pk=member.pk).exists()
    assert Annotation.objects.filter(author=member).count() == 4


def test_deleting_an_account_keeps_what_was_shared_as_a_former_members(
    client, group, essay, member, facilitator, marias_world
):
    member_pk = member.pk
    client.force_login(member)

    response = delete_account(client)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not User.objects.filter(pk=member_pk).exists()
    # signed out: the next page asks to log in
    assert client.get(reverse("accounts:profile")).status_code == 302
    # personal data gone with the row
    assert not EmailAddress.objects.filter(email=member.email).exists()
    assert not ApiToken.objects.filter(user_id=member_pk).exists()
    assert not Membership.objects.filter(user_id=member_pk).exists()
    assert not Flag.objects.filter(user_id=member_pk).exists()
    # private notes gone, shared ones kept without an author
    w = marias_world
    assert not Annotation.objects.filter(pk__in=[w["private"].pk, w["private_reply"].pk]).exists()
    kept = Annotation.objects.filter(pk__in=[w["shared"].pk, w["reply"].pk])
    assert [a.author_id for a in kept] == [None, None]
    # +1s still count
    assert Annotation.objects.get(pk=w["question"].pk).plus_count == 1
    assert PlusOne.objects.filter(annotation=w["question"], user__isnull=True).count() == 1

    client.force_login(facilitator)
    thread = text(client.get(thread_url(w["shared"])))
    assert not SearchEntry.objects.filter(
        annotation_id__in=[w["private"].pk, w["private_reply"].pk]
    ).exists()
    if connection.vendor == "postgresql":  # search's own rows are the database's (triggers)
        assert SearchEntry.objects.filter(annotation_id=w["shared"].pk).exists()
    assert "Maria's shared thought about power." in thread
    assert FORMER in thread and "Maria Member" not in thread
    question_thread = text(client.get(thread_url(w["question"])))
    assert "Maria's reply: everyone decides." in question_thread
    assert FORMER in question_thread

    authors = layer_authors(client, group, essay)
    assert authors[w["shared"].pk] == FORMER
    assert w["private"].pk not in authors

    api = client.get(
        reverse("annotations:annotation", args=[group.slug, essay.slug, w["shared"].pk])
    )
    assert api.json()["creator"] == {"type": "Person", "name": FORMER}

    csv = text(client.get(reverse("exports:csv", args=[group.slug, essay.slug])))
    assert FORMER in csv and "Maria Member" not in csv and "secret" not in csv
    markdown = client.get(reverse("exports:markdown", args=[group.slug, essay.slug]))
    assert FORMER in text(markdown)

    found = client.get(reverse("search:results", args=[group.slug]), {"q": "everyone decides"})
    assert "everyone decides" in text(found)
    assert FORMER in text(found)


def test_every_page_of_the_group_still_works_after_a_members_account_goes(
    client, group, essay, member, facilitator, marias_world
):
    start = timezone.now() + timedelta(days=7)
    meeting = meeting_create(
        group=group,
        created_by=facilitator,
        title="Tuesday",
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
    )
    agenda_pin(
        meeting=meeting,
        by=Membership.objects.get(group=group, user=facilitator),
        thread=marias_world["shared"],
    )
    client.force_login(member)
    delete_account(client)
    client.force_login(facilitator)
    g, r = [group.slug], [group.slug, essay.slug]
    pages = [
        reverse("groups:detail", args=g),
        reverse("annotations:reading", args=r),
        reverse("annotations:threads", args=r),
        reverse("annotations:threads", args=r) + "?flagged=1",
        reverse("progress:since", args=g),
        reverse("progress:participation", args=r),
        reverse("meetings:detail", args=[group.slug, meeting.pk]),
        reverse("exports:packet", args=r),
        reverse("exports:jsonld", args=r),
        reverse("annotations:container", args=r),
        reverse("notifications:inbox"),
    ]

    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Maria Member" not in text(response), path
    agenda = text(client.get(reverse("meetings:detail", args=[group.slug, meeting.pk])))
    assert FORMER in agenda


def test_notifications_about_a_deleted_account_name_a_former_member(
    client, group, essay, member, facilitator, marias_world
):
    client.force_login(member)
    delete_account(client)

    notification = Notification.objects.get(recipient=facilitator, annotation=marias_world["reply"])
    message = notification_message(notification, now=timezone.now())

    assert message.subject.startswith("A former member replied")
    assert "A former member wrote:" in message.body
    client.force_login(facilitator)
    inbox = text(client.get(reverse("notifications:inbox")))
    assert "A former member replied to your question" in inbox


def test_the_only_facilitator_is_asked_to_hand_over_first(client, group, facilitator, member):
    note = create(group, group.readings.first(), facilitator, body="Fran's note.")
    client.force_login(facilitator)

    page = text(client.get(reverse("accounts:delete")))
    refused = delete_account(client)

    assert "You are the only facilitator of “Tuesday Reading Circle”" in page
    assert 'name="password"' not in page
    assert refused.status_code == 400
    assert User.objects.filter(pk=facilitator.pk).exists()
    assert Annotation.objects.get(pk=note.pk).author_id == facilitator.pk

    membership_set_role(
        membership=Membership.objects.get(group=group, user=member), role="facilitator"
    )
    assert delete_account(client).status_code == 302
    assert not User.objects.filter(pk=facilitator.pk).exists()
    assert ReadingGroup.objects.filter(pk=group.pk).exists()
    assert Annotation.objects.get(pk=note.pk).author_id is None


def test_the_service_checks_the_rule_again_inside_its_transaction(group, facilitator):
    from accounts.deletion import account_delete

    with pytest.raises(DeletionBlocked):
        account_delete(user=facilitator)

    assert User.objects.filter(pk=facilitator.pk).exists()


def test_a_group_with_nobody_else_goes_with_its_only_member(client, outsider, essay):
    alone = group_create(name="Olga's Solitary Circle", created_by=outsider)
    GroupReading.objects.create(group=alone, reading=essay, added_by=outsider)
    create(alone, essay, outsider, body="Only Olga reads here.")
    client.force_login(outsider)

    page = text(client.get(reverse("accounts:delete")))
    delete_account(client)

    assert "“Olga's Solitary Circle”, of which you are the only member" in page
    assert not ReadingGroup.objects.filter(pk=alone.pk).exists()
    assert not Annotation.objects.filter(group_id=alone.pk).exists()
    assert Reading.objects.filter(pk=essay.pk).exists()


def test_deleting_an_account_needs_a_csrf_token(member):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(member)

    response = delete_account(client)

    assert response.status_code == 403
    assert User.objects.filter(pk=member.pk).exists()


def test_deleting_an_account_needs_a_signed_in_person_and_takes_no_get(client, member):
    assert client.get(reverse("accounts:delete")).status_code == 302
    client.force_login(member)
    client.get(reverse("accounts:delete"))
    assert User.objects.filter(pk=member.pk).exists()


# --- a group -------------------------------------------------------------------------------------


@pytest.fixture
def full_group(group, essay, facilitator, member):
    """The circle with something of every kind in it, and a text of its own."""
    own = group_reading_import(
        group=group, added_by=facilitator, data=MINUTES, filename="minutes.md", overrides={}
    )
    note = create(group, essay, member, body="Worth a long talk.")
    reply_to(note, facilitator, body="Let's talk on Tuesday.")  # notifies Maria
    create(group, essay, member, quote="full democracy", body="Mine alone.", visibility="private")
    block = essay.blocks.first()
    assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 1",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=7),
    )
    start = timezone.now() + timedelta(days=7)
    meeting = meeting_create(
        group=group,
        created_by=facilitator,
        title="Tuesday",
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        link="",
    )
    agenda_pin(
        meeting=meeting, by=Membership.objects.get(group=group, user=facilitator), thread=note
    )
    invite_link_create(group=group, created_by=facilitator, label="Newsletter")
    EmailInvitation.objects.create(
        group=group,
        email="guest@example.com",
        invited_by=facilitator,
        expires_at=timezone.now() + timedelta(days=30),
    )
    return own


def delete_url(group) -> str:
    return reverse("groups:delete", args=[group.slug])


def test_the_group_page_says_what_will_go(client, group, facilitator, full_group):
    client.force_login(facilitator)

    html = text(client.get(delete_url(group)))

    assert "The group's list of 2 people (1 facilitator)" in html
    assert "Its reading list of 2 readings" in html
    assert "1 text the group imported for itself" in html
    assert "1 reading from the library stays in the library" in html
    assert "1 shared note or highlight with 1 reply, hidden ones included" in html
    assert "Every member's private notes in the group" in html
    assert "1 assignment" in html
    assert "1 meeting, with their agendas and recaps" in html
    assert "1 invitation link and 1 pending email invitation: they stop working" in html
    assert "Type the group's name to confirm" in html


def test_a_wrong_name_deletes_nothing(client, group, facilitator, full_group):
    client.force_login(facilitator)

    response = client.post(delete_url(group), {"confirm_name": "Tuesday Circle"})

    assert response.status_code == 400
    assert "That is not the group's name" in text(response)
    assert ReadingGroup.objects.filter(pk=group.pk).exists()


def test_deleting_a_group_takes_everything_in_it_and_nothing_else(
    client, group, other_group, essay, facilitator, member, other_member, full_group
):
    theirs = create(other_group, essay, other_member, body="Night shift thoughts.")
    gid = group.pk
    client.force_login(facilitator)

    response = client.post(delete_url(group), {"confirm_name": "  tuesday reading  CIRCLE "})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not ReadingGroup.objects.filter(pk=gid).exists()
    assert not Membership.objects.filter(group_id=gid).exists()
    assert not Annotation.objects.filter(group_id=gid).exists()
    assert not Assignment.objects.filter(group_reading__group_id=gid).exists()
    assert not Meeting.objects.filter(group_id=gid).exists()
    assert not AgendaItem.objects.exists()
    assert not Notification.objects.filter(group_id=gid).exists()
    assert not InviteLink.objects.filter(group_id=gid).exists()
    assert not EmailInvitation.objects.filter(group_id=gid).exists()
    assert not SearchEntry.objects.filter(group_id=gid).exists()
    assert not Reading.objects.filter(pk=full_group.reading_id).exists()
    assert not Section.objects.filter(reading_id=full_group.reading_id).exists()
    assert not Block.objects.filter(reading_id=full_group.reading_id).exists()
    # the people, the library text and the other group stay
    assert User.objects.filter(pk__in=[facilitator.pk, member.pk]).count() == 2
    assert Reading.objects.filter(pk=essay.pk).exists()
    assert Annotation.objects.filter(pk=theirs.pk).exists()
    if connection.vendor == "postgresql":
        assert SearchEntry.objects.filter(annotation_id=theirs.pk).exists()
    client.force_login(member)
    assert client.get(reverse("groups:detail", args=[group.slug])).status_code == 404


def test_an_archived_group_can_be_deleted(client, group, facilitator):
    group_archive(group=group)
    client.force_login(facilitator)

    response = client.post(delete_url(group), {"confirm_name": group.name})

    assert response.status_code == 302
    assert not ReadingGroup.objects.filter(pk=group.pk).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_member_gets_403_and_an_outsider_404_for_deleting_a_group(
    client, group, member, outsider, method
):
    data = {"confirm_name": group.name}
    client.force_login(member)
    assert getattr(client, method)(delete_url(group), data).status_code == 403
    client.force_login(outsider)
    assert getattr(client, method)(delete_url(group), data).status_code == 404
    assert ReadingGroup.objects.filter(pk=group.pk).exists()


def test_the_settings_page_leads_to_deleting_the_group(client, group, facilitator, member):
    client.force_login(facilitator)
    assert delete_url(group) in text(client.get(reverse("groups:settings", args=[group.slug])))


# --- a reading -----------------------------------------------------------------------------------


def reading_delete_url(group, reading) -> str:
    return reverse("groups:reading_delete", args=[group.slug, reading.slug])


def test_a_text_the_group_imported_can_be_deleted_with_everything_on_it(
    client, group, essay, facilitator, member, full_group
):
    minutes = full_group.reading
    note = create(group, minutes, member, quote="What we said", body="We said a lot.")
    reply_to(note, facilitator)
    create(group, minutes, member, quote="for us alone", body="Shh.", visibility="private")
    block = minutes.blocks.first()
    assignment_create(
        group=group,
        reading=minutes,
        created_by=facilitator,
        title="Read the minutes",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=7),
    )
    meeting = Meeting.objects.get(group=group)
    agenda_pin(
        meeting=meeting, by=Membership.objects.get(group=group, user=facilitator), thread=note
    )
    client.force_login(facilitator)

    page = text(client.get(reading_delete_url(group, minutes)))
    home = text(client.get(reverse("groups:detail", args=[group.slug])))
    done = client.post(reading_delete_url(group, minutes))

    assert "The text “Minutes of the Circle” itself (1 section)" in page
    assert "The group's 1 shared note or highlight with 1 reply on it" in page
    assert "Every member's private notes on it" in page
    assert "1 assignment of it" in page
    assert "1 agenda item pinning its threads (the meetings stay)" in page
    assert reading_delete_url(group, minutes) in home
    assert reading_delete_url(group, essay) not in home  # a library text is only taken off
    assert done.status_code == 302
    assert not Reading.objects.filter(pk=minutes.pk).exists()
    assert not Annotation.objects.filter(reading_id=minutes.pk).exists()
    assert not Assignment.objects.filter(title="Read the minutes").exists()
    assert Meeting.objects.filter(pk=meeting.pk).exists()
    assert AgendaItem.objects.filter(meeting=meeting).count() == 1  # the essay's thread
    assert Annotation.objects.filter(reading=essay, group=group).count() == 3


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_library_reading_cannot_be_deleted_by_a_group(client, group, essay, facilitator, method):
    client.force_login(facilitator)

    response = getattr(client, method)(reading_delete_url(group, essay))

    assert response.status_code == 403
    assert "can only be taken off the group's list" in text(response)
    assert GroupReading.objects.filter(group=group, reading=essay).exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_who_may_delete_a_reading(client, group, facilitator, member, outsider, full_group, method):
    url = reading_delete_url(group, full_group.reading)
    client.force_login(member)
    assert getattr(client, method)(url).status_code == 403
    client.force_login(outsider)
    assert getattr(client, method)(url).status_code == 404
    group_archive(group=group)
    client.force_login(facilitator)
    assert getattr(client, method)(url).status_code == 403
    assert Reading.objects.filter(pk=full_group.reading_id).exists()


def test_taking_a_reading_off_the_list_says_what_goes_and_what_stays(
    client, group, essay, facilitator, full_group
):
    client.force_login(facilitator)

    page = client.post(reverse("groups:reading_remove", args=[group.slug, essay.slug]))

    html = text(page)
    assert "The group's annotations on it are kept (1 shared note or highlight with 1 reply" in html
    assert (
        "Deleted: its 1 assignment (their discussion prompts stay, as ordinary questions)." in html
    )
    assert "a facilitator can add it again from the library" in html
    assert GroupReading.objects.filter(group=group, reading=essay).exists()


def test_no_mail_is_sent_about_a_deleted_group(client, group, facilitator, full_group):
    client.force_login(facilitator)
    client.post(delete_url(group), {"confirm_name": group.name})
    from django.core.management import call_command

    call_command("send_notifications", verbosity=0)

    assert mail.outbox == []


def test_the_admin_deletes_an_account_the_same_way(client, group, essay, member, make_user):
    private = create(group, essay, member, body="Admin must not keep this.", visibility="private")
    shared = create(group, essay, member, quote="full democracy", body="For the group.")
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:accounts_user_delete", args=[member.pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk=member.pk).exists()
    assert not Annotation.objects.filter(pk=private.pk).exists()
    assert Annotation.objects.get(pk=shared.pk).author_id is None


def test_the_admin_is_refused_for_a_groups_only_facilitator(client, group, facilitator, make_user):
    admin = make_user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    url = reverse("admin:accounts_user_delete", args=[facilitator.pk])

    page = text(client.get(url))
    client.post(url, {"post": "yes"})

    assert "You are the only facilitator of “Tuesday Reading Circle”" in page
    assert User.objects.filter(pk=facilitator.pk).exists()


# --- in the browser: the pages, light and dark, desktop and phone ------------------------------

SCHEMES = ["light", "dark"]
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


# axe in both colour schemes and on both devices, not every pair (each run takes seconds)
AXE_RUNS = {("desktop", "light"), ("phone", "dark")}


@pytest.mark.browser
def test_the_confirmation_pages_read_well_and_pass_axe(
    browser, live_server, transactional_db, group, essay, facilitator, member
):
    from axe_playwright_python.sync_playwright import Axe
    from django.test import Client

    from tests.conftest import screenshot

    own = group_reading_import(
        group=group, added_by=facilitator, data=MINUTES, filename="minutes.md", overrides={}
    )
    note = create(group, essay, member, body="Worth a long talk.")
    reply_to(note, facilitator, body="Let's talk on Tuesday.")
    create(group, essay, member, quote="full democracy", body="Mine.", visibility="private")
    cookies = {}
    for user in (facilitator, member):
        c = Client()
        c.force_login(user)
        cookies[user.pk] = c.cookies["sessionid"].value
    pages = [
        (facilitator, "group", delete_url(group)),
        (facilitator, "reading", reading_delete_url(group, own.reading)),
        (facilitator, "account-blocked", reverse("accounts:delete")),
        (member, "account", reverse("accounts:delete")),
    ]
    axe, problems = Axe(), []
    for device, options in DEVICES.items():
        for scheme in SCHEMES:
            context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **options)
            page = context.new_page()
            page.set_default_timeout(10_000)
            try:
                for who, name, path in pages:
                    context.clear_cookies()
                    context.add_cookies(
                        [{"name": "sessionid", "value": cookies[who.pk], "url": live_server.url}]
                    )
                    assert page.goto(path).status == 200
                    width = page.evaluate("document.documentElement.scrollWidth")
                    assert width <= options["viewport"]["width"], f"{name} scrolls sideways"
                    screenshot(page, f"deletion-{name}-{device}-{scheme}")
                    if (device, scheme) not in AXE_RUNS:
                        continue
                    problems += [
                        f"{name} {device} {scheme}: {v['id']} {v['help']}"
                        for v in axe.run(page).response["violations"]
                        if v["impact"] in {"serious", "critical"}
                    ]
            finally:
                context.close()
    assert problems == []


@pytest.mark.browser
def test_a_facilitator_deletes_the_group_by_typing_its_name(page, login, group, facilitator):
    login(page, facilitator)
    page.goto(reverse("groups:settings", args=[group.slug]))
    page.get_by_role("link", name="Delete the group…").click()

    page.get_by_label("Type the group's name to confirm").fill("Tuesday Reading")
    page.get_by_role("button", name="Delete the group").click()
    assert page.get_by_text("That is not the group's name").is_visible()
    assert ReadingGroup.objects.filter(pk=group.pk).exists()

    page.get_by_label("Type the group's name to confirm").fill("Tuesday Reading Circle")
    page.get_by_role("button", name="Delete the group").click()
    page.wait_for_url(live_url(page, reverse("home")))
    assert page.get_by_text("“Tuesday Reading Circle” is deleted").is_visible()
    assert not ReadingGroup.objects.filter(pk=group.pk).exists()


def live_url(page, path: str) -> str:
    base = page.url.split("/", 3)[:3]
    return "/".join(base) + path


# --- at the same time (PostgreSQL) ---------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="Row locks only race on PostgreSQL.")
@pytest.mark.django_db(transaction=True)
def test_a_note_written_while_its_group_is_deleted_goes_with_it(group, essay, member):
    import threading
    import time

    from django.db import transaction

    from groups.services import group_delete

    written, release, results = threading.Event(), threading.Event(), {}

    def writer():
        try:
            with transaction.atomic():
                create(group, essay, member, body="Written while the group goes.")
                written.set()
                release.wait(10)  # committed only once the deletion has begun
        except BaseException as error:
            results["writer"] = error
        finally:
            connection.close()

    def deleter():
        try:
            written.wait(10)
            group_delete(group=ReadingGroup.objects.get(pk=group.pk))
            results["deleted"] = True
        except BaseException as error:
            results["deleter"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=writer), threading.Thread(target=deleter)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    waited = "deleted" not in results  # the deletion waits for the note's transaction
    release.set()
    for thread in threads:
        thread.join(timeout=30)

    assert results == {"deleted": True}
    assert waited
    assert not ReadingGroup.objects.filter(pk=group.pk).exists()
    assert not Annotation.objects.filter(group_id=group.pk).exists()


def test_an_at_mention_of_a_deleted_account_is_no_longer_a_link(group, essay, member, make_user):
    """Else a later account taking the username would inherit the links to it."""
    from accounts.deletion import account_delete

    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee)
    note = create(group, essay, member, body="What do you think, @lee?")
    assert 'class="mention"' in note.body_html

    account_delete(user=lee)

    note.refresh_from_db()
    assert "@lee" in note.body_html
    assert 'class="mention"' not in note.body_html and "member=lee" not in note.body_html
