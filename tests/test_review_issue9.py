"""A reviewer's probes of issue 9 (assignments, prompts, "post before you peek", progress, since
your last visit, the facilitator's participation view and heat map).

Each probe states what should hold. Probes that hold stay as regression tests; a probe that
found a bug is marked `xfail(strict=True, reason="BUG: ...")`, so the suite stays green while
the bug is on record (and the mark must go when the bug is fixed: strict xfail then fails).

Most probes run on the database cache that deployments use, so that what one person's request
caches is what another's reads.
"""

import csv
import html
import io
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from annotations import services
from annotations.access import peek_locks
from annotations.models import Annotation, Flag
from assignments import services as assignment_services
from assignments.contents import blocks_of
from assignments.models import Assignment, SectionRead
from groups.models import GroupReading, Membership
from groups.services import group_archive
from readings.layout import reading_layout
from tests.annotating import QUOTE, create, layer_at, prompt_for, reply_to, span
from tests.test_annotation_pages import block_of, margin_counts

OUTSIDE = "When socialists talk about ordinary people"  # a passage outside the range
SECRET = "Maria's withheld note"
SECRET_REPLY = "Fran's withheld reply"
SECRET_ANSWER = "Maria's withheld answer"
SECRET_FRAN = "Fran's withheld note"
SECRET_TAG = "zebrasecret"


@pytest.fixture(autouse=True)
def database_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "commonplace_cache",
        }
    }


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(user) -> Client:
    raw = api_token_create(user=user, name="probe")[1]
    return Client(headers={"Authorization": f"Bearer {raw}"})


def reading_url(group, essay, suffix: str = "") -> str:
    return reverse("annotations:reading", args=[group.slug, essay.slug]) + suffix


def note_url(name: str, group, essay, annotation) -> str:
    return reverse(f"annotations:{name}", args=[group.slug, essay.slug, annotation.pk])


@pytest.fixture
def lee(make_user, group):
    lee = make_user("lee", display_name="Lee Lurker")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    return lee


@pytest.fixture
def assignment(group, essay, facilitator):
    """The block holding QUOTE, with post before you peek on, due in a week (made through the
    service, as the form does)."""
    block = block_of(essay, QUOTE)
    return assignment_services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 1",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=7),
        post_before_peek=True,
    )


@pytest.fixture
def world(group, essay, member, lee, facilitator, assignment):
    """Maria (member) and Fran (facilitator) wrote in the range: a tagged note of Maria's with
    Fran's reply, a note of Fran's, Maria's answer to Fran's prompt; Maria also wrote outside.
    Lee has posted nothing."""
    prompt = prompt_for(assignment, facilitator, body="What does from below mean here?")
    note = create(group, essay, member, body=SECRET, tags=[SECRET_TAG])
    return {
        "prompt": prompt,
        "note": note,
        "reply": reply_to(note, facilitator, body=SECRET_REPLY),
        "fran": create(
            group,
            essay,
            facilitator,
            quote="full democracy",
            body=SECRET_FRAN,
            motivation="questioning",
        ),
        "answer": reply_to(prompt, member, body=SECRET_ANSWER),
        "outside": create(group, essay, member, quote=OUTSIDE, body="Outside the range."),
    }


WITHHELD = ("note", "reply", "fran", "answer")
SECRETS = (SECRET, SECRET_REPLY, SECRET_ANSWER, SECRET_FRAN, SECRET_TAG)


def assert_no_secret(text: str, where: str = "") -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaks {where}"


# --- 1. post before you peek: every surface ----------------------------------------------------


READING_QUERIES = [
    "",
    f"?tag={SECRET_TAG}",
    "?member=maria",
    "?member=fran",
    "?show=all&questions=unanswered",
    "?highlights=hide",
]


@pytest.mark.parametrize("query", READING_QUERIES)
def test_the_reading_page_and_its_layer_withhold_under_every_filter(
    group, essay, lee, world, query
):
    lee_client = signed_in(lee)

    page = lee_client.get(reading_url(group, essay, query)).content.decode()
    rows = layer_at(lee_client, reading_url(group, essay, query))

    if SECRET_TAG in query:  # the filter echoes the tag asked for, known or not
        unknown = lee_client.get(reading_url(group, essay, "?tag=nosuchtag")).content.decode()
        assert page.count(SECRET_TAG) == unknown.count("nosuchtag")
        page = page.replace(SECRET_TAG, "")
    assert_no_secret(page, f"on the reading page{query}")
    assert {row["id"] for row in rows} <= {world["prompt"].pk, world["outside"].pk}
    prompt_rows = [row for row in rows if row["id"] == world["prompt"].pk]
    for row in prompt_rows:  # Maria's answer is withheld: the prompt has no reply to Lee
        assert row["replies"] == 0 and not row["answered"]
    counts = margin_counts(page)
    assert counts.get(block_of(essay, QUOTE).anchor, 0) <= 1  # the prompt's thread at most
    assert f'value="{SECRET_TAG}"' not in page


def test_the_reading_page_says_how_many_notes_wait(group, essay, lee, world):
    page = signed_in(lee).get(reading_url(group, essay)).content.decode()

    # note, reply, fran, answer: four notes of the others', visible once Lee posts
    assert "4 notes from the group, visible once you post yours" in page
    assert "2 threads" in page


THREAD_LISTS = [
    "",
    "?orphans=1",
    "?flagged=1",
    "?member=maria",
    f"?tag={SECRET_TAG}",
    "?questions=unanswered",
]


@pytest.mark.parametrize("query", THREAD_LISTS)
def test_the_thread_lists_withhold(group, essay, member, lee, world, query):
    Flag.objects.create(annotation=world["note"], user=member, reason="spam?")
    url = reverse("annotations:threads", args=[group.slug, essay.slug])
    block = block_of(essay, QUOTE).anchor

    for suffix in (query, f"{query}{'&' if query else '?'}block={block}"):
        response = signed_in(lee).get(url + suffix)
        assert response.status_code == 200
        text = response.content.decode().replace(f"tag={SECRET_TAG}", "")
        assert_no_secret(text, f"on the thread list{suffix}")


def test_the_prompts_thread_page_and_fragment_hide_the_answers(group, essay, lee, world):
    url = note_url("thread", group, essay, world["prompt"])
    for suffix in ("", "?fragment=1", f"?reply_to={world['answer'].pk}"):
        response = signed_in(lee).get(url + suffix)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), f"on the prompt's thread{suffix}")


@pytest.mark.parametrize("name", WITHHELD)
def test_every_thread_address_of_a_withheld_note_is_a_404(group, essay, lee, world, name):
    url = note_url("thread", group, essay, world[name])
    for suffix in ("", "?fragment=1"):
        assert signed_in(lee).get(url + suffix).status_code == 404


