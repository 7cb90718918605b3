"""Meetings in Chromium: a facilitator schedules a meeting and pins threads from the
suggestions; a member raises a thread at the meeting from its page and reads the agenda; axe
over every meetings page, light and dark, desktop and phone; and screenshots of the group home
with the next meeting, the agenda and the meetings list (under /tmp/shots-meetings/, or
SHOTS_DIR).
"""

import os
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from annotations import services as annotation_services
from assignments.services import assignment_create
from assignments.times import from_group_time
from groups.models import Membership
from meetings import services
from meetings.models import AgendaItem, Meeting, Raise
from readings.layout import reading_layout
from tests.annotating import create, reply_to
from tests.test_browser_axe import AXE_OPTIONS, DEVICES, FAILING_IMPACTS, described, session_cookie

pytestmark = pytest.mark.browser

SEVEN = time(19, 0)
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots-meetings"))
QUOTES = [
    "The premise of socialism is simple: full democracy.",
    "That is why strikes are so categorically powerful",
    "The collective power of workers is the concrete reality",
]


@pytest.fixture
def classmate(make_user, group):
    user = make_user("sami", display_name="Sami Lindqvist")
    Membership.objects.create(group=group, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def threads(transactional_db, group, essay, facilitator, member, classmate):
    """A question with replies, a comment a member will raise, and a comment about strikes."""
    question = create(
        group, essay, member, quote=QUOTES[0], body="Is *full democracy* the whole premise?",
        motivation="questioning",
    )  # fmt: skip
    reply_to(question, classmate, body="It is where it starts, at least.")
    reply_to(question, facilitator, body="Hold that thought for Tuesday.")
    strikes = create(
        group, essay, classmate, quote=QUOTES[1],
        body="The 2018 teachers' strikes showed this: the schools could not run.",
    )  # fmt: skip
    reply_to(strikes, member, body="And the organising before the walkout mattered.")
    power = create(group, essay, facilitator, quote=QUOTES[2], body="What is *concrete* here?")
    return {"question": question, "strikes": strikes, "power": power}


def signed_in(page, live_server, user):
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session_cookie(user), "url": live_server.url}]
    )
    return page


def test_a_facilitator_schedules_pins_and_a_member_raises_and_reads_the_agenda(
    page, second_page, live_server, group, facilitator, member, threads
):
    # The facilitator schedules a meeting from the meetings list.
    signed_in(page, live_server, facilitator)
    page.goto(f"/groups/{group.slug}/meetings/")
    page.get_by_role("link", name="Schedule a meeting").first.click()
    page.get_by_label("Title").fill("Week 2: Why the working class")
    page.get_by_label("Date").fill(f"{timezone.now() + timedelta(days=6):%Y-%m-%d}")
    page.get_by_label("Starts").fill("19:00")
    page.get_by_label("Ends").fill("20:30")
    page.get_by_label("Online link").fill("meet.example/tuesday")
    page.get_by_role("button", name="Schedule the meeting").click()
    page.wait_for_url("**/meetings/*/#agenda")
    meeting = Meeting.objects.get()
    assert meeting.link == "https://meet.example/tuesday"
    assert page.get_by_role("heading", name="Week 2: Why the working class").is_visible()

    # A member raises the strikes thread from its page, without JavaScript's help.
    signed_in(second_page, live_server, member)
    strikes = threads["strikes"]
    second_page.goto(f"/groups/{group.slug}/readings/{strikes.reading.slug}/threads/{strikes.pk}/")
    raise_button = second_page.get_by_role("button", name="Raise at the meeting")
    assert raise_button.get_attribute("aria-pressed") == "false"
    raise_button.click()
    second_page.wait_for_load_state()
    assert second_page.get_by_text("Raised by 1 (you too)").is_visible()
    assert (
        second_page.get_by_role("button", name="Raise at the meeting").get_attribute("aria-pressed")
        == "true"
    )
    assert Raise.objects.filter(annotation=strikes, user=member).exists()

    # The facilitator sees it raised among the suggestions and pins it, then the question.
    page.reload()
    raised = page.locator(f"#suggest-raised-{strikes.pk}")
    assert "Raised by 1" in raised.inner_text()
    raised.get_by_role("button", name="Pin").click()
    page.wait_for_url("**/#agenda")
    page.locator(f"#suggest-discussed-{threads['question'].pk}").get_by_role(
        "button", name="Pin"
    ).click()
    page.wait_for_url("**/#agenda")
    page.get_by_label("Add an item").fill("Choose the next reading")
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url("**/#agenda")
    items = list(AgendaItem.objects.order_by("position"))
    assert [i.thread_id for i in items] == [strikes.pk, threads["question"].pk, None]

    # The facilitator moves the question up.
    page.locator(f"#item-{items[1].pk}").get_by_role("button", name="Up").click()
    page.wait_for_url("**/#item-*")
    assert list(AgendaItem.objects.order_by("position").values_list("pk", flat=True)) == [
        items[1].pk,
        items[0].pk,
        items[2].pk,
    ]

    # The member reads the agenda, read-only, from the group home's panel.
    second_page.goto(f"/groups/{group.slug}/")
    panel = second_page.locator(".meeting-panel")
    assert "Week 2: Why the working class" in panel.inner_text()
    panel.get_by_role("link", name="The agenda").click()
    agenda = second_page.locator(".agenda")
    agenda.wait_for()
    texts = [t.strip() for t in agenda.locator(".agenda-item").all_inner_texts()]
    assert "Is full democracy the whole premise?" in texts[0]
    assert "The 2018 teachers' strikes" in texts[1]
    assert "Choose the next reading" in texts[2]
    assert second_page.get_by_role("button", name="Pin").count() == 0
    assert second_page.locator("form[action*='/agenda/']").count() == 0


