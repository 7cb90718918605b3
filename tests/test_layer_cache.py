"""The reading page's layer is cached per class (member, facilitator) under the group
reading's version; each person's own private and hidden annotations are merged in per request
and never enter the shared entry. These tests run on the database cache that deployments use
(CACHES' default without CACHE_URL, its table made by a migration)."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from annotations import services
from annotations.layer import LAYER_CACHE_FORMAT
from groups.models import GroupReading, Membership
from tests.annotating import QUOTE, create, layer_at, reply_to
from tests.test_annotation_pages import block_of, margin_counts

SECOND = "When socialists talk about ordinary people"


@pytest.fixture(autouse=True)
def database_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "commonplace_cache",
        }
    }


@pytest.fixture
def classmate(make_user, group):
    sam = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=sam, role=Membership.Role.MEMBER)
    return sam


def reading_url(group, essay) -> str:
    return reverse("annotations:reading", args=[group.slug, essay.slug])


def ids(client, group, essay) -> set[int]:
    return {entry["id"] for entry in layer_at(client, reading_url(group, essay))}


def test_a_cached_layer_never_shows_one_members_private_note_to_another(
    client, group, essay, member, classmate
):
    shared = create(group, essay, member, body="For everyone.")
    secret = create(group, essay, member, quote=SECOND, body="Just mine.", visibility="private")
    client.force_login(member)
    assert ids(client, group, essay) == {shared.pk, secret.pk}  # fills the member class's entry

    client.force_login(classmate)

    assert ids(client, group, essay) == {shared.pk}
    page = client.get(reading_url(group, essay)).content.decode()
    assert "Just mine." not in page


def test_the_shared_entry_holds_nothing_private_or_hidden_from_members(
    client, group, essay, member, facilitator
):
    create(group, essay, member, body="For everyone.")
    secret = create(group, essay, member, quote=SECOND, body="Just mine.", visibility="private")
    hidden = create(group, essay, facilitator, quote="full democracy", body="Hidden.")
    services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic")
    client.force_login(member)
    layer_at(client, reading_url(group, essay))
    group_reading = GroupReading.objects.get(group=group, reading=essay)

    entry = cache.get(
        f"layer:{LAYER_CACHE_FORMAT}:{group_reading.pk}:{group_reading.layer_version}:member:-"
    )

    assert entry is not None, "the member class's layer was not cached"
    assert secret.pk not in entry and hidden.pk not in entry


def test_a_write_is_seen_at_once_though_the_layer_was_cached(client, group, essay, member):
    client.force_login(member)
    assert ids(client, group, essay) == set()

    note = create(group, essay, member, body="New.")

    assert ids(client, group, essay) == {note.pk}


def test_a_cached_layer_costs_fewer_queries_than_a_cold_one(
    client, group, essay, member, django_assert_max_num_queries
):
    for n in range(5):
        create(group, essay, member, body=f"Note {n}.")
    client.force_login(member)
    url = reverse("annotations:layer", args=[group.slug, essay.slug])
    client.get(url)  # fills the cache

    with django_assert_max_num_queries(8):  # the cache is a table: one query
        assert client.get(url).status_code == 200


# --- the page's summary (margin counts, totals, tags), cached per class like the layer -----------


def page_counts(client, group, essay) -> tuple[dict[str, int], str]:
    page = client.get(reading_url(group, essay)).content.decode()
    return margin_counts(page), page


@pytest.mark.parametrize("first", ["author", "classmate"])
def test_a_private_note_counts_in_its_authors_margin_only(
    client, group, essay, member, classmate, first
):
    create(group, essay, member, body="Shared.")
    create(group, essay, member, quote=SECOND, body="Mine.", visibility="private", tags=["secret"])
    anchor, other = block_of(essay, QUOTE).anchor, block_of(essay, SECOND).anchor
    order = [member, classmate] if first == "author" else [classmate, member]
    seen = {}
    for person in order:  # the first fills the member class's summary, the second reads it
        client.force_login(person)
        seen[person.username] = page_counts(client, group, essay)

    author_counts, author_page = seen[member.username]
    classmate_counts, classmate_page = seen[classmate.username]
    assert author_counts == {anchor: 1, other: 1}
    assert "2 threads" in author_page and "#secret" in author_page
    assert classmate_counts == {anchor: 1}
    assert "1 thread<" in classmate_page and "#secret" not in classmate_page


def test_a_hidden_reply_makes_a_thread_of_a_highlight_for_its_author_only(
    client, group, essay, member, classmate, facilitator
):
    highlight = create(group, essay, classmate, body="")  # a bare highlight: not a thread
    reply = reply_to(highlight, member, body="Off topic.")
    services.annotation_hide(annotation=reply, by=facilitator, note="Off topic")
    anchor = block_of(essay, QUOTE).anchor

    client.force_login(classmate)
    assert page_counts(client, group, essay)[0] == {}
    client.force_login(member)  # sees their own hidden reply
    assert page_counts(client, group, essay)[0] == {anchor: 1}
    client.force_login(facilitator)
    assert page_counts(client, group, essay)[0] == {anchor: 1}


def test_the_summary_follows_every_write(client, group, essay, member, classmate):
    client.force_login(classmate)
    assert page_counts(client, group, essay)[0] == {}
    note = create(group, essay, member, body="New.")
    anchor = block_of(essay, QUOTE).anchor
    assert page_counts(client, group, essay)[0] == {anchor: 1}
    services.annotation_delete(annotation=note)
    assert page_counts(client, group, essay)[0] == {}
