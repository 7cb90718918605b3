"""Adversarial review of the permission-table refactor (issue 7).

Each test is named for the correct behaviour. The FINDINGS half fails while the bug it
describes is there; the PROBES THAT HELD half passes and keeps the checks as regressions.
"""

import json
import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tokens import api_token_create
from annotations import services
from annotations.models import Annotation, Flag
from groups.models import EmailInvitation, Membership
from groups.services import email_invitations_send, membership_remove
from tests.annotating import create, layer_at, reply_to

ROOT = Path(__file__).resolve().parent.parent
SECOND_QUOTE = "When socialists talk about ordinary people"


# --- helpers ------------------------------------------------------------------------------------


def reading_url(group, reading) -> str:
    return reverse("annotations:reading", args=[group.slug, reading.slug])


def layer_url(group, reading) -> str:
    return reverse("annotations:layer", args=[group.slug, reading.slug])


def threads_url(group, reading) -> str:
    return reverse("annotations:threads", args=[group.slug, reading.slug])


def note_url(name: str, annotation, group=None) -> str:
    group = group or annotation.group
    return reverse(f"annotations:{name}", args=[group.slug, annotation.reading.slug, annotation.pk])


def container_url(group, reading) -> str:
    return reverse("annotations:container", args=[group.slug, reading.slug])


def item_url(annotation) -> str:
    return reverse(
        "annotations:annotation",
        args=[annotation.group.slug, annotation.reading.slug, annotation.pk],
    )


def thread_total(page: str) -> int:
    found = re.search(r"(\d+) threads?</a>", page)
    assert found, "the page shows no thread total"
    return int(found.group(1))


def post_json(client, url, data, **headers):
    return client.post(
        url, data=json.dumps(data), content_type="application/ld+json", headers=headers
    )


def put_json(client, url, data, **headers):
    return client.put(
        url, data=json.dumps(data), content_type="application/ld+json", headers=headers
    )


def signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def classmate(make_user, group):
    """A second plain member of the facilitator's group."""
    person = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=person, role=Membership.Role.MEMBER)
    return person


@pytest.fixture
def hidden_root_thread(group, essay, member, facilitator, classmate):
    """Maria's comment, Sam's reply to it, then Fran hides Maria's comment."""
    root = create(group, essay, member, body="Root by Maria.")
    sams = reply_to(root, classmate, body="Sam answers.")
    services.annotation_hide(annotation=root, by=facilitator, note="Off topic.")
    return root, sams


@pytest.fixture
def deleted_over_hidden(group, essay, member, facilitator, classmate):
    """Sam's comment on the second quote; Maria replies; Fran hides Maria's reply; Sam then
    deletes his comment. Its placeholder stays only because of the hidden reply."""
    root = create(group, essay, classmate, quote=SECOND_QUOTE, body="Sam's comment.")
    marias = reply_to(root, member, body="Maria's rude reply.")
    services.annotation_hide(annotation=marias, by=facilitator, note="Rude.")
    services.annotation_delete(annotation=root)
    root.refresh_from_db()
    assert root.is_deleted
    return root, marias


# =================================================================================================
# FINDINGS: each fails while the problem is there.
# =================================================================================================


# --- 1. A "[deleted]" placeholder that stands only over hidden replies ---------------------------


def test_a_deleted_annotation_kept_only_for_hidden_replies_leaves_no_trace_for_a_plain_member(
    group, essay, member, deleted_over_hidden, make_user
):
    """A placeholder exists only while it has replies. When every reply is hidden from a
    plain member, showing the placeholder (and counting it as a thread) tells them a hidden
    reply is there."""
    root, _ = deleted_over_hidden
    bystander = make_user("bea", display_name="Bea Bystander")
    Membership.objects.create(group=group, user=bystander, role=Membership.Role.MEMBER)
    client = signed_in(bystander)

    page = client.get(reading_url(group, essay)).content.decode()
    assert root.pk not in {entry["id"] for entry in layer_at(client, reading_url(group, essay))}
    assert thread_total(page) == 0
    assert "[deleted]" not in client.get(threads_url(group, essay)).content.decode()
    assert client.get(note_url("thread", root)).status_code == 404
    assert client.get(item_url(root)).status_code == 404
    container = client.get(container_url(group, essay)).json()
    assert container["total"] == 0


