"""HTTP caching of the annotation API, and the layer's “what changed” figure under it.

Every GET and HEAD of the container, its pages and an annotation carries a strong ETag;
If-None-Match with it answers 304 until something in that representation, for that viewer,
changes. Every write to a group's layer adds one to `GroupReading.layer_version`, in the same
transaction, and nothing else does.
"""

import json
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.tokens import api_token_create
from annotations import services
from annotations.models import Annotation, Flag, PlusOne, Tag
from groups.models import GroupReading, Membership
from readings.services import reading_import

QUOTE = "The premise of socialism is simple: full democracy."
OTHER_QUOTE = "When socialists talk about ordinary people"
THIRD_QUOTE = "full democracy"


# --- helpers ---------------------------------------------------------------------------------


def container_path(group, reading) -> str:
    return reverse("annotations:container", args=[group.slug, reading.slug])


def item_path(annotation) -> str:
    return reverse(
        "annotations:annotation",
        args=[annotation.group.slug, annotation.reading.slug, annotation.pk],
    )


def make(group, essay, author, *, body="Worth discussing.", quote=QUOTE, **fields):
    text = essay.canonical_text()
    start = text.index(quote)
    return services.annotation_create(
        group=group,
        reading=essay,
        author=author,
        motivation=fields.pop("motivation", "commenting"),
        body=body,
        start=start,
        end=start + len(quote),
        **fields,
    )


def reply(parent, author, body="I agree."):
    return services.annotation_create(
        group=parent.group,
        reading=parent.reading,
        author=author,
        motivation="replying",
        body=body,
        parent=parent,
    )


def version(group, reading) -> int:
    return GroupReading.objects.get(group=group, reading=reading).layer_version


def split_header(value: str) -> set[str]:
    return {part.strip() for part in value.split(",")}


@pytest.fixture
def as_member(client, member, group):
    client.force_login(member)
    return client


@pytest.fixture
def url(group, essay) -> str:
    return container_path(group, essay)


@pytest.fixture
def classmate(make_user, group):
    person = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=person, role=Membership.Role.MEMBER)
    return person


@pytest.fixture
def note(group, essay, member) -> Annotation:
    return make(group, essay, member, body="The *heart* of it.", tags=["democracy"])


@pytest.fixture
def question(group, essay, member) -> Annotation:
    return make(group, essay, member, body="Why?", quote=OTHER_QUOTE, motivation="questioning")


@pytest.fixture
def answer(question, facilitator) -> Annotation:
    return reply(question, facilitator, body="Because.")


# --- 304 Not Modified ----------------------------------------------------------------------------

PAGES = [
    "",
    "?page=0",
    "?page=0&iris=1",
    "?iris=1",
    "?page=last",
    "?after=0",
    "?before=9000000000000000000",
]
PAGE_IDS = ["container", "page", "page-iris", "iris", "last", "after", "before"]


