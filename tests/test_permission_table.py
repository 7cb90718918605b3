"""The permission table, walked whole: every action × persona × item state.

EXPECTED below is the table as a newcomer would read it, written out by hand (not derived
from annotations/access.py). For each cell, the test asks every place that shows or does
the thing and requires the same answer from all of them:

- the table itself (`annotations.access.permits`);
- the group reading page's layer data (is the item there, is its author named);
- the thread page (is it shown, is its author named, which controls it offers);
- the plain form behind each control (POST: done, or 403/404 and nothing changed);
- the W3C API (GET, creator's name, PUT, DELETE, replying through the container).

Adding a rule is a change in access.py plus rows here.
"""

import json
import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from annotations import services
from annotations.access import Action, permits
from annotations.models import DELETED_LABEL, Annotation, Flag, PlusOne
from assignments.models import Assignment
from groups.models import GroupReading, Membership
from groups.services import group_archive
from tests.annotating import create, layer_at, reply_to

PERSONAS = ("author", "member", "facilitator")
Y, N = True, False

# state -> action -> (author, member, facilitator)
EXPECTED: dict[str, dict[Action, tuple[bool, bool, bool]]] = {
    # A comment shared with the group.
    "shared": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (Y, Y, Y),
        Action.REPLY: (Y, Y, Y),
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (Y, N, N),
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, Y, Y),
        Action.FLAG: (N, Y, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, N, N),
    },
    # "Only me": nobody but its author, facilitators included.
    "private": {
        Action.SEE: (Y, N, N),
        Action.SEE_AUTHOR: (Y, N, N),
        Action.REPLY: (Y, N, N),
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (Y, N, N),  # already: saving it so again changes nothing
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, N, N),
        Action.FLAG: (N, N, N),
        Action.HIDE: (N, N, N),
        Action.MARK_ANSWER: (N, N, N),
    },
    # Hidden by a facilitator: its author and the facilitators still see it.
    "hidden": {
        Action.SEE: (Y, N, Y),
        Action.SEE_AUTHOR: (Y, N, Y),
        Action.REPLY: (N, N, N),  # a hidden thread takes no replies, facilitators' included
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (Y, N, N),
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, N, Y),
        Action.FLAG: (N, N, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, N, N),
    },
    # Deleted by its author after someone replied: "[deleted]" above the replies.
    "deleted": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (N, N, N),
        Action.REPLY: (Y, Y, Y),  # the thread goes on under it
        Action.EDIT: (N, N, N),
        Action.MAKE_PRIVATE: (N, N, N),
        Action.DELETE: (N, N, N),
        Action.PLUS_ONE: (N, N, N),
        Action.FLAG: (N, N, N),
        Action.HIDE: (N, N, N),
        Action.MARK_ANSWER: (N, N, N),
    },
    # A shared comment in a group that has since been archived: readable, nothing more.
    "archived": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (Y, Y, Y),
        Action.REPLY: (N, N, N),
        Action.EDIT: (N, N, N),
        Action.MAKE_PRIVATE: (N, N, N),
        Action.DELETE: (N, N, N),
        Action.PLUS_ONE: (N, N, N),
        Action.FLAG: (N, N, N),
        Action.HIDE: (N, N, N),
        Action.MARK_ANSWER: (N, N, N),
    },
    # The author's reply in a thread that `member` started and a facilitator then hid: the
    # thread takes no more replies, from anyone (its root's author and facilitators included).
    "under_hidden_root": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (Y, Y, Y),
        Action.REPLY: (N, N, N),
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (N, N, N),  # a reply has its thread's visibility
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, Y, Y),
        Action.FLAG: (N, Y, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, N, N),
    },
    # The author's comment in the range of an assignment with "post before you peek" on, not
    # yet due, where `member` has not posted: withheld from them until they do.
    "withheld": {
        Action.SEE: (Y, N, Y),
        Action.SEE_AUTHOR: (Y, N, Y),
        Action.REPLY: (Y, N, Y),
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (Y, N, N),
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, N, Y),
        Action.FLAG: (N, N, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, N, N),
    },
    # The author's shared comment, flagged by another member: it cannot be made private (out of
    # the facilitators' sight), nor its words changed, nor deleted, until a facilitator has
    # looked at the flag.
    "flagged": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (Y, Y, Y),
        Action.REPLY: (Y, Y, Y),
        Action.EDIT: (N, N, N),
        Action.MAKE_PRIVATE: (N, N, N),
        Action.DELETE: (N, N, N),
        Action.PLUS_ONE: (Y, Y, Y),
        Action.FLAG: (N, Y, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, N, N),
    },
    # The author's reply to a question that `member` asked.
    "answer": {
        Action.SEE: (Y, Y, Y),
        Action.SEE_AUTHOR: (Y, Y, Y),
        Action.REPLY: (Y, Y, Y),
        Action.EDIT: (Y, N, N),
        Action.MAKE_PRIVATE: (N, N, N),
        Action.DELETE: (Y, N, N),
        Action.PLUS_ONE: (Y, Y, Y),
        Action.FLAG: (N, Y, Y),
        Action.HIDE: (N, N, Y),
        Action.MARK_ANSWER: (N, Y, Y),  # the asker, or a facilitator
    },
}

