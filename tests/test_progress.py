"""Progress: visits, sections read, This week and Since your last visit.

Personas from conftest: `facilitator` and `member` read the essay in `group`; `other_member`
runs `other_group`; `outsider` is in no group.
"""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from assignments.models import Assignment, SectionRead
from groups.models import GroupReading, Membership
from groups.services import group_archive, group_create, membership_seen
from progress.since import FIRST_VISIT_WINDOW, new_count, new_since, new_threads, since
from progress.week import this_week
from readings.layout import reading_layout
from tests.annotating import create, reply_to

SECOND_QUOTE = "When socialists talk about ordinary people"


# --- helpers --------------------------------------------------------------------------------------


def sections_of(reading) -> list:
    return [s for s in reading_layout(reading)["sections"] if s.block_list]


def assign(group, reading, first=0, last=1, *, due_in=timedelta(days=3), **fields) -> Assignment:
    """An assignment of sections `first` to `last` (by index among those with paragraphs)."""
    sections = sections_of(reading)
    first_block = sections[first].block_list[0]
    last_block = sections[last].block_list[-1]
    fields.setdefault("title", f"Sections {first + 1} to {last + 1}")
    return Assignment.objects.create(
        group_reading=GroupReading.objects.get(group=group, reading=reading),
        first_block=first_block.anchor,
        last_block=last_block.anchor,
        start=first_block.start,
        end=last_block.start + len(last_block.text),
        due_at=timezone.now() + due_in,
        **fields,
    )


def membership(group, user) -> Membership:
    return Membership.objects.select_related("group", "user").get(group=group, user=user)


def read_url(group, reading, anchor) -> str:
    return reverse("progress:section_read", args=[group.slug, reading.slug, anchor])


def prompt(assignment, author, body="What does “from below” mean here?"):
    group_reading = assignment.group_reading
    start, end = assignment.start, assignment.start + 20
    return annotation_services.annotation_create(
        group=group_reading.group,
        reading=group_reading.reading,
        author=author,
        motivation="questioning",
        body=body,
        start=start,
        end=end,
        prompt_of=assignment,
    )


# --- visits ---------------------------------------------------------------------------------------


def test_the_first_visit_is_seen_with_no_previous_visit(group, member):
    mine = membership(group, member)
    now = timezone.now()

    membership_seen(membership=mine, now=now)

    mine.refresh_from_db()
    assert mine.last_seen_at == now
    assert mine.previous_visit_at is None


def test_being_seen_again_within_a_minute_costs_no_query(group, member, django_assert_num_queries):
    mine = membership(group, member)
    now = timezone.now()
    membership_seen(membership=mine, now=now)

    with django_assert_num_queries(0):
        membership_seen(membership=mine, now=now + timedelta(seconds=59))


def test_activity_within_two_hours_keeps_the_visit_going(group, member):
    mine = membership(group, member)
    start = timezone.now()
    membership_seen(membership=mine, now=start)

    for minutes in (5, 50, 150):  # never two hours apart
        membership_seen(membership=mine, now=start + timedelta(minutes=minutes))

    mine.refresh_from_db()
    assert mine.last_seen_at == start + timedelta(minutes=150)
    assert mine.previous_visit_at is None


def test_coming_back_after_two_hours_starts_a_new_visit(group, member):
    mine = membership(group, member)
    start = timezone.now() - timedelta(days=1)
    membership_seen(membership=mine, now=start)
    membership_seen(membership=mine, now=start + timedelta(minutes=30))

    back = start + timedelta(minutes=30, hours=2)
    membership_seen(membership=mine, now=back)

    assert mine.previous_visit_at == start + timedelta(minutes=30)  # the copy is kept in step
    mine.refresh_from_db()
    assert mine.previous_visit_at == start + timedelta(minutes=30)
    assert mine.last_seen_at == back


def test_two_requests_at_once_start_one_visit(group, member):
    """Both read the row before either wrote: the UPDATE's own conditions let one through."""
    start = timezone.now() - timedelta(days=1)
    mine = membership(group, member)
    membership_seen(membership=mine, now=start)
    first, second = membership(group, member), membership(group, member)
    back = start + timedelta(hours=3)

    membership_seen(membership=first, now=back)
    membership_seen(membership=second, now=back + timedelta(seconds=2))

    mine.refresh_from_db()
    assert mine.previous_visit_at == start
    assert mine.last_seen_at == back


