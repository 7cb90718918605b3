"""Annotations that travel (issue 12): what the W3C API gives other clients, and what it
takes from them.

- A target's `source` is the reading's canonical text (/readings/<slug>.txt, text/plain), so
  its TextQuoteSelector (prefix + exact + suffix) and TextPositionSelector (code points) hold
  in the very resource it names; its `scope` is the group's reading page.
- Posted targets: a list of one; a quote alone, placed by its words (exact, then whitespace
  and typography folded, then fuzzy), a position being only a hint; no selector (a note on
  the whole reading); selectors this site does not read, kept and given back.
- What people wrote is kept: tags as written (matched without case), plain-text bodies, the
  body's language, the creator.
- Every key of ours is defined in our own JSON-LD context, /ns/commonplace.jsonld.

The browser half (Apache Annotator anchoring all of it in Chromium) is
tests/test_browser_apache_annotator.py.
"""

import json
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.anchoring import anchor_quote, fold
from annotations.models import Annotation
from groups.models import GroupReading
from readings.services import reading_import
from tests.annotating import QUOTE, create, reply_to, span

ANNO_CONTEXT = "http://www.w3.org/ns/anno.jsonld"
LDP_CONTEXT = "http://www.w3.org/ns/ldp.jsonld"
ORIGIN = "http://testserver"
# The terms of the W3C contexts (anno.jsonld, as published at www.w3.org/ns/anno.jsonld, and
# ldp.jsonld's container types) that our output uses as keys or `type` values.
W3C_TERMS = frozenset(
    {
        "@context",
        "id",
        "type",
        "Annotation",
        "AnnotationCollection",
        "AnnotationPage",
        "BasicContainer",
        "TextualBody",
        "SpecificResource",
        "TextQuoteSelector",
        "TextPositionSelector",
        "RangeSelector",
        "XPathSelector",
        "CssSelector",
        "FragmentSelector",
        "Person",
        "motivation",
        "purpose",
        "body",
        "bodyValue",
        "target",
        "source",
        "scope",
        "selector",
        "state",
        "refinedBy",
        "startSelector",
        "endSelector",
        "creator",
        "created",
        "modified",
        "generated",
        "value",
        "format",
        "language",
        "exact",
        "prefix",
        "suffix",
        "start",
        "end",
        "name",
        "nickname",
        "label",
        "items",
        "partOf",
        "first",
        "last",
        "next",
        "prev",
        "total",
        "startIndex",
    }
)
DASHED = "democratic socialism—the deeply-felt and shared desire"


def container_path(group, reading) -> str:
    return reverse("annotations:container", args=[group.slug, reading.slug])


def text_iri(reading) -> str:
    return ORIGIN + reverse("readings:text", args=[reading.slug])


def library_iri(reading) -> str:
    return ORIGIN + reverse("readings:detail", args=[reading.slug])


def page_iri(group, reading) -> str:
    return ORIGIN + reverse("annotations:reading", args=[group.slug, reading.slug])


def vocabulary_iri() -> str:
    return settings.SITE_URL + "/ns/commonplace.jsonld"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/ld+json")


def put(client, url, data, **headers):
    return client.put(
        url, data=json.dumps(data), content_type="application/ld+json", headers=headers
    )


def annotation(target, body="A point.", **extra) -> dict:
    data = {"@context": ANNO_CONTEXT, "type": "Annotation", "motivation": "commenting"}
    data["body"] = [{"type": "TextualBody", "value": body}]
    data["target"] = target
    data.update(extra)
    return data


def quoted(reading, exact, *, source=None, **selector) -> dict:
    """A target with only a TextQuoteSelector, as many clients send."""
    quote = {"type": "TextQuoteSelector", "exact": exact, **selector}
    return {"source": source or text_iri(reading), "selector": [quote]}


def selectors(anno: dict) -> dict:
    return {s["type"]: s for s in anno["target"].get("selector", [])}


def made(response) -> Annotation:
    assert response.status_code == 201, response.content
    return Annotation.objects.get(pk=response["Location"].rsplit("/", 1)[1])


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def as_member(client, member, group):
    client.force_login(member)
    return client


