"""Meetings: the services and their bad input, the agenda's suggestions with known data, the
agenda as each member may see it, raise at the meeting, the pages, the walls, the group home
and the site home. The calendar feed is in test_meetings_calendar.py, the browser in
test_browser_meetings.py. "Now" is passed in where a test depends on it.
"""

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from annotations.models import Annotation
from assignments.services import assignment_create
from groups.models import Membership
from groups.services import group_archive, membership_remove
from meetings import services
from meetings.models import AgendaItem, Meeting, Raise
from meetings.services import MeetingError
from meetings.suggestions import suggestions
from meetings.times import phase, relative, when_label
from readings.layout import reading_layout
from tests.annotating import create, reply_to

NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)
SOON = timezone.now() + timedelta(days=7)

QUOTES = [
    "The premise of socialism is simple: full democracy.",
    "When socialists talk about ordinary people",
    "That is why strikes are so categorically powerful",
    "The collective power of workers is the concrete reality",
    "Every strike is a laboratory of changing consciousness.",
    "Capitalist states depend for revenue on a growing and healthy national economy.",
]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def membership(group, user) -> Membership:
    return Membership.objects.select_related("group").get(group=group, user=user)


def schedule(group, facilitator, start=None, minutes=90, **fields) -> Meeting:
    start = start or SOON
    fields.setdefault("title", "Week 2: Why the working class")
    return services.meeting_create(
        group=group,
        created_by=facilitator,
        starts_at=start,
        ends_at=start + timedelta(minutes=minutes),
        **fields,
    )


def made_at(annotation, when) -> Annotation:
    Annotation.objects.filter(pk=annotation.pk).update(created_at=when)
    return annotation


@pytest.fixture
def classmate(make_user, group):
    user = make_user("sami", display_name="Sami Classmate")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def meeting(group, facilitator):
    return schedule(group, facilitator, link="https://meet.example/circle")


@pytest.fixture
def comment(group, essay, member):
    return create(group, essay, member, quote=QUOTES[0], body="Is this the whole premise?")


# --- scheduling: the services and their bad input ---------------------------------------------


def test_a_meeting_is_scheduled_in_whole_minutes_with_its_duration(group, facilitator):
    start = SOON.replace(second=30)
    meeting = schedule(group, facilitator, start=start, minutes=75, link="meet.example/abc")

    assert meeting.starts_at == start.replace(second=0, microsecond=0)
    assert meeting.duration_minutes == 75
    assert meeting.link == "https://meet.example/abc"
    assert meeting.uid and meeting.cancelled_at is None


@pytest.mark.parametrize(
    ("minutes", "message"),
    [(-30, "ends before it starts"), (0, "ends before it starts"), (13 * 60, "twelve hours")],
)
def test_an_end_before_the_start_or_absurdly_late_is_refused(group, facilitator, minutes, message):
    with pytest.raises(MeetingError, match=message) as error:
        schedule(group, facilitator, minutes=minutes)

    assert error.value.field == "ends_at"
    assert not Meeting.objects.exists()


@pytest.mark.parametrize(
    "link",
    ["ftp://files.example/meeting", "javascript:alert(1)", "mailto:fran@example.com", "data:,x"],
)
def test_only_http_and_https_links_are_taken(group, facilitator, link):
    with pytest.raises(MeetingError, match="Only http:// and https://") as error:
        schedule(group, facilitator, link=link)

    assert error.value.field == "link"
    assert not Meeting.objects.exists()


def test_a_link_that_is_not_a_web_address_is_refused(group, facilitator):
    with pytest.raises(MeetingError, match="not a web address"):
        schedule(group, facilitator, link="https://not a host/")
    assert not Meeting.objects.exists()


def test_a_past_start_needs_saying_it_already_happened(group, facilitator):
    yesterday = timezone.now() - timedelta(days=1)
    with pytest.raises(MeetingError, match="already passed") as error:
        schedule(group, facilitator, start=yesterday)
    assert error.value.field == "starts_at"
    assert not Meeting.objects.exists()

    meeting = schedule(group, facilitator, start=yesterday, in_the_past=True)
    assert meeting.starts_at < timezone.now()


def test_a_start_years_away_or_long_ago_is_refused(group, facilitator):
    with pytest.raises(MeetingError, match="next two years"):
        schedule(group, facilitator, start=timezone.now() + timedelta(days=900))
    with pytest.raises(MeetingError, match="more than a year ago"):
        schedule(group, facilitator, start=timezone.now() - timedelta(days=400), in_the_past=True)
    assert not Meeting.objects.exists()


def test_an_assignment_of_another_group_is_refused(
    group, other_group, facilitator, other_member, essay
):
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    theirs = assignment_create(
        group=other_group,
        reading=essay,
        created_by=other_member,
        title="Night shift week",
        first_block=blocks[0].anchor,
        last_block=blocks[1].anchor,
        due_at=SOON,
    )
    with pytest.raises(MeetingError, match="not one of this group's") as error:
        schedule(group, facilitator, assignment=theirs)

    assert error.value.field == "assignment"
    assert not Meeting.objects.exists()


