"""Exports of a group's discussion (Markdown study notes, CSV, W3C JSON-LD), the printable
discussion packet, and "My notes": what each holds, that every one of them goes through the
permission table (private, hidden, withheld, deleted), their walls, their query counts, and
that hostile names, bodies and tags come out as text."""

import csv
import datetime
import io
import json
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from markdown_it import MarkdownIt

from annotations import services
from annotations.models import Annotation, Tag
from assignments.models import Assignment
from exports.markdown import plain
from groups.models import GroupReading, Membership
from tests.annotating import QUOTE, create, reply_to
from tests.test_annotation_pages import block_of, blocks_of
from tests.test_progress_participation import bulk

INTRO = "The word socialism has many associations today."
WORKING = "When socialists talk about ordinary people"
STALINISM = "Firstly, the Soviet Union and so-called communist states of the Eastern Bloc."

GROUP_EXPORTS = ["markdown", "csv", "jsonld", "packet"]
DOWNLOADS = ["markdown", "csv", "jsonld"]
MY_NOTES = ["my_notes", "my_notes_markdown", "my_notes_csv", "my_notes_jsonld"]


# --- helpers ----------------------------------------------------------------------------------


def url(name: str, group, reading, **query) -> str:
    path = reverse(f"exports:{name}", args=[group.slug, reading.slug])
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return b"".join(
        response.streaming_content if response.streaming else [response.content]
    ).decode()


def export(user, name: str, group, reading, **query) -> str:
    return text_of(signed_in(user).get(url(name, group, reading, **query)))


def csv_rows(text: str) -> list[dict]:
    assert text.startswith("\ufeff"), "the CSV starts with a byte order mark"
    return list(csv.DictReader(io.StringIO(text[1:])))


def jsonld_items(text: str) -> list[dict]:
    data = json.loads(text)
    assert data["type"] == "AnnotationCollection"
    assert data["total"] == len(data["first"]["items"])
    return data["first"]["items"]


def rendered(markdown: str) -> str:
    """The Markdown as a renderer with raw HTML ON would show it (the unkindest reader)."""
    return MarkdownIt("commonmark", {"html": True}).enable("strikethrough").render(markdown)


def at(annotation, moment) -> None:
    Annotation.objects.filter(pk=annotation.pk).update(created_at=moment)


def bodies_in(name: str, text: str) -> set[str]:
    """The bodies an export shows, whatever its format."""
    if name == "csv":
        return {row["body"] for row in csv_rows(text)}
    if name == "jsonld":
        return {
            body["value"]
            for item in jsonld_items(text)
            for body in item.get("body", [])
            if body.get("purpose") != "tagging"
        }
    return {text}  # Markdown and the packet: look for the words in the page


def shows(name: str, text: str, words: str) -> bool:
    return any(words in body for body in bodies_in(name, text))


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def lee(make_user, group):
    """A member who has posted nothing (post before you peek withholds from her)."""
    lee = make_user("lee", display_name="Lee Lurker")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    return lee


@pytest.fixture
def discussion(group, essay, facilitator, member):
    """Fran asks a question in the introduction, Maria answers and Fran replies to her; Maria
    comments in 'Why the working class' with tags; Fran comments under 'Stalinism'."""
    question = create(
        group,
        essay,
        facilitator,
        quote=INTRO,
        body="What *associations* come to mind?",
        motivation="questioning",
    )
    answer = reply_to(question, member, body="Mostly **Sweden**.")
    follow = reply_to(answer, facilitator, body="Why Sweden?")
    working = create(
        group,
        essay,
        member,
        quote=WORKING,
        body="Who counts as working class?",
        tags=["class", "definitions"],
    )
    stalin = create(group, essay, facilitator, quote=STALINISM, body="The ghost of Stalin.")
    return {
        "question": question,
        "answer": answer,
        "follow": follow,
        "working": working,
        "stalin": stalin,
    }


# --- walls ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", GROUP_EXPORTS)
@pytest.mark.parametrize("persona", ["outsider", "other_member"])
def test_a_non_member_gets_404(request, name, persona, group, essay, other_group, discussion):
    client = signed_in(request.getfixturevalue(persona))

    response = client.get(url(name, group, essay))

    assert response.status_code == 404
    assert "Who counts as working class" not in response.content.decode()