def api_ids(client, url: str, **headers) -> set[str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    body = response.json()
    items = body.get("items")
    if items is None:
        first = body.get("first")
        items = first.get("items", []) if isinstance(first, dict) else []
    return {(item if isinstance(item, str) else item["id"]).rsplit("/", 1)[1] for item in items}


@pytest.mark.parametrize(
    "query",
    ["", "?page=0", "?page=last", "?after=0", "?before=999999999", "?iris=1", "?page=0&iris=1"],
)
def test_every_page_of_the_api_container_withholds(group, essay, lee, world, query):
    api = bearer(lee)
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    visible = {str(world["prompt"].pk), str(world["outside"].pk)}

    assert api_ids(api, container + query) == visible
    assert api.get(container).json()["total"] == 2
    text = api.get(container + query).content.decode()
    assert_no_secret(text, f"in the container{query}")


def test_the_container_with_prefer_headers_withholds(group, essay, lee, world):
    api = bearer(lee)
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    prefer = 'return=representation;include="http://www.w3.org/ns/oa#PreferContainedIRIs"'

    assert api_ids(api, container, Prefer=prefer) == {
        str(world["prompt"].pk),
        str(world["outside"].pk),
    }
    minimal = 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'
    assert api.get(container, headers={"Prefer": minimal}).json()["total"] == 2


@pytest.mark.parametrize("name", WITHHELD)
def test_the_api_answers_for_a_withheld_note_as_for_no_note(group, essay, lee, world, name):
    api = bearer(lee)
    url = note_url("annotation", group, essay, world[name])
    nowhere = reverse("annotations:annotation", args=[group.slug, essay.slug, 99_999_999])
    before = Annotation.objects.get(pk=world[name].pk)

    for method in ("get", "head", "put", "delete"):
        kwargs = {"content_type": "application/ld+json", "data": "{}"} if method == "put" else {}
        response = getattr(api, method)(url, **kwargs)
        missing = getattr(api, method)(nowhere, **kwargs)
        assert response.status_code == missing.status_code == 404, method
        assert response.content == missing.content
    after = Annotation.objects.get(pk=world[name].pk)
    assert (after.body, after.modified_at) == (before.body, before.modified_at)


@pytest.mark.parametrize("name", WITHHELD)
def test_replying_to_a_withheld_note_through_the_container_is_refused(
    group, essay, lee, world, name
):
    api = bearer(lee)
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    absolute = "http://testserver" + container
    count = Annotation.objects.count()

    response = api.post(
        container,
        data={
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "replying",
            "body": {"type": "TextualBody", "value": "Peeking?", "format": "text/markdown"},
            "target": f"{absolute}{world[name].pk}",
        },
        content_type="application/ld+json",
    )
    missing = api.post(
        container,
        data={
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "replying",
            "body": {"type": "TextualBody", "value": "Peeking?", "format": "text/markdown"},
            "target": f"{absolute}99999999",
        },
        content_type="application/ld+json",
    )

    assert response.status_code in (400, 404)
    assert (response.status_code, response.content) == (missing.status_code, missing.content)
    assert Annotation.objects.count() == count
    assert_no_secret(response.content.decode())


@pytest.mark.parametrize("name", WITHHELD)
@pytest.mark.parametrize(
    "form, data",
    [
        ("reply", {"body": "Peeking?"}),
        ("plus_one", {}),
        ("flag", {"reason": "peek"}),
        ("answer", {"value": "1"}),
        ("hide", {"note": "x"}),
        ("edit", {"body": "mine now"}),
        ("delete", {"confirmed": "1"}),
    ],
)
def test_every_form_on_a_withheld_note_is_a_404_and_changes_nothing(
    group, essay, lee, world, name, form, data
):
    before = {a.pk: (a.body, a.modified_at, a.plus_count) for a in Annotation.objects.all()}
    flags = Flag.objects.count()

    response = signed_in(lee).post(note_url(form, group, essay, world[name]), data)

    assert response.status_code == 404
    after = {a.pk: (a.body, a.modified_at, a.plus_count) for a in Annotation.objects.all()}
    assert after == before and Flag.objects.count() == flags


def test_a_reply_form_naming_a_withheld_reply_as_parent_under_the_prompt_is_a_404(
    group, essay, lee, world
):
    count = Annotation.objects.count()

    response = signed_in(lee).post(
        note_url("reply", group, essay, world["prompt"]),
        {"body": "Under Maria's answer", "parent": world["answer"].pk},
    )

    assert response.status_code == 404
    assert Annotation.objects.count() == count


def test_excerpts_give_nothing_of_withheld_roots_or_replies(group, essay, lee, world):
    url = reverse("annotations:excerpts", args=[group.slug, essay.slug])
    ids = ",".join(str(world[name].pk) for name in (*WITHHELD, "prompt"))

    found = signed_in(lee).get(url, {"ids": ids}).json()["excerpts"]

    assert set(found) == {str(world["prompt"].pk)}


def test_the_annotate_page_and_the_version_endpoint_show_nothing_withheld(group, essay, lee, world):
    anchor = block_of(essay, QUOTE).anchor
    annotate = reverse("annotations:annotate", args=[group.slug, essay.slug, anchor])
    version = reverse("annotations:version", args=[group.slug, essay.slug])

    for url in (annotate, version):
        response = signed_in(lee).get(url)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), url)


# --- the progress pages and the assignments list ----------------------------------------------


def test_this_week_on_the_group_home_and_site_home_counts_nothing_withheld(
    group, essay, lee, world
):
    lee_client = signed_in(lee)
    for url in (reverse("groups:detail", args=[group.slug]), reverse("home")):
        page = lee_client.get(url).content.decode()
        assert_no_secret(page, url)
        assert "4 notes from the group are waiting" in page, url
        # "From the group": the notes Lee may see in the range: none but the prompt, which is
        # not counted as the group's notes ... at most 1
        stat = page.split("<dt>From the group</dt><dd>", 1)[1].split("</dd>", 1)[0]
        assert int(stat) <= 1, url


def test_since_your_last_visit_lists_nothing_withheld(group, essay, lee, world):
    membership = Membership.objects.get(group=group, user=lee)
    membership.previous_visit_at = timezone.now() - timedelta(days=1)
    membership.last_seen_at = timezone.now() - timedelta(days=1)
    membership.save()

    page = signed_in(lee).get(reverse("progress:since", args=[group.slug])).content.decode()

    assert_no_secret(page, "on the since page")
    assert "What does from below mean here?" in page  # the prompt is new to Lee, and shown


