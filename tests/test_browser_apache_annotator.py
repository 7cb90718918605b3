"""A standard W3C client anchors our annotations where they belong (issue 12).

Apache Annotator (tests/fixtures/apache-annotator.js, bundled once from npm: its header says
how) plays the other client, in Chromium. For every annotation the API gives, it loads the
target's `source` (the reading's /readings/<slug>.txt, which Chromium shows as a <pre>) and
runs its TextQuoteSelector and TextPositionSelector matchers over document.body: the quote
must match once, on the very words, at the offset our TextPositionSelector gives, and the
position must select those words. Offsets are compared in code points (the W3C model's
"characters", and what Apache Annotator 0.2's TextPositionSelector counts, through its
CodePointSeeker); a reading with emoji before its passages proves that code units (UTF-16,
what a DOM Range counts) would differ.

Covered: every annotation of the demo (`seed_demo`, as every one of its members sees them),
highlights made with the mouse in the reading page (within a paragraph, across two, across a
heading), and annotations Apache Annotator itself describes on the .txt and posts with a
quote alone.

Live-server tests run on `transactional_db`, so each test asks for it first.
"""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.test_browser_annotations import (
    TOOLBAR,
    drag_select,
    expect,
    open_reading,
    select_phrase,
    watch,
)

pytestmark = pytest.mark.browser

BUNDLE = Path(__file__).resolve().parent / "fixtures" / "apache-annotator.js"
# Where the page imports the bundle from: a same-origin address answered by Playwright (so
# the site's Content-Security-Policy, script-src 'self', lets the module load).
MODULE = "/__apache-annotator__.js"

# For each annotation ({id, quote, position}): every match of its TextQuoteSelector (text,
# offset in code points by Apache Annotator's describeTextPosition, and the same offset
# counted by hand in code points and in UTF-16 code units from the start of the body), and
# the text its TextPositionSelector selects.
ANCHOR_ALL = """
async ({ module, annotations }) => {
  const AA = await import(module);
  const scope = document.body;
  const results = [];
  for (const { id, quote, position } of annotations) {
    const quoted = [];
    for await (const range of AA.createTextQuoteSelectorMatcher(quote)(scope)) {
      const described = await AA.describeTextPosition(range, scope);
      const before = document.createRange();
      before.setStart(scope, 0);
      before.setEnd(range.startContainer, range.startOffset);
      quoted.push({
        text: range.toString(),
        start: described.start,
        end: described.end,
        codePoints: [...before.toString()].length,
        codeUnits: before.toString().length,
      });
    }
    let positioned = null;
    if (position) {
      for await (const range of AA.createTextPositionSelectorMatcher(position)(scope)) {
        positioned = range.toString();
      }
    }
    results.push({ id, quoted, positioned });
  }
  return results;
}
"""

# Apache Annotator describing words of the .txt as a client would before posting: a
# TextQuoteSelector (with the prefix and suffix it judges enough) and a TextPositionSelector.
DESCRIBE = """
async ({ module, phrase }) => {
  const AA = await import(module);
  const text = document.body.textContent;
  const at = text.indexOf(phrase);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode(), offset = 0;
  while (offset + node.data.length < at) { offset += node.data.length; node = walker.nextNode(); }
  const range = document.createRange();
  range.setStart(node, at - offset);
  range.setEnd(node, at - offset + phrase.length);
  return {
    quote: await AA.describeTextQuote(range, document.body),
    position: await AA.describeTextPosition(range, document.body),
    codeUnits: at,
  };
}
"""


def serve_bundle(page) -> None:
    page.route(
        f"**{MODULE}",
        lambda route: route.fulfill(
            body=BUNDLE.read_text(encoding="utf-8"), content_type="text/javascript"
        ),
    )


