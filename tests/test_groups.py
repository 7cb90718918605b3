"""Reading groups: creating and running one, its people, its readings, its pages.

The walls (who gets 404 and 403 for what) are walked URL by URL in test_group_walls.py;
invitations are in test_invitations.py.
"""

import html

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from accounts.models import User
from groups.models import GroupReading, InviteLink, Membership, ReadingGroup
from groups.services import group_create, group_reading_import, invite_link_create
from readings.models import Block, Reading, Section
from readings.services import reading_import

FACILITATOR = Membership.Role.FACILITATOR
MEMBER = Membership.Role.MEMBER


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def url(name: str, group, *args) -> str:
    app = "annotations" if name in {"reading", "reading_revise"} else "groups"
    return reverse(f"{app}:{name}", args=[group.slug, *args])


def text_of(response) -> str:
    """The page as a reader sees its words: entities decoded."""
    return html.unescape(response.content.decode())


def role_of(user, group) -> str | None:
    membership = Membership.objects.filter(user=user, group=group).first()
    return membership.role if membership else None


@pytest.fixture
def as_facilitator(client, facilitator):
    client.force_login(facilitator)
    return client


@pytest.fixture
def as_member(client, member):
    client.force_login(member)
    return client


@pytest.fixture
def pamphlet(db):
    """A public library reading no group reads yet."""
    return reading_import(
        data=b"The pamphlet's first paragraph.\n\nIts second paragraph.\n",
        filename="pamphlet.txt",
        slug="a-pamphlet",
        overrides={"title": "A Pamphlet", "author": "Anon"},
    )


@pytest.fixture
def minutes(group, facilitator):
    """A reading the Tuesday group imported for itself."""
    return group_reading_import(
        group=group,
        added_by=facilitator,
        data=b"---\ntitle: Minutes of the Circle\n---\n\nWhat we said on Tuesday.\n",
        filename="minutes.md",
        overrides={},
    ).reading


def row_counts() -> dict[str, int]:
    return {
        "readings": Reading.objects.count(),
        "sections": Section.objects.count(),
        "blocks": Block.objects.count(),
        "group_readings": GroupReading.objects.count(),
    }


# --- creating a group ----------------------------------------------------------------------


def test_creating_a_group_makes_the_creator_its_facilitator(client, outsider):
    client.force_login(outsider)

    response = client.post(
        reverse("groups:create"),
        {
            "name": "  Harbour   Readers ",
            "description": "Docks, Thursdays.",
            "time_zone": "Europe/Lisbon",
        },
    )

    group = ReadingGroup.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{group.slug}/"
    assert group.name == "Harbour Readers"
    assert group.slug == "harbour-readers"
    assert group.description == "Docks, Thursdays."
    assert group.time_zone == "Europe/Lisbon"
    assert group.created_by == outsider
    assert role_of(outsider, group) == FACILITATOR
    assert group.memberships.count() == 1


def test_the_create_form_starts_in_the_creators_time_zone(client, make_user):
    client.force_login(make_user("kenji", time_zone="Asia/Tokyo"))

    page = client.get(reverse("groups:create")).content.decode()

    assert '<option value="Asia/Tokyo" selected>' in page


def test_creating_a_group_needs_a_name(client, outsider):
    client.force_login(outsider)

    response = client.post(reverse("groups:create"), {"name": "   ", "time_zone": "UTC"})

    assert "errorlist" in response.content.decode()
    assert not ReadingGroup.objects.exists()


def test_two_groups_with_the_same_name_get_different_slugs(facilitator, other_member):
    first = group_create(name="Book Club", created_by=facilitator)
    second = group_create(name="Book Club", created_by=other_member)
    third = group_create(name="book club!", created_by=other_member)

    assert len({first.slug, second.slug, third.slug}) == 3
    assert first.slug == "book-club"
    for group in (first, second, third):
        assert resolve(group.get_absolute_url()).url_name == "detail"


def test_a_name_without_latin_letters_still_gets_a_slug(facilitator):
    group = group_create(name="読書会", created_by=facilitator)

    assert group.slug
    assert resolve(group.get_absolute_url()).url_name == "detail"