def test_an_archived_group_takes_no_meeting(group, facilitator):
    group_archive(group=group)
    with pytest.raises(MeetingError, match="archived"):
        schedule(group, facilitator)
    assert not Meeting.objects.exists()


def test_a_meeting_is_moved_and_keeps_its_uid(meeting):
    uid = meeting.uid
    later = SOON + timedelta(days=1)
    services.meeting_update(
        meeting=meeting, title="Moved", starts_at=later, ends_at=later + timedelta(hours=2)
    )
    meeting.refresh_from_db()

    assert (meeting.title, meeting.duration_minutes, meeting.uid) == ("Moved", 120, uid)
    assert meeting.starts_at == later.replace(second=0, microsecond=0)


def test_editing_a_past_meeting_without_moving_it_asks_nothing(group, facilitator):
    start = timezone.now() - timedelta(days=2)
    meeting = schedule(group, facilitator, start=start, in_the_past=True)
    services.meeting_update(
        meeting=meeting,
        title="Last week",
        starts_at=meeting.starts_at,
        ends_at=meeting.starts_at + timedelta(hours=1),
        link="https://meet.example/recording",
    )
    meeting.refresh_from_db()
    assert meeting.link == "https://meet.example/recording"


def test_a_cancelled_meeting_stays_and_cannot_be_changed(meeting):
    services.meeting_cancel(meeting=meeting)
    meeting.refresh_from_db()
    assert meeting.cancelled_at is not None

    with pytest.raises(MeetingError, match="cancelled"):
        services.meeting_update(
            meeting=meeting, title="X", starts_at=SOON, ends_at=SOON + timedelta(hours=1)
        )
    with pytest.raises(MeetingError, match="cancelled"):
        services.agenda_add(meeting=meeting, text="Check-in")
    assert Meeting.objects.get().title == "Week 2: Why the working class"


# --- the agenda ---------------------------------------------------------------------------------


def test_a_facilitator_pins_threads_and_adds_items_in_order(
    meeting, group, facilitator, comment, essay, member
):
    other = create(group, essay, member, quote=QUOTES[1], body="Who are they?")
    fac = membership(group, facilitator)
    first = services.agenda_pin(meeting=meeting, by=fac, thread=comment)
    free = services.agenda_add(meeting=meeting, text="  Check-in   and welcome ")
    second = services.agenda_pin(meeting=meeting, by=fac, thread=other)

    assert [i.pk for i in meeting.agenda.order_by("position")] == [first.pk, free.pk, second.pk]
    assert free.text == "Check-in and welcome"

    services.agenda_move(item=second, direction="up")
    services.agenda_move(item=first, direction="up")  # already first: nothing happens
    assert [i.pk for i in meeting.agenda.order_by("position")] == [first.pk, second.pk, free.pk]

    services.agenda_remove(item=second)
    assert list(meeting.agenda.values_list("pk", flat=True)) == [first.pk, free.pk]
    assert Annotation.objects.filter(pk=other.pk).exists()


def test_pinning_another_groups_thread_is_refused(
    meeting, group, facilitator, other_group, other_member, essay
):
    theirs = create(other_group, essay, other_member, quote=QUOTES[2], body="Night shift talk")
    with pytest.raises(MeetingError, match="not a shared thread of this group") as error:
        services.agenda_pin(meeting=meeting, by=membership(group, facilitator), thread=theirs)

    assert error.value.field == "thread"
    assert not AgendaItem.objects.exists()


def test_pinning_for_another_groups_meeting_is_refused(meeting, other_group, other_member, essay):
    theirs = create(other_group, essay, other_member, quote=QUOTES[2], body="Night shift talk")
    with pytest.raises(MeetingError, match="not one of this group's"):
        services.agenda_pin(
            meeting=meeting, by=membership(other_group, other_member), thread=theirs
        )
    assert not AgendaItem.objects.exists()


def test_a_private_hidden_deleted_or_reply_note_cannot_be_pinned(
    meeting, group, essay, facilitator, member, comment
):
    private = create(group, essay, member, quote=QUOTES[1], body="Mine", visibility="private")
    hidden = create(group, essay, member, quote=QUOTES[2], body="Off topic")
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Keep to it")
    own_private = create(group, essay, facilitator, quote=QUOTES[3], visibility="private")
    reply = reply_to(comment, member)
    fac = membership(group, facilitator)

    for thread in (private, hidden, own_private, reply):
        with pytest.raises(MeetingError):
            services.agenda_pin(meeting=meeting, by=fac, thread=thread)
    assert not AgendaItem.objects.exists()


def test_a_thread_is_pinned_once(meeting, group, facilitator, comment):
    fac = membership(group, facilitator)
    services.agenda_pin(meeting=meeting, by=fac, thread=comment)
    with pytest.raises(MeetingError, match="already"):
        services.agenda_pin(meeting=meeting, by=fac, thread=comment)
    assert AgendaItem.objects.count() == 1


