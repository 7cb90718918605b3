"""Importing annotations into a group reading (the imports app): a W3C JSON-LD file or a
Hypothesis export, previewed first (writing nothing), then imported in one transaction by a
facilitator; quotes placed by their words (exact, typography-insensitive, fuzzy), threads
kept, the same file twice adding nothing, and bad or hostile files refused with nothing
changed."""

import copy
import datetime
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Annotation, Mention
from groups.models import Membership
from groups.services import group_archive
from imports import formats, quotes
from imports.reader import read_annotations
from notifications.models import Notification
from tests.annotating import QUOTE, create, reply_to

DATA = Path(__file__).resolve().parent / "data"
HYPOTHESIS = DATA / "hypothesis-export.json"
NOT_THERE = "The revolution will be televised on every channel at once."


# --- helpers ----------------------------------------------------------------------------------


def start_url(group, reading) -> str:
    return reverse("imports:start", args=[group.slug, reading.slug])


def confirm_url(group, reading) -> str:
    return reverse("imports:confirm", args=[group.slug, reading.slug])


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, group, reading, content, name="annotations.json"):
    if isinstance(content, dict | list):
        content = json.dumps(content, ensure_ascii=False).encode()
    elif isinstance(content, str):
        content = content.encode()
    return client.post(start_url(group, reading), {"file": SimpleUploadedFile(name, content)})


def token_of(response) -> str:
    assert response.status_code == 200, response.content.decode()[:2000]
    return response.context["confirm_form"].initial["preview"]


def import_file(client, group, reading, content, name="annotations.json"):
    """Preview, then confirm: the confirmation's response."""
    token = token_of(upload(client, group, reading, content, name))
    return client.post(confirm_url(group, reading), {"preview": token})


def state(group, reading) -> list[tuple]:
    return list(
        Annotation.objects.filter(group=group, reading=reading)
        .order_by("pk")
        .values_list("pk", "body", "parent_id", "import_key")
    )


def hypothesis_data() -> dict:
    return json.loads(HYPOTHESIS.read_text())


def by_key(group, essay) -> dict[str, Annotation]:
    return {
        a.import_key: a
        for a in Annotation.objects.filter(group=group, reading=essay).prefetch_related("tags")
    }


def tags(annotation) -> list[str]:
    return sorted(t.name for t in annotation.tags.all())


# --- the walls --------------------------------------------------------------------------------


def test_a_facilitator_sees_the_import_page(group, essay, facilitator):
    response = signed_in(facilitator).get(start_url(group, essay))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Import annotations" in page and 'type="file"' in page
    assert "css/imports.css" in page


@pytest.mark.parametrize(
    ("method", "view"), [("get", "start"), ("post", "start"), ("post", "confirm")]
)
def test_a_member_without_the_role_gets_403(group, essay, member, method, view):
    before = state(group, essay)
    url = reverse(f"imports:{view}", args=[group.slug, essay.slug])
    response = getattr(signed_in(member), method)(url, {"preview": "x" * 43})
    assert response.status_code == 403
    assert state(group, essay) == before


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
@pytest.mark.parametrize(
    ("method", "view"), [("get", "start"), ("post", "start"), ("post", "confirm")]
)
def test_a_non_member_gets_404(request, group, essay, other_group, persona, method, view):
    url = reverse(f"imports:{view}", args=[group.slug, essay.slug])
    response = getattr(signed_in(request.getfixturevalue(persona)), method)(url)
    assert response.status_code == 404
    assert group.name not in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_log_in(client, group, essay):
    response = client.get(start_url(group, essay))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_confirm_rejects_get(group, essay, facilitator):
    assert signed_in(facilitator).get(confirm_url(group, essay)).status_code == 405


def test_an_archived_group_takes_no_import(group, essay, facilitator):
    client = signed_in(facilitator)
    token = token_of(upload(client, group, essay, HYPOTHESIS.read_bytes()))
    group_archive(group=group)
    assert client.get(start_url(group, essay)).status_code == 403
    response = client.post(confirm_url(group, essay), {"preview": token})
    assert response.status_code == 403
    assert not Annotation.objects.filter(group=group).exists()