def test_a_group_named_new_can_open_its_home_page(client, facilitator):
    group = group_create(name="New", created_by=facilitator)
    client.force_login(facilitator)

    response = client.get(group.get_absolute_url())

    assert resolve(group.get_absolute_url()).url_name == "detail"
    assert response.status_code == 200
    assert "Start a reading group" not in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_log_in_to_create_a_group(client, db):
    response = client.get(reverse("groups:create"))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/groups/new/")


# --- settings and archiving ----------------------------------------------------------------


def test_the_facilitator_renames_the_group_and_edits_its_description_and_time_zone(
    as_facilitator, group
):
    response = as_facilitator.post(
        url("settings", group),
        {
            "name": "Wednesday Circle",
            "description": "Now on Wednesdays.",
            "time_zone": "Europe/Berlin",
        },
    )

    group.refresh_from_db()
    assert response.status_code == 302
    assert group.name == "Wednesday Circle"
    assert group.description == "Now on Wednesdays."
    assert group.time_zone == "Europe/Berlin"
    assert group.slug == "tuesday-reading-circle"  # its addresses keep working
    assert "Wednesday Circle" in as_facilitator.get(url("detail", group)).content.decode()


def test_the_settings_form_shows_the_groups_current_values(as_facilitator, group):
    page = as_facilitator.get(url("settings", group)).content.decode()

    assert 'value="Tuesday Reading Circle"' in page
    assert '<option value="UTC" selected>' in page


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "description": "", "time_zone": "UTC"},
        {"name": "Fine", "description": "", "time_zone": "Mars/Olympus_Mons"},
        {"name": "x" * 121, "description": "", "time_zone": "UTC"},
    ],
    ids=["no name", "unknown time zone", "name too long"],
)
def test_invalid_settings_are_shown_on_the_form_and_change_nothing(as_facilitator, group, data):
    response = as_facilitator.post(url("settings", group), data)

    group.refresh_from_db()
    assert response.status_code in {200, 400}
    assert "errorlist" in response.content.decode()
    assert (group.name, group.time_zone) == ("Tuesday Reading Circle", "UTC")


def test_archiving_makes_the_group_read_only_and_says_so(as_facilitator, group):
    response = as_facilitator.post(url("archive", group), {"confirmed": "1"})

    group.refresh_from_db()
    assert response.status_code == 302
    assert group.is_archived
    page = as_facilitator.get(url("detail", group)).content.decode()
    assert "This group is archived" in page
    assert "Add a reading" not in page


@pytest.fixture
def archived(group, facilitator, pamphlet, minutes):
    group.archived_at = group.created_at
    group.save(update_fields=["archived_at"])
    return group


@pytest.mark.parametrize(
    "name, data",
    [
        ("settings", {"name": "Renamed", "description": "", "time_zone": "UTC"}),
        ("link_create", {"label": "new link"}),
        ("email_invite", {"emails": "newcomer@example.com"}),
        ("reading_add", {"reading": "a-pamphlet"}),
        ("reading_import", {"title": "More Minutes", "text": "A paragraph."}),
    ],
)
def test_an_archived_group_refuses_changes(as_facilitator, archived, name, data, mailoutbox):
    before = (row_counts(), InviteLink.objects.count(), archived.email_invitations.count())

    response = as_facilitator.post(url(name, archived), data)

    archived.refresh_from_db()
    assert response.status_code == 403
    assert "archived" in text_of(response)
    assert archived.name == "Tuesday Reading Circle"
    assert (row_counts(), InviteLink.objects.count(), archived.email_invitations.count()) == before
    assert not mailoutbox


def test_an_archived_group_refuses_taking_a_reading_off_its_list(as_facilitator, archived, minutes):
    response = as_facilitator.post(
        url("reading_remove", archived, minutes.slug), {"confirmed": "1"}
    )

    assert response.status_code == 403
    assert GroupReading.objects.filter(group=archived, reading=minutes).exists()


@pytest.mark.parametrize("name", ["detail", "settings", "invitations", "reading_add"])
def test_an_archived_groups_pages_stay_readable(as_facilitator, archived, name):
    response = as_facilitator.get(url(name, archived))

    assert response.status_code == 200
    assert "This group is archived" in response.content.decode()


def test_an_archived_groups_readings_stay_readable_to_members(as_member, archived, minutes, essay):
    for reading in (minutes, essay):
        response = as_member.get(url("reading", archived, reading.slug))
        assert response.status_code == 200
        assert reading.title in text_of(response)


