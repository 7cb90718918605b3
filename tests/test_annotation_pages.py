"""The server-rendered side of the annotation layer: the group reading page, threads and the
plain forms that work without JavaScript, with their walls and their query counts."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from annotations import services
from annotations.models import Annotation, Flag, PlusOne, Tag
from groups.models import Membership
from tests.annotating import QUOTE, create, layer_at, reply_to, span

SECOND_QUOTE = "When socialists talk about ordinary people"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- helpers ----------------------------------------------------------------------------------


def reading_url(group, reading) -> str:
    return reverse("annotations:reading", args=[group.slug, reading.slug])


def note_url(name: str, annotation) -> str:
    return reverse(
        f"annotations:{name}",
        args=[annotation.group.slug, annotation.reading.slug, annotation.pk],
    )


def thread_url(annotation) -> str:
    return note_url("thread", annotation)


def annotate_url(group, reading, anchor: str) -> str:
    return reverse("annotations:annotate", args=[group.slug, reading.slug, anchor])


def layer_data(client, group, reading, query: str = "") -> list[dict]:
    return layer_at(client, reading_url(group, reading) + query)


def layer_ids(client, group, reading, query: str = "") -> set[int]:
    return {item["id"] for item in layer_data(client, group, reading, query)}


MARGIN_COUNT = re.compile(
    r'<div class="margin[^"]*" data-block="([^"]+)">(?:(?!</div>).)*?'
    r'<a class="margin__count"[^>]*>(\d+) thread',
    re.DOTALL,
)


def margin_counts(page: str) -> dict[str, int]:
    """Paragraph anchor -> the thread count shown in its margin (paragraphs without none)."""
    return {anchor: int(count) for anchor, count in re.findall(MARGIN_COUNT, page)}


def blocks_of(reading) -> list:
    from readings.layout import reading_layout

    return [b for s in reading_layout(reading)["sections"] for b in s.block_list]


def block_of(reading, quote: str):
    """The block (paragraph) that holds the quote."""
    start, _ = span(reading, quote)
    return next(b for b in blocks_of(reading) if b.start <= start < b.start + len(b.text))


class Articles(HTMLParser):
    """The `<article class="note ...">` elements of a thread page: (id, classes)."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "article" and "note" in (attrs.get("class") or "").split():
            self.found.append((attrs["id"], set(attrs["class"].split())))

    @classmethod
    def of(cls, page: str) -> list[tuple[str, set[str]]]:
        parser = cls()
        parser.feed(page)
        return parser.found


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def as_member(client, member, group):
    client.force_login(member)
    return client


@pytest.fixture
def as_facilitator(client, facilitator, group):
    client.force_login(facilitator)
    return client


@pytest.fixture
def classmate(make_user, group):
    """A second ordinary member of the facilitator's group."""
    person = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=person, role=Membership.Role.MEMBER)
    return person


@pytest.fixture
def as_classmate(client, classmate):
    client.force_login(classmate)
    return client


@pytest.fixture
def comment(group, essay, member) -> Annotation:
    """Maria's comment on the essay."""
    return create(group, essay, member, body="The *heart* of it.", tags=["democracy"])


@pytest.fixture
def question(group, essay, member, facilitator) -> Annotation:
    """Maria's question, with Fran's reply."""
    asked = create(group, essay, member, quote=SECOND_QUOTE, body="Who?", motivation="questioning")
    reply_to(asked, facilitator, body="The workers.")
    return asked


def page(client, group, essay, query: str = "") -> str:
    response = client.get(reading_url(group, essay) + query)
    assert response.status_code == 200
    return response.content.decode()


# --- the group reading page ------------------------------------------------------------------


def test_the_page_names_its_annotation_service(as_member, group, essay):
    container = reverse("annotations:container", args=[group.slug, essay.slug])

    html = page(as_member, group, essay)

    assert f'<link rel="http://www.w3.org/ns/oa#annotationService" href="{container}">' in html


