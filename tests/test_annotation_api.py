"""The W3C Web Annotation Protocol over one group's layer of one reading.

    container  /groups/<g>/readings/<r>/annotations/      GET HEAD OPTIONS POST
    annotation /groups/<g>/readings/<r>/annotations/<id>  GET HEAD OPTIONS PUT DELETE

Every refused write is checked to store nothing and to answer JSON with an "error".
"""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import api_token_create, api_token_revoke
from annotations import services
from annotations.api import PAGE_SIZE
from annotations.models import Annotation
from groups.models import Membership
from readings.services import reading_import
from tests.annotating import layer_at

ANNO_TYPE = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
PREFER_MINIMAL = 'return=representation;include="http://www.w3.org/ns/ldp#PreferMinimalContainer"'
PREFER_IRIS = 'return=representation;include="http://www.w3.org/ns/oa#PreferContainedIRIs"'
ORIGIN = "http://testserver"
UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
WPT_INCORRECT = Path(__file__).resolve().parent / "data" / "w3c-incorrect"
QUOTE = "The premise of socialism is simple: full democracy."
OTHER_QUOTE = "When socialists talk about ordinary people"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ---------------------------------------------------------------------------------


def container_path(group, reading) -> str:
    return reverse("annotations:container", args=[group.slug, reading.slug])


def item_path(annotation) -> str:
    return reverse(
        "annotations:annotation",
        args=[annotation.group.slug, annotation.reading.slug, annotation.pk],
    )


def reading_iri(reading) -> str:
    return ORIGIN + reverse("readings:detail", args=[reading.slug])


def text_iri(reading) -> str:
    """What annotations target since issue 12: the reading's canonical text itself."""
    return ORIGIN + reverse("readings:text", args=[reading.slug])


def contexts() -> list[str]:
    """Every @context since issue 12: the W3C one, then this site's own terms."""
    return [ANNO_CONTEXT, settings.SITE_URL + "/ns/commonplace.jsonld"]


def span(reading, quote: str) -> tuple[int, int]:
    text = reading.canonical_text()
    start = text.index(quote)
    assert text.count(quote) == 1, f"{quote!r} is not unique in the text"
    return start, start + len(quote)


def target(reading, quote: str = QUOTE, **changes) -> dict:
    start, end = span(reading, quote)
    position = {"type": "TextPositionSelector", "start": start, "end": end}
    position.update({k: v for k, v in changes.items() if k in {"start", "end"}})
    return {
        "source": changes.get("source", reading_iri(reading)),
        "selector": [
            {"type": "TextQuoteSelector", "exact": changes.get("exact", quote)},
            position,
        ],
    }


def comment(reading, body: str = "A *fine* point.", **extra) -> dict:
    data = {
        "@context": ANNO_CONTEXT,
        "type": "Annotation",
        "motivation": "commenting",
        "body": [{"type": "TextualBody", "value": body, "format": "text/markdown"}],
        "target": target(reading),
    }
    data.update(extra)
    return data


def post(client, url: str, data, *, content_type: str = "application/ld+json", **headers):
    payload = data if isinstance(data, str | bytes) else json.dumps(data)
    return client.post(url, data=payload, content_type=content_type, headers=headers)


def put(client, url: str, data, **headers):
    return client.put(
        url, data=json.dumps(data), content_type="application/ld+json", headers=headers
    )


def split_header(value: str) -> list[str]:
    return [part.strip() for part in value.split(",")]


def make_comment(group, essay, author, body="Worth discussing.", quote=QUOTE, **fields):
    start, end = span(essay, quote)
    return services.annotation_create(
        group=group,
        reading=essay,
        author=author,
        motivation=fields.pop("motivation", "commenting"),
        body=body,
        start=start,
        end=end,
        **fields,
    )


def make_reply(parent, author, body="I agree."):
    return services.annotation_create(
        group=parent.group,
        reading=parent.reading,
        author=author,
        motivation="replying",
        body=body,
        parent=parent,
    )


def bulk_roots(group, essay, author, count: int) -> list[Annotation]:
    """`count` highlights on successive words of the essay, written in one go."""
    text = essay.canonical_text()
    words = list(re.finditer(r"\w+", text))
    rows = []
    for i in range(count):
        word = words[i % len(words)]
        start, end = word.span()
        rows.append(
            Annotation(
                group=group,
                reading=essay,
                author=author,
                motivation=Annotation.Motivation.HIGHLIGHTING,
                start=start,
                end=end,
                exact=word.group(),
                prefix=text[max(0, start - 32) : start],
                suffix=text[end : end + 32],
            )
        )
    return Annotation.objects.bulk_create(rows)


@pytest.fixture
def as_member(client, member, group):
    client.force_login(member)
    return client


@pytest.fixture
def url(group, essay) -> str:
    return container_path(group, essay)


@pytest.fixture
def classmate(make_user, group):
    """A second ordinary member of the facilitator's group."""
    person = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=person, role=Membership.Role.MEMBER)
    return person


@pytest.fixture
def note(group, essay, member) -> Annotation:
    return make_comment(group, essay, member, body="The *heart* of it.", tags=["democracy"])


# --- the container: GET, HEAD, OPTIONS ---------------------------------------------------------


def test_the_container_answers_with_the_annotation_content_type(as_member, url):
    response = as_member.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == ANNO_TYPE


def test_the_container_says_it_is_a_basic_container_constrained_by_the_protocol(as_member, url):
    response = as_member.get(url)

    link = response["Link"]
    assert '<http://www.w3.org/ns/ldp#BasicContainer>; rel="type"' in link
    assert (
        '<http://www.w3.org/TR/annotation-protocol/>; rel="http://www.w3.org/ns/ldp#constrainedBy"'
        in link
    )
    assert "POST" in split_header(response["Allow"])
    assert response["Accept-Post"] == ANNO_TYPE
    assert re.fullmatch(r'"[^"]+"', response["ETag"])
    assert "Accept" in split_header(response["Vary"])