def test_an_archived_group_offers_no_forms_that_would_be_refused(as_facilitator, archived):
    pages = [
        as_facilitator.get(url(name, archived)).content.decode()
        for name in ("settings", "invitations")
    ]

    assert 'action="' + url("link_create", archived) not in pages[1]
    assert 'action="' + url("email_invite", archived) not in pages[1]
    assert "Save settings" not in pages[0]


def test_unarchiving_lets_the_group_change_again(as_facilitator, archived):
    response = as_facilitator.post(url("unarchive", archived))
    archived.refresh_from_db()
    assert response.status_code == 302
    assert not archived.is_archived

    response = as_facilitator.post(url("reading_add", archived), {"reading": "a-pamphlet"})

    assert response.status_code == 302
    assert archived.readings.filter(slug="a-pamphlet").exists()


# --- people ------------------------------------------------------------------------------------


def test_the_last_facilitator_cannot_leave(as_facilitator, group, facilitator):
    response = as_facilitator.post(url("leave", group), {"confirmed": "1"}, follow=True)

    assert role_of(facilitator, group) == FACILITATOR
    assert "You are the group's only facilitator" in text_of(response)
    assert response.redirect_chain[-1][0] == url("detail", group)


def test_the_last_facilitator_cannot_step_down(as_facilitator, group, facilitator):
    response = as_facilitator.post(
        url("member_role", group, facilitator.pk), {"role": MEMBER}, follow=True
    )

    assert role_of(facilitator, group) == FACILITATOR
    assert "A group needs a facilitator" in text_of(response)


def test_the_last_facilitator_cannot_remove_themselves_either(as_facilitator, group, facilitator):
    response = as_facilitator.post(
        url("member_remove", group, facilitator.pk), {"confirmed": "1"}, follow=True
    )

    assert role_of(facilitator, group) == FACILITATOR
    assert "only facilitator" in text_of(response)


def test_a_facilitator_promotes_a_member_and_demotes_them_back(as_facilitator, group, member):
    response = as_facilitator.post(url("member_role", group, member.pk), {"role": FACILITATOR})
    assert response.status_code == 302
    assert role_of(member, group) == FACILITATOR

    response = as_facilitator.post(
        url("member_role", group, member.pk), {"role": MEMBER}, follow=True
    )

    assert role_of(member, group) == MEMBER
    assert "Maria Member is now a member" in text_of(response)


def test_an_unknown_role_is_refused(as_facilitator, group, member):
    response = as_facilitator.post(
        url("member_role", group, member.pk), {"role": "owner"}, follow=True
    )

    assert role_of(member, group) == MEMBER
    assert "Unknown role" in text_of(response)


def test_the_last_facilitator_can_step_down_after_appointing_another(
    as_facilitator, group, facilitator, member
):
    as_facilitator.post(url("member_role", group, member.pk), {"role": FACILITATOR})

    response = as_facilitator.post(url("member_role", group, facilitator.pk), {"role": MEMBER})

    assert response.status_code == 302
    assert role_of(facilitator, group) == MEMBER
    assert role_of(member, group) == FACILITATOR


