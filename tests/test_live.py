"""Meeting mode (meetings/live.py): start, spotlight, end, and the state every open page reads.

Walls first (outsiders 404, members 403, archived groups refused), then bad input (each a clear
error and no change), then what the state tells each member: never a thread they may not see.
The version endpoint answers both figures in one indexed query.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from annotations.models import Annotation
from assignments.services import assignment_create
from commonplace.compiled import readable
from groups.models import GroupReading, Membership
from groups.services import group_archive
from meetings.live import LiveError, live_spotlight, live_start, live_state
from meetings.models import AgendaItem, LiveSession, Meeting
from tests.annotating import QUOTE, create, reply_to, span


def url(name: str, group, essay) -> str:
    return reverse(f"live:{name}", args=[group.slug, essay.slug])


def gr(group, essay) -> GroupReading:
    return GroupReading.objects.select_related("group", "reading").get(group=group, reading=essay)


def membership(group, user) -> Membership:
    return Membership.objects.select_related("group").get(group=group, user=user)


def post(client, name, group, essay, data=None, *, fetch=True):
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    return client.post(url(name, group, essay), data or {}, headers=headers)


def live_version(group, essay) -> int:
    return gr(group, essay).live_version


def running(group, essay) -> LiveSession | None:
    return LiveSession.objects.filter(group_reading=gr(group, essay), ended_at__isnull=True).first()


@pytest.fixture
def as_facilitator(client, facilitator, group):
    client.force_login(facilitator)
    return client


@pytest.fixture
def started(group, essay, facilitator):
    return live_start(group_reading=gr(group, essay), by=membership(group, facilitator))


@pytest.fixture
def thread(group, essay, member):
    return create(group, essay, member, body="Is full democracy the whole premise?")


@pytest.fixture
def meeting(group, facilitator):
    return Meeting.objects.create(
        group=group, title="Week 2", starts_at=timezone.now(), created_by=facilitator
    )


# --- the walls -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["start", "end", "spotlight"])
def test_it_rejects_get(as_facilitator, group, essay, name):
    assert as_facilitator.get(url(name, group, essay)).status_code == 405


@pytest.mark.parametrize("name", ["start", "end", "spotlight", "state"])
def test_outsider_gets_404(client, group, essay, outsider, other_member, other_group, name):
    for person in (outsider, other_member):
        client.force_login(person)
        response = (
            client.get(url(name, group, essay))
            if name == "state"
            else post(client, name, group, essay)
        )
        assert response.status_code == 404
    assert live_version(group, essay) == 0


@pytest.mark.parametrize("name", ["start", "end", "spotlight"])
def test_member_without_the_role_gets_403(client, group, essay, member, name):
    client.force_login(member)
    assert (
        post(client, name, group, essay, {"kind": "passage", "start": 0, "end": 5}).status_code
        == 403
    )
    assert live_version(group, essay) == 0
    assert not LiveSession.objects.exists()


def test_an_archived_group_cannot_start_meeting_mode(as_facilitator, group, essay):
    group_archive(group=group)
    response = post(as_facilitator, "start", group, essay)
    assert response.status_code == 403
    assert not LiveSession.objects.exists()


def test_a_signed_out_visitor_is_sent_to_log_in(client, group, essay):
    assert post(client, "start", group, essay).status_code == 302
    assert client.get(url("state", group, essay)).status_code == 302


# --- start, spotlight, end -----------------------------------------------------------------


def test_a_facilitator_starts_spotlights_and_ends_meeting_mode(as_facilitator, group, essay):
    response = post(as_facilitator, "start", group, essay)
    assert response.status_code == 200
    assert response.json()["running"] is True
    assert response.json()["leader"] == "Fran Facilitator"
    assert live_version(group, essay) == 1

    start, end = span(essay, QUOTE)
    response = post(
        as_facilitator, "spotlight", group, essay, {"kind": "passage", "start": start, "end": end}
    )
    assert response.status_code == 200
    assert response.json()["spotlight"] | {"at": None} == {
        "kind": "passage",
        "start": start,
        "end": end,
        "at": None,
    }
    assert live_version(group, essay) == 2

    response = post(as_facilitator, "end", group, essay)
    assert response.status_code == 200
    assert response.json() == {"running": False, "can_run": True}
    assert live_version(group, essay) == 3
    assert running(group, essay) is None


def test_the_plain_forms_go_back_to_the_page_with_a_message(as_facilitator, group, essay):
    response = post(as_facilitator, "start", group, essay, fetch=False)
    assert response.status_code == 302
    assert response["Location"] == reverse("annotations:reading", args=[group.slug, essay.slug])
    page = as_facilitator.get(response["Location"]).content.decode()
    assert "Meeting mode is on." in page
    assert "End meeting" in page

    response = post(as_facilitator, "start", group, essay, fetch=False)
    assert response.status_code == 302
    assert (
        "Meeting mode is already running."
        in as_facilitator.get(response["Location"]).content.decode()
    )


def test_starting_twice_is_refused(as_facilitator, group, essay, started):
    before = live_version(group, essay)
    response = post(as_facilitator, "start", group, essay)
    assert response.status_code == 409
    assert response.json() == {"error": "Meeting mode is already running.", "status": 409}
    assert live_version(group, essay) == before
    assert LiveSession.objects.count() == 1


def test_ending_when_not_running_is_refused(as_facilitator, group, essay):
    response = post(as_facilitator, "end", group, essay)
    assert response.status_code == 409
    assert response.json()["error"] == "Meeting mode is not running."
    assert live_version(group, essay) == 0


def test_spotlighting_when_not_running_is_refused(as_facilitator, group, essay):
    response = post(
        as_facilitator, "spotlight", group, essay, {"kind": "passage", "start": 0, "end": 9}
    )
    assert response.status_code == 409
    assert live_version(group, essay) == 0


def test_meeting_mode_starts_again_after_it_ended(as_facilitator, group, essay, started):
    post(as_facilitator, "end", group, essay)
    assert post(as_facilitator, "start", group, essay).status_code == 200
    assert LiveSession.objects.count() == 2


def test_meeting_mode_on_one_reading_leaves_another_groups_alone(
    as_facilitator, group, other_group, essay, started
):
    assert live_version(other_group, essay) == 0
    assert running(other_group, essay) is None


def test_starting_ties_meeting_mode_to_the_meeting_on_now(as_facilitator, group, essay, meeting):
    Meeting.objects.create(
        group=group, title="Next month", starts_at=timezone.now() + timedelta(days=30)
    )
    post(as_facilitator, "start", group, essay)
    assert running(group, essay).meeting == meeting


def test_starting_with_another_groups_meeting_is_refused(
    as_facilitator, group, other_group, essay, other_member
):
    theirs = Meeting.objects.create(group=other_group, title="Theirs", starts_at=timezone.now())
    response = post(as_facilitator, "start", group, essay, {"meeting": theirs.pk})
    assert response.status_code == 400
    assert not LiveSession.objects.exists()


# --- bad input to the spotlight ------------------------------------------------------------


def spotlight_refused(client, group, essay, data) -> str:
    before = live_version(group, essay)
    session = running(group, essay)
    response = post(client, "spotlight", group, essay, data)
    assert response.status_code == 400, response.content
    assert live_version(group, essay) == before
    after = running(group, essay)
    assert (after.spotlight, after.spotlight_at) == (session.spotlight, session.spotlight_at)
    return response.json()["error"]


@pytest.mark.parametrize(
    ("start", "end"),
    [(-1, 5), (5, 5), (9, 3), ("x", 4), (None, 4), (0, 10**7)],
)
def test_a_passage_outside_the_text_is_refused(as_facilitator, group, essay, started, start, end):
    data = {"kind": "passage"}
    data |= {k: v for k, v in {"start": start, "end": end}.items() if v is not None}
    error = spotlight_refused(as_facilitator, group, essay, data)
    assert "whole number" in error or "within the text" in error


def test_a_passage_up_to_the_texts_end_is_taken(as_facilitator, group, essay, started):
    length = len(essay.canonical_text())
    data = {"kind": "passage", "start": length - 10, "end": length}
    assert post(as_facilitator, "spotlight", group, essay, data).status_code == 200


def test_an_unknown_kind_is_refused(as_facilitator, group, essay, started):
    assert "passage, a thread" in spotlight_refused(as_facilitator, group, essay, {"kind": "x"})


def test_a_thread_of_another_group_is_refused(
    as_facilitator, group, other_group, essay, started, other_member
):
    theirs = create(other_group, essay, other_member, body="Night shift thoughts")
    error = spotlight_refused(as_facilitator, group, essay, {"kind": "thread", "thread": theirs.pk})
    assert error == "There is no such thread in this group's reading."


def test_a_thread_that_does_not_exist_is_refused(as_facilitator, group, essay, started):
    for bad in ("987654", "abc", ""):
        spotlight_refused(as_facilitator, group, essay, {"kind": "thread", "thread": bad})


def test_a_hidden_thread_is_refused(as_facilitator, group, essay, started, thread, facilitator):
    annotation_services.annotation_hide(annotation=thread, by=facilitator, note="Off topic")
    error = spotlight_refused(as_facilitator, group, essay, {"kind": "thread", "thread": thread.pk})
    assert "hidden" in error


def test_the_facilitators_own_private_note_is_refused(
    as_facilitator, group, essay, started, facilitator
):
    mine = create(group, essay, facilitator, body="Note to self", visibility="private")
    error = spotlight_refused(as_facilitator, group, essay, {"kind": "thread", "thread": mine.pk})
    assert "private" in error


def test_a_members_private_note_is_refused_without_telling_it_exists(
    as_facilitator, group, essay, started, member
):
    theirs = create(group, essay, member, body="Maria's own", visibility="private")
    error = spotlight_refused(as_facilitator, group, essay, {"kind": "thread", "thread": theirs.pk})
    assert error == "There is no such thread in this group's reading."


def test_a_reply_spotlights_its_thread(as_facilitator, group, essay, started, thread, member):
    reply = reply_to(thread, member)
    response = post(
        as_facilitator, "spotlight", group, essay, {"kind": "thread", "thread": reply.pk}
    )
    assert response.status_code == 200
    assert response.json()["spotlight"]["thread"] == thread.pk


def test_an_agenda_item_of_another_groups_meeting_is_refused(
    as_facilitator, group, other_group, essay, started, other_member
):
    theirs = Meeting.objects.create(group=other_group, title="Theirs", starts_at=timezone.now())
    item = AgendaItem.objects.create(meeting=theirs, text="Their business")
    error = spotlight_refused(as_facilitator, group, essay, {"kind": "agenda", "item": item.pk})
    assert error == "There is no such item on this group's agendas."


def test_an_agenda_item_is_spotlighted_with_its_thread(
    as_facilitator, group, essay, started, meeting, thread
):
    item = AgendaItem.objects.create(meeting=meeting, thread=thread)
    response = post(as_facilitator, "spotlight", group, essay, {"kind": "agenda", "item": item.pk})
    assert response.status_code == 200
    spot = response.json()["spotlight"]
    assert (spot["kind"], spot["thread"], spot["text"]) == ("agenda", thread.pk, "")
    assert (spot["start"], spot["end"]) == (thread.start, thread.end)


def test_the_spotlight_can_be_taken_off(as_facilitator, group, essay, started):
    post(as_facilitator, "spotlight", group, essay, {"kind": "passage", "start": 0, "end": 4})
    response = post(as_facilitator, "spotlight", group, essay, {"kind": ""})
    assert response.status_code == 200
    assert response.json()["spotlight"] is None


def test_a_failed_spotlight_in_the_service_changes_nothing(group, essay, started, facilitator):
    before = live_version(group, essay)
    with pytest.raises(LiveError):
        live_spotlight(
            group_reading=gr(group, essay),
            by=membership(group, facilitator),
            kind="passage",
            start=4,
            end=2,
        )
    assert live_version(group, essay) == before


# --- what the state tells each member ------------------------------------------------------


def state_of(client, group, essay) -> dict:
    response = client.get(url("state", group, essay))
    assert response.status_code == 200
    return response.json()


def test_members_see_the_state_with_the_leaders_name(client, group, essay, member, started):
    client.force_login(member)
    state = state_of(client, group, essay)
    assert state["running"] is True
    assert state["leader"] == "Fran Facilitator"
    assert state["leading"] is False
    assert state["can_run"] is False
    assert state["spotlight"] is None
    assert "agenda" not in state


def test_the_state_answers_304_until_it_changes(client, group, essay, member, facilitator, started):
    client.force_login(member)
    first = client.get(url("state", group, essay))
    etag = first["ETag"]
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]
    assert (
        client.get(url("state", group, essay), headers={"If-None-Match": etag}).status_code == 304
    )
    live_spotlight(
        group_reading=gr(group, essay),
        by=membership(group, facilitator),
        kind="passage",
        start=0,
        end=3,
    )
    assert (
        client.get(url("state", group, essay), headers={"If-None-Match": etag}).status_code == 200
    )


def spotlight_thread_for_all(group, essay, facilitator, thread):
    live_spotlight(
        group_reading=gr(group, essay),
        by=membership(group, facilitator),
        kind="thread",
        thread=thread.pk,
    )


def test_a_thread_hidden_after_its_spotlight_is_named_only_to_facilitators(
    client, group, essay, member, make_user, facilitator, started, thread
):
    spotlight_thread_for_all(group, essay, facilitator, thread)
    annotation_services.annotation_hide(annotation=thread, by=facilitator, note="Spoiler")
    reader = make_user("rosa")
    Membership.objects.create(group=group, user=reader)

    client.force_login(reader)
    spot = state_of(client, group, essay)["spotlight"]
    assert "thread" not in spot
    assert (spot["kind"], spot["start"], spot["end"]) == ("passage", thread.start, thread.end)

    client.force_login(member)  # its author still sees it
    assert state_of(client, group, essay)["spotlight"]["thread"] == thread.pk
    client.force_login(facilitator)
    assert state_of(client, group, essay)["spotlight"]["thread"] == thread.pk


def test_a_thread_withheld_by_post_before_you_peek_is_not_named(
    client, group, essay, member, make_user, facilitator, started
):
    start, end = span(essay, QUOTE)
    block = next(
        b for b in essay.blocks.order_by("position") if QUOTE in b.text
    )  # the quote's paragraph, assigned with post before you peek
    assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 1",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=3),
        post_before_peek=True,
    )
    thread = create(group, essay, member, body="Maria's answer")
    spotlight_thread_for_all(group, essay, facilitator, thread)
    reader = make_user("rosa")
    Membership.objects.create(group=group, user=reader)

    client.force_login(reader)
    body = client.get(url("state", group, essay)).content.decode()
    assert str(thread.pk) not in json.dumps(json.loads(body)["spotlight"].get("thread", ""))
    spot = json.loads(body)["spotlight"]
    assert spot["kind"] == "passage" and "thread" not in spot
    assert "Maria" not in body


def test_a_deleted_spotlit_thread_is_no_spotlight(
    client, group, essay, member, facilitator, started
):
    thread = create(group, essay, member, body="Soon gone")
    spotlight_thread_for_all(group, essay, facilitator, thread)
    annotation_services.annotation_delete(annotation=thread)
    client.force_login(member)
    assert state_of(client, group, essay)["spotlight"] is None


def test_the_facilitator_gets_the_meetings_agenda(
    as_facilitator, group, essay, meeting, thread, member
):
    AgendaItem.objects.create(meeting=meeting, position=0, thread=thread)
    AgendaItem.objects.create(meeting=meeting, position=1, text="What next?")
    private = create(
        group,
        essay,
        member,
        body="mine",
        visibility="private",
        quote="When socialists talk about ordinary people",
    )
    AgendaItem.objects.create(meeting=meeting, position=2, thread=private)
    post(as_facilitator, "start", group, essay)
    agenda = state_of(as_facilitator, group, essay)["agenda"]
    assert [a["label"] for a in agenda] == [QUOTE, "What next?"]
    assert meeting.title == state_of(as_facilitator, group, essay)["meeting"]


def test_an_archived_group_shows_no_meeting_mode(client, group, essay, member, started):
    group_archive(group=group)
    client.force_login(member)
    assert state_of(client, group, essay) == {"running": False, "can_run": False}


# --- the reading page and the version figure -----------------------------------------------


def reading_page(client, group, essay) -> str:
    return client.get(
        reverse("annotations:reading", args=[group.slug, essay.slug])
    ).content.decode()


def test_the_reading_page_offers_start_meeting_to_facilitators_only(
    client, group, essay, member, facilitator
):
    client.force_login(facilitator)
    page = reading_page(client, group, essay)
    assert "Start meeting" in page
    assert url("start", group, essay) in page
    client.force_login(member)
    page = reading_page(client, group, essay)
    assert "Start meeting" not in page
    assert url("state", group, essay) in page  # the script learns where to ask


def test_the_reading_page_shows_the_banner_while_meeting_mode_runs(
    client, group, essay, member, started
):
    client.force_login(member)
    page = reading_page(client, group, essay)
    assert "Fran Facilitator is leading" in page
    assert 'data-running="1"' in page


@pytest.mark.parametrize("ran", [False, True])
def test_the_reading_pages_extras_cost_one_query(
    group, essay, member, facilitator, django_assert_num_queries, ran
):
    from meetings.live import reading_page_extras

    if ran:
        live_start(group_reading=gr(group, essay), by=membership(group, facilitator))
    group_reading = gr(group, essay)
    mine = membership(group, member)
    with django_assert_num_queries(1):
        live = reading_page_extras(membership=mine, group_reading=group_reading)["live"]
    assert live["running"] is ran
    assert live["leader"] == "Fran Facilitator" if ran else True
    assert live["leading"] is False


@pytest.mark.parametrize(
    ("starts_in", "on"),
    [
        (timedelta(hours=2), False),
        (timedelta(minutes=50), True),
        (timedelta(0), True),
        (-timedelta(hours=2), True),
        (-timedelta(hours=6), False),
    ],
)
def test_the_reading_page_knows_when_a_meeting_is_on(group, essay, member, starts_in, on):
    from meetings.live import reading_page_extras

    Meeting.objects.create(group=group, title="Week 2", starts_at=timezone.now() + starts_in)
    Meeting.objects.create(
        group=group, title="Cancelled", starts_at=timezone.now(), cancelled_at=timezone.now()
    )
    live = reading_page_extras(membership=membership(group, member), group_reading=gr(group, essay))
    assert live["live"]["meeting_on"] is on


def version_url(group, essay) -> str:
    return reverse("annotations:version", args=[group.slug, essay.slug])


def test_the_version_answers_both_figures_in_one_query_and_304_until_either_moves(
    client, group, essay, member, facilitator
):
    client.force_login(member)
    first = client.get(version_url(group, essay))
    assert first.json() == {"version": 0, "live": 0}
    with CaptureQueriesContext(connection) as queries:
        again = client.get(version_url(group, essay), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    own = [
        readable(q["sql"])
        for q in queries.captured_queries
        if "groups_groupreading" in readable(q["sql"])
    ]
    assert len(own) == 1
    assert "layer_version" in own[0] and "live_version" in own[0]

    live_start(group_reading=gr(group, essay), by=membership(group, facilitator))
    moved = client.get(version_url(group, essay), headers={"If-None-Match": first["ETag"]})
    assert moved.status_code == 200
    assert moved.json() == {"version": 0, "live": 1}


def test_every_change_to_meeting_mode_moves_the_live_figure_once(
    as_facilitator, group, essay, thread
):
    steps = [
        ("start", {}),
        ("spotlight", {"kind": "thread", "thread": thread.pk}),
        ("spotlight", {"kind": "passage", "start": 0, "end": 8}),
        ("end", {}),
    ]
    for n, (name, data) in enumerate(steps, start=1):
        assert post(as_facilitator, name, group, essay, data).status_code == 200
        assert live_version(group, essay) == n
    assert gr(group, essay).layer_version == 1  # only the thread's creation


def test_the_state_in_python_agrees_with_live_json(client, group, essay, member, started):
    client.force_login(member)
    assert state_of(client, group, essay) == live_state(membership(group, member), gr(group, essay))


def test_a_new_note_moves_only_the_layer_figure(client, group, essay, member, started):
    before = gr(group, essay)
    create(group, essay, member, body="New", quote="When socialists talk about ordinary people")
    after = gr(group, essay)
    assert after.layer_version == before.layer_version + 1
    assert after.live_version == before.live_version
    assert Annotation.objects.count() == 1