def test_a_deleted_reply_kept_only_for_hidden_replies_is_not_counted_for_a_plain_member(
    group, essay, member, facilitator, classmate, make_user
):
    root = create(group, essay, member, body="A root everyone sees.")
    middle = reply_to(root, classmate, body="Sam's reply, later deleted.")
    under = reply_to(middle, member, body="Maria's reply, later hidden.")
    services.annotation_hide(annotation=under, by=facilitator, note="Rude.")
    services.annotation_delete(annotation=middle)
    bystander = make_user("bea", display_name="Bea Bystander")
    Membership.objects.create(group=group, user=bystander, role=Membership.Role.MEMBER)
    client = signed_in(bystander)

    entry = next(e for e in layer_at(client, reading_url(group, essay)) if e["id"] == root.pk)
    thread = client.get(note_url("thread", root)).content.decode()

    assert entry["replies"] == 0
    assert f'id="a-{middle.pk}"' not in thread


def test_deleting_asks_with_a_count_of_only_the_replies_its_author_may_see(
    group, essay, member, facilitator, classmate
):
    """Maria deletes her comment. Its only reply (Sam's) was hidden by Fran: Maria may not
    see it, so the confirmation must not tell her "It has 1 reply"."""
    root = create(group, essay, member, body="Maria's comment.")
    sams = reply_to(root, classmate, body="Sam's reply.")
    services.annotation_hide(annotation=sams, by=facilitator, note="Off topic.")
    client = signed_in(member)

    asked = client.post(note_url("delete", root)).content.decode()
    done = client.post(note_url("delete", root), {"confirmed": "1"})

    assert "1 reply" not in asked
    assert "[deleted]" not in asked
    # Nor may where she lands tell her: the thread of a placeholder she cannot see the point of.
    assert done["Location"] == reading_url(group, essay)


# --- 2. Replying in a thread whose root a facilitator hid ---------------------------------------


def test_a_plain_member_cannot_add_to_a_thread_whose_root_a_facilitator_hid(
    group, essay, classmate, hidden_root_thread
):
    """annotations/views.py `_thread_root`: "when a facilitator hid the root, members still see
    the replies but cannot add to them" -- the thread page offers no Reply. The table (REPLY:
    may see it, not deleted, group active) knows nothing of this, so the plain form posted to
    a visible reply, and the API, still add to the hidden thread."""
    root, sams = hidden_root_thread
    client = signed_in(classmate)
    before = Annotation.objects.count()

    page = client.get(note_url("thread", sams) + "?fragment=1").content.decode()
    assert "data-reply=" not in page and "reply-form" not in page  # the page refuses

    form = client.post(note_url("reply", sams), {"body": "Through the plain form."})
    api = post_json(
        client,
        container_url(group, essay),
        {
            "type": "Annotation",
            "motivation": "replying",
            "bodyValue": "Through the API.",
            "target": "http://testserver" + item_url(sams),
        },
    )

    assert form.status_code in {403, 404}, form.status_code
    assert api.status_code in {403, 404}, api.status_code
    assert Annotation.objects.count() == before


# --- 3. A malformed If-Match is ignored -----------------------------------------------------------


