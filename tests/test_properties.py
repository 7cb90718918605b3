"""Property-based tests (the `hypothesis` library): arbitrary Unicode and arbitrary JSON never
crash the reading importer, the anchoring of quotes, the Markdown cleaner or the annotation
importers; positions always stay inside the text; cleaning is idempotent.

Each property runs a modest number of examples with no deadline, so that CI stays fast and a
loaded machine does not fail a test for being slow. Hypothesis keeps the examples that failed
once in `.hypothesis/` and tries them first next time.
"""

import json
import re
import uuid
from html.parser import HTMLParser

import bleach
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from annotations.anchoring import (
    CONTEXT,
    QuoteAnchorer,
    anchor_at,
    anchor_quote,
    fold,
    reanchor,
    reanchor_many,
)
from commonplace import markdown
from imports.formats import ImportFileError, ParsedFile
from imports.reader import read_annotations
from readings import importer
from readings.importer import ReadingImportError, parse_file
from tests.hostile import live_markup

FAST = settings(max_examples=120, deadline=None)
SLOW = settings(max_examples=50, deadline=None)

# Any Unicode, surrogates included (a str can hold a lone one; the web may send one).
ANY_TEXT = st.text(st.characters(codec=None), max_size=300)
# Text with the characters that matter to the code under test drawn often: Markdown and
# HTML punctuation, whitespace of every kind, typography that `fold` rewrites, combining
# marks, right-to-left and zero-width characters, emoji, fullwidth forms.
SPICE = (
    "<>&\"'`=/\\:;!#*_[]()-+.~|{}@ \t\n\r\u00a0\u00ad\u200b\u200c\u200d\u2060\ufeff"
    "\u202e\u202d\u2018\u2019\u201c\u201d\u2013\u2014\u2026\ufb01\u0301\uff1c\uff1e\u3000"
    "\U0001f469\U0001f3fd\u05d0\u0627"
)
MARKUP_TEXT = st.text(st.one_of(st.sampled_from(SPICE), st.characters(codec="utf-8")), max_size=300)
HOSTILE_SNIPPETS = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](java\u200bscript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        '![x](x" onerror="alert(1))',
        '"><img src=x onerror=alert(1)>',
        "' onmouseover='alert(1)'",
        "<a href='javascript:alert(1)'>x</a>",
        '<http://example.org/"onmouseover="alert(1)>',
        "<javascript:alert(1)>",
        "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
        "{{7*7}}",
        "```\n<script>",
        "<!-- x --><script>",
        "www.example.org/?q=<script>",
        "@maria",
    ]
)
HOSTILE_TEXT = st.lists(st.one_of(HOSTILE_SNIPPETS, MARKUP_TEXT), max_size=6).map("".join)


# --- the Markdown cleaner -------------------------------------------------------------------


def _clean_again(html: str) -> str:
    return bleach.clean(
        html,
        tags=markdown.ALLOWED_TAGS,
        attributes=markdown.ALLOWED_ATTRIBUTES,
        protocols=markdown.ALLOWED_PROTOCOLS,
        strip=True,
    )


@FAST
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
@example("[x](javascript:alert(1))")
@example('![x](x" onerror="alert(1))')
@example("<svg/onload=alert(1)>")
def test_the_markdown_cleaner_never_crashes_and_leaves_nothing_live(text):
    html = markdown.render(text)

    assert isinstance(html, str)
    assert live_markup(html) == []


@FAST
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
@example("a & b < c > d \"e\" 'f'")
@example("<http://example.org/?a=1&b=2>")
@example("0\x0c[](;:)0")  # a form feed beside a dropped link: once "?" on the second pass
def test_cleaning_the_cleaned_html_changes_nothing(text):
    html = markdown.render(text)

    assert _clean_again(html) == html


@FAST
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
def test_mentions_only_link_names_the_callback_knows(text):
    known = {"maria": "/people/maria/"}

    html, found = markdown.render_with_mentions(
        text, mention_url=lambda name: known.get(name.lower())
    )

    assert found <= {"maria"}
    assert live_markup(html) == []
    assert _clean_again(html) == html