def test_the_group_homes_new_count_counts_nothing_withheld(group, essay, lee, world):
    from progress.since import new_count

    membership = Membership.objects.select_related("group").get(group=group, user=lee)
    membership.previous_visit_at = timezone.now() - timedelta(days=1)

    assert new_count(membership) == 2  # the prompt and the note outside the range


def test_the_contents_and_the_assignments_list_show_nothing_withheld(group, essay, lee, world):
    for url in (
        reverse("progress:contents", args=[group.slug, essay.slug]),
        reverse("assignments:list", args=[group.slug]),
    ):
        response = signed_in(lee).get(url)
        assert response.status_code == 200
        assert_no_secret(response.content.decode(), url)


def test_a_locked_member_gets_403_for_participation(group, essay, lee, world):
    url = reverse("progress:participation", args=[group.slug, essay.slug])
    for suffix in ("", "?format=csv", f"?assignment={world['prompt'].prompt_of_id}"):
        assert signed_in(lee).get(url + suffix).status_code == 403


# --- caches ---------------------------------------------------------------------------------


def lee_sees(group, essay, lee) -> tuple[set[int], str, set[str]]:
    client = signed_in(lee)
    ids = {row["id"] for row in layer_at(client, reading_url(group, essay))}
    page = client.get(reading_url(group, essay)).content.decode()
    api = bearer(lee)
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    return ids, page, api_ids(api, container) | api_ids(api, container + "?page=0")


@pytest.mark.parametrize("filler", ["facilitator", "member"])
def test_no_cache_entry_filled_by_an_unlocked_viewer_reaches_a_locked_one(
    request, group, essay, lee, world, filler
):
    person = request.getfixturevalue(filler)
    client = signed_in(person)
    layer_at(client, reading_url(group, essay))
    client.get(reading_url(group, essay))
    client.get(reading_url(group, essay, f"?tag={SECRET_TAG}"))
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    api = bearer(person)
    api.get(container)
    api.get(container + "?page=0")

    ids, page, api_seen = lee_sees(group, essay, lee)

    assert ids == {world["prompt"].pk, world["outside"].pk}
    assert_no_secret(page)
    assert api_seen == {str(world["prompt"].pk), str(world["outside"].pk)}


def test_a_locked_viewers_cache_entries_never_reach_an_unlocked_one(
    group, essay, lee, member, facilitator, world
):
    lee_sees(group, essay, lee)  # fills the locked class's entries first

    for person in (member, facilitator):
        ids = {row["id"] for row in layer_at(signed_in(person), reading_url(group, essay))}
        assert {world["note"].pk, world["fran"].pk} <= ids
        page = signed_in(person).get(reading_url(group, essay)).content.decode()
        assert "4 notes from the group" not in page


# --- when the lock lifts --------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Move the clock (django.utils.timezone.now, which every module reads) to a moment."""

    def move_to(moment):
        monkeypatch.setattr(timezone, "now", lambda: moment)

    return move_to


def test_the_lock_holds_until_the_due_instant_and_lifts_exactly_then(
    group, essay, lee, world, assignment, clock
):
    membership = Membership.objects.select_related("group").get(group=group, user=lee)

    clock(assignment.due_at - timedelta(microseconds=1))
    assert peek_locks(membership)
    membership = Membership.objects.select_related("group").get(group=group, user=lee)
    clock(assignment.due_at)
    assert not peek_locks(membership)


def test_at_the_due_time_a_revalidation_gets_the_unlocked_view_without_any_write(
    group, essay, lee, world, assignment, clock
):
    client = signed_in(lee)
    api = bearer(lee)
    layer = reading_url(group, essay, "layer.json")
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    single = note_url("annotation", group, essay, world["note"])
    locked_layer = client.get(layer)
    locked_container = api.get(container)
    locked_page = api.get(container + "?page=0")
    assert api.get(single).status_code == 404

    clock(assignment.due_at + timedelta(seconds=1))

    again = client.get(layer, headers={"If-None-Match": locked_layer["ETag"]})
    assert again.status_code == 200
    assert world["note"].pk in {row[0] for row in again.json()["rows"]}
    for url, before in ((container, locked_container), (container + "?page=0", locked_page)):
        response = api.get(url, headers={"If-None-Match": before["ETag"]})
        assert response.status_code == 200, url
        assert SECRET in response.content.decode()
    assert api.get(single).status_code == 200
    page = client.get(reading_url(group, essay)).content.decode()
    assert "visible once you post yours" not in page


# --- what unlocks, and what does not --------------------------------------------------------


def locked(group, lee) -> bool:
    membership = Membership.objects.select_related("group").get(group=group, user=lee)
    return bool(peek_locks(membership))


def test_deleting_ones_only_note_in_the_range_locks_again(group, essay, lee, world):
    mine = create(group, essay, lee, body="Lee's note.")
    assert not locked(group, lee)

    services.annotation_delete(annotation=mine)

    assert locked(group, lee)
    assert world["note"].pk not in {
        row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))
    }


def test_a_note_deleted_to_a_placeholder_locks_again(group, essay, member, lee, world):
    mine = create(group, essay, lee, body="Lee's note.")
    reply_to(mine, member, body="Maria replies to Lee.")

    services.annotation_delete(annotation=Annotation.objects.get(pk=mine.pk))

    assert locked(group, lee)


def test_deleting_ones_only_answer_to_the_prompt_locks_again(group, essay, lee, world):
    answer = reply_to(world["prompt"], lee, body="Lee's answer.")
    assert not locked(group, lee)

    services.annotation_delete(annotation=answer)

    assert locked(group, lee)


def test_deleting_ones_only_note_lands_on_a_page_one_may_open(group, essay, member, lee, world):
    mine = create(group, essay, lee, body="Lee's note.")
    reply_to(mine, member, body="Maria replies to Lee.")
    client = signed_in(lee)

    response = client.post(note_url("delete", group, essay, mine), {"confirmed": "1"})

    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


def test_a_hidden_own_note_still_unlocks(group, essay, lee, facilitator, world):
    """Recorded as it is: hiding is moderation, the note was posted. (A policy question for the
    issue: a member can post a one-word note, have it hidden, and still see everything.)"""
    mine = create(group, essay, lee, body="x")
    services.annotation_hide(annotation=mine, by=facilitator, note="Say more")

    assert not locked(group, lee)


