"""The annotation API's query counts, pinned: every call takes the same number of queries
with 10 annotations in the group reading as with 2,000 (and 5,000 replies), for a member
signed in and for a personal API token. A new query per row, or per page, fails here.

Timings are not tested (the benchmark in bench/ measures them, from outside); what is pinned
is how many round trips a call makes, and (test_no_api_query_reads_outside_the_group_reading)
that every one of them is narrowed to the group reading.

Counts are of a cold cache (the page is then read and its total counted), and of a page asked
for again (its body kept in the cache is answered). The cache here is one process's memory, so
reading it costs no query; with the database cache (production's default) each read or write
of it is one more.
"""

import json
import re
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tokens import api_token_create
from annotations.api import PAGE_SIZE
from annotations.models import Annotation, Tag
from groups.models import Membership

ORIGIN = "http://testserver"
JSONLD = "application/ld+json"
SIZES = {"10": (10, 25), "2000": (2_000, 5_000)}  # (annotations, replies)
CHUNK = 100  # roots written per round, each round followed by its replies
DEEP_HOPS = 5  # `next` links followed to a page further on
MINIMAL = 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'


# --- the layer, written in bulk ---------------------------------------------------------------


def bulk_layer(group, essay, people, roots: int, replies: int) -> list[Annotation]:
    """`roots` annotations over the essay's words and `replies` replies, written in bulk in
    rounds (CHUNK roots, then their share of the replies, half of them to another reply), so a
    page holds both. Among the roots: tags, +1s, a facilitator's private notes, hidden ones,
    and deleted placeholders kept by their replies, spread evenly."""
    member, facilitator, classmate = people
    text = essay.canonical_text()
    words = list(re.finditer(r"\w+(?:\W+\w+){0,3}", text))
    kinds = ["commenting", "questioning", "highlighting", "tagging"]
    now = timezone.now()
    made: list[Annotation] = []
    rounds = max(1, roots // CHUNK)
    for round_ in range(rounds):
        batch = []
        for i in range(round_ * roots // rounds, (round_ + 1) * roots // rounds):
            word = words[(i * 7) % len(words)]
            start, end = word.span()
            kind = kinds[i % len(kinds)]
            batch.append(
                Annotation(
                    group=group,
                    reading=essay,
                    author=people[i % 3],
                    motivation=kind,
                    body="" if kind in {"highlighting", "tagging"} else f"Note {i}",
                    body_html="" if kind in {"highlighting", "tagging"} else f"<p>Note {i}</p>",
                    start=start,
                    end=end,
                    exact=word.group(),
                    prefix=text[max(0, start - 32) : start],
                    suffix=text[end : end + 32],
                    plus_count=i % 4,
                    visibility="private" if i % 9 == 4 else "group",
                    hidden_at=now if i % 9 == 7 else None,
                    hidden_by=facilitator if i % 9 == 7 else None,
                    hidden_note="Off topic." if i % 9 == 7 else "",
                    deleted_at=now if i % 9 == 2 else None,
                )
            )
        batch = Annotation.objects.bulk_create(batch)
        Tag.objects.bulk_create(
            [
                Tag(annotation=a, name=f"tag{n}")
                for i, a in enumerate(batch)
                if a.motivation == "tagging" or i % 3 == 0
                for n in range(1 + i % 3)
            ]
        )
        shared = [a for a in batch if a.visibility == "group"]
        share = (round_ + 1) * replies // rounds - round_ * replies // rounds
        first = Annotation.objects.bulk_create(
            [
                Annotation(
                    group=group,
                    reading=essay,
                    author=people[(i + 1) % 3],
                    motivation="replying",
                    body=f"Reply {i}",
                    body_html=f"<p>Reply {i}</p>",
                    parent=shared[i % len(shared)],
                    root=shared[i % len(shared)],
                    is_answer=i % 5 == 0,
                )
                for i in range(share - share // 2)
            ]
        )
        deeper = Annotation.objects.bulk_create(
            [
                Annotation(
                    group=group,
                    reading=essay,
                    author=people[i % 3],
                    motivation="replying",
                    body=f"Deeper {i}",
                    body_html=f"<p>Deeper {i}</p>",
                    parent=first[i % len(first)],
                    root=first[i % len(first)].root,
                )
                for i in range(share // 2)
            ]
        )
        made += [*batch, *first, *deeper]
    return made


@pytest.fixture(params=list(SIZES))
def layer(request, group, essay, member, facilitator, make_user):
    """The group reading with 10 or 2,000 annotations, and what the calls below act on."""
    classmate = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=classmate, role=Membership.Role.MEMBER)
    roots, replies = SIZES[request.param]
    rows = bulk_layer(group, essay, [member, facilitator, classmate], roots, replies)
    visible = lambda a: a.visibility == "group" and a.hidden_at is None  # noqa: E731
    mine = [a for a in rows if a.author_id == member.pk and visible(a) and not a.deleted_at]
    return SimpleNamespace(
        size=request.param,
        rows=rows,
        url=reverse("annotations:container", args=[group.slug, essay.slug]),
        # a member's comment with tags, a member's reply nobody answered, a thread's root
        # with replies, a reply in the middle of a thread
        comment=next(a for a in mine if a.motivation == "commenting"),
        leaf=next(
            a for a in reversed(mine) if a.parent_id and not any(r.parent_id == a.pk for r in rows)
        ),
        thread=next(a for a in rows if a.root_id and visible(a)).root,
        reply=next(
            a
            for a in rows
            if a.parent_id and a.parent.parent_id and visible(a) and visible(a.parent)
        ),
    )


@pytest.fixture(params=["session", "token"])
def api(request, client, member, group, essay):
    """The member, signed in or with a personal API token (already used once, so its
    `last_used_at` is fresh and not written again)."""
    if request.param == "session":
        client.force_login(member)
        return client
    raw = api_token_create(user=member, name="queries")[1]
    bearer = Client(headers={"Authorization": f"Bearer {raw}"})
    url = reverse("annotations:container", args=[group.slug, essay.slug])
    assert bearer.get(url, headers={"Prefer": MINIMAL}).status_code == 200
    return bearer


def item_path(layer, annotation) -> str:
    return f"{layer.url}{annotation.pk}"


def count(api, method: str, path: str, **kwargs) -> tuple[int, object]:
    cache.clear()  # the cold case: the total of a page is counted
    with CaptureQueriesContext(connection) as queries:
        response = getattr(api, method)(path, **kwargs)
    return len(queries), response


# --- the counts ---------------------------------------------------------------------------------

# A signed-in member: the session and the person (2); a token: the token with its person (1).
AUTH = {"session": 2, "token": 1}
# Then the group reading with its group, its reading and the person's membership:
WALLS = 1
QUERIES = {
    # the first page's rows (with their authors, for the ETag), the total, the page's tags
    "container": 3,
    "first page": 3,
    # ... and one indexed look for an annotation before the page (is there a `prev`?)
    "deep page": 4,
    # the annotation (with its author, parent, root), its tags
    "one annotation": 2,
}


def expected(api_kind: str, call: str) -> int:
    return AUTH[api_kind] + WALLS + QUERIES[call]


def test_the_container_takes_a_fixed_number_of_queries(api, request, layer):
    n, response = count(api, "get", layer.url)

    assert response.status_code == 200
    assert len(response.json()["first"]["items"]) == min(PAGE_SIZE, response.json()["total"])
    assert n == expected(request.node.callspec.params["api"], "container")


def test_the_first_page_takes_a_fixed_number_of_queries(api, request, layer):
    n, response = count(api, "get", layer.url + "?page=0")

    assert response.status_code == 200
    assert "prev" not in response.json()
    assert n == expected(request.node.callspec.params["api"], "first page")


def deep_page(api, layer) -> str:
    """A page several `next` links on (with 10 annotations, the one after the fifth)."""
    page = api.get(layer.url + "?page=0").json()
    if layer.size == "10":
        return f"{layer.url}?after={page['items'][4]['id'].rsplit('/', 1)[1]}"
    for _ in range(DEEP_HOPS):
        page = api.get(page["next"]).json()
    return page["id"].removeprefix(ORIGIN)


def test_a_page_further_on_takes_the_same_queries_as_the_first_but_one(api, request, layer):
    path = deep_page(api, layer)

    n, response = count(api, "get", path)

    page = response.json()
    assert response.status_code == 200
    assert page["items"] and "prev" in page
    assert n == expected(request.node.callspec.params["api"], "deep page")


@pytest.mark.parametrize("page", ["container", "first page", "deep page"])
def test_a_page_asked_for_again_is_answered_from_the_cache(api, request, layer, page):
    """The body is kept under its ETag: asked again, one cache read answers it (the kept page
    and the version of everyone's names, to see that none was renamed)."""
    path = {
        "container": layer.url,
        "first page": layer.url + "?page=0",
        "deep page": deep_page(api, layer),
    }[page]
    first = api.get(path)

    with CaptureQueriesContext(connection) as queries:
        again = api.get(path)

    assert again.content == first.content
    # The cache is in memory in the tests; on the database cache it is one query more.
    assert len(queries) == AUTH[request.node.callspec.params["api"]] + WALLS


@pytest.mark.parametrize("which", ["comment", "reply"])
def test_one_annotation_takes_a_fixed_number_of_queries(api, request, layer, which):
    n, response = count(api, "get", item_path(layer, getattr(layer, which)))

    assert response.status_code == 200
    assert n == expected(request.node.callspec.params["api"], "one annotation")


# --- writes: each is one transaction; its savepoint and release are two of the queries -------

WRITES = {
    # the savepoint and its release; the canonical text the target is checked against (its
    # sections and blocks: read once per process and version of the text, here the first
    # time); the insert, its tags, the layer's version figure (the answer shows the tags just
    # written, without reading them back)
    "create": 2 + 2 + 3,
    # the parent as the viewer sees it; the savepoint and its release; the parent locked; the
    # insert, the version figure; then its notifications (notifications.services): the
    # thread's writers, the members told with their settings and mutes, the section it is in
    # (the reading's sections and blocks, cached per revision: here the cold case), the insert
    "reply": 1 + 2 + 1 + 2 + (1 + 1 + 2 + 1),
    # the annotation; the savepoint and its release; locked; If-Match asks for its tags;
    # an open flag on it, under the lock (a flagged note's words stay: access.not_held);
    # the members, for @mentions, and the mentions (delete the old, read what is left); the
    # tags (the same, and add the new); the row; the version figure; the answer's tags
    "put": 1 + 2 + 1 + 1 + 1 + 1 + 2 + 3 + 1 + 1 + 1,
    # the annotation; the savepoint and its release; locked; an open flag on it, under the
    # lock (a flagged note stays: access.not_held); has it replies?; the delete
    # (what hangs from it read: replies, thread, meetings' agenda items and live spotlights;
    # deleted: tags, +1s, flags, mentions, raises, the notifications about it, the mutes of
    # its thread, the row); its parent locked (a placeholder left with nothing to hold?); the
    # version figure
    "delete": 1 + 2 + 1 + 1 + 1 + 12 + 1 + 1,
}


def comment_body(essay) -> dict:
    text = essay.canonical_text()
    quote = "The premise of socialism is simple: full democracy."
    start = text.index(quote)
    return {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "type": "Annotation",
        "motivation": "commenting",
        "body": [
            {"type": "TextualBody", "value": "A *fine* point.", "format": "text/markdown"},
            {"type": "TextualBody", "value": "democracy", "purpose": "tagging"},
        ],
        "target": {
            "source": ORIGIN + reverse("readings:detail", args=[essay.slug]),
            "selector": [
                {"type": "TextQuoteSelector", "exact": quote},
                {"type": "TextPositionSelector", "start": start, "end": start + len(quote)},
            ],
        },
    }


def expected_write(api_kind: str, call: str) -> int:
    return AUTH[api_kind] + WALLS + WRITES[call]


def test_creating_an_annotation_takes_a_fixed_number_of_queries(api, request, layer, essay):
    n, response = count(
        api, "post", layer.url, data=json.dumps(comment_body(essay)), content_type=JSONLD
    )

    assert response.status_code == 201, response.content
    assert n == expected_write(request.node.callspec.params["api"], "create")


def test_replying_takes_a_fixed_number_of_queries(api, request, layer):
    data = {
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Quite so.",
        "target": ORIGIN + item_path(layer, layer.thread),
    }

    n, response = count(api, "post", layer.url, data=json.dumps(data), content_type=JSONLD)

    assert response.status_code == 201, response.content
    assert n == expected_write(request.node.callspec.params["api"], "reply")


def test_editing_takes_a_fixed_number_of_queries(api, request, layer):
    path = item_path(layer, layer.comment)
    etag = api.get(path)["ETag"]
    data = {
        "type": "Annotation",
        "bodyValue": "Rewritten.",
        "body": [{"type": "TextualBody", "value": "work", "purpose": "tagging"}],
    }

    n, response = count(
        api, "put", path, data=json.dumps(data), content_type=JSONLD, headers={"If-Match": etag}
    )

    assert response.status_code == 200, response.content
    assert n == expected_write(request.node.callspec.params["api"], "put")


def test_deleting_takes_a_fixed_number_of_queries(api, request, layer):
    n, response = count(api, "delete", item_path(layer, layer.leaf))

    assert response.status_code == 204
    assert n == expected_write(request.node.callspec.params["api"], "delete")


# --- every query is narrowed to the group reading ------------------------------------------------


def test_no_api_query_reads_outside_the_group_reading(client, member, group, essay, layer):
    """Each query of the container and its pages names the group and the reading (or looks
    rows up by their keys): none counts or sorts the whole table."""
    client.force_login(member)
    paths = [layer.url, layer.url + "?page=0", layer.url + "?page=last", deep_page(client, layer)]
    for path in paths:
        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        for query in queries.captured_queries:
            sql = query["sql"]
            if '"annotations_annotation"' not in sql.split(" WHERE ")[0]:
                continue  # the session, the person, the walls, the tags by annotation id
            assert f'"group_id" = {group.pk}' in sql and f'"reading_id" = {essay.pk}' in sql, (
                path,
                sql,
            )
            assert "OFFSET" not in sql, (path, sql)
