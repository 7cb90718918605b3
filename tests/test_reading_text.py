"""The bundled essay, word for word, and the canonical text annotations count over."""

from pathlib import Path

import pytest

from readings import text
from readings.models import Block, Section
from readings.services import reading_import

SEED = Path(__file__).resolve().parent / "data" / "what-is-socialism-from-below.txt"
DEK = (
    "Sean Larson outlines different conceptions of socialism and asserts that only the "
    "self-emancipation of the working class can lead to the world we want."
)
HEADINGS = [
    "Why the working class",
    "Socialisms from above",
    "Stalinism",
    "Social democracy",
    "Substitution or self-activity?",
    "Workers’ power: a historical reality",
    "Self-activity and revolution",
    "International",
    "Social movements",
    "The future is open",
]
CAPTIONS = [
    "Education workers during the 2018-2019 #RedforEd strike wave.",
    "The 1871 Paris Commune showed that workers can rule.",
    "A 1889 illustration by Walter Crane",
]
FURNITURE = [
    "Skip to content",
    "Donate",
    "Sean Larson View All",
    "editors@tempestmag.org",
    "please consider donating",
    "We want to hear what you think",
]


def seed_lines() -> list[str]:
    return [line for line in SEED.read_text(encoding="utf-8").split("\n") if line.strip()]


def seed_body() -> list[str]:
    """The seed page's lines between the dek and the closing appeal, headings included."""
    lines = seed_lines()
    start = lines.index(DEK)
    end = next(i for i, line in enumerate(lines) if line.startswith("We want to hear"))
    return lines[start + 1 : end]


def seed_paragraphs() -> list[str]:
    return [line for line in seed_body() if line not in HEADINGS]


# --- the essay against its seed page ---------------------------------------------------------


def test_the_seed_page_has_the_ten_headings_in_order():
    assert [line for line in seed_body() if line in HEADINGS] == HEADINGS
    assert len(seed_paragraphs()) == len(seed_body()) - 10


def test_every_body_paragraph_of_the_seed_is_in_the_essay_word_for_word_in_order(essay):
    blocks = list(essay.blocks.order_by("position").values_list("text", flat=True))

    assert blocks == seed_paragraphs()


def test_the_essays_canonical_text_is_the_seed_body_in_order(essay):
    assert essay.canonical_text() == "\n\n".join(seed_body())


def test_the_essays_section_headings_are_the_seed_headings(essay):
    sections = list(essay.sections.order_by("position"))

    assert sections[0].heading == ""  # the introduction comes before the first heading
    assert [s.heading for s in sections if s.heading] == HEADINGS
    assert len([s for s in sections if s.heading]) == 10


def test_the_essays_header_fields(essay):
    assert essay.title == "What is socialism from below?"
    assert essay.subtitle == DEK
    assert essay.author == "Sean Larson"
    assert essay.publication == "Tempest"
    assert essay.slug == "what-is-socialism-from-below"


def test_about_the_author_is_the_biography_line(essay):
    assert essay.about_author == seed_lines()[-1]
    assert essay.about_author == (
        "Sean Larson is a socialist in Chicago and a founding editor of Rampant magazine."
    )


def test_stalinism_and_social_democracy_are_subsections(essay):
    levels = {s.heading: s.level for s in essay.sections.exclude(heading="")}

    assert levels.pop("Stalinism") == 2
    assert levels.pop("Social democracy") == 2
    assert set(levels.values()) == {1}


def test_the_orwell_passage_is_the_only_blockquote(essay):
    quotes = list(essay.blocks.filter(kind=Block.Kind.BLOCKQUOTE))

    assert len(quotes) == 1
    assert quotes[0].text.startswith("Practically every building ")
    assert quotes[0].section.heading == "Workers’ power: a historical reality"


def test_the_essay_has_exactly_three_captions(essay):
    captions = list(
        essay.blocks.filter(kind=Block.Kind.CAPTION)
        .order_by("position")
        .values_list("text", flat=True)
    )

    assert captions == CAPTIONS


@pytest.mark.parametrize("furniture", FURNITURE)
def test_page_furniture_is_nowhere_in_the_canonical_text(essay, furniture):
    canonical = essay.canonical_text()

    assert furniture not in canonical
    for field in ("title", "subtitle", "author", "publication"):
        assert furniture not in getattr(essay, field)