@pytest.mark.parametrize(
    "kind", ["highlight", "private note", "reply to own highlight", "private reply", "outside"]
)
def test_what_does_not_unlock(group, essay, lee, world, kind):
    if kind == "highlight":
        create(group, essay, lee, body="")
    elif kind == "private note":
        create(group, essay, lee, visibility="private")
    elif kind == "reply to own highlight":
        highlight = create(group, essay, lee, body="")
        reply_to(highlight, lee, body="A reply to my own highlight.")
    elif kind == "private reply":
        private = create(group, essay, lee, visibility="private")
        reply_to(private, lee, body="Still private.")
    else:
        create(group, essay, lee, quote=OUTSIDE, body="Outside.")

    expected_locked = kind != "reply to own highlight"  # a shared reply in the range counts
    assert locked(group, lee) is expected_locked


@pytest.mark.parametrize("motivation", ["commenting", "questioning", "tagging"])
def test_each_kind_of_shared_note_unlocks(group, essay, lee, world, motivation):
    create(
        group,
        essay,
        lee,
        quote="full democracy",
        body="" if motivation == "tagging" else "Mine.",
        motivation=motivation,
        tags=["mine"],
    )

    assert not locked(group, lee)


def test_a_note_in_another_groups_copy_of_the_range_does_not_unlock(
    group, other_group, essay, lee, world
):
    Membership.objects.create(group=other_group, user=lee, role=Membership.Role.MEMBER)
    create(other_group, essay, lee, body="In the other group.")

    assert locked(group, lee)


def test_a_facilitators_prompt_of_another_assignment_in_the_range_shows(
    group, essay, lee, facilitator, world
):
    block = block_of(essay, QUOTE)
    open_one = assignment_services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Open week",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=3),
    )
    start, end = span(essay, "full democracy")
    other_prompt = services.annotation_create(
        group=group,
        reading=essay,
        author=facilitator,
        motivation="questioning",
        body="A second prompt.",
        start=start,
        end=end,
        prompt_of=open_one,
    )

    ids = {row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))}

    assert other_prompt.pk in ids and world["fran"].pk not in ids


def test_facilitators_are_never_locked_and_see_everything(group, essay, facilitator, world):
    ids = {row["id"] for row in layer_at(signed_in(facilitator), reading_url(group, essay))}

    assert {world["note"].pk, world["fran"].pk, world["prompt"].pk} <= ids


# --- 2. walls ---------------------------------------------------------------------------------


def new_urls(group, essay, assignment) -> dict[str, str]:
    section = essay.sections.order_by("position").first().anchor
    reading = [group.slug, essay.slug]
    return {
        "assignments:list": reverse("assignments:list", args=[group.slug]),
        "assignments:create": reverse("assignments:create", args=[group.slug]),
        "assignments:edit": reverse("assignments:edit", args=[group.slug, assignment.pk]),
        "assignments:delete": reverse("assignments:delete", args=[group.slug, assignment.pk]),
        "assignments:move": reverse("assignments:move", args=[group.slug, assignment.pk]),
        "annotations:prompt_create": reverse(
            "annotations:prompt_create", args=[group.slug, assignment.pk]
        ),
        "annotations:excerpts": reverse("annotations:excerpts", args=reading) + "?ids=1",
        "annotations:version": reverse("annotations:version", args=reading),
        "progress:since": reverse("progress:since", args=[group.slug]),
        "progress:contents": reverse("progress:contents", args=reading),
        "progress:section_read": reverse("progress:section_read", args=[*reading, section]),
        "progress:participation": reverse("progress:participation", args=reading),
        "progress:participation.csv": reverse("progress:participation", args=reading)
        + "?format=csv",
    }


FACILITATOR_PAGES = {
    "assignments:create",
    "assignments:edit",
    "assignments:delete",
    "assignments:move",
    "annotations:prompt_create",
    "progress:participation",
    "progress:participation.csv",
}
GET_ONLY = {
    "assignments:list",
    "annotations:excerpts",
    "annotations:version",
    "progress:since",
    "progress:contents",
    "progress:participation",
    "progress:participation.csv",
}
POST_ONLY = {"assignments:delete", "assignments:move", "progress:section_read"}


def everything() -> list:
    return [
        list(Assignment.objects.order_by("pk").values_list("pk", "title", "position", "due_at")),
        list(Annotation.objects.order_by("pk").values_list("pk", "body", "prompt_of_id")),
        list(SectionRead.objects.values_list("pk", "membership_id", "section")),
    ]


HOSTILE_POST = {
    "title": "Taken over",
    "direction": "up",
    "confirmed": "1",
    "read": "1",
    "block": "x",
    "quote": "socialism",
    "body": "An intruder's prompt.",
    "due_date": "2031-01-01",
    "due_time": "10:00",
}


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_new_url_is_a_404_to_outsiders_and_other_groups(
    request, group, other_group, essay, assignment, persona, method
):
    client = signed_in(request.getfixturevalue(persona))
    before = everything()

    for name, url in new_urls(group, essay, assignment).items():
        response = getattr(client, method)(url, HOSTILE_POST if method == "post" else None)
        wrong_method = (method == "get" and name in POST_ONLY) or (
            method == "post" and name in GET_ONLY
        )
        assert response.status_code == (405 if wrong_method else 404), name
        assert group.name not in response.content.decode(), name
    assert everything() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_member_gets_403_on_every_facilitator_page_and_nothing_changes(
    group, essay, member, assignment, method
):
    client = signed_in(member)
    before = everything()

    for name, url in new_urls(group, essay, assignment).items():
        if name not in FACILITATOR_PAGES or (method == "get" and name in POST_ONLY):
            continue
        if method == "post" and name in GET_ONLY:
            continue
        response = getattr(client, method)(url, HOSTILE_POST if method == "post" else None)
        assert response.status_code == 403, name
    assert everything() == before


def test_a_facilitator_of_another_group_reading_the_same_essay_reaches_nothing_here(
    group, other_group, essay, other_member, assignment
):
    """Their own group slug with this group's assignment id, or this group's slug: 404."""
    client = signed_in(other_member)
    before = everything()
    theirs = [other_group.slug, assignment.pk]

    for name in ("assignments:edit", "annotations:prompt_create"):
        assert client.get(reverse(name, args=theirs)).status_code == 404
        assert client.post(reverse(name, args=theirs), HOSTILE_POST).status_code == 404
    for name in ("assignments:delete", "assignments:move"):
        assert client.post(reverse(name, args=theirs), HOSTILE_POST).status_code == 404
    participation = reverse("progress:participation", args=[other_group.slug, essay.slug])
    assert client.get(participation, {"assignment": assignment.pk}).status_code == 200
    assert (
        assignment.title
        not in client.get(participation, {"assignment": assignment.pk}).content.decode()
    )
    assert everything() == before