def test_the_page_fetches_the_layer_as_compact_json(as_member, group, essay, comment):
    start, end = span(essay, QUOTE)
    html = page(as_member, group, essay)
    layer_url = reverse("annotations:layer", args=[group.slug, essay.slug])

    (item,) = layer_data(as_member, group, essay)

    assert f'data-layer="{layer_url}"' in html
    assert 'id="layer-data"' not in html and "A fine point." not in html

    assert item["id"] == comment.pk
    assert (item["start"], item["end"]) == (start, end)
    assert item["motivation"] == "commenting"
    assert item["username"] == "maria" and item["mine"] is True
    assert item["tags"] == ["democracy"]
    assert item["private"] is False and item["hidden"] is False and item["deleted"] is False


def test_the_layer_holds_only_what_the_viewer_may_see(
    as_member, group, other_group, essay, member, facilitator, other_member
):
    fran_public = create(group, essay, facilitator, body="For everyone.")
    maria_private = create(group, essay, member, body="Just mine.", visibility="private")
    create(group, essay, facilitator, body="Fran's secret.", visibility="private")
    create(other_group, essay, other_member, body="Other group's.")

    html = page(as_member, group, essay)

    assert layer_ids(as_member, group, essay) == {fran_public.pk, maria_private.pk}
    assert "Fran's secret." not in html
    assert "Other group's." not in html


def test_a_hidden_annotation_leaves_the_layer_of_other_members(
    as_classmate, group, essay, comment, facilitator
):
    services.annotation_hide(annotation=comment, by=facilitator, note="Off topic")

    assert comment.pk not in layer_ids(as_classmate, group, essay)


def test_the_margin_counts_threads_per_paragraph(
    as_member, group, essay, member, facilitator, comment, question
):
    create(group, essay, facilitator, body="Second thread here.")
    create(group, essay, facilitator, body="")  # a bare highlight is not a thread
    first, second = block_of(essay, QUOTE), block_of(essay, SECOND_QUOTE)

    counts = margin_counts(page(as_member, group, essay))

    assert counts == {first.anchor: 2, second.anchor: 1}


def test_a_highlight_with_a_reply_counts_as_a_thread(as_member, group, essay, member, facilitator):
    highlight = create(group, essay, member, body="")
    reply_to(highlight, facilitator)

    counts = margin_counts(page(as_member, group, essay))

    assert counts == {block_of(essay, QUOTE).anchor: 1}


def test_a_passage_across_two_paragraphs_counts_in_both(as_member, group, essay, member):
    blocks = blocks_of(essay)
    first = block_of(essay, QUOTE)
    following = blocks[blocks.index(first) + 1]
    start, end = first.start + len(first.text) - 10, following.start + 10
    services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="Across.",
        start=start,
        end=end,
    )

    counts = margin_counts(page(as_member, group, essay))

    assert counts == {first.anchor: 1, following.anchor: 1}


@pytest.fixture
def mixed_layer(group, essay, member, facilitator, classmate):
    """One of each: whose, which tags, answered or not, highlight or comment."""
    answered = create(group, essay, member, body="Who?", motivation="questioning")
    reply = reply_to(answered, facilitator, body="The workers.")
    services.annotation_mark_answer(reply=reply, is_answer=True)
    return {
        "maria_comment": create(group, essay, member, body="Mine", tags=["marx"]),
        "maria_highlight": create(group, essay, member, body=""),
        "fran_comment": create(group, essay, facilitator, body="Fran's", tags=["lenin"]),
        "sam_question": create(group, essay, classmate, body="Why?", motivation="questioning"),
        "answered": answered,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"maria_comment", "maria_highlight", "fran_comment", "sam_question", "answered"}),
        ("?show=mine", {"maria_comment", "maria_highlight", "answered"}),
        ("?member=fran", {"fran_comment"}),
        ("?member=sam", {"sam_question"}),
        ("?tag=marx", {"maria_comment"}),
        ("?tag=MARX", {"maria_comment"}),
        ("?questions=unanswered", {"sam_question"}),
        ("?highlights=hide", {"maria_comment", "fran_comment", "sam_question", "answered"}),
        ("?show=mine&highlights=hide", {"maria_comment", "answered"}),
        ("?tag=nothing", set()),
    ],
)
def test_filters_change_what_is_drawn(as_member, group, essay, mixed_layer, query, expected):
    html = page(as_member, group, essay, query)

    assert layer_ids(as_member, group, essay, query) == {mixed_layer[name].pk for name in expected}
    layer_url = reverse("annotations:layer", args=[group.slug, essay.slug]) + query
    assert f'data-layer="{layer_url.replace("&", "&amp;")}"' in html


