"""Limits on what a client may send, and hostile characters, told to the client (issue 13,
findings 3, 5 and 6): commonplace/untrusted.py and the "Input limits" block of settings.

- 3: a request of 60,000 tags is refused before any tag is read; tag cleaning is linear and
  stops at the first tag past the limit.
- 5: the API answers JSON 4xx, at once, for JSON nested too deeply, a lone surrogate or a NUL
  anywhere in a body, and a body too large (413 naming the limit); pages answer the site's own
  413 page; form fields refuse NUL as a field error; no POST of a NUL breaks any URL.
- 6: a NUL in any filter of any page is a 400 (the site's page, or JSON on the API).
- Sizes: requests, bodies, tags, names and imported files have limits, named when refused.

The NUL cases only break on PostgreSQL (SQLite stores a NUL): CI runs this file there.
"""

import io
import json
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from annotations import services
from annotations.models import Annotation, Tag
from commonplace.untrusted import RequestChecksMiddleware, size, wants_json
from groups.models import ReadingGroup
from meetings.models import Meeting
from search.forms import Choices, SearchForm
from tests.test_annotation_api import comment, container_path, item_path, make_comment, post
from tests.test_group_walls import (  # noqa: F401 (fixtures)
    group_object_makers,
    targets_of,
    world,
)
from tests.test_meetings import form_data as meeting_form


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def as_member(member):
    return signed_in(member)


@pytest.fixture
def url(group, essay):
    return container_path(group, essay)


def compact(data) -> str:
    return json.dumps(data, separators=(",", ":"))


