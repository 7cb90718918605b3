"""Notifications in the app: who is told of what (per kind, in the transaction of the thing
itself), what each recipient may still see (the inbox asks the permission tables afresh, so a
notification about something hidden, deleted, made private, withheld by “post before you
peek”, or in a group one left is shown nowhere), the inbox and its unread count, mutes, and
the settings page.

Email (send_notifications, the digest, one-click unsubscribe) is not tested here.
"""

import html
import re
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from annotations import services as annotation_services
from annotations.models import Annotation, Mention
from assignments.contents import blocks_of
from assignments.services import assignment_create
from groups.models import Membership
from groups.services import group_reading_remove, membership_remove, membership_set_role
from meetings.services import meeting_cancel, meeting_create, meeting_recap, meeting_update
from notifications.access import visible_notifications
from notifications.models import Delivery, Email, Kind, Mute, Notification, Preferences
from notifications.services import due_soon_notify
from readings.layout import reading_layout
from tests.annotating import QUOTE, create, prompt_for, reply_to, span

OUTSIDE = "When socialists talk about ordinary people"  # another paragraph, same section
PLACE = "Why the working class"  # the heading of the section holding both quotes
# The inbox page's queries, however many notifications it lists: the session, the user, the
# memberships, the page's count, the page, the unread count.
INBOX_QUERIES = 6


# --- people and things ---------------------------------------------------------------------


@pytest.fixture
def sami(make_user, group):
    """Another member of `group`."""
    user = make_user("sami", display_name="Sami Classmate")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def cofacilitator(make_user, group):
    user = make_user("cora", display_name="Cora Cofacilitator")
    Membership.objects.create(group=group, user=user, role=Membership.Role.FACILITATOR)
    return user


@pytest.fixture
def note(group, essay, member):
    """Maria's note on QUOTE."""
    return create(group, essay, member, body="Is this the whole premise?")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def told(**filters) -> set[str]:
    """The usernames of everyone notified (of what matches `filters`)."""
    rows = Notification.objects.filter(**filters)
    return set(rows.values_list("recipient__username", flat=True))


def told_of(**filters) -> set[tuple[str, str, str]]:
    """(username, kind, event) of every notification (matching `filters`)."""
    rows = Notification.objects.filter(**filters)
    return set(rows.values_list("recipient__username", "kind", "event"))


def seen(user, **filters) -> list[Notification]:
    """What the person may see of their notifications now."""
    return list(visible_notifications(user).filter(**filters))


def inbox_of(user) -> str:
    response = signed_in(user).get(reverse("notifications:inbox"))
    assert response.status_code == 200
    return text_of(response)


def paragraph_of(reading, quote: str):
    """The block (paragraph) that holds the quote."""
    start, _ = span(reading, quote)
    return next(
        b for b in blocks_of(reading_layout(reading)) if b.start <= start < b.start + len(b.text)
    )


def assign(group, essay, facilitator, quote=QUOTE, due_in=timedelta(days=7), **fields):
    """An assignment of the paragraph holding `quote`, due in `due_in`."""
    block = paragraph_of(essay, quote)
    fields.setdefault("title", "Week 1")
    return assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        first_block=block.anchor,
        last_block=block.anchor,
        due_at=timezone.now() + due_in,
        **fields,
    )


def schedule(group, facilitator, starts_in=timedelta(days=7), **fields):
    start = timezone.now() + starts_in
    fields.setdefault("title", "Week 2: Why the working class")
    return meeting_create(
        group=group,
        created_by=facilitator,
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        **fields,
    )


def move(meeting, by, to):
    return meeting_update(
        meeting=meeting,
        title=meeting.title,
        starts_at=to,
        ends_at=to + timedelta(minutes=meeting.duration_minutes),
        by=by,
    )


def recap(meeting, by, text="We chose **Week 3**."):
    return meeting_recap(
        group=meeting.group, meeting=meeting, recap=text, now=meeting.starts_at, by=by
    )


def question_with_reply(group, essay, asker, replier):
    question = create(group, essay, asker, motivation="questioning", body="What is democracy?")
    return question, reply_to(question, replier, body="Rule by all of us.")


# =================================================================================================
# Who is told, per kind
# =================================================================================================


def test_a_reply_to_my_note_tells_me_and_nobody_else(group, note, sami, member, facilitator):
    reply = reply_to(note, sami)

    assert told_of() == {("maria", Kind.REPLY, "reply")}
    notification = Notification.objects.get()
    assert notification.annotation == reply
    assert notification.actor == sami
    assert notification.group == group
    assert notification.place == PLACE
    assert notification.read_at is None


def test_a_reply_in_a_thread_i_took_part_in_tells_me_it_is_in_my_thread(
    note, sami, member, facilitator
):
    first = reply_to(note, sami)
    Notification.objects.all().delete()

    reply_to(first, facilitator, body="Sami, say more.")

    # Sami's words were answered; Maria wrote in the thread; Fran wrote the reply.
    assert told_of() == {("sami", Kind.REPLY, "reply"), ("maria", Kind.REPLY, "thread")}


