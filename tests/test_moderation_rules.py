"""Moderation holds on every path (issue 13, findings 7, 8 and 9), and a stale edit is refused.

- A hidden thread takes no more replies, from anyone: not through the form, the API, an import
  or the service itself (a thread hidden while someone was writing).
- A flagged note cannot be made private (out of the facilitators' sight) until a facilitator
  has looked at the flag: dismissed it, or hidden the note.
- An archived group freezes who is in it: no removing, promoting or demoting; the archive
  confirmation says what stops and what still works, and unarchiving restores it all.
- Two edits of one annotation drawn from the same version: the first wins, the second gets
  412 with the version saved meanwhile and its own words kept.
"""

import json
import re

import pytest
from django.urls import reverse

from annotations import services
from annotations.access import HIDDEN_THREAD_MESSAGE, Action, permits
from annotations.models import Annotation, Flag
from groups.access import (
    ARCHIVE_FREEZES,
    ARCHIVE_KEEPS,
    GROUP_PERMISSIONS,
    GroupAction,
    GroupArchived,
    group_active,
)
from groups.models import InviteLink, Membership
from groups.services import (
    group_archive,
    group_unarchive,
    invite_link_create,
    membership_remove,
    membership_set_role,
)
from tests.annotating import create, reply_to
from tests.test_imports import (
    HYPOTHESIS,
    confirm_url,
    hypothesis_data,
    import_file,
    signed_in,
    token_of,
    upload,
)


def url(name, item, *args):
    return reverse(name, args=[item.group.slug, item.reading.slug, *args])


def api_url(item):
    return url("annotations:annotation", item, item.pk)


def member_of(group, user):
    return Membership.objects.select_related("group").get(group=group, user=user)


@pytest.fixture
def classmate(group, make_user):
    user = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


# --- 7. a hidden thread takes no more replies ---------------------------------------------------


@pytest.fixture
def hidden_thread(group, essay, member, facilitator, classmate):
    """Maria's comment with Sam's reply under it; then Fran hid the comment."""
    root = create(group, essay, member, body="Off the point.")
    answer = reply_to(root, classmate, body="An answer already there.")
    services.annotation_hide(annotation=root, by=facilitator, note="Off topic")
    root.refresh_from_db()
    return root, answer


def replies_count():
    return Annotation.objects.filter(parent__isnull=False).count()


@pytest.mark.parametrize("who", ["member", "facilitator"])
def test_the_form_refuses_a_reply_under_a_hidden_thread_and_keeps_the_words(
    request, client, hidden_thread, who
):
    root, answer = hidden_thread
    client.force_login(request.getfixturevalue(who))  # Maria wrote it; Fran hid it
    before = replies_count()
    for parent in ("", answer.pk):
        response = client.post(
            url("annotations:reply", root, root.pk), {"body": "Still, one more.", "parent": parent}
        )
        assert response.status_code == 403
        html = response.content.decode()
        assert HIDDEN_THREAD_MESSAGE in html
        assert "Still, one more." in html  # kept, to copy
        assert "data-reply-refused" in html
    assert replies_count() == before


def test_a_member_who_sees_only_the_replies_cannot_add_one_either(client, hidden_thread, classmate):
    root, answer = hidden_thread
    client.force_login(classmate)
    before = replies_count()
    response = client.post(url("annotations:reply", answer, answer.pk), {"body": "Me too."})
    assert response.status_code == 403
    assert HIDDEN_THREAD_MESSAGE in response.content.decode()
    assert replies_count() == before


@pytest.mark.parametrize("who", ["member", "facilitator"])
def test_the_thread_page_offers_no_reply_and_says_why(request, client, hidden_thread, who):
    root, answer = hidden_thread
    client.force_login(request.getfixturevalue(who))
    html = client.get(url("annotations:thread", root, root.pk)).content.decode()
    assert f'id="reply-form-{root.pk}"' not in html
    assert "data-reply=" not in html
    assert "A facilitator hid this thread: it takes no more replies" in html