def test_the_reading_page_links_to_the_importer_for_facilitators_only(
    group, essay, facilitator, member
):
    link = f'href="{start_url(group, essay)}"'
    page = reverse("annotations:reading", args=[group.slug, essay.slug])
    assert link in signed_in(facilitator).get(page).content.decode()
    assert link not in signed_in(member).get(page).content.decode()


# --- a Hypothesis export -------------------------------------------------------------------------


def test_the_preview_counts_and_lists_the_unmatched_quote_and_writes_nothing(
    group, essay, facilitator
):
    client = signed_in(facilitator)
    response = upload(client, group, essay, HYPOTHESIS.read_bytes(), "hypothesis.json")

    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.format == "Hypothesis export"
    assert len(plan.to_import) == 8
    assert len(plan.anchored) == 5 and not plan.fuzzy
    assert len(plan.page_notes) == 1 and len(plan.replies) == 2 and len(plan.private) == 1
    assert [e.item.exact for e in plan.unmatched] == [NOT_THERE]
    page = response.content.decode()
    assert NOT_THERE in page and "Not found in the text" in page
    assert "Import 8 annotations" in page
    assert not Annotation.objects.exists()
    assert not Notification.objects.exists()


def test_a_hypothesis_export_imports_everything_but_the_quote_not_in_the_text(
    group, essay, facilitator, member
):
    response = import_file(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())

    assert response.status_code == 302
    assert response["Location"] == reverse("annotations:reading", args=[group.slug, essay.slug])
    made = by_key(group, essay)
    assert len(made) == 8 and "hypothesis:Hq9notThere" not in made
    assert {a.author_id for a in made.values()} == {facilitator.pk}
    text = essay.canonical_text()
    for annotation in made.values():
        if annotation.start is not None:
            assert text[annotation.start : annotation.end] == annotation.exact

    curly = made["hypothesis:Hq1curlyQUOTES"]
    assert curly.exact == "It is “the complete democratization of society,” meaning"
    assert curly.motivation == "commenting" and curly.body_format == "markdown"
    assert "<strong>Democracy</strong>" in curly.body_html
    assert tags(curly) == ["C++", "Marx/Engels"]
    assert curly.original_author == "Rosa Luxemburg"
    assert curly.original_created_at == datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.UTC)
    assert curly.visibility == "group"

    dash = made["hypothesis:Hq6emDash"]
    assert dash.exact == "strikes are so categorically powerful—they shut down a whole system"
    assert tags(dash) == ["General strike", "Strikes"]
    assert made["hypothesis:Hq8newlines"].exact == (
        "Capitalism is incompatible with that kind of democracy."
    )
    assert made["hypothesis:Hq7private"].visibility == "private"
    assert made["hypothesis:Hq7private"].exact.startswith("The ghost of Stalin’s Russia")

    highlight = made["hypothesis:Hq5highlight"]
    assert highlight.motivation == "highlighting" and highlight.body == ""

    page_note = made["hypothesis:Hq4pageNote"]
    assert page_note.is_page_note and page_note.body == "What did everyone make of the ending?"
    assert tags(page_note) == ["Discussion"]

    first, second = made["hypothesis:Hq2replyOne"], made["hypothesis:Hq3replyTwo"]
    assert (first.parent_id, first.root_id) == (curly.pk, curly.pk)
    assert (second.parent_id, second.root_id) == (first.pk, curly.pk)
    assert first.original_author == "Karl"
    # an @name of the other site's is nobody here: not linked, nobody told
    assert "@maria" in first.body_html and "href" not in first.body_html
    assert not Mention.objects.exists()
    assert not Notification.objects.filter(recipient=member).exists()


def test_the_confirmation_says_what_was_imported(group, essay, facilitator):
    client = signed_in(facilitator)
    response = import_file(client, group, essay, HYPOTHESIS.read_bytes(), "hypothesis.json")
    page = client.get(response["Location"]).content.decode()
    assert "Imported 8 annotations from “hypothesis.json”" in page
    assert "1 not found in the text" in page