# --- axe and screenshots -------------------------------------------------------------------------


@pytest.fixture
def meetings_world(transactional_db, group, essay, facilitator, member, classmate, threads):
    """The Tuesday Reading Circle a week into its rhythm: last week's meeting held, with a recap
    and two threads discussed; the next in six days discussing Week 2, with two pinned threads
    and a free item; a cancelled one in between; members' raises."""
    now = timezone.now()
    zone = ZoneInfo("America/Chicago")

    def at_seven(days: int):  # 19:00 in the group's time, `days` from today there
        return from_group_time((now.astimezone(zone) + timedelta(days=days)).date(), SEVEN, zone)

    group.description = "We read one essay a month and meet online on Tuesdays at 7 pm."
    group.time_zone = "America/Chicago"
    group.save(update_fields=["description", "time_zone"])
    blocks = [b for s in reading_layout(essay)["sections"] for b in s.block_list]
    week2 = assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2: Why the working class",
        first_block=blocks[0].anchor,
        last_block=blocks[8].anchor,
        due_at=at_seven(6) - timedelta(hours=1),
    )
    fac = Membership.objects.select_related("group").get(group=group, user=facilitator)
    last = services.meeting_create(
        group=group,
        created_by=facilitator,
        title="Week 1: What is socialism from below?",
        starts_at=at_seven(-7),
        ends_at=at_seven(-7) + timedelta(minutes=90),
        link="https://meet.example/tuesday",
        in_the_past=True,
    )
    for thread in (threads["question"], threads["power"]):
        item = services.agenda_pin(meeting=last, by=fac, thread=thread)
        services.agenda_mark_discussed(item=item)
    services.meeting_recap(
        group=group,
        meeting=last,
        recap="We read the introduction together.\n\n- **Full democracy** is where the essay "
        "starts, not where it ends.\n- Next week: bring one example of collective power from "
        "your own work.",
    )
    cancelled = services.meeting_create(
        group=group,
        created_by=facilitator,
        title="Extra session: the footnotes",
        starts_at=at_seven(2),
        ends_at=at_seven(2) + timedelta(minutes=60),
    )
    services.meeting_cancel(meeting=cancelled)
    coming = services.meeting_create(
        group=group,
        created_by=facilitator,
        title="Week 2: Why the working class",
        starts_at=at_seven(6),
        ends_at=at_seven(6) + timedelta(minutes=90),
        link="https://meet.example/tuesday",
        assignment=week2,
    )
    services.agenda_add(meeting=coming, text="Check-in: one sentence each")
    services.agenda_pin(meeting=coming, by=fac, thread=threads["strikes"])
    more = create(
        group, essay, member, quote="Schools and hospitals and coffee shops",
        body="Which of us could the hospital run without?", motivation="questioning",
    )  # fmt: skip
    services.agenda_pin(meeting=coming, by=fac, thread=more)
    for person in (member, classmate):
        services.raise_toggle(
            membership=Membership.objects.select_related("group").get(group=group, user=person),
            thread=threads["strikes"],
            raised=True,
        )
    annotation_services.annotation_plus_one(annotation=threads["strikes"], user=member)
    r = f"/groups/{group.slug}/readings/{essay.slug}"
    g = f"/groups/{group.slug}"
    return {
        "group home": (member, f"{g}/"),
        "group home (facilitator)": (facilitator, f"{g}/"),
        "meetings list": (member, f"{g}/meetings/"),
        "meetings list (facilitator)": (facilitator, f"{g}/meetings/"),
        "agenda": (member, f"{g}/meetings/{coming.pk}/"),
        "agenda (facilitator)": (facilitator, f"{g}/meetings/{coming.pk}/"),
        "past meeting (facilitator)": (facilitator, f"{g}/meetings/{last.pk}/"),
        "cancelled meeting": (member, f"{g}/meetings/{cancelled.pk}/"),
        "schedule form": (facilitator, f"{g}/meetings/new/"),
        "edit form": (facilitator, f"{g}/meetings/{coming.pk}/edit/"),
        "thread with raise": (member, f"{r}/threads/{threads['strikes'].pk}/"),
        "discussed thread": (member, f"{r}/threads/{threads['question'].pk}/"),
        "calendar": (member, "/calendar/"),
        "site home": (member, "/"),
    }


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_no_meetings_page_has_a_serious_accessibility_violation(
    browser, live_server, meetings_world, device, scheme
):
    axe = Axe()
    context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems, wrong_status = [], []
    try:
        for what, (who, path) in meetings_world.items():
            signed_in(page, live_server, who)
            response = page.goto(path)
            if response.status != 200:
                wrong_status.append(f"{path} answered {response.status}")
                continue
            where = f"[{scheme} {device}] {what} ({who.username}) {path}"
            results = axe.run(page, options=AXE_OPTIONS)
            problems += [
                described(violation, where)
                for violation in results.response["violations"]
                if violation["impact"] in FAILING_IMPACTS
            ]
        # The calendar page with its address just made (shown once).
        signed_in(page, live_server, meetings_world["calendar"][0])
        page.goto("/calendar/")
        page.get_by_role("button", name="Make my calendar address").click()
        page.get_by_text("Adding it to your calendar").wait_for()
        results = axe.run(page, options=AXE_OPTIONS)
        problems += [
            described(violation, f"[{scheme} {device}] calendar address made")
            for violation in results.response["violations"]
            if violation["impact"] in FAILING_IMPACTS
        ]
    finally:
        context.close()

    assert wrong_status == []
    assert not problems, f"{len(problems)} serious or critical violations:\n" + "\n".join(problems)