@pytest.mark.parametrize(("text", "message"), [("   ", "Write the item"), ("x" * 301, "too long")])
def test_an_empty_or_long_free_item_is_refused(meeting, text, message):
    with pytest.raises(MeetingError, match=message):
        services.agenda_add(meeting=meeting, text=text)
    assert not AgendaItem.objects.exists()


def test_items_are_marked_discussed_only_once_the_meeting_is_near(
    meeting, group, facilitator, comment, member, classmate
):
    item = services.agenda_pin(meeting=meeting, by=membership(group, facilitator), thread=comment)
    services.raise_toggle(membership=membership(group, member), thread=comment, raised=True)
    services.raise_toggle(membership=membership(group, classmate), thread=comment, raised=True)

    with pytest.raises(MeetingError, match="not started yet"):
        services.agenda_mark_discussed(item=item, now=meeting.starts_at - timedelta(hours=2))
    assert AgendaItem.objects.get().discussed_at is None

    at = meeting.starts_at + timedelta(minutes=20)
    services.agenda_mark_discussed(item=item, now=at)
    assert AgendaItem.objects.get().discussed_at == at
    assert not Raise.objects.exists()  # a raise asks for the next meeting: this was it

    services.agenda_mark_discussed(item=item, discussed=False, now=at)
    assert AgendaItem.objects.get().discussed_at is None


# --- the recap ----------------------------------------------------------------------------------


def test_the_recap_is_cleaned_markdown(meeting, group):
    services.meeting_recap(
        group=group,
        meeting=meeting,
        recap="We chose **Week 3**.\n\n<script>alert(1)</script>",
        now=meeting.starts_at,
    )
    meeting.refresh_from_db()
    assert "<strong>Week 3</strong>" in meeting.recap_html
    assert "<script" not in meeting.recap_html


def test_a_recap_on_another_groups_meeting_is_refused(meeting, other_group):
    with pytest.raises(MeetingError, match="not one of this group's"):
        services.meeting_recap(
            group=other_group, meeting=meeting, recap="Hijacked", now=meeting.starts_at
        )
    meeting.refresh_from_db()
    assert meeting.recap == "" and meeting.recap_html == ""


def test_a_recap_waits_for_the_meeting(meeting, group):
    with pytest.raises(MeetingError, match="not started yet"):
        services.meeting_recap(
            group=group, meeting=meeting, recap="Early", now=meeting.starts_at - timedelta(days=1)
        )
    assert Meeting.objects.get().recap == ""


# --- raise at the meeting -----------------------------------------------------------------------


def test_a_member_raises_a_thread_and_takes_it_back(group, member, comment):
    mine = membership(group, member)
    assert services.raise_toggle(membership=mine, thread=comment, raised=True) is True
    assert services.raise_toggle(membership=mine, thread=comment, raised=True) is True
    assert Raise.objects.filter(annotation=comment, user=member).count() == 1

    assert services.raise_toggle(membership=mine, thread=comment, raised=False) is False
    assert not Raise.objects.exists()


def test_a_private_note_or_a_reply_cannot_be_raised(group, essay, member, comment, facilitator):
    private = create(group, essay, member, quote=QUOTES[1], body="Mine", visibility="private")
    reply = reply_to(comment, facilitator)
    for thread in (private, reply):
        with pytest.raises(MeetingError):
            services.raise_toggle(membership=membership(group, member), thread=thread, raised=True)
    assert not Raise.objects.exists()


# --- suggestions with known data ----------------------------------------------------------------