def test_a_mention_tells_the_member_mentioned_and_links_only_members(
    group, essay, facilitator, member, sami, other_member, other_group, outsider
):
    create(group, essay, facilitator, body="@maria, and @noor and @olga: what do you think?")

    assert told_of() == {("maria", Kind.MENTION, "")}
    assert set(Mention.objects.values_list("user__username", flat=True)) == {"maria"}


def test_a_mention_in_a_reply_to_my_note_tells_me_once_as_a_mention(note, sami, member):
    reply_to(note, sami, body="@maria, I disagree.")

    assert told_of() == {("maria", Kind.MENTION, "")}


def test_an_edit_that_adds_a_mention_tells_the_member_once(group, essay, facilitator, member):
    fran_note = create(group, essay, facilitator, body="A first thought.")
    assert not Notification.objects.exists()

    annotation_services.annotation_update(annotation=fran_note, body="A thought for @maria.")
    annotation_services.annotation_update(annotation=fran_note, body="Still for @maria.")

    assert told_of() == {("maria", Kind.MENTION, "")}
    assert Notification.objects.count() == 1


def test_an_answer_marked_on_my_question_tells_me(group, essay, member, sami, facilitator):
    _, reply = question_with_reply(group, essay, member, sami)
    Notification.objects.all().delete()

    annotation_services.annotation_mark_answer(reply=reply, is_answer=True, by=facilitator)

    assert told_of() == {("maria", Kind.ANSWER, "")}  # not Sami, not Fran
    assert Notification.objects.get().actor == facilitator


def test_marking_the_answer_to_my_own_question_myself_tells_nobody(group, essay, member, sami):
    _, reply = question_with_reply(group, essay, member, sami)
    Notification.objects.all().delete()

    annotation_services.annotation_mark_answer(reply=reply, is_answer=True, by=member)

    assert not Notification.objects.exists()


def test_a_new_assignment_tells_every_member_but_the_facilitator_who_set_it(
    group, essay, facilitator, member, sami, other_group, other_member, outsider
):
    assignment = assign(group, essay, facilitator)

    assert told_of() == {("maria", Kind.ASSIGNMENT, ""), ("sami", Kind.ASSIGNMENT, "")}
    assert set(Notification.objects.values_list("assignment", flat=True)) == {assignment.pk}
    assert Notification.objects.filter(actor=facilitator).count() == 2


def test_a_scheduled_meeting_tells_every_member_but_the_facilitator_who_set_it(
    group, facilitator, member, sami, other_group, other_member
):
    meeting = schedule(group, facilitator)

    assert told_of() == {("maria", Kind.MEETING, "scheduled"), ("sami", Kind.MEETING, "scheduled")}
    assert set(Notification.objects.values_list("meeting", flat=True)) == {meeting.pk}


def test_a_moved_meeting_replaces_the_scheduled_notification(group, facilitator, member, sami):
    meeting = schedule(group, facilitator)

    move(meeting, facilitator, to=meeting.starts_at + timedelta(days=1))

    assert told_of() == {("maria", Kind.MEETING, "moved"), ("sami", Kind.MEETING, "moved")}
    assert Notification.objects.count() == 2


def test_an_edit_that_does_not_move_a_meeting_tells_nobody_anew(group, facilitator, member):
    meeting = schedule(group, facilitator)
    scheduled = Notification.objects.get()

    meeting_update(
        meeting=meeting,
        title="Week 2, renamed",
        starts_at=meeting.starts_at,
        ends_at=meeting.starts_at + timedelta(minutes=meeting.duration_minutes),
        by=facilitator,
    )

    assert list(Notification.objects.all()) == [scheduled]
    assert scheduled.event == "scheduled"


def test_a_cancelled_meeting_replaces_what_members_were_told_of_it(
    group, facilitator, member, sami
):
    meeting = schedule(group, facilitator)
    move(meeting, facilitator, to=meeting.starts_at + timedelta(days=1))

    meeting_cancel(meeting=meeting, by=facilitator)

    assert told_of() == {("maria", Kind.MEETING, "cancelled"), ("sami", Kind.MEETING, "cancelled")}
    assert Notification.objects.count() == 2


def test_a_move_by_another_facilitator_tells_the_one_who_scheduled_it(
    group, facilitator, cofacilitator, member
):
    meeting = schedule(group, facilitator)

    move(meeting, cofacilitator, to=meeting.starts_at + timedelta(hours=2))

    assert told(kind=Kind.MEETING, event="moved") == {"fran", "maria"}


def test_a_recap_tells_every_member_but_its_writer_once(group, facilitator, member, sami):
    meeting = schedule(group, facilitator)
    Notification.objects.all().delete()

    recap(meeting, facilitator)
    recap(meeting, facilitator, text="We chose **Week 3**, and a date.")  # a rewrite

    assert told_of() == {("maria", Kind.RECAP, ""), ("sami", Kind.RECAP, "")}
    assert Notification.objects.count() == 2


def test_a_flag_tells_the_facilitators_only(group, essay, facilitator, cofacilitator, member, sami):
    sami_note = create(group, essay, sami, body="Something rude.")

    annotation_services.annotation_flag(annotation=sami_note, user=member, reason="Rude.")

    assert told_of() == {("fran", Kind.FLAG, ""), ("cora", Kind.FLAG, "")}
    assert set(Notification.objects.values_list("actor__username", flat=True)) == {"maria"}