def test_the_last_facilitator_can_leave_after_appointing_another(
    as_facilitator, group, facilitator, member
):
    as_facilitator.post(url("member_role", group, member.pk), {"role": FACILITATOR})

    response = as_facilitator.post(url("leave", group), {"confirmed": "1"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert role_of(facilitator, group) is None
    assert role_of(member, group) == FACILITATOR
    assert as_facilitator.get(url("detail", group)).status_code == 404


def test_a_member_can_leave(as_member, group, member):
    response = as_member.post(url("leave", group), {"confirmed": "1"}, follow=True)

    assert role_of(member, group) is None
    assert "You have left “Tuesday Reading Circle”" in text_of(response)
    assert as_member.get(url("detail", group)).status_code == 404


def test_a_removed_member_loses_access_at_once_and_what_they_added_stays(
    client, group, facilitator, member, pamphlet, minutes
):
    from annotations.models import Annotation

    note = Annotation.objects.create(
        group=group,
        reading=minutes,
        author=member,
        motivation=Annotation.Motivation.COMMENTING,
        body="Maria's note",
        exact="What we said",
        start=0,
        end=12,
    )
    Membership.objects.filter(user=member, group=group).update(role=FACILITATOR)
    client.force_login(member)
    assert client.post(url("reading_add", group), {"reading": pamphlet.slug}).status_code == 302
    member_client = client
    from django.test import Client

    facilitator_client = Client()
    facilitator_client.force_login(facilitator)

    response = facilitator_client.post(
        url("member_remove", group, member.pk), {"confirmed": "1"}, follow=True
    )

    assert role_of(member, group) is None
    assert "Maria Member has been removed from the group" in text_of(response)
    for page in (url("detail", group), url("reading", group, minutes.slug)):
        assert member_client.get(page).status_code == 404
    assert member_client.get(reverse("readings:detail", args=[minutes.slug])).status_code == 404
    added = GroupReading.objects.get(group=group, reading=pamphlet)
    assert added.added_by == member
    note.refresh_from_db()
    assert (note.group, note.author, note.deleted_at) == (group, member, None)
    assert "A Pamphlet" in facilitator_client.get(url("detail", group)).content.decode()


def test_removing_someone_who_is_not_in_the_group_is_404(as_facilitator, group, outsider):
    response = as_facilitator.post(url("member_remove", group, outsider.pk), {"confirmed": "1"})

    assert response.status_code == 404


def test_a_facilitator_cannot_change_the_role_of_someone_in_another_group(
    as_facilitator, group, other_group, other_member
):
    response = as_facilitator.post(url("member_role", group, other_member.pk), {"role": MEMBER})

    assert response.status_code == 404
    assert role_of(other_member, other_group) == FACILITATOR


def test_the_group_page_lists_facilitators_and_members(as_member, group):
    page = as_member.get(url("detail", group)).content.decode()

    facilitators, members = page.split('class="people-heading">Members</h3>')
    assert "Fran Facilitator" in facilitators
    assert "Maria Member" in members
    assert "2 people" in page
    assert "you are a member" in page
    assert "Remove" not in page  # a member has no facilitator buttons


# --- readings ----------------------------------------------------------------------------------


def test_the_add_page_lists_library_readings_the_group_does_not_read_yet(
    as_facilitator, group, pamphlet, essay
):
    page = as_facilitator.get(url("reading_add", group)).content.decode()

    assert "A Pamphlet" in page
    assert f'value="{essay.slug}"' not in page  # already on the list


def test_the_facilitator_adds_a_library_reading(as_facilitator, group, facilitator, pamphlet):
    response = as_facilitator.post(url("reading_add", group), {"reading": pamphlet.slug})

    assert response.status_code == 302
    added = GroupReading.objects.get(group=group, reading=pamphlet)
    assert added.added_by == facilitator
    assert "A Pamphlet" in as_facilitator.get(url("detail", group)).content.decode()


ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.mark.parametrize("slug", ["", "no-such-reading", "\x00"], ids=["empty", "unknown", "nul"])
def test_adding_an_unknown_reading_is_404(as_facilitator, group, slug):
    as_facilitator.raise_request_exception = False
    before = row_counts()

    response = as_facilitator.post(url("reading_add", group), {"reading": slug})

    assert response.status_code == 404
    assert row_counts() == before


def test_adding_a_reading_twice_keeps_one(as_facilitator, group, essay):
    as_facilitator.post(url("reading_add", group), {"reading": essay.slug})

    assert GroupReading.objects.filter(group=group, reading=essay).count() == 1


def test_another_groups_reading_cannot_be_added(as_facilitator, group, other_group, other_member):
    theirs = group_reading_import(
        group=other_group,
        added_by=other_member,
        data=b"Night notes.\n",
        filename="night.txt",
        overrides={"title": "Night Notes"},
    ).reading

    response = as_facilitator.post(url("reading_add", group), {"reading": theirs.slug})

    assert response.status_code == 404
    assert not GroupReading.objects.filter(group=group, reading=theirs).exists()


def test_the_facilitator_takes_a_reading_off_the_list(as_facilitator, group, essay):
    response = as_facilitator.post(url("reading_remove", group, essay.slug), {"confirmed": "1"})

    assert response.status_code == 302
    assert not GroupReading.objects.filter(group=group, reading=essay).exists()
    assert Reading.objects.filter(pk=essay.pk).exists()


def test_importing_pasted_text(as_facilitator, group, facilitator):
    response = as_facilitator.post(
        url("reading_import", group),
        {
            "title": "Letter to the Circle",
            "author": "Rosa L.",
            "text": "First paragraph.\n\nSecond paragraph.\n",
            "text_format": "txt",
        },
    )

    reading = Reading.objects.get(title="Letter to the Circle")
    assert response.status_code == 302
    assert response["Location"] == url("reading", group, reading.slug)
    assert reading.owner_group == group
    assert reading.author == "Rosa L."
    assert reading.added_by == facilitator
    assert [block.text for block in reading.blocks.all()] == [
        "First paragraph.",
        "Second paragraph.",
    ]
    assert GroupReading.objects.get(group=group, reading=reading).added_by == facilitator
    page = as_facilitator.get(response["Location"])
    assert "Letter to the Circle" in text_of(page)


def test_importing_pasted_markdown(as_facilitator, group):
    as_facilitator.post(
        url("reading_import", group),
        {
            "title": "Notes",
            "text": "# Part one\n\nIt *begins*.\n\n# Part two\n\nIt ends.\n",
            "text_format": "md",
        },
    )

    reading = Reading.objects.get(title="Notes")
    assert [s.heading for s in reading.sections.all()] == ["Part one", "Part two"]
    assert reading.blocks.first().html == "It <em>begins</em>."


STRIKE_MD = "---\ntitle: On the Strike\nauthor: Lucy Parsons\n---\n\n## Why\n\nBecause “we” must.\n"


def test_importing_an_uploaded_markdown_file(as_facilitator, group):
    upload = SimpleUploadedFile(
        "strike.md",
        STRIKE_MD.encode(),
        content_type="text/markdown",
    )

    response = as_facilitator.post(url("reading_import", group), {"file": upload})

    reading = Reading.objects.get(title="On the Strike")
    assert response.status_code == 302
    assert response["Location"] == url("reading", group, reading.slug)
    assert reading.owner_group == group
    assert reading.author == "Lucy Parsons"
    assert reading.slug.startswith("tuesday-reading-circle-")
    assert reading.blocks.get().text == "Because “we” must."


def test_the_same_title_imported_twice_gets_two_addresses(as_facilitator, group):
    for _ in range(2):
        as_facilitator.post(url("reading_import", group), {"title": "Minutes", "text": "Said."})

    slugs = set(Reading.objects.filter(title="Minutes").values_list("slug", flat=True))
    assert len(slugs) == 2
    assert group.group_readings.count() == 3  # the essay and the two minutes


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


IMPORT_ERRORS = {
    "an empty file": (lambda: {"file": upload("empty.md", b"")}, "empty"),
    "a blank file": (lambda: {"file": upload("blank.txt", b"  \n\n \n")}, "The file is empty."),
    "a binary file": (
        lambda: {"file": upload("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")},
        "looks binary",
    ),
    "a file not in UTF-8": (
        lambda: {"file": upload("latin1.txt", "Café au lait.".encode("latin-1"))},
        "not UTF-8",
    ),
    "a file of another type": (
        lambda: {"file": upload("essay.pdf", b"%PDF-1.4 text")},
        "Unsupported file type",
    ),
    "a file with only headings": (
        lambda: {"file": upload("headings.md", b"# Title\n\n## One\n\n## Two\n")},
        "no paragraphs",
    ),
    "a file too large": (
        lambda: {"file": upload("big.txt", b"Words, words, words.\n\n" * 20)},
        "larger than",
    ),
    "pasted text too large": (
        lambda: {"title": "Big", "text": "Words, words, words.\n\n" * 20},
        "too large",
    ),
    "both text and a file": (
        lambda: {"title": "Both", "text": "A paragraph.", "file": upload("a.txt", b"A file.")},
        "one of the two",
    ),
    "neither text nor a file": (lambda: {"title": "Nothing", "text": "  \n "}, "one of the two"),
    "pasted text with a NUL character": (
        lambda: {"title": "Nul", "text": "A paragraph\x00 with a NUL."},
        "Null characters are not allowed.",
    ),
    "pasted text without a title": (
        lambda: {"text": "A paragraph with no title."},
        "Give the pasted text a title.",
    ),
}


@pytest.mark.parametrize("case", IMPORT_ERRORS, ids=list(IMPORT_ERRORS))
def test_an_import_error_is_shown_on_the_form_and_writes_nothing(
    as_facilitator, group, settings, case
):
    settings.READING_IMPORT_MAX_BYTES = 200
    data, message = IMPORT_ERRORS[case]
    before = row_counts()

    response = as_facilitator.post(url("reading_import", group), data())

    assert response.status_code == 400
    page = text_of(response)
    assert message in page
    assert 'class="errorlist' in page
    assert "Import a text" in page  # the form is shown again, on the group's add page
    assert row_counts() == before


def test_an_import_error_keeps_what_was_typed(as_facilitator, group):
    response = as_facilitator.post(
        url("reading_import", group), {"author": "Kept Author", "text": "Kept paragraph."}
    )

    page = response.content.decode()
    assert 'value="Kept Author"' in page
    assert "Kept paragraph." in page


# --- who sees which reading ----------------------------------------------------------------


def test_an_imported_reading_is_visible_to_members_at_both_addresses(
    client, group, facilitator, member, minutes
):
    for person in (facilitator, member):
        client.force_login(person)
        for address in (
            url("reading", group, minutes.slug),
            reverse("readings:detail", args=[minutes.slug]),
            reverse("readings:text", args=[minutes.slug]),
        ):
            response = client.get(address)
            assert response.status_code == 200, address
            assert "What we said on Tuesday." in text_of(response)


@pytest.mark.parametrize("persona", ["other_member", "outsider"])
def test_an_imported_reading_is_404_to_anyone_outside_the_group(
    request, client, group, other_group, minutes, persona
):
    client.force_login(request.getfixturevalue(persona))

    for address in (
        url("reading", group, minutes.slug),
        url("reading", other_group, minutes.slug),
        reverse("readings:detail", args=[minutes.slug]),
        reverse("readings:text", args=[minutes.slug]),
    ):
        response = client.get(address)
        assert response.status_code == 404, address
        assert "Minutes of the Circle" not in response.content.decode()
        assert "Tuesday Reading Circle" not in response.content.decode()


def test_an_imported_reading_is_not_in_the_library(client, outsider, minutes):
    client.force_login(outsider)

    for address in (reverse("readings:library"), reverse("home")):
        assert "Minutes of the Circle" not in client.get(address).content.decode()


def test_another_groups_reading_is_404_under_this_groups_address(
    as_member, group, other_group, other_member
):
    theirs = group_reading_import(
        group=other_group,
        added_by=other_member,
        data=b"Night notes.\n",
        filename="night.txt",
        overrides={"title": "Night Notes"},
    ).reading

    assert as_member.get(url("reading", group, theirs.slug)).status_code == 404


@pytest.mark.parametrize("persona", ["facilitator", "member", "other_member", "outsider"])
def test_the_public_essay_is_visible_to_every_signed_in_user(request, client, essay, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.get(reverse("readings:detail", args=[essay.slug]))

    assert response.status_code == 200
    assert essay.title in text_of(response)


def test_the_group_reading_page_shows_the_groups_name(as_member, group, essay):
    response = as_member.get(url("reading", group, essay.slug))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Tuesday Reading Circle" in page
    assert f'href="{url("detail", group)}"' in page
    assert f"<title>{essay.title} · Tuesday Reading Circle" in text_of(response)


def test_a_reading_the_group_does_not_read_is_404_on_the_groups_pages(as_member, group, pamphlet):
    assert as_member.get(url("reading", group, pamphlet.slug)).status_code == 404


# --- home ----------------------------------------------------------------------------------


def test_home_lists_my_groups_with_my_role(client, group, other_group, facilitator, member):
    other_group.memberships.create(user=facilitator, role=MEMBER)
    client.force_login(facilitator)

    page = client.get(reverse("home")).content.decode()

    tuesday = page.index("Tuesday Reading Circle")
    night = page.index("Night Shift Readers")
    assert "Facilitator · 2 people" in page[tuesday:]
    assert "Member · 2 people" in page[night:]
    assert f'href="{url("detail", group)}"' in page


def test_home_lists_only_my_groups(client, group, other_group, outsider):
    client.force_login(outsider)

    page = client.get(reverse("home")).content.decode()

    assert "Tuesday Reading Circle" not in page
    assert "Night Shift Readers" not in page
    assert "You are not in a group yet" in page


def test_home_lists_my_pending_email_invitations(
    client, member, other_group, other_member, mailoutbox, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress

    from groups.services import email_invitations_send

    with django_capture_on_commit_callbacks(execute=True):
        email_invitations_send(
            group=other_group, invited_by=other_member, emails=["MARIA@example.com"]
        )
    invitation = other_group.email_invitations.get()
    EmailAddress.objects.create(user=member, email=member.email, verified=True, primary=True)
    client.force_login(member)

    page = client.get(reverse("home")).content.decode()

    assert "Invitations for you" in page
    assert "Night Shift Readers" in page
    assert "Noor Othergroup invited you" in page
    # by its id, without its token (only its hash is stored): for a verified addressee only
    assert f'href="/invitations/for-you/{invitation.pk}/"' in page


def test_home_does_not_list_invitations_that_are_no_longer_pending(
    client, member, other_group, other_member
):
    from django.utils import timezone

    from groups.models import EmailInvitation

    soon = timezone.now() + timezone.timedelta(days=1)
    past = timezone.now() - timezone.timedelta(days=1)
    for extra in ({"withdrawn_at": past}, {"declined_at": past}, {"expires_at": past}):
        EmailInvitation.objects.create(
            group=other_group,
            email=member.email,
            invited_by=other_member,
            **{"expires_at": soon, **extra},
        )
    client.force_login(member)

    page = client.get(reverse("home")).content.decode()

    assert "Invitations for you" not in page


# --- query counts ------------------------------------------------------------------------------


def add_members(group, count: int, prefix: str) -> None:
    users = User.objects.bulk_create(
        [User(username=f"{prefix}{n}", email=f"{prefix}{n}@example.com") for n in range(count)]
    )
    Membership.objects.bulk_create([Membership(group=group, user=user) for user in users])


def queries_for(client, address: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(address)
    assert response.status_code == 200
    return len(context.captured_queries)


# session, user, then the page's own: membership, people, readings (links, invitations);
# the group home's panels: (progress) this week's assignments, the count of what is new;
# (meetings) the next and the last meeting; the site's home: each group's next meeting.
# For a facilitator (as here) the group home also lists the people removed, to let back in
# (one query; members' pages do not make it), and the invitations page counts the
# invitation emails sent in the last day (the quota left, one query).
QUERY_PINS = {"detail": 9, "invitations": 7, "home": 6}


@pytest.mark.parametrize("page", QUERY_PINS)
def test_a_page_takes_the_same_number_of_queries_for_3_or_30_members(
    client, group, facilitator, page, django_assert_max_num_queries
):
    link = invite_link_create(group=group, created_by=facilitator)
    address = reverse("home") if page == "home" else url(page, group)
    client.force_login(facilitator)
    add_members(group, 1, "few")  # 3 people
    Membership.objects.filter(user__username="few0").update(joined_via=link)
    client.get(address)  # the first visit is noted (one write); the next minute's are not
    small = queries_for(client, address)

    add_members(group, 27, "many")  # 30 people, 27 of them joined through links
    for n in range(3):
        extra = invite_link_create(group=group, created_by=facilitator, label=f"link {n}")
        Membership.objects.filter(user__username__startswith=f"many{n}").update(joined_via=extra)
    large = queries_for(client, address)

    assert group.memberships.count() == 30
    assert large == small
    with django_assert_max_num_queries(QUERY_PINS[page]):
        client.get(address)


def test_home_takes_the_same_number_of_queries_for_1_or_6_groups(client, facilitator, group):
    client.force_login(facilitator)
    one = queries_for(client, reverse("home"))

    for n in range(5):
        group_create(name=f"Circle {n}", created_by=facilitator)
    six = queries_for(client, reverse("home"))

    assert six == one


# --- hostile input -------------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"


def test_a_hostile_group_name_and_description_are_shown_as_text(client, facilitator, member):
    client.force_login(facilitator)
    client.post(
        reverse("groups:create"),
        {"name": HOSTILE, "description": '<img src=x onerror="alert(2)">', "time_zone": "UTC"},
    )
    group = ReadingGroup.objects.get()
    group.memberships.create(user=member)

    for address in (
        url("detail", group),
        url("settings", group),
        url("invitations", group),
        url("reading_add", group),
        reverse("home"),
    ):
        page = client.get(address).content.decode()
        assert HOSTILE not in page, address
        assert "<img src=x" not in page, address
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, address


def test_a_hostile_display_name_is_shown_as_text_on_the_group_page(
    as_facilitator, group, make_user
):
    group.memberships.create(user=make_user("mallory", display_name=HOSTILE))

    page = as_facilitator.get(url("detail", group)).content.decode()

    assert HOSTILE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