def test_excerpts_of_another_groups_annotations_are_empty(
    group, other_group, essay, member, other_member
):
    theirs = create(other_group, essay, other_member, body="Night shift secret.")
    url = reverse("annotations:excerpts", args=[group.slug, essay.slug])

    assert signed_in(member).get(url, {"ids": str(theirs.pk)}).json() == {"excerpts": {}}


@pytest.mark.parametrize(
    "name",
    [
        "assignments:create",
        "assignments:edit",
        "assignments:delete",
        "assignments:move",
        "annotations:prompt_create",
    ],
)
def test_an_archived_group_refuses_assignment_writes_clearly(
    group, essay, facilitator, assignment, name
):
    group_archive(group=group)
    before = everything()
    block = block_of(essay, QUOTE).anchor
    data = {**HOSTILE_POST, "block": block, "quote": QUOTE}

    response = signed_in(facilitator).post(new_urls(group, essay, assignment)[name], data)

    assert response.status_code == 403
    assert "archived" in response.content.decode()
    assert everything() == before


def test_in_an_archived_group_a_prompt_cannot_be_answered_through_any_door(
    group, essay, member, assignment, facilitator
):
    prompt = prompt_for(assignment, facilitator, body="Why?")
    group_archive(group=group)
    count = Annotation.objects.count()
    container = reverse("annotations:container", args=[group.slug, essay.slug])

    form = signed_in(member).post(note_url("reply", group, essay, prompt), {"body": "Because."})
    api = bearer(member).post(
        container,
        data={
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "replying",
            "body": {"type": "TextualBody", "value": "Because."},
            "target": f"http://testserver{container}{prompt.pk}",
        },
        content_type="application/ld+json",
    )

    assert form.status_code == 403 and api.status_code == 403, api.content
    assert "archived" in form.content.decode() and "archived" in api.json()["error"]
    assert Annotation.objects.count() == count


# --- 3. bad input -----------------------------------------------------------------------------