@pytest.fixture
def discussion(group, other_group, essay, facilitator, member, classmate, other_member):
    """Threads with replies before and after the previous meeting (held 10 days ago), questions,
    prompts and raises, and what must never be suggested."""
    now = timezone.now()
    previous = schedule(
        group, facilitator, start=now - timedelta(days=10), in_the_past=True, title="Week 1"
    )
    before, after = previous.starts_at - timedelta(days=1), previous.starts_at + timedelta(days=1)
    t = {}
    # A busy thread before the last meeting, quieter since; a thread busy since.
    t["old_busy"] = create(group, essay, member, quote=QUOTES[0], body="Old busy")
    for _ in range(5):
        made_at(reply_to(t["old_busy"], classmate), before)
    made_at(reply_to(t["old_busy"], facilitator), after)
    t["new_busy"] = create(group, essay, classmate, quote=QUOTES[1], body="New busy")
    for _ in range(3):
        made_at(reply_to(t["new_busy"], member), after)
    # A hidden reply does not count; a hidden thread is never suggested, however busy.
    hidden_reply = made_at(reply_to(t["new_busy"], member, body="Rude"), after)
    annotation_services.annotation_hide(annotation=hidden_reply, by=facilitator, note="No")
    t["hidden"] = create(group, essay, member, quote=QUOTES[2], body="Hidden busy")
    for _ in range(9):
        made_at(reply_to(t["hidden"], classmate), after)
    annotation_services.annotation_hide(annotation=t["hidden"], by=facilitator, note="No")
    # A private note, with the author's own replies: never anyone's suggestion.
    t["private"] = create(group, essay, facilitator, quote=QUOTES[3], visibility="private")
    for _ in range(4):
        made_at(reply_to(t["private"], facilitator), after)
    # Questions: one open, one answered.
    t["open_q"] = create(
        group, essay, member, quote=QUOTES[4], body="Why?", motivation="questioning"
    )
    made_at(reply_to(t["open_q"], classmate, body="Hm"), after)
    t["answered_q"] = create(
        group, essay, classmate, quote=QUOTES[5], body="How?", motivation="questioning"
    )
    answer = reply_to(t["answered_q"], facilitator, body="Like this")
    annotation_services.annotation_mark_answer(reply=answer, is_answer=True)
    # Prompts: one with two replies, one with four, one with none.
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    week = assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2",
        first_block=blocks[0].anchor,
        last_block=blocks[-1].anchor,
        due_at=SOON,
    )
    prompts = ["simple: full democracy", "talk about ordinary people", "so categorically powerful"]
    for key, quote, replies in zip(("p2", "p4", "p0"), prompts, (2, 4, 0), strict=True):
        t[key] = create(
            group, essay, facilitator, quote=quote, body="Prompt?", motivation="questioning",
            prompt_of=week,
        )  # fmt: skip
        for _ in range(replies):
            made_at(reply_to(t[key], member), before)
    # Raises: new_busy by two members, old_busy by one, and one by a member who left since.
    leaver = Membership.objects.create(group=group, user=other_member)
    services.raise_toggle(membership=membership(group, member), thread=t["new_busy"], raised=True)
    services.raise_toggle(
        membership=membership(group, classmate), thread=t["new_busy"], raised=True
    )
    services.raise_toggle(membership=membership(group, member), thread=t["old_busy"], raised=True)
    leaving = Membership.objects.select_related("group").get(pk=leaver.pk)
    services.raise_toggle(membership=leaving, thread=t["open_q"], raised=True)
    membership_remove(membership=leaving)
    # Another group's busy thread.
    t["theirs"] = create(other_group, essay, other_member, quote=QUOTES[2], body="Night talk")
    for _ in range(7):
        made_at(reply_to(t["theirs"], other_member), after)
    return t


def ids(found) -> list[int]:
    return [s.thread.pk for s in found]


def test_the_suggestions_are_what_the_facilitator_should_pin(
    group, facilitator, discussion, django_assert_max_num_queries
):
    t = discussion
    meeting = schedule(group, facilitator)
    fac = membership(group, facilitator)

    with django_assert_max_num_queries(6):
        found = suggestions(meeting, fac)
        lists = [found.discussed, found.unanswered, found.prompts, found.raised]
        counts = [[(s.thread.pk, s.count) for s in kind] for kind in lists]

    # Most discussed since the last meeting: replies after it, a hidden reply not counted.
    assert counts[0][0] == (t["new_busy"].pk, 3)
    once = {t["old_busy"].pk, t["open_q"].pk, t["answered_q"].pk}  # one reply each since
    assert dict(counts[0]) == {t["new_busy"].pk: 3} | dict.fromkeys(once, 1)
    assert counts[1] == [(t["open_q"].pk, 1)]
    assert counts[2] == [(t["p4"].pk, 4), (t["p2"].pk, 2)]
    assert counts[3] == [(t["new_busy"].pk, 2), (t["old_busy"].pk, 1)]
    everything = {pk for kind in counts for pk, _ in kind}
    assert not everything & {t["hidden"].pk, t["private"].pk, t["theirs"].pk}
    assert found.since is not None


def test_before_the_first_meeting_all_replies_count(group, facilitator, member, comment):
    for _ in range(2):
        made_at(reply_to(comment, member), timezone.now() - timedelta(days=90))
    found = suggestions(schedule(group, facilitator), membership(group, facilitator))

    assert found.since is None
    assert [(s.thread.pk, s.count) for s in found.discussed] == [(comment.pk, 2)]


def test_a_cancelled_meeting_is_not_the_previous_one(group, facilitator, member, comment):
    reply = made_at(reply_to(comment, member), timezone.now() - timedelta(days=5))
    cancelled = schedule(
        group, facilitator, start=timezone.now() - timedelta(days=3), in_the_past=True
    )
    services.meeting_cancel(meeting=cancelled)

    found = suggestions(schedule(group, facilitator), membership(group, facilitator))
    assert found.since is None
    assert ids(found.discussed) == [comment.pk]
    assert reply.pk