def test_an_active_filter_offers_to_clear_it(as_member, group, essay, mixed_layer):
    assert "Clear filters" in page(as_member, group, essay, "?show=mine")
    assert "Clear filters" not in page(as_member, group, essay)


def test_the_orphan_panel_lists_orphaned_annotations(as_member, group, essay, comment):
    Annotation.objects.filter(pk=comment.pk).update(anchoring=Annotation.Anchoring.ORPHAN)

    html = page(as_member, group, essay)

    assert 'id="orphans"' in html
    assert "1 orphaned" in html
    panel = html[html.index('id="orphans"') :]
    assert QUOTE in panel
    assert f'href="{thread_url(comment)}"' in panel
    assert comment.pk not in layer_ids(as_member, group, essay)


def test_there_is_no_orphan_panel_without_orphans(as_member, group, essay, comment):
    assert 'id="orphans"' not in page(as_member, group, essay)


def test_every_paragraph_offers_the_no_javascript_annotate_page(as_member, group, essay):
    html = page(as_member, group, essay)

    for block in blocks_of(essay):
        assert f'href="{annotate_url(group, essay, block.anchor)}"' in html


BLOCK_SHADOWED = (
    "Django's {% block %} tag puts its BlockNode in the context as `block`, shadowing the "
    "view's `block` (the paragraph) inside {% block content %}: block.anchor/.text/.number "
    "render as ''"
)


@pytest.mark.parametrize("which", ["paragraph", "all", "orphans"])
def test_the_thread_list_shows_the_threads_asked_for(
    as_member, group, essay, comment, question, which
):
    orphan = create(group, essay, comment.author, quote="full democracy", body="Lost.")
    Annotation.objects.filter(pk=orphan.pk).update(anchoring=Annotation.Anchoring.ORPHAN)
    block = block_of(essay, QUOTE)
    query = {"paragraph": f"?block={block.anchor}", "all": "", "orphans": "?orphans=1"}[which]
    expected = {"paragraph": {comment}, "all": {comment, question}, "orphans": {orphan}}[which]
    threads = reverse("annotations:threads", args=[group.slug, essay.slug])

    response = as_member.get(threads + query)

    html = response.content.decode()
    assert response.status_code == 200
    for annotation in {comment, question, orphan}:
        assert (f'href="{thread_url(annotation)}"' in html) == (annotation in expected)
    if which == "paragraph":
        assert block.text[:100] in html
        assert f'href="{annotate_url(group, essay, block.anchor)}"' in html


def test_the_annotate_page_names_and_quotes_its_paragraph(as_member, group, essay):
    block = block_of(essay, QUOTE)

    html = as_member.get(annotate_url(group, essay, block.anchor)).content.decode()

    assert f"<h1>Annotate paragraph {block.number}</h1>" in html
    assert f'<blockquote class="thread__quote">{block.text}</blockquote>' in html
    assert f'href="{reading_url(group, essay)}#{block.anchor}"' in html


def test_an_archived_groups_thread_list_still_renders(as_member, group, essay, comment):
    from groups.services import group_archive

    group_archive(group=group)

    response = as_member.get(reverse("annotations:threads", args=[group.slug, essay.slug]))

    assert response.status_code == 200
    assert f'href="{thread_url(comment)}"' in response.content.decode()