@pytest.mark.parametrize("who", ["member", "facilitator"])
def test_the_api_refuses_a_reply_under_a_hidden_thread(request, client, hidden_thread, who):
    root, answer = hidden_thread
    client.force_login(request.getfixturevalue(who))
    before = replies_count()
    for target in (root, answer):
        response = client.post(
            url("annotations:container", root),
            json.dumps(
                {
                    "type": "Annotation",
                    "motivation": "replying",
                    "bodyValue": "Through the API.",
                    "target": "http://testserver" + api_url(target),
                }
            ),
            content_type="application/ld+json",
        )
        assert response.status_code == 403
        assert response.json() == {"error": HIDDEN_THREAD_MESSAGE, "status": 403}
    assert replies_count() == before


def test_a_hidden_reply_takes_no_replies_though_its_thread_does(
    client, group, essay, member, facilitator, classmate
):
    root = create(group, essay, member, body="A fair question.")
    rude = reply_to(root, classmate, body="A rude answer.")
    services.annotation_hide(annotation=rude, by=facilitator, note="Be kind")
    for who in (classmate, facilitator):
        client.force_login(who)
        response = client.post(
            url("annotations:reply", root, root.pk), {"body": "Under it.", "parent": rude.pk}
        )
        assert response.status_code == 403
    assert not Annotation.objects.filter(parent=rude).exists()
    response = client.post(url("annotations:reply", root, root.pk), {"body": "To the root."})
    assert response.status_code == 302
    assert Annotation.objects.filter(parent=root, body="To the root.").exists()


def test_a_thread_hidden_while_someone_writes_refuses_the_reply_in_the_service(
    group, essay, member, facilitator, hidden_thread
):
    """Every reply path (form, API, import) ends in annotation_create, which asks again of
    the rows it locks."""
    root, answer = hidden_thread
    before = replies_count()
    for parent in (root, answer):
        with pytest.raises(services.AnnotationError) as refused:
            reply_to(parent, facilitator, body="Written before the hide.")
        assert str(refused.value) == HIDDEN_THREAD_MESSAGE
        assert refused.value.status == 403
    assert replies_count() == before


def late_reply_file() -> dict:
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
    return data


def hide_imported_thread(facilitator):
    root = Annotation.objects.get(import_key="hypothesis:Hq1curlyQUOTES")
    services.annotation_hide(annotation=root, by=facilitator, note="Off topic")
    return root


def test_an_import_does_not_reply_under_a_hidden_thread(group, essay, facilitator):
    """The importer goes under a note already here only where the table lets its
    facilitator reply: a hidden thread's reply is left out, with the reason."""
    client = signed_in(facilitator)
    import_file(client, group, essay, HYPOTHESIS.read_bytes())
    hide_imported_thread(facilitator)
    preview = upload(client, group, essay, json.dumps(late_reply_file()).encode())
    assert "not open to your reply" in preview.content.decode()
    client.post(confirm_url(group, essay), {"preview": token_of(preview)})
    assert not Annotation.objects.filter(import_key="hypothesis:HqNewReply").exists()


def test_a_thread_hidden_between_preview_and_import_takes_no_reply(group, essay, facilitator):
    """The import plans again when confirmed, as things are then (and annotation_create asks
    once more under its lock, as the service test above shows)."""
    client = signed_in(facilitator)
    import_file(client, group, essay, HYPOTHESIS.read_bytes())
    preview = upload(client, group, essay, json.dumps(late_reply_file()).encode())
    assert "not open to your reply" not in preview.content.decode()
    hide_imported_thread(facilitator)
    client.post(confirm_url(group, essay), {"preview": token_of(preview)})
    assert not Annotation.objects.filter(import_key="hypothesis:HqNewReply").exists()


def test_showing_the_thread_again_reopens_it(client, hidden_thread, member, facilitator):
    root, _ = hidden_thread
    client.force_login(facilitator)
    client.post(url("annotations:hide", root, root.pk), {"action": "unhide"})
    client.force_login(member)
    response = client.post(url("annotations:reply", root, root.pk), {"body": "Open again."})
    assert response.status_code == 302
    assert Annotation.objects.filter(parent=root, body="Open again.").exists()