def test_pinned_threads_are_not_suggested_again(group, facilitator, discussion):
    meeting = schedule(group, facilitator)
    fac = membership(group, facilitator)
    services.agenda_pin(meeting=meeting, by=fac, thread=discussion["new_busy"])

    found = suggestions(meeting, fac)
    assert discussion["new_busy"].pk not in ids(found.discussed) + ids(found.raised)


# --- the agenda as each member sees it ----------------------------------------------------------


def detail_url(meeting) -> str:
    return reverse("meetings:detail", args=[meeting.group.slug, meeting.pk])


def test_members_see_the_agenda_read_only(client, meeting, group, facilitator, member, comment):
    services.agenda_pin(meeting=meeting, by=membership(group, facilitator), thread=comment)
    services.agenda_add(meeting=meeting, text="Choose the next reading")
    client.force_login(member)

    page = text_of(client.get(detail_url(meeting)))

    assert "Is this the whole premise?" in page and "Choose the next reading" in page
    assert "Suggestions to pin" not in page
    assert reverse("meetings:agenda_add", args=[group.slug, meeting.pk]) not in page
    assert not re.search(r"/agenda/\d+/(remove|move|discussed)/", page)


def test_a_thread_hidden_after_it_was_pinned_leaves_the_members_agenda(
    client, meeting, group, facilitator, member, classmate, essay
):
    note = create(group, essay, classmate, quote=QUOTES[1], body="Soon to be hidden")
    services.agenda_pin(meeting=meeting, by=membership(group, facilitator), thread=note)
    annotation_services.annotation_hide(annotation=note, by=facilitator, note="No")

    client.force_login(member)
    assert "Soon to be hidden" not in text_of(client.get(detail_url(meeting)))
    client.force_login(facilitator)
    page = text_of(client.get(detail_url(meeting)))
    assert "Soon to be hidden" in page and "hidden since" in page


def test_a_thread_behind_post_before_you_peek_stays_off_a_members_agenda(
    client, meeting, group, facilitator, member, classmate, essay
):
    note = create(group, essay, classmate, quote=QUOTES[1], body="Waiting behind the lock")
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Fresh eyes",
        first_block=blocks[0].anchor,
        last_block=blocks[-1].anchor,
        due_at=SOON + timedelta(days=3),
        post_before_peek=True,
    )
    services.agenda_pin(meeting=meeting, by=membership(group, facilitator), thread=note)

    client.force_login(member)
    assert "Waiting behind the lock" not in text_of(client.get(detail_url(meeting)))
    client.force_login(classmate)
    assert "Waiting behind the lock" in text_of(client.get(detail_url(meeting)))


# --- the pages ----------------------------------------------------------------------------------


def form_data(**fields) -> dict:
    data = {
        "title": "Week 2",
        "date": f"{SOON:%Y-%m-%d}",
        "starts": "19:00",
        "ends": "20:30",
        "link": "https://meet.example/week-2",
        "assignment": "",
    }
    return data | fields


def test_a_facilitator_schedules_a_meeting_in_the_groups_time_zone(client, group, facilitator):
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    client.force_login(facilitator)

    response = client.post(reverse("meetings:create", args=[group.slug]), form_data())

    meeting = Meeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(meeting) + "#agenda"
    local = meeting.starts_at.astimezone(ZoneInfo("America/Chicago"))
    assert (local.hour, local.minute, meeting.duration_minutes) == (19, 0, 90)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ends": "18:00"}, "The meeting ends before it starts"),
        ({"link": "ftp://files.example/x"}, "Only http:// and https://"),
        ({"title": "  "}, "Give the meeting a title"),
        (
            {"date": f"{timezone.now() - timedelta(days=2):%Y-%m-%d}"},
            "Yes, it has already happened",
        ),
    ],
)
def test_bad_input_in_the_form_is_a_clear_error_and_no_change(
    client, group, facilitator, fields, message
):
    client.force_login(facilitator)
    response = client.post(reverse("meetings:create", args=[group.slug]), form_data(**fields))

    assert response.status_code == 400
    assert message in text_of(response)
    assert not Meeting.objects.exists()


def test_another_groups_assignment_is_not_a_choice(
    client, group, other_group, facilitator, other_member, essay
):
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    theirs = assignment_create(
        group=other_group,
        reading=essay,
        created_by=other_member,
        title="Night shift week",
        first_block=blocks[0].anchor,
        last_block=blocks[1].anchor,
        due_at=SOON,
    )
    client.force_login(facilitator)
    response = client.post(
        reverse("meetings:create", args=[group.slug]), form_data(assignment=str(theirs.pk))
    )
    assert response.status_code == 400
    assert "not one of this group's" in text_of(response)
    assert not Meeting.objects.exists()


def test_the_facilitator_pins_a_suggestion_from_the_page(
    client, group, meeting, facilitator, member, comment
):
    reply_to(comment, member)
    client.force_login(facilitator)
    page = text_of(client.get(detail_url(meeting)))
    assert "Suggestions to pin" in page and "Is this the whole premise?" in page

    response = client.post(
        reverse("meetings:agenda_pin", args=[group.slug, meeting.pk]), {"thread": comment.pk}
    )
    assert response.status_code == 302
    assert AgendaItem.objects.get().thread_id == comment.pk