def test_a_flag_on_a_facilitators_own_note_tells_the_other_facilitators_only(
    group, essay, facilitator, cofacilitator, member
):
    fran_note = create(group, essay, facilitator, body="A facilitator's note.")

    annotation_services.annotation_flag(annotation=fran_note, user=member, reason="Unfair.")

    assert told() == {"cora"}


def test_a_flag_by_a_facilitator_does_not_tell_that_facilitator(
    group, essay, facilitator, cofacilitator, sami
):
    sami_note = create(group, essay, sami, body="Something rude.")

    annotation_services.annotation_flag(annotation=sami_note, user=facilitator, reason="Rude.")

    assert told() == {"cora"}


def test_due_soon_reminds_each_member_who_wrote_nothing_in_the_range_once(
    group, essay, facilitator, member, sami, make_user
):
    lee = make_user("lee", display_name="Lee Lurker")
    Membership.objects.create(group=group, user=lee, role=Membership.Role.MEMBER)
    assignment = assign(group, essay, facilitator, due_in=timedelta(hours=12))
    create(group, essay, member, body="Maria wrote in the range.")
    create(group, essay, sami, quote=OUTSIDE, body="Sami wrote, but outside the range.")

    assert due_soon_notify(now=timezone.now()) == 2
    assert due_soon_notify(now=timezone.now()) == 0  # once only
    assert due_soon_notify(now=timezone.now() + timedelta(hours=1)) == 0

    assert told(kind=Kind.DUE_SOON) == {"sami", "lee"}  # not Maria; not Fran, a facilitator
    assert set(
        Notification.objects.filter(kind=Kind.DUE_SOON).values_list("assignment", flat=True)
    ) == {assignment.pk}


def test_due_soon_waits_until_the_assignment_is_due_within_a_day(group, essay, facilitator, member):
    assignment = assign(group, essay, facilitator, due_in=timedelta(days=3))

    assert due_soon_notify(now=timezone.now()) == 0
    assert due_soon_notify(now=assignment.due_at - timedelta(hours=25)) == 0
    assert due_soon_notify(now=assignment.due_at - timedelta(hours=23)) == 1
    assert due_soon_notify(now=assignment.due_at + timedelta(minutes=1)) == 0  # past due

    assert told(kind=Kind.DUE_SOON) == {"maria"}


def test_a_private_note_or_reply_in_the_range_counts_as_writing_in_it(
    group, essay, facilitator, member
):
    assign(group, essay, facilitator, due_in=timedelta(hours=12))
    create(group, essay, member, body="Only for me.", visibility=Annotation.Visibility.PRIVATE)

    assert due_soon_notify(now=timezone.now()) == 0


def test_nobody_is_told_of_their_own_doing(note, member):
    reply_to(note, member, body="@maria, a reminder to myself.")
    annotation_services.annotation_update(annotation=note, body="Edited, @maria.")

    assert not Notification.objects.exists()


# =================================================================================================
# In the transaction of the thing itself
# =================================================================================================


class RolledBack(Exception):
    pass


def test_a_notification_rolls_back_with_the_reply_it_is_about(note, sami):
    with pytest.raises(RolledBack), transaction.atomic():
        reply = reply_to(note, sami)
        assert Notification.objects.filter(annotation=reply).exists()
        raise RolledBack

    assert not Annotation.objects.filter(parent=note).exists()
    assert not Notification.objects.exists()


def test_a_notification_rolls_back_with_the_meeting_it_is_about(group, facilitator, member):
    with pytest.raises(RolledBack), transaction.atomic():
        meeting = schedule(group, facilitator)
        assert Notification.objects.filter(meeting=meeting).exists()
        raise RolledBack

    assert not Notification.objects.exists()


def test_a_notification_rolls_back_with_the_assignment_it_is_about(
    group, essay, facilitator, member
):
    with pytest.raises(RolledBack), transaction.atomic():
        assignment = assign(group, essay, facilitator)
        assert Notification.objects.filter(assignment=assignment).exists()
        raise RolledBack

    assert not Notification.objects.exists()


def test_a_move_rolled_back_keeps_the_scheduled_notification(group, facilitator, member):
    meeting = schedule(group, facilitator)
    scheduled = Notification.objects.get()

    with pytest.raises(RolledBack), transaction.atomic():
        move(meeting, facilitator, to=meeting.starts_at + timedelta(days=1))
        assert told_of() == {("maria", Kind.MEETING, "moved")}
        raise RolledBack

    assert list(Notification.objects.all()) == [scheduled]


# =================================================================================================
# Shown only while the recipient may see what it is about
# =================================================================================================


def test_a_private_note_mentions_nobody_and_tells_nobody(group, essay, facilitator, member):
    private = create(
        group,
        essay,
        facilitator,
        body="@maria should see this, one day.",
        visibility=Annotation.Visibility.PRIVATE,
    )
    reply_to(private, facilitator, body="And @maria again.")

    assert not Mention.objects.exists()
    assert not Notification.objects.exists()


