"""The group's permission table (groups/access.py), walked whole: action × role × state.

Each cell is checked in the table and at the door that does the action: allowed goes
through (200 or a redirect), refused is a 403 and nothing changes.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from groups.access import GroupAction, group_permits
from groups.models import GroupReading, Membership
from groups.services import group_archive
from readings.services import reading_import

Y, N = True, False

# action -> (member, facilitator) in an active group, then in an archived one
EXPECTED = {
    GroupAction.VIEW: ((Y, Y), (Y, Y)),
    GroupAction.LEAVE: ((Y, Y), (Y, Y)),
    GroupAction.ANNOTATE: ((Y, Y), (N, N)),
    GroupAction.OPEN_SETTINGS: ((N, Y), (N, Y)),
    GroupAction.CHANGE_SETTINGS: ((N, Y), (N, N)),
    GroupAction.ARCHIVE: ((N, Y), (N, Y)),
    GroupAction.ADD_READING: ((N, Y), (N, N)),
    GroupAction.REMOVE_READING: ((N, Y), (N, N)),
    GroupAction.REVISE_TEXT: ((N, Y), (N, N)),
    GroupAction.MANAGE_MEMBERS: ((N, Y), (N, N)),  # an archived group's people stay put
    GroupAction.MANAGE_INVITATIONS: ((N, Y), (N, Y)),
    GroupAction.INVITE: ((N, Y), (N, N)),
    GroupAction.OPEN_FLAG_LIST: ((N, Y), (N, Y)),
    GroupAction.MANAGE_ASSIGNMENTS: ((N, Y), (N, N)),
    GroupAction.MARK_READ: ((Y, Y), (Y, Y)),
    GroupAction.VIEW_PARTICIPATION: ((N, Y), (N, Y)),
    GroupAction.MANAGE_MEETINGS: ((N, Y), (N, N)),
    GroupAction.RAISE: ((Y, Y), (N, N)),
    GroupAction.RUN_MEETING: ((N, Y), (N, N)),
    GroupAction.IMPORT_ANNOTATIONS: ((N, Y), (N, N)),
    GroupAction.DELETE: ((N, Y), (N, Y)),
    GroupAction.DELETE_READING: ((N, Y), (N, N)),
}
CELLS = [
    (action, role, archived)
    for action in GroupAction
    for role in ("member", "facilitator")
    for archived in (False, True)
]

MINUTES = b"---\ntitle: Minutes\n---\n\n# Minutes\n\nWe met and read together.\n"


def test_the_expected_table_covers_every_action():
    assert set(EXPECTED) == set(GroupAction)


PAMPHLET_SLUG = "a-pamphlet"


@pytest.fixture
def minutes(group, facilitator):
    reading_import(
        data=b"# A pamphlet\n\nShort and sharp.\n", filename="pamphlet.md", slug=PAMPHLET_SLUG
    )
    reading = reading_import(data=MINUTES, filename="minutes.md", slug="tuesday-minutes")
    reading.owner_group = group
    reading.save(update_fields=["owner_group"])
    return GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)


def door(action, group, minutes, member):
    """(method, url, data) of a page that does `action`; None when no single page does."""
    slug = group.slug
    if action == GroupAction.RAISE:
        thread = shared_thread(group, minutes)
        url = reverse("meetings:raise", args=[slug, minutes.reading.slug, thread.pk])
        return ("post", url, {"raised": "1"})
    return {
        GroupAction.VIEW: ("get", reverse("groups:detail", args=[slug]), None),
        GroupAction.LEAVE: ("post", reverse("groups:leave", args=[slug]), {}),
        GroupAction.ANNOTATE: (
            "post",
            reverse(
                "annotations:annotate",
                args=[slug, minutes.reading.slug, minutes.reading.blocks.first().anchor],
            ),
            {"quote": "We met", "kind": "commenting", "body": "Hi", "visibility": "group"},
        ),
        GroupAction.OPEN_SETTINGS: ("get", reverse("groups:settings", args=[slug]), None),
        GroupAction.CHANGE_SETTINGS: (
            "post",
            reverse("groups:settings", args=[slug]),
            {"name": "Renamed", "description": "", "time_zone": "UTC"},
        ),
        GroupAction.ARCHIVE: ("post", reverse("groups:archive", args=[slug]), {}),
        GroupAction.ADD_READING: (
            "post",
            reverse("groups:reading_add", args=[slug]),
            {"reading": PAMPHLET_SLUG},
        ),
        GroupAction.REMOVE_READING: (
            "post",
            reverse("groups:reading_remove", args=[slug, minutes.reading.slug]),
            {},
        ),
        GroupAction.REVISE_TEXT: (
            "post",
            reverse("annotations:reading_revise", args=[slug, minutes.reading.slug]),
            {"text": "# Minutes\n\nWe met again.", "text_format": "md", "title": "Minutes"},
        ),
        GroupAction.MANAGE_MEMBERS: (
            "post",
            reverse("groups:member_role", args=[slug, member.pk]),
            {"role": "member"},
        ),
        GroupAction.MANAGE_INVITATIONS: ("get", reverse("groups:invitations", args=[slug]), None),
        GroupAction.INVITE: (
            "post",
            reverse("groups:link_create", args=[slug]),
            {"label": "Newsletter", "expires_in": "", "max_uses": ""},
        ),
        GroupAction.OPEN_FLAG_LIST: (
            "get",
            reverse("annotations:threads", args=[slug, minutes.reading.slug]) + "?flagged=1",
            None,
        ),
        GroupAction.MANAGE_ASSIGNMENTS: (
            "post",
            reverse("assignments:create", args=[slug]),
            {
                "reading": minutes.reading.slug,
                "title": "Week 1",
                "first_block": minutes.reading.blocks.first().anchor,
                "last_block": minutes.reading.blocks.first().anchor,
                "due_date": f"{timezone.now() + timedelta(days=7):%Y-%m-%d}",
                "due_time": "19:00",
            },
        ),
        GroupAction.MARK_READ: (
            "post",
            reverse(
                "progress:section_read",
                args=[slug, minutes.reading.slug, minutes.reading.sections.first().anchor],
            ),
            {"read": "1"},
        ),
        GroupAction.VIEW_PARTICIPATION: (
            "get",
            reverse("progress:participation", args=[slug, minutes.reading.slug]),
            None,
        ),
        GroupAction.MANAGE_MEETINGS: (
            "post",
            reverse("meetings:create", args=[slug]),
            {
                "title": "Week 1",
                "date": f"{timezone.now() + timedelta(days=7):%Y-%m-%d}",
                "starts": "19:00",
                "ends": "20:30",
                "link": "https://meet.example/week-1",
            },
        ),
        GroupAction.RUN_MEETING: (
            "post",
            reverse("live:start", args=[slug, minutes.reading.slug]),
            {},
        ),
        GroupAction.IMPORT_ANNOTATIONS: (
            "get",
            reverse("imports:start", args=[slug, minutes.reading.slug]),
            None,
        ),
        GroupAction.DELETE: (
            "post",
            reverse("groups:delete", args=[slug]),
            {"confirm_name": group.name},
        ),
        GroupAction.DELETE_READING: (
            "post",
            reverse("groups:reading_delete", args=[slug, minutes.reading.slug]),
            {},
        ),
    }[action]


def shared_thread(group, minutes):
    """A facilitator's shared comment on the minutes (made directly: the group may be
    archived by now)."""
    from annotations.models import Annotation

    return Annotation.objects.create(
        group=group,
        reading=minutes.reading,
        author=minutes.added_by,
        motivation=Annotation.Motivation.COMMENTING,
        body="Raise me",
        body_html="<p>Raise me</p>",
        exact="We met",
        start=minutes.reading.canonical_text().index("We met"),
        end=minutes.reading.canonical_text().index("We met") + 6,
    )


@pytest.mark.parametrize(("action", "role", "archived"), CELLS)
def test_the_group_table_and_its_doors_agree(
    action, role, archived, client, group, member, facilitator, minutes
):
    expected = EXPECTED[action][archived][role == "facilitator"]
    if archived:
        group_archive(group=group)
    person = facilitator if role == "facilitator" else member
    membership = Membership.objects.select_related("group").get(group=group, user=person)

    assert group_permits(membership, action, minutes) is expected

    client.force_login(person)
    method, url, data = door(action, group, minutes, member)
    response = getattr(client, method)(url, data) if data is not None else client.get(url)
    if action == GroupAction.OPEN_FLAG_LIST:
        # The thread list is open to members; only facilitators get the flagged threads.
        assert ("Flagged for a facilitator" in response.content.decode()) is expected
    elif expected:
        assert response.status_code in {200, 302}, response.status_code
    else:
        assert response.status_code == 403, response.status_code
