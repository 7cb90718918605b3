"""Printing, in a real Chromium: the discussion packet lays its threads beside their passages
on paper, without the site's frame or link addresses, and a printed reading page keeps its
highlights. Each test prints a PDF (A4 and Letter) into test-artifacts/ to look at.

Live-server tests run on `transactional_db`, so each test asks for it before the group.
"""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from tests.annotating import create, reply_to
from tests.conftest import ARTIFACTS

pytestmark = pytest.mark.browser

WORKING = "When socialists talk about ordinary people"
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture
def threads(transactional_db, group, essay, facilitator, member):
    question = create(
        group,
        essay,
        facilitator,
        WORKING,
        body="Who is *really* meant? See [the source](https://example.org/source).",
        motivation="questioning",
    )
    reply_to(question, member, "Everyone who works for a wage.")
    create(group, essay, member, body="The premise, in one line.", tags=["premise"])
    return question


def style(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(
        selector, f"(el) => getComputedStyle(el).getPropertyValue('{prop}')"
    )


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", data))


def test_the_packet_prints_its_threads_beside_their_passages(
    page, login, live_server, group, essay, member, threads
):
    login(page, member)
    page.goto(reverse("exports:packet", args=[group.slug, essay.slug]))
    page.emulate_media(media="print")

    for hidden in (".site-header", ".group-bar", ".packet-tools", ".site-footer"):
        assert style(page, hidden, "display") == "none", hidden
    block = page.locator(".packet-block--discussed").first
    text = block.locator(".packet-block__text").bounding_box()
    aside = block.locator(".packet-block__threads").bounding_box()
    assert aside["x"] >= text["x"] + text["width"], "the threads stand in a column to the right"
    assert aside["y"] < text["y"] + text["height"], "beside the paragraph, not after it"
    assert style(page, ".packet-thread", "break-inside") == "avoid"
    link = page.locator(".packet-note__body a").first
    assert link.evaluate("(a) => getComputedStyle(a, '::after').content") in {"none", "normal"}

    ARTIFACTS.mkdir(exist_ok=True)
    for paper in ("A4", "Letter"):
        data = page.pdf(format=paper, path=str(ARTIFACTS / f"packet-{paper}.pdf"))
        assert pdf_pages(data) >= 2
    page.emulate_media(media="screen")
    violations = Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]
    assert not [v["id"] for v in violations if v["impact"] in FAILING_IMPACTS]


def test_the_packet_puts_threads_after_their_paragraph_on_a_phone(
    phone_page, login, group, essay, member, threads
):
    login(phone_page, member)
    phone_page.goto(reverse("exports:packet", args=[group.slug, essay.slug]))

    block = phone_page.locator(".packet-block--discussed").first
    text = block.locator(".packet-block__text").bounding_box()
    aside = block.locator(".packet-block__threads").bounding_box()
    assert aside["y"] >= text["y"] + text["height"]
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 375


def test_a_printed_reading_page_keeps_its_highlights_and_drops_its_controls(
    page, login, group, essay, member, threads
):
    login(page, member)
    page.goto(reverse("annotations:reading", args=[group.slug, essay.slug]))
    page.wait_for_selector("mark.hl")
    page.emulate_media(media="print")

    background = style(page, "mark.hl", "background-color")
    assert background not in {"rgba(0, 0, 0, 0)", "transparent"}
    assert style(page, "mark.hl", "print-color-adjust") == "exact"
    for hidden in (".site-header", ".layer-tools", ".group-bar", ".margin"):
        assert style(page, hidden, "display") == "none", hidden

    ARTIFACTS.mkdir(exist_ok=True)
    data = page.pdf(format="A4", path=str(ARTIFACTS / "reading-A4.pdf"))
    assert pdf_pages(data) >= 2