def test_pinning_another_groups_thread_from_the_page_changes_nothing(
    client, group, meeting, facilitator, other_group, other_member, essay
):
    theirs = create(other_group, essay, other_member, quote=QUOTES[2], body="Night talk")
    client.force_login(facilitator)
    response = client.post(
        reverse("meetings:agenda_pin", args=[group.slug, meeting.pk]),
        {"thread": theirs.pk},
        follow=True,
    )
    assert "cannot be pinned here" in text_of(response)
    assert not AgendaItem.objects.exists()


def test_a_recap_posted_to_another_groups_meeting_url_is_a_404(
    client, meeting, other_group, other_member
):
    client.force_login(other_member)
    response = client.post(
        reverse("meetings:recap", args=[other_group.slug, meeting.pk]), {"recap": "Hijacked"}
    )
    assert response.status_code == 404
    assert Meeting.objects.get().recap == ""


def test_the_recap_form_saves_during_the_meeting(client, group, facilitator):
    meeting = schedule(
        group, facilitator, start=timezone.now() - timedelta(minutes=10), in_the_past=True
    )
    client.force_login(facilitator)
    response = client.post(
        reverse("meetings:recap", args=[group.slug, meeting.pk]), {"recap": "We read *well*."}
    )
    assert response.status_code == 302
    assert Meeting.objects.get().recap_html == "<p>We read <em>well</em>.</p>"


def test_cancelling_asks_first_then_keeps_the_meeting_listed(client, group, meeting, facilitator):
    client.force_login(facilitator)
    url = reverse("meetings:cancel", args=[group.slug, meeting.pk])

    asked = client.post(url)
    assert asked.status_code == 200 and "Cancel the meeting" in text_of(asked)
    assert Meeting.objects.get().cancelled_at is None

    client.post(url, {"confirmed": "1"})
    assert Meeting.objects.get().cancelled_at is not None
    listed = text_of(client.get(reverse("meetings:list", args=[group.slug])))
    assert "Cancelled" in listed and meeting.title in listed


def test_removing_a_free_item_asks_first(client, group, meeting, facilitator):
    item = services.agenda_add(meeting=meeting, text="Check-in")
    client.force_login(facilitator)
    url = reverse("meetings:agenda_remove", args=[group.slug, meeting.pk, item.pk])

    assert "Remove the item" in text_of(client.post(url))
    assert AgendaItem.objects.exists()
    client.post(url, {"confirmed": "1"})
    assert not AgendaItem.objects.exists()


# --- the walls ----------------------------------------------------------------------------------

FACILITATOR_PAGES = [
    ("create", "GET", False),
    ("create", "POST", False),
    ("edit", "GET", True),
    ("edit", "POST", True),
    ("cancel", "POST", True),
    ("recap", "POST", True),
    ("agenda_pin", "POST", True),
    ("agenda_add", "POST", True),
    ("agenda_move", "POST", "item"),
    ("agenda_remove", "POST", "item"),
    ("agenda_discussed", "POST", "item"),
]


def page_url(name, group, meeting, item, extra) -> str:
    args = [group.slug]
    if extra:
        args.append(meeting.pk)
    if extra == "item":
        args.append(item.pk)
    return reverse(f"meetings:{name}", args=args)


def state() -> list:
    return [
        list(Meeting.objects.values_list("title", "starts_at", "cancelled_at", "recap")),
        list(AgendaItem.objects.values_list("pk", "position", "text", "discussed_at")),
    ]


@pytest.mark.parametrize(("name", "method", "extra"), FACILITATOR_PAGES)
def test_a_member_gets_403_on_a_facilitators_page(
    client, group, meeting, member, name, method, extra
):
    item = services.agenda_add(meeting=meeting, text="Check-in")
    before = state()
    client.force_login(member)
    url = page_url(name, group, meeting, item, extra)
    data = form_data() | {"text": "Mine", "recap": "Mine", "direction": "up", "confirmed": "1"}

    response = client.get(url) if method == "GET" else client.post(url, data)

    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize(("name", "method", "extra"), FACILITATOR_PAGES)
def test_an_outsider_gets_404_on_a_facilitators_page(
    client, group, meeting, outsider, name, method, extra
):
    item = services.agenda_add(meeting=meeting, text="Check-in")
    before = state()
    client.force_login(outsider)
    url = page_url(name, group, meeting, item, extra)

    response = client.get(url) if method == "GET" else client.post(url, form_data())

    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("name", ["list", "detail"])
def test_an_outsider_gets_404_on_the_members_pages(client, group, meeting, outsider, name):
    client.force_login(outsider)
    args = [group.slug] + ([meeting.pk] if name == "detail" else [])
    assert client.get(reverse(f"meetings:{name}", args=args)).status_code == 404