def form_data(essay, **changes) -> dict:
    found = blocks_of(reading_layout(essay))
    due = timezone.now() + timedelta(days=10)
    data = {
        "reading": essay.slug,
        "title": "Week 2",
        "first_block": found[2].anchor,
        "last_block": found[8].anchor,
        "due_date": due.strftime("%Y-%m-%d"),
        "due_time": "19:00",
        "instructions": "Read it twice.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


HOSTILE_TITLE = '<script>alert("t")</script><img src=x onerror=alert(1)>'
HOSTILE_INSTRUCTIONS = (
    '<script>alert("i")</script>\n\n<img src=x onerror="alert(2)">\n\n'
    '[click](javascript:alert(3)) <a href="javascript:alert(4)">a</a>\n\n'
    '<iframe src="https://evil.example"></iframe> <style>body{display:none}</style>'
)


class Dangers(HTMLParser):
    """What in a page could run: inline scripts, event handlers, javascript: links, frames."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in {"iframe", "object", "embed", "style"}:
            self.found.append(tag)
        if tag == "script":
            self.in_script = "src" not in attrs
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if name in {"href", "src", "action"} and (value or "").strip().lower().startswith(
                ("javascript:", "data:")
            ):
                self.found.append(f"{tag}[{name}={value}]")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and "alert" in data:
            self.found.append("inline script")

    @classmethod
    def of(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return parser.found


def test_a_hostile_title_and_instructions_are_inert_on_every_page(
    group, essay, member, facilitator
):
    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, title=HOSTILE_TITLE, instructions=HOSTILE_INSTRUCTIONS),
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    pages = [
        reverse("assignments:list", args=[group.slug]),
        reverse("assignments:edit", args=[group.slug, assignment.pk]),
        reverse("annotations:prompt_create", args=[group.slug, assignment.pk]),
        reading_url(group, essay),
        reverse("progress:contents", args=[group.slug, essay.slug]),
        reverse("progress:participation", args=[group.slug, essay.slug]),
        reverse("groups:detail", args=[group.slug]),
        reverse("home"),
    ]
    for person in (member, facilitator):
        client = signed_in(person)
        for url in pages:
            page = client.get(url)
            if page.status_code == 403 and person == member:
                continue
            assert page.status_code == 200, url
            assert Dangers.of(page.content.decode()) == [], url
    confirm = signed_in(facilitator).post(
        reverse("assignments:delete", args=[group.slug, assignment.pk])
    )
    assert Dangers.of(confirm.content.decode()) == []


def test_instructions_keep_no_dangerous_html_when_stored(group, essay, facilitator):
    assignment = assignment_services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="T",
        first_block=blocks_of(reading_layout(essay))[0].anchor,
        last_block=blocks_of(reading_layout(essay))[1].anchor,
        due_at=timezone.now() + timedelta(days=2),
        instructions=HOSTILE_INSTRUCTIONS,
    )

    assert Dangers.of(assignment.instructions_html) == []


@pytest.mark.parametrize(
    "title, message",
    [
        ("   ", "Give the assignment a title."),
        ("x" * 201, "The title is too long"),
        ("a\x00b", "Null characters are not allowed."),
    ],
)
def test_a_bad_title_is_refused_clearly_and_writes_nothing(
    group, essay, facilitator, title, message
):
    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]), form_data(essay, title=title)
    )

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Assignment.objects.exists()


def test_a_title_of_whitespace_and_newlines_is_kept_on_one_line(group, essay, facilitator):
    signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, title="  Week\r\n\t3  "),
    )

    assert Assignment.objects.get().title == "Week 3"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"first_block": "", "last_block": ""}, "Choose where the assignment starts."),
        ({"first_block": "reversed"}, "The range ends before it starts"),
        ({"reading": "elsewhere"}, "Choose one of the group's readings."),
        ({"reading": ""}, "Choose one of the group's readings."),
        ({"due_date": "2020-01-07"}, "more than a year ago"),
        ({"due_date": "0001-01-01", "due_time": "00:00"}, "more than a year ago"),
        ({"due_time": "7pm"}, "Give a time (HH:MM)."),
        ({"due_date": "2031-02-30"}, "Give a date (YYYY-MM-DD)."),
    ],
    ids=str,
)
def test_bad_assignment_input_is_refused_clearly_and_writes_nothing(
    group, essay, facilitator, changes, message
):
    from readings.services import reading_import

    reading_import(data=b"# Elsewhere\n\nA paragraph.\n", filename="x.md", slug="elsewhere")
    found = blocks_of(reading_layout(essay))
    if changes.get("first_block") == "reversed":
        changes = {"first_block": found[8].anchor, "last_block": found[2].anchor}

    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]), form_data(essay, **changes)
    )

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    assert not Assignment.objects.exists()


def test_a_range_from_another_reading_of_the_group_is_refused(group, essay, facilitator):
    """The blocks are checked against the reading the form is for."""
    from readings.services import reading_import

    other = reading_import(data=b"# Other\n\nOne.\n\nTwo.\n", filename="o.md", slug="other")
    GroupReading.objects.create(group=group, reading=other, added_by=facilitator)
    theirs = blocks_of(reading_layout(other))

    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, first_block=theirs[0].anchor, last_block=theirs[1].anchor),
    )

    assert response.status_code == 400
    assert not Assignment.objects.exists()


def test_an_already_due_date_centuries_ago_is_refused_or_shown_without_crashing(
    group, essay, member, facilitator
):
    member.time_zone = "America/Chicago"
    member.save(update_fields=["time_zone"])

    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, due_date="0001-01-01", due_time="00:00", already_due="on"),
    )
    if response.status_code == 400:  # refused: fine, if clearly
        assert "due" in response.content.decode()
        return
    client = signed_in(member)
    client.raise_request_exception = False
    pages = (reverse("assignments:list", args=[group.slug]), reading_url(group, essay))
    assert {url: client.get(url).status_code for url in pages} == dict.fromkeys(pages, 200)


def test_editing_the_title_of_an_overdue_assignment_with_seconds_asks_nothing(
    group, essay, facilitator, clock
):
    found = blocks_of(reading_layout(essay))
    due = timezone.now() + timedelta(days=7, seconds=13, microseconds=5)
    assignment = assignment_services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Before Sunday",
        first_block=found[0].anchor,
        last_block=found[1].anchor,
        due_at=due,
    )
    client = signed_in(facilitator)
    clock(due + timedelta(days=2))
    url = reverse("assignments:edit", args=[group.slug, assignment.pk])
    page = client.get(url).content.decode()
    shown_day = page.split('name="due_date" value="', 1)[1].split('"', 1)[0]
    shown_time = page.split('name="due_time" value="', 1)[1].split('"', 1)[0]

    response = client.post(
        url,
        form_data(
            essay,
            title="Before Sunday (renamed)",
            first_block=found[0].anchor,
            last_block=found[1].anchor,
            due_date=shown_day,
            due_time=shown_time,
            instructions="",
        ),
    )

    assert "That time has already passed" not in html.unescape(response.content.decode())
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.title == "Before Sunday (renamed)"


@pytest.mark.parametrize("where", ["outside", "another reading", "no block"])
def test_a_prompt_outside_the_range_is_refused_and_writes_nothing(
    group, essay, facilitator, assignment, where
):
    outside = block_of(essay, OUTSIDE)
    block = {"outside": outside.anchor, "another reading": "p-nothere", "no block": ""}[where]
    count = Annotation.objects.count()

    response = signed_in(facilitator).post(
        reverse("annotations:prompt_create", args=[group.slug, assignment.pk]),
        {"block": block, "quote": OUTSIDE, "body": "Out of range?"},
    )

    assert response.status_code == 400
    assert Annotation.objects.count() == count


def test_a_prompt_quote_not_in_its_paragraph_is_refused(group, essay, facilitator, assignment):
    count = Annotation.objects.count()

    response = signed_in(facilitator).post(
        reverse("annotations:prompt_create", args=[group.slug, assignment.pk]),
        {"block": block_of(essay, QUOTE).anchor, "quote": OUTSIDE, "body": "Elsewhere?"},
    )

    assert response.status_code == 400
    assert "Those words are not in this paragraph" in response.content.decode()
    assert Annotation.objects.count() == count


def test_a_member_cannot_make_a_prompt_through_the_api_or_the_service(
    group, essay, member, assignment
):
    start, end = span(essay, QUOTE)
    with pytest.raises(services.AnnotationError, match="Only a facilitator"):
        services.annotation_create(
            group=group,
            reading=essay,
            author=member,
            motivation="questioning",
            body="Mine",
            start=start,
            end=end,
            prompt_of=assignment,
        )
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    response = bearer(member).post(
        container,
        data={
            "@context": "http://www.w3.org/ns/anno.jsonld",
            "type": "Annotation",
            "motivation": "questioning",
            "prompt_of": assignment.pk,
            "prompt": assignment.pk,
            "body": {"type": "TextualBody", "value": "A prompt?"},
            "target": {
                "source": "http://testserver" + reading_url(group, essay),
                "selector": {"type": "TextPositionSelector", "start": start, "end": end},
            },
        },
        content_type="application/ld+json",
    )
    assert response.status_code == 201
    assert Annotation.objects.get(pk=response.json()["id"].rsplit("/", 1)[1]).prompt_of is None


# --- the section-read button -----------------------------------------------------------------


def section_url(group, essay, anchor=None) -> str:
    anchor = anchor or essay.sections.order_by("position").first().anchor
    return reverse("progress:section_read", args=[group.slug, essay.slug, anchor])


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        " //evil.example",
        "http:/evil.example",
        "/%2F%2Fevil.example",
        "https:evil.example",
        "data:text/html,x",
    ],
)
def test_next_never_leaves_the_site(group, essay, member, wanted):
    response = signed_in(member).post(section_url(group, essay), {"read": "1", "next": wanted})

    assert response.status_code == 302
    location = response["Location"]
    parts = urlsplit(location.replace("\\", "/").replace("\t", ""))
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//")


@pytest.mark.parametrize("wanted", ["/x\r\nSet-Cookie: a=b", "/x\ny"])
def test_next_with_a_line_break_falls_back_instead_of_failing(group, essay, member, wanted):
    client = signed_in(member)
    client.raise_request_exception = False

    response = client.post(section_url(group, essay), {"read": "1", "next": wanted})

    assert response.status_code == 302
    assert "\n" not in response["Location"]


@pytest.mark.parametrize("anchor", ["p-1", "no-such-section", "x" * 300])
def test_a_bad_section_anchor_is_a_404_and_marks_nothing(group, essay, member, anchor):
    response = signed_in(member).post(section_url(group, essay, anchor), {"read": "1"})

    assert response.status_code == 404
    assert not SectionRead.objects.exists()


# --- participation's query -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "garbage"},
        {"sort": "--annotations"},
        {"sort": "-"},
        {"sort": "__class__"},
        {"sort": "membership"},
        {"assignment": "garbage"},
        {"assignment": "-1"},
        {"assignment": "99999999999999999999999"},
        {"assignment": "1 OR 1=1"},
        {"format": "pdf"},
        {"format": "csv", "sort": "garbage", "assignment": "x"},
    ],
    ids=str,
)
def test_participation_takes_garbage_in_its_query_calmly(
    group, essay, facilitator, assignment, query
):
    response = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]), query
    )

    assert response.status_code == 200


def test_participation_of_another_groups_assignment_shows_nothing_of_it(
    group, other_group, essay, facilitator, other_member
):
    theirs = assignment_services.assignment_create(
        group=other_group,
        reading=essay,
        created_by=other_member,
        title="Night secret title",
        first_block=block_of(essay, QUOTE).anchor,
        last_block=block_of(essay, QUOTE).anchor,
        due_at=timezone.now() + timedelta(days=3),
    )
    create(other_group, essay, other_member, body="Night note")

    response = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]),
        {"assignment": theirs.pk},
    )

    assert response.status_code == 200
    assert "Night secret title" not in response.content.decode()
    assert "Noor" not in response.content.decode()


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil")', "+1+1", "-1+1", "@SUM(1)", "\t=1", "\r=1"]
)
def test_the_csv_never_starts_a_cell_with_a_formula(group, essay, facilitator, make_user, name):
    eve = make_user("eve", display_name=name)
    Membership.objects.create(group=group, user=eve, role=Membership.Role.MEMBER)

    response = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]), {"format": "csv"}
    )

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


def test_the_csv_counts_no_private_note(group, essay, facilitator, member):
    create(group, essay, member, body="Mine alone.", visibility="private")

    response = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]),
        {"format": "csv", "assignment": "all"},
    )

    rows = {row[1]: row for row in csv.reader(io.StringIO(response.content.decode()))}
    assert rows["maria"][3:8] == ["0", "0", "0", "0", "0"]
    assert "Mine alone." not in response.content.decode()


# --- 4. times ---------------------------------------------------------------------------------


def test_a_due_date_after_the_clocks_go_back_reads_right_in_kolkata_and_berlin(
    group, essay, member, facilitator, make_user
):
    """Entered in Chicago's summer time for 1 November 2031 (due 19:00; Chicago's clocks go back
    on 2 November, Berlin's on 26 October): the instant is 00:00 UTC on 2 November."""
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    member.time_zone = "Asia/Kolkata"
    member.save(update_fields=["time_zone"])
    bert = make_user("bert", display_name="Bert Berlin", time_zone="Europe/Berlin")
    Membership.objects.create(group=group, user=bert, role=Membership.Role.MEMBER)

    signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, due_date="2031-11-01", due_time="19:00"),
    )
    assignment = Assignment.objects.get()

    assert assignment.due_at == datetime(2031, 11, 2, 0, 0, tzinfo=UTC)
    for person, expected in ((member, "Sun 2 Nov 2031, 05:30"), (bert, "Sun 2 Nov 2031, 01:00")):
        for url in (reverse("assignments:list", args=[group.slug]), reading_url(group, essay)):
            page = signed_in(person).get(url).content.decode()
            assert expected in page, (person.username, url)
            assert "19:00" in page  # the group's time beside it


