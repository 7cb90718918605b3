"""Filters on the reading page give a list of results and a way through them, in Chromium.

The "N threads" link keeps the active filter, so the thread list shows the same threads;
while a filter is on, Previous / Next match step through the matching highlights in the order
of the text, wrapping around. Live-server tests run on `transactional_db`, so each asks for it.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.test_browser_annotations import comment_on, open_reading, reading_url, watch

pytestmark = pytest.mark.browser


@pytest.fixture
def layer(transactional_db, essay, group, member, facilitator):
    """Maria's three annotations far apart in the text (in text order), and Fran's one."""
    mine = [
        comment_on(essay, group, member, "The word socialism", "Mine, at the start."),
        comment_on(essay, group, member, "we are really talking"),  # a bare highlight
        comment_on(essay, group, member, "Socialists view the oppressed", "Mine, near the end."),
    ]
    theirs = comment_on(essay, group, facilitator, "Both of these", "Fran's.")
    return mine, theirs


def test_the_thread_count_keeps_the_filter_on_the_way_to_the_list(
    essay, group, member, layer, page, login
):
    mine, theirs = layer
    problems = watch(page)
    login(page, member)
    page.goto(reading_url(group, essay) + "?show=mine")
    count = page.locator(".layer-summary").get_by_role("link", name=re.compile(r"threads?$"))
    expect(count).to_have_text("2 threads")  # the bare highlight is no thread
    expect(count).to_have_attribute("href", re.compile(r"/threads/\?show=mine$"))

    count.click()

    expect(page).to_have_url(re.compile(r"/threads/\?show=mine$"))
    cards = page.locator(".thread-card")
    expect(cards).to_have_count(2)
    expect(cards.nth(0)).to_contain_text("Mine, at the start.")
    expect(cards.nth(1)).to_contain_text("Mine, near the end.")
    expect(page.get_by_text("Fran's.")).to_have_count(0)
    assert problems == []


def test_without_a_filter_the_count_goes_to_every_thread_and_there_is_no_stepping(
    essay, group, member, layer, page, login
):
    open_reading(page, login, member, group, essay)
    count = page.locator(".layer-summary").get_by_role("link", name=re.compile(r"threads?$"))
    expect(count).to_have_text("3 threads")
    expect(count).to_have_attribute("href", re.compile(r"/threads/$"))
    expect(page.get_by_role("button", name="Next match")).to_have_count(0)


def test_next_and_previous_match_step_through_the_filtered_highlights_and_wrap(
    essay, group, member, layer, page, login
):
    mine, theirs = layer
    problems = watch(page)
    login(page, member)
    page.goto(reading_url(group, essay))
    page.get_by_label("Show").select_option(label="Only mine")
    expect(page).to_have_url(re.compile(r"[?&]show=mine\b"))

    status = page.locator("[data-match-status]")
    expect(status).to_have_text("3 matches")
    expect(status).to_have_attribute("aria-live", "polite")
    next_match = page.get_by_role("button", name="Next match")
    previous = page.get_by_role("button", name="Previous match")

    def at(index: int, total: int = 3):
        mark = page.locator(f"mark[data-starts~='{mine[index].pk}']")
        expect(mark).to_be_focused()
        expect(mark).to_be_in_viewport()
        expect(status).to_have_text(f"{index + 1} of {total}")

    next_match.click()
    at(0)
    next_match.click()
    at(1)  # the bare highlight is a match too
    screenshot(page, "filters-1280-match-focused")
    next_match.click()
    at(2)
    next_match.click()
    at(0)  # round again
    previous.click()
    at(2)  # and back the other way
    previous.click()
    at(1)

    # By keyboard: Enter on the focused match opens it.
    page.keyboard.press("Enter")
    expect(page.locator(f"#annotation-panel [data-thread-root='{mine[1].pk}']")).to_be_visible()
    assert problems == []


def test_on_a_phone_the_match_controls_fit_and_work(essay, group, member, layer, phone_page, login):
    page = phone_page
    mine, theirs = layer
    login(page, member)
    page.goto(reading_url(group, essay) + "?show=mine&highlights=hide")

    status = page.locator("[data-match-status]")
    expect(status).to_have_text("2 matches")
    page.get_by_role("button", name="Next match").tap()
    expect(page.locator(f"mark[data-starts~='{mine[0].pk}']")).to_be_focused()
    expect(status).to_have_text("1 of 2")
    page.get_by_role("button", name="Previous match").tap()
    expect(page.locator(f"mark[data-starts~='{mine[2].pk}']")).to_be_in_viewport()
    expect(status).to_have_text("2 of 2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
