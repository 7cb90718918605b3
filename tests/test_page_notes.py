"""Discussions of the whole reading (Hypothesis's "page notes"): a root annotation with no
passage, started from the top of the reading page, listed above the text and among the
threads, never drawn in the text."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services
from annotations.access import Action, permits, visible_annotations
from annotations.models import Annotation
from assignments.services import assignment_create
from commonplace import memo
from groups.models import Membership
from groups.services import group_archive
from notifications.models import Kind, Notification
from tests.annotating import create, reply_to

pytestmark = pytest.mark.django_db


def discussion(group, reading, author, body="What did everyone make of the ending?", **kw):
    kw.setdefault("motivation", "questioning")
    return services.annotation_create(
        group=group, reading=reading, author=author, body=body, page_note=True, **kw
    )


def reading_url(group, reading) -> str:
    return reverse("annotations:reading", args=[group.slug, reading.slug])


def discuss_url(group, reading) -> str:
    return reverse("annotations:discuss", args=[group.slug, reading.slug])


# --- the service -------------------------------------------------------------------------------


def test_a_discussion_of_the_whole_reading_has_no_passage(group, essay, member):
    note = discussion(group, essay, member)

    assert note.is_page_note
    assert (note.start, note.end, note.exact) == (None, None, "")
    assert note.anchoring == Annotation.Anchoring.ANCHORED


@pytest.mark.parametrize("motivation", ["highlighting", "tagging", "replying"])
def test_a_discussion_is_a_comment_or_a_question(group, essay, member, motivation):
    with pytest.raises(services.AnnotationError):
        discussion(group, essay, member, motivation=motivation)
    assert not Annotation.objects.exists()


def test_a_discussion_needs_words(group, essay, member):
    with pytest.raises(services.AnnotationError, match="Write something"):
        discussion(group, essay, member, body="   ")


def test_a_discussion_is_never_withheld_by_post_before_you_peek(
    group, essay, facilitator, member, make_user
):
    sami = make_user("sami")
    Membership.objects.create(group=group, user=sami)
    blocks = list(essay.blocks.order_by("position"))
    assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 1",
        first_block=blocks[0].anchor,
        last_block=blocks[-1].anchor,  # the whole reading is locked
        due_at=timezone.now() + timedelta(days=3),
        post_before_peek=True,
    )
    note = discussion(group, essay, member)
    sami_membership = Membership.objects.select_related("group").get(group=group, user=sami)

    assert permits(sami_membership, Action.SEE, note)
    assert visible_annotations(sami_membership).filter(pk=note.pk).exists()


def test_a_private_discussion_is_its_authors_alone(group, essay, facilitator, member):
    note = discussion(group, essay, member, visibility="private")
    fran = Membership.objects.select_related("group").get(group=group, user=facilitator)

    assert not permits(fran, Action.SEE, note)


# --- the pages ---------------------------------------------------------------------------------


def test_the_reading_page_lists_discussions_above_the_text(client, group, essay, member):
    discussion(group, essay, member, body='Is "full" **democracy** possible at work?')
    client.force_login(member)

    page = client.get(reading_url(group, essay)).content.decode()

    assert "About the whole reading" in page
    assert "Is &quot;full&quot; democracy possible at work?" in page  # its words, as text
    assert page.index('id="discussions"') < page.index('class="reading')
    assert 'href="' + discuss_url(group, essay) + '"' in page
    assert "&amp;quot;" not in page  # escaped once


def cold() -> None:
    """Nothing cached: neither the shared cache nor this process's copies (commonplace/memo)."""
    cache.clear()
    memo.clear_all()


def test_the_reading_page_costs_no_more_with_discussions(client, group, essay, member):
    discussion(group, essay, member, body="The first")  # (with none, no tags are read)
    client.force_login(member)
    client.get(reading_url(group, essay))
    cold()  # both counted cold: the layer's summary is built again after a change
    with CaptureQueriesContext(connection) as before:
        client.get(reading_url(group, essay))
    for i in range(5):
        reply_to(discussion(group, essay, member, body=f"Discussion {i}"), member)

    cold()
    with CaptureQueriesContext(connection) as after:
        response = client.get(reading_url(group, essay))

    page = response.content.decode()
    assert page.count('data-thread="') == 3  # the three liveliest, and a link to them all
    assert "All 6 discussions" in page
    assert len(after) == len(before)


def test_starting_a_discussion_from_the_page(client, group, essay, member):
    client.force_login(member)
    assert client.get(discuss_url(group, essay)).status_code == 200

    response = client.post(
        discuss_url(group, essay),
        {
            "kind": "questioning",
            "body": "Where does the essay leave reform?",
            "visibility": "group",
        },
    )

    note = Annotation.objects.get()
    assert note.is_page_note and note.motivation == "questioning"
    assert response.status_code == 302
    assert response["Location"] == reading_url(group, essay) + f"#a-{note.pk}"


def test_an_empty_discussion_is_refused_with_a_field_error(client, group, essay, member):
    client.force_login(member)

    response = client.post(
        discuss_url(group, essay), {"kind": "commenting", "body": "", "visibility": "group"}
    )

    assert response.status_code == 400
    assert "Write something to start the discussion." in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_outsider_gets_404_and_an_archived_group_takes_no_discussion(
    client, group, essay, member, outsider
):
    client.force_login(outsider)
    assert client.get(discuss_url(group, essay)).status_code == 404
    client.force_login(member)
    group_archive(group=group)

    response = client.post(
        discuss_url(group, essay), {"kind": "commenting", "body": "Hi", "visibility": "group"}
    )

    assert response.status_code == 403
    assert not Annotation.objects.exists()


def test_the_discussion_thread_says_what_it_is_about_and_takes_replies(
    client, group, essay, member, facilitator
):
    note = discussion(group, essay, member)
    client.force_login(facilitator)
    thread = reverse("annotations:thread", args=[group.slug, essay.slug, note.pk])

    page = client.get(thread).content.decode()
    response = client.post(
        reverse("annotations:reply", args=[group.slug, essay.slug, note.pk]),
        {"body": "It leaves it to us."},
    )

    assert "About the whole reading" in page and "Show in the text" not in page
    assert response.status_code == 302
    assert note.thread.count() == 1


def test_the_thread_list_includes_discussions(client, group, essay, member):
    create(group, essay, member)
    discussion(group, essay, member, body="A thought on the whole.")
    client.force_login(member)

    page = client.get(reverse("annotations:threads", args=[group.slug, essay.slug]))

    assert "A thought on the whole." in page.content.decode()
    assert "About the whole reading" in page.content.decode()


def test_the_layer_carries_discussions_without_a_position(client, group, essay, member):
    note = discussion(group, essay, member)
    client.force_login(member)

    data = client.get(reverse("annotations:layer", args=[group.slug, essay.slug])).json()

    row = dict(zip(data["columns"], data["rows"][0], strict=True))
    assert row["id"] == note.pk and row["start"] is None and row["end"] is None


def test_a_reply_to_a_discussion_tells_its_author_where(group, essay, member, facilitator):
    note = discussion(group, essay, member)

    reply_to(note, facilitator, body="Good question.")

    told = Notification.objects.get(recipient=member, kind=Kind.REPLY)
    assert told.place == essay.title