@pytest.mark.parametrize(
    "phrase",
    ["workers’ power", "socialism—the", "That’s what", "“the complete democratization"],
)
def test_curly_quotes_and_dashes_are_preserved(essay, phrase):
    assert phrase in essay.canonical_text()


def test_no_straight_quotes_crept_into_the_essay(essay):
    canonical = essay.canonical_text()

    assert "workers' power" not in canonical
    assert "socialism--the" not in canonical


# --- the canonical text ----------------------------------------------------------------------


def expected_canonical(reading) -> str:
    """Headings and blocks in document order, joined by a blank line, built from the rows."""
    parts: list[str] = []
    for section in Section.objects.filter(reading=reading).order_by("position"):
        if section.heading:
            parts.append(section.heading)
        parts += (
            Block.objects.filter(section=section)
            .order_by("position")
            .values_list("text", flat=True)
        )
    return "\n\n".join(parts)


def test_the_canonical_text_is_headings_and_blocks_joined_by_a_blank_line(essay):
    assert essay.canonical_text() == expected_canonical(essay)


@pytest.fixture
def multilingual(db):
    source = (
        "---\n"
        "title: Many scripts\n"
        "---\n\n"
        "Emoji first 😀🏳️‍🌈 then words, and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 beyond the BMP.\n\n"
        "# Ce\u0301sar’s cafe\u0301\n\n"  # combining acute accents, kept decomposed
        "Combining: e\u0301 a\u0300 n\u0303 and precomposed é à ñ side by side.\n\n"
        "## عربي\n\n"
        "مرحبا بالعالم — السلام عليكم 👋🏽 mixed with English.\n\n"
        "> A quote after the Arabic 🇵🇸.\n"
    )
    return reading_import(data=source.encode("utf-8"), filename="many.md", slug="many-scripts")


def test_segments_start_offsets_index_the_canonical_text_exactly(essay):
    canonical = essay.canonical_text()
    segments = text.segments(essay.sections.all(), essay.blocks.all())

    assert segments[0].start == 0
    assert segments[-1].end == len(canonical)
    for segment in segments:
        assert canonical[segment.start : segment.end] == segment.text
    for previous, segment in zip(segments, segments[1:], strict=False):
        assert segment.start == previous.end + len("\n\n")


def test_segment_offsets_count_code_points_for_emoji_accents_and_arabic(multilingual):
    canonical = multilingual.canonical_text()
    segments = text.segments(multilingual.sections.all(), multilingual.blocks.all())

    assert canonical == expected_canonical(multilingual)
    assert [s.kind for s in segments] == [
        "paragraph",
        "heading",
        "paragraph",
        "heading",
        "paragraph",
        "blockquote",
    ]
    for segment in segments:
        assert canonical[segment.start : segment.end] == segment.text
    # code points, not UTF-16 units or bytes: 😀 counts one, the decomposed é counts two
    assert canonical.index("then words") == len("Emoji first 😀🏳️‍🌈 ")
    assert "Ce\u0301sar" in canonical
    assert "\u00e9" not in segments[1].text  # not normalized to NFC
    arabic = next(s for s in segments if s.kind == "heading" and s.text == "عربي")
    assert canonical[arabic.start : arabic.end] == "عربي"
    utf16_units = len(canonical[: segments[-1].start].encode("utf-16-le")) // 2
    assert segments[-1].start < utf16_units


def test_segments_come_out_in_document_order_whatever_order_they_go_in(essay):
    sections = list(essay.sections.all())
    blocks = list(essay.blocks.all())

    in_order = text.segments(sections, blocks)
    shuffled = text.segments(list(reversed(sections)), blocks[1::2] + blocks[::2])

    assert [(s.kind, s.text, s.start) for s in shuffled] == [
        (s.kind, s.text, s.start) for s in in_order
    ]
    assert text.join(in_order) == essay.canonical_text()


def test_a_heading_without_blocks_still_takes_its_place(db):
    reading = reading_import(
        data=b"# T\n\n## Empty\n\n## Full\n\nWords.\n",
        filename="t.md",
        slug="t",
    )

    assert reading.canonical_text() == "Empty\n\nFull\n\nWords."