def test_the_container_body_is_a_collection_with_its_first_page_embedded(as_member, url, note):
    body = as_member.get(url).json()

    assert body["id"] == ORIGIN + url
    assert body["id"].endswith("/")
    assert ANNO_CONTEXT in body["@context"]
    assert {"BasicContainer", "AnnotationCollection"} <= set(body["type"])
    assert body["total"] == 1
    assert body["last"] == f"{ORIGIN}{url}?page=0"
    first = body["first"]
    assert first["type"] == "AnnotationPage"
    assert first["id"] == f"{ORIGIN}{url}?page=0"
    assert first["partOf"]["id"] == body["id"]
    assert first["startIndex"] == 0
    assert [item["id"] for item in first["items"]] == [f"{ORIGIN}{url}{note.pk}"]
    assert "next" not in first and "prev" not in first


def test_an_empty_container_has_a_total_of_zero(as_member, url):
    body = as_member.get(url).json()

    assert body["total"] == 0
    assert body["last"] == f"{ORIGIN}{url}?page=0"


def test_the_etag_changes_when_an_annotation_is_added(as_member, url, group, essay, member):
    before = as_member.get(url)["ETag"]

    make_comment(group, essay, member)

    assert as_member.get(url)["ETag"] != before


def ids_of(page) -> list[int]:
    return [
        int((item if isinstance(item, str) else item["id"]).rsplit("/", 1)[1])
        for item in page["items"]
    ]


def walk(client, page, link: str) -> list[dict]:
    """Every page from `page` on, following `link` ("next" or "prev")."""
    pages = [page]
    while link in pages[-1]:
        pages.append(client.get(pages[-1][link]).json())
        assert len(pages) < 50, "the links go round in a circle"
    return pages


def test_pages_hold_at_most_page_size_annotations_and_link_to_each_other(
    as_member, url, group, essay, member
):
    made = [a.pk for a in bulk_roots(group, essay, member, 250)]
    assert PAGE_SIZE == 100

    body = as_member.get(url).json()
    first, middle, final = walk(as_member, body["first"], "next")

    assert body["total"] == 250
    assert body["last"] == f"{ORIGIN}{url}?page=last"
    assert len(first["items"]) == 100
    assert first["startIndex"] == 0
    assert first["next"] == f"{ORIGIN}{url}?after={made[99]}"
    assert "prev" not in first
    assert middle["@context"] == contexts()
    assert middle["type"] == "AnnotationPage"
    assert middle["id"] == f"{ORIGIN}{url}?after={made[99]}"
    assert middle["partOf"] == {
        "id": ORIGIN + url,
        "total": 250,
        "type": "AnnotationCollection",
    }
    assert ids_of(middle) == made[100:200]
    assert middle["prev"] == f"{ORIGIN}{url}?before={made[100]}"
    assert middle["next"] == f"{ORIGIN}{url}?after={made[199]}"
    assert ids_of(final) == made[200:]
    assert final["prev"] == f"{ORIGIN}{url}?before={made[200]}"
    assert "next" not in final
    assert [pk for page in (first, middle, final) for pk in ids_of(page)] == made


def test_prev_links_walk_back_over_the_same_pages(as_member, url, group, essay, member):
    bulk_roots(group, essay, member, 250)
    forwards = walk(as_member, as_member.get(f"{url}?page=0").json(), "next")

    backwards = walk(as_member, forwards[-1], "prev")

    assert [ids_of(page) for page in reversed(backwards)] == [ids_of(p) for p in forwards]
    assert backwards[-1]["id"] == f"{ORIGIN}{url}?before={ids_of(forwards[1])[0]}"


def test_the_last_page_holds_the_newest_annotations(as_member, url, group, essay, member):
    made = [a.pk for a in bulk_roots(group, essay, member, 250)]

    last = as_member.get(f"{url}?page=last").json()
    pages = walk(as_member, last, "prev")

    assert last["id"] == f"{ORIGIN}{url}?page=last"
    assert ids_of(last) == made[150:]
    assert last["startIndex"] == 150
    assert "next" not in last
    assert last["prev"] == f"{ORIGIN}{url}?before={made[150]}"
    assert [ids_of(page) for page in pages] == [made[150:], made[50:150], made[:50]]
    assert "prev" not in pages[-1]
    assert pages[-1]["next"] == f"{ORIGIN}{url}?after={made[49]}"


def test_a_page_in_the_middle_does_not_count_what_comes_before_it(
    as_member, url, group, essay, member
):
    made = bulk_roots(group, essay, member, 150)

    page = as_member.get(f"{url}?after={made[20].pk}").json()

    assert "startIndex" not in page
    assert ids_of(page) == [a.pk for a in made[21:121]]


def test_new_and_deleted_annotations_do_not_shift_the_pages_being_walked(
    as_member, url, group, essay, member
):
    made = [a.pk for a in bulk_roots(group, essay, member, 150)]
    first = as_member.get(f"{url}?page=0").json()

    Annotation.objects.filter(pk__in=made[:10]).delete()
    later = make_comment(group, essay, member)
    second = as_member.get(first["next"]).json()

    assert ids_of(second) == [*made[100:], later.pk]