@FAST
@given(st.one_of(ANY_TEXT, HOSTILE_TEXT))
def test_plain_text_bodies_are_escaped_whole(text):
    html = markdown.render_plain(text)

    assert live_markup(html) == []
    assert "<" not in re.sub(r"</?(p|br)( /)?>", "", html)  # only its own paragraphs and breaks


# --- the reading importer -------------------------------------------------------------------


def _reading_source(draw_text):
    """A Markdown file: maybe front matter, then headings, paragraphs, quotes, fences and
    lists made of the drawn text."""
    return st.lists(
        st.one_of(
            draw_text,
            draw_text.map(lambda t: "# " + t),
            draw_text.map(lambda t: "## " + t),
            draw_text.map(lambda t: "> " + t),
            draw_text.map(lambda t: "*Caption: " + t + "*"),
            draw_text.map(lambda t: "```\n" + t + "\n```"),
            draw_text.map(lambda t: "- " + t),
            draw_text.map(lambda t: "---\ntitle: " + t + "\n---"),
            draw_text.map(lambda t: "[" + t + "](javascript:alert(1))"),
        ),
        max_size=8,
    ).map("\n\n".join)


def _check_parsed(parsed):
    assert parsed.block_count > 0
    for section in parsed.sections:
        assert section.level in {1, 2}
        assert section.heading == section.heading.strip() or section.heading
        for block in section.blocks:
            assert block.kind in {"paragraph", "blockquote", "caption"}
            assert block.text  # never an empty block
            assert live_markup(block.html) == []
            # the HTML shows exactly the block's words (the canonical text is the text)
            assert _text_content(block.html) == block.text


def _text_content(html: str) -> str:
    parts: list[str] = []
    parser = HTMLParser(convert_charrefs=True)
    parser.handle_data = parts.append
    parser.feed(html)
    parser.close()
    return "".join(parts)


@FAST
@given(st.one_of(_reading_source(MARKUP_TEXT), _reading_source(HOSTILE_TEXT)))
@example("# <script>alert(1)</script>\n\n[x](javascript:alert(1)) and ![y](x onerror=alert(1))")
def test_a_markdown_reading_parses_or_is_refused_with_a_sentence(source):
    try:
        parsed = parse_file(source.encode("utf-8", "surrogatepass"), "essay.md")
    except ReadingImportError as error:
        assert str(error).strip()
        return
    _check_parsed(parsed)


@FAST
@given(st.one_of(ANY_TEXT, MARKUP_TEXT, HOSTILE_TEXT))
def test_a_text_reading_parses_or_is_refused_with_a_sentence(source):
    try:
        parsed = parse_file(source.encode("utf-8", "surrogatepass"), "essay.txt")
    except ReadingImportError as error:
        assert str(error).strip()
        return
    _check_parsed(parsed)


@FAST
@given(st.binary(max_size=300), st.sampled_from(["a.md", "a.txt", "a.html", "a"]))
def test_arbitrary_bytes_never_crash_the_reading_importer(data, filename):
    try:
        parsed = importer.parse_file(data, filename)
    except ReadingImportError as error:
        assert str(error).strip()
        return
    _check_parsed(parsed)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    # each example writes its own reading (a slug of its own) in the test's transaction
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(_reading_source(HOSTILE_TEXT), st.sampled_from(["essay.md", "essay.txt"]))
def test_an_imported_readings_canonical_text_is_its_headings_and_blocks(db, source, filename):
    from readings.layout import reading_layout
    from readings.services import reading_import
    from readings.text import SEPARATOR

    try:
        reading = reading_import(
            data=source.encode("utf-8", "surrogatepass"),
            filename=filename,
            slug=f"r-{uuid.uuid4().hex[:12]}",
            overrides={"title": "A title"},
        )
    except ReadingImportError as error:
        assert str(error).strip()
        return
    text = reading.canonical_text()
    layout = reading_layout(reading)
    parts = []
    for section in layout["sections"]:
        if section.heading:
            assert text[section.start : section.start + len(section.heading)] == section.heading
            parts.append(section.heading)
        for block in section.block_list:
            assert 0 <= block.start <= block.start + len(block.text) <= len(text)
            assert text[block.start : block.start + len(block.text)] == block.text
            assert live_markup(block.html) == []
            parts.append(block.text)
    assert text == SEPARATOR.join(parts)