def test_an_imported_note_shows_who_wrote_it_originally_and_when(group, essay, facilitator, member):
    import_file(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())
    curly = Annotation.objects.get(import_key="hypothesis:Hq1curlyQUOTES")
    url = reverse("annotations:thread", args=[group.slug, essay.slug, curly.pk])
    page = signed_in(member).get(url).content.decode()
    assert "originally by Rosa Luxemburg, <time" in page and "1 Mar 2024" in page
    assert "originally by Karl" in page
    # the panel beside the text shows the same thread
    fragment = signed_in(member).get(url + "?fragment=1").content.decode()
    assert "originally by Rosa Luxemburg" in fragment


def test_the_margin_cards_and_the_whole_reading_list_say_so_too(group, essay, facilitator, member):
    """The cards beside the text come from the layer's rows, the discussions above it from
    the cached layer: both carry "originally by", as the thread does."""
    import_file(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())
    made = by_key(group, essay)
    curly, page_note = made["hypothesis:Hq1curlyQUOTES"], made["hypothesis:Hq4pageNote"]
    assert page_note.original_author and page_note.is_page_note
    client = signed_in(member)
    data = client.get(reverse("annotations:layer", args=[group.slug, essay.slug])).json()
    column = data["columns"].index("original")
    said = {row[0]: row[column] for row in data["rows"]}
    assert said[curly.pk] == "originally by Rosa Luxemburg, 1 Mar 2024"
    assert said[page_note.pk].startswith(f"originally by {page_note.original_author}")
    written_here = create(group, essay, member, body="Mine.")
    data = client.get(reverse("annotations:layer", args=[group.slug, essay.slug])).json()
    assert {row[0]: row[column] for row in data["rows"]}[written_here.pk] is None

    page = client.get(reverse("annotations:reading", args=[group.slug, essay.slug])).content
    notes = page.decode().split('id="discussions"')[1].split("</section>")[0]
    assert f"originally by {page_note.original_author}" in notes
    threads = client.get(reverse("annotations:threads", args=[group.slug, essay.slug]))
    assert "originally by Rosa Luxemburg" in threads.content.decode()


def test_importing_the_same_file_twice_adds_nothing(group, essay, facilitator):
    client = signed_in(facilitator)
    import_file(client, group, essay, HYPOTHESIS.read_bytes())
    before = state(group, essay)

    response = upload(client, group, essay, HYPOTHESIS.read_bytes())
    plan = response.context["plan"]
    assert len(plan.already) == 8 and not plan.to_import
    assert "8 already imported" in response.content.decode()
    assert "Import 0" not in response.content.decode()

    # the old preview's token cannot import it again either
    client.post(confirm_url(group, essay), {"preview": token_of(response)})
    assert state(group, essay) == before


def test_a_file_with_new_replies_adds_only_them_under_the_notes_already_imported(
    group, essay, facilitator
):
    client = signed_in(facilitator)
    import_file(client, group, essay, HYPOTHESIS.read_bytes())
    data = hypothesis_data()
    data["annotations"].append(
        {
            "id": "HqNewReply",
            "text": "A late reply.",
            "references": ["Hq1curlyQUOTES", "Hq2replyOne"],
            "user": "acct:ana@hypothes.is",
            "created": "2024-04-01T08:00:00+00:00",
        }
    )
    import_file(client, group, essay, data)
    late = Annotation.objects.get(import_key="hypothesis:HqNewReply")
    assert late.parent.import_key == "hypothesis:Hq2replyOne"
    assert late.original_author == "ana"
    assert Annotation.objects.filter(group=group).count() == 9


def test_an_error_midway_writes_nothing(group, essay, facilitator, monkeypatch):
    client = signed_in(facilitator)
    token = token_of(upload(client, group, essay, HYPOTHESIS.read_bytes()))
    real, calls = services.annotation_create, []

    def failing(**fields):
        calls.append(fields)
        if len(calls) == 4:
            raise services.AnnotationError("The database said no.")
        return real(**fields)

    monkeypatch.setattr("imports.services.annotation_create", failing)
    response = client.post(confirm_url(group, essay), {"preview": token})

    assert response.status_code == 400
    assert len(calls) == 4
    page = response.content.decode()
    assert "Nothing was imported" in page and "The database said no." in page
    assert not Annotation.objects.exists()
    assert not Notification.objects.exists()