@pytest.fixture
def url(group, essay) -> str:
    return container_path(group, essay)


def item_url(note) -> str:
    return reverse("annotations:annotation", args=[note.group.slug, note.reading.slug, note.pk])


# --- the source is the text the selectors count over ------------------------------------------


def test_the_target_names_the_readings_text_with_the_group_page_as_scope(
    as_member, group, essay, member
):
    note = create(group, essay, member)

    target = as_member.get(item_url(note)).json()["target"]

    assert target["source"] == text_iri(essay)
    assert target["scope"] == page_iri(group, essay)
    assert as_member.get(target["source"])["Content-Type"] == "text/plain; charset=utf-8"


def test_every_selector_holds_in_the_text_its_source_serves(as_member, url, group, essay, member):
    """prefix + exact + suffix occur in the source at the TextPositionSelector's offset, for
    passages at the very start, across paragraphs and headings, and at the very end."""
    text = essay.canonical_text()
    spans = [(0, 8), (len(text) - 12, len(text))]
    spans.append((text.index("Why the working class") - 30, text.index("Why the working class")))
    spans.append((text.index(QUOTE), text.index(QUOTE) + len(QUOTE)))
    for start, end in spans:
        services.annotation_create(
            group=group,
            reading=essay,
            author=member,
            motivation="highlighting",
            start=start,
            end=end,
        )

    items = as_member.get(url).json()["first"]["items"]
    served = as_member.get(items[0]["target"]["source"]).content.decode()

    assert served == text
    assert len(items) == len(spans)
    for item in items:
        quote = selectors(item)["TextQuoteSelector"]
        position = selectors(item)["TextPositionSelector"]
        whole = quote["prefix"] + quote["exact"] + quote["suffix"]
        at = position["start"] - len(quote["prefix"])
        assert served[at : at + len(whole)] == whole
        assert served[position["start"] : position["end"]] == quote["exact"]


@pytest.mark.parametrize("source", ["text", "library", "page", "relative text"])
def test_the_text_the_library_page_and_the_group_page_are_all_accepted_as_the_source(
    as_member, url, group, essay, source
):
    iri = {
        "text": text_iri(essay),
        "library": library_iri(essay),
        "page": page_iri(group, essay),
        "relative text": reverse("readings:text", args=[essay.slug]),
    }[source]

    note = made(post(as_member, url, annotation(quoted(essay, QUOTE, source=iri))))

    assert (note.start, note.end) == span(essay, QUOTE)


@pytest.mark.parametrize(
    "source",
    [
        "https://evil.example/readings/what-is-socialism-from-below.txt",
        "http://testserver/readings/another-reading.txt",
        "http://testserver/readings/what-is-socialism-from-below.md",
    ],
)
def test_another_source_is_refused(as_member, url, essay, source):
    response = post(as_member, url, annotation(quoted(essay, QUOTE, source=source)))

    assert response.status_code == 400
    assert "source must be this reading" in response.json()["error"]
    assert not Annotation.objects.exists()


# --- what other clients send -----------------------------------------------------------------


def test_a_target_in_a_list_of_one_is_taken(as_member, url, essay):
    note = made(post(as_member, url, annotation([quoted(essay, QUOTE)])))

    assert note.exact == QUOTE


def test_two_targets_are_refused_clearly(as_member, url, essay):
    response = post(as_member, url, annotation([quoted(essay, QUOTE), quoted(essay, QUOTE)]))

    assert response.status_code == 400
    assert response.json() == {
        "error": "Send one target: a passage of this reading, or the reading.",
        "status": 400,
    }


def test_a_quote_alone_is_placed_by_its_words(as_member, url, essay):
    anno = post(as_member, url, annotation(quoted(essay, QUOTE))).json()

    start, end = span(essay, QUOTE)
    assert selectors(anno)["TextPositionSelector"] == {
        "type": "TextPositionSelector",
        "start": start,
        "end": end,
    }


def test_a_quote_with_other_whitespace_and_typography_is_placed_on_the_texts_words(
    as_member, url, essay
):
    """Another page's copy: a spaced hyphen for the em dash, a line break for a space."""
    note = made(
        post(
            as_member,
            url,
            annotation(quoted(essay, "democratic socialism - the deeply-felt\nand shared desire")),
        )
    )

    assert note.exact == DASHED
    assert (note.start, note.end) == span(essay, DASHED)