def test_signed_out_visitors_are_sent_to_log_in(client, group, essay):
    response = client.get(reading_url(group, essay))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- the thread page ----------------------------------------------------------------------------


def test_the_thread_page_shows_the_root_and_its_replies(as_member, comment, facilitator):
    reply = reply_to(comment, facilitator, body="A **strong** reply.")

    response = as_member.get(thread_url(comment))

    html = response.content.decode()
    assert response.status_code == 200
    assert QUOTE in html
    assert "<em>heart</em>" in html
    assert "<strong>strong</strong>" in html
    assert [i for i, _ in Articles.of(html)] == [f"a-{comment.pk}", f"a-{reply.pk}"]


def test_a_thread_outlives_its_authors_account(as_facilitator, group, essay, comment, member):
    member.delete()

    thread = as_facilitator.get(thread_url(comment))
    page(as_facilitator, group, essay)

    assert thread.status_code == 200
    assert "former member" in thread.content.decode()
    assert [item["author"] for item in layer_data(as_facilitator, group, essay)] == [
        "former member"
    ]


def test_a_replys_own_url_redirects_to_its_thread(as_member, comment, facilitator):
    reply = reply_to(comment, facilitator)

    response = as_member.get(thread_url(reply))

    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(comment)}#a-{reply.pk}"


def test_replies_indent_at_most_three_levels(as_member, comment, member, facilitator):
    parent, chain = comment, []
    for depth in range(5):
        parent = reply_to(parent, facilitator if depth % 2 else member, body=f"Level {depth + 1}")
        chain.append(parent)

    articles = Articles.of(as_member.get(thread_url(comment)).content.decode())

    depths = [next(c for c in classes if c.startswith("note--depth")) for _, classes in articles]
    assert depths == [
        "note--depth0",
        "note--depth1",
        "note--depth2",
        "note--depth3",
        "note--depth3",
        "note--depth3",
    ]


def test_the_reply_form_works_without_javascript(as_member, comment):
    html = as_member.get(thread_url(comment)).content.decode()
    action = note_url("reply", comment)
    assert f'<form method="post" action="{action}"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert '<textarea id="reply-' in html and 'name="body"' in html

    response = as_member.post(action, {"body": "Posted without JavaScript."})

    reply = Annotation.objects.get(body="Posted without JavaScript.")
    assert response.status_code == 302
    assert response["Location"] == f"{thread_url(comment)}#a-{reply.pk}"
    assert (reply.parent, reply.root, reply.motivation) == (comment, comment, "replying")


def test_replying_to_a_reply_nests_it(as_member, comment, facilitator):
    first = reply_to(comment, facilitator)

    as_member.post(note_url("reply", comment), {"body": "Nested.", "parent": first.pk})

    nested = Annotation.objects.get(body="Nested.")
    assert (nested.parent, nested.root) == (first, comment)


def test_the_reply_to_link_fills_the_parent_without_javascript(as_member, comment, facilitator):
    first = reply_to(comment, facilitator)

    html = as_member.get(f"{thread_url(comment)}?reply_to={first.pk}").content.decode()

    assert f'name="parent" value="{first.pk}"' in html
    assert "Replying to Fran Facilitator" in html


def test_an_empty_reply_is_refused_on_the_page(as_member, comment):
    response = as_member.post(note_url("reply", comment), {"body": "  "})

    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    assert Annotation.objects.count() == 1


def test_the_thread_fragment_is_just_the_thread(as_member, comment):
    html = as_member.get(f"{thread_url(comment)}?fragment=1").content.decode()

    assert "<html" not in html
    assert f'data-thread-root="{comment.pk}"' in html


# --- edit, delete, +1, flag, hide, answer ------------------------------------------------------