def test_a_cursor_past_the_end_gives_an_empty_page_that_leads_back(
    as_member, url, group, essay, member
):
    made = bulk_roots(group, essay, member, 120)

    past = as_member.get(f"{url}?after={made[-1].pk}")
    before = as_member.get(f"{url}?before={made[0].pk}")

    assert past.status_code == before.status_code == 200
    assert past.json()["items"] == before.json()["items"] == []
    assert past.json()["partOf"]["total"] == 120
    assert past.json()["prev"] == f"{ORIGIN}{url}?page=last"
    assert "next" not in past.json()
    assert before.json()["next"] == f"{ORIGIN}{url}?page=0"
    assert "prev" not in before.json()


def test_an_empty_page_of_an_empty_container_links_nowhere(as_member, url):
    page = as_member.get(f"{url}?after=5").json()

    assert page["items"] == []
    assert "next" not in page and "prev" not in page


def test_cursors_skip_what_the_viewer_may_not_see(
    as_member, url, group, essay, member, facilitator
):
    rows = bulk_roots(group, essay, facilitator, 230)
    private = {a.pk for a in rows[::3]}
    Annotation.objects.filter(pk__in=private).update(visibility="private")

    body = as_member.get(url).json()
    pages = walk(as_member, body["first"], "next")

    seen = [pk for page in pages for pk in ids_of(page)]
    assert seen == [a.pk for a in rows if a.pk not in private]
    assert body["total"] == len(seen)
    assert [len(page["items"]) for page in pages] == [100, 53]


def test_iri_pages_link_to_iri_pages(as_member, url, group, essay, member):
    made = bulk_roots(group, essay, member, 150)

    body = as_member.get(url, headers={"Prefer": PREFER_IRIS}).json()
    second = as_member.get(body["first"]["next"]).json()

    assert body["first"]["next"] == f"{ORIGIN}{url}?after={made[99].pk}&iris=1"
    assert body["last"] == f"{ORIGIN}{url}?page=last&iris=1"
    assert second["items"] == [f"{ORIGIN}{url}{a.pk}" for a in made[100:]]
    assert second["prev"] == f"{ORIGIN}{url}?before={made[100].pk}&iris=1"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=3", 404),
        ("page=-1", 404),
        ("page=one", 400),
        ("page=--5", 400),
        ("page=1e3", 400),
        ("page=", 400),
        ("after=one", 400),
        ("after=-5", 400),
        ("after=", 400),
        ("before=1.5", 400),
        ("before=%EF%BC%91", 400),  # a full-width digit one
        ("after=99999999999999999999", 400),
        ("after=3&before=9", 400),
        ("page=0&after=3", 400),
    ],
)
def test_a_page_that_does_not_exist_is_refused_with_json(
    as_member, url, group, essay, member, query, status
):
    bulk_roots(group, essay, member, 250)

    response = as_member.get(f"{url}?{query}")

    assert response.status_code == status
    assert response.json()["error"]


def test_prefer_minimal_container_embeds_no_items(as_member, url, note):
    response = as_member.get(url, headers={"Prefer": PREFER_MINIMAL})

    body = response.json()
    assert response.status_code == 200
    assert body["total"] == 1
    assert body["first"] == f"{ORIGIN}{url}?page=0"
    assert body["last"] == f"{ORIGIN}{url}?page=0"
    assert "items" not in json.dumps(body)
    assert "Prefer" in split_header(response["Vary"])


def test_prefer_contained_iris_lists_the_items_as_iris(as_member, url, note):
    body = as_member.get(url, headers={"Prefer": PREFER_IRIS}).json()

    assert body["first"]["items"] == [f"{ORIGIN}{url}{note.pk}"]
    assert body["first"]["id"] == f"{ORIGIN}{url}?page=0&iris=1"


def test_head_gives_the_headers_and_an_empty_body(as_member, url, note):
    got = as_member.get(url)

    response = as_member.head(url)

    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Type"] == ANNO_TYPE
    assert response["ETag"] == got["ETag"]
    assert response["Link"] == got["Link"]


def test_options_answers_200_with_allow(as_member, url):
    response = as_member.options(url)

    assert response.status_code == 200
    assert set(split_header(response["Allow"])) == {"GET", "HEAD", "OPTIONS", "POST"}


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_the_container_refuses_other_methods_with_405(as_member, url, method):
    response = getattr(as_member, method)(url)

    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert response.json()["error"]


# --- the container: POST ----------------------------------------------------------------------


def test_posting_a_comment_answers_201_with_its_location(as_member, url, essay):
    response = post(as_member, url, comment(essay))

    assert response.status_code == 201
    annotation = Annotation.objects.get()
    assert response["Location"] == f"{ORIGIN}{url}{annotation.pk}"
    assert response["Location"].startswith(ORIGIN + url)
    assert response["Content-Type"] == ANNO_TYPE
    assert response.json()["id"] == response["Location"]
    assert response["ETag"]


def test_a_created_comment_is_a_w3c_annotation(as_member, url, essay, member):
    data = comment(essay, body="A **fine** point.")
    data["body"].append({"type": "TextualBody", "value": "Democracy", "purpose": "tagging"})
    data["body"].append({"type": "TextualBody", "value": "#marx", "purpose": "tagging"})

    anno = post(as_member, url, data).json()

    assert anno["@context"] == contexts()
    assert anno["type"] == "Annotation"
    assert anno["motivation"] == "commenting"
    text_body, *tags = anno["body"]
    assert text_body["type"] == "TextualBody"
    assert text_body["value"] == "A **fine** point."
    assert text_body["format"] == "text/markdown"
    assert sorted((t["value"], t["purpose"]) for t in tags) == [
        ("Democracy", "tagging"),  # as written (issue 12): only the leading "#" goes
        ("marx", "tagging"),
    ]
    assert anno["creator"]["name"] == member.public_name
    assert anno["creator"]["nickname"] == member.username
    assert UTC_STAMP.match(anno["created"])
    assert UTC_STAMP.match(anno["modified"])
    assert anno["visibility"] == "group"


