"""The reading page in a real Chromium: contents, phone layout, dark mode, keyboard, no JS.

Live-server tests run on `transactional_db`, so each test asks for it before the essay.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

READING_URL = "/readings/what-is-socialism-from-below/"
LIGHT_PAPER = "rgb(251, 248, 241)"
DARK_PAPER = "rgb(27, 26, 23)"

# Records CSP violations the page itself sees (belt and braces with the console).
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def watch(page) -> list[str]:
    """Collect console errors and uncaught exceptions from now on."""
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    return problems


def open_reading(page, login, user):
    login(page, user)
    response = page.goto(READING_URL)
    assert response.status == 200
    return page


def header_bottom(page) -> float:
    return page.evaluate("document.querySelector('.site-header').getBoundingClientRect().bottom")


def top_of(page, selector: str) -> float:
    return page.evaluate(f"document.querySelector({selector!r}).getBoundingClientRect().top")


def test_the_side_contents_take_the_reader_to_a_section(
    transactional_db, essay, member, page, login
):
    page.emulate_media(reduced_motion="reduce")
    open_reading(page, login, member)
    side = page.locator("nav.toc--side")
    expect(side).to_be_visible()
    expect(page.locator("details.toc--inline")).to_be_hidden()

    side.get_by_role("link", name="Stalinism", exact=True).click()

    expect(page).to_have_url(re.compile(r"#stalinism$"))
    heading = page.locator("#stalinism-h")
    expect(heading).to_have_text("Stalinism")
    expect(heading).to_be_in_viewport()
    assert top_of(page, "#stalinism-h") >= header_bottom(page) - 1  # not under the sticky header


def test_the_folded_contents_work_on_a_phone_without_sideways_scrolling(
    transactional_db, essay, member, phone_page, login
):
    page = phone_page
    page.emulate_media(reduced_motion="reduce")
    open_reading(page, login, member)
    expect(page.locator("nav.toc--side")).to_be_hidden()
    details = page.locator("details.toc--inline")
    link = details.get_by_role("link", name="The future is open", exact=True)
    expect(link).to_be_hidden()

    details.locator("summary", has_text="Contents").click()
    expect(link).to_be_visible()
    screenshot(page, "reading-375-contents-open")
    link.click()

    expect(page).to_have_url(re.compile(r"#the-future-is-open$"))
    expect(page.locator("#the-future-is-open-h")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("path", ["/", READING_URL, "/readings/", "/accounts/profile/"])
def test_no_page_scrolls_sideways_on_a_phone(
    transactional_db, essay, member, phone_page, login, path
):
    login(phone_page, member)
    phone_page.goto(path)

    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots_of_the_reading_in_light_and_dark(
    transactional_db, essay, member, login, request, width, scheme
):
    shown = request.getfixturevalue("page" if width == 1280 else "phone_page")
    shown.emulate_media(color_scheme=scheme)
    problems = watch(shown)
    open_reading(shown, login, member)
    expect(shown.locator(".block--paragraph").first).to_be_visible()

    path = screenshot(shown, f"reading-{width}-{scheme}")

    assert path.stat().st_size > 10_000
    background = shown.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == (DARK_PAPER if scheme == "dark" else LIGHT_PAPER)
    assert shown.evaluate("document.documentElement.scrollWidth") <= width
    assert problems == []


@pytest.mark.parametrize(
    ("signed_in", "path"),
    [
        (True, READING_URL),
        (True, "/"),
        (True, "/readings/"),
        (False, "/"),
        (False, "/accounts/login/"),
        (False, "/accounts/signup/"),
    ],
    ids=["reading", "home", "library", "home (visitor)", "log in", "sign up"],
)
def test_pages_have_no_console_errors_or_csp_violations(
    transactional_db, essay, member, page, login, signed_in, path
):
    problems = watch(page)
    if signed_in:
        login(page, member)

    response = page.goto(path)
    page.wait_for_load_state("load")

    assert response.status == 200
    assert page.evaluate("window.__cspViolations") == []
    assert problems == []


def test_tab_first_reaches_skip_to_content_and_enter_moves_focus_to_main(
    transactional_db, essay, member, page, login
):
    open_reading(page, login, member)

    page.keyboard.press("Tab")

    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    expect(page.get_by_role("link", name="Skip to content")).to_be_in_viewport()

    page.keyboard.press("Enter")

    expect(page.locator("main#main")).to_be_focused()
    assert page.url.endswith("#main")


def test_the_reading_renders_without_javascript(
    transactional_db, essay, member, browser, live_server, login
):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        open_reading(page, login, member)

        paragraphs = page.locator(".block--paragraph .block__text")
        expected = list(essay.blocks.filter(kind="paragraph").values_list("text", flat=True))
        expect(paragraphs).to_have_count(len(expected))
        expect(paragraphs.first).to_have_text(expected[0])
        expect(paragraphs.last).to_have_text(expected[-1])
        expect(page.locator("blockquote")).to_have_count(1)
        expect(page.locator("figcaption")).to_have_count(3)

        page.locator("nav.toc--side").get_by_role("link", name="International").click()
        expect(page).to_have_url(re.compile(r"#international$"))
    finally:
        context.close()