@pytest.mark.parametrize("header", ["{etag}", "W/{etag}x", "{etag}; stale"], ids=str)
def test_an_if_match_that_cannot_be_parsed_never_lets_a_stale_write_through(
    group, essay, member, facilitator, header
):
    """Django's parse_etags drops what is not a quoted ETag, and get_conditional_response then
    skips If-Match altogether: a client that sends its ETag unquoted (a common mistake) gets
    last-writer-wins instead of a 412, the lost update If-Match exists to prevent."""
    note = create(group, essay, member, body="First words.")
    client = signed_in(member)
    stale = client.get(item_url(note))["ETag"].strip('"')
    services.annotation_plus_one(annotation=note, user=facilitator)  # someone changes it

    response = put_json(
        client,
        item_url(note),
        {
            "type": "Annotation",
            "bodyValue": "Overwritten.",
            "target": client.get(item_url(note)).json()["target"],
        },
        **{"If-Match": header.format(etag=stale)},
    )

    note.refresh_from_db()
    assert response.status_code in {400, 412}, response.status_code
    assert note.body == "First words."


def test_a_delete_with_an_unquoted_stale_if_match_is_refused(group, essay, member, facilitator):
    note = create(group, essay, member, body="Keep me.")
    client = signed_in(member)
    stale = client.get(item_url(note))["ETag"].strip('"')
    services.annotation_plus_one(annotation=note, user=facilitator)

    response = client.delete(item_url(note), headers={"If-Match": stale})

    assert response.status_code in {400, 412}, response.status_code
    assert Annotation.objects.filter(pk=note.pk).exists()


# --- 4. ETags that change with what the viewer may not see --------------------------------------


# --- 5. Deleted placeholders in the API keep traces the page drops -------------------------------


def test_the_api_shows_a_deleted_placeholder_with_no_trace_of_its_words(
    group, essay, member, facilitator, classmate
):
    """The thread page shows a placeholder as "[deleted]" only (no "(edited)", no answer
    badge's context, no +1s); the API still reports when the erased words were edited, the +1s
    they earned and whether they were the accepted answer."""
    question = create(group, essay, classmate, body="Why?", motivation="questioning")
    answer = reply_to(question, member, body="Because.")
    services.annotation_update(annotation=answer, body="Because, edited.")
    services.annotation_plus_one(annotation=answer, user=classmate)
    services.annotation_mark_answer(reply=answer, is_answer=True)
    reply_to(answer, facilitator, body="Good answer.")
    services.annotation_delete(annotation=answer)

    data = signed_in(classmate).get(item_url(answer)).json()

    assert data["creator"]["name"] == "[deleted]"
    assert "edited" not in data
    assert not data.get("plusOnes")


def test_a_deleted_answer_does_not_mark_its_question_answered(group, essay, member, classmate):
    question = create(group, essay, classmate, body="Why?", motivation="questioning")
    answer = reply_to(question, member, body="Because.")
    services.annotation_mark_answer(reply=answer, is_answer=True)
    reply_to(answer, classmate, body="Thanks!")
    services.annotation_delete(annotation=answer)

    signed_in(classmate).get(reading_url(group, essay)).content.decode()
    entry = next(
        e
        for e in layer_at(signed_in(classmate), reading_url(group, essay))
        if e["id"] == question.pk
    )

    assert entry["answered"] is False


# --- 6. A reply's target names a parent the viewer may not see -----------------------------------


def test_a_replys_target_never_names_an_annotation_the_viewer_may_not_see(
    group, essay, classmate, hidden_root_thread
):
    """Sam may read his reply, whose parent (Maria's comment) is hidden from him: its JSON-LD
    target is the hidden comment's IRI, which answers him 404 -- the API tells him the id and
    existence of an annotation the table hides (the thread page shows the reply at the top)."""
    _, sams = hidden_root_thread
    client = signed_in(classmate)

    target = client.get(item_url(sams)).json()["target"]
    iri = target if isinstance(target, str) else target.get("source", "")
    path = iri.replace("http://testserver", "")

    assert client.get(path).status_code == 200, f"{iri} is not for Sam's eyes"


# --- 7. A flag on a deleted annotation can never be cleared --------------------------------------