def test_a_created_annotation_targets_the_reading_with_quote_and_position(as_member, url, essay):
    text = essay.canonical_text()
    start, end = span(essay, QUOTE)

    anno = post(as_member, url, comment(essay)).json()

    assert anno["target"]["source"] == text_iri(essay)
    selectors = {s["type"]: s for s in anno["target"]["selector"]}
    assert selectors["TextQuoteSelector"] == {
        "type": "TextQuoteSelector",
        "exact": QUOTE,
        "prefix": text[start - 32 : start],
        "suffix": text[end : end + 32],
    }
    assert len(selectors["TextQuoteSelector"]["prefix"]) == 32
    assert len(selectors["TextQuoteSelector"]["suffix"]) == 32
    assert selectors["TextPositionSelector"] == {
        "type": "TextPositionSelector",
        "start": start,
        "end": end,
    }


def test_the_prefix_is_shorter_at_the_start_of_the_text(as_member, url, essay):
    words = essay.canonical_text()[:8]
    data = comment(essay)
    data["target"]["selector"] = [
        {"type": "TextQuoteSelector", "exact": words},
        {"type": "TextPositionSelector", "start": 0, "end": 8},
    ]

    anno = post(as_member, url, data).json()

    quote = anno["target"]["selector"][0]
    assert quote["prefix"] == ""
    assert quote["suffix"] == essay.canonical_text()[8:40]


TAGS = ["Zeta", "alpha-b", "alphab", "#Émile", "a b"]  # orders that collations disagree on


def test_the_etag_of_a_new_annotation_is_the_one_a_get_gives(as_member, url, essay):
    tags = [{"type": "TextualBody", "value": t, "purpose": "tagging"} for t in TAGS]
    data = comment(essay)
    data["body"] += tags

    made = post(as_member, url, data)
    got = as_member.get(made["Location"])

    assert made["ETag"] == got["ETag"]
    assert made.content == got.content
    shown = [b["value"] for b in got.json()["body"] if b["purpose"] == "tagging"]
    # Tags keep their case since issue 12, so "Zeta" sorts first in code point order.
    assert (
        shown == sorted(services.clean_tags(TAGS)) == ["Zeta", "a b", "alpha-b", "alphab", "Émile"]
    )
    edit = put(
        as_member,
        made["Location"],
        {"type": "Annotation", "bodyValue": "Again."},
        **{"If-Match": made["ETag"]},
    )
    assert edit.status_code == 200


def test_a_revised_text_is_checked_against_its_new_words(as_member, url, essay, member):
    """The canonical text a new annotation is checked against is cached: a revision must
    not leave the old one in use. (Since issue 12 a quote is placed by its words and a
    position is only a hint, so a target made on the old text lands on the same words in the
    new one, not where the old text had them.)"""
    assert post(as_member, url, comment(essay)).status_code == 201
    old = target(essay)
    text = essay.canonical_text()
    reading_import(
        data=("# " + essay.title + "\n\nA new first line.\n\n" + text).encode(),
        filename="essay.md",
        slug=essay.slug,
        replace=True,
        reanchor=lambda reading, before, after: services.annotations_reanchor(
            reading=reading, old_text=before, new_text=after
        ),
    )
    essay.refresh_from_db()

    stale = post(as_member, url, comment(essay, target=old))
    fresh = post(as_member, url, comment(essay))

    assert stale.status_code == 201, stale.content
    assert fresh.status_code == 201, fresh.content
    assert target(essay) != old
    placed = {s["type"]: s for s in stale.json()["target"]["selector"]}
    assert placed["TextPositionSelector"]["start"] == span(essay, QUOTE)[0]


def test_a_comment_mentions_members_by_name(as_member, url, essay, facilitator):
    response = post(as_member, url, comment(essay, body="What do you think, @fran?"))

    assert response.status_code == 201
    made = Annotation.objects.get(pk=response["Location"].rsplit("/", 1)[1])
    assert set(made.mentions.values_list("user__username", flat=True)) == {"fran"}
    assert 'class="mention"' in made.body_html


def test_the_group_reading_page_is_accepted_as_the_source(as_member, url, group, essay):
    page = ORIGIN + reverse("annotations:reading", args=[group.slug, essay.slug])

    response = post(as_member, url, comment(essay, target=target(essay, source=page)))

    assert response.status_code == 201


def test_posting_a_highlight_stores_no_body(as_member, url, essay):
    data = {"@context": ANNO_CONTEXT, "type": "Annotation", "target": target(essay)}

    response = post(as_member, url, data)

    anno = response.json()
    assert response.status_code == 201
    assert anno["motivation"] == "highlighting"
    assert "body" not in anno
    assert Annotation.objects.get().body == ""


def test_posting_a_question_stores_a_questioning_annotation(as_member, url, essay):
    response = post(as_member, url, comment(essay, "Why Marx?", motivation="questioning"))

    assert response.status_code == 201
    assert response.json()["motivation"] == "questioning"
    assert Annotation.objects.get().is_question


def test_posting_a_reply_targets_the_parent_iri(as_member, url, essay, note):
    parent_iri = f"{ORIGIN}{url}{note.pk}"
    data = {
        "@context": ANNO_CONTEXT,
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Yes, and the workplace too.",
        "target": parent_iri,
    }

    response = post(as_member, url, data)

    anno = response.json()
    assert response.status_code == 201
    assert anno["motivation"] == "replying"
    assert anno["target"] == parent_iri
    assert anno["body"][0]["value"] == "Yes, and the workplace too."
    reply = Annotation.objects.get(pk=anno["id"].rsplit("/", 1)[1])
    assert (reply.parent, reply.root) == (note, note)