def test_the_author_edits_an_annotation(as_member, comment):
    form = as_member.get(note_url("edit", comment))
    assert form.status_code == 200
    assert "The *heart* of it." in form.content.decode()

    response = as_member.post(
        note_url("edit", comment),
        {"body": "A *better* point.", "tags": "democracy, work", "kind": "commenting"},
    )

    assert response.status_code == 302
    assert response["Location"] == thread_url(comment)
    comment.refresh_from_db()
    assert comment.body == "A *better* point."
    assert comment.edited_at is not None
    assert sorted(comment.tags.values_list("name", flat=True)) == ["democracy", "work"]
    assert "(edited)" in as_member.get(thread_url(comment)).content.decode()


def test_the_author_edits_a_reply(client, comment, facilitator):
    reply = reply_to(comment, facilitator, body="First go.")
    client.force_login(facilitator)

    response = client.post(note_url("edit", reply), {"body": "Second go."})

    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.body == "Second go."
    assert reply.motivation == "replying"


def test_an_unedited_annotation_is_not_marked_edited(as_member, comment):
    assert "(edited)" not in as_member.get(thread_url(comment)).content.decode()


def test_an_invalid_edit_is_shown_on_the_form(as_member, comment):
    response = as_member.post(note_url("edit", comment), {"body": "", "kind": "commenting"})

    assert response.status_code == 400
    comment.refresh_from_db()
    assert comment.body == "The *heart* of it."


def test_another_member_cannot_edit(as_facilitator, comment):
    assert as_facilitator.get(note_url("edit", comment)).status_code == 403
    response = as_facilitator.post(note_url("edit", comment), {"body": "Taken over"})

    assert response.status_code == 403
    comment.refresh_from_db()
    assert comment.body == "The *heart* of it."


def test_the_author_deletes_an_annotation(as_member, group, essay, comment):
    response = as_member.post(note_url("delete", comment), {"confirmed": "1"})

    assert response.status_code == 302
    assert response["Location"] == reading_url(group, essay)
    assert not Annotation.objects.filter(pk=comment.pk).exists()


def test_deleting_an_annotation_with_replies_shows_deleted(as_member, comment, facilitator):
    reply = reply_to(comment, facilitator, body="Still here.")

    response = as_member.post(note_url("delete", comment), {"confirmed": "1"})

    assert response.status_code == 302
    html = as_member.get(thread_url(comment)).content.decode()
    assert "[deleted]" in html
    assert "The <em>heart</em> of it." not in html
    assert "Still here." in html
    assert Annotation.objects.filter(pk=reply.pk).exists()


def test_another_member_cannot_delete(as_facilitator, comment):
    response = as_facilitator.post(note_url("delete", comment))

    assert response.status_code == 403
    assert Annotation.objects.filter(pk=comment.pk).exists()


def test_plus_one_toggles_from_the_page(as_facilitator, comment, facilitator):
    response = as_facilitator.post(note_url("plus_one", comment))

    assert response.status_code == 302
    assert PlusOne.objects.filter(annotation=comment, user=facilitator).exists()
    assert 'aria-pressed="true"' in as_facilitator.get(thread_url(comment)).content.decode()

    as_facilitator.post(note_url("plus_one", comment))

    assert not PlusOne.objects.exists()


def test_a_member_flags_an_annotation_and_facilitators_see_it(
    client, comment, classmate, facilitator
):
    client.force_login(classmate)

    response = client.post(note_url("flag", comment), {"reason": "Seems off topic"})

    assert response.status_code == 302
    assert Flag.objects.get().reason == "Seems off topic"
    client.force_login(facilitator)
    assert "Flagged by Sam Classmate" in client.get(thread_url(comment)).content.decode()


def test_a_flag_without_a_reason_is_not_stored(as_classmate, comment):
    as_classmate.post(note_url("flag", comment), {"reason": ""})

    assert not Flag.objects.exists()