# --- anchoring ------------------------------------------------------------------------------

TEXTS = st.one_of(MARKUP_TEXT, ANY_TEXT).filter(bool)


@st.composite
def text_and_span(draw):
    text = draw(TEXTS)
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text, start, end


def _in_range(anchor, text):
    assert 0 <= anchor.start <= anchor.end <= len(text)
    assert text[anchor.start : anchor.end] == anchor.exact
    assert anchor.prefix == text[max(0, anchor.start - CONTEXT) : anchor.start]
    assert anchor.suffix == text[anchor.end : anchor.end + CONTEXT]


@FAST
@given(text_and_span())
def test_an_anchor_quotes_its_own_span(case):
    text, start, end = case

    anchor = anchor_at(text, start, end)

    _in_range(anchor, text)


@FAST
@given(text_and_span(), st.integers(-5, 5), st.integers(-5, 5))
def test_a_span_outside_the_text_is_refused(case, before, after):
    text, start, end = case
    start, end = start + before, end + after
    if 0 <= start <= end <= len(text):
        _in_range(anchor_at(text, start, end), text)
    else:
        with pytest.raises(ValueError):
            anchor_at(text, start, end)


@FAST
@given(text_and_span())
def test_an_unchanged_text_reanchors_every_quote_where_it_was(case):
    text, start, end = case
    assume(text[start:end].strip())
    anchor = anchor_at(text, start, end)

    placement = reanchor(anchor, text)

    assert placement.status == "exact"
    assert placement.anchor == anchor


@SLOW
@given(text_and_span(), TEXTS)
def test_reanchoring_into_any_text_stays_inside_it(case, new_text):
    text, start, end = case
    anchor = anchor_at(text, start, end)

    for placement in (reanchor(anchor, new_text), *reanchor_many([anchor] * 2, new_text)):
        assert placement.status in {"exact", "moved", "fuzzy", "orphan"}
        if placement.anchor is not None:
            _in_range(placement.anchor, new_text)


@SLOW
@given(text_and_span(), MARKUP_TEXT, MARKUP_TEXT)
def test_reanchoring_after_an_edit_finds_the_same_words_or_an_orphan(case, inserted, appended):
    text, start, end = case
    exact = text[start:end]
    assume(exact.strip())
    anchor = anchor_at(text, start, end)
    new_text = inserted + text + appended  # the words are all still there, moved along

    placement = reanchor(anchor, new_text)

    if placement.anchor is not None:
        _in_range(placement.anchor, new_text)
        if placement.status in {"exact", "moved"}:
            assert placement.anchor.exact == exact


@FAST
@given(
    TEXTS,
    st.one_of(MARKUP_TEXT, ANY_TEXT),
    st.one_of(MARKUP_TEXT, ANY_TEXT),
    st.one_of(MARKUP_TEXT, ANY_TEXT),
    st.one_of(st.none(), st.integers(-10, 400)),
)
def test_placing_any_quote_never_crashes_and_stays_inside_the_text(
    text, exact, prefix, suffix, near
):
    placement = anchor_quote(text, exact, prefix, suffix, near=near)

    if placement is not None:
        assert placement.status in {"exact", "normalized", "fuzzy"}
        _in_range(placement.anchor, text)