def test_a_preview_expired_or_not_ones_own_imports_nothing(
    group, essay, facilitator, member, make_user
):
    client = signed_in(facilitator)
    token = token_of(upload(client, group, essay, HYPOTHESIS.read_bytes()))
    other = make_user("cora")
    Membership.objects.create(group=group, user=other, role=Membership.Role.FACILITATOR)

    response = signed_in(other).post(confirm_url(group, essay), {"preview": token})
    assert response.status_code == 400 and "upload the file again" in response.content.decode()
    response = client.post(confirm_url(group, essay), {"preview": "A" * 43})
    assert response.status_code == 400
    response = client.post(confirm_url(group, essay), {"preview": "not a token"})
    assert response.status_code == 400
    assert not Annotation.objects.exists()


def test_replies_keep_their_thread_or_go_up_it(group, essay, facilitator):
    data = hypothesis_data()
    hidden = copy.deepcopy(data["annotations"][1])  # a reply to Hq1, hidden there
    hidden.update(id="HqHidden", hidden=True)
    data["annotations"] += [
        hidden,
        {
            "id": "HqUnderHidden",
            "text": "Under the hidden one.",
            "references": ["Hq1curlyQUOTES", "HqHidden"],
        },
        {"id": "HqUnderLost", "text": "Under the quote not found.", "references": ["Hq9notThere"]},
        {"id": "HqUnknown", "text": "Under a stranger.", "references": ["NotInTheFile"]},
        {
            "id": "HqSecretReply",
            "text": "Only for me.",
            "references": ["Hq1curlyQUOTES"],
            "user": "acct:rosa@hypothes.is",
            "permissions": {"read": ["acct:rosa@hypothes.is"]},
        },
    ]
    plan = upload(signed_in(facilitator), group, essay, data).context["plan"]
    outcomes = {e.item.key.removeprefix("hypothesis:"): e for e in plan.entries}

    assert outcomes["HqHidden"].outcome == "skipped"
    assert "Hidden" in outcomes["HqHidden"].reason
    moved = outcomes["HqUnderHidden"]
    assert (moved.outcome, moved.parent, moved.moved_up) == (
        "import",
        "hypothesis:Hq1curlyQUOTES",
        True,
    )
    assert outcomes["HqUnderLost"].outcome == "skipped"
    assert "not found in the text" in outcomes["HqUnderLost"].reason
    assert outcomes["HqUnknown"].reason == "The note it answers is not in the file."
    assert outcomes["HqSecretReply"].outcome == "skipped"
    assert "private reply in a shared thread" in outcomes["HqSecretReply"].reason


def test_replies_answering_each_other_in_a_loop_are_left_out(group, essay, facilitator):
    data = {
        "annotations": [
            {"id": "a", "text": "A answers B.", "references": ["b"]},
            {"id": "b", "text": "B answers A.", "references": ["a"]},
            {"id": "c", "text": "C answers A.", "references": ["a"]},
            {"id": "d", "text": "D answers itself.", "references": ["d"]},
        ]
    }
    client = signed_in(facilitator)
    plan = upload(client, group, essay, data).context["plan"]
    assert not plan.to_import and len(plan.skipped) == 4
    assert (
        client.post(
            confirm_url(group, essay), {"preview": token_of(upload(client, group, essay, data))}
        ).status_code
        == 302
    )
    assert not Annotation.objects.exists()


def test_a_reply_listed_before_its_parent_goes_under_it(group, essay, facilitator):
    data = hypothesis_data()
    data["annotations"].reverse()
    import_file(signed_in(facilitator), group, essay, data)
    second = Annotation.objects.get(import_key="hypothesis:Hq3replyTwo")
    assert second.parent.import_key == "hypothesis:Hq2replyOne"