CELLS = [
    (state, action, persona)
    for state, row in EXPECTED.items()
    for action in Action
    for persona in PERSONAS
]


def test_the_expected_table_covers_every_action_and_state():
    for state, row in EXPECTED.items():
        assert set(row) == set(Action), f"{state} does not list every action"


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture
def people(group, member, facilitator, make_user):
    classmate = make_user("sam", display_name="Sam Classmate")
    Membership.objects.create(group=group, user=classmate, role=Membership.Role.MEMBER)
    return {"author": member, "member": classmate, "facilitator": facilitator}


def make_item(state: str, group, essay, people) -> Annotation:
    author, member, facilitator = (people[p] for p in PERSONAS)
    if state == "private":
        return create(group, essay, author, body="Just for me.", visibility="private")
    if state == "under_hidden_root":
        thread = create(group, essay, member, body="Off the point.")
        item = reply_to(thread, author, body="Still, an answer.")
        services.annotation_hide(annotation=thread, by=facilitator, note="Off topic")
        return item
    if state == "flagged":
        item = create(group, essay, author, body="A point worth making.")
        flagger = User.objects.create_user("flo", password="x", email="flo@example.com")
        Membership.objects.create(group=group, user=flagger, role=Membership.Role.MEMBER)
        services.annotation_flag(annotation=item, user=flagger, reason="Unkind.")
        return item
    if state == "answer":
        question = create(group, essay, member, body="Why?", motivation="questioning")
        return reply_to(question, author, body="Because of this.")
    item = create(group, essay, author, body="A point worth making.")
    if state == "withheld":
        locked_range(group, essay, facilitator, item)
    if state == "hidden":
        services.annotation_hide(annotation=item, by=facilitator, note="Off topic")
    elif state == "deleted":
        reply_to(item, member, body="Still worth answering.")
        services.annotation_delete(annotation=item)
        item.refresh_from_db()
    elif state == "archived":
        group_archive(group=group)
        group.refresh_from_db()
    return item


def locked_range(group, essay, facilitator, item) -> Assignment:
    return Assignment.objects.create(
        group_reading=GroupReading.objects.get(group=group, reading=essay),
        title="Read before we meet",
        first_block="-",
        last_block="-",
        start=item.start,
        end=item.end,
        due_at=timezone.now() + timedelta(days=3),
        post_before_peek=True,
        created_by=facilitator,
    )


def membership(group, user) -> Membership:
    return Membership.objects.select_related("group").get(group=group, user=user)


def thread_root(item: Annotation) -> Annotation:
    return item.root if item.root_id else item


def page_url(name: str, item: Annotation, *args) -> str:
    return reverse(name, args=[item.group.slug, item.reading.slug, *args])


def article(html: str, item: Annotation) -> str | None:
    found = re.search(rf'<article [^>]*id="a-{item.pk}"[^>]*>(.*?)</article>', html, re.S)
    return found.group(1) if found else None


def layer(client, item) -> dict[int, dict]:
    """The reading page's layer (its layer.json) for the signed-in person, by id."""
    entries = layer_at(client, page_url("annotations:reading", item))
    return {entry["id"]: entry for entry in entries}