def container_items(page, container: str) -> list[dict]:
    """Every annotation of a container the signed-in person may see, page by page, as the
    API gives them (fetched by the browser, so the IRIs are the live server's)."""
    items = []
    url = f"{container}?page=0"
    while url:
        body = page.request.get(url, headers={"Accept": "application/ld+json"}).json()
        items += body["items"]
        url = body.get("next")
    return items


def passages(items: list[dict]) -> list[dict]:
    """The annotations whose target is a passage: {id, source, quote, position}."""
    found = []
    for item in items:
        target = item["target"]
        if not isinstance(target, dict) or "selector" not in target:
            continue  # a reply (its parent's IRI) or a note on the whole reading
        kinds = {s["type"]: s for s in target["selector"]}
        found.append(
            {
                "id": item["id"],
                "source": target["source"],
                "quote": kinds["TextQuoteSelector"],
                "position": kinds.get("TextPositionSelector"),
            }
        )
    return found


def anchor(page, annotations: list[dict]) -> dict[str, dict]:
    """Run Apache Annotator over each annotation's source; results by annotation IRI."""
    results = {}
    by_source: dict[str, list[dict]] = {}
    for annotation in annotations:
        by_source.setdefault(annotation["source"], []).append(annotation)
    for source, group in by_source.items():
        response = page.goto(source)
        assert response.status == 200, source
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        expect()(page.locator("body > pre")).to_have_count(1)
        found = page.evaluate(
            ANCHOR_ALL,
            {
                "module": MODULE,
                "annotations": [{k: a[k] for k in ("id", "quote", "position")} for a in group],
            },
        )
        results.update({result["id"]: result for result in found})
    return results


def assert_anchored_where_they_belong(results: dict, annotations: list[dict]) -> None:
    """Each quote matches exactly once, on its words, at our position; each position selects
    the quoted words. All of them: 100 %."""
    wrong = []
    for annotation in annotations:
        result = results[annotation["id"]]
        quote, position = annotation["quote"], annotation["position"]
        matches = result["quoted"]
        ok = (
            len(matches) == 1
            and matches[0]["text"] == quote["exact"]
            and matches[0]["start"] == matches[0]["codePoints"] == position["start"]
            and matches[0]["end"] == position["end"]
            and result["positioned"] == quote["exact"]
        )
        if not ok:
            wrong.append((annotation["id"], quote["exact"][:40], result))
    assert not wrong, f"{len(wrong)} of {len(annotations)} not anchored right: {wrong[:3]}"


# --- the demo ------------------------------------------------------------------------------


def test_apache_annotator_anchors_every_annotation_of_the_demo(
    transactional_db, settings, page, login
):
    from annotations.models import Annotation
    from groups.models import GroupReading, Membership

    settings.DEBUG = True  # seed_demo refuses to make its known-password accounts otherwise
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    serve_bundle(page)
    problems = watch(page)

    seen: dict[str, dict] = {}
    for group_reading in GroupReading.objects.select_related("group", "reading"):
        container = reverse(
            "annotations:container", args=[group_reading.group.slug, group_reading.reading.slug]
        )
        # as each member sees it: together they see every note, private ones included
        for membership in Membership.objects.filter(group=group_reading.group).select_related(
            "user"
        ):
            login(page, membership.user)
            for annotation in passages(container_items(page, container)):
                seen[annotation["id"]] = annotation
    ids = {int(iri.rsplit("/", 1)[1]) for iri in seen}
    expected = Annotation.objects.filter(parent__isnull=True, start__isnull=False)
    assert ids == set(expected.values_list("pk", flat=True))
    assert len(ids) >= 10

    annotations = sorted(seen.values(), key=lambda a: a["id"])
    assert_anchored_where_they_belong(anchor(page, annotations), annotations)
    assert problems == []


# --- made in the reading page --------------------------------------------------------------