def test_a_note_made_private_leaves_the_inbox_of_those_it_mentioned(
    group, essay, facilitator, member
):
    fran_note = create(group, essay, facilitator, body="@maria, look.")
    assert len(seen(member)) == 1

    annotation_services.annotation_update(
        annotation=fran_note, visibility=Annotation.Visibility.PRIVATE
    )

    assert seen(member) == []
    assert "mentioned you" not in inbox_of(member)


def test_a_reply_in_a_hidden_thread_leaves_the_inbox_once_it_is_hidden(
    group, essay, facilitator, member, sami
):
    sami_note = create(group, essay, sami, body="Sami's thread.")
    reply_to(sami_note, member, body="Maria takes part.")
    reply_to(sami_note, facilitator, body="Fran answers both.")
    assert "Fran Facilitator replied in a thread you're in" in inbox_of(member)

    annotation_services.annotation_hide(annotation=sami_note, by=facilitator, note="Off topic.")

    assert seen(member) == []
    assert "replied in a thread" not in inbox_of(member)
    # Its author still sees the thread, and so what he was told of it.
    assert {n.event for n in seen(sami, actor=facilitator)} == {"reply"}


def test_a_hidden_reply_leaves_the_inbox(note, member, sami, facilitator):
    reply = reply_to(note, sami, body="Something rude.")
    assert len(seen(member)) == 1

    annotation_services.annotation_hide(annotation=reply, by=facilitator, note="Rude.")

    assert seen(member) == []
    assert "replied to your note" not in inbox_of(member)


@pytest.mark.parametrize("with_replies", [False, True], ids=["removed", "placeholder"])
def test_a_deleted_annotations_notification_leaves_the_inbox(
    group, essay, facilitator, member, sami, with_replies
):
    fran_note = create(group, essay, facilitator, body="@maria, what do you make of it?")
    if with_replies:
        reply_to(fran_note, sami)  # the note leaves “[deleted]” in its place
    assert len(seen(member)) == 1

    annotation_services.annotation_delete(annotation=fran_note)

    assert seen(member) == []
    assert "mentioned you" not in inbox_of(member)


def test_a_deleted_reply_leaves_the_inbox(note, member, sami):
    reply = reply_to(note, sami)

    annotation_services.annotation_delete(annotation=reply)

    assert seen(member) == []


def test_a_note_behind_post_before_peek_tells_no_member_who_has_not_posted_there(
    group, essay, facilitator, member, sami
):
    assign(group, essay, facilitator, post_before_peek=True)
    create(group, essay, sami, body="Sami posted in the range.")
    Notification.objects.all().delete()

    create(group, essay, facilitator, body="@maria and @sami: is this the premise?")

    assert told() == {"sami"}


def test_a_reply_behind_post_before_peek_tells_no_one_who_has_not_posted_there(
    group, essay, facilitator, member, sami
):
    assign(group, essay, facilitator, post_before_peek=True)
    highlight = create(group, essay, member, body="")  # a bare highlight is not posting
    create(group, essay, sami, body="Sami posted in the range.")
    Notification.objects.all().delete()

    reply_to(highlight, sami, body="Why this sentence?")

    assert not Notification.objects.exists()


def test_a_lock_that_starts_later_withholds_the_notification_until_the_member_posts(
    group, essay, facilitator, member, sami
):
    highlight = create(group, essay, member, body="")
    reply_to(highlight, sami, body="Why this sentence?")
    assert len(seen(member)) == 1

    assign(group, essay, facilitator, post_before_peek=True)
    assert seen(member, kind=Kind.REPLY) == []
    assert "replied to your highlight" not in inbox_of(member)

    create(group, essay, member, body="Maria posts her own note.")
    assert len(seen(member, kind=Kind.REPLY)) == 1


def test_a_prompt_in_a_locked_range_is_shown_so_its_mention_is_told(
    group, essay, facilitator, member
):
    assignment = assign(group, essay, facilitator, post_before_peek=True)
    Notification.objects.all().delete()

    prompt_for(assignment, facilitator, body="@maria, what does “from below” mean?")

    assert told_of() == {("maria", Kind.MENTION, "")}
    assert len(seen(member)) == 1


def test_a_reading_the_group_no_longer_reads_takes_its_notes_notifications_along(
    group, essay, facilitator, note, member, sami
):
    reply_to(note, sami)
    schedule(group, facilitator)

    group_reading_remove(group=group, reading=essay)

    assert Annotation.objects.filter(pk=note.pk).exists()  # what was written stays
    assert {n.kind for n in seen(member)} == {Kind.MEETING}


@pytest.fixture
def every_kind(group, essay, facilitator, member, sami):
    """Maria told of one thing of every kind a member hears of, in `group`."""
    note = create(group, essay, member, body="Maria's note.")
    reply_to(note, sami)
    create(group, essay, sami, quote=OUTSIDE, body="For @maria.")
    _, reply = question_with_reply(group, essay, member, sami)
    annotation_services.annotation_mark_answer(reply=reply, is_answer=True, by=facilitator)
    assign(group, essay, facilitator, quote=OUTSIDE, due_in=timedelta(hours=12))
    recap(schedule(group, facilitator), facilitator)
    due_soon_notify(now=timezone.now())
    kinds = {n.kind for n in seen(member)}
    assert kinds == set(Kind.values) - {Kind.FLAG}, kinds