def json_error(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == status
    return body["error"]


def page_error(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Traceback" not in text
    assert 'class="lede"' in text  # the site's own page, not Django's bare one
    return text


# --- finding 3: 60,000 tags ------------------------------------------------------------------


def sixty_thousand_tags(essay) -> str:
    data = comment(essay)
    data["body"] += [{"value": f"t{i}", "purpose": "tagging"} for i in range(60_000)]
    return compact(data)  # 2.3 MB, as in the finding


def test_sixty_thousand_tags_are_refused_before_any_is_read(
    as_member, url, essay, settings, monkeypatch
):
    settings.API_BODY_MAX_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4 * 1024 * 1024
    payload = sixty_thousand_tags(essay)
    assert 2_200_000 < len(payload) < 2_400_000
    read = []
    monkeypatch.setattr(services, "tag_key", lambda name: read.append(name) or name.lower())

    started = time.process_time()  # this process's CPU, not the loaded machine's clock
    response = post(as_member, url, payload)
    spent = time.process_time() - started

    assert json_error(response, 400).startswith("At most 10 tags")
    assert "60,001 bodies" in response.json()["error"]
    assert read == []  # counted, never cleaned
    assert spent < 1, f"{spent:.2f} s of CPU"  # was 17 s; generous: parsing the JSON is most
    assert not Annotation.objects.exists()


def test_at_the_default_limits_the_same_request_is_too_large(as_member, url, essay):
    response = post(as_member, url, sixty_thousand_tags(essay))

    message = json_error(response, 413)
    assert message == "The request is too large: the limit is 1 MB (1,048,576 bytes)."
    assert not Annotation.objects.exists()


def test_eleven_tags_are_one_too_many_on_the_api(as_member, url, essay):
    data = comment(essay)
    data["body"] += [{"value": f"tag {i}", "purpose": "tagging"} for i in range(11)]

    assert json_error(post(as_member, url, data), 400).startswith("At most 10 tags")
    data["body"].pop()
    assert post(as_member, url, data).status_code == 201
    assert Tag.objects.count() == 10


def test_tags_differing_only_in_case_are_one_but_the_bodies_are_still_counted(
    as_member, url, essay
):
    data = comment(essay)
    data["body"] += [{"value": f"Tag {i}", "purpose": "tagging"} for i in range(10)]
    data["body"] += [{"value": f"TAG {i}", "purpose": "tagging"} for i in range(10)]
    assert post(as_member, url, data).status_code == 201  # 21 bodies: 10 tags
    data["body"].append({"value": "tag 0", "purpose": "tagging"})
    message = json_error(post(as_member, url, data), 400)
    assert message == "At most 10 tags (and one text body): 22 bodies were sent."


def test_cleaning_tags_stops_at_the_first_one_past_the_limit():
    taken = []

    def tags():
        for i in range(60_000):
            taken.append(i)
            yield f"tag {i}"

    with pytest.raises(services.AnnotationError, match="At most 10 tags"):
        services.clean_tags(tags())
    assert len(taken) == 11


def test_tags_are_deduplicated_in_one_pass_keeping_the_first_spelling():
    names = ["Marx", "marx", "MARX"] * 20_000 + ["Engels", "#engels"]
    assert services.clean_tags(names) == ["Marx", "Engels"]


def test_a_tag_is_at_most_its_limit_long(as_member, url, essay):
    data = comment(essay)
    data["body"].append({"value": "x" * 51, "purpose": "tagging"})

    assert "at most 50 characters" in json_error(post(as_member, url, data), 400)


# --- finding 5: hostile JSON bodies ----------------------------------------------------------


def with_extra(essay, key: str, value: str) -> str:
    """The comment's JSON with `"key": value` (raw JSON text) added."""
    return compact(comment(essay))[:-1] + f',"{key}":{value}}}'


HOSTILE_BODIES = {
    "nested 1,000 deep": (
        lambda essay: with_extra(essay, "x", "[" * 1000 + "]" * 1000),
        "The request body is nested too deeply: at most 32 levels.",
    ),
    "nested 100,000 deep": (
        lambda essay: with_extra(essay, "x", "[" * 100_000 + "]" * 100_000),
        "The request body is nested too deeply: at most 32 levels.",
    ),
    "a lone surrogate in the words": (
        lambda essay: compact(comment(essay, body="Half a smile: \ud83d.")),
        "The request body contains a lone surrogate (U+D83D) (at body[0].value)",
    ),
    "a lone low surrogate in bodyValue": (
        lambda essay: with_extra(essay, "bodyValue", '"\\udc00"'),
        "The request body contains a lone surrogate (U+DC00) (at bodyValue)",
    ),
    "a NUL in the words": (
        lambda essay: compact(comment(essay, body="A\u0000B")),
        "The request body contains a NUL character (at body[0].value)",
    ),
    "a NUL in a key": (
        lambda essay: with_extra(essay, "evil\\u0000key", "1"),
        "The request body contains a NUL character",
    ),
    "a NUL in the quote": (
        lambda essay: with_extra(essay, "target", '{"selector":{"exact":"so\\u0000cialism"}}'),
        "The request body contains a NUL character (at target.selector.exact)",
    ),
    "not UTF-8": (
        lambda essay: compact(comment(essay)).encode().replace(b"fine", b"\xff\xfe"),
        "The request body is not UTF-8 text.",
    ),
    "not JSON": (lambda essay: "{'type': 'Annotation'", "The request body is not valid JSON"),
    "a number of 5,000 digits": (
        lambda essay: with_extra(essay, "x", "9" * 5000),
        "The request body is not valid JSON here: Exceeds the limit (4300 digits)",
    ),
}


@pytest.mark.parametrize("kind", HOSTILE_BODIES)
def test_a_hostile_body_gets_a_json_400_and_writes_nothing(as_member, url, essay, kind):
    payload, message = HOSTILE_BODIES[kind]

    response = post(as_member, url, payload(essay))

    assert json_error(response, 400).startswith(message)
    assert not Annotation.objects.exists()


@pytest.mark.parametrize("kind", ["a lone surrogate in the words", "a NUL in the words"])
def test_an_edit_with_a_hostile_body_gets_a_json_400_and_changes_nothing(
    as_member, group, essay, member, kind
):
    note = make_comment(group, essay, member, body="As it was.")
    payload = HOSTILE_BODIES[kind][0](essay)

    response = as_member.put(item_path(note), data=payload, content_type="application/ld+json")

    assert json_error(response, 400).startswith(HOSTILE_BODIES[kind][1])
    note.refresh_from_db()
    assert note.body == "As it was."


def test_a_body_over_the_limit_is_413_naming_it_before_it_is_read(as_member, url, essay):
    payload = compact(comment(essay, body="word " * 250_000))  # 1.25 MB

    response = post(as_member, url, payload)

    assert json_error(response, 413) == (
        "The request is too large: the limit is 1 MB (1,048,576 bytes)."
    )
    assert not Annotation.objects.exists()


def test_a_body_too_large_is_judged_by_its_length_and_never_read(rf):
    class Unreadable(io.RawIOBase):
        def read(self, *args):
            raise AssertionError("the body was read")

    request = rf.post(
        "/groups/g/readings/r/annotations/", data=b"", content_type="application/ld+json"
    )
    request.META["CONTENT_LENGTH"] = str(50 * 1024 * 1024)
    request.META["wsgi.input"] = Unreadable()
    answered = RequestChecksMiddleware(lambda r: pytest.fail("the view ran"))(request)

    assert answered.status_code == 413
    assert json.loads(answered.content)["error"].endswith("(1,048,576 bytes).")


def test_the_limits_are_sizes_people_read():
    assert [size(n) for n in (300, 512 * 1024, 1024 * 1024, 5 * 1024 * 1024 // 2)] == [
        "300 bytes",
        "512 KB",
        "1 MB",
        "2.5 MB",
    ]


# --- request sizes on pages -------------------------------------------------------------------


def test_a_form_post_over_the_limit_gets_the_sites_413_page(as_member):
    response = as_member.post(
        reverse("groups:create"),
        data="x=" + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        content_type="application/x-www-form-urlencoded",
    )

    text = page_error(response, 413)
    assert "The request is too large: the limit is 2.5 MB (2,621,440 bytes)." in text


def test_an_upload_over_the_request_limit_gets_413(facilitator, group, essay):
    big = SimpleUploadedFile("notes.jsonld", b" " * (settings.REQUEST_MAX_BYTES + 1))

    response = signed_in(facilitator).post(
        reverse("imports:start", args=[group.slug, essay.slug]), {"file": big}
    )

    assert "the limit is 6 MB (6,291,456 bytes)" in page_error(response, 413)


def test_form_fields_over_the_limit_inside_an_upload_get_413_too(facilitator, group, essay):
    """Only Django sees this one, while it parses the form: its handler400 names the limit."""
    response = signed_in(facilitator).post(
        reverse("imports:start", args=[group.slug, essay.slug]),
        {"text": "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1), "file": ""},
    )

    assert "the limit is 2.5 MB" in page_error(response, 413)


def test_too_many_fields_get_a_400_naming_the_limit(as_member):
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    response = as_member.post(
        reverse("groups:create"),
        data=fields,
        content_type="application/x-www-form-urlencoded",
    )

    assert "at most 1,000" in page_error(response, 400)


def test_an_api_client_gets_json_for_a_refusal_made_before_the_view(member, url, essay):
    response = signed_in(member).post(
        url,
        data="x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
        content_type="text/plain",
    )

    assert json_error(response, 413).startswith("The request is too large: the limit is 1 MB")


def test_json_is_for_api_clients_and_pages_for_browsers(rf):
    page = "/groups/g/"
    assert wants_json(rf.get(page, headers={"Authorization": "Bearer cp_x"}))
    assert wants_json(rf.post(page, data="{}", content_type="application/ld+json"))
    assert wants_json(rf.get(page, headers={"Accept": "application/json"}))
    assert wants_json(rf.get("/notifications/unread.json"))
    assert wants_json(rf.get("/groups/g/readings/r/annotations/"))  # the API's own views
    assert not wants_json(rf.get(page, headers={"Authorization": "Basic eDp5"}))
    assert not wants_json(rf.get(page, headers={"Accept": "text/html,application/json;q=0.9"}))
    assert not wants_json(rf.get("/groups/g/readings/r/threads/"))


# --- finding 6: NUL in filters ------------------------------------------------------------------


def filter_pages(group, essay) -> dict[str, str]:
    reading = [group.slug, essay.slug]
    return {
        "reading page": reverse("annotations:reading", args=reading),
        "thread list": reverse("annotations:threads", args=reading),
        "search": reverse("search:results", args=[group.slug]),
        "inbox": reverse("notifications:inbox"),
        "export": reverse("exports:markdown", args=reading),
        "packet": reverse("exports:packet", args=reading),
        "participation": reverse("progress:participation", args=reading),
    }


@pytest.mark.parametrize("query", ["tag=%00", "member=%00", "q=a%00b", "page=1%00", "%00=1"])
@pytest.mark.parametrize(
    "page", ["reading page", "thread list", "search", "inbox", "export", "packet", "participation"]
)
def test_a_nul_in_any_filter_is_a_400_page(facilitator, group, essay, page, query):
    response = signed_in(facilitator).get(f"{filter_pages(group, essay)[page]}?{query}")

    text = page_error(response, 400)
    assert "The address contains a NUL character" in text


@pytest.mark.parametrize(
    "path",
    [
        lambda group, essay: container_path(group, essay) + "?page=%00",
        lambda group, essay: container_path(group, essay) + "?after=1&tag=%00",
        lambda group, essay: (
            reverse("annotations:layer", args=[group.slug, essay.slug]) + "?member=%00"
        ),
        lambda group, essay: reverse("notifications:unread") + "?x=%00",
    ],
    ids=["container page", "container filter", "layer.json", "unread.json"],
)
def test_a_nul_in_a_filter_of_a_json_endpoint_is_a_json_400(member, group, essay, path):
    response = signed_in(member).get(path(group, essay))

    assert json_error(response, 400).startswith("The address contains a NUL character")


def test_a_lone_surrogate_in_an_address_reads_as_a_replacement_character(as_member, group, essay):
    """Django decodes addresses with replacement characters: nothing lone gets through."""
    reading = reverse("annotations:reading", args=[group.slug, essay.slug])
    assert as_member.get(reading + "?tag=%ED%A0%80&member=%ED%B0%80").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        lambda group, essay: (
            reverse("annotations:reading", args=[group.slug, essay.slug]) + "annotate/%00/"
        ),
        lambda group, essay: "/calendar/%00.ics",
        lambda group, essay: "/notifications/unsubscribe/%00/",
    ],
    ids=["annotate", "calendar", "unsubscribe"],
)
def test_a_nul_in_the_path_is_never_a_server_error(as_member, group, essay, path):
    assert as_member.get(path(group, essay)).status_code in {400, 404}


def test_the_search_forms_own_nul_messages_stay_for_any_other_caller(group):
    choices = Choices.for_group(group)
    for data, message in [
        ({"q": "quok\x00ka"}, "The search cannot contain NUL characters."),
        ({"q": "quokka", "tag": "a\x00b"}, "A tag cannot contain NUL characters."),
    ]:
        form = SearchForm(data, choices=choices)
        assert not form.is_valid()
        assert message in str(form.errors)


# --- form fields: NUL is a field error, never a 500; names name their limits -------------------


def test_a_nul_in_a_comment_form_is_a_field_error(as_member, group, essay):
    block = essay.blocks.first()
    response = as_member.post(
        reverse("annotations:annotate", args=[group.slug, essay.slug, block.anchor]),
        {"quote": block.text[:20], "kind": "commenting", "body": "A\x00B", "visibility": "group"},
    )

    assert response.status_code in {200, 400}
    assert "Null characters are not allowed." in response.content.decode()
    assert not Annotation.objects.exists()


@pytest.mark.parametrize(
    "name, limit",
    [("a\x00b", "Null characters are not allowed."), ("x" * 121, "at most 120 characters")],
)
def test_a_group_name_is_refused_as_a_field_error(facilitator, name, limit):
    before = ReadingGroup.objects.count()

    response = signed_in(facilitator).post(
        reverse("groups:create"), {"name": name, "time_zone": "UTC"}
    )

    assert response.status_code in {200, 400}
    assert limit in response.content.decode()
    assert ReadingGroup.objects.count() == before


@pytest.mark.parametrize(
    "name, limit",
    [("a\x00b", "Null characters are not allowed."), ("x" * 81, "at most 80 characters")],
)
def test_a_display_name_is_refused_as_a_field_error(member, name, limit):
    response = signed_in(member).post(
        reverse("accounts:profile"), {"display_name": name, "time_zone": "UTC"}
    )

    assert response.status_code in {200, 400}
    assert limit in response.content.decode()
    member.refresh_from_db()
    assert member.display_name == "Maria Member"


@pytest.mark.parametrize(
    "title, limit",
    [("a\x00b", "Null characters are not allowed."), ("x" * 201, "200")],
)
def test_a_meeting_title_is_refused_as_a_field_error(facilitator, group, title, limit):
    response = signed_in(facilitator).post(
        reverse("meetings:create", args=[group.slug]), meeting_form(title=title)
    )

    assert response.status_code in {200, 400}
    assert limit in response.content.decode()
    assert not Meeting.objects.exists()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_a_lone_surrogate_posted_in_a_form_arrives_as_replacement_characters(member, encoding):
    """A browser cannot send one; a crafted body's bytes are decoded with replacement."""
    lone = b"%ED%A0%80" if encoding == "urlencoded" else b"\xed\xa0\x80"
    if encoding == "urlencoded":
        body = b"display_name=Ana" + lone + b"&time_zone=UTC"
        content_type = "application/x-www-form-urlencoded"
    else:
        body = b"".join(
            b'--B\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % pair
            for pair in [(b"display_name", b"Ana" + lone), (b"time_zone", b"UTC")]
        )
        body += b"--B--\r\n"
        content_type = "multipart/form-data; boundary=B"

    response = signed_in(member).post(reverse("accounts:profile"), body, content_type=content_type)

    assert response.status_code < 500
    member.refresh_from_db()
    assert member.display_name.startswith("Ana\ufffd")


def test_the_service_refuses_what_no_form_or_file_should_bring(group, essay, member):
    for body, found in [("A\x00B", "a NUL character"), ("A\ud800B", "a lone surrogate")]:
        with pytest.raises(services.AnnotationError, match=f"cannot contain {found}"):
            make_comment(group, essay, member, body=body)
    with pytest.raises(services.AnnotationError, match="cannot contain a lone surrogate"):
        services.clean_tags(["ok", "bad\udfff"])
    assert not Annotation.objects.exists()


# Every name a form or a view reads from a POST: a NUL in each, posted to every URL of a group.
POSTED_NAMES = [
    "action", "author", "block", "body", "decision", "description", "direction", "discussed",
    "due_at", "email", "emails", "end", "expires_at", "file", "first_block", "instructions",
    "item", "kind", "label", "last_block", "link", "max_uses", "meeting", "muted", "name",
    "next", "note", "parent", "preview", "quote", "raised", "read", "reading", "reason",
    "recap", "role", "start", "starts_at", "tags", "text", "text_format", "thread", "time_zone",
    "title", "value", "visibility", "display_name", "date", "start_time", "end_time",
]  # fmt: skip


def test_a_nul_in_any_posted_field_never_breaks_any_url(world, group_object_makers):  # noqa: F811
    """On PostgreSQL a NUL reaching a query is a 500: every URL of the group, as its
    facilitator, each request rolled back."""
    problems = []
    for target in targets_of(world, group_object_makers):
        if target.has_token:
            continue
        for value in ("1\x00", "/\x00"):
            with transaction.atomic():
                client = signed_in(world.facilitator)
                status = client.post(target.url, dict.fromkeys(POSTED_NAMES, value)).status_code
                transaction.set_rollback(True)
            if status >= 500:
                problems.append(f"POST {target.url} ({target.route.name}) {value!r} -> {status}")
    assert not problems, "\n".join(problems)


# --- imported files ---------------------------------------------------------------------------


def import_file(facilitator, group, essay, data: bytes):
    return signed_in(facilitator).post(
        reverse("imports:start", args=[group.slug, essay.slug]),
        {"file": SimpleUploadedFile("notes.jsonld", data)},
    )


@pytest.mark.parametrize(
    "data, message",
    [
        (
            b'{"type": "Annotation", "bodyValue": "A\\u0000B", "target": "x"}',
            "The file contains a NUL character (at bodyValue)",
        ),
        (
            b'{"type": "Annotation", "id": "\\ud800", "target": "x"}',
            "The file contains a lone surrogate (U+D800) (at id)",
        ),
        (b"[" * 40 + b"]" * 40, "The file is nested too deeply: at most 32 levels."),
        (b'{"rows": ' + b"9" * 5000 + b"}", "The file is not valid JSON here: Exceeds the limit"),
    ],
    ids=["nul", "surrogate", "deep", "huge number"],
)
def test_a_hostile_import_file_is_a_field_error(facilitator, group, essay, data, message):
    response = import_file(facilitator, group, essay, data)

    assert response.status_code in {200, 400}
    assert message in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_import_file_over_its_limit_names_it(facilitator, group, essay, settings):
    response = import_file(facilitator, group, essay, b" " * (5 * 1024 * 1024 + 1))

    assert "The file is larger than 5 MB." in response.content.decode()


def test_a_reading_file_over_its_limit_names_it(facilitator, group):
    response = signed_in(facilitator).post(
        reverse("groups:reading_import", args=[group.slug]),
        {"file": SimpleUploadedFile("long.txt", b"word " * (2 * 1024 * 1024 // 5 + 1))},
    )

    assert "The file is larger than 2 MB." in response.content.decode()


def test_the_limits_live_in_settings():
    assert services.MAX_TAGS == settings.ANNOTATION_MAX_TAGS == 10
    assert services.TAG_MAX_LENGTH == settings.TAG_MAX_LENGTH == 50
    assert settings.REQUEST_MAX_BYTES > settings.ANNOTATION_IMPORT_MAX_BYTES
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE > settings.READING_IMPORT_MAX_BYTES


def test_an_unexpected_error_on_the_api_is_a_json_500_not_a_page(member, url, essay, monkeypatch):
    """Whatever escapes a view: an API client still reads JSON (commonplace.outage)."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("annotations.w3c.parse", broken)
    client = Client(raise_request_exception=False)
    client.force_login(member)
    response = client.post(url, compact(comment(essay)), content_type="application/ld+json")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["status"] == 500