# --- 8. a flagged note stays in sight until a facilitator has looked -----------------------------


@pytest.fixture
def flagged(group, essay, member, classmate):
    note = create(group, essay, member, body="A sharp remark.")
    services.annotation_flag(annotation=note, user=classmate, reason="Unkind.")
    return note


FLAGGED = "Someone flagged this thread for the facilitators"


@pytest.fixture
def thread_flagged(group, essay, member, classmate):
    """A thread whose own reply (not its first note) is flagged: the first note may still be
    edited, but not made private."""
    note = create(group, essay, member, body="A sharp remark.")
    mine = reply_to(note, member, body="And more.")
    services.annotation_flag(annotation=mine, user=classmate, reason="Unkind.")
    return note


def edit_data(note, **changes):
    data = {"body": note.body, "tags": "", "kind": note.motivation, "visibility": note.visibility}
    return {**data, **changes}


def test_the_edit_page_shows_only_me_refused_with_the_reason(client, thread_flagged, member):
    client.force_login(member)
    html = client.get(url("annotations:edit", thread_flagged, thread_flagged.pk)).content.decode()
    radio = re.search(r'<input type="radio" name="visibility" value="private"[^>]*>', html)
    assert "disabled" in radio.group(0)
    assert FLAGGED in html


def test_the_form_refuses_to_make_a_flagged_note_private(
    client, thread_flagged, member, facilitator
):
    client.force_login(member)
    response = client.post(
        url("annotations:edit", thread_flagged, thread_flagged.pk),
        edit_data(thread_flagged, visibility="private"),
    )
    assert response.status_code == 400
    assert FLAGGED in response.content.decode()
    thread_flagged.refresh_from_db()
    assert thread_flagged.visibility == Annotation.Visibility.GROUP
    client.force_login(facilitator)
    assert (
        client.get(url("annotations:thread", thread_flagged, thread_flagged.pk)).status_code == 200
    )


def test_the_api_refuses_to_make_a_flagged_note_private(client, thread_flagged, member):
    client.force_login(member)
    response = client.put(
        api_url(thread_flagged),
        json.dumps(
            {"type": "Annotation", "bodyValue": thread_flagged.body, "visibility": "private"}
        ),
        content_type="application/ld+json",
    )
    assert response.status_code == 409
    assert response.json()["error"].startswith(FLAGGED)
    thread_flagged.refresh_from_db()
    assert thread_flagged.visibility == Annotation.Visibility.GROUP


HELD = "Someone flagged this for the facilitators: its words stay as they are"


def test_its_author_cannot_delete_a_flagged_note_by_form_or_api(client, flagged, member):
    """Else the flagged words would be gone before a facilitator saw them."""
    client.force_login(member)
    response = client.post(url("annotations:delete", flagged, flagged.pk), {"confirmed": "1"})
    assert response.status_code == 403
    assert HELD in response.content.decode()
    response = client.delete(api_url(flagged))
    assert response.status_code == 403
    assert response.json()["error"].startswith(HELD)
    flagged.refresh_from_db()
    assert not flagged.is_deleted
    assert Flag.objects.filter(annotation=flagged, resolved_at__isnull=True).exists()


def test_its_author_cannot_change_a_flagged_notes_words_by_form_or_api(client, flagged, member):
    client.force_login(member)
    response = client.post(
        url("annotations:edit", flagged, flagged.pk), edit_data(flagged, body="Innocent text.")
    )
    assert response.status_code == 403
    assert HELD in response.content.decode()
    response = client.put(
        api_url(flagged),
        json.dumps({"type": "Annotation", "bodyValue": "Innocent text."}),
        content_type="application/ld+json",
    )
    assert response.status_code == 403
    assert response.json()["error"].startswith(HELD)
    flagged.refresh_from_db()
    assert flagged.body == "A sharp remark."