def test_a_member_who_leaves_sees_none_of_the_groups_notifications(
    every_kind, group, member, other_group, other_member, essay
):
    Membership.objects.create(group=other_group, user=member, role=Membership.Role.MEMBER)
    schedule(other_group, other_member, title="Night shift meeting")

    membership_remove(membership=Membership.objects.get(group=group, user=member))

    assert {(n.group, n.kind) for n in seen(member)} == {(other_group, Kind.MEETING)}
    page = inbox_of(member)
    assert "Night shift meeting" in page
    assert "Tuesday Reading Circle" not in page
    assert "1 unread" in page
    unread = signed_in(member).get(reverse("notifications:unread")).json()["unread"]
    assert unread == 1


def test_a_facilitator_demoted_to_member_no_longer_sees_flags(
    group, essay, facilitator, cofacilitator, member, sami
):
    sami_note = create(group, essay, sami, body="Something rude.")
    annotation_services.annotation_flag(annotation=sami_note, user=member, reason="Rude.")
    assert "Maria Member flagged" in inbox_of(facilitator)

    membership_set_role(
        membership=Membership.objects.get(group=group, user=facilitator),
        role=Membership.Role.MEMBER,
    )

    assert seen(facilitator) == []
    assert "flagged" not in inbox_of(facilitator)
    assert len(seen(cofacilitator, kind=Kind.FLAG)) == 1


def test_a_member_never_sees_a_flag_notification(group, essay, facilitator, member, sami):
    """Even one written to them by mistake (a row the permission tables refuse)."""
    sami_note = create(group, essay, sami, body="Something rude.")
    Notification.objects.create(
        recipient=member,
        group=group,
        kind=Kind.FLAG,
        annotation=sami_note,
        created_at=timezone.now(),
    )

    assert seen(member) == []


def test_an_answer_unmarked_leaves_the_inbox(group, essay, member, sami, facilitator):
    _, reply = question_with_reply(group, essay, member, sami)
    annotation_services.annotation_mark_answer(reply=reply, is_answer=True, by=facilitator)
    assert len(seen(member, kind=Kind.ANSWER)) == 1

    annotation_services.annotation_mark_answer(reply=reply, is_answer=False, by=facilitator)

    assert seen(member, kind=Kind.ANSWER) == []
    assert "marked an answer" not in inbox_of(member)


def test_a_flag_resolved_by_hiding_the_note_leaves_the_inbox(
    group, essay, facilitator, member, sami
):
    sami_note = create(group, essay, sami, body="Something rude.")
    annotation_services.annotation_flag(annotation=sami_note, user=member, reason="Rude.")
    assert len(seen(facilitator, kind=Kind.FLAG)) == 1

    annotation_services.annotation_hide(annotation=sami_note, by=facilitator, note="Rude.")

    assert seen(facilitator, kind=Kind.FLAG) == []
    assert "flagged" not in inbox_of(facilitator)


def test_another_groups_member_is_never_told_of_this_group(
    every_kind, other_member, other_group, outsider
):
    assert not Notification.objects.filter(recipient__in=[other_member, outsider]).exists()


# =================================================================================================
# The inbox
# =================================================================================================


def test_the_inbox_shows_the_headline_group_and_passage(note, member, sami):
    reply_to(note, sami, body="Not the whole premise, no.")

    page = inbox_of(member)

    assert "Sami Classmate replied to your note" in page
    assert "Tuesday Reading Circle" in page
    assert PLACE in page
    assert QUOTE in page
    assert "Not the whole premise, no." in page
    assert "1 unread" in page
    assert "Mark all read" in page


def test_the_inbox_shows_names_and_words_as_text_not_markup(group, essay, note, member, sami):
    sami.display_name = "<b>Sami</b>"
    sami.save(update_fields=["display_name"])
    reply_to(note, sami, body="<script>alert(1)</script> plain words")

    page = signed_in(member).get(reverse("notifications:inbox")).content.decode()

    assert "&lt;b&gt;Sami&lt;/b&gt; replied to your note" in page
    assert "<b>Sami</b>" not in page
    assert "<script>alert(1)" not in page


def test_an_empty_inbox_says_so(member, group):
    page = inbox_of(member)

    assert "Nothing here yet." in page
    assert "Mark all read" not in page


def test_mark_all_read_marks_every_notification_of_mine_read(group, facilitator, member, sami):
    schedule(group, facilitator)
    schedule(group, facilitator, starts_in=timedelta(days=14), title="Week 3")

    client = signed_in(member)

    response = client.post(reverse("notifications:mark_all"))

    assert response.status_code == 302
    assert response.url == reverse("notifications:inbox")
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=sami, read_at__isnull=True).count() == 2
    page = text_of(client.get(response.url))
    assert "All caught up" in page
    assert "Mark all read" not in page
    assert "Marked 2 notifications read." in page