def api_json(response) -> dict:
    return json.loads(response.content) if response.content else {}


# --- the walk ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "action", "persona"), CELLS)
def test_every_surface_gives_the_tables_answer(
    state, action, persona, client, group, essay, people
):
    expected = EXPECTED[state][action][PERSONAS.index(persona)]
    item = make_item(state, group, essay, people)
    viewer = people[persona]
    client.force_login(viewer)

    # The table.
    assert permits(membership(group, viewer), action, item) is expected, "the table"

    if action == Action.SEE:
        check_seeing(client, item, expected)
    elif action == Action.SEE_AUTHOR:
        check_naming(client, item, people["author"], expected)
    else:
        with transaction.atomic():  # the plain form, then the API, each on the same world
            check_control_and_form(client, item, action, expected)
            transaction.set_rollback(True)
        check_api_write(client, item, action, expected)


def check_seeing(client, item, expected):
    assert client.get(page_url("annotations:reading", item)).status_code == 200
    if not item.root_id:
        assert (item.pk in layer(client, item)) is expected, "the layer data"
    thread = client.get(page_url("annotations:thread", item, item.pk), follow=True)
    if expected:
        assert thread.status_code == 200
        assert article(thread.content.decode(), item) is not None, "the thread page"
    else:
        assert thread.status_code == 404, "the thread page"
    api = client.get(page_url("annotations:annotation", item, item.pk))
    assert api.status_code == (200 if expected else 404), "the API"


def check_naming(client, item, author, expected):
    name = author.public_name
    if not item.root_id and item.pk in layer(client, item):
        entry = layer(client, item)[item.pk]
        assert (entry["author"] == name) is expected, "the layer data"
        assert (entry["username"] == author.username) is expected, "the layer data"
        if not expected:
            assert name not in json.dumps(entry)
    thread = client.get(page_url("annotations:thread", item, item.pk), follow=True)
    if thread.status_code == 200 and article(thread.content.decode(), item) is not None:
        assert (name in article(thread.content.decode(), item)) is expected, "the thread page"
    api = client.get(page_url("annotations:annotation", item, item.pk))
    if api.status_code == 200:
        creator = api_json(api)["creator"]
        assert (creator["name"] == name) is expected, "the API"
        if not expected:
            assert creator == {"type": "Person", "name": DELETED_LABEL}


# Where each action's control lives in an item's <article>, and how its plain form is posted.
CONTROL = {
    Action.EDIT: lambda item: f"/notes/{item.pk}/edit/",
    Action.DELETE: lambda item: f"/notes/{item.pk}/delete/",
    Action.FLAG: lambda item: f"/notes/{item.pk}/flag/",
    Action.HIDE: lambda item: f"/notes/{item.pk}/hide/",
    Action.MARK_ANSWER: lambda item: f"/notes/{item.pk}/answer/",
}


def shows_control(client, item, action) -> bool:
    """Does the thread page offer this action on this item?"""
    response = client.get(page_url("annotations:thread", item, item.pk), follow=True)
    if response.status_code != 200:
        return False
    html = response.content.decode()
    body = article(html, item)
    if body is None:
        return False
    if action == Action.PLUS_ONE:
        button = re.search(r'<button type="submit" class="chip[^"]*"[^>]*>', body)
        return bool(button) and "disabled" not in button.group(0)
    if action == Action.REPLY:
        if item.root_id:
            return f'data-reply="{item.pk}"' in body
        return f'id="reply-form-{item.pk}"' in html
    if action == Action.MAKE_PRIVATE:  # on the edit page: the "Only me" choice, not disabled
        page = client.get(page_url("annotations:edit", item, item.pk))
        radio = r'<input type="radio" name="visibility" value="private"[^>]*>'
        found = re.search(radio, page.content.decode()) if page.status_code == 200 else None
        return bool(found) and "disabled" not in found.group(0)
    return CONTROL[action](item) in body