def test_a_reply_to_a_reply_keeps_the_thread_root(as_member, url, essay, note, facilitator):
    first = make_reply(note, facilitator)
    data = {
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Deeper.",
        "target": {"id": f"{ORIGIN}{url}{first.pk}"},
    }

    response = post(as_member, url, data)

    assert response.status_code == 201
    reply = Annotation.objects.latest("pk")
    assert (reply.parent, reply.root) == (first, note)


def test_a_private_note_is_invisible_to_other_members(client, url, group, essay, member, classmate):
    client.force_login(member)
    response = post(client, url, comment(essay, "Only for me.", visibility="private"))
    assert response.status_code == 201
    assert response.json()["visibility"] == "private"
    iri = response["Location"]
    private = Annotation.objects.get()

    client.force_login(classmate)
    listing = client.get(url).json()
    item = client.get(iri.removeprefix(ORIGIN))
    page = client.get(reverse("annotations:reading", args=[group.slug, essay.slug]))

    assert listing["total"] == 0
    assert iri not in json.dumps(listing)
    assert item.status_code == 404
    assert page.status_code == 200
    assert "Only for me." not in page.content.decode()
    reading_page = reverse("annotations:reading", args=[group.slug, essay.slug])
    assert private.pk not in {entry["id"] for entry in layer_at(client, reading_page)}


def test_the_author_still_sees_their_private_note(as_member, url, essay):
    iri = post(as_member, url, comment(essay, "Only for me.", visibility="private"))["Location"]

    listing = as_member.get(url).json()

    assert [i["id"] for i in listing["first"]["items"]] == [iri]
    assert as_member.get(iri.removeprefix(ORIGIN)).status_code == 200


def test_a_private_note_is_hidden_from_the_facilitator_too(client, url, essay, member, facilitator):
    client.force_login(member)
    iri = post(client, url, comment(essay, "Only for me.", visibility="private"))["Location"]

    client.force_login(facilitator)

    assert client.get(url).json()["total"] == 0
    assert client.get(iri.removeprefix(ORIGIN)).status_code == 404


# --- bad input stores nothing ----------------------------------------------------------------


@pytest.fixture
def refused(db):
    """Assert that a response refuses with 4xx JSON holding an "error", storing nothing.

    It counts the annotations when it is set up: list it after the fixtures that write.
    """
    before = Annotation.objects.count()

    def check(response, status: int):
        assert response.status_code == status, response.content
        assert response["Content-Type"].startswith("application/json")
        assert isinstance(response.json()["error"], str)
        assert response.json()["error"]
        assert Annotation.objects.count() == before
        return response

    return check


def test_invalid_json_is_refused(as_member, url, refused):
    refused(post(as_member, url, '{"type": "Annotation",'), 400)


def test_a_json_array_is_refused(as_member, url, essay, refused):
    refused(post(as_member, url, [comment(essay)]), 400)


@pytest.mark.parametrize("kind", ["Note", None, ["Collection"], 7])
def test_a_body_that_is_not_an_annotation_is_refused(as_member, url, essay, refused, kind):
    refused(post(as_member, url, comment(essay, type=kind)), 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"]
)
def test_the_wrong_content_type_is_refused_with_415(as_member, url, essay, refused, content_type):
    refused(post(as_member, url, json.dumps(comment(essay)), content_type=content_type), 415)


def test_the_advertised_content_type_with_its_profile_is_accepted(as_member, url, essay):
    response = post(as_member, url, comment(essay), content_type=ANNO_TYPE)

    assert response.status_code == 201


def test_plain_json_is_accepted_as_well_as_json_ld(as_member, url, essay):
    response = post(as_member, url, comment(essay), content_type="application/json")

    assert response.status_code == 201


def test_a_missing_target_is_refused(as_member, url, essay, refused):
    data = comment(essay)
    del data["target"]

    refused(post(as_member, url, data), 400)


def test_a_target_with_only_a_quote_is_placed_by_its_words(as_member, url, essay):
    """Issue 12: other clients send a TextQuoteSelector alone (it was refused before)."""
    data = comment(essay)
    data["target"]["selector"] = [{"type": "TextQuoteSelector", "exact": QUOTE}]

    response = post(as_member, url, data)

    assert response.status_code == 201, response.content
    assert (Annotation.objects.get().start, Annotation.objects.get().end) == span(essay, QUOTE)


@pytest.mark.parametrize(
    "source",
    [
        "http://example.org/post1",
        "https://evil.example" + "/readings/what-is-socialism-from-below/",
        None,
    ],
)
def test_a_target_elsewhere_is_refused(as_member, url, essay, refused, source):
    refused(post(as_member, url, comment(essay, target=target(essay, source=source))), 400)


def test_a_target_on_another_reading_is_refused(as_member, url, group, essay, facilitator, refused):
    from groups.models import GroupReading
    from readings.services import reading_import

    other = reading_import(
        data=b"# Another reading\n\nThe premise of socialism is simple: full democracy.\n",
        filename="another.md",
        slug="another-reading",
    )
    GroupReading.objects.create(group=group, reading=other, added_by=facilitator)
    data = comment(essay, target=target(essay, source=reading_iri(other)))

    refused(post(as_member, url, data), 400)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (-1, 5),
        (0, 10**7),
        (100, 100),
        (120, 100),
        ("100", "140"),
        (100.0, 140.0),
        (True, 40),
        (0, True),
        (None, 140),
        ([100], [140]),
    ],
)
def test_impossible_positions_are_refused(as_member, url, essay, refused, start, end):
    data = comment(essay)
    data["target"]["selector"] = [{"type": "TextPositionSelector", "start": start, "end": end}]

    refused(post(as_member, url, data), 400)