def test_a_quote_with_a_changed_word_is_placed_fuzzily_when_its_context_agrees(
    as_member, url, essay
):
    text = essay.canonical_text()
    start, end = span(essay, QUOTE)
    changed = QUOTE.replace("socialism", "socialism, ")
    target = quoted(essay, changed, prefix=text[start - 20 : start], suffix=text[end : end + 20])

    note = made(post(as_member, url, annotation(target)))

    assert (note.start, note.end) == (start, end)


def test_a_common_quote_without_context_is_refused_saying_why(as_member, url, essay):
    response = post(as_member, url, annotation(quoted(essay, "socialism")))

    assert response.status_code == 400
    error = response.json()["error"]
    assert "occurs" in error and "times" in error and "prefix" in error
    assert not Annotation.objects.exists()


def test_a_common_quote_is_placed_by_its_prefix_and_suffix(as_member, url, essay):
    text = essay.canonical_text()
    second = text.index("socialism", text.index("socialism") + 1)
    target = quoted(
        essay, "socialism", prefix=text[second - 15 : second], suffix=text[second + 9 : second + 25]
    )

    note = made(post(as_member, url, annotation(target)))

    assert (note.start, note.end) == (second, second + len("socialism"))


def test_a_position_breaks_the_tie_between_occurrences_with_no_context(as_member, url, essay):
    text = essay.canonical_text()
    third = [i for i in range(len(text)) if text.startswith("socialism", i)][2]
    target = quoted(essay, "socialism")
    target["selector"].append({"type": "TextPositionSelector", "start": third, "end": third + 9})

    note = made(post(as_member, url, annotation(target)))

    assert note.start == third


def test_a_position_is_never_trusted_over_the_quote(as_member, url, essay):
    """Positions counted over another page (here: pointing at other words) lose to the
    quote: the annotation lands where its words are."""
    target = quoted(essay, QUOTE, source=library_iri(essay))
    target["selector"].append({"type": "TextPositionSelector", "start": 10, "end": 61})

    note = made(post(as_member, url, annotation(target)))

    assert (note.start, note.end) == span(essay, QUOTE)


def test_context_that_agrees_beats_a_position_on_another_occurrence(as_member, url, essay):
    text = essay.canonical_text()
    first, second = [i for i in range(len(text)) if text.startswith("socialism", i)][:2]
    target = quoted(
        essay, "socialism", prefix=text[first - 20 : first], suffix=text[first + 9 : first + 29]
    )
    target["selector"].append({"type": "TextPositionSelector", "start": second, "end": second + 9})

    note = made(post(as_member, url, annotation(target)))

    assert note.start == first


def test_a_quote_found_nowhere_is_refused_with_a_clear_message(as_member, url, essay):
    response = post(as_member, url, annotation(quoted(essay, "Words this essay never says.")))

    assert response.status_code == 400
    assert response.json()["error"].startswith("The quote “Words this essay never says.” is not")


@pytest.mark.parametrize(
    "selector",
    [
        {"type": "TextQuoteSelector", "exact": 5},
        {"type": "TextQuoteSelector", "exact": QUOTE, "prefix": ["x"]},
        {"type": "TextPositionSelector", "start": "1", "end": 4},
        {"exact": QUOTE},
        "TextQuoteSelector",
    ],
)
def test_a_malformed_selector_is_refused(as_member, url, essay, selector):
    response = post(as_member, url, annotation({"source": text_iri(essay), "selector": selector}))

    assert response.status_code == 400
    assert not Annotation.objects.exists()


# --- the client's context, and ours ------------------------------------------------------------


def test_the_clients_context_is_kept_when_it_is_the_texts(as_member, url, essay):
    text = essay.canonical_text()
    start, end = span(essay, QUOTE)
    prefix, suffix = text[start - 50 : start], text[end : end + 40]

    anno = post(as_member, url, annotation(quoted(essay, QUOTE, prefix=prefix, suffix=suffix)))

    quote = selectors(anno.json())["TextQuoteSelector"]
    assert (quote["prefix"], quote["suffix"]) == (prefix, suffix)


