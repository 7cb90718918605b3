"""A facilitator's assignments: the services, the forms and pages, the prompts, the walls.

Time zones and the wording of due dates are in test_assignment_times.py; the browser in
test_browser_assignments.py. "Now" is passed in where a test depends on it.
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
from assignments import services
from assignments.contents import blocks_of, range_choices, range_name
from assignments.models import Assignment
from assignments.services import AssignmentError
from groups.models import GroupReading
from groups.services import group_archive
from readings.layout import reading_layout
from readings.services import reading_import
from tests.annotating import reply_to

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SOON = NOW + timedelta(days=7)
FUTURE = timezone.now() + timedelta(days=30)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def blocks(reading) -> list:
    return blocks_of(reading_layout(reading))


def block_end(block) -> int:
    return block.start + len(block.text)


def make(group, reading, facilitator, first=0, last=3, **fields):
    """An assignment of blocks `first`..`last` (indexes in document order)."""
    found = blocks(reading)
    arguments = {
        "group": group,
        "reading": reading,
        "created_by": facilitator,
        "title": "Week 1",
        "first_block": found[first].anchor,
        "last_block": found[last].anchor,
        "due_at": FUTURE,
        **fields,
    }
    return services.assignment_create(**arguments)


def prompt(assignment, author, index=None, body="What does this mean?"):
    """A prompt on the first words of a block inside the range (its first, by default)."""
    reading = assignment.group_reading.reading
    inside = [b for b in blocks(reading) if assignment.start <= b.start < assignment.end]
    block = inside[index or 0]
    words = " ".join(block.text.split()[:4])
    return annotation_services.annotation_create(
        group=assignment.group_reading.group,
        reading=reading,
        author=author,
        motivation="questioning",
        body=body,
        start=block.start,
        end=block.start + len(words),
        exact=words,
        prompt_of=assignment,
    )


def layer_version(group, reading) -> int:
    return GroupReading.objects.get(group=group, reading=reading).layer_version


# =================================================================================================
# Services
# =================================================================================================


def test_an_assignment_runs_from_its_first_blocks_start_to_its_last_blocks_end(
    group, essay, facilitator
):
    found = blocks(essay)
    before = layer_version(group, essay)

    assignment = make(
        group,
        essay,
        facilitator,
        first=2,
        last=5,
        instructions="Read **slowly**. <script>alert(1)</script> [why](https://example.org)",
    )

    assert (assignment.start, assignment.end) == (found[2].start, block_end(found[5]))
    assert essay.canonical_text()[assignment.start : assignment.end].startswith(found[2].text)
    assert (assignment.first_block, assignment.last_block) == (found[2].anchor, found[5].anchor)
    assert "<strong>slowly</strong>" in assignment.instructions_html
    assert "<script>" not in assignment.instructions_html
    assert 'rel="nofollow noopener ugc"' in assignment.instructions_html
    assert layer_version(group, essay) == before + 1  # the reading page marks the range


def test_new_assignments_go_to_the_end_of_the_groups_list(group, essay, facilitator):
    first = make(group, essay, facilitator)
    second = make(group, essay, facilitator, title="Week 2")

    assert (first.position, second.position) == (0, 1)


def test_a_one_paragraph_range_is_a_range(group, essay, facilitator):
    assignment = make(group, essay, facilitator, first=4, last=4)

    assert assignment.end - assignment.start == len(blocks(essay)[4].text)


@pytest.fixture
def elsewhere(db):
    """A public reading the group does not read."""
    return reading_import(
        data=b"# Elsewhere\n\nA paragraph of another text.\n", filename="x.md", slug="elsewhere"
    )


BAD_CREATE = {
    "an empty title": ({"title": "   "}, "title", "Give the assignment a title."),
    "a title too long": ({"title": "x" * 201}, "title", "The title is too long"),
    "no start": ({"first_block": ""}, "first_block", "Choose where the assignment starts."),
    "no end": ({"last_block": ""}, "last_block", "Choose where the assignment ends."),
    "a reversed range": ("reversed", "last_block", "The range ends before it starts"),
    "a start not in the reading": ({"first_block": "p-nothere"}, "first_block", "not a paragraph"),
    "an end of another reading": ("foreign block", "last_block", "not a paragraph"),
    "a reading the group does not have": ("foreign reading", "reading", "does not read that"),
    "a due date in the past": ({"due_at": NOW - timedelta(minutes=1)}, "due_at", "already passed"),
    "a due date years away": ({"due_at": NOW + timedelta(days=3000)}, "due_at", "five years"),
    "a naive due date": ({"due_at": datetime(2025, 3, 9, 19)}, "due_at", "Give the due date"),
    "instructions too long": ({"instructions": "x" * 10_001}, "instructions", "too long"),
}


@pytest.mark.parametrize("case", BAD_CREATE, ids=str)
def test_bad_input_is_refused_clearly_and_writes_nothing(
    case, group, essay, facilitator, elsewhere
):
    change, field, message = BAD_CREATE[case]
    found = blocks(essay)
    arguments = {
        "group": group,
        "reading": essay,
        "created_by": facilitator,
        "title": "Week 1",
        "first_block": found[1].anchor,
        "last_block": found[3].anchor,
        "due_at": SOON,
        "now": NOW,
    }
    if change == "reversed":
        change = {"first_block": found[3].anchor, "last_block": found[1].anchor}
    elif change == "foreign block":
        change = {"last_block": elsewhere.blocks.first().anchor}
    elif change == "foreign reading":
        change = {"reading": elsewhere, "first_block": elsewhere.blocks.first().anchor}
        change["last_block"] = change["first_block"]
    before = layer_version(group, essay)

    with pytest.raises(AssignmentError) as raised:
        services.assignment_create(**{**arguments, **change})

    assert raised.value.field == field
    assert message in str(raised.value)
    assert not Assignment.objects.exists()
    assert layer_version(group, essay) == before


def test_a_past_due_date_is_set_only_when_the_facilitator_says_it_is_already_due(
    group, essay, facilitator
):
    found = blocks(essay)
    assignment = services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Last week's",
        first_block=found[0].anchor,
        last_block=found[1].anchor,
        due_at=NOW - timedelta(days=2),
        already_due=True,
        now=NOW,
    )

    assert assignment.is_due(NOW)


def test_nothing_is_assigned_in_an_archived_group(group, essay, facilitator):
    group_archive(group=group)

    with pytest.raises(AssignmentError, match="archived"):
        make(group, essay, facilitator)

    assert not Assignment.objects.exists()


def test_an_update_changes_the_range_and_the_rest(group, essay, facilitator):
    assignment = make(group, essay, facilitator)
    found = blocks(essay)
    before = layer_version(group, essay)

    services.assignment_update(
        assignment=assignment,
        title="  Week 1:   the start ",
        first_block=found[1].anchor,
        last_block=found[6].anchor,
        due_at=FUTURE + timedelta(days=1),
        instructions="Bring *questions*.",
        post_before_peek=True,
    )

    assignment.refresh_from_db()
    assert assignment.title == "Week 1: the start"
    assert (assignment.start, assignment.end) == (found[1].start, block_end(found[6]))
    assert assignment.post_before_peek
    assert assignment.instructions_html == "<p>Bring <em>questions</em>.</p>"
    assert layer_version(group, essay) == before + 1


def test_editing_a_past_assignment_without_moving_its_due_date_asks_nothing(
    group, essay, facilitator
):
    found = blocks(essay)
    past = NOW - timedelta(days=3)
    assignment = services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Old",
        first_block=found[0].anchor,
        last_block=found[1].anchor,
        due_at=past,
        already_due=True,
        now=NOW,
    )
    common = {"first_block": found[0].anchor, "last_block": found[1].anchor, "now": NOW}

    services.assignment_update(assignment=assignment, title="Old, renamed", due_at=past, **common)
    with pytest.raises(AssignmentError) as raised:
        services.assignment_update(
            assignment=assignment, title="Moved", due_at=past - timedelta(days=1), **common
        )

    assignment.refresh_from_db()
    assert raised.value.field == "due_at"
    assert (assignment.title, assignment.due_at) == ("Old, renamed", past)


def test_an_update_that_would_leave_a_prompt_outside_the_range_is_refused(
    group, essay, facilitator
):
    assignment = make(group, essay, facilitator, first=0, last=3)
    prompt(assignment, facilitator, index=3)
    found = blocks(essay)

    with pytest.raises(AssignmentError) as raised:
        services.assignment_update(
            assignment=assignment,
            title="Narrower",
            first_block=found[0].anchor,
            last_block=found[2].anchor,
            due_at=assignment.due_at,
        )

    assignment.refresh_from_db()
    assert raised.value.field == "last_block"
    assert "prompts would lie outside" in str(raised.value)
    assert (assignment.title, assignment.last_block) == ("Week 1", found[3].anchor)


def test_deleting_an_assignment_keeps_its_prompts_and_their_replies(
    group, essay, facilitator, member
):
    assignment = make(group, essay, facilitator)
    question = prompt(assignment, facilitator)
    answer = reply_to(question, member, body="It means this.")
    before = layer_version(group, essay)

    services.assignment_delete(assignment=assignment)

    question.refresh_from_db()
    assert not Assignment.objects.exists()
    assert question.prompt_of is None and question.deleted_at is None
    assert Annotation.objects.filter(pk=answer.pk, root=question).exists()
    assert layer_version(group, essay) == before + 1


def test_assignments_move_up_and_down_the_list(group, essay, facilitator):
    one, two, three = (make(group, essay, facilitator, title=t) for t in ("1", "2", "3"))

    def order():
        return [a.title for a in Assignment.objects.filter(group_reading__group=group)]

    assert services.assignment_move(assignment=three, direction="up")
    assert order() == ["1", "3", "2"]
    assert services.assignment_move(assignment=one, direction="down")
    assert order() == ["3", "1", "2"]
    assert not services.assignment_move(assignment=three, direction="up")  # already first
    assert not services.assignment_move(assignment=two, direction="down")  # already last
    with pytest.raises(AssignmentError):
        services.assignment_move(assignment=two, direction="sideways")
    assert order() == ["3", "1", "2"]


# --- after a revision of the text -----------------------------------------------------------------

MINUTES = "# Minutes\n\nOne came.\n\nTwo spoke.\n\nThree argued.\n\nFour agreed.\n\nFive left.\n"


@pytest.fixture
def minutes(group, facilitator):
    reading = reading_import(data=MINUTES.encode(), filename="m.md", slug="minutes")
    GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)
    return reading


def revise(reading, text: str, *, with_old_text: bool = True) -> int:
    """Replace the text (as the revise service does), then recompute the assignments."""
    old_text = reading.canonical_text()
    reading_import(
        data=text.encode(), filename="m.md", slug=reading.slug, replace=True, reanchor=noop
    )
    return services.assignments_recompute(
        reading=reading, old_text=old_text if with_old_text else None
    )


def noop(*args):
    return None


def words(assignment) -> str:
    assignment.refresh_from_db()
    return assignment.group_reading.reading.canonical_text()[assignment.start : assignment.end]


def test_a_revision_moves_the_range_with_its_blocks(group, minutes, facilitator):
    assignment = make(group, minutes, facilitator, first=1, last=3)
    assert words(assignment) == "Two spoke.\n\nThree argued.\n\nFour agreed."

    changed = revise(minutes, MINUTES.replace("One came.", "One came, late and out of breath."))

    assert changed == 1
    assert words(assignment) == "Two spoke.\n\nThree argued.\n\nFour agreed."


def test_a_revision_that_edits_the_first_paragraph_keeps_the_range_there(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(minutes, MINUTES.replace("Two spoke.", "Two spoke at length."))

    assert words(assignment) == "Two spoke at length.\n\nThree argued.\n\nFour agreed."
    assert assignment.first_block == blocks(minutes)[1].anchor  # the edited block's new anchor


def test_a_revision_that_deletes_the_last_paragraph_ends_the_range_nearby(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(minutes, MINUTES.replace("Four agreed.\n\n", ""))

    assert words(assignment) == "Two spoke.\n\nThree argued."


def test_a_revision_that_deletes_the_first_paragraph_starts_the_range_at_the_next(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(minutes, MINUTES.replace("Two spoke.\n\n", ""))

    assert words(assignment) == "Three argued.\n\nFour agreed."


def test_a_revision_that_replaces_the_first_paragraph_starts_the_range_at_its_replacement(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(minutes, MINUTES.replace("Two spoke.", "A new opening.\n\nAnd more."))

    assert words(assignment) == "A new opening.\n\nAnd more.\n\nThree argued.\n\nFour agreed."


def test_a_revision_that_rewrites_the_last_paragraph_keeps_it_in_the_range(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(minutes, MINUTES.replace("Four agreed.", "Four."))

    assert words(assignment) == "Two spoke.\n\nThree argued.\n\nFour."


def test_a_revision_that_deletes_the_whole_range_leaves_one_block_where_it_was(
    group, minutes, facilitator
):
    assignment = make(group, minutes, facilitator, first=1, last=2)

    revise(minutes, MINUTES.replace("Two spoke.\n\nThree argued.\n\n", ""))

    assert words(assignment) == "Four agreed."


def test_without_the_old_text_a_lost_end_goes_to_the_nearest_block(group, minutes, facilitator):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    revise(
        minutes,
        MINUTES.replace("One came.", "One came!").replace("Two spoke.", "Two spoke up."),
        with_old_text=False,
    )

    assert words(assignment) == "Two spoke up.\n\nThree argued.\n\nFour agreed."


def test_a_revision_that_leaves_the_blocks_alone_changes_nothing(group, minutes, facilitator):
    assignment = make(group, minutes, facilitator, first=1, last=3)

    assert revise(minutes, MINUTES) == 0
    assert words(assignment) == "Two spoke.\n\nThree argued.\n\nFour agreed."


# =================================================================================================
# The contents the range is picked from
# =================================================================================================


def test_the_range_is_picked_from_sections_and_numbered_paragraphs(essay):
    layout = reading_layout(essay)
    starts, ends = range_choices(layout)
    labels = [label.strip("\u2003") for _, label in starts]
    section = next(s for s in layout["sections"] if s.heading == "Why the working class")

    assert "§ Why the working class" in labels
    assert any(label.startswith("¶ 1 — The word socialism has many") for label in labels)
    assert all(label.endswith("…") for label in labels if label.startswith("¶ 1 —"))
    # a section starts at its first paragraph and ends with its last one
    first = next(label for value, label in starts if value == section.block_list[0].anchor)
    last = next(label for value, label in ends if value == section.block_list[-1].anchor)
    assert first.strip("\u2003") == "§ Why the working class"
    assert last.strip("\u2003") == "§ Why the working class (to its end)"


def test_a_range_is_named_by_its_paragraphs_and_sections(essay):
    layout = reading_layout(essay)
    section = next(s for s in layout["sections"] if s.heading == "Why the working class")
    first, last = section.block_list[0], section.block_list[-1]

    name = range_name(layout, first.start, block_end(last))

    assert name.paragraphs == f"¶ {first.number}–{last.number}"
    assert name.sections == "§ Why the working class"


# =================================================================================================
# Pages
# =================================================================================================


def create_url(group) -> str:
    return reverse("assignments:create", args=[group.slug])


def edit_url(assignment) -> str:
    return reverse("assignments:edit", args=[assignment.group_reading.group.slug, assignment.pk])


def list_url(group) -> str:
    return reverse("assignments:list", args=[group.slug])


def prompt_url(assignment) -> str:
    return reverse(
        "annotations:prompt_create", args=[assignment.group_reading.group.slug, assignment.pk]
    )


def form_data(essay, **changes) -> dict:
    found = blocks(essay)
    due = timezone.now() + timedelta(days=10)
    data = {
        "reading": essay.slug,
        "title": "Week 2: Why the working class",
        "first_block": found[min(2, len(found) - 1)].anchor,
        "last_block": found[min(8, len(found) - 1)].anchor,
        "due_date": due.strftime("%Y-%m-%d"),
        "due_time": "19:00",
        "instructions": "Read it twice.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_facilitator_sets_an_assignment_from_the_form(client, group, essay, facilitator):
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    client.force_login(facilitator)

    page = client.get(create_url(group))
    data = form_data(essay, post_before_peek="on")
    response = client.post(create_url(group), data)
    due_day = datetime.strptime(data["due_date"], "%Y-%m-%d").date()

    assert page.status_code == 200
    assert "In the group's time zone, America/Chicago" in text_of(page)
    assert "§ Why the working class" in text_of(page)
    assignment = Assignment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == edit_url(assignment) + "#prompts"
    chicago = assignment.due_at.astimezone(ZoneInfo("America/Chicago"))
    assert (chicago.date(), chicago.hour, chicago.minute) == (due_day, 19, 0)
    assert assignment.post_before_peek and assignment.created_by == facilitator


BAD_FORMS = {
    "an empty title": ({"title": ""}, "Give the assignment a title."),
    "a title too long": ({"title": "x" * 201}, "The title is too long"),
    "no start": ({"first_block": ""}, "Choose where the assignment starts."),
    "no end": ({"last_block": ""}, "Choose where the assignment ends."),
    "a start not in the reading": ({"first_block": "p-nothere"}, "That start is not a section"),
    "a reversed range": ("reversed", "The range ends before it starts"),
    "no due date": ({"due_date": ""}, "Give the due date."),
    "a nonsense time": ({"due_time": "25:99"}, "Give a time (HH:MM)."),
    "a due date in the past": ({"due_date": "2020-01-07"}, "more than a year ago"),
    "a due date centuries away": ({"due_date": "9999-12-31", "due_time": "23:59"}, "five years"),
    "instructions too long": ({"instructions": "x" * 10_001}, "The instructions are too long"),
    "a reading the group does not have": (
        {"reading": "elsewhere"},
        "Choose one of the group's readings.",
    ),
}


@pytest.mark.parametrize("case", BAD_FORMS, ids=str)
def test_the_form_shows_what_is_wrong_and_writes_nothing(
    case, client, group, essay, facilitator, elsewhere
):
    change, message = BAD_FORMS[case]
    if change == "reversed":
        found = blocks(essay)
        change = {"first_block": found[8].anchor, "last_block": found[2].anchor}
    client.force_login(facilitator)

    response = client.post(create_url(group), form_data(essay, **change))

    assert response.status_code == 400
    assert message in text_of(response)
    assert "A paragraph of another text" not in text_of(response)
    assert not Assignment.objects.exists()


def test_a_past_due_date_is_offered_the_already_due_box_and_then_accepted(
    client, group, essay, facilitator
):
    client.force_login(facilitator)
    past = form_data(essay, due_date=(timezone.now() - timedelta(days=2)).strftime("%Y-%m-%d"))

    refused = client.post(create_url(group), past)
    fresh = client.get(create_url(group))
    accepted = client.post(create_url(group), {**past, "already_due": "on"})

    assert refused.status_code == 400
    assert "Yes, it is already due" in text_of(refused)
    assert "Yes, it is already due" not in text_of(fresh)  # offered only when it is needed
    assert accepted.status_code == 302
    assert Assignment.objects.get().is_due()


def test_a_time_the_groups_clocks_skip_is_refused(client, group, essay, facilitator):
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    client.force_login(facilitator)
    year = timezone.now().year + 1
    # the second Sunday of March: Chicago's clocks go from 02:00 to 03:00
    sunday = next(
        day
        for day in (datetime(year, 3, d) for d in range(8, 15))
        if day.weekday() == 6  # Sunday
    )

    response = client.post(
        create_url(group), form_data(essay, due_date=f"{sunday:%Y-%m-%d}", due_time="02:30")
    )

    assert response.status_code == 400
    assert "does not exist in America/Chicago" in text_of(response)
    assert not Assignment.objects.exists()


def test_the_create_page_offers_each_of_the_groups_readings(
    client, group, essay, facilitator, minutes
):
    client.force_login(facilitator)

    default = client.get(create_url(group))
    chosen = client.get(create_url(group) + "?reading=minutes")
    response = client.post(
        create_url(group),
        form_data(
            minutes,
            reading="minutes",
            first_block=blocks(minutes)[0].anchor,
            last_block=blocks(minutes)[1].anchor,
        ),
    )

    assert "Show its contents" in text_of(default)
    assert "One came." in text_of(chosen) and "One came." not in text_of(default)
    assert response.status_code == 302
    assert Assignment.objects.get().group_reading.reading == minutes


def test_a_new_assignment_starts_where_the_last_one_ended(client, group, essay, facilitator):
    make(group, essay, facilitator, first=0, last=4)
    client.force_login(facilitator)

    page = client.get(create_url(group)).content.decode()

    chosen = re.search(r'<select name="first_block".*?</select>', page, re.S).group(0)
    assert re.search(rf'value="{blocks(essay)[5].anchor}" selected', chosen)


def test_a_group_with_no_readings_is_told_to_add_one(client, facilitator):
    from groups.services import group_create

    empty = group_create(name="Empty Circle", created_by=facilitator)
    client.force_login(facilitator)

    response = client.get(create_url(empty))

    assert response.status_code == 200
    assert "The group has no readings yet" in text_of(response)


def test_the_edit_page_shows_the_assignment_in_the_groups_time_and_saves(
    client, group, essay, facilitator
):
    group.time_zone = "Asia/Tokyo"
    group.save(update_fields=["time_zone"])
    assignment = make(group, essay, facilitator, due_at=datetime(2031, 5, 1, 10, 0, tzinfo=UTC))
    client.force_login(facilitator)

    page = client.get(edit_url(assignment))
    saved = client.post(
        edit_url(assignment),
        form_data(essay, title="Renamed", due_date="2031-05-01", due_time="19:00"),
    )

    assert 'value="2031-05-01"' in page.content.decode()
    assert 'value="19:00"' in page.content.decode()  # 10:00 UTC is 19:00 in Tokyo
    assert saved.status_code == 302
    assignment.refresh_from_db()
    assert assignment.title == "Renamed"
    assert assignment.due_at == datetime(2031, 5, 1, 10, 0, tzinfo=UTC)


def test_an_edit_that_breaks_a_rule_shows_it_and_changes_nothing(client, group, essay, facilitator):
    assignment = make(group, essay, facilitator)
    client.force_login(facilitator)

    response = client.post(edit_url(assignment), form_data(essay, title=""))

    assert response.status_code == 400
    assert "Give the assignment a title." in text_of(response)
    assignment.refresh_from_db()
    assert assignment.title == "Week 1"


def test_delete_asks_first_then_deletes_and_keeps_the_prompts(client, group, essay, facilitator):
    assignment = make(group, essay, facilitator)
    question = prompt(assignment, facilitator)
    url = reverse("assignments:delete", args=[group.slug, assignment.pk])
    client.force_login(facilitator)

    asked = client.post(url)
    done = client.post(url, {"confirmed": "1"})

    assert asked.status_code == 200 and "its prompts become ordinary questions" in text_of(asked)
    assert done.status_code == 302 and done["Location"] == list_url(group)
    assert not Assignment.objects.exists()
    assert Annotation.objects.filter(pk=question.pk, prompt_of=None).exists()


def test_the_move_buttons_reorder_the_list(client, group, essay, facilitator):
    one = make(group, essay, facilitator, title="One")
    make(group, essay, facilitator, title="Two")
    client.force_login(facilitator)

    response = client.post(
        reverse("assignments:move", args=[group.slug, one.pk]), {"direction": "down"}
    )

    assert response.status_code == 302
    assert list(Assignment.objects.values_list("title", flat=True)) == ["Two", "One"]


def test_members_read_the_list_and_facilitators_manage_it(
    client, group, essay, facilitator, member
):
    assignment = make(group, essay, facilitator, instructions="Read **both** sections.")
    question = prompt(assignment, facilitator, body="Who is *the subject* here?")
    client.force_login(member)

    as_member = text_of(client.get(list_url(group)))
    client.force_login(facilitator)
    as_facilitator = text_of(client.get(list_url(group)))

    assert "Week 1" in as_member and "<strong>both</strong>" in as_member
    assert "<em>the subject</em>" in as_member
    thread = reverse("annotations:thread", args=[group.slug, essay.slug, question.pk])
    assert thread in as_member
    assert "Edit and add prompts" not in as_member and "New assignment" not in as_member
    assert "Edit and add prompts" in as_facilitator and "New assignment" in as_facilitator


def test_the_list_leaves_out_deleted_and_hidden_prompts(client, group, essay, facilitator, member):
    assignment = make(group, essay, facilitator)
    prompt(assignment, facilitator, index=0, body="Kept prompt")
    gone = prompt(assignment, facilitator, index=1, body="Deleted prompt")
    hidden = prompt(assignment, facilitator, index=2, body="Hidden prompt")
    annotation_services.annotation_delete(annotation=gone)
    annotation_services.annotation_hide(annotation=hidden, by=facilitator, note="Later")
    client.force_login(member)

    page = text_of(client.get(list_url(group)))

    assert "Kept prompt" in page
    assert "Deleted prompt" not in page and "Hidden prompt" not in page


def test_the_list_asks_a_fixed_number_of_queries(
    client, group, essay, facilitator, member, django_assert_max_num_queries
):
    for n in range(5):
        assignment = make(group, essay, facilitator, title=f"Week {n}")
        prompt(assignment, facilitator)
    client.force_login(member)

    # session, user, membership, assignments, prompts, the essay's sections and blocks
    with django_assert_max_num_queries(7):
        response = client.get(list_url(group))

    assert response.status_code == 200


# --- prompts --------------------------------------------------------------------------------------


def test_the_facilitator_adds_a_prompt_in_two_steps(client, group, essay, facilitator):
    assignment = make(group, essay, facilitator, first=2, last=4)
    paragraph = blocks(essay)[3]
    words = " ".join(paragraph.text.split()[:6])
    client.force_login(facilitator)

    choose = client.get(prompt_url(assignment))
    write = client.get(prompt_url(assignment) + f"?block={paragraph.anchor}")
    response = client.post(
        prompt_url(assignment),
        {"block": paragraph.anchor, "quote": words, "body": "Why *this* word?"},
    )

    assert choose.status_code == 200 and f'value="{paragraph.anchor}"' in text_of(choose)
    assert blocks(essay)[6].anchor not in text_of(choose)  # outside the range: not offered
    assert write.status_code == 200
    assert paragraph.text in text_of(write)  # the words are prefilled with the paragraph
    assert response.status_code == 302
    assert response["Location"] == edit_url(assignment) + "#prompts"
    made = Annotation.objects.get(prompt_of=assignment)
    assert (made.start, made.exact, made.motivation) == (paragraph.start, words, "questioning")
    assert made.visibility == "group" and made.author == facilitator
    edit = text_of(client.get(edit_url(assignment)))
    assert reverse("annotations:thread", args=[group.slug, essay.slug, made.pk]) in edit


PROMPT_PROBLEMS = {
    "words not in the paragraph": ({"quote": "nowhere to be found"}, "not in this paragraph"),
    "no question": ({"body": ""}, "Write the question."),
    "no words": ({"quote": "  "}, "Keep at least a few words"),
}


@pytest.mark.parametrize("case", PROMPT_PROBLEMS, ids=str)
def test_a_bad_prompt_is_refused_clearly(case, client, group, essay, facilitator):
    assignment = make(group, essay, facilitator, first=2, last=4)
    paragraph = blocks(essay)[3]
    change, message = PROMPT_PROBLEMS[case]
    client.force_login(facilitator)

    response = client.post(
        prompt_url(assignment),
        {"block": paragraph.anchor, "quote": paragraph.text[:30], "body": "Why?", **change},
    )

    assert response.status_code == 400
    assert message in text_of(response)
    assert not Annotation.objects.exists()


def test_a_prompt_outside_the_range_is_refused(client, group, essay, facilitator):
    assignment = make(group, essay, facilitator, first=2, last=4)
    outside = blocks(essay)[6]
    client.force_login(facilitator)

    response = client.post(
        prompt_url(assignment), {"block": outside.anchor, "quote": outside.text, "body": "Why?"}
    )

    assert response.status_code == 400
    assert "not inside the assignment's range" in text_of(response)
    assert not Annotation.objects.exists()
    with pytest.raises(annotation_services.AnnotationError, match="inside the assigned range"):
        annotation_services.annotation_create(
            group=group,
            reading=essay,
            author=facilitator,
            motivation="questioning",
            body="Why?",
            start=outside.start,
            end=block_end(outside),
            prompt_of=assignment,
        )


# =================================================================================================
# Walls: 404 for anyone outside the group, 403 for a member, 405 for GET on a POST-only action
# =================================================================================================


@pytest.fixture
def assignment(group, essay, facilitator):
    return make(group, essay, facilitator)


def all_urls(group, assignment) -> dict[str, str]:
    args = [group.slug, assignment.pk]
    return {
        "list": list_url(group),
        "create": create_url(group),
        "edit": reverse("assignments:edit", args=args),
        "delete": reverse("assignments:delete", args=args),
        "move": reverse("assignments:move", args=args),
        "prompt": reverse("annotations:prompt_create", args=args),
    }


def state() -> list:
    return list(Assignment.objects.values_list("pk", "title", "position", "start", "end")) + [
        Annotation.objects.count()
    ]


@pytest.mark.parametrize("name", ["list", "create", "edit", "delete", "move", "prompt"])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_outsider_gets_404(client, group, assignment, outsider, other_member, name, method):
    url = all_urls(group, assignment)[name]
    before = state()
    for person in (outsider, other_member):
        client.force_login(person)
        response = getattr(client, method)(url, {"title": "Taken", "direction": "up"})
        post_only, get_only = name in {"delete", "move"}, name == "list"
        refused = (post_only and method == "get") or (get_only and method == "post")
        assert response.status_code == (405 if refused else 404)
        assert "Tuesday Reading Circle" not in text_of(response)
    assert state() == before


MANAGING = [
    ("create", "get"),
    ("create", "post"),
    ("edit", "get"),
    ("edit", "post"),
    ("delete", "post"),
    ("move", "post"),
    ("prompt", "get"),
    ("prompt", "post"),
]


@pytest.mark.parametrize(("name", "method"), MANAGING)
def test_a_member_without_the_role_gets_403(client, group, assignment, member, name, method):
    url = all_urls(group, assignment)[name]
    client.force_login(member)
    before = state()

    response = getattr(client, method)(url, {"title": "Mine now", "direction": "up"})

    assert response.status_code == 403
    assert state() == before


@pytest.mark.parametrize("name", ["delete", "move"])
def test_it_rejects_get(client, group, assignment, facilitator, name):
    client.force_login(facilitator)

    response = client.get(all_urls(group, assignment)[name])

    assert response.status_code == 405
    assert Assignment.objects.filter(pk=assignment.pk).exists()


@pytest.mark.parametrize("name", ["create", "edit", "delete", "move", "prompt"])
def test_in_an_archived_group_the_facilitator_only_reads(
    client, group, assignment, facilitator, name
):
    group_archive(group=group)
    client.force_login(facilitator)
    before = state()

    response = client.post(all_urls(group, assignment)[name], {"direction": "up"})
    listed = client.get(list_url(group))

    assert response.status_code == 403
    assert "archived" in text_of(response)
    assert listed.status_code == 200 and "Edit and add prompts" not in text_of(listed)
    assert state() == before


def test_an_assignment_of_another_group_is_404_to_a_facilitator(
    client, group, other_group, essay, facilitator, other_member
):
    theirs = make(other_group, essay, other_member, title="Night reading")
    client.force_login(facilitator)

    for url in all_urls(group, theirs).values():
        if "/assignments/" + str(theirs.pk) in url or "prompts" in url:
            assert client.get(url).status_code in {404, 405}
            assert client.post(url, {"confirmed": "1", "direction": "up"}).status_code == 404
    assert Assignment.objects.filter(pk=theirs.pk, title="Night reading").exists()
