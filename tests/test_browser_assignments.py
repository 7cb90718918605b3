"""Assignments in a real Chromium: a facilitator sets one with a due date and a prompt, a member
elsewhere in the world reads it; every assignment page at 1280 and 375 px, light and dark,
looked at (screenshots) and checked by axe.

Screenshots go to test-artifacts/, or to $SHOTS_DIR when it is set. Live-server tests run on
`transactional_db`, so each test asks for it before the group.
"""

import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import Client
from django.utils import timezone

from annotations import services as annotation_services
from assignments import services
from assignments.contents import blocks_of
from groups.models import Membership
from groups.services import group_archive, group_create
from readings.layout import reading_layout
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("SHOTS_DIR") or ARTIFACTS)
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}
FAILING_IMPACTS = {"serious", "critical"}
DEVICES = {
    "1280": {"viewport": {"width": 1280, "height": 900}},
    "375": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


def day(moment) -> str:
    year = "" if moment.year == timezone.now().year else f" {moment.year}"
    return f"{moment:%a} {moment.day} {moment:%b}{year}"


@pytest.fixture
def chicago(transactional_db, group, facilitator, member):
    """The circle meets in Chicago; its facilitator lives there, Maria in Kolkata."""
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    facilitator.time_zone = "America/Chicago"
    facilitator.save(update_fields=["time_zone"])
    member.time_zone = "Asia/Kolkata"
    member.save(update_fields=["time_zone"])
    return group


def test_a_facilitator_sets_an_assignment_with_a_due_date_and_a_prompt(
    chicago, essay, facilitator, member, page, second_page, login
):
    problems = watch(page)
    due_day = date(timezone.now().year + 1, 1, 14)
    login(page, facilitator)

    page.goto(f"/groups/{chicago.slug}/")
    page.get_by_role("navigation", name="Group").get_by_role("link", name="Assignments").click()
    expect()(page.get_by_text("No assignments yet.")).to_be_visible()
    page.get_by_role("link", name="New assignment").click()
    page.get_by_label("Title").fill("Week 2: Why the working class")
    page.get_by_label("From").select_option(label="§ Why the working class")
    page.get_by_label("To").select_option(label="§ Why the working class (to its end)")
    expect()(page.get_by_text("In the group's time zone, America/Chicago")).to_be_visible()
    page.get_by_label("Due date").fill(f"{due_day:%Y-%m-%d}")
    page.get_by_label("Time").fill("19:00")
    page.get_by_label("Instructions").fill("Read it twice. Bring **one example**.")
    page.get_by_role("button", name="Set the assignment").click()

    expect()(page.get_by_text("“Week 2: Why the working class” is set.")).to_be_visible()
    prompts = page.locator("#prompts")
    expect()(prompts.get_by_text("No prompts yet.")).to_be_visible()
    first_paragraph = prompts.get_by_label("Paragraph").locator("option").first.inner_text()
    prompts.get_by_role("button", name="Choose the words").click()

    words = page.get_by_label("The words the prompt is about")
    paragraph = words.input_value()
    assert first_paragraph.split(" — ")[1].rstrip("…") in paragraph  # prefilled, whole
    passage = " ".join(paragraph.split()[:7])
    words.fill(passage)
    page.get_by_label("The question").fill("Who does the *work* here?")
    page.get_by_role("button", name="Add the prompt").click()

    expect()(page.get_by_text("Prompt added")).to_be_visible()
    expect()(prompts.locator(".prompt__quote")).to_have_text(passage)
    page.get_by_role("link", name="← Assignments").click()
    expect()(page.get_by_role("heading", name="Week 2: Why the working class")).to_be_visible()
    expect()(page.locator(".assignment__due time")).to_have_text(f"{day(due_day)}, 19:00")
    expect()(page.locator(".assignment__instructions strong")).to_have_text("one example")

    # Maria, in Kolkata, reads it in her own time with the group's alongside, and opens the prompt
    reader = login(second_page, member)
    reader.goto(f"/groups/{chicago.slug}/assignments/")
    in_kolkata = datetime(due_day.year, 1, 14, 19, tzinfo=ZoneInfo("America/Chicago")).astimezone(
        ZoneInfo("Asia/Kolkata")
    )
    expect()(reader.locator(".assignment__due time")).to_have_text(
        f"{day(in_kolkata)}, {in_kolkata:%H:%M} your time · "
        f"{day(due_day)}, 19:00 in the group's time"
    )
    expect()(reader.get_by_role("link", name="New assignment")).to_have_count(0)
    reader.get_by_role("link", name=re.compile("^Discuss")).click()
    expect()(reader.get_by_text("Who does the work here?")).to_be_visible()
    assert not problems


# --- every page, looked at and checked --------------------------------------------------------


@pytest.fixture
def pages(transactional_db, group, essay, facilitator, member):
    """(who, what, path) for each assignment page, with real assignments behind them."""
    group.time_zone = "America/Chicago"
    group.save(update_fields=["time_zone"])
    member.time_zone = "Europe/Berlin"
    member.save(update_fields=["time_zone"])
    blocks = blocks_of(reading_layout(essay))
    now = timezone.now()
    week2 = services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2: Why the working class",
        first_block=blocks[0].anchor,
        last_block=blocks[8].anchor,
        due_at=now + timedelta(days=3, hours=2),
        instructions="Read both sections before Tuesday. Answer the two prompts in the margin, "
        "and bring **one example** from your own work.",
    )
    services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 3: Socialisms from above",
        first_block=blocks[9].anchor,
        last_block=blocks[20].anchor,
        due_at=now + timedelta(days=10),
        post_before_peek=True,
    )
    services.assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 1: The introduction",
        first_block=blocks[0].anchor,
        last_block=blocks[2].anchor,
        due_at=now - timedelta(days=4),
        already_due=True,
    )
    for index, question in ((1, "What does *democracy* mean here?"), (4, "Who is speaking?")):
        block = blocks[index]
        quote = " ".join(block.text.split()[:9])
        annotation_services.annotation_create(
            group=group,
            reading=essay,
            author=facilitator,
            motivation="questioning",
            body=question,
            start=block.start,
            end=block.start + len(quote),
            exact=quote,
            prompt_of=week2,
        )
    empty = group_create(name="A Quiet Circle", created_by=facilitator)
    archived = group_create(name="Archived Circle", created_by=facilitator)
    Membership.objects.create(group=archived, user=member)
    archived.group_readings.create(reading=essay, added_by=facilitator)
    services.assignment_create(
        group=archived,
        reading=essay,
        created_by=facilitator,
        title="Old reading",
        first_block=blocks[0].anchor,
        last_block=blocks[1].anchor,
        due_at=now - timedelta(days=40),
        already_due=True,
    )
    group_archive(group=archived)

    g = f"/groups/{group.slug}/assignments"
    return [
        (member, "list-member", f"{g}/"),
        (facilitator, "list-facilitator", f"{g}/"),
        (facilitator, "create", f"{g}/new/"),
        (facilitator, "create-errors", f"{g}/new/#post"),
        (facilitator, "edit", f"{g}/{week2.pk}/edit/"),
        (facilitator, "prompt-choose", f"{g}/{week2.pk}/prompts/new/"),
        (facilitator, "prompt-write", f"{g}/{week2.pk}/prompts/new/?block={blocks[3].anchor}"),
        (facilitator, "list-empty", f"/groups/{empty.slug}/assignments/"),
        (member, "list-archived", f"/groups/{archived.slug}/assignments/"),
    ]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def described(violation: dict, where: str) -> str:
    targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
    first = violation["nodes"][0].get("failureSummary", "").replace("\n", " ")
    return (
        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}\n"
        f"    at {', '.join(targets[:6])}\n    {first[:240]}"
    )