def test_context_from_another_page_is_replaced_by_the_texts_own(as_member, url, essay):
    """A client's prefix and suffix from another copy (here with the page's menu text run in)
    would make prefix + exact + suffix occur nowhere in the source: ours are stored."""
    text = essay.canonical_text()
    start, end = span(essay, QUOTE)
    target = quoted(essay, QUOTE, prefix="Menu Home Library  ", suffix=" Reply  Share")

    quote = selectors(post(as_member, url, annotation(target)).json())["TextQuoteSelector"]

    assert quote["prefix"] == text[start - 32 : start]
    assert quote["suffix"] == text[end : end + 32]


# --- a note on the whole reading ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["object", "iri", "empty selectors", "list"])
def test_a_target_with_no_selector_is_a_note_on_the_whole_reading(
    as_member, url, group, essay, form
):
    target = {
        "object": {"source": text_iri(essay)},
        "iri": page_iri(group, essay),
        "empty selectors": {"source": library_iri(essay), "selector": []},
        "list": [{"source": text_iri(essay)}],
    }[form]

    response = post(as_member, url, annotation(target, body="What did everyone make of it?"))

    note = made(response)
    assert note.is_page_note
    assert response.json()["target"] == {
        "source": text_iri(essay),
        "scope": page_iri(group, essay),
    }


def test_a_highlight_of_the_whole_reading_is_refused_clearly(as_member, url, essay):
    data = {"type": "Annotation", "motivation": "highlighting", "target": text_iri(essay)}

    response = post(as_member, url, data)

    assert response.status_code == 400
    assert "comment or a question" in response.json()["error"]


# --- selectors of other clients -------------------------------------------------------------

RANGE = {
    "type": "RangeSelector",
    "startSelector": {"type": "XPathSelector", "value": "/main[1]/p[3]"},
    "endSelector": {"type": "XPathSelector", "value": "/main[1]/p[3]"},
    "refinedBy": {"type": "TextPositionSelector", "start": 2, "end": 53},
}
CSS = {"type": "CssSelector", "value": "#what-is-socialism p:nth-child(3)"}


def test_selectors_this_site_does_not_read_are_kept_and_given_back_as_they_came(
    as_member, url, essay
):
    target = quoted(essay, QUOTE)
    target["selector"] = [RANGE, *target["selector"], CSS]

    response = post(as_member, url, annotation(target))

    note = made(response)
    assert note.extra_selectors == [RANGE, CSS]
    given = response.json()["target"]["selector"]
    assert [s["type"] for s in given] == [
        "TextQuoteSelector",
        "TextPositionSelector",
        "RangeSelector",
        "CssSelector",
    ]
    assert given[2:] == [RANGE, CSS]
    assert as_member.get(response["Location"]).json()["target"]["selector"][2:] == [RANGE, CSS]


def test_other_selectors_alone_cannot_place_a_passage(as_member, url, essay):
    response = post(as_member, url, annotation({"source": text_iri(essay), "selector": [CSS]}))

    assert response.status_code == 400
    assert response.json()["error"].startswith("A CssSelector cannot say where the passage is")


def test_a_flood_of_other_selectors_is_refused(as_member, url, essay):
    target = quoted(essay, QUOTE)
    target["selector"] += [CSS] * 11

    assert post(as_member, url, annotation(target)).status_code == 400


# --- an orphan ----------------------------------------------------------------------------


def test_an_orphan_keeps_its_quote_and_gives_no_position_pointing_at_other_words(
    as_member, group, facilitator, member
):
    reading = reading_import(
        data=b"# Draft\n\nThe shipyards of Glasgow struck in the spring.\n\nThe end.\n",
        filename="draft.md",
        slug="draft",
    )
    GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)
    note = create(group, reading, member, quote="shipyards of Glasgow", extra_selectors=[CSS])
    services.reading_import_reanchoring(
        data=b"# Draft\n\nSomething else entirely, about bakeries.\n\nThe end.\n",
        filename="draft.md",
        slug="draft",
        replace=True,
    )
    note.refresh_from_db()
    assert note.anchoring == Annotation.Anchoring.ORPHAN

    target = as_member.get(item_url(note)).json()["target"]

    assert target["state"] == {"type": "orphaned"}
    assert [s["type"] for s in target["selector"]] == ["TextQuoteSelector", "CssSelector"]
    assert target["selector"][0]["exact"] == "shipyards of Glasgow"
    assert target["selector"][0]["prefix"] == "The "  # as it was, from the text before