def test_deleting_a_flagged_annotation_takes_it_off_the_facilitators_flag_count(
    group, essay, member, facilitator, classmate
):
    """A flagged comment stays, as it was, until a facilitator has looked (its author may not
    delete it meanwhile: access.not_held); once the flag is settled and its author deletes it
    (with replies: a placeholder), nothing of it is left on the flag list."""
    root = create(group, essay, member, body="Something rude.")
    reply_to(root, classmate, body="Hey!")
    services.annotation_flag(annotation=root, user=classmate, reason="Rude.")
    with pytest.raises(services.AnnotationError):
        services.annotation_delete(annotation=root)
    client = signed_in(facilitator)
    assert (
        f"threads/{root.pk}/"
        in client.get(threads_url(group, essay) + "?flagged=1").content.decode()
    )

    Flag.objects.filter(annotation=root).update(resolved_at=timezone.now())
    services.annotation_delete(annotation=root)
    page = client.get(reading_url(group, essay)).content.decode()
    flagged = client.get(threads_url(group, essay) + "?flagged=1").content.decode()

    assert "flagged</a>" not in page
    assert f"threads/{root.pk}/" not in flagged
    assert not Flag.objects.filter(annotation=root, resolved_at__isnull=True).exists()


# --- 8. Rules restated outside the tables ---------------------------------------------------------


def test_the_layer_never_marks_a_deleted_placeholder_as_the_viewers_own(
    group, essay, member, classmate
):
    """The table: nobody may see who wrote a deleted annotation, its author included
    (tests/test_permission_table.py, "deleted": SEE_AUTHOR N, N, N). annotations/layer.py
    works out "mine" (and ?show=mine) from author_id itself, so the placeholder is still
    marked as Maria's and listed under "Only mine"."""
    root = create(group, essay, member, body="Regretted.")
    reply_to(root, classmate, body="Still here.")
    services.annotation_delete(annotation=root)
    client = signed_in(member)

    entry = next(e for e in layer_at(client, reading_url(group, essay)) if e["id"] == root.pk)
    mine = layer_at(client, reading_url(group, essay) + "?show=mine")

    assert entry["mine"] is False
    assert root.pk not in {e["id"] for e in mine}


def test_the_annotate_page_of_an_archived_group_refuses_like_the_edit_page(group, essay, member):
    """annotations/views.py `annotate` asks the table (ANNOTATE) only on POST: in an archived
    group the GET still serves a form whose post is refused, where the edit page (and every
    other write page) answers 403 at once."""
    from groups.services import group_archive

    note = create(group, essay, member, body="Before the archive.")
    group_archive(group=group)
    anchor = essay.blocks.first().anchor
    client = signed_in(member)

    assert client.get(note_url("edit", note)).status_code == 403
    page = client.get(reverse("annotations:annotate", args=[group.slug, essay.slug, anchor]))
    assert page.status_code == 403


# --- 9. Irreversible actions that do not ask first ----------------------------------------------


def test_withdrawing_an_email_invitation_asks_first(group, facilitator):
    """Like revoking a link ("This cannot be undone"), withdrawing a personal invitation
    cannot be undone, yet it acts on the first post, without confirmed=1."""
    (invitation,), _ = email_invitations_send(
        group=group, invited_by=facilitator, emails=["new@example.com"]
    )
    url = reverse("groups:email_withdraw", args=[group.slug, invitation.pk])

    signed_in(facilitator).post(url)

    assert EmailInvitation.objects.get(pk=invitation.pk).withdrawn_at is None


def test_revoking_an_api_token_asks_first(member):
    token, _ = api_token_create(user=member, name="Script")

    signed_in(member).post(reverse("accounts:token_revoke", args=[token.pk]))

    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


# --- 10. Layering hidden from import-linter ------------------------------------------------------