def submit_with_errors(page) -> None:
    """The create form sent with a due date in the past and no title: its error state."""
    page.get_by_label("Title").fill("")
    page.get_by_label("Due date").fill("2020-01-07")
    page.get_by_role("button", name="Set the assignment").click()
    expect()(page.get_by_text("Give the assignment a title.")).to_be_visible()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["1280", "375"])
def test_every_assignment_page_looks_finished_and_passes_axe(
    browser, live_server, pages, device, scheme
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    axe = Axe()
    cookies = {}
    context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems, overflowing = [], []
    errors = watch(page)
    try:
        for who, what, path in pages:
            context.clear_cookies()
            cookies.setdefault(who.pk, session_cookie(who))
            context.add_cookies(
                [{"name": "sessionid", "value": cookies[who.pk], "url": live_server.url}]
            )
            response = page.goto(path.removesuffix("#post"))
            assert response.status == 200, f"{path} answered {response.status}"
            if path.endswith("#post"):
                submit_with_errors(page)
            page.screenshot(path=str(SHOTS / f"{what}-{device}-{scheme}.png"), full_page=True)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > int(device):
                overflowing.append(f"{what} is {width}px wide at {device}px")
            results = axe.run(page, options=AXE_OPTIONS)
            problems += [
                described(violation, f"[{scheme} {device}] {what} {path}")
                for violation in results.response["violations"]
                if violation["impact"] in FAILING_IMPACTS
            ]
    finally:
        context.close()

    assert not overflowing
    assert not problems, f"{len(problems)} serious or critical violations:\n" + "\n".join(problems)
    assert [e for e in errors if "status of 400" not in e] == []  # the error page is a 400