@FAST
@given(text_and_span())
def test_a_quote_found_exactly_maps_back_to_the_same_words(case):
    text, start, end = case
    exact = text[start:end]
    assume(exact.strip() and exact.strip() == exact)
    prefix = text[max(0, start - CONTEXT) : start]
    suffix = text[end : end + CONTEXT]

    placement = anchor_quote(text, exact, prefix, suffix, near=start)

    assert placement is not None and placement.status == "exact"
    assert placement.anchor.exact == exact
    assert text[placement.anchor.start : placement.anchor.end] == exact
    if text.count(exact) == 1:
        assert placement.anchor.start == start


@FAST
@given(text_and_span())
def test_a_quote_copied_with_other_typography_is_placed_on_the_same_words(case):
    text, start, end = case
    exact = text[start:end]
    assume(exact.strip() and exact.strip() == exact)
    assume(fold(text).count(fold(exact).strip()) == 1)  # a quote the folded text has once
    copied = exact.replace("'", "\u2019").replace(" ", "\u00a0").replace("-", "\u2013")

    placement = QuoteAnchorer(text).place(copied)

    if placement is not None:  # folded words may still be ambiguous around the edges
        _in_range(placement.anchor, text)
        assert fold(placement.anchor.exact).strip() == fold(copied).strip()


@FAST
@given(st.one_of(ANY_TEXT, MARKUP_TEXT))
def test_folding_is_idempotent(text):
    once = fold(text)

    assert fold(once) == once


# --- the annotation importers ---------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    MARKUP_TEXT,
    HOSTILE_SNIPPETS,
    st.sampled_from(
        [
            "TextQuoteSelector",
            "TextPositionSelector",
            "Annotation",
            "AnnotationPage",
            "AnnotationCollection",
            "TextualBody",
            "tagging",
            "replying",
            "private",
            "group:__world__",
            "acct:eve@hypothes.is",
            "2024-01-02T03:04:05Z",
            "1900-01-01",
            "9999-12-31T23:59:59+14:00",
            "text/markdown",
            "text/plain",
        ]
    ),
)
KEYS = st.one_of(
    st.sampled_from(
        [
            "@context",
            "id",
            "type",
            "items",
            "first",
            "partOf",
            "total",
            "body",
            "target",
            "source",
            "selector",
            "exact",
            "prefix",
            "suffix",
            "start",
            "end",
            "motivation",
            "purpose",
            "value",
            "format",
            "language",
            "creator",
            "name",
            "nickname",
            "created",
            "modified",
            "visibility",
            "deleted",
            "hidden",
            "originalCreator",
            "originalCreated",
            "annotations",
            "rows",
            "text",
            "tags",
            "references",
            "user",
            "user_info",
            "display_name",
            "permissions",
            "read",
            "uri",
            "document",
            "refinedBy",
        ]
    ),  # fmt: skip
    MARKUP_TEXT.filter(lambda k: len(k) < 20),
)
JSONISH = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=6)
    ),
    max_leaves=30,
)


@st.composite
def w3c_annotation(draw):
    """Something shaped like a W3C annotation, with anything in its fields."""
    quote = {"type": "TextQuoteSelector", "exact": draw(JSON_SCALARS)}
    if draw(st.booleans()):
        quote["prefix"], quote["suffix"] = draw(JSON_SCALARS), draw(JSON_SCALARS)
    selectors = draw(st.lists(st.one_of(st.just(quote), JSONISH), max_size=3))
    data = {
        "type": "Annotation",
        "id": draw(st.one_of(JSON_SCALARS, st.integers(0, 5).map(lambda n: f"urn:x:{n}"))),
        "body": draw(
            st.one_of(
                JSONISH,
                st.lists(
                    st.fixed_dictionaries(
                        {"type": st.just("TextualBody"), "value": JSON_SCALARS},
                        optional={"purpose": JSON_SCALARS, "format": JSON_SCALARS},
                    ),
                    max_size=3,
                ),
            )
        ),
        "target": draw(
            st.one_of(
                JSONISH,
                st.fixed_dictionaries({"source": JSON_SCALARS, "selector": st.just(selectors)}),
                st.integers(0, 5).map(lambda n: f"urn:x:{n}"),
            )
        ),
    }
    for key in ("motivation", "creator", "created", "visibility", "deleted", "hidden"):
        if draw(st.booleans()):
            data[key] = draw(JSONISH)
    return data