def test_apache_annotator_anchors_highlights_made_with_the_mouse(
    transactional_db, essay, group, member, page, login
):
    from annotations.models import Annotation

    open_reading(page, login, member, group, essay)
    highlight = page.locator(TOOLBAR).get_by_role("button", name="Highlight")
    chosen = {}

    chosen["within a paragraph"] = select_phrase(page, 0, "the deeply-felt and shared desire")
    highlight.click()
    expect()(page.locator("mark.hl")).not_to_have_count(0)
    chosen["across two paragraphs"] = drag_select(
        page, (0, "gulags have anything"), (1, "The future of our generation")
    )
    highlight.click()
    expect()(page.locator("mark.hl")).not_to_have_count(0)
    chosen["across a heading"] = drag_select(
        page, (1, "workers’ control and complete"), (2, "we are really talking")
    )
    highlight.click()
    # Three highlights drawn (a count of marks would not do: one passage can take several).
    page.wait_for_function(
        "() => new Set([...document.querySelectorAll('mark.hl')]"
        ".flatMap((mark) => mark.dataset.ids.split(' '))).size >= 3"
    )
    made = list(Annotation.objects.order_by("pk"))
    assert len(made) == 3
    assert "\n\n" in made[1].exact and "\n\nWhy the working class\n\n" in made[2].exact

    serve_bundle(page)
    container = reverse("annotations:container", args=[group.slug, essay.slug])
    annotations = passages(container_items(page, container))

    assert [a["id"].rsplit("/", 1)[1] for a in annotations] == [str(a.pk) for a in made]
    assert_anchored_where_they_belong(anchor(page, annotations), annotations)


# --- after emoji, and posted by Apache Annotator ----------------------------------------------

HARD_SCRIPTS = """---
title: Hard scripts
---

👩🏽‍🔬 Scientists 🧪 test the water before the meeting.

Cafe\u0301 society meets after work on Thursdays 🎉 and on Fridays.

العمال يصنعون التاريخ: workers make history together.
"""


def test_apache_annotator_positions_after_emoji_are_code_points_like_ours(
    transactional_db, group, facilitator, member, page, login
):
    """Emoji outside the Basic Multilingual Plane are two UTF-16 code units and one code point
    each: Apache Annotator's positions agree with ours (code points), a DOM Range's count of
    code units would not. Annotations Apache Annotator describes on the .txt and posts with a
    quote alone land on the words it described."""
    from accounts.tokens import api_token_create
    from annotations.models import Annotation
    from groups.models import GroupReading
    from readings.services import reading_import

    reading = reading_import(data=HARD_SCRIPTS.encode(), filename="scripts.md", slug="scripts")
    GroupReading.objects.create(group=group, reading=reading, added_by=facilitator)
    text = reading.canonical_text()
    _, token = api_token_create(user=member, name="Apache Annotator")
    container = reverse("annotations:container", args=[group.slug, reading.slug])
    login(page, member)
    serve_bundle(page)
    page.goto(reverse("readings:text", args=[reading.slug]))

    for phrase in ("test the water", "society", "on Fridays", "make history"):
        described = page.evaluate(DESCRIBE, {"module": MODULE, "phrase": phrase})
        assert described["position"]["start"] == text.index(phrase)  # code points, like ours
        if phrase in {"test the water", "on Fridays"}:
            assert described["codeUnits"] != text.index(phrase)  # the emoji before it
        answer = page.request.post(
            container,
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/ld+json",
            },
            data={
                "@context": "http://www.w3.org/ns/anno.jsonld",
                "type": "Annotation",
                "motivation": "highlighting",
                "target": {
                    "source": page.url,
                    "selector": described["quote"],  # the quote alone
                },
            },
        )
        assert answer.status == 201, answer.text()
        stored = Annotation.objects.get(pk=answer.json()["id"].rsplit("/", 1)[1])
        assert (stored.start, stored.exact) == (text.index(phrase), phrase)

    annotations = passages(container_items(page, container))
    assert len(annotations) == 4
    assert_anchored_where_they_belong(anchor(page, annotations), annotations)