@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_a_signed_out_visitor_is_sent_to_log_in(client, name, group, essay):
    response = client.get(url(name, group, essay))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", MY_NOTES)
def test_my_notes_send_a_signed_out_visitor_to_log_in(client, name):
    response = client.get(reverse(f"exports:{name}"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", [*GROUP_EXPORTS])
def test_it_rejects_post(name, group, essay, member):
    response = signed_in(member).post(url(name, group, essay))

    assert response.status_code == 405


# --- downloads --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "extension", "content_type"),
    [
        ("markdown", "md", "text/markdown; charset=utf-8"),
        ("csv", "csv", "text/csv; charset=utf-8"),
        ("jsonld", "jsonld", 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'),
    ],
)
def test_each_download_is_an_attachment_named_after_the_group_reading_and_day(
    name, extension, content_type, group, essay, member
):
    response = signed_in(member).get(url(name, group, essay))

    today = timezone.localdate().isoformat()
    expected = f'attachment; filename="{group.slug}-{essay.slug}-{today}.{extension}"'
    assert response["Content-Disposition"] == expected
    assert response["Content-Type"] == content_type
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


# --- Markdown ---------------------------------------------------------------------------------


def test_the_markdown_follows_the_sections_with_each_passage_and_its_thread(
    group, essay, member, discussion
):
    text = export(member, "markdown", group, essay)

    headings = re.findall(r"^(#+) (.*)$", text, flags=re.M)
    assert headings == [
        ("#", "What is socialism from below?"),
        ("##", "Introduction"),
        ("##", "Why the working class"),
        ("##", "Socialisms from above"),
        ("###", "Stalinism"),
    ]
    intro = text.index("## Introduction")
    assert text.index("> " + INTRO) > intro
    assert "**¶ 1**" in text
    thread = text[text.index("> " + INTRO) : text.index("## Why the working class")]
    # root, then the reply indented under it, then the reply to the reply one step further
    assert re.search(r"^- \*\*Fran Facilitator\*\* · question · ", thread, re.M)
    assert re.search(r"^  What \*associations\* come to mind\?$", thread, re.M)
    assert re.search(r"^  - \*\*Maria Member\*\* · reply · ", thread, re.M)
    assert re.search(r"^    Mostly \*\*Sweden\*\*\.$", thread, re.M)
    assert re.search(r"^    - \*\*Fran Facilitator\*\* · reply · ", thread, re.M)
    assert re.search(r"^      Why Sweden\?$", thread, re.M)
    assert "tags: class, definitions" in text


def test_the_markdown_nests_replies_as_a_renderer_reads_them(group, essay, member, discussion):
    html = rendered(export(member, "markdown", group, essay))

    # the answer is a list inside the question's list item, the follow-up inside the answer's
    question = html.index("What <em>associations</em>")
    answer = html.index("Mostly <strong>Sweden</strong>")
    follow = html.index("Why Sweden?")
    assert question < answer < follow
    assert html[question:answer].count("<ul>") == 1
    assert html[answer:follow].count("<ul>") == 1


def test_replies_under_a_body_ending_in_a_list_are_not_its_items(group, essay, member, facilitator):
    note = create(group, essay, member, body="Two points:\n\n- one\n- two")
    reply_to(note, facilitator, body="A reply")

    html = rendered(export(member, "markdown", group, essay))

    assert re.search(r"<li>two</li>\s*</ul>\s*<ul>\s*<li>\s*<p><strong>Fran Facilitator", html)


def test_the_markdown_gives_dates_in_the_viewers_time_zone(group, essay, member, discussion):
    at(discussion["working"], datetime.datetime(2025, 3, 4, 23, 30, tzinfo=datetime.UTC))
    member.time_zone = "Asia/Tokyo"
    member.save(update_fields=["time_zone"])

    text = export(member, "markdown", group, essay)

    assert "· comment · 5 Mar 2025, 08:30 · tags: class, definitions" in text
    assert "(times in Asia/Tokyo)" in text


def test_the_markdown_puts_orphans_at_the_end(group, essay, member, discussion):
    Annotation.objects.filter(pk=discussion["working"].pk).update(
        anchoring=Annotation.Anchoring.ORPHAN
    )

    text = export(member, "markdown", group, essay)

    orphans = text.index("## Orphaned passages")
    assert text.index("Who counts as working class?") > orphans
    assert text.index("The ghost of Stalin.") < orphans
    assert "## Why the working class" not in text


def test_a_thread_about_the_whole_reading_comes_first_without_a_passage(
    group, essay, member, discussion
):
    Annotation.objects.create(  # a root with no range: about the reading as a whole
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="About the essay as a whole",
        body_html="<p>About the essay as a whole</p>",
    )

    text = export(member, "markdown", group, essay)
    page = export(member, "packet", group, essay)
    rows = csv_rows(export(member, "csv", group, essay))

    assert text.index("## About the whole reading") < text.index("About the essay as a whole")
    assert text.index("About the essay as a whole") < text.index("## Introduction")
    assert "Orphaned" not in text
    assert page.index("About the essay as a whole") < page.index('class="packet__body"')
    assert rows[0]["body"] == "About the essay as a whole"
    assert (rows[0]["section"], rows[0]["paragraph"], rows[0]["quote"]) == ("", "", "")


def test_a_plain_text_body_is_shown_as_the_text_it_is():
    html = rendered("\n".join(plain("# not a heading\n<b>x</b> *y*\nsecond line\n\n- no list")))

    assert html == (
        "<p># not a heading<br />\n&lt;b&gt;x&lt;/b&gt; *y*<br />\nsecond line</p>\n"
        "<p>- no list</p>\n"
    )


# --- CSV --------------------------------------------------------------------------------------


def test_the_csv_has_a_row_per_annotation_and_reply(group, essay, member, discussion):
    at(discussion["question"], datetime.datetime(2025, 3, 4, 23, 30, 5, tzinfo=datetime.UTC))
    member.time_zone = "Asia/Tokyo"
    member.save(update_fields=["time_zone"])

    text = export(member, "csv", group, essay)

    header = next(csv.reader(io.StringIO(text[1:])))
    assert header[:10] == [
        "id", "parent", "author", "created", "section", "paragraph", "quote", "body", "tags",
        "motivation",
    ]  # fmt: skip
    rows = csv_rows(text)
    d = discussion
    assert [int(r["id"]) for r in rows] == [
        d["question"].pk, d["answer"].pk, d["follow"].pk, d["working"].pk, d["stalin"].pk
    ]  # fmt: skip
    question, answer, follow, working, stalin = rows
    assert question["created"] == "2025-03-04T23:30:05Z"  # UTC, whatever the viewer's zone
    assert question["parent"] == "" and question["quote"] == INTRO
    assert question["section"] == "Introduction" and question["paragraph"] == "1"
    assert question["body"] == "What *associations* come to mind?"  # the raw Markdown
    assert question["motivation"] == "questioning"
    assert answer["parent"] == str(d["question"].pk) and answer["quote"] == ""
    assert answer["section"] == "Introduction" and answer["author"] == "Maria Member"
    assert follow["parent"] == str(d["answer"].pk)
    assert working["tags"] == "class, definitions" and working["section"] == "Why the working class"
    assert working["paragraph"] == str(block_of(essay, WORKING).number)
    assert stalin["section"] == "Stalinism"


def test_the_csv_is_safe_from_spreadsheet_formulas(group, essay, member, facilitator):
    facilitator.display_name = "=cmd|' /C calc'!A0"
    facilitator.save(update_fields=["display_name"])
    note = create(group, essay, member, body='=HYPERLINK("http://evil.example","click")')
    for body in ("+1+2", "-3", "@SUM(A1)", "\tTab", "\rReturn"):
        reply = reply_to(note, facilitator, body="placeholder")
        Annotation.objects.filter(pk=reply.pk).update(body=body)  # the service strips spaces
    Tag.objects.create(annotation=note, name="=tag")

    rows = csv_rows(export(member, "csv", group, essay))

    assert rows[0]["body"] == '\'=HYPERLINK("http://evil.example","click")'
    assert rows[0]["tags"].startswith("'=tag")
    assert {row["author"] for row in rows[1:]} == {"'=cmd|' /C calc'!A0"}
    assert all(row["body"].startswith("'") for row in rows[1:])


# --- JSON-LD ----------------------------------------------------------------------------------


def test_the_jsonld_embeds_every_annotation_as_the_api_serves_it(group, essay, member, discussion):
    client = signed_in(member)
    own_private = create(group, essay, member, quote=QUOTE, body="Mine.", visibility="private")
    Annotation.objects.filter(pk=own_private.pk).update(plus_count=2)

    items = jsonld_items(text_of(client.get(url("jsonld", group, essay))))

    container = reverse("annotations:container", args=[group.slug, essay.slug])
    served = client.get(container + "?page=0").json()["items"]
    assert items == served  # the same annotations, in id order, byte for byte the same
    assert len(items) == 6


def test_the_jsonld_collection_names_itself_and_the_group(group, essay, member, discussion):
    data = json.loads(export(member, "jsonld", group, essay))

    assert data["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    assert data["@context"][-1].endswith("/ns/commonplace.jsonld")  # our own terms, defined
    assert data["id"] == "http://testserver" + url("jsonld", group, essay)
    assert data["label"] == "Tuesday Reading Circle: annotations on “What is socialism from below?”"
    assert data["first"]["partOf"] == data["id"]


# --- the permission table ---------------------------------------------------------------------


@pytest.fixture
def secrets(group, essay, facilitator, member, lee, discussion):
    """What the table keeps from some and shows to others."""
    fran_private = create(
        group, essay, facilitator, quote=QUOTE, body="Fran's private thought", visibility="private"
    )
    maria_private = create(
        group, essay, member, quote=QUOTE, body="Maria's private thought", visibility="private"
    )
    hidden = create(group, essay, lee, quote=QUOTE, body="Lee's rude remark")
    services.annotation_hide(annotation=hidden, by=facilitator, note="Be kind")
    gone = create(group, essay, lee, quote=WORKING, body="Lee's deleted note")
    reply_to(gone, member, body="Maria's reply to a deleted note")
    services.annotation_delete(annotation=gone)
    lonely = create(group, essay, member, quote=STALINISM, body="Maria's vanished note")
    services.annotation_delete(annotation=lonely)
    return {"fran_private": fran_private, "maria_private": maria_private, "hidden": hidden}


@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_a_members_export_has_her_private_notes_and_nobody_elses(
    name, group, essay, member, secrets
):
    text = export(member, name, group, essay)

    assert shows(name, text, "Maria's private thought")
    assert not shows(name, text, "Fran's private thought")


@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_hidden_notes_are_only_for_facilitators_and_their_authors(
    name, group, essay, member, facilitator, lee, secrets
):
    assert not shows(name, export(member, name, group, essay), "Lee's rude remark")
    assert shows(name, export(facilitator, name, group, essay), "Lee's rude remark")
    assert shows(name, export(lee, name, group, essay), "Lee's rude remark")


@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_a_deleted_note_keeps_its_place_above_replies_but_not_its_words(
    name, group, essay, member, secrets
):
    text = export(member, name, group, essay)

    assert shows(name, text, "Maria's reply to a deleted note")
    assert not shows(name, text, "Lee's deleted note")
    assert not shows(name, text, "Maria's vanished note")
    assert not shows(name, text, "Lee Lurker") or name in {"markdown", "packet"}


def test_a_deleted_placeholder_is_named_deleted_in_every_format(group, essay, member, secrets):
    assert "- **\\[deleted\\]**" in export(member, "markdown", group, essay)
    rows = csv_rows(export(member, "csv", group, essay))
    assert any(row["author"] == "[deleted]" and row["body"] == "" for row in rows)
    items = jsonld_items(export(member, "jsonld", group, essay))
    assert any(item.get("deleted") and item["creator"]["name"] == "[deleted]" for item in items)


@pytest.fixture
def peek(group, essay, facilitator, member):
    """Post before you peek on the block holding QUOTE, due in a week: Maria and Fran wrote
    there; Lee has not."""
    block = block_of(essay, QUOTE)
    Assignment.objects.create(
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
    create(group, essay, member, body="Maria's note in the range")
    create(group, essay, facilitator, body="Fran's note in the range")


@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_nothing_withheld_by_post_before_you_peek_is_exported(
    name, group, essay, member, facilitator, lee, peek
):
    withheld = export(lee, name, group, essay)
    assert not shows(name, withheld, "Maria's note in the range")
    assert not shows(name, withheld, "Fran's note in the range")
    assert shows(name, export(member, name, group, essay), "Fran's note in the range")


# --- hostile text -----------------------------------------------------------------------------

HOSTILE_NAME = "<script>alert(1)</script> *Eve* [x](http://evil.example)\n# Owned"
HOSTILE_BODY = "\n".join(
    [
        "Hello <img src=x onerror=alert(1)> and <b>bold</b> but <https://ok.example> is a link.",
        "# Not a heading",
        "Also not",
        "===",
        "[click](javascript:alert(1)) and [ref]",
        "",
        "[ref]: javascript:alert(2)",
        "<div onclick=alert(3)>block html</div>",
        "`<code>` stays code",
        "```",
        "unclosed <fence>",
    ]
)


@pytest.fixture
def hostile(group, essay, member, make_user):
    eve = make_user("eve", display_name=HOSTILE_NAME)
    Membership.objects.create(group=group, user=eve, role=Membership.Role.MEMBER)
    note = create(group, essay, eve, body=HOSTILE_BODY, tags=["evil"])
    Tag.objects.create(annotation=note, name="<b>t</b>|*x*")  # as if from older data
    reply_to(note, member, body="A reply after the unclosed fence")
    create(group, essay, member, quote=WORKING, body="The next thread")
    return eve


def test_hostile_text_in_the_markdown_stays_text(group, essay, member, hostile):
    html = rendered(export(member, "markdown", group, essay))

    for tag in ("<script", "<img", "<b>", "<div"):
        assert tag not in html, tag
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html  # percent-encoded: a relative address, inert
    assert re.findall(r"<h\d>[^<]*</h\d>", html) == [
        "<h1>What is socialism from below?</h1>",
        "<h2>Why the working class</h2>",
    ]  # the title and the one section with threads: none of the bodies' would-be headings
    assert '<a href="https://ok.example">https://ok.example</a>' in html
    assert "<code>&lt;code&gt;</code>" in html  # a code span is left as the author wrote it
    # the unclosed fence ends with its note: the reply after it is a note, not code
    assert "<p>A reply after the unclosed fence</p>" in html


def test_hostile_names_and_tags_come_out_escaped_in_the_markdown(group, essay, member, hostile):
    text = export(member, "markdown", group, essay)

    assert (
        "**\\<script\\>alert(1)\\</script\\> \\*Eve\\* \\[x\\](http://evil.example) \\# Owned**"
        in text
    )
    assert "tags: \\<b\\>t\\</b\\>\\|\\*x\\*, evil" in text


def test_hostile_text_in_the_packet_is_escaped(group, essay, member, hostile):
    page = export(member, "packet", group, essay)

    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>t</b>" not in page and "#&lt;b&gt;t&lt;/b&gt;|*x*" in page
    assert "<img" not in page and "onerror" not in page.replace("onerror=alert(1)&gt;", "")


def test_hostile_text_survives_the_csv_as_it_was_written(group, essay, member, hostile):
    rows = csv_rows(export(member, "csv", group, essay))

    eve = next(row for row in rows if row["body"].startswith("Hello"))
    assert eve["body"] == HOSTILE_BODY
    assert eve["author"] == HOSTILE_NAME
    assert eve["tags"] == "<b>t</b>|*x*, evil"


# --- the packet -------------------------------------------------------------------------------


class PacketBlocks(HTMLParser):
    """Each packet block's anchor and the text of the threads beside it."""

    def __init__(self):
        super().__init__()
        self.blocks: dict[str, str] = {}
        self.block = None
        self.in_threads = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        if "packet-block" in classes:
            self.block = attrs["id"]
            self.blocks[self.block] = ""
        if self.in_threads and tag == "aside":
            self.in_threads += 1
        if "packet-block__threads" in classes:
            self.in_threads = 1

    def handle_endtag(self, tag):
        if self.in_threads and tag == "aside":
            self.in_threads -= 1

    def handle_data(self, data):
        if self.in_threads and self.block:
            self.blocks[self.block] += data


def packet_blocks(page: str) -> dict[str, str]:
    parser = PacketBlocks()
    parser.feed(page)
    return parser.blocks


def test_the_packet_puts_every_visible_thread_beside_its_passage(
    group, essay, member, discussion, secrets
):
    page = export(member, "packet", group, essay)
    blocks = packet_blocks(page)

    beside = {
        block_of(essay, INTRO).anchor: ["What associations", "Mostly", "Why Sweden?"],
        block_of(essay, WORKING).anchor: ["Who counts as working class?", "#class"],
        block_of(essay, STALINISM).anchor: ["The ghost of Stalin."],
        block_of(essay, QUOTE).anchor: ["Maria's private thought", "only you"],
    }
    for anchor, words in beside.items():
        for word in words:
            assert word in blocks[anchor], (anchor, word)
    quiet = [a for a, threads in blocks.items() if threads.strip() and a not in beside]
    assert quiet == [] or all("Maria's reply to a deleted note" in blocks[a] for a in quiet)
    assert "Fran's private thought" not in page and "Lee's rude remark" not in page
    # the whole text is there, with its paragraph numbers
    assert len(blocks) == len(blocks_of(essay))
    assert 'aria-label="Paragraph 1">1</span>' in page


def test_the_packet_leaves_out_bare_highlights_and_can_leave_out_private_notes(
    group, essay, member, discussion, secrets
):
    create(group, essay, member, quote=QUOTE, body="", motivation="highlighting")

    page = export(member, "packet", group, essay, private="0")

    assert "Maria's private thought" not in page
    assert "Highlighted" not in page
    assert "Put my private notes back" in page


def test_the_packet_loads_its_print_stylesheet_and_no_inline_script(group, essay, member):
    page = export(member, "packet", group, essay)

    assert "css/packet.css" in page
    assert "<script>" not in page and "<style" not in page


# --- my notes ---------------------------------------------------------------------------------


@pytest.fixture
def two_groups(group, other_group, essay, member, facilitator, other_member):
    """Maria also reads with the Night Shift; she wrote in both groups."""
    Membership.objects.create(group=other_group, user=member, role=Membership.Role.MEMBER)
    notes = {
        "tuesday": create(group, essay, member, quote=WORKING, body="Maria on Tuesday"),
        "private": create(
            group, essay, member, quote=INTRO, body="Maria's own eyes only", visibility="private"
        ),
        "night": create(other_group, essay, member, quote=STALINISM, body="Maria at night"),
        "fran": create(group, essay, facilitator, quote=QUOTE, body="Fran's question"),
        "noor": create(other_group, essay, other_member, quote=INTRO, body="Noor's note"),
    }
    notes["reply"] = reply_to(notes["fran"], member, body="Maria answers Fran")
    gone = create(group, essay, member, quote=QUOTE, body="Maria's deleted words")
    services.annotation_delete(annotation=gone)
    return notes


def test_my_notes_hold_everything_i_wrote_and_nothing_else(member, two_groups):
    text = text_of(signed_in(member).get(reverse("exports:my_notes_markdown")))

    for words in (
        "Maria on Tuesday",
        "Maria's own eyes only",
        "Maria at night",
        "Maria answers Fran",
    ):
        assert words in text
    for words in ("Fran's question", "Noor's note", "Maria's deleted words"):
        assert words not in text
    # by group (by name), then reading
    assert text.index("## Night Shift Readers") < text.index("Maria at night")
    assert text.index("Maria at night") < text.index("## Tuesday Reading Circle")
    assert text.index("## Tuesday Reading Circle") < text.index("Maria on Tuesday")
    assert "### What is socialism from below?" in text
    assert "only you" in text
    assert "> " + QUOTE in text  # the passage my reply is about


def test_my_notes_leave_out_a_group_i_left(member, other_group, two_groups):
    Membership.objects.filter(group=other_group, user=member).delete()

    text = text_of(signed_in(member).get(reverse("exports:my_notes_markdown")))

    assert "Maria at night" not in text and "Night Shift Readers" not in text


def test_my_notes_as_csv_name_the_group_and_reading(member, two_groups):
    rows = csv_rows(text_of(signed_in(member).get(reverse("exports:my_notes_csv"))))

    assert {row["body"] for row in rows} == {
        "Maria on Tuesday", "Maria's own eyes only", "Maria at night", "Maria answers Fran"
    }  # fmt: skip
    night = next(row for row in rows if row["body"] == "Maria at night")
    assert (
        night["group"] == "Night Shift Readers"
        and night["reading"] == "What is socialism from below?"
    )
    private = next(row for row in rows if row["body"] == "Maria's own eyes only")
    assert private["visibility"] == "private"


def test_my_notes_as_jsonld_are_the_apis_annotations(member, group, essay, two_groups):
    client = signed_in(member)
    items = jsonld_items(text_of(client.get(reverse("exports:my_notes_jsonld"))))

    assert len(items) == 4
    reply = next(i for i in items if i["id"].endswith(f"/{two_groups['reply'].pk}"))
    api = client.get(
        reverse("annotations:annotation", args=[group.slug, essay.slug, two_groups["reply"].pk])
    ).json()
    del api["@context"]
    assert reply == api


def test_the_my_notes_page_counts_my_notes_by_group_and_links_the_downloads(member, two_groups):
    page = text_of(signed_in(member).get(reverse("exports:my_notes")))

    assert "Download all 4 notes" in page
    assert reverse("exports:my_notes_csv") in page
    assert "Night Shift Readers" in page and "1 note" in page


def test_the_account_pages_link_to_my_notes(member):
    page = text_of(signed_in(member).get(reverse("accounts:profile")))

    assert reverse("exports:my_notes") in page


# --- links from the group's pages -------------------------------------------------------------


@pytest.mark.parametrize("page", ["annotations:reading", "annotations:threads", "groups:detail"])
def test_the_group_reading_pages_link_to_the_downloads_and_the_packet(page, group, essay, member):
    args = [group.slug] if page == "groups:detail" else [group.slug, essay.slug]

    html = text_of(signed_in(member).get(reverse(page, args=args)))

    for name in GROUP_EXPORTS:
        assert url(name, group, essay) in html, name


# --- query counts -----------------------------------------------------------------------------

# session, user, the group reading with the membership, the annotations, their tags, the
# reading's sections and blocks (and the packet: the facilitators)
EXPORT_QUERIES = {"markdown": 7, "csv": 7, "jsonld": 7, "packet": 8}


@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (600, 900)])
@pytest.mark.parametrize("name", GROUP_EXPORTS)
def test_each_export_takes_a_fixed_number_of_queries(
    client, name, roots, replies, group, essay, member, facilitator, django_assert_num_queries
):
    bulk(group, essay, [member, facilitator], roots, replies)
    client.force_login(member)

    with django_assert_num_queries(EXPORT_QUERIES[name]):
        response = client.get(url(name, group, essay))

    assert response.status_code == 200


@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (600, 900)])
def test_a_withheld_members_export_takes_one_more_query_for_the_locks(
    client, roots, replies, group, essay, member, facilitator, lee, peek,
    django_assert_num_queries,
):  # fmt: skip
    bulk(group, essay, [member, facilitator], roots, replies)
    client.force_login(lee)

    with django_assert_num_queries(EXPORT_QUERIES["csv"] + 1):
        response = client.get(url("csv", group, essay))

    assert response.status_code == 200


# session, user, memberships, the annotations, their tags, the readings' sections and blocks
MY_NOTES_QUERIES = 7


@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (600, 900)])
@pytest.mark.parametrize("name", MY_NOTES)
def test_my_notes_take_a_fixed_number_of_queries(
    client, name, roots, replies, group, other_group, essay, member, facilitator,
    django_assert_num_queries,
):  # fmt: skip
    Membership.objects.create(group=other_group, user=member, role=Membership.Role.MEMBER)
    bulk(group, essay, [member, facilitator], roots, replies)
    bulk(other_group, essay, [member], roots, replies)
    client.force_login(member)

    with django_assert_num_queries(MY_NOTES_QUERIES):
        response = client.get(reverse(f"exports:{name}"))

    assert response.status_code == 200