def test_a_flag_raised_while_editing_still_holds_the_words(group, essay, member, classmate):
    """The services ask again under the row lock: a flag raised after the page allowed the
    edit still counts (409)."""
    note = create(group, essay, member, body="A sharp remark.")
    services.annotation_flag(annotation=note, user=classmate, reason="Unkind.")
    note.held = False  # as the page saw it, before the flag
    with pytest.raises(services.AnnotationError) as refused:
        services.annotation_update(annotation=note, body="Innocent text.")
    assert refused.value.status == 409
    with pytest.raises(services.AnnotationError):
        services.annotation_delete(annotation=note)
    note.refresh_from_db()
    assert note.body == "A sharp remark." and not note.is_deleted


def test_once_the_flag_is_dismissed_its_author_may_edit_and_delete_again(
    client, flagged, member, facilitator
):
    Flag.objects.filter(annotation=flagged).update(resolved_at=flagged.created_at)
    client.force_login(member)
    response = client.post(
        url("annotations:edit", flagged, flagged.pk), edit_data(flagged, body="Kinder now.")
    )
    assert response.status_code == 302
    assert client.delete(api_url(flagged)).status_code == 204


def test_a_flag_on_a_reply_keeps_the_whole_thread_shared(group, essay, member, classmate):
    note = create(group, essay, member, body="My thread.")
    mine = reply_to(note, member, body="And my own reply.")
    services.annotation_flag(annotation=mine, user=classmate, reason="Rude.")
    assert not permits(member_of(group, member), Action.MAKE_PRIVATE, note)
    with pytest.raises(services.AnnotationError) as refused:
        services.annotation_update(annotation=note, visibility="private")
    assert refused.value.status == 409
    assert str(refused.value).startswith(FLAGGED)


def test_a_flag_raised_after_the_page_was_drawn_still_counts(client, group, essay, member):
    """The service asks under the lock: the form's check alone would let this one through."""
    note = create(group, essay, member, body="Fine so far.")
    client.force_login(member)
    page = client.get(url("annotations:edit", note, note.pk)).content.decode()
    assert FLAGGED not in page
    other = Membership.objects.exclude(user=member).filter(group=group).first().user
    services.annotation_flag(annotation=note, user=other, reason="Look.")
    response = client.post(
        url("annotations:edit", note, note.pk), edit_data(note, visibility="private")
    )
    assert response.status_code in {400, 403, 409}  # 403: the flag is on the note itself
    note.refresh_from_db()
    assert note.visibility == Annotation.Visibility.GROUP


@pytest.mark.parametrize("resolution", ["dismiss", "hide"])
def test_once_a_facilitator_has_looked_the_author_may_make_it_private(
    client, flagged, member, facilitator, resolution
):
    client.force_login(facilitator)
    data = {"action": "dismiss"} if resolution == "dismiss" else {"note": "Cool it."}
    assert client.post(url("annotations:hide", flagged, flagged.pk), data).status_code == 302
    assert not Flag.objects.filter(annotation=flagged, resolved_at__isnull=True).exists()
    flagged.refresh_from_db()
    assert flagged.is_hidden is (resolution == "hide")
    client.force_login(member)
    response = client.post(
        url("annotations:edit", flagged, flagged.pk), edit_data(flagged, visibility="private")
    )
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert flagged.is_private


def test_only_a_facilitator_sees_and_may_use_dismiss(client, flagged, member, classmate):
    client.force_login(classmate)
    html = client.get(url("annotations:thread", flagged, flagged.pk)).content.decode()
    assert "Dismiss flag" not in html
    assert (
        client.post(url("annotations:hide", flagged, flagged.pk), {"action": "dismiss"}).status_code
        == 403
    )
    assert Flag.objects.filter(annotation=flagged, resolved_at__isnull=True).exists()


def test_the_facilitator_sees_the_flag_with_dismiss(client, flagged, facilitator):
    client.force_login(facilitator)
    html = client.get(url("annotations:thread", flagged, flagged.pk)).content.decode()
    assert "Flagged by Sam Classmate" in html
    assert "Dismiss flag" in html


# --- 9. an archived group's people stay as they are ---------------------------------------------


@pytest.fixture
def archived(group):
    group_archive(group=group)
    group.refresh_from_db()
    return group


