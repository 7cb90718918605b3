"""The busy reading page in Chromium: 2,000 annotations and 5,000 replies, every one drawn.

The page's HTML carries the text and the margin counts; the layer comes from its own address
(layer.json) and the script draws all of it, one write per block. How fast is the
benchmark's business (bench/ reads window.__commonplace); these tests check only that what is
drawn is right, and with a filter, that it agrees with the counts the server wrote. Live-server
tests run on `transactional_db`, so the fixture asks for it.
"""

import random
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.test_browser_annotations import (
    layer_rows,
    reading_url,
    wait_until_drawn,
    watch,
)

pytestmark = pytest.mark.browser

ROOTS, REPLIES, ORPHANS = 2_000, 5_000, 25
TAGS = ["democracy", "history", "method"]

# Every change inside the reading once the HTML is parsed (from before the page's script
# runs): the element changed, as the index of its [data-start] element, or -1 for any other.
RECORD_WRITES = """
window.__writes = [];
const observer = new MutationObserver((records) => {
  const body = document.querySelector(".reading__body");
  const segments = [...body.querySelectorAll("[data-start]")];
  for (const { target } of records) {
    // Inside the text; not the text's own class (reading.js marks it lazy after a frame).
    if (target !== body && body.contains(target)) window.__writes.push(segments.indexOf(target));
  }
});
document.addEventListener("readystatechange", () => {
  if (document.readyState !== "interactive") return;
  const everything = { childList: true, subtree: true, characterData: true, attributes: true };
  observer.observe(document, everything);
});
"""

DRAWN_IDS = """() => [...new Set([...document.querySelectorAll("mark.hl")]
  .flatMap((mark) => mark.dataset.ids.split(" ").map(Number)))]"""


@pytest.fixture
def busy(transactional_db, essay, group, member, facilitator, make_user):
    """The group's layer over the essay, as busy as a year of a big group: roots anywhere in
    the text (across blocks too), a few orphaned, some tagged; replies spread over them, some
    answering questions."""
    from annotations.models import Annotation, Tag
    from groups.models import GroupReading, Membership

    others = [make_user(f"reader{i}") for i in range(8)]
    Membership.objects.bulk_create([Membership(group=group, user=user) for user in others])
    people = [member, facilitator, *others]
    text = essay.canonical_text()
    rng = random.Random(7)
    roots = []
    for i in range(ROOTS):
        start = rng.randrange(0, len(text) - 200)
        end = start + rng.randrange(5, 160)
        roots.append(
            Annotation(
                group=group,
                reading=essay,
                author=rng.choice(people),
                motivation=rng.choice(["commenting", "questioning", "highlighting"]),
                body="A thought about this passage.",
                body_html="<p>A thought about this passage.</p>",
                start=start,
                end=end,
                exact=text[start:end],
                prefix=text[max(0, start - 32) : start],
                suffix=text[end : end + 32],
                anchoring="orphan" if i < ORPHANS else "anchored",
            )
        )
    roots = Annotation.objects.bulk_create(roots, batch_size=500)
    Tag.objects.bulk_create(
        [Tag(annotation=root, name=rng.choice(TAGS)) for root in roots if rng.random() < 0.2]
    )
    replies = []
    for _ in range(REPLIES):
        root = rng.choice(roots)
        replies.append(
            Annotation(
                group=group,
                reading=essay,
                author=rng.choice(people),
                motivation="replying",
                parent=root,
                root=root,
                body="I agree.",
                body_html="<p>I agree.</p>",
                is_answer=root.motivation == "questioning" and rng.random() < 0.3,
            )
        )
    Annotation.objects.bulk_create(replies, batch_size=500)
    # Written around the services, so counted here as a write of theirs would be.
    GroupReading.objects.filter(group=group, reading=essay).update(layer_version=1_000)
    return roots


def open_busy(page, login, member, group, essay, query: str = ""):
    page.add_init_script(RECORD_WRITES)
    login(page, member)
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    response = page.goto(reading_url(group, essay) + query)
    assert response.status == 200
    html = response.text()
    wait_until_drawn(page)
    return html, [url for url in requests if urlsplit(url).path.endswith("/layer.json")]


def shown(rows: list[dict], query: str) -> set[int]:
    """The rows the page should draw under the filter `query`, decided as the server does."""
    kept = [row for row in rows if not row["orphan"]]
    if "show=mine" in query:
        kept = [row for row in kept if row["mine"]]
    if "highlights=hide" in query:
        kept = [row for row in kept if row["motivation"] != "highlighting" or row["replies"]]
    if "questions=unanswered" in query:
        kept = [row for row in kept if row["motivation"] == "questioning"]
        kept = [row for row in kept if not row["answered"]]
    return {row["id"] for row in kept}


def server_counts(html: str) -> dict[str, str]:
    """Each block's "N threads" as the server wrote it."""
    return dict(re.findall(r'data-threads="([^"]+)"[^>]*>(\d+ threads?)</a>', html))


def test_every_highlight_of_a_busy_layer_is_drawn_from_the_layer_address(
    essay, group, member, busy, page, login
):
    problems = watch(page)
    html, fetched = open_busy(page, login, member, group, essay)

    first = essay.blocks.order_by("position").first().text
    assert first[:60] in html  # the text is in the page itself, readable before any script
    assert 'id="layer-data"' not in html  # but not the layer:
    assert len(fetched) == 1  # that comes once, from its own address
    timings = page.evaluate("window.__commonplace")
    assert timings["state"] == "drawn"
    for moment in ["layerRequestedAt", "layerLoadedAt", "onScreenDrawnAt", "drawnAt"]:
        assert timings[moment] > 0, moment
    assert timings["layerRequestedAt"] <= timings["layerLoadedAt"] <= timings["drawnAt"]
    assert page.evaluate("performance.getEntriesByName('commonplace:drawn').length") == 1

    rows = layer_rows(page)
    assert len(rows) == ROOTS
    anchored = {row["id"] for row in rows if not row["orphan"]}
    assert len(anchored) == ROOTS - ORPHANS
    assert set(page.evaluate(DRAWN_IDS)) == anchored
    assert timings["shown"] == len(anchored)
    stops = page.locator("mark.hl[tabindex='0'][role=button]").count()
    assert 0 < stops <= len(anchored)  # annotations starting together share a button
    starts = page.evaluate(
        """() => [...document.querySelectorAll("mark.hl[data-starts]")]
                  .flatMap((mark) => mark.dataset.starts.split(" ").map(Number))"""
    )
    assert sorted(starts) == sorted(anchored)  # every annotation has exactly one
    writes = page.evaluate("window.__writes")
    assert -1 not in writes  # nothing inside a block's text was changed bit by bit
    assert len(writes) == len(set(writes))  # each block written once
    assert problems == []


@pytest.mark.parametrize(
    "query", ["?show=mine", "?highlights=hide", "?questions=unanswered&highlights=hide"]
)
def test_a_filtered_busy_layer_draws_what_the_server_counts(
    essay, group, member, busy, page, login, query
):
    problems = watch(page)
    html, _ = open_busy(page, login, member, group, essay, query)

    rows = layer_rows(page)
    assert len(rows) == ROOTS
    expected = shown(rows, query)
    assert expected  # the filter leaves something to draw
    assert set(page.evaluate(DRAWN_IDS)) == expected
    counts = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("a.margin__count")]
                  .map((link) => [link.dataset.threads, link.textContent]))"""
    )
    assert counts == server_counts(html) != {}
    expect(page.locator("[data-match-status]")).to_have_text(f"{len(expected)} matches")
    assert problems == []