def test_an_edit_that_sends_the_target_back_as_given_is_taken(as_member, group, essay, member):
    note = create(group, essay, member)
    anno = as_member.get(item_url(note)).json()
    anno["body"][0]["value"] = "Changed my mind."

    assert put(as_member, item_url(note), anno).status_code == 200

    anno["target"] = quoted(essay, OTHER := "When socialists talk about ordinary people")
    refused = put(as_member, item_url(note), anno)
    assert refused.status_code == 400, OTHER
    assert "cannot be changed" in refused.json()["error"]


# --- keep what people wrote ----------------------------------------------------------------


def tag_bodies(*names) -> list[dict]:
    return [{"type": "TextualBody", "value": name, "purpose": "tagging"} for name in names]


def test_tags_keep_their_case_and_punctuation_and_fold_case_to_deduplicate(as_member, url, essay):
    data = annotation(quoted(essay, QUOTE))
    data["body"] += tag_bodies("C++", "c++", "#Rosa Luxemburg", "¿Por qué?", "Marx/Engels")

    anno = post(as_member, url, data).json()

    tags = [b["value"] for b in anno["body"] if b.get("purpose") == "tagging"]
    assert tags == ["C++", "Marx/Engels", "Rosa Luxemburg", "¿Por qué?"]


def test_the_tag_limits_still_hold(as_member, url, essay):
    too_many = annotation(quoted(essay, QUOTE))
    too_many["body"] += tag_bodies(*[f"Tag {n}" for n in range(11)])
    too_long = annotation(quoted(essay, QUOTE))
    too_long["body"] += tag_bodies("C" * 51)
    case_twins = annotation(quoted(essay, QUOTE))
    case_twins["body"] += tag_bodies(*[f"Tag {n}" for n in range(10)], "TAG 0")

    assert post(as_member, url, too_many).status_code == 400
    assert post(as_member, url, too_long).status_code == 400
    assert post(as_member, url, case_twins).status_code == 201


def test_the_reading_page_filters_tags_whatever_their_case(as_member, group, essay, member):
    tagged = create(group, essay, member, tags=["C++"])
    other = create(group, essay, member, quote="Capitalism is incompatible", tags=["c#"])
    page = reverse("annotations:reading", args=[group.slug, essay.slug])
    threads = reverse("annotations:threads", args=[group.slug, essay.slug])
    block = essay.blocks.get(text__contains=QUOTE).anchor

    for asked in ("C++", "c++"):
        html = as_member.get(page, {"tag": asked}).content.decode()
        assert html.count('<option value="C++" selected>#C++</option>') == 1, asked
        assert html.count("#C++</option>") == 1  # one choice, whatever the case asked
        layer = as_member.get(page + "layer.json", {"tag": asked}).json()
        assert [row[layer["columns"].index("id")] for row in layer["rows"]] == [tagged.pk]
        listed = as_member.get(threads, {"tag": asked, "block": block}).content.decode()
        assert f"/threads/{tagged.pk}/" in listed
        assert f"/threads/{other.pk}/" not in listed


def test_a_plain_text_body_is_kept_plain_with_its_language(as_member, url, essay):
    data = annotation(quoted(essay, QUOTE), body="*Not* emphasis: <b>2 < 3</b>")
    data["body"][0].update({"format": "text/plain", "language": "fr"})

    response = post(as_member, url, data)

    note = made(response)
    assert note.body_format == Annotation.BodyFormat.PLAIN
    assert note.language == "fr"
    assert "<em>" not in note.body_html and "&lt;b&gt;" in note.body_html
    body = response.json()["body"][0]
    assert (body["format"], body["language"]) == ("text/plain", "fr")
    assert body["value"] == "*Not* emphasis: <b>2 < 3</b>"