def test_the_fall_back_hour_is_its_first_occurrence_and_survives_an_edit(group, essay, facilitator):
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    client = signed_in(facilitator)
    client.post(
        reverse("assignments:create", args=[group.slug]),
        form_data(essay, due_date="2031-11-02", due_time="01:30"),
    )
    assignment = Assignment.objects.get()
    assert assignment.due_at == datetime(2031, 11, 2, 6, 30, tzinfo=UTC)  # 01:30 CDT

    client.post(
        reverse("assignments:edit", args=[group.slug, assignment.pk]),
        form_data(essay, title="Renamed", due_date="2031-11-02", due_time="01:30"),
    )

    assignment.refresh_from_db()
    assert (assignment.title, assignment.due_at) == (
        "Renamed",
        datetime(2031, 11, 2, 6, 30, tzinfo=UTC),
    )


# --- more of post before you peek --------------------------------------------------------------

MINUTES = (
    "# Minutes\n\nOne came.\n\nTwo spoke.\n\nThree argued about the budget.\n\n"
    "Four agreed unanimously on the zebra motion.\n\nFive left.\n"
)


@pytest.fixture
def minutes(group, facilitator):
    from readings.services import reading_import

    reading = reading_import(data=MINUTES.encode(), filename="m.md", slug="minutes")
    GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)
    return reading


def test_a_lock_on_one_reading_withholds_nothing_on_another(
    group, essay, minutes, member, lee, world
):
    theirs = create(group, minutes, member, quote="Two spoke.", body="On the minutes.")

    ids = {row["id"] for row in layer_at(signed_in(lee), reading_url(group, minutes))}
    page = signed_in(lee).get(reading_url(group, minutes)).content.decode()

    assert ids == {theirs.pk}
    assert "visible once you post yours" not in page


def test_posting_in_one_locked_range_leaves_the_other_locked(
    group, essay, member, lee, facilitator, world
):
    outside = block_of(essay, OUTSIDE)
    second = assignment_services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2",
        first_block=outside.anchor,
        last_block=outside.anchor,
        due_at=timezone.now() + timedelta(days=9),
        post_before_peek=True,
    )
    ids_before = {row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))}
    create(group, essay, lee, body="Lee's note in week 1.")

    membership = Membership.objects.select_related("group").get(group=group, user=lee)
    ids = {row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))}

    assert world["outside"].pk not in ids_before
    assert [lock.assignment_id for lock in peek_locks(membership)] == [second.pk]
    assert world["note"].pk in ids and world["outside"].pk not in ids


def test_turning_the_option_on_locks_a_cached_layer_at_once(
    group, essay, member, lee, facilitator, assignment, world
):
    assignment_services.assignment_update(
        assignment=assignment,
        title=assignment.title,
        first_block=assignment.first_block,
        last_block=assignment.last_block,
        due_at=assignment.due_at,
        post_before_peek=False,
    )
    assert world["note"].pk in {
        row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))
    }

    assignment_services.assignment_update(
        assignment=Assignment.objects.get(pk=assignment.pk),
        title=assignment.title,
        first_block=assignment.first_block,
        last_block=assignment.last_block,
        due_at=assignment.due_at,
        post_before_peek=True,
    )

    assert world["note"].pk not in {
        row["id"] for row in layer_at(signed_in(lee), reading_url(group, essay))
    }


def test_moving_the_due_date_past_unlocks_and_back_relocks(group, essay, lee, assignment, world):
    common = {
        "title": assignment.title,
        "first_block": assignment.first_block,
        "last_block": assignment.last_block,
        "post_before_peek": True,
    }
    assignment_services.assignment_update(
        assignment=assignment,
        due_at=timezone.now() - timedelta(hours=1),
        already_due=True,
        **common,
    )
    assert not locked(group, lee)

    assignment_services.assignment_update(
        assignment=assignment, due_at=timezone.now() + timedelta(days=1), **common
    )
    assert locked(group, lee)


