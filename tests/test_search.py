"""Search in a group (search/): the words, the filters, the permission table, ranking and the
websearch syntax on PostgreSQL, the triggers that keep the index current, pages, marking that
never trusts a note's words, a pinned query count, and the walls.

Words no essay passage holds ("quokka", "wombat", ...) keep each test's matches to the notes
it made; a test about passages uses the essay's own words.
"""

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from annotations import services
from annotations.models import Annotation
from assignments.models import Assignment
from groups.models import GroupReading, Membership
from readings.services import reading_import
from search import marking
from search.models import SearchEntry
from search.syntax import MAX_LENGTH, MAX_TERMS, SearchSyntaxError, parse
from tests.annotating import QUOTE, create, reply_to
from tests.test_annotation_pages import block_of

POSTGRES = connection.vendor == "postgresql"
needs_postgres = pytest.mark.skipif(
    not POSTGRES,
    reason="full-text search (ranking, websearch syntax, stemming, the triggers) is "
    "PostgreSQL's; SQLite matches plain substrings",
)

OUTSIDE = "When socialists talk about ordinary people"  # same section as QUOTE, another block
STALINISM = "Firstly, the Soviet Union"  # in the section "Stalinism"


# --- helpers ------------------------------------------------------------------------------------


class Results(HTMLParser):
    """The result ids on a results page, in order, and its error messages."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: list[int] = []
        self.errors: list[str] = []
        self._in_error = 0
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and "data-result" in attrs:
            self.ids.append(int(attrs["data-result"]))
        if tag == "ul" and "errorlist" in (attrs.get("class") or ""):
            self._in_error += 1

    def handle_endtag(self, tag):
        if tag == "ul" and self._in_error:
            self._in_error -= 1

    def handle_data(self, data):
        if self._in_error and data.strip():
            self.errors.append(data.strip())


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def search_url(group) -> str:
    return reverse("search:results", args=[group.slug])


def found(client, group, **params) -> list[int]:
    response = client.get(search_url(group), params)
    assert response.status_code == 200, response.status_code
    return Results(response.content.decode()).ids


def errors(client, group, **params) -> list[str]:
    response = client.get(search_url(group), params)
    assert response.status_code == 200, response.status_code
    return Results(response.content.decode()).errors


@pytest.fixture
def maria(member):
    return signed_in(member)


@pytest.fixture
def fran(facilitator):
    return signed_in(facilitator)


# --- the walls ----------------------------------------------------------------------------------


def test_a_signed_out_visitor_is_sent_to_log_in(client, group):
    response = client.get(search_url(group), {"q": "quokka"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
def test_a_non_member_gets_404(request, group, other_group, essay, member, persona):
    create(group, essay, member, body="A quokka in the margin.")
    client = signed_in(request.getfixturevalue(persona))
    response = client.get(search_url(group), {"q": "quokka"})
    assert response.status_code == 404
    assert "quokka" not in response.content.decode()


def test_it_rejects_post(maria, group):
    assert maria.post(search_url(group), {"q": "quokka"}).status_code == 405


def test_the_empty_page_says_what_search_does(maria, group):
    page = maria.get(search_url(group)).content.decode()
    assert "Type a few words" in page
    assert Results(page).ids == []


# --- what is found ------------------------------------------------------------------------------


def test_it_finds_words_in_a_note(maria, group, essay, member):
    note = create(group, essay, member, body="A quokka in the margin.")
    create(group, essay, member, quote=OUTSIDE, body="Nothing to see.")
    assert found(maria, group, q="quokka") == [note.pk]
    assert found(maria, group, q="QUOKKA") == [note.pk]


def test_it_finds_words_in_the_quoted_passage(maria, group, essay, member):
    highlight = create(group, essay, member, body="")  # a bare highlight of QUOTE
    assert highlight.motivation == "highlighting"
    assert found(maria, group, q="premise") == [highlight.pk]


def test_it_finds_a_reply_and_shows_its_threads_passage(maria, group, essay, member, facilitator):
    root = create(group, essay, facilitator, body="What do we make of this?")
    reply = reply_to(root, member, body="A wombat would disagree.")
    response = maria.get(search_url(group), {"q": "wombat"})
    assert Results(response.content.decode()).ids == [reply.pk]
    page = response.content.decode()
    assert "In the thread on" in page
    assert "The premise of socialism is simple" in page  # the root's passage
    url = reverse("annotations:reading", args=[group.slug, essay.slug]) + f"#a-{reply.pk}"
    assert f'href="{url}"' in page


def test_it_finds_tags(maria, group, essay, member):
    tagged = create(group, essay, member, body="See the tag.", tags=["marsupials"])
    assert found(maria, group, q="marsupials") == [tagged.pk]


def test_each_result_opens_its_thread_on_the_reading_page(maria, group, essay, member):
    note = create(group, essay, member, body="A quokka.")
    page = maria.get(search_url(group), {"q": "quokka"}).content.decode()
    url = reverse("annotations:reading", args=[group.slug, essay.slug]) + f"#a-{note.pk}"
    assert f'href="{url}"' in page
    number = block_of(essay, QUOTE).number
    assert f"Why the working class · ¶ {number}" in page  # its section and paragraph


# --- the filters --------------------------------------------------------------------------------


def test_the_member_filter_finds_only_their_notes(maria, group, essay, member, facilitator):
    mine = create(group, essay, member, body="Quokka by Maria.")
    create(group, essay, facilitator, quote=OUTSIDE, body="Quokka by Fran.")
    assert found(maria, group, q="quokka", member=member.username) == [mine.pk]


def test_the_tag_filter_finds_tagged_threads_and_their_replies(
    maria, group, essay, member, facilitator
):
    tagged = create(group, essay, member, body="Quokka here.", tags=["animals"])
    reply = reply_to(tagged, facilitator, body="And a quokka reply.")
    create(group, essay, member, quote=OUTSIDE, body="Quokka untagged.")
    assert set(found(maria, group, q="quokka", tag="animals")) == {tagged.pk, reply.pk}
    assert set(found(maria, group, q="quokka", tag="#Animals")) == {tagged.pk, reply.pk}


def test_a_tag_is_found_whatever_its_case(maria, group, essay, member):
    tagged = create(group, essay, member, body="Luxemburg.", tags=["Rosa Luxemburg"])
    assert found(maria, group, tag="rosa luxemburg") == [tagged.pk]
    assert found(maria, group, q="rosa") == [tagged.pk]


def test_a_filter_alone_lists_notes_newest_first(maria, group, essay, member):
    older = create(group, essay, member, body="First.", tags=["animals"])
    newer = create(group, essay, member, quote=OUTSIDE, body="Second.", tags=["animals"])
    create(group, essay, member, quote=STALINISM, body="Untagged.")
    assert found(maria, group, tag="animals") == [newer.pk, older.pk]


def test_the_section_filter_finds_notes_on_passages_in_that_section(
    maria, group, essay, member, facilitator
):
    inside = create(group, essay, member, body="Quokka in the working class.")
    reply = reply_to(inside, facilitator, body="A quokka reply.")
    create(group, essay, member, quote=STALINISM, body="Quokka in Stalinism.")
    section = essay.sections.get(heading="Why the working class")
    assert block_of(essay, QUOTE).section_id == section.pk
    assert set(found(maria, group, q="quokka", section=section.pk)) == {inside.pk, reply.pk}
    stalinism = essay.sections.get(heading="Stalinism")
    assert len(found(maria, group, q="quokka", section=stalinism.pk)) == 1


def test_questions_only_finds_question_threads(maria, group, essay, member, facilitator):
    question = create(group, essay, member, body="A quokka question?", motivation="questioning")
    reply = reply_to(question, facilitator, body="A quokka answer.")
    create(group, essay, member, quote=OUTSIDE, body="A quokka comment.")
    assert set(found(maria, group, q="quokka", questions="on")) == {question.pk, reply.pk}


def test_unanswered_finds_questions_without_an_answer(maria, group, essay, member, facilitator):
    answered = create(group, essay, member, body="Quokka one?", motivation="questioning")
    answer = reply_to(answered, facilitator, body="This answers it.")
    services.annotation_mark_answer(reply=answer, is_answer=True, by=member)
    waiting = create(
        group, essay, member, quote=OUTSIDE, body="Quokka two?", motivation="questioning"
    )
    reply_to(waiting, facilitator, body="Not an answer.")
    create(group, essay, member, quote=STALINISM, body="Quokka comment.")
    assert found(maria, group, q="quokka", unanswered="on") == [waiting.pk]
    assert set(found(maria, group, q="quokka", questions="on")) == {answered.pk, waiting.pk}


def test_the_date_range_is_in_the_viewers_time_zone(maria, group, essay, member):
    member.time_zone = "Pacific/Auckland"  # UTC+13 in March
    member.save(update_fields=["time_zone"])
    note = create(group, essay, member, body="A quokka at dawn.")
    # 20:00 UTC on 1 March is 09:00 on 2 March in Auckland.
    Annotation.objects.filter(pk=note.pk).update(created_at=datetime(2026, 3, 1, 20, tzinfo=UTC))
    day = {"q": "quokka"}
    assert found(maria, group, **day, **{"from": "2026-03-02", "to": "2026-03-02"}) == [note.pk]
    assert found(maria, group, **day, **{"from": "2026-03-01", "to": "2026-03-01"}) == []
    assert found(maria, group, **day, **{"from": "2026-03-02"}) == [note.pk]
    assert found(maria, group, **day, **{"to": "2026-03-01"}) == []


def test_the_reading_filter_keeps_to_one_reading(maria, group, essay, member, facilitator):
    second = reading_import(
        data=b"A second text about marsupial politics.\n",
        filename="second.txt",
        slug="second-text",
        overrides={"title": "A Second Text"},
    )
    GroupReading.objects.create(group=group, reading=second, added_by=facilitator)
    on_essay = create(group, essay, member, body="Quokka on the essay.")
    on_second = create(group, second, member, quote="marsupial politics", body="Quokka too.")
    assert set(found(maria, group, q="quokka")) == {on_essay.pk, on_second.pk}
    assert found(maria, group, q="quokka", reading=second.slug) == [on_second.pk]
    assert found(maria, group, q="quokka", reading=essay.slug) == [on_essay.pk]
    # a section of one reading with the other reading chosen says so
    section = essay.sections.get(heading="Stalinism")
    assert errors(maria, group, q="quokka", reading=second.slug, section=section.pk) == [
        "That section is in another reading."
    ]


# --- what may be found: the permission table ---------------------------------------------------


def test_a_private_note_is_found_only_by_its_author(group, essay, member, facilitator):
    private = create(group, essay, member, body="My private quokka.", visibility="private")
    assert found(signed_in(member), group, q="quokka") == [private.pk]
    assert found(signed_in(facilitator), group, q="quokka") == []


def test_a_hidden_note_is_found_by_facilitators_and_its_author(
    make_user, group, essay, member, facilitator
):
    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    note = create(group, essay, member, body="A rude quokka.")
    services.annotation_hide(annotation=note, by=facilitator, note="Be kind.")
    assert found(signed_in(lee), group, q="quokka") == []
    assert found(signed_in(member), group, q="quokka") == [note.pk]
    assert found(signed_in(facilitator), group, q="quokka") == [note.pk]


def test_a_reply_under_a_hidden_root_is_not_found_by_members(
    make_user, group, essay, member, facilitator
):
    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    root = create(group, essay, member, body="Hidden soon.")
    reply = reply_to(root, facilitator, body="A quokka reply.")
    services.annotation_hide(annotation=root, by=facilitator, note="Off topic.")
    assert found(signed_in(lee), group, q="quokka") == []
    assert found(signed_in(facilitator), group, q="quokka") == [reply.pk]


def test_nothing_behind_post_before_you_peek_is_found(make_user, group, essay, member, facilitator):
    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
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
    locked = create(group, essay, member, body="Quokka in the range.")
    reply = reply_to(locked, facilitator, body="A quokka reply in the range.")
    outside = create(group, essay, member, quote=STALINISM, body="Quokka outside the range.")
    lee_client = signed_in(lee)
    assert found(lee_client, group, q="quokka") == [outside.pk]
    assert found(signed_in(facilitator), group, q="quokka") != [outside.pk]
    # once Lee posts in the range, everything there is found
    create(group, essay, lee, quote="full democracy", body="My own view.")
    assert set(found(lee_client, group, q="quokka")) == {locked.pk, reply.pk, outside.pk}


def test_deleted_notes_are_never_found(maria, group, essay, member, facilitator):
    gone = create(group, essay, member, body="A deleted quokka.")
    services.annotation_delete(annotation=gone)
    placeholder = create(group, essay, member, quote=OUTSIDE, body="A quokka with replies.")
    reply = reply_to(placeholder, facilitator, body="The quokka reply stays.")
    services.annotation_delete(annotation=placeholder)  # leaves "[deleted]" and the reply
    assert found(maria, group, q="quokka") == [reply.pk]
    assert found(signed_in(facilitator), group, q="quokka") == [reply.pk]


def test_another_groups_notes_are_never_found(
    maria, group, other_group, essay, member, other_member
):
    theirs = create(other_group, essay, other_member, body="Their quokka.")
    ours = create(group, essay, member, quote=OUTSIDE, body="Our quokka.")
    assert found(maria, group, q="quokka") == [ours.pk]
    assert found(signed_in(other_member), other_group, q="quokka") == [theirs.pk]


# --- PostgreSQL: ranking and the websearch syntax ------------------------------------------------


@needs_postgres
def test_words_in_a_note_rank_above_words_in_its_passage(maria, group, essay, member):
    in_body = create(group, essay, member, quote=OUTSIDE, body="The premise is what matters.")
    in_passage = create(group, essay, member, body="Something else entirely.")  # quotes QUOTE
    assert found(maria, group, q="premise") == [in_body.pk, in_passage.pk]


@needs_postgres
def test_more_of_the_words_rank_higher_and_ties_go_newest_first(maria, group, essay, member):
    once = create(group, essay, member, body="A quokka.")
    twice = create(group, essay, member, quote=OUTSIDE, body="A quokka and another quokka.")
    also_once = create(group, essay, member, quote=STALINISM, body="A quokka.")
    assert found(maria, group, q="quokka") == [twice.pk, also_once.pk, once.pk]


@needs_postgres
def test_past_so_many_matches_the_newest_are_ranked(maria, group, essay, member, monkeypatch):
    """A word in nearly every note of a large group ranks its newest RANKED matches (the walk
    stops there), not all of them: the best of the older ones is left for more words."""
    monkeypatch.setattr("search.query.RANKED", 3)
    best_but_oldest = create(group, essay, member, body="A quokka, quokka, quokka.")
    newer = [create(group, essay, member, quote=OUTSIDE, body="A quokka.") for _ in range(3)]
    assert found(maria, group, q="quokka") == [n.pk for n in reversed(newer)]
    monkeypatch.setattr("search.query.RANKED", 10)
    assert found(maria, group, q="quokka")[0] == best_but_oldest.pk


@needs_postgres
def test_a_quoted_phrase_matches_the_words_in_order(maria, group, essay, member):
    phrase = create(group, essay, member, body="Reform and revolution, again.")
    create(group, essay, member, quote=OUTSIDE, body="Revolution and reform, the other way.")
    assert found(maria, group, q='"reform and revolution"') == [phrase.pk]
    assert len(found(maria, group, q="reform revolution")) == 2


@needs_postgres
def test_a_minus_leaves_a_word_out_in_any_of_its_forms(maria, group, essay, member):
    both = create(group, essay, member, body="The quokka and the wombat.")
    alone = create(group, essay, member, quote=OUTSIDE, body="A quokka alone.")
    assert set(found(maria, group, q="quokka")) == {both.pk, alone.pk}
    assert found(maria, group, q="quokka -wombat") == [alone.pk]
    assert found(maria, group, q="quokka -wombats") == [alone.pk]  # stemmed: wombats → wombat
    assert found(maria, group, q='quokka -"the wombat"') == [alone.pk]


@needs_postgres
def test_or_finds_either_word(maria, group, essay, member):
    quokka = create(group, essay, member, body="A quokka.")
    wombat = create(group, essay, member, quote=OUTSIDE, body="A wombat.")
    create(group, essay, member, quote=STALINISM, body="A numbat.")
    assert set(found(maria, group, q="quokka or wombat")) == {quokka.pk, wombat.pk}


@needs_postgres
def test_english_stemming_finds_other_forms_of_a_word(maria, group, essay, member):
    note = create(group, essay, member, body="The strikes spread.")
    assert found(maria, group, q="striking") == [note.pk]
    page = maria.get(search_url(group), {"q": "striking"}).content.decode()
    assert "<mark>strikes</mark>" in page


@needs_postgres
def test_plain_words_are_found_where_english_has_none(maria, group, essay, member):
    band = create(group, essay, member, body="Like The Who at Woodstock.")  # "who" is a stopword
    cyrillic = create(group, essay, member, quote=OUTSIDE, body="Всеобщая забастовка.")
    assert found(maria, group, q="who") == [band.pk]
    assert found(maria, group, q="забастовка") == [cyrillic.pk]


# --- PostgreSQL: the triggers keep the index current --------------------------------------------


def entry(annotation) -> SearchEntry | None:
    return SearchEntry.objects.filter(annotation_id=annotation.pk).first()


@needs_postgres
def test_a_new_note_and_reply_get_their_entries(group, essay, member, facilitator):
    note = create(group, essay, member, body="A quokka.")
    reply = reply_to(note, facilitator, body="A reply.")
    for annotation in (note, reply):
        row = entry(annotation)
        assert (row.group_id, row.reading_id) == (group.pk, essay.pk)


@needs_postgres
def test_an_edit_is_found_by_its_new_words_only(maria, group, essay, member):
    note = create(group, essay, member, body="A quokka.")
    services.annotation_update(annotation=note, body="A wombat now.")
    assert found(maria, group, q="quokka") == []
    assert found(maria, group, q="wombat") == [note.pk]


@needs_postgres
def test_a_tag_added_or_removed_changes_what_finds_the_note(maria, group, essay, member):
    note = create(group, essay, member, body="A note.", tags=["first"])
    services.annotation_update(annotation=note, tags=["marsupials"])
    assert found(maria, group, q="marsupials") == [note.pk]
    assert found(maria, group, q="first") == []
    services.annotation_update(annotation=note, tags=[])
    assert found(maria, group, q="marsupials") == []


@needs_postgres
def test_a_delete_takes_the_entry_away(group, essay, member, facilitator):
    note = create(group, essay, member, body="A quokka.")
    services.annotation_delete(annotation=note)
    assert not SearchEntry.objects.filter(annotation_id=note.pk).exists()
    placeholder = create(group, essay, member, quote=OUTSIDE, body="A quokka.")
    reply_to(placeholder, facilitator, body="Kept.")
    services.annotation_delete(annotation=placeholder)
    assert entry(placeholder) is None  # "[deleted]" has no words left


@needs_postgres
def test_hiding_and_unhiding_keep_the_entry_and_the_table_decides(
    make_user, group, essay, member, facilitator
):
    lee = make_user("lee")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    note = create(group, essay, member, body="A quokka.")
    services.annotation_hide(annotation=note, by=facilitator, note="Hidden.")
    assert entry(note) is not None
    assert found(signed_in(lee), group, q="quokka") == []
    services.annotation_unhide(annotation=note)
    assert found(signed_in(lee), group, q="quokka") == [note.pk]


@needs_postgres
def test_a_plus_one_does_not_rewrite_the_entry(group, essay, member, facilitator):
    note = create(group, essay, member, body="A quokka.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT xmin::text FROM search_searchentry WHERE annotation_id = %s", [note.pk]
        )
        before = cursor.fetchone()[0]
        services.annotation_plus_one(annotation=note, user=facilitator)
        cursor.execute(
            "SELECT xmin::text FROM search_searchentry WHERE annotation_id = %s", [note.pk]
        )
        assert cursor.fetchone()[0] == before


@needs_postgres
def test_the_migration_backfills_what_was_written_before_it(maria, group, essay, member):
    from importlib import import_module

    migration = import_module("search.migrations.0001_initial")
    note = create(group, essay, member, body="A quokka.")
    SearchEntry.objects.all().delete()
    assert found(maria, group, q="quokka") == []
    with connection.cursor() as cursor:
        cursor.execute(migration.BACKFILL)
    assert found(maria, group, q="quokka") == [note.pk]


@needs_postgres
def test_the_index_finds_one_groups_matches_without_reading_the_others(maria, group, essay, member):
    """The GIN index holds (group, words) and the btree (group, newest first): the ranked
    query must put the group in its index condition, or a common word reads every group's
    matches (280 ms at 1M annotations)."""
    import re

    from django.test.utils import CaptureQueriesContext

    create(group, essay, member, body="A quokka.")
    with CaptureQueriesContext(connection) as captured:
        maria.get(search_url(group), {"q": "quokka"})
    ranked = next(q["sql"] for q in captured if "ts_rank" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + ranked)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert re.search(r"Index Cond: \(+group_id = '\d+'::bigint", plan), plan


# --- pages --------------------------------------------------------------------------------------


def many(group, essay, author, n: int, body="A quokka, number {}.") -> list[Annotation]:
    quotes = [QUOTE, OUTSIDE, STALINISM]
    return [
        create(group, essay, author, quote=quotes[i % 3], body=body.format(i)) for i in range(n)
    ]


def test_results_come_a_page_at_a_time_in_a_stable_order(maria, group, essay, member):
    notes = many(group, essay, member, 25)
    first = maria.get(search_url(group), {"q": "quokka"}).content.decode()
    second = maria.get(search_url(group), {"q": "quokka", "page": "2"}).content.decode()
    ids_first, ids_second = Results(first).ids, Results(second).ids
    assert len(ids_first) == 20 and len(ids_second) == 5
    # equally good matches come newest first, each exactly once
    assert ids_first + ids_second == sorted((n.pk for n in notes), reverse=True)
    assert "25 results" in first and "Page 1 of 2" in first
    assert 'rel="next"' in first and 'rel="prev"' in second
    assert "q=quokka" in first.split('rel="next"')[0].rsplit("href=", 1)[1]


def test_past_the_most_it_finds_it_asks_for_more_words(maria, group, essay, member, monkeypatch):
    monkeypatch.setattr("search.query.MAX_RESULTS", 5)
    many(group, essay, member, 7)
    page = maria.get(search_url(group), {"q": "quokka"}).content.decode()
    assert len(Results(page).ids) == 5
    assert "More than 5 results" in page
    assert "Add a word or a filter to find the rest." in page


def test_a_page_past_the_end_says_so(maria, group, essay, member):
    many(group, essay, member, 3)
    page = maria.get(search_url(group), {"q": "quokka", "page": "4"}).content.decode()
    assert "There is no page 4" in page
    assert Results(page).ids == []


@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999", "1.5"])
def test_a_bad_page_number_is_the_first_page(maria, group, essay, member, value):
    note = create(group, essay, member, body="A quokka.")
    assert found(maria, group, q="quokka", page=value) in ([note.pk], [])


# --- marking: never trusting the words ----------------------------------------------------------


def test_the_marks_escape_the_html_in_a_note(maria, group, essay, member):
    create(
        group,
        essay,
        member,
        body="<script>alert('x')</script> quokka <img src=x onerror=alert(1)> &amp; more",
    )
    page = maria.get(search_url(group), {"q": "quokka"}).content.decode()
    results = page.split('class="search-list"', 1)[1]
    assert "<script>" not in results and "<img" not in results
    assert "<mark>quokka</mark>" in results


def test_a_note_cannot_forge_a_mark():
    """ts_headline's brackets are taken out of a note's words before it is asked."""
    html = f"<p>{marking.START}&lt;b&gt;not a match&lt;/b&gt;{marking.STOP}</p>"
    words = marking.plain(html)
    assert words == "<b>not a match</b>"
    assert str(marking.from_headline(words)) == "&lt;b&gt;not a match&lt;/b&gt;"
    assert str(marking.mark_words(words, ["zzz"])) == "&lt;b&gt;not a match&lt;/b&gt;"


def test_marking_escapes_everything_but_its_own_marks():
    assert str(marking.mark_words('<a href="x">Quokka</a> & quokka', ["quokka"])) == (
        "&lt;a href=&quot;x&quot;&gt;<mark>Quokka</mark>&lt;/a&gt; &amp; <mark>quokka</mark>"
    )
    # ts_headline's brackets: unbalanced ones still make balanced marks
    start, stop = marking.START, marking.STOP
    assert str(marking.from_headline(f"{stop}<i>{start}a{start}b{stop}{stop} {start}c")) == (
        "&lt;i&gt;<mark>ab</mark> <mark>c</mark>"
    )


def test_a_cut_from_a_long_note_says_so_with_an_ellipsis():
    start, stop = marking.START, marking.STOP
    whole = "One two three quokka five six."
    assert str(marking.from_headline(f"three {start}quokka{stop} five", whole=whole)) == (
        "… three <mark>quokka</mark> five …"
    )
    assert str(
        marking.from_headline(f"One two three {start}quokka{stop} five six.", whole=whole)
    ) == ("One two three <mark>quokka</mark> five six.")


def test_a_phrase_is_marked_across_any_spaces():
    assert str(marking.mark_words("reform  and\nrevolution", ["reform and revolution"])) == (
        "<mark>reform  and\nrevolution</mark>"
    )


# --- bad input ----------------------------------------------------------------------------------


def test_a_very_long_search_is_refused_with_a_reason(maria, group):
    assert errors(maria, group, q="quokka " * 40) == [
        f"Keep the search to {MAX_LENGTH} characters or fewer (it has {len('quokka ' * 40) - 1})."
    ]
    assert errors(maria, group, q="q" * 5000) == ["That is far too long for a search."]


def test_too_many_words_are_refused(maria, group):
    words = " ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    assert errors(maria, group, q=words) == [
        f"Search for at most {MAX_TERMS} words or phrases at once."
    ]


def test_only_leaving_words_out_is_refused(maria, group):
    assert errors(maria, group, q="-quokka") == [
        "Say what to look for, not only what to leave out."
    ]


@pytest.mark.parametrize(
    "params, message",
    [
        # A NUL anywhere in the address is refused before the page (400): test_input_limits.py.
        ({"q": "quokka", "from": "2026-02-30"}, "Enter a date as year-month-day"),
        ({"q": "quokka", "from": "0001-01-01"}, "Choose a day between 1900 and 9000."),
        ({"q": "quokka", "to": "9999-12-31"}, "Choose a day between 1900 and 9000."),
        (
            {"q": "quokka", "from": "2026-03-02", "to": "2026-03-01"},
            "The “to” date is before the “from” date.",
        ),
        ({"q": "quokka", "member": "nobody"}, "Nobody of that name is a member of this group."),
        ({"q": "quokka", "reading": "no-such-reading"}, "This group does not read that."),
        ({"q": "quokka", "section": "987654"}, "There is no such section in this group's"),
        ({"q": "quokka", "section": "abc"}, "There is no such section in this group's"),
        ({"q": "quokka", "tag": "x" * 60}, "A tag is at most 50 characters long."),
    ],
)
def test_bad_input_gets_a_clear_message(maria, group, essay, member, params, message):
    create(group, essay, member, body="A quokka.")
    messages = errors(maria, group, **params)
    assert any(m.startswith(message) for m in messages), messages


def test_an_unknown_tag_says_no_note_has_it(maria, group, essay, member):
    create(group, essay, member, body="A quokka.", tags=["animals"])
    page = maria.get(search_url(group), {"q": "quokka", "tag": "plants"}).content.decode()
    assert "No note you can see is tagged <strong>#plants</strong>" in page


def test_a_section_of_a_reading_the_group_does_not_read_is_unknown(maria, group, essay):
    other = reading_import(data=b"Another text.\n", filename="other.txt", slug="other-text")
    section = other.sections.first()
    assert errors(maria, group, q="quokka", section=section.pk) == [
        "There is no such section in this group's readings."
    ]


@pytest.mark.parametrize(
    "q",
    ["quokka:* & b | !c <-> (d", '"quokka', "'quokka'", "quokka\\", "quokka -", "quok%ka_", "ÿ€😀"],
)
def test_odd_punctuation_never_breaks_a_search(maria, group, essay, member, q):
    create(group, essay, member, body="A quokka.")
    response = maria.get(search_url(group), {"q": q})
    assert response.status_code == 200


def test_punctuation_alone_searches_for_nothing(maria, group, essay, member):
    create(group, essay, member, body="A quokka!")
    page = maria.get(search_url(group), {"q": '!!! "" -'}).content.decode()
    assert "Type a few words" in page


def test_the_syntax_reads_like_a_web_search():
    query = parse('strike "reform and revolution" -union or walkout')
    assert [[(t.text, t.phrase, t.negated) for t in group] for group in query.alternatives] == [
        [("strike", False, False), ("reform and revolution", True, False), ("union", False, True)],
        [("walkout", False, False)],
    ]
    assert query.positive == ["strike", "reform and revolution", "walkout"]
    assert not parse("   ")
    with pytest.raises(SearchSyntaxError):
        parse("x" * (MAX_LENGTH + 1))


# --- the search boxes, and the cost -------------------------------------------------------------


def test_the_group_home_has_a_search_box(maria, group):
    page = maria.get(reverse("groups:detail", args=[group.slug])).content.decode()
    assert f'action="{search_url(group)}"' in page
    assert 'role="search"' in page


def test_the_reading_page_has_a_search_box_for_its_reading(maria, group, essay):
    page = maria.get(reverse("annotations:reading", args=[group.slug, essay.slug])).content.decode()
    form = page.split(f'action="{search_url(group)}"', 1)[1].split("</form>", 1)[0]
    assert f'name="reading" value="{essay.slug}"' in form
    assert 'name="q"' in form


# session, user, membership with group; the filters' readings, members and sections; the
# page of ids with the total; those annotations; their tags; on PostgreSQL the marks. (Each
# reading's article comes from the cache: on the database cache that is one query per reading
# on the page.)
RESULTS_QUERIES = 10 if POSTGRES else 9


@pytest.mark.parametrize("n", [3, 25])
def test_the_results_page_costs_the_same_queries_however_many_match(
    maria, group, essay, member, facilitator, django_assert_num_queries, n
):
    notes = many(group, essay, member, n)
    reply_to(notes[0], facilitator, body="A quokka reply.")
    services.annotation_update(annotation=notes[1], tags=["animals", "quokkas"])
    maria.get(search_url(group), {"q": "quokka"})  # the essay's article, cached
    with django_assert_num_queries(RESULTS_QUERIES):
        response = maria.get(search_url(group), {"q": "quokka"})
    assert len(Results(response.content.decode()).ids) == min(n + 1, 20)


# --- in the browser -----------------------------------------------------------------------------

AXE_DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True},
}


@pytest.mark.browser
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_search_pages_have_no_serious_accessibility_violation(
    transactional_db, browser, live_server, essay, group, member, facilitator, device, scheme
):
    from axe_playwright_python.sync_playwright import Axe

    note = create(group, essay, member, body="A quokka <b>in</b> the margin.", tags=["animals"])
    reply_to(note, facilitator, body="A quokka reply.")
    context = browser.new_context(
        base_url=live_server.url, color_scheme=scheme, **AXE_DEVICES[device]
    )
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": signed_in(member).cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    base = search_url(group)
    problems = []
    try:
        for path in (base, f"{base}?q=quokka", f"{base}?q=quokka&from=2026-02-30&tag=animals"):
            page.goto(path)
            results = Axe().run(page, options={"resultTypes": ["violations"]})
            problems += [
                f"{path}: {v['id']} ({v['impact']}) {v['help']}"
                for v in results.response["violations"]
                if v["impact"] in {"serious", "critical"}
            ]
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_a_result_opens_its_thread_in_the_reading_pages_panel(
    transactional_db, page, login, essay, group, member, facilitator
):
    note = create(group, essay, facilitator, body="What do we make of this?")
    reply = reply_to(note, member, body="A quokka would disagree.")
    login(page, member)
    page.goto(search_url(group) + "?q=quokka")
    page.get_by_role("link", name="Open the thread").click()
    page.wait_for_url(f"**#a-{reply.pk}")
    panel = page.locator("#annotation-panel")
    # The panel opens at once and its thread arrives after: wait for the words, not the box.
    expect(panel).to_contain_text("A quokka would disagree.")
    expect(page.locator(f"#annotation-panel #a-{reply.pk}.note--target")).to_have_count(1)