def test_the_inbox_can_show_only_what_is_unread(group, facilitator, member):
    schedule(group, facilitator, title="Already read")
    Notification.objects.update(read_at=timezone.now())
    schedule(group, facilitator, starts_in=timedelta(days=14), title="Not read yet")
    client = signed_in(member)

    everything = text_of(client.get(reverse("notifications:inbox")))
    unread = text_of(client.get(reverse("notifications:inbox"), {"show": "unread"}))

    assert "Already read" in everything and "Not read yet" in everything
    assert "Already read" not in unread and "Not read yet" in unread


def test_marking_read_goes_back_to_a_page_of_this_site_only(group, facilitator, member):
    schedule(group, facilitator)
    url = reverse("notifications:mark", args=[Notification.objects.get().pk])
    client = signed_in(member)

    here = client.post(url, {"read": "1", "next": "/notifications/?show=unread"})
    away = client.post(url, {"read": "1", "next": "https://evil.example/"})

    assert here.url == "/notifications/?show=unread"
    assert away.url == reverse("notifications:inbox")


def test_one_notification_is_marked_read_and_unread(group, facilitator, member):
    schedule(group, facilitator)
    notification = Notification.objects.get()
    client = signed_in(member)
    url = reverse("notifications:mark", args=[notification.pk])

    response = client.post(url, {"read": "1"})
    assert response.status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "All caught up" in text_of(client.get(reverse("notifications:inbox")))

    client.post(url, {"read": "0"})
    notification.refresh_from_db()
    assert notification.read_at is None
    assert "1 unread" in text_of(client.get(reverse("notifications:inbox")))


def test_opening_a_notification_marks_it_read_and_opens_the_reading_at_the_thread(
    group, essay, note, member, sami
):
    reply = reply_to(note, sami)
    notification = Notification.objects.get()

    response = signed_in(member).get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    reading = reverse("annotations:reading", args=[group.slug, essay.slug])
    assert response.url == f"{reading}#a-{reply.pk}"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_meeting_notification_opens_the_meeting(group, facilitator, member):
    meeting = schedule(group, facilitator)
    notification = Notification.objects.get()

    response = signed_in(member).get(reverse("notifications:open", args=[notification.pk]))

    assert response.url == reverse("meetings:detail", args=[group.slug, meeting.pk])


@pytest.mark.parametrize("who", ["sami", "other_member", "outsider"])
def test_another_persons_notification_answers_404_on_open_and_mark(
    request, group, facilitator, member, who
):
    person = request.getfixturevalue(who)
    schedule(group, facilitator)
    notification = Notification.objects.get(recipient=member)
    client = signed_in(person)

    assert client.get(reverse("notifications:open", args=[notification.pk])).status_code == 404
    mark = reverse("notifications:mark", args=[notification.pk])
    assert client.post(mark, {"read": "1"}).status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_a_notification_no_longer_visible_answers_404_on_open(note, member, sami, facilitator):
    reply = reply_to(note, sami)
    notification = Notification.objects.get()
    annotation_services.annotation_hide(annotation=reply, by=facilitator, note="Rude.")

    response = signed_in(member).get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["mark_all", "mark", "mute_group", "mute_thread"])
