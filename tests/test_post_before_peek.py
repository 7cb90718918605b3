"""“Post before you peek”: in an assignment's range, until it is due, a member sees the
others' annotations and replies only after posting their own there. The rule lives in the
permission table (annotations/access.py: peek_locks, the `see` line); these tests prove it on
every surface an annotation can appear: the reading page and its data (and the cached layer),
thread pages and lists, the W3C API (container, pages, single annotation) and counts."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from annotations.access import peek_locks
from assignments.models import Assignment
from groups.models import GroupReading, Membership
from tests.annotating import QUOTE, create, layer_at, prompt_for, reply_to
from tests.test_annotation_pages import block_of, margin_counts

OUTSIDE = "When socialists talk about ordinary people"  # a passage outside the range


@pytest.fixture(autouse=True)
def database_cache(settings):
    """The database cache deployments use: what one person's request caches, another reads."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "commonplace_cache",
        }
    }  # its rows are rolled back with each test's transaction


@pytest.fixture
def lee(make_user, group):
    lee = make_user("lee", display_name="Lee Lurker")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    return lee


@pytest.fixture
def assignment(group, essay, facilitator):
    """The block holding QUOTE, with post before you peek on, due in a week."""
    block = block_of(essay, QUOTE)
    return Assignment.objects.create(
        group_reading=GroupReading.objects.get(group=group, reading=essay),
        title="Week 1",
        first_block=block.anchor,
        last_block=block.anchor,
        start=block.start,
        end=block.start + len(block.text),
        due_at=timezone.now() + timedelta(days=7),
        post_before_peek=True,
        created_by=facilitator,
    )