def test_a_page_note_or_reply_without_words_and_a_quote_without_words_are_left_out(
    group, essay, facilitator
):
    data = {
        "annotations": [
            {"id": "a", "text": "", "target": [{"source": "x"}]},
            {"id": "b", "text": "", "references": ["a"]},
            {
                "id": "c",
                "text": "Only a position.",
                "target": [{"selector": [{"type": "TextPositionSelector", "start": 5, "end": 9}]}],
            },
            {
                "id": "d",
                "text": "x" * 10_001,
                "target": [{"selector": [{"type": "TextQuoteSelector", "exact": QUOTE}]}],
            },
            {
                "id": "e",
                "text": "Fine.",
                "tags": ["t"] * 3 + [f"tag{n}" for n in range(11)],
                "target": [{"selector": [{"type": "TextQuoteSelector", "exact": QUOTE}]}],
            },
        ]
    }
    plan = upload(signed_in(facilitator), group, essay, data).context["plan"]
    reasons = {e.item.key: e.reason for e in plan.skipped}
    assert reasons["hypothesis:a"] == "A note about the whole reading with no words."
    assert reasons["hypothesis:b"] == "A reply with no words."
    assert "no quote" in reasons["hypothesis:c"]
    assert "too long" in reasons["hypothesis:d"]
    assert reasons["hypothesis:e"] == "At most 10 tags."
    assert not plan.to_import


# --- W3C round trips ------------------------------------------------------------------------------


@pytest.fixture
def discussion(group, essay, facilitator, member):
    """Group A's discussion: comments with tags, a question, a highlight, a tag note, a thread
    of replies, a discussion of the whole reading, a plain-text note, and private notes."""
    comment = create(group, essay, member, tags=["democracy", "working class"])
    reply = reply_to(comment, facilitator, "Yes, *and* more.")
    reply_to(reply, member, "A reply to the reply.")
    question = create(
        group,
        essay,
        facilitator,
        quote="Capitalism is incompatible with that kind of democracy.",
        body="Is it?",
        motivation="questioning",
    )
    reply_to(question, member, "I think so.")
    create(group, essay, member, quote="Schools and hospitals and coffee shops", body="")
    create(
        group,
        essay,
        member,
        quote="strikes are so categorically powerful",
        body="",
        motivation="tagging",
        tags=["strikes"],
    )
    services.annotation_create(
        group=group,
        reading=essay,
        author=facilitator,
        motivation="commenting",
        body="What did everyone make of the ending?",
        page_note=True,
    )
    create(
        group,
        essay,
        facilitator,
        quote="The ghost of Stalin’s Russia",
        body="Fran's own reminder.",
        visibility="private",
    )
    create(
        group,
        essay,
        member,
        quote="food lines, travel restrictions",
        body="Maria's private note.",
        visibility="private",
    )
    create(
        group,
        essay,
        member,
        quote="Sweden and the social democracies",
        body="*Not* Markdown.",
        body_format="plain",
    )


def shape(annotations: list[Annotation]) -> list[tuple]:
    """What must survive a round trip: quote, body and its format, tags, thread, visibility."""
    index = {a.pk: n for n, a in enumerate(annotations)}
    return [
        (
            a.motivation,
            a.exact,
            a.start,
            a.body,
            a.body_format,
            tags(a),
            index.get(a.parent_id),
            index.get(a.root_id),
            a.visibility,
            a.is_page_note,
        )
        for a in annotations
    ]


def seen_by(membership_user, group, essay) -> list[Annotation]:
    from annotations.access import visible_annotations

    membership = Membership.objects.select_related("group").get(group=group, user=membership_user)
    return list(
        visible_annotations(membership)
        .filter(reading=essay)
        .order_by("pk")
        .prefetch_related("tags")
    )


