"""The discussion in the margin: on wide screens each thread near the viewport is a card beside
its passage, in Chromium.

Cards sit at the top of their highlight's first line, pushed down (never overlapping, in the
order of the text) where they would collide, a busy paragraph's extra cards folded into
"+N more threads"; a card opens into its thread in place, where a reply is posted as in the
panel; a click on a highlight opens its card. Prompts and threads new since the last visit are
marked. Phones keep the bottom sheet and have no cards, and a page of 600 threads holds only the
cards near the viewport. Live-server tests run on `transactional_db`, so each test asks for it.
"""

import random
import re
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.test_browser_annotations import (
    PANEL,
    comment_on,
    focused,
    open_reading,
    reading_url,
    reply_to,
    tab_to,
    wait_until_drawn,
    watch,
)

pytestmark = pytest.mark.browser

CARDS = """() => [...document.querySelectorAll(".mcard")].map((card) => {
  const box = card.getBoundingClientRect();
  const mark = document.querySelector(`mark.hl-${card.dataset.card}`).getBoundingClientRect();
  const text = document.querySelector(".reading__body").getBoundingClientRect();
  return { id: Number(card.dataset.card), top: box.top, bottom: box.bottom, left: box.left,
           right: box.right, markTop: mark.top, textRight: text.right };
})"""


def card(page, annotation):
    return page.locator(f".mcard[data-card='{annotation.pk}']")


def wait_for_cards(page) -> None:
    """Wait until the margin's cards are first placed (in idle time after the drawing)."""
    page.wait_for_function("() => window.__commonplace?.cardsAt")


def placed(page) -> list[dict]:
    """The cards as they stand, once two frames in a row agree (placing follows layout)."""
    before = None
    for _ in range(20):
        now = page.evaluate(CARDS)
        if now == before:
            return now
        before = now
        page.wait_for_timeout(50)
    return now


def assert_apart(cards: list[dict]) -> None:
    ordered = sorted(cards, key=lambda c: c["top"])
    for upper, lower in zip(ordered, ordered[1:], strict=False):
        assert upper["bottom"] <= lower["top"], f"cards {upper['id']} and {lower['id']} overlap"


def open_card_reading(page, login, user, group, essay):
    open_reading(page, login, user, group, essay)
    wait_for_cards(page)
    return page


# --- where the cards go ----------------------------------------------------------------------


def test_cards_sit_beside_their_passages_and_are_pushed_apart_in_text_order(
    transactional_db, essay, group, member, facilitator, page, login
):
    first = comment_on(essay, group, facilitator, "the deeply-felt", "Felt by whom?")
    # Three threads on one line: the second and third cannot sit at their passages.
    crowd = [
        comment_on(
            essay, group, facilitator, "Both of these", "Which two?", motivation="questioning"
        ),
        comment_on(essay, group, member, "characterized as socialism", "From above, it says."),
        comment_on(essay, group, facilitator, "another path", "A specter, too."),
    ]
    reply_to(crowd[1], facilitator, "Yes.")
    bare = comment_on(essay, group, member, "Bernie Sanders")  # a bare highlight: no card
    problems = watch(page)
    open_card_reading(page, login, member, group, essay)

    cards = placed(page)
    assert [c["id"] for c in cards] == [first.pk, *(a.pk for a in crowd)]  # in text order
    assert card(page, bare).count() == 0
    for c in cards:
        assert c["left"] > c["textRight"] + 60  # in the right margin, past the margin links
        assert c["right"] <= 1280
        assert c["top"] >= c["markTop"] - 1  # never above its passage
    assert abs(cards[0]["top"] - cards[0]["markTop"]) <= 1  # at its highlight's first line
    assert abs(cards[1]["top"] - cards[1]["markTop"]) <= 1
    assert cards[2]["top"] > cards[2]["markTop"] + 20  # pushed down by the card above
    assert_apart(cards)

    head = card(page, crowd[0]).locator(".mcard__head")
    expect(head).to_contain_text("Fran Facilitator")
    expect(head).to_contain_text("Question")
    expect(head).to_contain_text("Which two?")  # the opening words, from excerpts.json
    expect(head).to_contain_text("Unanswered")
    expect(card(page, crowd[1])).to_contain_text("1 reply")
    expect(card(page, crowd[1]).locator(".mcard__author")).to_have_text("You")
    screenshot(page, "cards-1280-beside-the-text")
    assert problems == []


