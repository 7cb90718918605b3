"""Progress in a real Chromium: a member sees This week and marks a section read; the facilitator
reads the participation table and sorts it; axe finds nothing serious on the progress pages.

Live-server tests run on `transactional_db`, so each test asks for it before the group.
"""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.test import Client

from assignments.models import SectionRead
from tests.annotating import create, reply_to
from tests.conftest import screenshot
from tests.test_progress import assign, prompt, sections_of

pytestmark = pytest.mark.browser

SECOND_QUOTE = "When socialists talk about ordinary people"
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {"label-content-name-mismatch": {"enabled": True}},
}
FAILING_IMPACTS = {"serious", "critical"}
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 375, "height": 740},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    return problems


@pytest.fixture
def week(transactional_db, group, essay, facilitator, member):
    """Week 2 (the first two sections, due in three days) with a prompt; a thread with a reply."""
    assignment = assign(group, essay, 0, 1, title="Week 2: Why the working class")
    prompt(assignment, facilitator, "Why start from the working class?")
    comment = create(group, essay, facilitator, SECOND_QUOTE, body="Note the word *really*.")
    reply_to(comment, facilitator, "And who is left out?")
    create(group, essay, member, body="The premise, in one line.")
    return assignment


def test_a_member_sees_this_week_and_marks_a_section_read(
    group, essay, member, week, page, phone_page, login
):
    problems = watch(login(page, member))
    first = sections_of(essay)[0]

    page.goto(group.get_absolute_url())

    panel = page.locator(".progress-panel")
    expect()(panel.get_by_role("heading", name="This week")).to_be_visible()
    item = panel.locator(f"#week-{week.pk}")
    expect()(item.get_by_role("heading", name="Week 2: Why the working class")).to_be_visible()
    expect()(item).to_contain_text("0 of 2")
    expect()(item).to_contain_text("Why start from the working class?")
    screenshot(page, "progress-group-home-member-1280")

    item.get_by_role("button", name="Mark read: Introduction").click()

    expect()(page).to_have_url(f"{page.url.split('#')[0]}#week-{week.pk}")
    item = page.locator(f"#week-{week.pk}")
    expect()(item).to_contain_text("1 of 2")
    expect()(item.get_by_role("button", name="Read — unmark: Introduction")).to_be_visible()
    assert SectionRead.objects.filter(section=first.anchor, membership__user=member).exists()

    item.get_by_role("button", name="Read — unmark: Introduction").click()
    expect()(page.locator(f"#week-{week.pk}")).to_contain_text("0 of 2")
    assert not SectionRead.objects.exists()
    assert problems == []

    login(phone_page, member).goto(group.get_absolute_url())
    screenshot(phone_page, "progress-group-home-member-375")
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_facilitator_reads_and_sorts_the_participation_table(
    group, essay, facilitator, week, page, login
):
    problems = watch(login(page, facilitator))
    page.goto(group.get_absolute_url())

    page.locator(f"#week-{week.pk}").get_by_role("link", name="Who took part").click()

    expect()(page.get_by_role("heading", name="Participation", exact=True)).to_be_visible()
    table = page.get_by_role("table")
    expect()(table.get_by_role("row")).to_have_count(3)  # the header and two people
    expect()(table.get_by_role("row", name="Fran Facilitator")).to_contain_text("2")
    header = table.get_by_role("columnheader", name="Member")
    expect()(header).to_have_attribute("aria-sort", "ascending")

    table.get_by_role("link", name="Replies").click()

    replies = page.get_by_role("columnheader", name="Replies")
    expect()(replies).to_have_attribute("aria-sort", "descending")
    first_row = page.get_by_role("table").get_by_role("row").nth(1)
    expect()(first_row).to_contain_text("Fran Facilitator")
    expect()(page.get_by_role("heading", name="Where the discussion gathered")).to_be_visible()
    screenshot(page, "progress-participation-1280")
    assert problems == []


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_no_progress_page_has_a_serious_accessibility_violation(
    browser, live_server, group, essay, member, facilitator, week, device, scheme
):
    SectionRead.objects.create(
        membership=member.memberships.get(), reading=essay, section=sections_of(essay)[0].anchor
    )
    g = f"/groups/{group.slug}"
    r = f"{g}/readings/{essay.slug}"
    pages = [
        (member, "site home with This week", "/"),
        (member, "group home", f"{g}/"),
        (member, "since your last visit", f"{g}/since/"),
        (member, "contents", f"{r}/contents/"),
        (facilitator, "group home", f"{g}/"),
        (facilitator, "participation", f"{r}/participation/"),
        (
            facilitator,
            "participation, all time by replies",
            f"{r}/participation/?assignment=all&sort=-replies",
        ),
    ]
    axe = Axe()
    cookies = {}
    context = browser.new_context(base_url=live_server.url, color_scheme=scheme, **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems, wrong = [], []
    try:
        for who, what, path in pages:
            context.clear_cookies()
            cookies.setdefault(who.pk, session_cookie(who))
            context.add_cookies(
                [{"name": "sessionid", "value": cookies[who.pk], "url": live_server.url}]
            )
            response = page.goto(path)
            if response.status != 200:
                wrong.append(f"{path} answered {response.status}")
                continue
            where = f"[{scheme} {device}] {what} ({who.username}) {path}"
            results = axe.run(page, options=AXE_OPTIONS)
            for violation in results.response["violations"]:
                if violation["impact"] in FAILING_IMPACTS:
                    targets = [" ".join(map(str, n["target"])) for n in violation["nodes"]]
                    problems.append(
                        f"{where}: {violation['id']} ({violation['impact']}) {violation['help']}"
                        f" at {', '.join(targets[:6])}"
                    )
            width = DEVICES[device]["viewport"]["width"]
            if page.evaluate("document.documentElement.scrollWidth") > width:
                problems.append(f"{where}: wider than the screen")
    finally:
        context.close()

    assert wrong == []
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_a_due_date_a_day_late_still_shows_as_overdue(
    group, essay, member, page, login, transactional_db
):
    assign(group, essay, 2, 2, title="Last week's", due_in=-timedelta(days=1))
    login(page, member).goto(group.get_absolute_url())

    expect()(page.locator(".week-item--overdue")).to_contain_text("overdue by 1 day")