def test_a_member_in_two_groups_is_locked_only_where_the_lock_is(
    group, other_group, essay, lee, other_member, world
):
    """The site home's This week reads both groups at once (visible_annotations OR-ed)."""
    Membership.objects.create(group=other_group, user=lee, role=Membership.Role.MEMBER)
    block = block_of(essay, QUOTE)
    assignment_services.assignment_create(
        group=other_group,
        reading=essay,
        created_by=other_member,
        title="Night week",
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + timedelta(days=2),
    )
    create(other_group, essay, other_member, body="Night note in the same passage.")

    page = signed_in(lee).get(reverse("home")).content.decode()

    assert_no_secret(page, "on the site home")
    stats = [part.split("</dd>", 1)[0] for part in page.split("<dt>From the group</dt><dd>")[1:]]
    # Tuesday's: the prompt only (Lee sees it; it counts as the group's); the night shift's note
    assert stats == ["1", "1"]


@pytest.mark.parametrize("person", ["member", "lee"])
def test_a_member_never_gets_the_heat(request, group, essay, world, person):
    page = signed_in(request.getfixturevalue(person)).get(reading_url(group, essay))

    assert "margin--heat" not in page.content.decode()
    assert "margin__heat" not in page.content.decode()


def test_the_facilitator_gets_the_heat(group, essay, facilitator, world):
    page = signed_in(facilitator).get(reading_url(group, essay)).content.decode()

    assert "margin__heat" in page


def test_an_orphan_from_the_range_stays_withheld_from_a_locked_member(
    group, minutes, member, lee, facilitator
):
    """Maria's note on the assigned paragraph is orphaned when a revision deletes it: it was
    written in the range, so it stays withheld (and off Lee's orphan list) until Lee posts."""
    found = blocks_of(reading_layout(minutes))
    week = assignment_services.assignment_create(
        group=group,
        reading=minutes,
        created_by=facilitator,
        title="Minutes",
        first_block=found[2].anchor,
        last_block=found[3].anchor,
        due_at=timezone.now() + timedelta(days=3),
        post_before_peek=True,
    )
    note = create(
        group, minutes, member, quote="Four agreed unanimously on the zebra motion.", body=SECRET
    )
    services.reading_import_reanchoring(
        data=MINUTES.replace("Four agreed unanimously on the zebra motion.\n\n", "").encode(),
        filename="m.md",
        slug=minutes.slug,
        replace=True,
    )
    note.refresh_from_db()
    week.refresh_from_db()
    assert note.anchoring == Annotation.Anchoring.ORPHAN

    page = signed_in(lee).get(reading_url(group, minutes)).content.decode()
    orphans = signed_in(lee).get(
        reverse("annotations:threads", args=[group.slug, minutes.slug]) + "?orphans=1"
    )

    thread = signed_in(lee).get(note_url("thread", group, minutes, note))
    layer = {
        row[0]
        for row in signed_in(lee).get(reading_url(group, minutes, "layer.json")).json()["rows"]
    }
    assert locked(group, lee)
    leaks = [
        where
        for where, leaked in (
            ("reading page", "Four agreed unanimously" in page),
            ("orphans list", SECRET in orphans.content.decode()),
            ("thread page", thread.status_code != 404),
            ("layer", note.pk in layer),
        )
        if leaked
    ]
    assert leaks == []


# --- the facilitator's view: what it counts ----------------------------------------------------


def test_participation_counts_the_assignment_as_documented(
    group, essay, member, lee, facilitator, assignment, world
):
    create(group, essay, member, quote="full democracy", body="Private.", visibility="private")
    hidden = create(group, essay, lee, quote="full democracy", body="Lee's, then hidden.")
    services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic")
    response = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]),
        {"format": "csv", "assignment": assignment.pk},
    )

    rows = {row[1]: row[3:8] for row in csv.reader(io.StringIO(response.content.decode()))}
    # annotations, replies, questions asked, questions answered, prompts answered
    assert rows["maria"] == ["1", "1", "0", "0", "1"]  # the note; the answer to the prompt
    assert rows["fran"] == ["2", "1", "2", "0", "0"]  # the prompt, her question; her reply
    assert rows["lee"] == ["1", "0", "0", "0", "0"]  # a hidden note still counts
    assert "Private." not in response.content.decode()


def test_the_heat_counts_threads_where_they_start_and_their_replies(
    group, essay, facilitator, assignment, world
):
    from progress.participation import heat

    membership = Membership.objects.select_related("group").get(group=group, user=facilitator)
    group_reading = GroupReading.objects.get(group=group, reading=essay)

    in_range = heat(membership, group_reading, assignment)
    all_time = heat(membership, group_reading)

    anchor = block_of(essay, QUOTE).anchor
    assert in_range == {anchor: (3, 2)}  # prompt, Maria's note, Fran's; two replies
    assert all_time[anchor] == (3, 2) and all_time[block_of(essay, OUTSIDE).anchor] == (1, 0)


def test_where_the_discussion_gathered_links_to_the_passage(
    group, essay, facilitator, assignment, world
):
    page = signed_in(facilitator).get(
        reverse("progress:participation", args=[group.slug, essay.slug]),
        {"assignment": assignment.pk},
    )

    anchor = block_of(essay, QUOTE).anchor
    assert page.status_code == 200
    assert f'{reading_url(group, essay)}#{anchor}"' in page.content.decode()


def test_instructions_that_fit_once_line_breaks_are_normalised_are_accepted(
    group, essay, facilitator
):
    typed = ("x" * 99 + "\n") * 100  # 10,000 characters as the browser counts them
    sent = typed.replace("\n", "\r\n")

    response = signed_in(facilitator).post(
        reverse("assignments:create", args=[group.slug]), form_data(essay, instructions=sent)
    )

    assert response.status_code == 302
    assert Assignment.objects.get().instructions == typed.strip()


def test_a_mention_in_a_withheld_note_tells_the_locked_member_nothing(
    group, essay, member, lee, world
):
    create(group, essay, member, quote="full democracy", body="@lee you will like this.")
    membership = Membership.objects.get(group=group, user=lee)
    membership.previous_visit_at = timezone.now() - timedelta(days=1)
    membership.save()
    client = signed_in(lee)

    for url in (
        reverse("home"),
        reverse("groups:detail", args=[group.slug]),
        reverse("progress:since", args=[group.slug]),
        reading_url(group, essay),
        reading_url(group, essay, "?member=lee"),
    ):
        assert "you will like this" not in client.get(url).content.decode(), url
    assert (
        "you will like this"
        not in client.get(reading_url(group, essay, "layer.json")).content.decode()
    )