HIGHER = {
    "accounts": ("readings", "groups", "annotations", "demo"),
    "readings": ("groups", "annotations", "demo"),
    "groups": ("annotations", "demo"),
}


def test_no_template_of_a_lower_app_includes_a_higher_apps():
    """templates/readings/_reading.html includes annotations/_margin.html (which in turn
    loads groups' `may` filter): the library page's template knows of the annotation layer."""
    found = []
    for app, higher in HIGHER.items():
        for path in sorted((ROOT / "templates" / app).rglob("*.html")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if re.search(rf"""(include|extends) ["']({"|".join(higher)})/""", line):
                    found.append(f"{path.relative_to(ROOT)}:{n}")
                if re.search(r"\{% load group_access", line) and app != "groups":
                    found.append(f"{path.relative_to(ROOT)}:{n}")
    assert not found, found


# =================================================================================================
# PROBES THAT HELD: regression tests.
# =================================================================================================


def test_a_304_is_never_served_for_another_persons_etag(
    group, essay, member, classmate, facilitator
):
    create(group, essay, member, body="Shared.")
    for url in [layer_url(group, essay), container_url(group, essay)]:
        marias = signed_in(member).get(url)["ETag"]
        for other in [classmate, facilitator]:
            response = signed_in(other).get(url, headers={"If-None-Match": marias})
            assert response.status_code == 200, (url, other.username)
            assert response["ETag"] != marias


def test_a_former_members_etag_gets_a_404_not_a_304(group, essay, member):
    create(group, essay, member, body="Shared.")
    client = signed_in(member)
    etags = {
        url: client.get(url)["ETag"]
        for url in [layer_url(group, essay), container_url(group, essay)]
    }
    membership_remove(membership=Membership.objects.get(group=group, user=member))

    for url, etag in etags.items():
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 404, url


def test_a_quoted_stale_if_match_is_refused_under_the_lock(group, essay, member, facilitator):
    note = create(group, essay, member, body="First words.")
    client = signed_in(member)
    fetched = client.get(item_url(note))
    services.annotation_plus_one(annotation=note, user=facilitator)

    response = put_json(
        client,
        item_url(note),
        {"type": "Annotation", "bodyValue": "Overwritten.", "target": fetched.json()["target"]},
        **{"If-Match": fetched["ETag"]},
    )

    assert response.status_code == 412
    note.refresh_from_db()
    assert note.body == "First words."


def test_head_of_the_reading_page_and_the_api_sends_no_body(group, essay, member):
    note = create(group, essay, member, body="Shared.")
    client = signed_in(member)
    for url in [layer_url(group, essay), container_url(group, essay), item_url(note)]:
        response = client.head(url)
        assert response.status_code == 200 and response["ETag"], url
        assert response.content == b"", url


def test_the_confirmation_page_escapes_what_was_posted(client, group, member, facilitator):
    client.force_login(facilitator)
    url = reverse("groups:member_remove", args=[group.slug, member.pk])

    page = client.post(
        url + '?x="><script>alert(1)</script>',
        {'a"><script>alert(2)</script>': '"><img src=x onerror=alert(3)>'},
    ).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert Membership.objects.filter(group=group, user=member).exists()


@pytest.mark.parametrize("confirmed", ["", "0", "true", "yes", "1 "])
def test_only_confirmed_1_lets_a_destructive_action_act(group, essay, member, classmate, confirmed):
    root = create(group, essay, member, body="Maria's comment.")
    reply_to(root, classmate)

    signed_in(member).post(note_url("delete", root), {"confirmed": confirmed})

    root.refresh_from_db()
    assert not root.is_deleted


def test_an_annotation_of_another_group_cannot_be_a_parent_through_the_api(
    group, other_group, essay, member, other_member
):
    theirs = create(other_group, essay, other_member, body="Night shift.")
    client = signed_in(member)
    before = Annotation.objects.count()

    for target in [
        "http://testserver" + item_url(theirs),
        "http://testserver" + container_url(group, essay) + str(theirs.pk),
    ]:
        response = post_json(
            client,
            container_url(group, essay),
            {"type": "Annotation", "motivation": "replying", "bodyValue": "x", "target": target},
        )
        assert response.status_code in {400, 404}, target

    assert Annotation.objects.count() == before


def test_an_answer_cannot_be_marked_in_another_groups_thread(
    group, other_group, essay, member, other_member, facilitator
):
    question = create(other_group, essay, other_member, body="Why?", motivation="questioning")
    theirs = reply_to(question, other_member, body="Because.")

    response = signed_in(facilitator).post(note_url("answer", theirs, group=group))

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert not theirs.is_answer


def test_a_reply_parent_from_another_reading_of_the_same_group_is_refused(
    group, essay, member, facilitator
):
    from groups.services import group_reading_import

    other = group_reading_import(
        group=group,
        added_by=facilitator,
        data=b"# Other\n\nAnother text entirely, for the group.",
        filename="other.md",
        overrides={"title": "Other"},
    ).reading
    elsewhere = create(
        group, other, member, quote="Another text entirely", body="On the other text."
    )
    here = create(group, essay, member, body="On the essay.")
    client = signed_in(member)
    before = Annotation.objects.count()

    response = client.post(note_url("reply", here), {"body": "x", "parent": elsewhere.pk})

    assert response.status_code == 404
    assert Annotation.objects.count() == before


def test_counts_and_tags_for_a_member_leave_out_private_and_hidden_replies(
    group, essay, member, facilitator, classmate
):
    root = create(group, essay, member, body="Shared.", tags=["shared"])
    hidden = reply_to(root, classmate, body="Hidden reply.")
    services.annotation_hide(annotation=hidden, by=facilitator, note="No.")
    create(
        group,
        essay,
        classmate,
        quote=SECOND_QUOTE,
        body="Mine.",
        visibility="private",
        tags=["secretive"],
    )
    page = signed_in(member).get(reading_url(group, essay)).content.decode()

    entry = next(
        e for e in layer_at(signed_in(member), reading_url(group, essay)) if e["id"] == root.pk
    )
    assert entry["replies"] == 0
    assert thread_total(page) == 1
    assert "secretive" not in page
    assert "Hidden reply." not in page


def test_a_flag_or_a_hidden_reply_leaves_the_annotations_own_etag_alone_for_a_member(
    group, essay, member, facilitator, classmate
):
    """A single annotation's ETag is a digest of what this viewer is sent, so nothing the
    member may not see (a flag, a hidden reply) changes it. (Its author's does change with a
    flag: their `Allow` loses PUT and DELETE while the flag is open, access.not_held.)"""
    note = create(group, essay, classmate, body="Shared.")
    client = signed_in(member)
    etag = client.get(item_url(note))["ETag"]

    services.annotation_flag(annotation=note, user=facilitator, reason="Hmm.")
    hidden = reply_to(note, facilitator, body="Hidden.")
    services.annotation_hide(annotation=hidden, by=facilitator, note="No.")

    assert client.get(item_url(note), headers={"If-None-Match": etag}).status_code == 304


def test_a_private_note_is_a_404_to_everyone_else_through_every_door(
    group, essay, member, facilitator, classmate
):
    secret = create(group, essay, member, body="Only mine.", visibility="private")
    for person in [facilitator, classmate]:
        client = signed_in(person)
        for url in [
            note_url("thread", secret),
            item_url(secret),
            note_url("thread", secret) + "?fragment=1",
        ]:
            assert client.get(url).status_code == 404, (person.username, url)
        for name in ["reply", "plus_one", "flag", "hide", "answer", "delete"]:
            assert (
                client.post(
                    note_url(name, secret),
                    {"body": "x", "reason": "x", "note": "x", "confirmed": "1"},
                ).status_code
                == 404
            ), (person.username, name)