def test_the_post_only_views_reject_get(group, essay, note, member, name):
    args = {
        "mark_all": [],
        "mark": [1],
        "mute_group": [group.slug],
        "mute_thread": [group.slug, essay.slug, note.pk],
    }[name]

    response = signed_in(member).get(reverse(f"notifications:{name}", args=args))

    assert response.status_code == 405
    assert not Mute.objects.exists()


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("inbox", [], "get"),
        ("unread", [], "get"),
        ("settings", [], "get"),
        ("open", [1], "get"),
        ("mark", [1], "post"),
        ("mark_all", [], "post"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(db, name, args, method):
    response = getattr(Client(), method)(reverse(f"notifications:{name}", args=args))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_unread_count_is_json_with_an_etag_that_answers_304_while_unchanged(
    group, facilitator, member
):
    schedule(group, facilitator)
    schedule(group, facilitator, starts_in=timedelta(days=14), title="Week 3")
    client = signed_in(member)
    url = reverse("notifications:unread")

    response = client.get(url)
    assert response.status_code == 200
    assert response.json()["unread"] == 2
    etag = response["ETag"]
    assert etag
    assert "private" in response["Cache-Control"]

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag

    client.post(reverse("notifications:mark_all"))
    changed = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["unread"] == 0
    assert changed["ETag"] != etag


def test_the_unread_count_leaves_out_what_the_member_may_no_longer_see(
    note, member, sami, facilitator
):
    reply = reply_to(note, sami)
    annotation_services.annotation_hide(annotation=reply, by=facilitator, note="Rude.")

    response = signed_in(member).get(reverse("notifications:unread"))

    assert response.json()["unread"] == 0


def _fill(group, essay, facilitator, member, sami, count):
    """Exactly `count` notifications for Maria, of every kind a member hears of in the inbox
    (an answer comes with the reply it marks, a recap with its meeting)."""
    note = create(group, essay, member, body="Maria's note.")

    def answer(i):
        _, reply = question_with_reply(group, essay, member, sami)
        annotation_services.annotation_mark_answer(reply=reply, is_answer=True, by=facilitator)

    def meeting_and_recap(i):
        recap(
            schedule(group, facilitator, starts_in=timedelta(days=i), title=f"Met {i}"), facilitator
        )

    steps = [
        (1, lambda i: reply_to(note, sami, body=f"Reply {i}.")),
        (1, lambda i: create(group, essay, sami, quote=OUTSIDE, body=f"@maria, number {i}.")),
        (1, lambda i: assign(group, essay, facilitator, title=f"Week {i}")),
        (1, lambda i: schedule(group, facilitator, starts_in=timedelta(days=i), title=f"M {i}")),
        (2, answer),
        (2, meeting_and_recap),
    ]
    made = i = 0
    while made < count:
        told_now, step = steps[i % len(steps)]
        i += 1
        if made + told_now <= count:
            step(i)
            made += told_now
    assert Notification.objects.filter(recipient=member).count() == count


@pytest.mark.parametrize("count", [3, 30])
@pytest.mark.parametrize(
    ("locked", "expected"),
    [(False, INBOX_QUERIES), (True, INBOX_QUERIES + 1)],
    ids=["no-lock", "post-before-peek"],
)
def test_the_inbox_costs_the_same_queries_however_many_notifications_it_lists(
    group, essay, facilitator, member, sami, count, locked, expected
):
    """With “post before you peek” open in the group, one more: the member's locks."""
    if locked:
        assign(group, essay, facilitator, quote=OUTSIDE, post_before_peek=True, title="Locked")
        create(group, essay, member, quote=OUTSIDE, body="Maria posted: her lock is lifted.")
        Notification.objects.all().delete()
    _fill(group, essay, facilitator, member, sami, count)
    client = signed_in(member)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("notifications:inbox"))

    assert response.status_code == 200
    assert text_of(response).count('<li class="inbox-item') == count
    assert len(queries) == expected, "\n".join(q["sql"] for q in queries)


# =================================================================================================
# Mutes
# =================================================================================================


def mute_thread_url(group, essay, annotation) -> str:
    return reverse("notifications:mute_thread", args=[group.slug, essay.slug, annotation.pk])


def test_a_muted_thread_tells_nothing_of_its_replies(group, essay, note, member, sami):
    other_note = create(group, essay, member, quote=OUTSIDE, body="Another thread.")
    client = signed_in(member)

    response = client.post(mute_thread_url(group, essay, note))
    assert response.status_code == 302
    reply_to(note, sami, body="Nobody hears this.")
    reply_to(other_note, sami, body="This one is heard.")

    assert Mute.objects.filter(user=member, thread=note).exists()
    assert {n.annotation.parent for n in Notification.objects.all()} == {other_note}

    client.post(mute_thread_url(group, essay, note), {"muted": "0"})
    reply_to(note, sami, body="Heard again.")

    assert not Mute.objects.exists()
    assert Notification.objects.filter(annotation__parent=note).count() == 1


def test_muting_a_thread_from_one_of_its_replies_mutes_the_whole_thread(
    group, essay, note, member, sami
):
    reply = reply_to(note, sami)

    signed_in(member).post(mute_thread_url(group, essay, reply))

    assert Mute.objects.get(user=member).thread == note


def test_a_muted_group_tells_nothing_at_all(group, essay, facilitator, member, sami, note):
    response = signed_in(member).post(reverse("notifications:mute_group", args=[group.slug]))
    assert response.status_code == 302
    assert Mute.objects.filter(user=member, group=group, thread=None).exists()

    reply_to(note, sami)
    create(group, essay, sami, quote=OUTSIDE, body="For @maria.")
    assign(group, essay, facilitator, due_in=timedelta(hours=12))
    meeting = schedule(group, facilitator)
    recap(meeting, facilitator)
    due_soon_notify(now=timezone.now())

    assert not Notification.objects.filter(recipient=member).exists()
    assert told(kind=Kind.ASSIGNMENT) == {"sami"}  # the others still hear


def test_a_group_unmuted_is_heard_again(group, facilitator, member):
    client = signed_in(member)
    client.post(reverse("notifications:mute_group", args=[group.slug]))
    client.post(reverse("notifications:mute_group", args=[group.slug]), {"muted": "0"})

    schedule(group, facilitator)

    assert told() == {"maria"}


@pytest.mark.parametrize("who", ["other_member", "outsider"])
def test_a_non_member_muting_a_group_or_thread_gets_404(request, group, essay, note, who):
    client = signed_in(request.getfixturevalue(who))

    assert client.post(reverse("notifications:mute_group", args=[group.slug])).status_code == 404
    assert client.post(mute_thread_url(group, essay, note)).status_code == 404
    assert not Mute.objects.exists()


def test_a_member_cannot_mute_a_thread_they_may_not_see(group, essay, facilitator, sami):
    private = create(
        group, essay, facilitator, body="Only mine.", visibility=Annotation.Visibility.PRIVATE
    )

    response = signed_in(sami).post(mute_thread_url(group, essay, private))

    assert response.status_code == 404
    assert not Mute.objects.exists()


