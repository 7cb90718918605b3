"""Unit tests of the reading page's pure modules, run in Chromium as the page runs them.

One browser page, on a static file the live server serves, imports each module with a
dynamic `import()` and calls it; nothing else of the page is there, which also shows that
the modules need no page markup to load. Cases are small and many: code points against
UTF-16, quote context at the ends of the text, snapping a selection to whole words, the
layer store's queries, and drawing marks over a little markup.
"""

import pytest

pytestmark = pytest.mark.browser

POSITIONS = "/static/js/reading/positions.js"
LAYER = "/static/js/reading/layer.js"
HIGHLIGHTS = "/static/js/reading/highlights.js"

# Two blocks of canonical text, the second after "\n\n". 𝔸 and 🧪 are astral (two UTF-16
# units, one code point each); Python counts code points too, so len() gives offsets.
FIRST = "When socialists talk, we are really talking about the deeply-felt 𝔸 desire."
SECOND = "Why 🧪 “workers’ control” matters."
CANONICAL = FIRST + "\n\n" + SECOND
PARTS = [{"start": 0, "text": FIRST}, {"start": len(FIRST) + 2, "text": SECOND}]


@pytest.fixture(scope="module")
def units(browser, live_server):
    """Call `module.name(...args)` (or run a body of code with `m`, the module) in Chromium."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(POSITIONS)

    class Units:
        def call(self, module, name, *args):
            return page.evaluate(
                "async ([path, name, args]) => (await import(path))[name](...args)",
                [module, name, list(args)],
            )

        def run(self, module, body, arg=None):
            return page.evaluate(
                f"async ([path, arg]) => {{ const m = await import(path); {body} }}", [module, arg]
            )

    yield Units()
    context.close()


def text_run(units, body, arg=None):
    """Run `body` with `t`, the canonical text of PARTS."""
    return units.run(
        POSITIONS,
        f"const t = new m.CanonicalText(arg.parts, {{ context: 32 }}); {body}",
        {"parts": PARTS, **(arg or {})},
    )


def test_the_text_joins_its_parts_and_slices_by_code_points(units):
    assert text_run(units, "return t.cps.length") == len(CANONICAL)
    assert text_run(units, "return t.slice(77, 80)") == "Why"
    assert text_run(units, "return t.slice(82, 999)") == CANONICAL[82:]
    assert text_run(units, "return [t.segmentAt(76) ?? null, t.segmentAt(77).start]") == [None, 77]


# --- code points -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("abc", 3),
        ("😀", 1),
        ("𝔸𝔹", 2),
        ("a😀b", 3),
        ("👩🏽‍🔬", 4),  # woman, skin tone, zero-width joiner, microscope
        ("Cafe\u0301", 5),  # a combining accent is a code point of its own
        ("\ud800x", 2),  # a lone surrogate counts once
    ],
)
def test_cp_length_counts_code_points(units, text, expected):
    assert units.call(POSITIONS, "cpLength", text) == expected


@pytest.mark.parametrize(
    ("text", "cp", "expected"),
    [
        ("a😀b", 0, 0),
        ("a😀b", 1, 1),
        ("a😀b", 2, 3),
        ("a😀b", 3, 4),
        ("a😀b", 9, 4),  # past the end: the length
        ("𝔸x", 1, 2),
        ("abc", 2, 2),
    ],
)
def test_utf16_index_finds_the_code_point(units, text, cp, expected):
    assert units.call(POSITIONS, "utf16Index", text, cp) == expected


def test_utf16_index_and_cp_length_agree_at_every_code_point(units):
    checked = units.run(
        POSITIONS,
        """const s = "x👩🏽‍🔬 𝔸b\u0301c";
        return Array.from(s).map((_, cp) => m.cpLength(s.slice(0, m.utf16Index(s, cp))) === cp);""",
    )
    assert checked == [True] * 10


# --- quotes and their context --------------------------------------------------------------------


def test_the_target_at_the_start_of_the_text_has_no_prefix(units):
    target = text_run(units, "return t.target(0, 4)")
    assert target == {
        "start": 0,
        "end": 4,
        "exact": "When",
        "prefix": "",
        "suffix": " socialists talk, we are really ",  # 32 code points
    }


def test_the_target_at_the_end_of_the_text_has_no_suffix(units):
    end = len(CANONICAL)
    target = text_run(units, f"return t.target({end - 8}, {end})")
    assert target["exact"] == "matters."
    assert target["suffix"] == ""
    assert target["prefix"] == CANONICAL[end - 8 - 32 : end - 8]  # across the blocks


def test_context_counts_astral_characters_once(units):
    target = text_run(units, "return t.target(77, 80)")  # "Why"
    assert target["prefix"] == " about the deeply-felt 𝔸 desire.\n\n"[-32:]
    assert target["prefix"].endswith("𝔸 desire.\n\n")
    assert len(target["prefix"]) == 32  # 𝔸 is one of the 32
    assert target["suffix"] == " 🧪 “workers’ control” matters."


def test_trim_drops_white_space_only(units):
    assert text_run(units, "return t.trim(4, 16)") == [5, 15]  # " socialists "
    assert text_run(units, "return t.trim(74, 78)") == [74, 78]  # ".\n\nW": none at the ends
    assert text_run(units, "return t.trim(75, 77)") is None  # the separator alone


# --- words ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the deeply-felt desire", ["the", "deeply-felt", "desire"]),
        ("don’t stop, workers’s", ["don’t", "stop", "workers’s"]),
        ("Cafe\u0301 society", ["Cafe\u0301", "society"]),
        ("👩🏽‍🔬 Scientists 🧪 test", ["Scientists", "test"]),
        ("well--said", ["well", "said"]),
        ("𝔸lpha 1917", ["𝔸lpha", "1917"]),
        ("العمال يصنعون التاريخ", ["العمال", "يصنعون", "التاريخ"]),
    ],
)
def test_word_spans_keep_hyphenated_words_and_accents_whole(units, text, expected):
    words = units.run(POSITIONS, "return m.wordSpans(arg).map(([a, b]) => arg.slice(a, b));", text)
    assert words == expected


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        ("n socialists talk, we are really ta", "When socialists talk, we are really talking"),
        ("socialists", "socialists"),  # whole already
        (" socialists ", "socialists"),
        ("alists talk,", "socialists talk"),  # punctuation at the end goes
        ("eply-fe", "deeply-felt"),  # a hyphen inside a word is part of it
        ("-felt 𝔸 de", "deeply-felt 𝔸 desire"),
        ("ire.\n\nWhy 🧪 “wor", "desire.\n\nWhy 🧪 “workers"),
        ("🧪", "🧪"),  # a symbol alone stays chosen
        ("“", "“"),  # so does punctuation alone, rather than nothing
        ("’ control” ma", "control” matters"),
    ],
)
def test_snap_to_words_widens_to_whole_words(units, chosen, expected):
    at = CANONICAL.index(chosen)
    snapped = text_run(
        units,
        "const span = t.snapToWords(arg.start, arg.end); return span && t.slice(...span);",
        {"start": at, "end": at + len(chosen)},
    )
    assert snapped == expected


def test_snap_to_words_chooses_nothing_for_white_space(units):
    assert text_run(units, "return t.snapToWords(75, 77)") is None


# --- DOM ranges (the same module, called on markup) ---------------------------------------------

READING = (
    '<div id="reading"><p data-start="0">When <em>socialists</em> talk, we are really talking.</p>'
    '<h2 data-start="46">Why 𝔸 the-working class</h2></div>'
)


def test_ranges_map_to_targets_exactly_or_snapped_to_words(units):
    result = units.run(
        POSITIONS,
        """document.body.innerHTML = arg;
        const root = document.getElementById("reading");
        const t = m.textOf(root, { context: 32 });
        const [p, h] = t.segments.map((s) => s.el);
        const range = document.createRange();
        range.setStart(p.querySelector("em").firstChild, 3);   // soc|ialists
        range.setEnd(h.firstChild, 12);                          // Why 𝔸 the-w|orking
        const exact = m.rangeToTarget(t, range);
        const snapped = m.rangeToTarget(t, range, { snap: true });
        const [[a, x], [b, y]] = m.passagePoints(t, snapped.start, snapped.end);
        const back = document.createRange();
        back.setStart(a, x);
        back.setEnd(b, y);
        return {
          exact: exact.exact, snapped: snapped.exact, start: snapped.start, back: back.toString(),
        };""",
        READING,
    )
    assert result == {
        "exact": "ialists talk, we are really talking.\n\nWhy 𝔸 the-w",
        "snapped": "socialists talk, we are really talking.\n\nWhy 𝔸 the-working",
        "start": 5,
        "back": "socialists talk, we are really talking.Why 𝔸 the-working",
    }


# --- the layer store -----------------------------------------------------------------------------

ITEMS = [
    # A comment on [10, 20), a bare highlight inside it, a question across two blocks, and a
    # bare highlight with a reply (so a thread) in the second block, by someone else.
    {"id": 1, "start": 10, "end": 20, "motivation": "commenting", "replies": 0, "answered": None,
     "mine": True, "username": "maria", "deleted": False, "tags": ["theme"]},
    {"id": 2, "start": 12, "end": 15, "motivation": "highlighting", "replies": 0, "answered": None,
     "mine": True, "username": "maria", "deleted": False, "tags": []},
    {"id": 3, "start": 18, "end": 60, "motivation": "questioning", "replies": 2, "answered": False,
     "mine": False, "username": "fran", "deleted": False, "tags": []},
    {"id": 4, "start": 50, "end": 55, "motivation": "highlighting", "replies": 1, "answered": None,
     "mine": False, "username": "fran", "deleted": False, "tags": ["theme"]},
    {"id": 5, "start": 0, "end": 4, "motivation": "questioning", "replies": 1, "answered": True,
     "mine": False, "username": "fran", "deleted": True, "tags": []},
]  # fmt: skip


def layer_run(units, body, arg=None):
    """Run `body` with `layer`, a Layer over ITEMS (a fresh copy each time)."""
    return units.run(
        LAYER,
        f"const layer = new m.Layer(structuredClone(arg.items)); {body}",
        {"items": ITEMS, **(arg or {})},
    )


def ids(body):
    return f"return ({body}).map((a) => a.id);"


def test_a_bare_highlight_is_a_thread_only_once_it_has_replies(units):
    assert layer_run(units, "return layer.items.map(m.isThread);") == [
        True,
        False,
        True,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("start", "end", "overlapping", "threads"),
    [
        (0, 40, [1, 2, 3, 5], [1, 3, 5]),  # a first block of 40 code points
        (42, 80, [3, 4], [3, 4]),  # the second block
        (20, 21, [3], [3]),  # 1 ends at 20: it does not reach [20, 21)
        (4, 10, [], []),  # between 5 (ends at 4) and 1 (starts at 10)
        (13, 14, [1, 2], [1]),
    ],
)
def test_overlapping_and_threads_in_a_range(units, start, end, overlapping, threads):
    arg = {"start": start, "end": end}
    assert layer_run(units, ids("layer.overlapping(arg.start, arg.end)"), arg) == overlapping
    assert layer_run(units, ids("layer.threadsIn(arg.start, arg.end)"), arg) == threads


def test_innermost_first_orders_by_length_and_skips_unknown_ids(units):
    assert layer_run(units, ids("layer.innermostFirst([3, 1, 99, 2])")) == [2, 1, 3]


def test_add_get_and_remove(units):
    result = layer_run(
        units,
        """layer.add({ id: 9, start: 1, end: 2 });
        const added = layer.get(9).end;
        layer.remove(1);
        layer.remove(42);
        return [added, layer.get(1) ?? null, layer.items.map((a) => a.id)];""",
    )
    assert result == [2, None, [2, 3, 4, 5, 9]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [5, 1, 2, 3, 4]),  # no filter: all, in the order of the text
        ("show=mine", [1, 2]),
        ("member=fran", [3, 4]),  # not 5: its author's name went with it
        ("tag=Theme", [1, 4]),
        ("questions=unanswered", [3]),
        ("highlights=hide", [5, 1, 3, 4]),
        ("show=mine&highlights=hide", [1]),
        ("show=everything&questions=yes", [5, 1, 2, 3, 4]),  # unknown values mean no filter
    ],
)
def test_matching_applies_the_filters_of_the_query_string(units, query, expected):
    body = "layer.matching(m.filtersFrom(new URLSearchParams(arg.query)))"
    assert layer_run(units, ids(body), {"query": query}) == expected


def test_matching_puts_the_longer_passage_first_when_two_start_together(units):
    result = layer_run(
        units,
        f"""layer.add({{ ...layer.get(2), id: 7, start: 10, end: 12 }});
        {ids("layer.matching(m.filtersFrom(new URLSearchParams()))")}""",
    )
    assert result == [5, 1, 7, 2, 3, 4]


# The layer as the server sends it: a header of columns (one unknown to the page, and the
# order shuffled, as a later server may send them), people and tags by index.
SENT = {
    "version": 17,
    "columns": ["start", "id", "end", "motivation", "author", "private", "replies", "answered",
                "mine", "facilitator", "hidden", "deleted", "tags", "plussed", "orphan", "later"],
    "rows": [
        [100, 12, 130, "commenting", 0, False, 2, None, True, False, False, False, [0, 1], True,
         False, "ignored"],
        [140, 13, 150, "highlighting", 1, False, 0, None, False, False, False, False, [], False,
         False, "ignored"],
        [200, 14, 230, "questioning", 2, True, 1, False, False, True, False, True, [1], False,
         True, "ignored"],
    ],
    "people": [{"name": "Maria Gómez", "username": "maria"}, {"name": "Fran", "username": "fran"},
               {"name": "[deleted]", "username": ""}],
    "tags": ["democracy", "history"],
}  # fmt: skip


def test_rows_become_objects_by_the_names_in_the_header(units):
    items = units.call(LAYER, "itemsFromRows", SENT)
    assert items[0] == {
        "id": 12,
        "start": 100,
        "end": 130,
        "motivation": "commenting",
        "author": "Maria Gómez",
        "username": "maria",
        "private": False,
        "replies": 2,
        "answered": None,
        "mine": True,
        "facilitator": False,
        "hidden": False,
        "deleted": False,
        "tags": ["democracy", "history"],
        "plussed": True,
        "orphan": False,
    }
    assert [a["author"] for a in items] == ["Maria Gómez", "Fran", "[deleted]"]
    assert items[2]["answered"] is False
    assert items[2]["tags"] == ["history"]
    assert all("later" not in a for a in items)


def test_the_page_shows_anchored_rows_passing_its_filters(units):
    shown = units.run(
        LAYER,
        """const items = m.itemsFromRows(arg.sent);
        const show = (query) => m.shownItems(items, m.filtersFrom(new URLSearchParams(query)));
        return ["", "show=mine", "member=fran", "tag=History", "highlights=hide"]
          .map((query) => show(query).map((a) => a.id));""",
        {"sent": SENT},
    )
    assert shown == [[12, 13], [12], [13], [12], [12]]  # never 14: it is orphaned


def test_a_layer_on_its_way_keeps_what_the_reader_did_meanwhile(units):
    result = units.run(
        LAYER,
        """const layer = new m.Layer([], { loaded: false });
        layer.add({ id: 20, start: 5, end: 9 });   // saved before the layer came
        layer.add({ id: 21, start: 7, end: 8 });
        layer.remove(21);                          // and one of them deleted again
        layer.remove(2);                           // one the server still sends
        layer.load(structuredClone(arg.items));
        const after = layer.items.map((a) => a.id);
        layer.remove(3);
        layer.load(structuredClone(arg.items));    // loaded again: the server's word
        return [after, layer.items.map((a) => a.id), layer.get(20) ?? null];""",
        {"items": ITEMS},
    )
    assert result == [[1, 3, 4, 5, 20], [1, 2, 3, 4, 5], None]


@pytest.mark.parametrize(
    ("current", "step", "expected"),
    [
        (None, 1, [10, 0]),  # no current match: Next goes to the first
        (None, -1, [30, 2]),  # and Previous to the last
        (10, 1, [20, 1]),
        (20, -1, [10, 0]),
        (30, 1, [10, 0]),  # wraps around at the end
        (10, -1, [30, 2]),  # and at the start
        (99, 1, [10, 0]),  # a match that went away counts as none
    ],
)
def test_step_through_wraps_around(units, current, step, expected):
    found = units.run(
        LAYER,
        "const r = m.stepThrough(arg.list, arg.current, arg.step); return [r.item.id, r.index];",
        {"list": [{"id": 10}, {"id": 20}, {"id": 30}], "current": current, "step": step},
    )
    assert found == expected


def test_step_through_an_empty_list_finds_nothing(units):
    assert units.call(LAYER, "stepThrough", [], None, 1) is None


def test_the_pure_modules_leave_the_page_alone_when_imported(units):
    untouched = units.run(
        POSITIONS,
        """document.body.innerHTML = "<p>Untouched</p>";
        const before = document.documentElement.outerHTML;
        await import(arg + "?again");
        await import("/static/js/reading/layer.js?again");
        return document.documentElement.outerHTML === before;""",
        POSITIONS,
    )
    assert untouched is True


# --- drawing marks ---------------------------------------------------------------------------

# Two blocks: the first ends inside a link, the second follows after "\n\n".
B1 = "A first sentence, linked 𝔸 phrase"
B2 = "Second block here."
DRAWN = (
    '<div id="reading">'
    '<div class="block" id="b1"><p data-start="0">A <em>first</em> sentence, '
    '<a href="/x">linked 𝔸 phrase</a></p><div class="margin"></div></div>'
    f'<div class="block" id="b2"><p data-start="{len(B1) + 2}">{B2}</p>'
    '<div class="margin"></div></div></div>'
)


def span(phrase: str, kind: str, id: int, **fields) -> dict:
    at = (B1 + "\n\n" + B2).index(phrase)
    return {
        "id": id,
        "start": at,
        "end": at + len(phrase),
        "motivation": kind,
        "replies": 0,
        "answered": None,
        "mine": False,
        "private": False,
        "author": "Fran",
        **fields,
    }


MARKED = [
    span("first sentence", "commenting", 1, mine=True),  # across the end of an <em>
    span("sentence, linked", "highlighting", 2),  # into the link
    # In the link, then on into the next block.
    span("𝔸 phrase\n\nSecond", "questioning", 3, answered=False),
    span("linked", "highlighting", 4),  # only in the link
]

# Draw MARKED over DRAWN; return every mark as [text, ids, depth, starts, tab stop, name],
# each segment's count of writes, and the margins' counts.
DRAW = """
document.body.innerHTML = arg.html;
const { Layer } = await import("/static/js/reading/layer.js");
const { textOf } = await import("/static/js/reading/positions.js");
const root = document.getElementById("reading");
const page = {
  body: root,
  text: textOf(root, { context: 32 }),
  layer: new Layer(arg.items),
  config: { dataset: { threads: "/threads/" } },
  active: null,
};
const seen = [];
const observer = new MutationObserver((records) => seen.push(...records));
observer.observe(root, { childList: true, subtree: true, characterData: true });
const writes = () => {
  const segments = page.text.segments.map((s) => s.el);
  const records = seen.splice(0).concat(observer.takeRecords());
  return records.filter((r) => !r.target.closest(".margin")).map((r) => segments.indexOf(r.target));
};
const marks = () => [...root.querySelectorAll("mark.hl")].map((mark) => [
  mark.textContent, mark.dataset.ids, mark.dataset.depth, mark.dataset.starts ?? "",
  mark.getAttribute("tabindex") ?? "", mark.getAttribute("aria-label") ?? "",
]);
const counts = () => [...root.querySelectorAll(".margin")].map((m) => m.textContent);
"""


def test_marks_are_drawn_in_one_write_per_block_with_one_button_each(units):
    marks, writes, counts = units.run(
        HIGHLIGHTS,
        DRAW + "await m.drawHighlights(page); return [marks(), writes(), counts()];",
        {"html": DRAWN, "items": MARKED},
    )
    assert marks == [
        ["first", "1", "1", "1", "0", "Comment by you: “first”"],  # a button, though in <em>
        [" ", "1", "1", "", "", ""],
        ["sentence", "1 2", "2", "2", "0", "Highlight by Fran: “sentence”"],  # deeper
        [", ", "2", "1", "", "", ""],
        ["linked", "2 4", "2", "4", "0", "Highlight by Fran: “linked”"],  # 4 is only in the link
        ["𝔸 phrase", "3", "1", "", "", ""],  # 3's button is not in the link...
        ["Second", "3", "1", "3", "0", "Question (unanswered) by Fran: “Second”"],  # ...but here
    ]
    assert writes == [0, 1]  # each block's content replaced once
    assert counts == ["2 threads", "1 thread"]  # the comment and the question; 3 in both


def test_adding_or_removing_one_annotation_redraws_only_its_blocks(units):
    added, removed, across = units.run(
        HIGHLIGHTS,
        DRAW
        + """await m.drawHighlights(page);
        writes();
        page.active = 1;  // its thread is open: its marks are drawn active
        const item = { ...arg.items[1], id: 5, start: arg.at, end: arg.at + 5 };  // "block"
        page.layer.add(item);
        m.redrawAround(page, item);
        const added = [writes(), marks().filter((m) => m[1].includes("5")), counts()];
        page.layer.remove(5);
        m.redrawAround(page, item);
        const removed = [writes(), root.querySelectorAll("mark.hl-5").length];
        const third = page.layer.get(3);
        page.layer.remove(3);
        m.redrawAround(page, third);
        const active = root.querySelectorAll("mark.hl--active").length;
        return [added, removed, [writes(), counts(), active]];""",
        {"html": DRAWN, "items": MARKED, "at": len(B1) + 2 + B2.index("block")},
    )
    block = ["block", "5", "1", "5", "0", "Highlight by Fran: “block”"]
    assert added == [[1], [block], ["2 threads", "1 thread"]]  # a bare highlight: no thread
    assert removed == [[1], 0]
    assert across == [[0, 1], ["1 thread", ""], 3]  # 1's marks: "first", " " and "sentence"