def detail(group):
    return reverse("groups:detail", args=[group.slug])


def test_archiving_freezes_exactly_these_group_actions():
    """The table, read whole: what an archived group refuses (and what the confirmation's
    lists speak of)."""
    frozen = {
        action
        for action, lines in GROUP_PERMISSIONS.items()
        if all(group_active in line for line in lines)
    }
    assert frozen == {
        GroupAction.ANNOTATE,
        GroupAction.CHANGE_SETTINGS,
        GroupAction.ADD_READING,
        GroupAction.REMOVE_READING,
        GroupAction.DELETE_READING,
        GroupAction.REVISE_TEXT,
        GroupAction.MANAGE_MEMBERS,
        GroupAction.INVITE,
        GroupAction.MANAGE_ASSIGNMENTS,
        GroupAction.MANAGE_MEETINGS,
        GroupAction.RAISE,
        GroupAction.RUN_MEETING,
        GroupAction.IMPORT_ANNOTATIONS,
    }


def test_a_facilitator_cannot_promote_demote_or_remove_in_an_archived_group(
    client, archived, facilitator, member, make_user
):
    co = make_user("cora")
    Membership.objects.create(group=archived, user=co, role=Membership.Role.FACILITATOR)
    client.force_login(facilitator)
    for user, role in ((member, "facilitator"), (co, "member"), (facilitator, "member")):
        response = client.post(
            reverse("groups:member_role", args=[archived.slug, user.pk]), {"role": role}
        )
        assert response.status_code == 403
        assert "archived" in response.content.decode()
    response = client.post(
        reverse("groups:member_remove", args=[archived.slug, member.pk]), {"confirmed": "1"}
    )
    assert response.status_code == 403
    roles = dict(Membership.objects.filter(group=archived).values_list("user_id", "role"))
    assert roles == {facilitator.pk: "facilitator", member.pk: "member", co.pk: "facilitator"}


def test_the_services_refuse_member_changes_in_an_archived_group(archived, facilitator, member):
    target = member_of(archived, member)
    with pytest.raises(GroupArchived):
        membership_set_role(membership=target, role=Membership.Role.FACILITATOR)
    with pytest.raises(GroupArchived):
        membership_remove(membership=target, removed_by=facilitator)
    assert Membership.objects.filter(group=archived, user=member, role="member").exists()


def test_the_group_page_offers_no_member_controls_when_archived(client, archived, facilitator):
    client.force_login(facilitator)
    html = client.get(detail(archived)).content.decode()
    assert "Make facilitator" not in html
    assert "/remove/" not in html
    assert "unarchive it to change who is in it" in html
    group_unarchive(group=archived)
    html = client.get(detail(archived)).content.decode()
    assert "Make facilitator" in html  # the member's controls are back
    assert "unarchive it to change who is in it" not in html


def test_a_member_may_still_leave_and_a_link_may_still_be_turned_off(
    client, group, member, facilitator
):
    link = invite_link_create(group=group, created_by=facilitator)
    group_archive(group=group)
    client.force_login(facilitator)
    response = client.post(
        reverse("groups:link_revoke", args=[group.slug, link.pk]), {"confirmed": "1"}
    )
    assert response.status_code == 302
    assert InviteLink.objects.get(pk=link.pk).problem()
    client.force_login(member)
    response = client.post(reverse("groups:leave", args=[group.slug]), {"confirmed": "1"})
    assert response.status_code == 302
    assert not Membership.objects.filter(group=group, user=member).exists()