def test_a_body_without_a_language_says_none(as_member, url, essay):
    body = post(as_member, url, annotation(quoted(essay, QUOTE))).json()["body"][0]

    assert body["format"] == "text/markdown"
    assert "language" not in body


@pytest.mark.parametrize("language", ["english please", 5, "x" * 40, ["en", "fr"]])
def test_a_malformed_language_is_refused(as_member, url, essay, language):
    data = annotation(quoted(essay, QUOTE))
    data["body"][0]["language"] = language

    assert post(as_member, url, data).status_code == 400


def test_an_edit_can_make_a_body_plain_text_and_change_its_language(
    as_member, group, essay, member
):
    note = create(group, essay, member, body="Was *markdown*.")
    anno = as_member.get(item_url(note)).json()
    anno["body"][0].update({"value": "Now *plain*.", "format": "text/plain", "language": "es"})

    answer = put(as_member, item_url(note), anno)

    assert answer.status_code == 200, answer.content
    note.refresh_from_db()
    assert (note.body_format, note.language) == ("plain", "es")
    assert "<em>" not in note.body_html
    assert answer.json()["body"][0]["format"] == "text/plain"


def test_every_representation_names_its_creator(
    client, group, essay, member, facilitator, make_user
):
    shown = create(group, essay, member, body="Shown.")
    reply_to(shown, facilitator, "A reply.")
    hidden = create(group, essay, member, quote="When socialists talk about ordinary people")
    services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic.")
    gone = create(group, essay, facilitator, quote=DASHED, body="Going.")
    reply_to(gone, member, "Still here.")
    services.annotation_delete(annotation=gone)
    page_note = services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="All of it?",
        page_note=True,
    )
    assert page_note.is_page_note
    client.force_login(facilitator)

    items = client.get(container_path(group, essay)).json()["first"]["items"]

    assert len(items) == 6
    for item in items:
        assert item["creator"]["type"] == "Person"
        assert item["creator"]["name"], item["id"]
        single = client.get(item["id"]).json()
        assert single["creator"] == item["creator"]


# --- our own terms, in our own context -------------------------------------------------------