def test_a_quote_that_is_nowhere_in_the_text_is_refused_whatever_the_position(
    as_member, url, essay, refused
):
    """Since issue 12 the quote decides and a position is only a hint: a quote that differs
    a little from the words at the position ("capitalism" for "socialism") is placed on them
    fuzzily, as re-anchoring would; one found nowhere is refused, saying so."""
    data = comment(essay, target=target(essay, exact="Nothing of the sort is written here."))

    response = refused(post(as_member, url, data), 400)

    assert "is not in this reading's text" in response.json()["error"]


def test_a_selection_of_only_spaces_is_refused(as_member, url, essay, refused):
    start = essay.canonical_text().index("\n\n")
    data = comment(essay)
    data["target"]["selector"] = [
        {"type": "TextPositionSelector", "start": start, "end": start + 2}
    ]

    refused(post(as_member, url, data), 400)


def test_a_body_over_ten_thousand_characters_is_refused(as_member, url, essay, refused):
    response = refused(post(as_member, url, comment(essay, "x" * 10_001)), 400)

    assert "10,000" in response.json()["error"]


def test_a_body_of_exactly_ten_thousand_characters_is_accepted(as_member, url, essay):
    response = post(as_member, url, comment(essay, "x" * 10_000))

    assert response.status_code == 201


@pytest.mark.parametrize("motivation", ["bookmarking", "", ["commenting", "tagging"], 3])
def test_an_unknown_motivation_is_refused(as_member, url, essay, refused, motivation):
    refused(post(as_member, url, comment(essay, motivation=motivation)), 400)


def test_a_comment_without_words_is_refused(as_member, url, essay, refused):
    refused(post(as_member, url, comment(essay, "   ")), 400)


def test_two_text_bodies_are_refused(as_member, url, essay, refused):
    data = comment(essay)
    data["body"].append({"type": "TextualBody", "value": "Another"})

    refused(post(as_member, url, data), 400)


def test_an_external_body_is_refused(as_member, url, essay, refused):
    data = comment(essay)
    data["body"] = "http://example.org/post1"

    refused(post(as_member, url, data), 400)


def test_a_body_that_is_not_utf8_is_refused(as_member, url, refused):
    refused(post(as_member, url, b'{"type": "Annotation", "bodyValue": "caf\xe9"}'), 400)


@pytest.mark.parametrize("fmt", ["text/html", "image/png"])
def test_a_body_in_another_format_is_refused(as_member, url, essay, refused, fmt):
    data = comment(essay)
    data["body"][0]["format"] = fmt

    refused(post(as_member, url, data), 400)


def test_an_unknown_visibility_is_refused(as_member, url, essay, refused):
    refused(post(as_member, url, comment(essay, visibility="public")), 400)


@pytest.fixture
def theirs(other_group, essay, other_member) -> Annotation:
    """A comment of the other group's, on the same essay."""
    return make_comment(other_group, essay, other_member)


@pytest.fixture
def fran_private(group, essay, facilitator) -> Annotation:
    return make_comment(group, essay, facilitator, visibility="private")


def test_a_reply_to_an_annotation_of_another_group_is_refused(as_member, url, theirs, refused):
    theirs_iri = ORIGIN + item_path(theirs)
    data = {"type": "Annotation", "motivation": "replying", "bodyValue": "Hi", "target": theirs_iri}

    refused(post(as_member, url, data), 400)
    # nor by naming its id inside this group's container
    data["target"] = f"{ORIGIN}{url}{theirs.pk}"
    refused(post(as_member, url, data), 400)


def test_a_reply_to_someone_elses_private_note_is_refused(
    client, url, member, fran_private, refused
):
    client.force_login(member)
    data = {
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Peek",
        "target": f"{ORIGIN}{url}{fran_private.pk}",
    }

    refused(post(client, url, data), 400)


def test_a_reply_without_words_is_refused(as_member, url, note, refused):
    data = {
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "",
        "target": f"{ORIGIN}{url}{note.pk}",
    }

    refused(post(as_member, url, data), 400)


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_a_person_outside_the_group_gets_404(client, request, url, essay, who, refused):
    client.force_login(request.getfixturevalue(who))

    refused(post(client, url, comment(essay)), 404)
    assert client.get(url).status_code == 404


def test_a_group_that_does_not_read_the_reading_gives_404(client, member, group, other_group):
    from readings.services import reading_import

    reading_import(data=b"# Elsewhere\n\nWords.\n", filename="x.md", slug="elsewhere")
    client.force_login(member)

    response = client.get(reverse("annotations:container", args=[group.slug, "elsewhere"]))

    assert response.status_code == 404
    assert response.json()["error"]


def test_a_signed_out_visitor_gets_401_with_www_authenticate(client, url, essay, group, refused):
    response = refused(post(client, url, comment(essay)), 401)

    assert response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url).status_code == 401


def test_a_session_post_without_the_csrf_token_gets_403(member, url, essay, refused):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    refused(post(browser, url, comment(essay)), 403)


def test_a_session_put_or_delete_without_the_csrf_token_gets_403(member, note):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)

    assert put(browser, item_path(note), comment(note.reading, "Forged")).status_code == 403
    assert browser.delete(item_path(note)).status_code == 403
    note.refresh_from_db()
    assert note.body == "The *heart* of it."


def test_a_session_post_with_the_csrf_token_is_accepted(member, group, url, essay):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    browser.get(reverse("annotations:reading", args=[group.slug, essay.slug]))
    token = browser.cookies["csrftoken"].value

    response = post(browser, url, comment(essay), **{"X-CSRFToken": token})

    assert response.status_code == 201


