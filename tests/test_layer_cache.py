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
from tests.annotating import create, layer_at

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
        f"layer:{LAYER_CACHE_FORMAT}:{group_reading.pk}:{group_reading.layer_version}:member"
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