@pytest.fixture
def world(group, essay, member, lee, facilitator, assignment):
    """Maria (member) and Fran (facilitator) wrote in the range, Maria also outside it; Fran
    set a prompt that Maria answered. Lee has posted nothing."""
    prompt = prompt_for(assignment, facilitator, body="What does “from below” mean here?")
    return {
        "note": create(group, essay, member, body="Maria's note in the range."),
        "fran": create(group, essay, facilitator, body="Fran's note in the range."),
        "answer": reply_to(prompt, member, body="Maria's answer to the prompt."),
        "outside": create(group, essay, member, quote=OUTSIDE, body="Outside the range."),
        "prompt": prompt,
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reading_url(group, essay) -> str:
    return reverse("annotations:reading", args=[group.slug, essay.slug])


def ids_on_layer(client, group, essay) -> set[int]:
    return {row["id"] for row in layer_at(client, reading_url(group, essay))}


WITHHELD = ("note", "fran")


def test_a_member_who_has_not_posted_sees_only_the_prompt_and_whats_outside(
    group, essay, lee, world
):
    lee_client = signed_in(lee)

    assert ids_on_layer(lee_client, group, essay) == {world["prompt"].pk, world["outside"].pk}
    page = lee_client.get(reading_url(group, essay)).content.decode()
    for name in (*WITHHELD, "answer"):
        assert world[name].body not in page
    anchor = block_of(essay, QUOTE).anchor
    assert margin_counts(page)[anchor] == 1  # the prompt's thread only


def test_the_thread_page_and_list_withhold_too(group, essay, lee, world):
    lee_client = signed_in(lee)
    for name in WITHHELD:
        thread = reverse("annotations:thread", args=[group.slug, essay.slug, world[name].pk])
        assert lee_client.get(thread).status_code == 404
    prompt_thread = lee_client.get(
        reverse("annotations:thread", args=[group.slug, essay.slug, world["prompt"].pk])
    ).content.decode()
    assert world["prompt"].body in prompt_thread.replace("&quot;", "“")  # the prompt shows
    assert world["answer"].body not in prompt_thread  # but not Maria's answer
    listing = lee_client.get(
        reverse("annotations:threads", args=[group.slug, essay.slug])
    ).content.decode()
    for name in (*WITHHELD, "answer"):
        assert world[name].body not in listing


def test_the_api_withholds_the_same(group, essay, lee, world):
    raw = api_token_create(user=lee, name="reader")[1]
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    container = reverse("annotations:container", args=[group.slug, essay.slug])

    body = api.get(container).json()
    seen = {item["id"].rsplit("/", 1)[1] for item in body["first"]["items"]}
    assert seen == {str(world["prompt"].pk), str(world["outside"].pk)}
    assert body["total"] == 2
    page = api.get(container + "?page=0").json()
    assert {item["id"].rsplit("/", 1)[1] for item in page["items"]} == seen
    for name in (*WITHHELD, "answer"):
        item = reverse("annotations:annotation", args=[group.slug, essay.slug, world[name].pk])
        assert api.get(item).status_code == 404, name


def test_posting_in_the_range_unlocks_everything_there_at_once(group, essay, lee, world):
    lee_client = signed_in(lee)
    ids_on_layer(lee_client, group, essay)  # caches the locked class's layer

    mine = create(group, essay, lee, body="Lee's own note.")

    every = {a.pk for a in (world["prompt"], world["outside"], world["note"], world["fran"])}
    assert ids_on_layer(lee_client, group, essay) == every | {mine.pk}
    thread = reverse("annotations:thread", args=[group.slug, essay.slug, world["note"].pk])
    assert lee_client.get(thread).status_code == 200


def test_answering_the_prompt_unlocks_too(group, essay, lee, world):
    reply_to(world["prompt"], lee, body="Lee's answer.")

    assert world["note"].pk in ids_on_layer(signed_in(lee), group, essay)


@pytest.mark.parametrize("kind", ["highlight", "private note"])
def test_a_highlight_or_a_private_note_does_not_unlock_but_shows_to_its_author(
    group, essay, lee, world, kind
):
    fields = {"body": ""} if kind == "highlight" else {"visibility": "private"}
    mine = create(group, essay, lee, **fields)
    membership = Membership.objects.select_related("group").get(group=group, user=lee)

    assert peek_locks(membership)
    assert ids_on_layer(signed_in(lee), group, essay) == {
        world["prompt"].pk,
        world["outside"].pk,
        mine.pk,
    }


def test_once_due_everything_shows(group, essay, lee, world, assignment):
    assignment.due_at = timezone.now() - timedelta(minutes=1)
    assignment.save()

    assert {world["note"].pk, world["fran"].pk} <= ids_on_layer(signed_in(lee), group, essay)


def test_the_option_off_withholds_nothing(group, essay, lee, world, assignment):
    assignment.post_before_peek = False
    assignment.save()

    assert {world["note"].pk, world["fran"].pk} <= ids_on_layer(signed_in(lee), group, essay)


def test_facilitators_and_posters_always_see_everything(group, essay, member, facilitator, world):
    every = {a.pk for a in (world["prompt"], world["outside"], world["note"], world["fran"])}
    assert ids_on_layer(signed_in(facilitator), group, essay) == every
    assert ids_on_layer(signed_in(member), group, essay) == every  # Maria posted there


@pytest.mark.parametrize("first", ["unlocked", "locked"])
def test_the_cached_layer_never_carries_one_members_view_to_another(
    group, essay, member, lee, world, first
):
    """Whichever member's request fills the cache, the other reads only what is theirs."""
    people = [member, lee] if first == "unlocked" else [lee, member]
    seen = {person.username: ids_on_layer(signed_in(person), group, essay) for person in people}

    assert world["note"].pk in seen["maria"]
    assert world["note"].pk not in seen["lee"] and world["fran"].pk not in seen["lee"]


def test_the_reading_page_counts_nothing_withheld(group, essay, lee, world):
    page = signed_in(lee).get(reading_url(group, essay)).content.decode()
    anchor_out = block_of(essay, OUTSIDE).anchor

    assert margin_counts(page) == {block_of(essay, QUOTE).anchor: 1, anchor_out: 1}
    assert "2 threads" in page


def test_the_cards_excerpts_withhold_too(group, essay, lee, member, world):
    url = reverse("annotations:excerpts", args=[group.slug, essay.slug])
    ids = ",".join(str(world[name].pk) for name in ("prompt", "note", "fran", "outside"))

    lees = signed_in(lee).get(url, {"ids": ids}).json()["excerpts"]
    marias = signed_in(member).get(url, {"ids": ids}).json()["excerpts"]

    assert set(lees) == {str(world["prompt"].pk), str(world["outside"].pk)}
    assert marias[str(world["note"].pk)] == "Maria's note in the range."
    assert len(marias) == 4


@pytest.mark.parametrize("ids", ["", "1,x", ",".join(["1"] * 61)])
def test_the_excerpts_refuse_a_bad_list_clearly(group, essay, member, ids):
    url = reverse("annotations:excerpts", args=[group.slug, essay.slug])
    response = signed_in(member).get(url, {"ids": ids})
    assert response.status_code == 400
    assert "ids" in response.json()["error"]


def test_the_layer_marks_prompts_and_whats_new_since_the_last_visit(
    group, essay, member, lee, world
):
    membership = Membership.objects.get(group=group, user=lee)
    membership.previous_visit_at = timezone.now() - timedelta(hours=3)
    membership.save()
    create(group, essay, lee, body="Lee's own, unlocking the range.")

    rows = {row["id"]: row for row in layer_at(signed_in(lee), reading_url(group, essay))}

    assert rows[world["prompt"].pk]["prompt"] == world["prompt"].prompt_of_id
    assert rows[world["note"].pk]["prompt"] is None
    assert rows[world["note"].pk]["new"] is True  # Maria wrote it since Lee's last visit
    assert not any(row["new"] for row in rows.values() if row["mine"])