def test_a_facilitator_hides_an_annotation_with_a_note(as_facilitator, comment, facilitator):
    response = as_facilitator.post(note_url("hide", comment), {"note": "Please stay on topic."})

    assert response.status_code == 302
    comment.refresh_from_db()
    assert comment.is_hidden
    assert (comment.hidden_by, comment.hidden_note) == (facilitator, "Please stay on topic.")


def test_the_author_sees_why_their_annotation_was_hidden(as_member, comment, facilitator):
    services.annotation_hide(annotation=comment, by=facilitator, note="Please stay on topic.")

    html = as_member.get(thread_url(comment)).content.decode()

    assert "Please stay on topic." in html
    assert "note--hidden" in html


def test_other_members_cannot_open_a_hidden_thread(as_classmate, comment, facilitator):
    services.annotation_hide(annotation=comment, by=facilitator, note="Off topic")

    assert as_classmate.get(thread_url(comment)).status_code == 404


def test_a_facilitator_shows_a_hidden_annotation_again(as_facilitator, comment, facilitator):
    services.annotation_hide(annotation=comment, by=facilitator, note="Off topic")

    as_facilitator.post(note_url("hide", comment), {"action": "unhide"})

    comment.refresh_from_db()
    assert not comment.is_hidden


def test_hiding_needs_a_note(as_facilitator, comment):
    as_facilitator.post(note_url("hide", comment), {"note": ""})

    comment.refresh_from_db()
    assert not comment.is_hidden


def test_a_member_cannot_hide(as_classmate, comment):
    response = as_classmate.post(note_url("hide", comment), {"note": "I don't like it"})

    assert response.status_code == 403
    comment.refresh_from_db()
    assert not comment.is_hidden


@pytest.mark.parametrize("who", ["member", "facilitator"])
def test_the_asker_or_a_facilitator_marks_the_answer(client, request, question, who):
    client.force_login(request.getfixturevalue(who))
    reply = question.thread.get()

    response = client.post(note_url("answer", reply), {"value": "1"})

    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.is_answer
    assert "note--answer" in client.get(thread_url(question)).content.decode()

    client.post(note_url("answer", reply), {"value": "0"})

    reply.refresh_from_db()
    assert not reply.is_answer


def test_another_member_cannot_mark_the_answer(as_classmate, question):
    reply = question.thread.get()

    response = as_classmate.post(note_url("answer", reply), {"value": "1"})

    assert response.status_code == 403
    reply.refresh_from_db()
    assert not reply.is_answer


def test_only_the_asker_and_facilitators_see_the_answer_button(client, question, classmate):
    client.force_login(classmate)

    assert "Mark as the answer" not in client.get(thread_url(question)).content.decode()


# --- annotating a paragraph without a mouse ------------------------------------------------------


def test_the_annotate_page_offers_the_paragraph(as_member, group, essay):
    block = block_of(essay, QUOTE)

    response = as_member.get(annotate_url(group, essay, block.anchor))

    assert response.status_code == 200
    assert block.text in response.content.decode()


def test_annotating_a_quote_inside_the_paragraph_creates_an_annotation(as_member, group, essay):
    block = block_of(essay, QUOTE)

    response = as_member.post(
        annotate_url(group, essay, block.anchor),
        {
            "quote": QUOTE,
            "kind": "commenting",
            "body": "By keyboard.",
            "tags": "a, b",
            "visibility": "group",
        },
    )

    annotation = Annotation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == thread_url(annotation)
    assert (annotation.start, annotation.end) == span(essay, QUOTE)
    assert annotation.exact == QUOTE
    assert annotation.body == "By keyboard."