def test_a_w3c_export_of_one_group_imports_into_another_as_it_was(
    group, essay, facilitator, other_group, other_member, discussion
):
    exported = signed_in(facilitator).get(reverse("exports:jsonld", args=[group.slug, essay.slug]))
    assert exported.status_code == 200
    original = seen_by(facilitator, group, essay)
    assert len(original) == 10  # Maria's private note is not Fran's to export

    response = import_file(signed_in(other_member), other_group, essay, exported.content)
    assert response.status_code == 302

    copied = sorted(  # in the order of the annotations they copy (roots were made first)
        Annotation.objects.filter(group=other_group, reading=essay).prefetch_related("tags"),
        key=lambda a: int(a.import_key.rsplit("/", 1)[1]),
    )
    assert shape(copied) == shape(original)
    assert {a.author_id for a in copied} == {other_member.pk}
    names = {a.original_author for a in copied}
    assert names == {"Fran Facilitator", "Maria Member"}
    for old, new in zip(original, copied, strict=True):
        assert new.original_created_at.replace(microsecond=0) == old.created_at.replace(
            microsecond=0
        )
        assert new.import_key.endswith(f"/annotations/{old.pk}")
    assert Annotation.objects.filter(group=group).count() == 11  # group A is as it was


def test_a_note_imported_twice_over_still_names_who_wrote_it_first(
    group, essay, facilitator, other_group, other_member
):
    import_file(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())
    exported = signed_in(facilitator).get(reverse("exports:jsonld", args=[group.slug, essay.slug]))

    import_file(signed_in(other_member), other_group, essay, exported.content)

    copies = Annotation.objects.filter(group=other_group, reading=essay)
    assert copies.count() == 8
    curly = copies.get(exact__startswith="It is “the complete")
    assert curly.original_author == "Rosa Luxemburg"
    assert curly.original_created_at == datetime.datetime(2024, 3, 1, 12, tzinfo=datetime.UTC)


def test_the_apis_container_page_imports_too(
    group, essay, facilitator, other_group, other_member, discussion
):
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    page = signed_in(facilitator).get(container + "?page=0")
    assert page.status_code == 200 and page.json()["type"] == "AnnotationPage"

    response = upload(signed_in(other_member), other_group, essay, page.content, "page.jsonld")
    plan = response.context["plan"]
    assert len(plan.to_import) == 10 and not plan.unmatched and not plan.skipped


def test_a_file_of_this_very_group_reading_adds_nothing(group, essay, facilitator, discussion):
    client = signed_in(facilitator)
    exported = client.get(reverse("exports:jsonld", args=[group.slug, essay.slug])).content
    before = state(group, essay)

    plan = upload(client, group, essay, exported).context["plan"]

    assert len(plan.already) == 10 and not plan.to_import
    assert state(group, essay) == before


def test_a_w3c_list_single_annotation_and_page_all_read(group, essay, facilitator):
    one = {
        "@context": "http://www.w3.org/ns/anno.jsonld",
        "id": "urn:uuid:1",
        "type": "Annotation",
        "motivation": "commenting",
        "creator": {"type": "Person", "name": "Ada"},
        "created": "2023-05-06T07:08:09Z",
        "bodyValue": "Plain *words*.",
        "body": [{"type": "TextualBody", "purpose": "tagging", "value": "Theory"}],
        "target": {
            "source": "http://example.org/essay",
            "selector": {"type": "TextQuoteSelector", "exact": QUOTE},
        },
    }
    reply = {
        "id": "urn:uuid:2",
        "type": "Annotation",
        "motivation": "replying",
        "body": {"type": "TextualBody", "value": "A *reply*.", "format": "text/markdown"},
        "target": "urn:uuid:1",
    }
    client = signed_in(facilitator)
    for shape_of_file in (one, [one, reply], {"type": "AnnotationPage", "items": [one, reply]}):
        plan = upload(client, group, essay, shape_of_file).context["plan"]
        assert plan.format == "W3C Web Annotation (JSON-LD)"
        assert len(plan.to_import) == (1 if shape_of_file is one else 2)

    import_file(client, group, essay, [one, reply])
    note = Annotation.objects.get(import_key="urn:uuid:1")
    assert (note.body, note.body_format, tags(note)) == ("Plain *words*.", "plain", ["Theory"])
    assert "<em>" not in note.body_html
    assert note.original_author == "Ada"
    answer = Annotation.objects.get(import_key="urn:uuid:2")
    assert answer.parent_id == note.pk and answer.body_format == "markdown"