def test_the_thread_page_shows_a_mute_thread_button(group, essay, note, member):
    client = signed_in(member)
    thread = reverse("annotations:thread", args=[group.slug, essay.slug, note.pk])

    page = text_of(client.get(thread))
    assert "Mute thread" in page
    assert f'action="{mute_thread_url(group, essay, note)}"' in page

    client.post(mute_thread_url(group, essay, note))
    page = text_of(client.get(thread))
    assert 'aria-pressed="true"' in page
    assert 'aria-pressed="true"' in page


def test_the_thread_page_says_when_the_whole_group_is_muted(group, essay, note, member):
    client = signed_in(member)
    client.post(reverse("notifications:mute_group", args=[group.slug]))

    page = text_of(
        client.get(reverse("annotations:thread", args=[group.slug, essay.slug, note.pk]))
    )

    assert "You've muted Tuesday Reading Circle" in page
    assert "Mute thread" not in page


# =================================================================================================
# Settings
# =================================================================================================


def choices(**overrides) -> dict:
    """A full settings form: every kind by email straight away, the digest at 18:00."""
    return {**dict.fromkeys(Kind.values, Delivery.IMMEDIATELY), "digest_hour": "18", **overrides}


def radios(page: str, kind: str) -> set[str]:
    return set(re.findall(rf'<input type="radio" name="{kind}" value="(\w+)"', page))


def test_the_settings_page_offers_a_choice_for_each_kind_a_member_hears_of(group, member):
    response = signed_in(member).get(reverse("notifications:settings"))

    assert response.status_code == 200
    page = text_of(response)
    for kind in set(Kind) - {Kind.FLAG}:
        assert kind.label in page
        assert radios(page, kind.value) == set(Delivery.values), kind
    assert "Flags for facilitators" not in page
    assert radios(page, Kind.FLAG) == set()


def test_the_settings_page_offers_flags_to_facilitators(group, facilitator):
    page = text_of(signed_in(facilitator).get(reverse("notifications:settings")))

    assert "Flags for facilitators" in page
    assert radios(page, Kind.FLAG) == set(Delivery.values)


def test_settings_are_saved_with_the_digest_hour(group, member):
    response = signed_in(member).post(
        reverse("notifications:settings"),
        choices(reply=Delivery.OFF, meeting=Delivery.DIGEST, digest_hour="18"),
    )

    assert response.status_code == 302
    assert response.url == reverse("notifications:settings")
    saved = Preferences.objects.get(user=member)
    assert (saved.reply, saved.meeting, saved.mention) == ("off", "digest", "immediately")
    assert saved.digest_hour == 18


@pytest.mark.parametrize(
    ("field", "value"), [("reply", "loudly"), ("digest_hour", "25"), ("meeting", "")]
)
def test_an_invalid_choice_answers_400_with_a_field_error_and_changes_nothing(
    group, member, field, value
):
    Preferences.objects.create(user=member, reply=Delivery.DIGEST, digest_hour=7)

    response = signed_in(member).post(
        reverse("notifications:settings"), choices(**{field: value}, mention=Delivery.OFF)
    )

    assert response.status_code == 400
    page = text_of(response)
    assert re.search(r"Select a valid choice|This field is required", page)
    assert 'role="alert"' in page
    saved = Preferences.objects.get(user=member)
    assert (saved.reply, saved.mention, saved.digest_hour) == ("digest", "immediately", 7)


def test_a_kind_turned_off_still_reaches_the_inbox_but_not_email(group, facilitator, member):
    Preferences.objects.create(user=member, meeting=Delivery.OFF)

    schedule(group, facilitator)

    notification = Notification.objects.get(recipient=member)
    assert notification.email == Email.NONE
    assert "Meeting scheduled" in inbox_of(member)


# =================================================================================================
# Known bugs (each xfail documents what is wrong and where)
# =================================================================================================


def test_marking_the_same_answer_again_does_not_tell_the_asker_twice(
    group, essay, member, sami, facilitator
):
    _, reply = question_with_reply(group, essay, member, sami)
    mark = annotation_services.annotation_mark_answer

    mark(reply=reply, is_answer=True, by=facilitator)
    mark(reply=reply, is_answer=False, by=facilitator)
    mark(reply=reply, is_answer=True, by=facilitator)

    assert len(seen(member, kind=Kind.ANSWER)) == 1


def test_a_recap_cleared_and_written_again_does_not_tell_members_twice(group, facilitator, member):
    meeting = schedule(group, facilitator)

    recap(meeting, facilitator, text="First try.")
    recap(meeting, facilitator, text="")
    recap(meeting, facilitator, text="Second try.")

    assert len(seen(member, kind=Kind.RECAP)) == 1


def test_a_private_note_shared_with_the_group_tells_the_members_it_mentions(
    group, essay, facilitator, member
):
    private = create(group, essay, facilitator, body="@maria, once I dare.", visibility="private")

    annotation_services.annotation_update(annotation=private, visibility="group")

    assert Mention.objects.filter(annotation=private, user=member).exists()
    assert told_of() == {("maria", Kind.MENTION, "")}
