"""Destructive actions ask first: without JavaScript the first post answers with a page that
says what will happen; only a post with confirmed=1 acts. (The script's dialog adds it.)"""

import pytest
from django.urls import reverse

from annotations.models import Annotation
from groups.models import GroupReading, InviteLink, Membership
from groups.services import invite_link_create
from tests.annotating import create, reply_to


@pytest.fixture
def link(group, facilitator):
    return invite_link_create(group=group, created_by=facilitator, label="Newsletter")


@pytest.fixture
def discussed(group, essay, member, facilitator):
    note = create(group, essay, member, body="Worth a thread.")
    reply_to(note, facilitator, body="Agreed.")
    return note


def destructive(name, group, essay, member, link, discussed):
    """(url, who acts, words the page must say, has it happened?)"""
    slug = group.slug
    return {
        "remove a member": (
            reverse("groups:member_remove", args=[slug, member.pk]),
            "facilitator",
            "Maria Member will no longer see",
            lambda: not Membership.objects.filter(group=group, user=member).exists(),
        ),
        "archive the group": (
            reverse("groups:archive", args=[slug]),
            "facilitator",
            "facilitators cannot remove, promote or demote anyone",
            lambda: group.__class__.objects.get(pk=group.pk).is_archived,
        ),
        "take a reading off the list": (
            reverse("groups:reading_remove", args=[slug, essay.slug]),
            "facilitator",
            "annotations on it are kept",
            lambda: not GroupReading.objects.filter(group=group, reading=essay).exists(),
        ),
        "revoke an invitation link": (
            reverse("groups:link_revoke", args=[slug, link.pk]),
            "facilitator",
            "Nobody else will be able to join with it",
            lambda: InviteLink.objects.get(pk=link.pk).revoked_at is not None,
        ),
        "delete an annotation with replies": (
            reverse("annotations:delete", args=[slug, essay.slug, discussed.pk]),
            "member",
            "It has 1 reply: they stay",
            lambda: Annotation.objects.get(pk=discussed.pk).is_deleted,
        ),
        "leave the group": (
            reverse("groups:leave", args=[slug]),
            "member",
            "You will no longer see the group",
            lambda: not Membership.objects.filter(group=group, user=member).exists(),
        ),
    }[name]


NAMES = [
    "remove a member",
    "archive the group",
    "take a reading off the list",
    "revoke an invitation link",
    "delete an annotation with replies",
    "leave the group",
]


@pytest.mark.parametrize("name", NAMES)
def test_a_destructive_action_asks_first_and_then_acts(
    name, client, group, essay, member, facilitator, link, discussed
):
    url, actor, words, happened = destructive(name, group, essay, member, link, discussed)
    client.force_login(facilitator if actor == "facilitator" else member)

    asked = client.post(url)

    page = asked.content.decode()
    assert asked.status_code == 200
    assert words in page
    assert 'name="confirmed" value="1"' in page
    assert f'action="{url}"' in page
    assert "Cancel" in page
    assert not happened(), "it acted before the person confirmed"

    done = client.post(url, {"confirmed": "1"})

    assert done.status_code == 302
    assert happened()


def test_the_confirmation_page_carries_the_forms_fields(client, group, member, facilitator):
    client.force_login(facilitator)
    url = reverse("groups:member_remove", args=[group.slug, member.pk])

    page = client.post(url, {"note": "<b>x</b>"}).content.decode()

    assert '<input type="hidden" name="note" value="&lt;b&gt;x&lt;/b&gt;">' in page