# --- bad files ---------------------------------------------------------------------------------


BAD_FILES = {
    "empty": (b"", "empty"),
    "only spaces": (b"  \n ", "The file is empty"),
    "not JSON": (b"{'annotations': [", "not valid JSON"),
    "not UTF-8": ("{}".encode("utf-16"), "not UTF-8"),
    "a list of numbers": (b"[1, 2, 3]", "not a file of annotations"),
    "unknown format": (b'{"rows": "no", "name": "x"}', "not a file of annotations"),
    "linked pages": (
        b'{"type": "AnnotationCollection", "first": "http://example.org/page1"}',
        "only linked",
    ),
    "IRIs only": (b'{"type": "AnnotationPage", "items": ["http://example.org/a/1"]}', "addresses"),
    "a page of strangers": (b'{"type": "AnnotationPage", "items": [{"type": "Thing"}]}', "Item 1"),
    "no annotations": (b'{"annotations": []}', "holds no annotations"),
    "nested too deeply": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_gets_a_field_error_and_changes_nothing(group, essay, facilitator, case):
    content, message = BAD_FILES[case]
    client = signed_in(facilitator)
    response = upload(client, group, essay, content)
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["file"])
    assert not Annotation.objects.exists()


def test_no_file_is_a_field_error(group, essay, facilitator):
    response = signed_in(facilitator).post(start_url(group, essay), {})
    assert response.status_code == 400 and response.context["form"].errors["file"]


def test_a_file_over_the_size_cap_is_refused(group, essay, facilitator, monkeypatch):
    monkeypatch.setattr("imports.forms.MAX_FILE_BYTES", 1000)
    response = upload(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())
    assert response.status_code == 400
    assert "larger than" in response.context["form"].errors["file"][0]


def test_a_file_over_the_count_cap_is_refused(group, essay, facilitator, monkeypatch):
    monkeypatch.setattr("imports.formats.MAX_ANNOTATIONS", 5)
    response = upload(signed_in(facilitator), group, essay, HYPOTHESIS.read_bytes())
    assert response.status_code == 400
    assert "at most 5 can be imported" in response.context["form"].errors["file"][0]


def test_hostile_text_is_cleaned_names_and_dates_checked(group, essay, facilitator):
    data = {
        "annotations": [
            {
                "id": "evil",
                "text": '<script>alert(1)</script>[x](javascript:alert(2)) <img src=x onerror="y">',
                "user": "acct:eve@hypothes.is",
                # (A NUL anywhere refuses the whole file: tests/test_input_limits.py.)
                "user_info": {"display_name": "Eve\u202e\u0007 <b>Evil</b>\n" + "e" * 300},
                "created": "not a date",
                "tags": ["<b>x</b>", "a\u200bb"],
                "target": [{"selector": [{"type": "TextQuoteSelector", "exact": QUOTE}]}],
            },
            {
                "id": "future",
                "text": "From the future.",
                "created": "2999-01-01T00:00:00Z",
                "target": [{"selector": [{"type": "TextQuoteSelector", "exact": QUOTE}]}],
            },
        ]
    }
    client = signed_in(facilitator)
    response = upload(client, group, essay, data)
    assert len(response.context["plan"].bad_dates) == 2
    assert "<script>" not in response.content.decode()
    client.post(confirm_url(group, essay), {"preview": token_of(response)})

    evil = Annotation.objects.get(import_key="hypothesis:evil")
    assert "<script" not in evil.body_html and 'href="javascript:' not in evil.body_html
    assert "<img" not in evil.body_html
    assert evil.original_author.startswith("Eve <b>Evil</b> eee")
    assert len(evil.original_author) == 200 and "\u202e" not in evil.original_author
    assert evil.original_created_at is None
    assert tags(evil) == ["<b>x</b>", "ab"]
    thread = reverse("annotations:thread", args=[group.slug, essay.slug, evil.pk])
    page = client.get(thread).content.decode()
    assert "&lt;b&gt;Evil&lt;/b&gt;" in page and "<b>Evil</b>" not in page
    assert Annotation.objects.get(import_key="hypothesis:future").original_created_at is None