def test_the_archive_confirmation_says_what_stops_and_what_still_works(client, group, facilitator):
    client.force_login(facilitator)
    response = client.post(reverse("groups:archive", args=[group.slug]))
    assert response.status_code == 200
    html = response.content.decode()
    for line in ARCHIVE_FREEZES + ARCHIVE_KEEPS:
        assert line.replace("'", "&#x27;") in html
    assert "remove, promote or demote" in html
    group.refresh_from_db()
    assert not group.is_archived
    response = client.post(reverse("groups:archive", args=[group.slug]), {"confirmed": "1"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.is_archived


def test_unarchiving_restores_member_changes(client, archived, facilitator, member):
    group_unarchive(group=archived)
    client.force_login(facilitator)
    response = client.post(
        reverse("groups:member_role", args=[archived.slug, member.pk]), {"role": "facilitator"}
    )
    assert response.status_code == 302
    assert member_of(archived, member).is_facilitator


# --- the edit conflict ------------------------------------------------------------------------


def version_in(html: str) -> str:
    marker = 'name="version" value="'
    return html.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
def note(group, essay, member):
    return create(group, essay, member, body="First thoughts.", tags=["draft"])


def test_the_later_of_two_edits_from_one_version_gets_412_and_keeps_its_words(client, note, member):
    client.force_login(member)
    edit = url("annotations:edit", note, note.pk)
    drawn = version_in(client.get(edit).content.decode())
    assert drawn == version_in(client.get(edit).content.decode())  # two tabs, one version
    first = client.post(edit, edit_data(note, body="From the first tab.", version=drawn))
    assert first.status_code == 302
    second = client.post(edit, edit_data(note, body="From the second tab.", version=drawn))
    assert second.status_code == 412
    html = second.content.decode()
    assert "This note changed while you were editing it" in html
    assert "<p>From the first tab.</p>" in html  # theirs, as saved
    assert "From the second tab.</textarea>" in html  # mine, kept in the editor
    note.refresh_from_db()
    assert note.body == "From the first tab."
    # Saving again from that page replaces theirs, on purpose.
    again = client.post(
        edit, edit_data(note, body="From the second tab.", version=version_in(html))
    )
    assert again.status_code == 302
    note.refresh_from_db()
    assert note.body == "From the second tab."


def test_the_panels_editor_gets_the_conflict_as_a_fragment(client, note, member):
    client.force_login(member)
    edit = url("annotations:edit", note, note.pk)
    drawn = version_in(client.get(edit + "?fragment=1").content.decode())
    services.annotation_update(annotation=note, tags=["draft", "later"])
    response = client.post(
        edit, edit_data(note, body="Mine.", version=drawn), headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 412
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="edit-holder" data-edit-holder>')
    assert "data-edit-conflict" in html
    assert "#later" in html


def test_an_api_edit_in_between_makes_the_form_stale(client, note, member):
    client.force_login(member)
    edit = url("annotations:edit", note, note.pk)
    drawn = version_in(client.get(edit).content.decode())
    put = client.put(
        api_url(note),
        json.dumps(
            {"type": "Annotation", "bodyValue": "Through the API.", "motivation": "commenting"}
        ),
        content_type="application/ld+json",
    )
    assert put.status_code == 200
    response = client.post(edit, edit_data(note, body="Through the form.", version=drawn))
    assert response.status_code == 412
    note.refresh_from_db()
    assert note.body == "Through the API."


def test_what_an_edit_does_not_show_does_not_make_it_stale(
    client, note, member, facilitator, classmate
):
    """+1s, flags and replies change the note's thread, not what the editor holds."""
    client.force_login(member)
    edit = url("annotations:edit", note, note.pk)
    drawn = version_in(client.get(edit).content.decode())
    services.annotation_plus_one(annotation=note, user=facilitator)
    reply_to(note, classmate, body="A reply meanwhile.")
    response = client.post(edit, edit_data(note, body="Second thoughts.", version=drawn))
    assert response.status_code == 302
    note.refresh_from_db()
    assert note.body == "Second thoughts."


def test_a_reply_is_edited_under_the_same_rule(client, note, member, classmate):
    answer = reply_to(note, classmate, body="My answer.")
    client.force_login(classmate)
    edit = url("annotations:edit", answer, answer.pk)
    drawn = version_in(client.get(edit).content.decode())
    services.annotation_update(annotation=answer, body="Changed elsewhere.")
    response = client.post(edit, {"body": "Changed here.", "version": drawn})
    assert response.status_code == 412
    assert "Changed here.</textarea>" in response.content.decode()
    answer.refresh_from_db()
    assert answer.body == "Changed elsewhere."