def test_the_group_home_notes_the_visit(client, group, member):
    client.force_login(member)

    client.get(group.get_absolute_url())

    assert membership(group, member).last_seen_at is not None


# --- sections read --------------------------------------------------------------------------------


def test_a_member_marks_a_section_read_and_unmarks_it(client, group, essay, member):
    anchor = sections_of(essay)[1].anchor
    client.force_login(member)
    back = group.get_absolute_url() + "#week-1"

    marked = client.post(read_url(group, essay, anchor), {"read": "1", "next": back})

    assert marked.status_code == 302
    assert marked["Location"] == back
    assert SectionRead.objects.filter(
        membership__user=member, reading=essay, section=anchor
    ).exists()

    client.post(read_url(group, essay, anchor), {"read": "0", "next": back})

    assert not SectionRead.objects.exists()


def test_marking_a_section_read_twice_keeps_one_mark(client, group, essay, member):
    anchor = sections_of(essay)[0].anchor
    client.force_login(member)

    client.post(read_url(group, essay, anchor), {"read": "1"})
    client.post(read_url(group, essay, anchor), {"read": "1"})

    assert SectionRead.objects.count() == 1


def test_section_read_rejects_get(client, group, essay, member):
    client.force_login(member)

    response = client.get(read_url(group, essay, sections_of(essay)[0].anchor))

    assert response.status_code == 405
    assert not SectionRead.objects.exists()


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
def test_section_read_is_404_for_a_non_member(request, client, group, other_group, essay, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(read_url(group, essay, sections_of(essay)[0].anchor), {"read": "1"})

    assert response.status_code == 404
    assert not SectionRead.objects.exists()


def test_an_unknown_section_is_404(client, group, essay, member):
    client.force_login(member)

    response = client.post(read_url(group, essay, "no-such-section"), {"read": "1"})

    assert response.status_code == 404
    assert not SectionRead.objects.exists()


@pytest.mark.parametrize(
    "wanted", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_next_goes_back_only_to_this_site(client, group, essay, member, wanted):
    anchor = sections_of(essay)[0].anchor
    client.force_login(member)

    response = client.post(read_url(group, essay, anchor), {"read": "1", "next": wanted})

    contents = reverse("progress:contents", args=[group.slug, essay.slug])
    assert response["Location"] == f"{contents}#{anchor}"


def test_marking_read_is_allowed_in_an_archived_group(client, group, essay, member):
    """It is the member's own progress, not something written into the group."""
    group_archive(group=group)
    client.force_login(member)

    response = client.post(read_url(group, essay, sections_of(essay)[0].anchor), {"read": "1"})

    assert response.status_code == 302
    assert SectionRead.objects.count() == 1


def test_the_button_include_posts_to_the_section(rf, group, essay, member):
    from django.template.loader import render_to_string

    request = rf.get("/somewhere/?x=1")
    anchor = sections_of(essay)[1].anchor
    unread = render_to_string(
        "progress/_section_read_button.html",
        {"group": group, "reading": essay, "section_anchor": anchor, "is_read": False},
        request=request,
    )
    read = render_to_string(
        "progress/_section_read_button.html",
        {"group": group, "reading": essay, "section_anchor": anchor, "is_read": True},
        request=request,
    )

    assert f'action="{read_url(group, essay, anchor)}"' in unread
    assert 'name="csrfmiddlewaretoken"' in unread
    assert 'name="read" value="1"' in unread and "Mark read" in unread
    assert f'value="/somewhere/?x=1#{anchor}"' in unread
    assert 'name="read" value="0"' in read and "unmark" in read


def test_the_reading_page_s_section_buttons_are_the_template_s_own(rf, group, essay, member):
    """progress.panels renders the button once as read and once as not, and puts each
    section's anchor and name in place: the same HTML as rendering it for that section."""
    from django.middleware.csrf import get_token
    from django.template.loader import get_template

    from progress.panels import reading_page_extras

    sections = sections_of(essay)
    mine = membership(group, member)
    SectionRead.objects.create(membership=mine, reading=essay, section=sections[1].anchor)
    request = rf.get("/somewhere/?x=1&y=<b>")
    group_reading = GroupReading.objects.get(group=group, reading=essay)
    extras = reading_page_extras(membership=mine, group_reading=group_reading, request=request)
    template = get_template("progress/_section_read_button.html")

    def masked(html: str) -> str:  # each rendering masks the CSRF token anew
        return re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1…", html)

    names = ["Stalinism & <em>after</em>", 'The "New Left"', "Introduction"]
    for section, name in zip(sections, names, strict=False):
        expected = template.render(
            {
                "group": group,
                "reading": essay,
                "section_anchor": section.anchor,
                "is_read": section.anchor == sections[1].anchor,
                "section_label": name,
                "csrf_token": get_token(request),
                "next": f"{request.get_full_path()}#{section.anchor}",
            }
        )
        made = extras["section_button"](section.anchor, name)
        assert masked(made) == masked(expected)
    assert "&lt;em&gt;after&lt;/em&gt;" in extras["section_button"](sections[0].anchor, names[0])


def test_the_contents_show_what_the_member_has_read(client, group, essay, member):
    sections = sections_of(essay)
    SectionRead.objects.create(
        membership=membership(group, member), reading=essay, section=sections[1].anchor
    )
    assign(group, essay, 1, 2, title="Week 2")
    client.force_login(member)

    page = client.get(reverse("progress:contents", args=[group.slug, essay.slug]))

    html = page.content.decode()
    assert page.status_code == 200
    assert f"marked 1 of {len(sections)} sections read" in html
    assert html.count("Read <span") == 1  # one "Read ✓ — unmark" button
    assert "Week 2" in html


# --- This week ------------------------------------------------------------------------------------


def test_this_week_shows_what_is_due_and_what_was_due_in_the_last_week(group, essay, member):
    soon = assign(group, essay, 0, 1, title="Soon", due_in=timedelta(days=2))
    late = assign(group, essay, 2, 2, title="Late", due_in=-timedelta(days=6))
    assign(group, essay, 3, 3, title="Long gone", due_in=-timedelta(days=8))

    items = this_week([membership(group, member)])

    assert [item.assignment for item in items] == [late, soon]
    assert items[0].overdue and not items[1].overdue


def test_this_week_counts_sections_read_in_the_range(group, essay, member):
    sections = sections_of(essay)
    week = assign(group, essay, 0, 2)
    mine = membership(group, member)
    for section in (sections[0], sections[2], sections[5]):  # the last is outside the range
        SectionRead.objects.create(membership=mine, reading=essay, section=section.anchor)

    (item,) = this_week([mine])

    assert (item.sections_read, item.sections_total) == (2, 3)
    assert [s.anchor for s, _ in item.sections] == [s.anchor for s in sections[:3]]
    assert item.range_label.startswith("§ From “Introduction” to “Socialisms from above”")
    assert item.url.endswith(f"#{week.first_block}")


def test_this_week_counts_the_members_notes_and_only_the_group_notes_they_may_see(
    group, essay, member, facilitator, make_user
):
    classmate = make_user("cleo")
    Membership.objects.create(group=group, user=classmate)
    assign(group, essay, 0, 1)
    mine = create(group, essay, member, body="Mine")
    create(group, essay, member, SECOND_QUOTE, body="Mine, private", visibility="private")
    reply_to(mine, member, "My own reply")
    create(group, essay, member, SECOND_QUOTE, body="")  # a bare highlight is not a note
    theirs = create(group, essay, classmate, SECOND_QUOTE, body="Cleo's")
    reply_to(mine, classmate, "Cleo replies")
    create(group, essay, classmate, body="Cleo's private", visibility="private")
    hidden = create(group, essay, facilitator, body="Hidden by a facilitator")
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic")

    (item,) = this_week([membership(group, member)])

    assert item.notes == 3  # their comment, private note and reply
    assert item.group_notes == 2  # Cleo's comment and reply: not her private note, not hidden
    assert theirs.pk  # (made)


def test_this_week_lists_the_prompts_still_waiting_for_an_answer(group, essay, member, facilitator):
    week = assign(group, essay, 0, 1)
    first = prompt(week, facilitator, "First question?")
    second = prompt(week, facilitator, "Second question?")
    reply_to(first, member, "My answer")

    (item,) = this_week([membership(group, member)])
    (for_facilitator,) = this_week([membership(group, facilitator)])

    assert [p.text for p in item.prompts] == ["Second question?"]
    assert item.prompts[0].url.endswith(f"/threads/{second.pk}/")
    assert for_facilitator.prompts == []  # their own prompts wait for nobody's answer


def test_this_week_across_groups_takes_the_same_queries_for_one_or_three_groups(
    group, essay, member, facilitator, other_member
):
    assign(group, essay, 0, 1)
    counts = []
    for n in range(3):
        if n:
            extra = group_create(name=f"Extra {n}", created_by=facilitator)
            GroupReading.objects.create(group=extra, reading=essay)
            Membership.objects.create(group=extra, user=member)
            assign(extra, essay, n, n + 1)
        mine = list(Membership.objects.filter(user=member).select_related("group"))
        with CaptureQueriesContext(connection) as queries:
            items = this_week(mine)
        counts.append(len(queries.captured_queries))
        assert len(items) == n + 1

    assert counts[0] == counts[2] == 5


def test_the_group_home_shows_this_week(client, group, essay, member, facilitator):
    week = assign(group, essay, 0, 1, title="Week 2: Why the working class")
    prompt(week, facilitator, "Who is the subject of change?")
    client.force_login(member)

    html = client.get(group.get_absolute_url()).content.decode()

    assert "This week" in html
    assert "Week 2: Why the working class" in html
    assert "Who is the subject of change?" in html
    assert "Mark read" in html
    assert "css/progress.css" in html
    assert reverse("progress:participation", args=[group.slug, essay.slug]) not in html


def test_the_group_home_links_facilitators_to_participation(client, group, essay, facilitator):
    client.force_login(facilitator)

    html = client.get(group.get_absolute_url()).content.decode()

    assert reverse("progress:participation", args=[group.slug, essay.slug]) in html
    assert "Nothing is assigned right now." in html


def test_the_site_home_lists_this_week_across_groups(
    client, group, other_group, essay, member, other_member
):
    Membership.objects.create(group=other_group, user=member)
    assign(group, essay, 0, 1, title="Tuesday week")
    assign(other_group, essay, 2, 2, title="Night shift week")
    client.force_login(member)

    html = client.get(reverse("home")).content.decode()

    assert "This week" in html
    assert "Tuesday week" in html and "Night shift week" in html
    assert group.name in html and other_group.name in html


def test_the_site_home_says_nothing_of_this_week_when_nothing_is_assigned(client, group, member):
    client.force_login(member)

    html = client.get(reverse("home")).content.decode()

    assert "This week" not in html
    assert "progress.css" not in html


# --- since your last visit ------------------------------------------------------------------------


@pytest.fixture
def returning(group, member):
    """The member's previous visit ended an hour ago."""
    mine = membership(group, member)
    back = timezone.now() - timedelta(hours=1)
    Membership.objects.filter(pk=mine.pk).update(previous_visit_at=back, last_seen_at=back)
    return membership(group, member)


def test_since_lists_what_others_wrote_since_the_last_visit(
    group, essay, member, facilitator, make_user, returning
):
    classmate = make_user("cleo")
    Membership.objects.create(group=group, user=classmate)
    old = create(group, essay, classmate, body="Before your visit")
    Annotation = type(old)
    Annotation.objects.filter(pk=old.pk).update(
        created_at=returning.previous_visit_at - timedelta(minutes=5)
    )
    reply = reply_to(old, facilitator, "A new reply to an old thread")
    fresh = create(group, essay, classmate, SECOND_QUOTE, body="A new thread")
    create(group, essay, member, SECOND_QUOTE, body="My own, not news to me")
    create(group, essay, classmate, body="Cleo's private note", visibility="private")
    create(group, essay, classmate, SECOND_QUOTE, body="")  # a bare highlight

    page = since(returning)

    assert page.total == 2
    assert [t.root.pk for t in page.threads] == [fresh.pk, old.pk]  # newest activity first
    assert page.threads[0].root_is_new
    assert not page.threads[1].root_is_new
    assert [r.annotation.pk for r in page.threads[1].replies] == [reply.pk]
    assert page.threads[1].passage_url.endswith(f"#a-{old.pk}")


def test_since_never_shows_a_hidden_note_to_a_member(group, essay, member, facilitator, returning):
    hidden = create(group, essay, facilitator, body="Hidden")
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic")

    assert since(returning).total == 0
    assert new_count(returning) == 0


def test_a_first_visit_shows_the_last_two_weeks(group, essay, member, facilitator):
    old = create(group, essay, facilitator, body="Three weeks ago")
    type(old).objects.filter(pk=old.pk).update(
        created_at=timezone.now() - FIRST_VISIT_WINDOW - timedelta(days=7)
    )
    recent = create(group, essay, facilitator, SECOND_QUOTE, body="Last week")

    page = since(membership(group, member))

    assert page.first_visit
    assert [t.root.pk for t in page.threads] == [recent.pk]


def test_new_since_and_new_threads_serve_the_reading_page(
    group, essay, member, facilitator, returning
):
    gr = GroupReading.objects.get(group=group, reading=essay)
    assert new_since(returning, gr) is None
    assert new_threads(returning, gr) == {}

    thread = create(group, essay, member, body="Mine")
    answer = reply_to(thread, facilitator, "New to you")

    assert new_since(returning, gr) == returning.previous_visit_at
    assert new_threads(returning, gr) == {thread.pk: answer.created_at}


@pytest.mark.parametrize("amount", [3, 120])
def test_the_since_page_takes_a_fixed_number_of_queries(
    client, group, essay, member, facilitator, returning, amount, django_assert_num_queries
):
    roots = [create(group, essay, facilitator, body=f"Thread {i}") for i in range(amount // 3)]
    for i in range(amount - len(roots)):
        reply_to(roots[i % len(roots)], facilitator, f"Reply {i}")
    client.force_login(member)
    url = reverse("progress:since", args=[group.slug])
    client.get(url)  # notes the visit: later requests in the same minute write nothing

    # session, user, membership with its group, the count, the items
    with django_assert_num_queries(5):
        response = client.get(url)

    assert response.status_code == 200
    assert response.content.decode().count('class="since-thread"') == len(roots)


def test_the_group_home_counts_what_is_new(client, group, essay, member, facilitator, returning):
    create(group, essay, facilitator, body="New")
    create(group, essay, facilitator, SECOND_QUOTE, body="Also new")
    client.force_login(member)

    html = client.get(group.get_absolute_url()).content.decode()

    assert "2 new since your last visit" in html
    assert reverse("progress:since", args=[group.slug]) in html


@pytest.mark.parametrize("persona", ["outsider", "other_member"])
def test_the_since_page_is_404_for_a_non_member(request, client, group, other_group, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("progress:since", args=[group.slug])).status_code == 404


# --- what the group reading page gets -----------------------------------------------------------


def test_the_reading_page_gets_what_is_new_read_and_hot_through_the_groups_registry(
    group, essay, member, facilitator, returning, django_assert_num_queries
):
    from groups.panels import reading_extras
    from readings.article import reading_article

    gr = GroupReading.objects.select_related("reading", "group").get(group=group, reading=essay)
    anchor = sections_of(essay)[1].anchor
    SectionRead.objects.create(membership=returning, reading=essay, section=anchor)
    thread = create(group, essay, facilitator, body="New to Maria")
    reading_article(essay)  # the page has rendered it

    # progress: sections read, new since, new threads; meetings: whether meeting mode runs
    with django_assert_num_queries(4):
        extras = reading_extras(membership=returning, group_reading=gr)

    assert extras["sections_read"] == {anchor}
    assert extras["new_since"] == returning.previous_visit_at
    assert extras["new_threads"] == {thread.pk: thread.created_at}
    assert extras["heat"] == {}  # a member sees no heat
    assert extras["progress_stylesheet"] == "css/progress.css"
    fran = membership(group, facilitator)
    assert (
        sum(t for t, _ in reading_extras(membership=fran, group_reading=gr)["heat"].values()) == 1
    )


def test_since_shows_new_replies_under_a_hidden_or_deleted_opening_note(
    client, group, essay, member, facilitator, make_user, returning
):
    classmate = make_user("cleo")
    Membership.objects.create(group=group, user=classmate)
    hidden = create(group, essay, classmate, body="Hidden opening")
    under_hidden = reply_to(hidden, facilitator, "Still visible reply")
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Off topic")
    gone = create(group, essay, classmate, SECOND_QUOTE, body="Deleted opening")
    under_gone = reply_to(gone, facilitator, "Reply that holds the thread")
    annotation_services.annotation_delete(annotation=gone)

    page = since(returning)
    client.force_login(member)
    html = client.get(reverse("progress:since", args=[group.slug])).content.decode()

    by_reply = {t.replies[0].annotation.pk: t for t in page.threads}
    assert by_reply[under_hidden.pk].root is None
    assert by_reply[under_hidden.pk].passage_url.endswith(f"#a-{under_hidden.pk}")
    assert by_reply[under_gone.pk].root_author == "[deleted]"
    assert "Hidden opening" not in html and "Deleted opening" not in html
    assert "Still visible reply" in html and "Reply that holds the thread" in html