@pytest.mark.parametrize(
    "sample", sorted(p.name for p in WPT_INCORRECT.glob("*.json")) or ["(none found)"]
)
def test_the_w3c_incorrect_samples_are_all_refused(as_member, url, refused, sample):
    refused(post(as_member, url, (WPT_INCORRECT / sample).read_bytes()), 400)


def test_an_archived_group_refuses_new_annotations_with_403(as_member, url, group, essay, refused):
    from groups.services import group_archive

    group_archive(group=group)

    response = refused(post(as_member, url, comment(essay)), 403)

    assert "archived" in response.json()["error"]
    assert as_member.get(url).status_code == 200


# --- one annotation ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head", "options"])
def test_the_author_reads_an_annotation_with_its_headers(as_member, note, method):
    response = getattr(as_member, method)(item_path(note))

    assert response.status_code == 200
    assert response["Content-Type"] == ANNO_TYPE
    assert re.fullmatch(r'"[^"]+"', response["ETag"])
    assert set(split_header(response["Allow"])) == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
    assert '<http://www.w3.org/ns/ldp#Resource>; rel="type"' in response["Link"]
    assert "Accept" in split_header(response["Vary"])
    if method == "head":
        assert response.content == b""


@pytest.mark.parametrize("who", ["facilitator", "classmate"])
def test_others_may_only_read_an_annotation(client, request, note, who):
    client.force_login(request.getfixturevalue(who))

    response = client.get(item_path(note))

    assert response.status_code == 200
    assert set(split_header(response["Allow"])) == {"GET", "HEAD", "OPTIONS"}
    assert response.json()["id"] == ORIGIN + item_path(note)
    assert response.json()["body"][0]["value"] == "The *heart* of it."


def test_the_annotation_says_how_many_plus_ones_it_has(as_member, note, facilitator):
    services.annotation_plus_one(annotation=note, user=facilitator)

    assert as_member.get(item_path(note)).json()["plusOnes"] == 1


def test_an_annotation_is_not_found_under_another_readings_container(
    as_member, group, facilitator, note
):
    from groups.models import GroupReading
    from readings.services import reading_import

    other = reading_import(data=b"# Another\n\nSome words.\n", filename="a.md", slug="another")
    GroupReading.objects.create(group=group, reading=other, added_by=facilitator)

    response = as_member.get(f"{container_path(group, other)}{note.pk}")

    assert response.status_code == 404


def test_the_etag_changes_when_the_representation_does(as_member, note, facilitator):
    before = as_member.get(item_path(note))

    services.annotation_plus_one(annotation=note, user=facilitator)
    after = as_member.get(item_path(note))

    assert after.json() != before.json()
    assert after["ETag"] != before["ETag"]


def test_an_annotation_outlives_its_authors_account(client, note, member, facilitator):
    member.delete()
    client.force_login(facilitator)

    response = client.get(item_path(note))

    assert response.status_code == 200
    assert response.json()["creator"] == {"type": "Person", "name": "former member"}


def test_an_unknown_annotation_gives_404(as_member, url):
    response = as_member.get(f"{url}999999")

    assert response.status_code == 404
    assert response.json()["error"]


def test_the_author_replaces_body_and_tags_with_a_matching_if_match(as_member, note):
    got = as_member.get(item_path(note))
    data = got.json()
    data["body"] = [
        {"type": "TextualBody", "value": "Rewritten.", "format": "text/markdown"},
        {"type": "TextualBody", "value": "workplace", "purpose": "tagging"},
    ]

    response = put(as_member, item_path(note), data, **{"If-Match": got["ETag"]})

    assert response.status_code == 200
    anno = response.json()
    assert [(b["value"], b.get("purpose")) for b in anno["body"]] == [
        ("Rewritten.", "commenting"),
        ("workplace", "tagging"),
    ]
    assert UTC_STAMP.match(anno["edited"])
    assert response["ETag"] != got["ETag"]
    note.refresh_from_db()
    assert note.body == "Rewritten."
    assert note.edited_at is not None
    assert note.modified_at > note.created_at
    assert list(note.tags.values_list("name", flat=True)) == ["workplace"]


def test_a_put_with_a_stale_if_match_gets_412_and_changes_nothing(as_member, note):
    stale = as_member.get(item_path(note))["ETag"]
    services.annotation_update(annotation=note, body="Changed elsewhere.")
    data = comment(note.reading, "Overwrite!")

    response = put(as_member, item_path(note), data, **{"If-Match": stale})

    assert response.status_code == 412
    assert response.json()["error"]
    note.refresh_from_db()
    assert note.body == "Changed elsewhere."