SHOTS_OF = [
    "group home",
    "agenda (facilitator)",
    "agenda",
    "meetings list (facilitator)",
    "past meeting (facilitator)",
    "thread with raise",
    "site home",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots_of_the_meetings_pages(browser, live_server, meetings_world, width, scheme):
    device = DEVICES["desktop" if width == 1280 else "phone"]
    context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **device)
    page = context.new_page()
    page.set_default_timeout(10_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        for what in SHOTS_OF:
            who, path = meetings_world[what]
            signed_in(page, live_server, who)
            assert page.goto(path).status == 200
            name = what.replace(" (", "-").replace(")", "").replace(" ", "-")
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
    finally:
        context.close()


def test_a_member_raises_a_thread_from_the_reading_pages_panel(
    phone_page, live_server, group, member, threads
):
    strikes = threads["strikes"]
    signed_in(phone_page, live_server, member)
    phone_page.goto(f"/groups/{group.slug}/readings/{strikes.reading.slug}/#a-{strikes.pk}")
    panel = phone_page.locator(".panel-sheet")
    button = panel.get_by_role("button", name="Raise at the meeting")
    button.wait_for()
    button.click()
    panel.get_by_text("Raised by 1 (you too)").wait_for()
    assert Raise.objects.filter(annotation=strikes, user=member).exists()
    assert phone_page.url.split("#")[0].endswith(f"/readings/{strikes.reading.slug}/")