@st.composite
def w3c_file(draw):
    annotations = draw(st.lists(w3c_annotation(), min_size=0, max_size=5))
    shape = draw(st.sampled_from(["list", "one", "page", "collection"]))
    if shape == "one" and annotations:
        return annotations[0]
    if shape == "page":
        return {"type": "AnnotationPage", "items": annotations}
    if shape == "collection":
        return {
            "type": "AnnotationCollection",
            "first": {"type": "AnnotationPage", "items": annotations},
        }
    return annotations


@st.composite
def hypothesis_row(draw):
    row = {
        "id": draw(st.one_of(JSON_SCALARS, st.integers(0, 5).map(lambda n: f"h{n}"))),
        "text": draw(JSON_SCALARS),
        "tags": draw(st.one_of(JSONISH, st.lists(JSON_SCALARS, max_size=4))),
        "target": draw(
            st.one_of(
                JSONISH,
                st.just(
                    [
                        {
                            "source": "https://example.org/",
                            "selector": [
                                {
                                    "type": "TextQuoteSelector",
                                    "exact": draw(JSON_SCALARS),
                                    "prefix": draw(JSON_SCALARS),
                                    "suffix": draw(JSON_SCALARS),
                                }
                            ],
                        }
                    ]
                ),
            )
        ),
    }
    for key in ("references", "user", "user_info", "created", "permissions", "hidden"):
        if draw(st.booleans()):
            row[key] = draw(
                st.one_of(JSONISH, st.lists(st.sampled_from(["h0", "h1", "h2"]), max_size=3))
            )
    return row


HYPOTHESIS_FILES = st.builds(
    lambda rows, rows_key: {"annotations": rows} if rows_key else {"rows": rows, "total": 1},
    st.lists(hypothesis_row(), max_size=5),
    st.booleans(),
)
ANNOTATION_FILES = st.one_of(JSONISH, w3c_file(), HYPOTHESIS_FILES)


def _read(value) -> ParsedFile | None:
    data = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    try:
        parsed = read_annotations(data)
    except ImportFileError as error:
        assert str(error).strip()
        return None
    assert parsed.items
    for item in parsed.items:
        assert item.kind in {"passage", "page_note", "reply"}
        assert isinstance(item.body, str) and isinstance(item.exact, str)
        assert all(isinstance(tag, str) for tag in item.tags)
        assert len(item.original_author) <= 200
    return parsed


@FAST
@given(ANNOTATION_FILES)
def test_any_json_is_read_as_annotations_or_refused_with_a_sentence(value):
    _read(value)


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_are_read_as_annotations_or_refused_with_a_sentence(data):
    try:
        read_annotations(data)
    except ImportFileError as error:
        assert str(error).strip()


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    # the group reading is made once per test, not per example: the plan writes nothing
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ANNOTATION_FILES)
def test_any_file_of_annotations_is_previewed_without_writing(group, essay, facilitator, value):
    from annotations.models import Annotation
    from groups.models import Membership
    from imports.services import import_plan

    membership = Membership.objects.get(group=group, user=facilitator)
    text = essay.canonical_text()
    parsed = _read(value)
    if parsed is None:
        return

    plan = import_plan(membership=membership, reading=essay, parsed=parsed, text=text)

    assert len(plan.entries) == len(parsed.items)
    for entry in plan.entries:
        assert entry.outcome in {"import", "already", "unmatched", "skipped"}
        if entry.outcome in {"unmatched", "skipped"}:
            assert entry.reason.strip()
        if entry.match is not None and entry.match.placed:
            assert 0 <= entry.match.start < entry.match.end <= len(text)
            assert entry.words == text[entry.match.start : entry.match.end]
    assert not Annotation.objects.exists()