# --- the parts --------------------------------------------------------------------------------


TEXT = (
    "It is “the complete democratization of society,” meaning every person decides.\n\n"
    "Strikes are powerful—they shut down a whole system. The working class runs it. "
    "Later the working class wins, and the working class rests."
)


@pytest.mark.parametrize(
    ("exact", "prefix", "suffix", "status", "words"),
    [
        ("every person decides", "", "", "exact", "every person decides"),
        (
            '"the complete democratization',
            "It is ",
            "",
            "normalized",
            "“the complete democratization",
        ),
        ("powerful - they shut", "", "", "normalized", "powerful—they shut"),
        ("decides.\n Strikes are", "", "", "normalized", "decides.\n\nStrikes are"),
        (
            "Strikes are powerfull—they shut down",
            "",
            " a whole",
            "fuzzy",
            "Strikes are powerful—they shut down",
        ),
        ("the working class", "Later ", " wins", "exact", "the working class"),
        ("the working class", "", "", "unmatched", None),
        ("the middle class", "", "", "unmatched", None),
    ],
)
def test_quotes_are_placed_by_their_words(exact, prefix, suffix, status, words):
    match = quotes.anchor_quote(TEXT, exact, prefix, suffix)
    assert match.status == status
    if words is None:
        assert not match.placed and match.reason
    else:
        assert TEXT[match.start : match.end] == words


def test_an_ambiguous_quote_says_why_it_was_not_placed():
    match = quotes.anchor_quote(TEXT, "the working class")
    assert match.reason == "Found 2 times in the text, and its context does not say which."


def test_a_collection_with_its_first_page_embedded_is_read():
    data = {
        "type": "AnnotationCollection",
        "first": {
            "type": "AnnotationPage",
            "items": [{"id": "x", "type": "Annotation", "bodyValue": "Hi", "target": "http://e/"}],
            "next": {
                "type": "AnnotationPage",
                "items": [{"type": "Annotation", "target": "http://e/"}],
            },
        },
    }
    parsed = read_annotations(json.dumps(data).encode())
    assert [item.kind for item in parsed.items] == ["page_note", "page_note"]
    assert parsed.items[1].key.startswith("sha256:")
    assert parsed.items[1].problem == "A note about the whole reading with no words."


def test_keys_are_stable_and_short():
    assert formats.import_key("  urn:x ", {}) == "urn:x"
    long = formats.import_key("x" * 300, {})
    assert long.startswith("sha256:") and len(long) < 255
    assert formats.import_key(None, {"b": 1, "a": 2}) == formats.import_key(None, {"a": 2, "b": 1})


# --- in the browser ----------------------------------------------------------------------------


def axe_problems(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


@pytest.mark.browser
@pytest.mark.parametrize(
    ("width", "scheme"), [(1280, "light"), (375, "dark")], ids=["desktop-light", "phone-dark"]
)
def test_a_facilitator_previews_and_imports_in_the_browser(
    browser, live_server, login, transactional_db, group, essay, facilitator, width, scheme
):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}, color_scheme=scheme
    )
    page = login(context.new_page(), facilitator)
    page.set_default_timeout(10_000)
    page.goto(reverse("annotations:reading", args=[group.slug, essay.slug]))
    page.get_by_role("link", name="Import annotations").click()
    assert page.get_by_role("heading", name="Import annotations").is_visible()
    assert not axe_problems(page)

    page.get_by_label("The file of annotations").set_input_files(str(HYPOTHESIS))
    page.get_by_role("button", name="Preview the import").click()
    assert page.get_by_role("heading", name="Preview the import").is_visible()
    assert page.get_by_text(NOT_THERE).is_visible()
    assert not axe_problems(page)
    assert not Annotation.objects.exists()

    page.get_by_role("button", name="Import 8 annotations").click()
    assert page.get_by_text("Imported 8 annotations").is_visible()
    assert Annotation.objects.filter(group=group).count() == 8
    context.close()