@pytest.mark.parametrize(
    ("name", "extra"),
    [(n, e) for n, m, e in FACILITATOR_PAGES if m == "POST" and n not in {"create", "edit"}],
)
def test_every_mutating_view_rejects_get(client, group, meeting, facilitator, name, extra):
    item = services.agenda_add(meeting=meeting, text="Check-in")
    before = state()
    client.force_login(facilitator)

    assert client.get(page_url(name, group, meeting, item, extra)).status_code == 405
    assert state() == before


def test_an_archived_group_refuses_the_facilitator_too(client, group, meeting, facilitator):
    group_archive(group=group)
    client.force_login(facilitator)
    response = client.post(reverse("meetings:create", args=[group.slug]), form_data())
    assert response.status_code == 403
    assert Meeting.objects.count() == 1
    assert client.get(detail_url(meeting)).status_code == 200


# --- raise at the meeting, on the thread's page -------------------------------------------------


def thread_url(annotation) -> str:
    return reverse(
        "annotations:thread", args=[annotation.group.slug, annotation.reading.slug, annotation.pk]
    )


def raise_url(annotation, group=None) -> str:
    group = group or annotation.group
    return reverse("meetings:raise", args=[group.slug, annotation.reading.slug, annotation.pk])


def test_a_member_raises_a_thread_from_its_page(client, group, member, classmate, comment):
    services.raise_toggle(membership=membership(group, classmate), thread=comment, raised=True)
    client.force_login(member)
    page = text_of(client.get(thread_url(comment)))
    assert "Raise at the meeting" in page and "Raised by 1" in page
    assert 'aria-pressed="false"' in page

    response = client.post(raise_url(comment), {"raised": "1"})
    assert response.status_code == 302 and response["Location"] == comment.get_absolute_url()
    page = text_of(client.get(thread_url(comment)))
    assert "Raised by 2 (you too)" in page

    client.post(raise_url(comment), {"raised": "0"})
    assert list(Raise.objects.values_list("user_id", flat=True)) == [classmate.pk]


def test_raising_rejects_get_and_walls_the_thread(
    client, group, member, outsider, other_member, other_group, comment, essay
):
    client.force_login(member)
    assert client.get(raise_url(comment)).status_code == 405
    private = create(group, essay, member, quote=QUOTES[1], body="Mine", visibility="private")
    client.force_login(outsider)
    assert client.post(raise_url(comment)).status_code == 404
    client.force_login(other_member)
    assert client.post(raise_url(comment)).status_code == 404
    assert client.post(raise_url(comment, group=other_group)).status_code == 404
    client.force_login(member)
    client.post(raise_url(private))
    assert "Raise at the meeting" not in text_of(client.get(thread_url(private)))
    assert not Raise.objects.exists()


def test_a_hidden_thread_is_a_404_to_raise_for_a_member(client, group, member, facilitator, essay):
    note = create(group, essay, facilitator, quote=QUOTES[1], body="Soon hidden")
    annotation_services.annotation_hide(annotation=note, by=facilitator, note="No")
    client.force_login(member)
    assert client.post(raise_url(note)).status_code == 404
    assert not Raise.objects.exists()


def test_raising_in_an_archived_group_is_refused(client, group, member, comment):
    group_archive(group=group)
    client.force_login(member)
    assert client.post(raise_url(comment)).status_code == 403
    assert "Raise at the meeting" not in text_of(client.get(thread_url(comment)))
    assert not Raise.objects.exists()


def test_a_discussed_thread_says_when_on_its_page(client, group, facilitator, member, comment):
    group.time_zone = "Europe/Berlin"
    group.save(update_fields=["time_zone"])
    start = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
    meeting = Meeting.objects.create(group=group, title="January", starts_at=start)
    AgendaItem.objects.create(meeting=meeting, thread=comment, discussed_at=start)
    client.force_login(member)

    page = text_of(client.get(thread_url(comment)))
    assert "Discussed on 14 Jan" in page
    assert detail_url(meeting) in page


# --- the group home and the site home -----------------------------------------------------------


def test_the_group_home_shows_the_next_meeting_and_the_last_recap(
    client, group, facilitator, member
):
    last = schedule(
        group, facilitator, start=timezone.now() - timedelta(days=7), in_the_past=True,
        title="Week 1",
    )  # fmt: skip
    services.meeting_recap(group=group, meeting=last, recap="We agreed on **strikes**.")
    # A week from now, not from when the module was imported (SOON): a long run reaches this
    # test some minutes later, and "in 6 days, 23 hours" is then right.
    week = timezone.now() + timedelta(days=7)
    schedule(group, facilitator, start=week, title="Week 2", link="https://meet.example/w2")
    client.force_login(member)

    page = text_of(client.get(reverse("groups:detail", args=[group.slug])))

    assert "Next meeting" in page and "Week 2" in page and "in 7 days" in page
    assert "meet.example/w2" in page and "Join the meeting" not in page
    assert "Last meeting" in page and "<strong>strikes</strong>" in page