def test_a_busy_paragraph_folds_its_extra_cards_and_opens_them_in_place(
    transactional_db, essay, group, member, facilitator, page, login
):
    paragraph = essay.blocks.order_by("position")[2]
    words = ["ordinary people", "working class", "for a living", "multiracial", "powerless",
             "retaliation", "bosses depend", "coffee shops", "collective mass"]  # fmt: skip
    threads = []
    for phrase in words:
        assert phrase in paragraph.text, phrase
        threads.append(comment_on(essay, group, facilitator, phrase, f"On {phrase}."))
    # The next paragraphs have threads of their own, so this one has no room to spread into.
    for phrase in ["concrete reality", "build a different", "more radical", "antagonism"]:
        comment_on(essay, group, member, phrase, f"And {phrase}.")
    open_card_reading(page, login, member, group, essay)

    page.locator(f"#{paragraph.anchor}").evaluate("(b) => b.scrollIntoView({ block: 'start' })")
    number = page.locator(f"#{paragraph.anchor} .block__number").text_content()
    block = page.get_by_role("group", name=f"Threads on paragraph {number}")
    fold = block.locator(".mcards__more")
    expect(fold).to_have_text(re.compile(r"^\+\d+ more threads on paragraph \d+$"))
    shown = block.locator(".mcard").count()
    folded = int(re.search(r"\d+", fold.text_content()).group())
    assert shown >= 2 and shown + folded == len(threads)
    assert_apart(placed(page))

    fold.click()
    expect(block.locator(".mcard")).to_have_count(len(threads))
    # In the order of the text ("working class" is first met in the heading above).
    in_text_order = sorted(threads, key=lambda a: (a.start, -a.end, a.pk))
    expect(fold).to_have_attribute("aria-expanded", "true")
    expect(block.locator(".mcard .mcard__head").nth(shown)).to_be_focused()  # the first unfolded
    ids = block.locator(".mcard").evaluate_all("(cards) => cards.map((c) => c.dataset.card)")
    assert [int(id) for id in ids] == [a.pk for a in in_text_order]
    assert_apart(placed(page))

    block.get_by_role("button", name=re.compile("^Show fewer threads")).click()
    expect(block.locator(".mcard")).to_have_count(shown)
    assert focused(page, ".mcards__more")


# --- opening a card ------------------------------------------------------------------------


def test_a_card_opens_into_its_thread_and_takes_a_reply_in_place(
    transactional_db, essay, group, member, facilitator, page, login
):
    comment = comment_on(
        essay, group, facilitator, "socialism from below", "The title in a phrase."
    )
    other = comment_on(essay, group, facilitator, "When socialists talk", "Which people?")
    problems = watch(page)
    open_card_reading(page, login, member, group, essay)

    head = card(page, comment).locator(".mcard__head")
    expect(head).to_have_attribute("aria-expanded", "false")
    head.click()
    opened = card(page, comment)
    expect(opened).to_have_class(re.compile(r"\bmcard--open\b"))
    expect(head).to_have_attribute("aria-expanded", "true")
    thread = opened.locator(f"{PANEL} [data-thread-root='{comment.pk}']")
    expect(thread.locator(".note__body")).to_have_text("The title in a phrase.")
    expect(page.locator(f"mark.hl-{comment.pk}").first).to_have_class(re.compile(r"\bhl--active\b"))
    assert "panel-open" not in page.evaluate("document.body.className")  # no side panel
    assert_apart(placed(page))  # the open card pushes what is below it

    thread.locator("[data-reply-form] textarea").fill("Read it *twice*.")
    thread.get_by_role("button", name="Reply", exact=True).click()
    expect(opened.locator(".note--depth1 .note__body em")).to_have_text("twice")
    assert comment.children.get().body == "Read it *twice*."
    assert_apart(placed(page))
    screenshot(page, "cards-1280-open-with-a-reply")

    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    expect(head).to_be_focused()
    expect(head).to_have_attribute("aria-expanded", "false")
    expect(card(page, comment)).to_contain_text("1 reply")

    # Another card opens in its own place; the first closes.
    card(page, other).locator(".mcard__head").click()
    expect(card(page, other).locator(f"{PANEL} [data-thread-root='{other.pk}']")).to_be_visible()
    expect(card(page, comment)).not_to_have_class(re.compile(r"\bmcard--open\b"))
    card(page, other).locator(".mcard__head").click()  # its head closes it again
    expect(page.locator(PANEL)).to_be_hidden()
    assert problems == []