def keys_and_types(value) -> set[str]:
    """Every key and every `type` value in a JSON document."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            if key == "type":
                found.update(inner if isinstance(inner, list) else [inner])
            found |= keys_and_types(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= keys_and_types(inner)
    return found


def test_our_context_is_served_publicly_as_json_ld():
    response = Client().get("/ns/commonplace.jsonld")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/ld+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "public" in response["Cache-Control"]
    terms = response.json()["@context"]
    namespace = settings.SITE_URL + "/ns#"
    for term, definition in terms.items():
        iri = definition if isinstance(definition, str) else definition["@id"]
        assert iri.startswith(namespace), term
    assert not set(terms) & W3C_TERMS, "our context must not redefine the W3C terms"
    assert reverse("annotations:vocabulary") == "/ns/commonplace.jsonld"


def test_every_key_of_ours_in_the_output_is_defined_in_our_context(
    client, group, essay, member, facilitator
):
    """Everything the API can say: a plain comment, an edited, +1ed, tagged question with an
    accepted answer, a hidden note, a deleted one kept by its reply, an orphan, an imported
    note (originalCreator, originalCreated), a private note, a page note; in the container,
    its pages, a page of IRIs and each annotation."""
    terms = set(Client().get("/ns/commonplace.jsonld").json()["@context"])
    question = create(group, essay, member, motivation="questioning", body="Why?", tags=["C++"])
    services.annotation_update(annotation=question, body="Why, though?")
    services.annotation_plus_one(annotation=question, user=facilitator)
    answer = reply_to(question, facilitator, "Because.")
    services.annotation_mark_answer(reply=answer, is_answer=True)
    hidden = create(group, essay, member, quote="When socialists talk about ordinary people")
    services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic.")
    gone = create(group, essay, facilitator, quote=DASHED, body="Going.")
    reply_to(gone, member, "Still here.")
    services.annotation_delete(annotation=gone)
    orphan = create(group, essay, member, quote="Others do not accept", extra_selectors=[CSS])
    Annotation.objects.filter(pk=orphan.pk).update(anchoring=Annotation.Anchoring.ORPHAN)
    services.annotation_create(
        group=group,
        reading=essay,
        author=facilitator,
        motivation="commenting",
        body="From elsewhere.",
        body_format="plain",
        language="de",
        page_note=True,
        original_author="Rosa L.",
        original_created_at=datetime(2019, 1, 15, tzinfo=UTC),
        import_key="hypothesis:abc",
    )
    create(group, essay, facilitator, quote="Why the working class", visibility="private")
    client.force_login(facilitator)
    url = container_path(group, essay)

    documents = [client.get(url).json(), client.get(url + "?page=0").json()]
    documents.append(client.get(url + "?page=0&iris=1").json())
    documents += [client.get(item["id"]).json() for item in documents[1]["items"]]
    used = set().union(*(keys_and_types(document) for document in documents))

    assert {"plusOnes", "answer", "hidden", "deleted", "edited", "visibility"} <= used
    assert {"originalCreator", "originalCreated", "orphaned"} <= used
    assert used - W3C_TERMS <= terms, used - W3C_TERMS - terms
    for document in documents:
        assert document["@context"][0] == ANNO_CONTEXT
        assert document["@context"][-1] == vocabulary_iri()
    assert documents[0]["@context"] == [ANNO_CONTEXT, LDP_CONTEXT, vocabulary_iri()]


def test_an_imported_annotation_says_who_wrote_it_and_when(client, group, essay, facilitator):
    note = create(
        group,
        essay,
        facilitator,
        original_author="Rosa L.",
        original_created_at=datetime(2019, 1, 15, 9, 30, tzinfo=UTC),
    )
    client.force_login(facilitator)

    anno = client.get(item_url(note)).json()

    assert anno["originalCreator"] == {"type": "Person", "name": "Rosa L."}
    assert anno["originalCreated"] == "2019-01-15T09:30:00Z"
    assert anno["creator"]["name"] == facilitator.public_name


# --- placing a quote: annotations.anchoring.anchor_quote ---------------------------------------

TEXT = (
    "Heading\n\nThe workers’ council met — at dawn. The workers’ council met again.\n\n"
    "👩🏽‍🔬 Scientists test the water before the meeting, every single morning."
)


def test_anchor_quote_finds_the_very_characters_first():
    placed = anchor_quote(TEXT, "Scientists test the water")

    assert placed.status == "exact"
    assert TEXT[placed.anchor.start : placed.anchor.end] == "Scientists test the water"


def test_anchor_quote_folds_whitespace_dashes_and_quotes():
    placed = anchor_quote(TEXT, "The workers' council met -- at\n dawn.")

    assert placed.status == "normalized"
    assert placed.anchor.exact == "The workers’ council met — at dawn."


def test_anchor_quote_tolerates_a_changed_word_in_a_long_quote():
    placed = anchor_quote(TEXT, "Scientists tested the water before the meeting, every morning")

    assert placed.status == "fuzzy"
    assert placed.anchor.exact.startswith("Scientists test the water before the meeting")


def test_anchor_quote_does_not_guess_between_occurrences():
    assert anchor_quote(TEXT, "workers’ council met") is None
    later = TEXT.index("workers’ council met again")
    assert anchor_quote(TEXT, "workers’ council met", suffix=" again").anchor.start == later
    assert anchor_quote(TEXT, "workers’ council met", near=later).anchor.start == later
    assert (
        anchor_quote(
            TEXT, "workers’ council met", prefix="Heading\n\nThe ", near=later
        ).anchor.start
        == 13
    )


def test_anchor_quote_counts_code_points_after_an_emoji():
    placed = anchor_quote(TEXT, "Scientists")

    assert placed.anchor.start == TEXT.index("Scientists")  # a Python index: code points
    assert placed.anchor.start == len(TEXT[: TEXT.index("👩")]) + 5


def test_fold_keeps_letter_case_and_accents_as_one_form():
    assert fold("Café  “Ré”—ﬁne…") == fold('Cafe\u0301 "Re\u0301" - fine...') != fold("café")