def test_the_link_is_prominent_from_fifteen_minutes_before(client, group, facilitator, member):
    schedule(
        group, facilitator, start=timezone.now() + timedelta(minutes=10),
        link="https://meet.example/now",
    )  # fmt: skip
    client.force_login(member)

    for address in (reverse("groups:detail", args=[group.slug]), reverse("home")):
        page = text_of(client.get(address))
        assert "Join the meeting" in page and "starts in" in page, address


def test_the_site_home_lists_each_groups_next_meeting_only(
    client, group, other_group, facilitator, member, other_member
):
    schedule(group, facilitator, title="Ours next")
    schedule(group, facilitator, start=SOON + timedelta(days=7), title="Ours later")
    schedule(other_group, other_member, title="Theirs")
    client.force_login(member)

    page = text_of(client.get(reverse("home")))
    assert "Ours next" in page
    assert "Ours later" not in page and "Theirs" not in page


def test_a_cancelled_next_meeting_is_said_so_on_the_group_home(
    client, group, meeting, facilitator, member
):
    services.meeting_cancel(meeting=meeting)
    schedule(group, facilitator, start=SOON + timedelta(days=7), title="The one after")
    client.force_login(member)
    page = text_of(client.get(reverse("groups:detail", args=[group.slug])))
    assert "The one after" in page and "Cancelled" in page


# --- times --------------------------------------------------------------------------------------


def test_a_meeting_reads_in_the_viewers_time_with_the_groups_beside_it():
    meeting = Meeting(starts_at=datetime(2025, 1, 14, 19, 0, tzinfo=UTC), duration_minutes=90)
    label = when_label(
        meeting,
        viewer_zone=ZoneInfo("Europe/Berlin"),
        group_zone=ZoneInfo("UTC"),
        now=NOW,
    )
    assert label == "Tue 14 Jan, 20:00–21:30 your time · 19:00–20:30 in the group's time"
    same = when_label(meeting, viewer_zone=UTC, group_zone=ZoneInfo("UTC"), now=NOW)
    assert same == "Tue 14 Jan, 19:00–20:30"


@pytest.mark.parametrize(
    ("offset", "expected", "phase_name"),
    [
        (timedelta(days=-3), "in 3 days", "upcoming"),
        (timedelta(hours=-5), "in 5 hours", "upcoming"),
        (timedelta(minutes=-40), "starts in 40 minutes", "upcoming"),
        (timedelta(minutes=-10), "starts in 10 minutes", "soon"),
        (timedelta(minutes=30), "now, until 13:30", "running"),
        (timedelta(hours=2), "ended", "ended"),
    ],
)
def test_where_a_meeting_stands(offset, expected, phase_name):
    meeting = Meeting(starts_at=NOW, duration_minutes=90)
    assert relative(meeting, zone=UTC, now=NOW + offset) == expected
    assert phase(meeting, NOW + offset).name == phase_name


# --- the demo's meetings ------------------------------------------------------------------------


def test_the_demo_meetings_are_seeded_once(group, facilitator, member, essay, comment):
    from meetings.seeding import seed_meetings

    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    other = create(group, essay, member, quote=QUOTES[1], body="Who are they?")
    third = create(group, essay, facilitator, quote=QUOTES[2], body="Why strikes?")

    last, coming = seed_meetings(
        group=group, facilitator=facilitator, discussed=[comment, other], pinned=[third, other]
    )
    assert seed_meetings(group=group, facilitator=facilitator) == []

    now = timezone.now()
    last.refresh_from_db()
    assert last.starts_at < now - timedelta(days=6) and last.recap_html
    assert last.agenda.filter(discussed_at__isnull=False).count() == 2
    assert now + timedelta(days=5) < coming.starts_at < now + timedelta(days=7)
    assert coming.starts_at.astimezone(ZoneInfo("America/Chicago")).hour == 19
    assert [(i.thread_id, bool(i.text)) for i in coming.agenda.order_by("position")] == [
        (None, True),
        (third.pk, False),
        (other.pk, False),
    ]
    assert Meeting.objects.count() == 2


def test_a_recap_too_early_says_why_on_the_meetings_page(client, group, meeting, facilitator):
    client.force_login(facilitator)
    response = client.post(
        reverse("meetings:recap", args=[group.slug, meeting.pk]), {"recap": "Early"}, follow=True
    )
    assert "The meeting has not started yet" in text_of(response)
    assert Meeting.objects.get().recap == ""


def test_an_item_too_long_is_shown_beside_the_field(client, group, meeting, facilitator):
    client.force_login(facilitator)
    response = client.post(
        reverse("meetings:agenda_add", args=[group.slug, meeting.pk]), {"text": ""}
    )
    assert response.status_code == 400 and "Write the item." in text_of(response)
    assert not AgendaItem.objects.exists()