@pytest.mark.parametrize("query", PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("method", ["get", "head"])
def test_the_container_and_its_pages_answer_304_to_their_current_etag(
    as_member, url, note, query, method
):
    first = as_member.get(url + query)
    assert first.status_code == 200

    again = getattr(as_member, method)(url + query, headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert split_header(again["Vary"]) >= {"Accept", "Prefer", "Authorization", "Cookie"}


@pytest.mark.parametrize("method", ["get", "head"])
def test_an_annotation_answers_304_to_its_current_etag(as_member, note, method):
    first = as_member.get(item_path(note))

    again = getattr(as_member, method)(item_path(note), headers={"If-None-Match": first["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_if_none_match_star_answers_304(as_member, url, note):
    assert as_member.get(url, headers={"If-None-Match": "*"}).status_code == 304
    assert as_member.get(item_path(note), headers={"If-None-Match": "*"}).status_code == 304


def test_an_etag_among_others_in_if_none_match_answers_304(as_member, url, note):
    etag = as_member.get(url)["ETag"]

    response = as_member.get(url, headers={"If-None-Match": f'"stale", {etag}'})

    assert response.status_code == 304


def test_an_old_etag_gets_the_whole_representation(as_member, url, group, essay, member, note):
    old = as_member.get(url)
    make(group, essay, member, body="Something new.", quote=OTHER_QUOTE)

    response = as_member.get(url, headers={"If-None-Match": old["ETag"]})

    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert response["ETag"] != old["ETag"]


@pytest.mark.parametrize("query", PAGES, ids=PAGE_IDS)
def test_head_gives_the_headers_of_get_and_no_body(as_member, url, note, query):
    got = as_member.get(url + query)
    head = as_member.head(url + query)

    assert head.status_code == 200
    assert head.content == b""
    for name in ["ETag", "Content-Type", "Link", "Allow", "Vary", "Cache-Control"]:
        assert head[name] == got[name], name


def test_head_of_an_annotation_gives_the_headers_of_get(as_member, note):
    got = as_member.get(item_path(note))
    head = as_member.head(item_path(note))

    assert head.content == b""
    for name in ["ETag", "Content-Type", "Link", "Allow", "Vary", "Cache-Control"]:
        assert head[name] == got[name], name


def test_responses_are_private_and_revalidated(as_member, url, note):
    for path in [url, url + "?page=0", item_path(note)]:
        response = as_member.get(path)
        assert split_header(response["Cache-Control"]) >= {"private", "no-cache"}


def test_an_annotation_varies_on_who_asks(as_member, note):
    response = as_member.get(item_path(note))

    assert split_header(response["Vary"]) >= {"Accept", "Authorization", "Cookie"}


def test_a_bearer_token_gets_304_too(url, note, member):
    from django.test import Client

    raw = api_token_create(user=member, name="poller")[1]
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    etag = client.get(url)["ETag"]

    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304


@pytest.mark.parametrize("query", ["", "?page=0", "?page=last"])
def test_a_304_builds_no_page(as_member, url, note, query, django_assert_num_queries):
    etag = as_member.get(url + query)["ETag"]

    # The session, the person, the group reading with their membership; the kept page and the
    # names version are one cache read (in memory in the tests; one query on the database
    # cache): no rows, no total, no tags.
    with django_assert_num_queries(3):
        response = as_member.get(url + query, headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_a_304_of_a_page_further_on_reads_only_that_page(
    as_member, url, group, essay, member, django_assert_num_queries
):
    made = [make(group, essay, member, body=f"Note {i}.") for i in range(3)]
    query = f"?after={made[0].pk}"
    etag = as_member.get(url + query)["ETag"]

    with django_assert_num_queries(3):
        response = as_member.get(url + query, headers={"If-None-Match": etag})

    assert response.status_code == 304


def test_a_page_with_nobody_renamed_on_it_keeps_its_etag(
    as_member, url, group, essay, member, facilitator
):
    mine = make(group, essay, member, body="Mine.")
    theirs = make(group, essay, facilitator, body="Theirs.", quote=OTHER_QUOTE)
    query = f"?before={theirs.pk}"
    before = as_member.get(url + query)
    assert [item["id"].rsplit("/", 1)[1] for item in before.json()["items"]] == [str(mine.pk)]

    User.objects.filter(pk=facilitator.pk).update(display_name="Fran F.")

    assert as_member.get(url + query)["ETag"] == before["ETag"]


# --- a page's body is kept under its ETag -----------------------------------------------------


@pytest.mark.parametrize("query", PAGES, ids=PAGE_IDS)
def test_a_repeated_get_answers_the_kept_page_without_reading_it(
    as_member, url, note, query, django_assert_num_queries
):
    first = as_member.get(url + query)

    # The session, the person, the group reading with their membership; the kept page and the
    # names version (one cache read, in memory here).
    with django_assert_num_queries(3):
        again = as_member.get(url + query)

    assert again.status_code == 200
    assert again.content == first.content
    assert again["ETag"] == first["ETag"]


def test_a_kept_page_is_not_answered_once_an_author_on_it_is_renamed(as_member, url, note):
    before = as_member.get(url)

    author = User.objects.get(pk=note.author_id)
    author.display_name = "Maria M."
    author.save(update_fields=["display_name"])  # as the profile form saves it
    after = as_member.get(url)

    assert after["ETag"] != before["ETag"]
    assert after.json()["first"]["items"][0]["creator"]["name"] == "Maria M."


def test_a_kept_page_names_a_deleted_account_a_former_member_at_once(
    as_member, url, group, essay, classmate
):
    theirs = make(group, essay, classmate, body="Soon gone.")
    before = as_member.get(url)

    User.objects.filter(pk=classmate.pk).delete()
    after = as_member.get(url)

    assert after["ETag"] != before["ETag"]
    [item] = after.json()["first"]["items"]
    assert item["id"].endswith(f"/{theirs.pk}")
    assert item["creator"]["name"] == "former member"


def test_a_kept_page_is_never_another_persons(client, url, group, essay, member, classmate):
    make(group, essay, member, body="Only for me.", visibility="private")
    client.force_login(member)
    mine = client.get(url)
    assert "Only for me." in mine.content.decode()

    client.force_login(classmate)
    theirs = client.get(url)

    assert theirs["ETag"] != mine["ETag"]
    assert "Only for me." not in theirs.content.decode()
    assert theirs.json()["total"] == 0


def test_a_write_to_the_layer_is_seen_by_the_next_get(as_member, url, group, essay, member, note):
    as_member.get(url)

    make(group, essay, member, body="Something new.", quote=OTHER_QUOTE)

    assert as_member.get(url).json()["total"] == 2


# --- the container's ETag changes with anything it shows ------------------------------------------


@pytest.fixture
def world(note, answer, facilitator, classmate):
    """A note by the member, a question with the facilitator's reply, and a classmate."""
    return SimpleNamespace(note=note, answer=answer, facilitator=facilitator, classmate=classmate)


def _nothing(w):
    pass


# name: (what is there first, the change). The `answer` is a reply to a question.
CHANGES = {
    "plus one": (
        _nothing,
        lambda w: services.annotation_plus_one(annotation=w.note, user=w.classmate),
    ),
    "take back a plus one": (
        lambda w: services.annotation_plus_one(annotation=w.note, user=w.classmate),
        lambda w: services.annotation_plus_one(annotation=w.note, user=w.classmate),
    ),
    "mark the answer": (
        _nothing,
        lambda w: services.annotation_mark_answer(reply=w.answer, is_answer=True),
    ),
    "unmark the answer": (
        lambda w: services.annotation_mark_answer(reply=w.answer, is_answer=True),
        lambda w: services.annotation_mark_answer(reply=w.answer, is_answer=False),
    ),
    "hide": (
        _nothing,
        lambda w: services.annotation_hide(annotation=w.answer, by=w.facilitator, note="Off."),
    ),
    "unhide": (
        lambda w: services.annotation_hide(annotation=w.answer, by=w.facilitator, note="Off."),
        lambda w: services.annotation_unhide(annotation=w.answer),
    ),
    "flag": (
        _nothing,
        lambda w: services.annotation_flag(annotation=w.answer, user=w.classmate, reason="Rude."),
    ),
    "reply": (_nothing, lambda w: reply(w.note, w.classmate, body="Me too.")),
    "edit": (_nothing, lambda w: services.annotation_update(annotation=w.answer, body="Also.")),
    "retag": (
        _nothing,
        lambda w: services.annotation_update(annotation=w.note, tags=["democracy", "work"]),
    ),
    "delete": (_nothing, lambda w: services.annotation_delete(annotation=w.answer)),
    "delete a thread's root": (
        _nothing,
        lambda w: services.annotation_delete(annotation=w.answer.parent),
    ),
    "create": (
        _nothing,
        lambda w: make(w.note.group, w.note.reading, w.classmate, body="New.", quote=THIRD_QUOTE),
    ),
}
LAYER_WRITES = list(CHANGES)
RENAME = {
    "an author renames": (
        _nothing,
        lambda w: _rename(w.facilitator, "Fran F."),
    )
}


def _rename(user, name: str) -> None:
    user.display_name = name
    user.save(update_fields=["display_name"])  # as the profile form saves it


@pytest.mark.parametrize("change", [*CHANGES, *RENAME])
@pytest.mark.parametrize("who", ["facilitator", "member"])
def test_the_containers_etag_changes_with_what_it_shows(client, request, url, world, change, who):
    """A +1, an answer mark, a hide, a flag, ...: the container's ETag, and its pages',
    differ afterwards, for the facilitator and for a member."""
    setup, act = {**CHANGES, **RENAME}[change]
    client.force_login(request.getfixturevalue(who))
    setup(world)
    queries = ["", "?page=0", "?page=last", "?after=0"]
    before = {query: client.get(url + query)["ETag"] for query in queries}

    act(world)

    for query, etag in before.items():
        response = client.get(url + query, headers={"If-None-Match": etag})
        assert response.status_code == 200, query
        assert response["ETag"] != etag, query


def test_a_flag_changes_the_etag_though_members_see_no_difference(
    as_member, url, note, answer, classmate
):
    before = as_member.get(url)

    services.annotation_flag(annotation=answer, user=classmate, reason="Rude.")
    after = as_member.get(url)

    assert after["ETag"] != before["ETag"]


def test_a_revised_text_changes_the_etag(client, url, group, essay, facilitator, note):
    client.force_login(facilitator)
    before = client.get(url)["ETag"]
    text = essay.canonical_text()

    services.annotations_reanchor(reading=essay, old_text=text, new_text="Preface.\n\n" + text)

    assert client.get(url)["ETag"] != before


def test_viewers_who_see_different_things_get_different_etags(
    client, url, group, essay, member, facilitator, classmate
):
    make(group, essay, member, body="Mine alone.", visibility="private")
    etags = {}
    for person in [member, facilitator, classmate]:
        client.force_login(person)
        etags[person.username] = client.get(url)["ETag"]

    assert len(set(etags.values())) == 3


def test_the_etag_differs_by_page_prefer_and_accept(as_member, url, note):
    minimal = 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'
    etags = {
        as_member.get(url)["ETag"],
        as_member.get(url + "?page=0")["ETag"],
        as_member.get(url + "?page=0&iris=1")["ETag"],
        as_member.get(url + "?page=last")["ETag"],
        as_member.get(url + "?after=0")["ETag"],
        as_member.get(url + f"?before={note.pk + 1}")["ETag"],
        as_member.get(url, headers={"Prefer": minimal})["ETag"],
        as_member.get(url, headers={"Accept": "application/ld+json"})["ETag"],
    }

    assert len(etags) == 8


def test_the_etag_of_an_unchanged_layer_stays_the_same(as_member, url, note):
    assert as_member.get(url)["ETag"] == as_member.get(url)["ETag"]


def test_a_write_to_another_groups_layer_keeps_the_etag(
    as_member, url, note, other_group, essay, other_member
):
    before = as_member.get(url)["ETag"]

    make(other_group, essay, other_member, body="Elsewhere.")

    assert as_member.get(url)["ETag"] == before


# --- an annotation's ETag changes with anything it shows --------------------------------------

# name: (which annotation is looked at, what is there first, the change)
ANNOTATION_CHANGES = {
    "plus one": "note",
    "take back a plus one": "note",
    "mark the answer": "answer",
    "unmark the answer": "answer",
    "hide": "answer",
    "unhide": "answer",
    "edit": "answer",
    "retag": "note",
    "an author renames": "answer",
}


@pytest.mark.parametrize("change", ANNOTATION_CHANGES)
def test_an_annotations_etag_changes_with_what_it_shows(client, world, change):
    """Its +1s, answer mark, hiding, words, tags and author's name are in its ETag."""
    setup, act = {**CHANGES, **RENAME}[change]
    client.force_login(world.facilitator)
    setup(world)
    path = item_path(getattr(world, ANNOTATION_CHANGES[change]))
    before = client.get(path)

    act(world)
    after = client.get(path, headers={"If-None-Match": before["ETag"]})

    assert after.status_code == 200
    assert after["ETag"] != before["ETag"]
    assert after.json() != before.json()


def test_an_etag_from_before_a_plus_one_no_longer_matches_on_put(as_member, note, facilitator):
    got = as_member.get(item_path(note))
    services.annotation_plus_one(annotation=note, user=facilitator)
    data = got.json()
    data["body"] = [{"type": "TextualBody", "value": "Rewritten."}]

    response = as_member.put(
        item_path(note),
        data=json.dumps(data),
        content_type="application/ld+json",
        headers={"If-Match": got["ETag"]},
    )

    assert response.status_code == 412
    note.refresh_from_db()
    assert note.body == "The *heart* of it."


def test_if_match_star_still_allows_a_put(as_member, note):
    data = {"type": "Annotation", "bodyValue": "Any version will do."}

    response = as_member.put(
        item_path(note),
        data=json.dumps(data),
        content_type="application/ld+json",
        headers={"If-Match": "*"},
    )

    assert response.status_code == 200
    note.refresh_from_db()
    assert note.body == "Any version will do."


def test_if_none_match_star_refuses_a_put_to_an_existing_annotation(as_member, note):
    response = as_member.put(
        item_path(note),
        data=json.dumps({"type": "Annotation", "bodyValue": "Only if new."}),
        content_type="application/ld+json",
        headers={"If-None-Match": "*"},
    )

    assert response.status_code == 412
    assert response.json()["error"]


def test_the_etag_after_a_put_is_the_one_a_get_gives(as_member, note):
    etag = as_member.get(item_path(note))["ETag"]

    put = as_member.put(
        item_path(note),
        data=json.dumps({"type": "Annotation", "bodyValue": "Rewritten."}),
        content_type="application/ld+json",
        headers={"If-Match": etag},
    )

    assert put.status_code == 200
    assert put["ETag"] == as_member.get(item_path(note))["ETag"]
    assert as_member.get(item_path(note), headers={"If-None-Match": put["ETag"]}).status_code == 304


# --- the layer's version figure ---------------------------------------------------------------


@pytest.mark.parametrize("write", LAYER_WRITES)
def test_every_write_to_the_layer_adds_one_to_its_version(group, essay, world, write):
    setup, act = CHANGES[write]
    setup(world)
    before = version(group, essay)

    act(world)

    assert version(group, essay) == before + 1


def _everything() -> tuple:
    return (
        list(Annotation.objects.order_by("pk").values()),
        list(PlusOne.objects.order_by("pk").values_list("annotation_id", "user_id")),
        list(Flag.objects.order_by("pk").values_list("annotation_id", "reason", "resolved_at")),
        list(Tag.objects.order_by("pk").values_list("annotation_id", "name")),
        list(GroupReading.objects.order_by("pk").values_list("layer_version", flat=True)),
    )


@pytest.mark.parametrize("write", LAYER_WRITES)
def test_a_write_and_its_count_are_one_transaction(world, write, monkeypatch):
    """When counting the change fails, the change itself is rolled back, and the other way
    round: no write is ever seen without its new figure."""
    setup, act = CHANGES[write]
    setup(world)
    before = _everything()

    def broken(**layer):
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(services, "_layer_changed", broken)
    with pytest.raises(RuntimeError):
        act(world)

    assert _everything() == before


def test_a_refused_write_leaves_the_version_alone(group, essay, note, facilitator):
    before = version(group, essay)

    with pytest.raises(services.AnnotationError):
        services.annotation_update(annotation=note, body="x" * 10_001)
    with pytest.raises(services.AnnotationError):
        services.annotation_flag(annotation=note, user=facilitator, reason=" ")

    assert version(group, essay) == before


def test_a_write_counts_in_its_own_groups_layer_only(
    group, other_group, essay, member, other_member
):
    before = version(other_group, essay)

    make(group, essay, member)

    assert version(other_group, essay) == before


def test_a_revised_text_adds_one_to_every_group_reading_it(
    group, other_group, essay, member, other_member
):
    make(group, essay, member)
    before = {g.pk: version(g, essay) for g in [group, other_group]}
    text = essay.canonical_text()

    reading_import(
        data=("# " + essay.title + "\n\nA new first line.\n\n" + text).encode(),
        filename="essay.md",
        slug=essay.slug,
        replace=True,
        reanchor=lambda reading, old, new: services.annotations_reanchor(
            reading=reading, old_text=old, new_text=new
        ),
    )

    assert {g.pk: version(g, essay) for g in [group, other_group]} == {
        pk: n + 1 for pk, n in before.items()
    }


def test_polling_the_version_is_one_query_on_the_unique_index(group, essay):
    with CaptureQueriesContext(connection) as queries:
        figure = (
            GroupReading.objects.filter(group_id=group.pk, reading_id=essay.pk)
            .values_list("layer_version", flat=True)
            .first()
        )

    assert figure == version(group, essay)
    assert len(queries) == 1
    assert "join" not in queries[0]["sql"].lower()


def test_a_write_that_fails_part_way_rolls_the_version_back(group, essay, note, monkeypatch):
    before = version(group, essay)

    def broken(annotation, tags):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(services, "_set_tags", broken)
    with pytest.raises(RuntimeError):
        services.annotation_update(annotation=note, body="Half written.", tags=["x"])

    assert version(group, essay) == before
    note.refresh_from_db()
    assert note.body == "The *heart* of it."


# --- the reading page's layer data and version figure --------------------------------------------


def layer_url(group, essay) -> str:
    return reverse("annotations:layer", args=[group.slug, essay.slug])


def version_url(group, essay) -> str:
    return reverse("annotations:version", args=[group.slug, essay.slug])


def test_the_layer_data_answers_304_until_the_layer_changes(as_member, group, essay, note, member):
    first = as_member.get(layer_url(group, essay))
    etag = first["ETag"]
    assert first.status_code == 200 and etag
    assert "private" in first["Cache-Control"] and "no-cache" in first["Cache-Control"]

    again = as_member.get(layer_url(group, essay), headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""

    services.annotation_plus_one(annotation=note, user=member)
    changed = as_member.get(layer_url(group, essay), headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_one_persons_layer_etag_gets_another_person_no_304(
    client, group, essay, note, member, facilitator
):
    client.force_login(member)
    theirs = client.get(layer_url(group, essay))["ETag"]
    client.force_login(facilitator)

    response = client.get(layer_url(group, essay), headers={"If-None-Match": theirs})

    assert response.status_code == 200  # Maria's copy says "mine"; Fran's does not


def test_the_version_figure_is_one_query_and_304_while_nothing_changes(
    as_member, group, essay, note, member, django_assert_num_queries
):
    first = as_member.get(version_url(group, essay))
    assert first.status_code == 200
    before = first.json()["version"]

    with CaptureQueriesContext(connection) as queries:
        again = as_member.get(version_url(group, essay), headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 304
    own = [q for q in queries.captured_queries if "groups_groupreading" in q["sql"]]
    assert len(own) == 1  # besides the session and the user, one indexed query

    services.annotation_plus_one(annotation=note, user=member)
    changed = as_member.get(version_url(group, essay), headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200
    assert changed.json()["version"] == before + 1


def test_the_version_figure_is_404_outside_the_group(client, group, essay, outsider, other_member):
    for person in (outsider, other_member):
        client.force_login(person)
        assert client.get(version_url(group, essay)).status_code == 404
        assert client.get(layer_url(group, essay)).status_code == 404


def test_only_a_change_that_may_touch_a_name_moves_the_names_version_on(member):
    from accounts.names import names_version

    before = names_version()
    member.save(update_fields=["last_login"])  # every log-in
    assert names_version() == before
    member.username = "maria2"
    member.save(update_fields=["username"])
    assert names_version() != before


def test_a_kept_page_is_made_again_when_the_names_version_is_lost(as_member, url, note):
    from django.core.cache import cache

    from accounts.names import NAMES_VERSION_KEY

    before = as_member.get(url)
    cache.delete(NAMES_VERSION_KEY)  # evicted, or the cache cleared
    User.objects.filter(pk=note.author_id).update(display_name="Maria M.")

    after = as_member.get(url)
    assert after["ETag"] != before["ETag"]
    assert after.json()["first"]["items"][0]["creator"]["name"] == "Maria M."