def test_a_put_by_another_member_gets_403_and_changes_nothing(client, note, facilitator):
    client.force_login(facilitator)

    response = put(client, item_path(note), comment(note.reading, "Mine now."))

    assert response.status_code == 403
    assert response.json()["error"]
    note.refresh_from_db()
    assert note.body == "The *heart* of it."


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_an_outsider_gets_404_for_an_annotation(client, request, note, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get(item_path(note)).status_code == 404
    assert put(client, item_path(note), comment(note.reading, "Hi")).status_code == 404
    assert client.delete(item_path(note)).status_code == 404
    note.refresh_from_db()
    assert note.body == "The *heart* of it."


def test_changing_the_target_is_refused(as_member, note, essay):
    data = comment(essay, target=target(essay, OTHER_QUOTE))

    response = put(as_member, item_path(note), data)

    assert response.status_code == 400
    note.refresh_from_db()
    assert note.exact == QUOTE
    assert note.body == "The *heart* of it."


def test_a_put_that_keeps_the_target_is_accepted(as_member, note, essay):
    response = put(as_member, item_path(note), comment(essay, "Same place, new words."))

    assert response.status_code == 200
    note.refresh_from_db()
    assert note.body == "Same place, new words."


def test_the_author_deletes_an_annotation_with_204(as_member, note):
    response = as_member.delete(item_path(note))

    assert response.status_code == 204
    assert response.content == b""
    assert not Annotation.objects.filter(pk=note.pk).exists()
    assert as_member.get(item_path(note)).status_code == 404


def test_a_delete_with_a_stale_if_match_gets_412(as_member, note):
    stale = as_member.get(item_path(note))["ETag"]
    services.annotation_update(annotation=note, body="Changed elsewhere.")

    response = as_member.delete(item_path(note), headers={"If-Match": stale})

    assert response.status_code == 412
    assert Annotation.objects.filter(pk=note.pk).exists()


def test_deleting_an_annotation_with_replies_leaves_a_deleted_placeholder(
    as_member, note, facilitator
):
    reply = make_reply(note, facilitator)

    response = as_member.delete(item_path(note))

    assert response.status_code == 204
    placeholder = as_member.get(item_path(note)).json()
    assert placeholder["deleted"] is True
    assert "body" not in placeholder
    assert as_member.get(item_path(reply)).json()["target"] == ORIGIN + item_path(note)


def test_a_delete_by_another_member_gets_403(client, note, facilitator):
    client.force_login(facilitator)

    response = client.delete(item_path(note))

    assert response.status_code == 403
    assert Annotation.objects.filter(pk=note.pk).exists()


# --- personal API tokens -----------------------------------------------------------------------


@pytest.fixture
def raw_token(member, group) -> str:
    _, raw = api_token_create(user=member, name="my script")
    return raw


def test_a_bearer_token_reads_the_container(url, note, raw_token):
    response = Client().get(url, headers={"Authorization": f"Bearer {raw_token}"})

    assert response.status_code == 200
    assert response.json()["total"] == 1


def test_a_bearer_token_posts_without_a_csrf_token(url, essay, member, raw_token):
    api = Client(enforce_csrf_checks=True)

    response = post(api, url, comment(essay), Authorization=f"Bearer {raw_token}")

    assert response.status_code == 201
    assert Annotation.objects.get().author == member


def test_using_a_token_records_when_it_was_last_used(url, member, group):
    token, raw = api_token_create(user=member, name="my script")
    assert token.last_used_at is None

    Client().get(url, headers={"Authorization": f"Bearer {raw}"})

    token.refresh_from_db()
    assert token.last_used_at is not None


def test_the_raw_token_is_not_stored(member):
    token, raw = api_token_create(user=member, name="my script")

    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["key_hash"] != raw
    assert all(raw not in str(value) for value in row.values())


def test_a_revoked_token_gets_401(url, member, group):
    token, raw = api_token_create(user=member, name="old")
    api_token_revoke(token=token)

    response = Client().get(url, headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer cp_not-a-real-token", "Bearer ", "Basic bWFyaWE6cGFzcw==", "cp_abc"]
)
def test_a_garbage_token_gets_401(url, essay, group, header, refused):
    response = refused(post(Client(), url, comment(essay), Authorization=header), 401)

    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_garbage_token_wins_over_a_session(as_member, url):
    response = as_member.get(url, headers={"Authorization": "Bearer cp_nope"})

    assert response.status_code == 401


def test_an_outsiders_token_gets_404_for_the_group(url, essay, outsider, group, refused):
    _, raw = api_token_create(user=outsider, name="nosy")

    refused(post(Client(), url, comment(essay), Authorization=f"Bearer {raw}"), 404)


# --- hidden annotations -------------------------------------------------------------------------


@pytest.fixture
def hidden(note, facilitator) -> Annotation:
    services.annotation_hide(annotation=note, by=facilitator, note="Off topic, sorry.")
    return note


def test_other_members_cannot_see_a_hidden_annotation(client, url, hidden, classmate):
    client.force_login(classmate)

    assert client.get(item_path(hidden)).status_code == 404
    assert client.get(url).json()["total"] == 0


def test_the_author_still_sees_their_hidden_annotation_with_the_note(as_member, url, hidden):
    response = as_member.get(item_path(hidden))

    assert response.status_code == 200
    assert response.json()["hidden"] == {"note": "Off topic, sorry."}
    assert as_member.get(url).json()["total"] == 1


def test_facilitators_still_see_a_hidden_annotation(client, url, hidden, facilitator):
    client.force_login(facilitator)

    response = client.get(item_path(hidden))

    assert response.status_code == 200
    assert response.json()["hidden"]
    assert client.get(url).json()["total"] == 1


def test_a_reply_to_a_hidden_annotation_is_refused(client, url, hidden, classmate, refused):
    client.force_login(classmate)
    data = {
        "type": "Annotation",
        "motivation": "replying",
        "bodyValue": "Hm",
        "target": f"{ORIGIN}{url}{hidden.pk}",
    }

    refused(post(client, url, data), 400)


# --- query counts ------------------------------------------------------------------------------

# The session, the person, the group reading with their membership, the first page's rows
# (with their authors, for the ETag), the total, the page's tags. tests/test_api_queries.py
# pins every call of the API this way, with many more annotations.
CONTAINER_QUERIES = 6


@pytest.mark.parametrize("count", [10, 250])
def test_the_container_takes_a_fixed_number_of_queries(
    as_member, url, group, essay, member, facilitator, django_assert_num_queries, count
):
    roots = bulk_roots(group, essay, member, count)
    for root in roots[:5]:
        services.annotation_plus_one(annotation=root, user=facilitator)
        make_reply(root, facilitator)

    with django_assert_num_queries(CONTAINER_QUERIES):
        response = as_member.get(url)

    assert response.status_code == 200
    assert len(response.json()["first"]["items"]) == min(count + 5, PAGE_SIZE)