def test_a_click_on_a_highlight_opens_its_card_and_a_bare_one_the_side_panel(
    transactional_db, essay, group, member, facilitator, page, login
):
    comment = comment_on(
        essay, group, facilitator, "socialism from below", "The title in a phrase."
    )
    bare = comment_on(essay, group, member, "Bernie Sanders")
    open_card_reading(page, login, member, group, essay)

    page.locator(f"mark.hl-{comment.pk}").first.click()
    expect(
        card(page, comment).locator(f"{PANEL} [data-thread-root='{comment.pk}']")
    ).to_be_visible()
    panel = page.locator(PANEL).bounding_box()
    box = card(page, comment).bounding_box()
    assert box["x"] <= panel["x"] and panel["x"] + panel["width"] <= box["x"] + box["width"] + 1

    page.locator(f"mark.hl-{bare.pk}").first.click()
    expect(page.locator(f"{PANEL} [data-thread-root='{bare.pk}']")).to_be_visible()
    assert page.locator(f".mcard {PANEL}").count() == 0  # at the side, as before
    assert "panel-open" in page.evaluate("document.body.className")


def test_the_keyboard_opens_a_card_from_its_highlight_and_reaches_the_cards_in_text_order(
    transactional_db, essay, group, member, facilitator, page, login
):
    first = comment_on(essay, group, facilitator, "socialism from below", "The title.")
    second = comment_on(essay, group, member, "a world based on", "Which world?")
    open_card_reading(page, login, member, group, essay)

    mark = page.locator(f"mark[data-starts='{second.pk}']")
    tab_to(page, f"mark[data-starts='{second.pk}']")
    page.keyboard.press("Enter")
    opened = card(page, second)
    expect(opened.locator(f"{PANEL} [data-thread-root='{second.pk}']")).to_be_visible()
    tab_to(page, f"{PANEL} [data-reply-form] textarea", limit=15)
    page.keyboard.type("By keyboard.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(opened.locator(".note--depth1 .note__body")).to_have_text("By keyboard.")
    page.keyboard.press("Escape")
    expect(page.locator(PANEL)).to_be_hidden()
    expect(mark).to_be_focused()

    # After the text, the margin: its cards in the order of the text.
    tab_to(page, ".mcard__head", limit=200)
    assert focused(page, f".mcard[data-card='{first.pk}'] .mcard__head")
    page.keyboard.press("Tab")
    head = card(page, second).locator(".mcard__head")
    expect(head).to_be_focused()
    expect(head).to_have_accessible_name(re.compile(r"^You Comment .*Which world\? 1 reply$"))
    page.keyboard.press("Space")
    expect(opened).to_have_class(re.compile(r"\bmcard--open\b"))
    page.keyboard.press("Escape")
    expect(head).to_be_focused()
    expect(head).to_have_attribute("aria-expanded", "false")


# --- what a card says ---------------------------------------------------------------------------


TABBABLE = "a[href], button:not([disabled]), textarea, input, select, [tabindex='0']"


def test_the_keyboard_reaches_the_first_and_the_last_card_from_far_away(
    transactional_db, essay, group, member, facilitator, page, login
):
    """Tab from the end of the text reaches the first card, and Shift+Tab from below the margin
    the last, though both are screens away from the view (the margin keeps only the cards near
    it); each next key press finds the card beside the focused one."""
    threads = [
        comment_on(essay, group, facilitator, "socialism from below", "The title."),
        comment_on(essay, group, member, "a world based on", "Which world?"),
        comment_on(essay, group, member, "Bernie Sanders", "Why him?"),
    ]
    first, second, third = sorted(threads, key=lambda a: (a.start, -a.end, a.pk))
    open_card_reading(page, login, member, group, essay)

    # At the end of the essay, with its last control focused: the cards at the top are far.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(200)
    page.locator(".reading__body").evaluate(
        f"""(body) => [...body.querySelectorAll({TABBABLE!r})]
            .filter((e) => e.offsetParent).at(-1).focus()"""
    )
    tab_to(page, ".mcard__head", limit=5)
    assert focused(page, f".mcard[data-card='{first.pk}'] .mcard__head")
    for following in [second, third]:
        page.keyboard.press("Tab")
        expect(card(page, following).locator(".mcard__head")).to_be_focused()

    # From the first control below the margin, at the top of the essay: back to the last card.
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    page.locator(".mcards-layer").evaluate(
        f"""(layer) => [...document.querySelectorAll({TABBABLE!r})]
            .filter((e) => e.offsetParent
                    && layer.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING
                    && !layer.contains(e))[0].focus()"""
    )
    tab_to(page, ".mcard__head", key="Shift+Tab", limit=5)
    assert focused(page, f".mcard[data-card='{third.pk}'] .mcard__head")
    page.keyboard.press("Shift+Tab")
    expect(card(page, second).locator(".mcard__head")).to_be_focused()


def test_prompts_carry_their_badge_and_new_threads_their_marker(
    transactional_db, essay, group, member, facilitator, page, phone_page, login
):
    from assignments.services import assignment_create
    from groups.models import Membership

    blocks = list(essay.blocks.order_by("position"))
    assignment = assignment_create(
        group=group,
        reading=essay,
        created_by=facilitator,
        title="Week 2",
        first_block=blocks[0].anchor,
        last_block=blocks[3].anchor,
        due_at=timezone.now() + timedelta(days=7),
    )
    prompt = comment_on(
        essay, group, facilitator, "socialism from below", "What does below mean to you?",
        motivation="questioning", prompt_of=assignment,
    )  # fmt: skip
    mine = comment_on(essay, group, member, "Both of these", "Mine, so never new.")
    private = comment_on(
        essay, group, member, "the deeply-felt", "Note to self.", visibility="private"
    )
    Membership.objects.filter(group=group, user=member).update(
        previous_visit_at=timezone.now() - timedelta(hours=3)
    )
    problems = watch(page)
    open_card_reading(page, login, member, group, essay)

    shown = card(page, prompt)
    expect(shown).to_have_class(re.compile(r"\bmcard--prompt\b"))
    expect(shown.locator(".mcard__badge--prompt")).to_have_text("Prompt")
    expect(shown.locator(".mcard__new")).to_have_text("New")
    expect(shown).to_contain_text("What does below mean to you?")
    expect(card(page, mine).locator(".mcard__new")).to_have_count(0)
    expect(card(page, private).locator(".mcard__badge--private")).to_have_text("Only you")
    mark = page.locator(f"mark[data-starts~='{prompt.pk}']")
    expect(mark).to_have_class(re.compile(r"\bhl--new\b"))
    expect(mark).to_have_accessible_name(re.compile(r"^Prompt, question \(unanswered\) by Fran"))
    expect(page.locator(f"mark[data-starts~='{mine.pk}']")).not_to_have_class(re.compile("hl--new"))
    screenshot(page, "cards-1280-prompt-and-new")

    # A phone has no cards, and the new highlight its dot all the same.
    open_reading(phone_page, login, member, group, essay)
    expect(phone_page.locator(f"mark[data-starts~='{prompt.pk}']")).to_have_class(
        re.compile(r"\bhl--new\b")
    )
    dot = phone_page.locator(f"mark[data-starts~='{prompt.pk}']").evaluate(
        "(m) => getComputedStyle(m, '::before').backgroundColor"
    )
    assert dot not in ("", "rgba(0, 0, 0, 0)")
    assert problems == []


def test_a_hidden_thread_says_so_to_the_facilitator(
    transactional_db, essay, group, member, facilitator, page, login
):
    from annotations.services import annotation_hide

    comment = comment_on(essay, group, member, "socialism from below", "Off topic.")
    annotation_hide(annotation=comment, by=facilitator, note="Later, please.")
    open_card_reading(page, login, facilitator, group, essay)
    expect(card(page, comment).locator(".mcard__badge--hidden")).to_have_text("Hidden")


def test_an_imported_thread_says_who_wrote_it_originally(
    transactional_db, essay, group, member, facilitator, page, login
):
    from datetime import UTC, datetime

    from annotations.models import Annotation

    comment = comment_on(essay, group, facilitator, "socialism from below", "Brought over.")
    Annotation.objects.filter(pk=comment.pk).update(
        original_author="Rosa Luxemburg", original_created_at=datetime(2024, 3, 1, 12, tzinfo=UTC)
    )
    open_card_reading(page, login, member, group, essay)
    expect(card(page, comment).locator(".mcard__foot")).to_have_text(
        "No replies yet · originally by Rosa Luxemburg, 1 Mar 2024"
    )


# --- phones and busy pages -------------------------------------------------------------------


def test_a_phone_has_no_cards_and_keeps_the_bottom_sheet(
    transactional_db, essay, group, member, facilitator, phone_page, login
):
    comment = comment_on(essay, group, facilitator, "socialism from below", "On the phone.")
    page = phone_page
    problems = watch(page)
    open_reading(page, login, member, group, essay)
    page.wait_for_timeout(600)  # idle time has come and gone

    expect(page.locator(".mcard")).to_have_count(0)
    page.locator(f"mark.hl-{comment.pk}").first.tap()
    panel = page.locator(PANEL)
    expect(panel.locator(".note__body")).to_have_text("On the phone.")
    box = panel.bounding_box()
    assert box["x"] == 0 and box["width"] == 375
    assert abs(box["y"] + box["height"] - 740) <= 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert problems == []


def test_a_wide_window_made_narrow_takes_the_open_card_to_the_side(
    transactional_db, essay, group, member, facilitator, page, login
):
    comment = comment_on(essay, group, facilitator, "socialism from below", "Resized.")
    open_card_reading(page, login, member, group, essay)
    card(page, comment).locator(".mcard__head").click()
    expect(card(page, comment).locator(PANEL)).to_be_visible()

    page.set_viewport_size({"width": 900, "height": 900})
    expect(page.locator(".mcard")).to_have_count(0)
    expect(page.locator(f"{PANEL} .note__body")).to_have_text("Resized.")  # still open, at the side
    page.keyboard.press("Escape")
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(card(page, comment)).to_be_visible()


@pytest.fixture
def crowded(transactional_db, essay, group, member, facilitator, make_user):
    """600 roots over the essay, most of them threads, in a handful of readers' names."""
    from annotations.models import Annotation

    readers = [member, facilitator, *(make_user(f"crowd{i}") for i in range(4))]
    from groups.models import GroupReading, Membership

    Membership.objects.bulk_create([Membership(group=group, user=u) for u in readers[2:]])
    text = essay.canonical_text()
    rng = random.Random(9)
    roots = []
    for _ in range(600):
        start = rng.randrange(0, len(text) - 120)
        end = start + rng.randrange(5, 100)
        roots.append(
            Annotation(
                group=group,
                reading=essay,
                author=rng.choice(readers),
                motivation=rng.choice(["commenting", "questioning"]),
                body="A thought.",
                body_html="<p>A thought.</p>",
                start=start,
                end=end,
                exact=text[start:end],
                prefix=text[max(0, start - 32) : start],
                suffix=text[end : end + 32],
            )
        )
    roots = Annotation.objects.bulk_create(roots)
    GroupReading.objects.filter(group=group, reading=essay).update(layer_version=600)
    return roots


def test_only_the_cards_near_the_viewport_are_in_the_page(
    crowded, essay, group, member, page, login
):
    problems = watch(page)
    login(page, member)
    page.goto(reading_url(group, essay))
    wait_until_drawn(page)
    wait_for_cards(page)
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in [0, height // 3, 2 * height // 3, height]:
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(150)
        cards = placed(page)
        assert 0 < len(cards) < 80, (y, len(cards))
        assert_apart(cards)
        in_view = [c for c in cards if c["bottom"] > 0 and c["top"] < 900]
        assert in_view, y  # the cards beside the text in view are there
        # Their words came, in batches, for the cards near the viewport.
        expect(page.locator(".mcard__excerpt--loading")).to_have_count(0)
    assert page.evaluate("document.querySelectorAll('mark.hl').length") > 600
    assert problems == []


# --- the layout, as arithmetic -----------------------------------------------------------------

STACK = """async (groups) => {
  const { stackCards } = await import("/static/js/reading/cards.js");
  return stackCards(groups, { gap: 10, foldHeight: 20, near: 150, far: 300 });
}"""


@pytest.fixture
def units(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.goto("/static/js/reading/cards.js")
    yield page
    context.close()


def spots(result):
    return [(s["kind"], s.get("id", s.get("count")), s["top"]) for s in result]


def test_cards_are_pushed_down_in_order_and_a_crowd_folds(units):
    cards = lambda *wants: [{"id": i, "want": w, "height": 100} for i, w in enumerate(wants, 1)]  # noqa: E731
    result = units.evaluate(
        STACK,
        [
            {"key": "a", "cards": cards(0, 0, 50)},  # pushed to 110 and 220
            {"key": "b", "cards": cards(1000, 1000, 1000, 1000)},  # two fit, two fold
            {"key": "c", "cards": [{"id": 9, "want": 1250, "height": 100}]},
        ],
    )
    assert spots(result) == [
        ("card", 1, 0),
        ("card", 2, 110),
        ("card", 3, 220),
        ("card", 1, 1000),
        ("card", 2, 1110),
        ("fold", 2, 1220),  # "+2 more", where the third would have gone
        ("card", 9, 1250),
    ]


def test_an_open_group_shows_all_and_a_pinned_card_shows_though_its_group_folds(units):
    crowd = [{"id": i, "want": 0, "height": 100} for i in range(1, 6)]
    crowd[4]["pinned"] = True
    nxt = {"key": "z", "cards": [{"id": 99, "want": 300, "height": 100}]}
    folded = units.evaluate(STACK, [{"key": "a", "cards": crowd}, nxt])
    assert spots(folded) == [
        ("card", 1, 0),
        ("card", 2, 110),
        ("card", 5, 220),  # open in the margin: shown, after those that fit
        ("fold", 2, 330),
        ("card", 99, 360),
    ]
    opened = units.evaluate(STACK, [{"key": "a", "open": True, "cards": crowd}, nxt])
    assert [s["kind"] for s in opened] == ["card"] * 5 + ["fold", "card"]
    assert opened[5]["open"] is True and opened[5]["count"] == 0  # "Show fewer"
    tops = [s["top"] for s in opened]
    assert tops == sorted(tops) and tops[-1] == 5 * 110 + 30  # pushed on by the open group


# --- accessibility ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_the_page_with_cards(
    transactional_db, essay, group, member, facilitator, browser, live_server, login, scheme
):
    from annotations.services import annotation_mark_answer

    question = comment_on(
        essay, group, facilitator, "Both of these", "Which two?", motivation="questioning"
    )
    annotation_mark_answer(
        reply=reply_to(question, member, "Stalinism and social democracy."), is_answer=True
    )
    comment = comment_on(essay, group, member, "socialism from below", "The title in a phrase.")
    comment_on(essay, group, member, "the deeply-felt", "A note.", visibility="private")
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}, color_scheme=scheme
    )
    page = context.new_page()
    try:
        open_card_reading(page, login, member, group, essay)
        card(page, comment).locator(".mcard__head").click()
        expect(card(page, comment).locator("[data-reply-form]")).to_be_visible()
        expect(card(page, question)).to_contain_text("Answered")
        screenshot(page, f"cards-1280-{scheme}")
        results = Axe().run(
            page,
            options={
                "resultTypes": ["violations"],
                "rules": {"label-content-name-mismatch": {"enabled": True}},
            },
        )
        serious = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:4]}"
            for v in results.response["violations"]
            if v["impact"] in {"serious", "critical"}
        ]
        assert serious == []
    finally:
        context.close()