def test_a_highlight_made_by_keyboard_returns_to_the_paragraph(as_member, group, essay):
    block = block_of(essay, QUOTE)

    response = as_member.post(
        annotate_url(group, essay, block.anchor),
        {"quote": QUOTE, "kind": "highlighting", "body": "", "visibility": "group"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"{reading_url(group, essay)}#{block.anchor}"
    assert Annotation.objects.get().motivation == "highlighting"


def test_a_quote_not_in_the_paragraph_is_refused(as_member, group, essay):
    block = block_of(essay, QUOTE)

    response = as_member.post(
        annotate_url(group, essay, block.anchor),
        {
            "quote": SECOND_QUOTE,
            "kind": "commenting",
            "body": "Wrong paragraph.",
            "visibility": "group",
        },
    )

    assert response.status_code == 400
    assert "Those words are not in this paragraph" in response.content.decode()
    assert not Annotation.objects.exists()


def test_an_unknown_paragraph_gives_404(as_member, group, essay):
    assert as_member.get(annotate_url(group, essay, "p-00000000")).status_code == 404


# --- walls ---------------------------------------------------------------------------------------

MUTATING = ["reply", "delete", "plus_one", "answer", "flag", "hide"]


@pytest.mark.parametrize("name", MUTATING)
def test_every_mutating_view_rejects_get(as_member, question, name):
    target = question.thread.get() if name == "answer" else question

    response = as_member.get(note_url(name, target))

    assert response.status_code == 405


@pytest.mark.parametrize("name", ["edit", "annotate"])
def test_the_form_pages_reject_other_methods(as_member, group, essay, comment, name):
    url = (
        annotate_url(group, essay, block_of(essay, QUOTE).anchor)
        if name == "annotate"
        else note_url(name, comment)
    )

    assert as_member.put(url).status_code == 405
    assert as_member.delete(url).status_code == 405


@pytest.fixture
def walled(group, essay, question):
    """Every annotation page and form of the group, with what an intruder would post."""
    reply = question.thread.get()
    return [
        ("get", thread_url(question), {}),
        ("get", reverse("annotations:threads", args=[group.slug, essay.slug]), {}),
        ("get", reading_url(group, essay), {}),
        ("get", note_url("edit", question), {}),
        ("post", note_url("edit", question), {"body": "Intruder", "kind": "commenting"}),
        ("post", note_url("reply", question), {"body": "Intruder"}),
        ("post", note_url("delete", reply), {}),
        ("post", note_url("plus_one", question), {}),
        ("post", note_url("answer", reply), {"value": "1"}),
        ("post", note_url("flag", question), {"reason": "Intruder"}),
        ("post", note_url("hide", question), {"note": "Intruder"}),
        ("get", annotate_url(group, essay, block_of(essay, QUOTE).anchor), {}),
        (
            "post",
            annotate_url(group, essay, block_of(essay, QUOTE).anchor),
            {"quote": QUOTE, "kind": "commenting", "body": "Intruder", "visibility": "group"},
        ),
    ]


def snapshot():
    return (
        list(Annotation.objects.order_by("pk").values()),
        list(PlusOne.objects.values()),
        list(Flag.objects.values()),
        list(Tag.objects.values()),
    )


@pytest.mark.parametrize("who", ["outsider", "other_member"])
def test_people_outside_the_group_get_404_for_everything(client, request, walled, who):
    client.force_login(request.getfixturevalue(who))
    before = snapshot()

    for method, url, data in walled:
        response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)
        assert "Tuesday Reading Circle" not in response.content.decode()

    assert snapshot() == before


def test_a_signed_out_visitor_is_sent_to_log_in_for_everything(client, walled):
    before = snapshot()

    for method, url, data in walled:
        response = getattr(client, method)(url, data)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/")

    assert snapshot() == before


# --- query counts ---------------------------------------------------------------------------------

# Cold (nothing cached; the cache is in memory in the tests, so its reads are no queries):
# session, user, the group reading with its group, reading and the person's membership; the
# visit (one UPDATE, at most once a minute); the article's sections and blocks; the sections
# marked read; members; the class's rows and their tags (and, for a facilitator, open flags);
# the person's own private and hidden rows; the assignments; meeting mode (meetings/live.py:
# whether it runs and who leads it, whether a meeting of the group is on, in one query). A
# facilitator's heat map: one query more.
READING_PAGE_QUERIES = {"member": 13, "facilitator": 15}
LAYER_QUERIES = {"member": 6, "facilitator": 6}
# session, user, group reading with membership, the annotation, the thread, tags, +1 counts,
# the viewer's +1s, facilitator ids; and what apps above add under the root (annotations/
# extras.py): meetings' raises and "discussed on", one query; notifications' "Mute thread",
# one query
THREAD_PAGE_QUERIES = 10


def bulk_layer(group, essay, authors, roots: int, replies: int) -> list[Annotation]:
    """`roots` annotations over the essay's words and `replies` replies, written in bulk."""
    text = essay.canonical_text()
    words = list(re.finditer(r"\w+(?:\W+\w+){0,3}", text))
    kinds = ["commenting", "questioning", "highlighting"]
    rows = []
    for i in range(roots):
        word = words[(i * 7) % len(words)]
        start, end = word.span()
        rows.append(
            Annotation(
                group=group,
                reading=essay,
                author=authors[i % len(authors)],
                motivation=kinds[i % 3],
                body="" if kinds[i % 3] == "highlighting" else f"Note {i}",
                body_html="" if kinds[i % 3] == "highlighting" else f"<p>Note {i}</p>",
                start=start,
                end=end,
                exact=word.group(),
                prefix=text[max(0, start - 32) : start],
                suffix=text[end : end + 32],
            )
        )
    made = Annotation.objects.bulk_create(rows, batch_size=500)
    Tag.objects.bulk_create(
        [Tag(annotation=a, name=f"tag{i % 5}") for i, a in enumerate(made) if i % 4 == 0],
        batch_size=500,
    )
    first_level = replies // 2
    level_one = Annotation.objects.bulk_create(
        [
            Annotation(
                group=group,
                reading=essay,
                author=authors[(i + 1) % len(authors)],
                motivation="replying",
                body=f"Reply {i}",
                body_html=f"<p>Reply {i}</p>",
                parent=made[i % len(made)],
                root=made[i % len(made)],
            )
            for i in range(first_level)
        ],
        batch_size=500,
    )
    Annotation.objects.bulk_create(
        [
            Annotation(
                group=group,
                reading=essay,
                author=authors[i % len(authors)],
                motivation="replying",
                body=f"Deeper {i}",
                body_html=f"<p>Deeper {i}</p>",
                parent=level_one[i % len(level_one)],
                root=level_one[i % len(level_one)].root,
            )
            for i in range(replies - first_level)
        ],
        batch_size=500,
    )
    return made


@pytest.mark.parametrize("viewer", ["member", "facilitator"])
@pytest.mark.parametrize(("roots", "replies"), [(10, 0), (2_000, 5_000)])
def test_the_reading_page_takes_a_fixed_number_of_queries(
    client,
    request,
    group,
    essay,
    member,
    facilitator,
    roots,
    replies,
    viewer,
    django_assert_num_queries,
):
    bulk_layer(group, essay, [member, facilitator], roots, replies)
    client.force_login(request.getfixturevalue(viewer))

    with django_assert_num_queries(READING_PAGE_QUERIES[viewer]):
        html = page(client, group, essay)

    assert len(html) < 150_000
    with django_assert_num_queries(LAYER_QUERIES[viewer]):
        assert len(layer_data(client, group, essay)) == roots


@pytest.mark.parametrize("replies", [1, 50])
def test_the_thread_page_takes_a_fixed_number_of_queries(
    as_member, comment, member, facilitator, replies, django_assert_num_queries
):
    parent = comment
    for i in range(replies):
        parent = reply_to(parent if i % 3 else comment, facilitator if i % 2 else member)
        services.annotation_plus_one(annotation=parent, user=member)

    with django_assert_num_queries(THREAD_PAGE_QUERIES):
        response = as_member.get(thread_url(comment))

    assert len(Articles.of(response.content.decode())) == replies + 1