def post_form(client, item, action):
    root = thread_root(item)
    if action == Action.REPLY:
        data = {"body": "A reply.", "parent": item.pk if item.root_id else ""}
        return client.post(page_url("annotations:reply", item, root.pk), data)
    if action == Action.MAKE_PRIVATE:
        data = {"body": item.body, "tags": "", "kind": item.motivation, "visibility": "private"}
        return client.post(page_url("annotations:edit", item, item.pk), data)
    name, data = {
        Action.EDIT: ("annotations:edit", {"body": "Changed.", "tags": "", "kind": ""}),
        Action.DELETE: ("annotations:delete", {"confirmed": "1"}),
        Action.PLUS_ONE: ("annotations:plus_one", {}),
        Action.FLAG: ("annotations:flag", {"reason": "Please look."}),
        Action.HIDE: ("annotations:hide", {"note": "Off topic."}),
        Action.MARK_ANSWER: ("annotations:answer", {"value": "1"}),
    }[action]
    if action == Action.EDIT and not item.root_id:
        data.update(kind=item.motivation, visibility=item.visibility)
    if action == Action.HIDE and item.is_hidden:
        data = {"action": "unhide"}
    return client.post(page_url(name, item, item.pk), data)


def layer_snapshot(item) -> tuple:
    rows = Annotation.objects.filter(group=item.group).order_by("pk")
    return (
        tuple(rows.values_list("pk", "body", "hidden_at", "deleted_at", "is_answer", "visibility")),
        PlusOne.objects.count(),
        Flag.objects.count(),
    )


def check_control_and_form(client, item, action, expected):
    assert shows_control(client, item, action) is expected, "the thread page's controls"
    before = layer_snapshot(item)
    response = post_form(client, item, action)
    if expected:
        assert response.status_code == 302, f"the plain form: {response.status_code}"
        if not (action == Action.MAKE_PRIVATE and item.is_private):
            assert layer_snapshot(item) != before, "the plain form changed nothing"
    else:
        refusals = {403, 404}
        if action == Action.MAKE_PRIVATE:
            # a field error on the author's own edit form; a reply's form has no such field
            refusals |= {400, 409} | ({302} if item.is_reply else set())
        assert response.status_code in refusals, f"the plain form: {response.status_code}"
        assert layer_snapshot(item) == before, "a refused form changed something"


def check_api_write(client, item, action, expected):
    """The API offers editing, deleting and replying; its answers follow the table too."""
    url = page_url("annotations:annotation", item, item.pk)
    item.refresh_from_db()
    if action == Action.EDIT:
        data = {"type": "Annotation", "bodyValue": "Changed through the API."}
        if not item.root_id:
            data["motivation"] = item.motivation if item.body or item.is_deleted else "commenting"
        response = client.put(url, json.dumps(data), content_type="application/ld+json")
    elif action == Action.DELETE:
        response = client.delete(url)
    elif action == Action.MAKE_PRIVATE:
        data = {"type": "Annotation", "bodyValue": item.body, "visibility": "private"}
        response = client.put(url, json.dumps(data), content_type="application/ld+json")
    elif action == Action.REPLY:
        container = page_url("annotations:container", item)
        data = {
            "type": "Annotation",
            "motivation": "replying",
            "bodyValue": "Replying through the API.",
            "target": "http://testserver" + url,
        }
        response = client.post(container, json.dumps(data), content_type="application/ld+json")
    else:
        return
    if expected:
        assert response.status_code in {200, 201, 204}, f"the API: {response.content[:200]}"
    else:
        assert 400 <= response.status_code < 500, f"the API: {response.status_code}"
        if action == Action.MAKE_PRIVATE:
            assert response.status_code in {400, 403, 404, 409}, response.content[:200]
        elif action != Action.REPLY:
            assert response.status_code in {403, 404}, f"the API: {response.status_code}"


@pytest.mark.parametrize("state", list(EXPECTED))
def test_the_see_line_as_a_query_agrees_with_the_table(state, group, essay, people):
    from annotations.access import visible_annotations

    item = make_item(state, group, essay, people)
    for persona in PERSONAS:
        viewer = membership(group, people[persona])
        in_query = visible_annotations(viewer).filter(pk=item.pk).exists()
        assert in_query is permits(viewer, Action.SEE, item), persona
