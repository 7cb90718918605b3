from collections.abc import Callable
from pathlib import PurePath

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from readings.importer import (
    TEXT_SUFFIXES,
    ParsedReading,
    ReadingImportError,
    parse_file,
    validate_meta,
)
from readings.models import Block, Reading, Section

RESERVED_SLUGS = {"add", "import", "new"}  # paths beside reading slugs in a group's URLs
META_FIELDS = (
    "title",
    "subtitle",
    "author",
    "publication",
    "source_url",
    "attribution",
    "about_author",
)


def reading_import(
    *,
    data: bytes,
    filename: str,
    slug: str | None = None,
    overrides: dict[str, str] | None = None,
    replace: bool = False,
    added_by=None,
    reanchor: Callable[[Reading, str, str], object] | None = None,
) -> Reading:
    """Create (or with replace=True, revise) a reading from a .md or .txt file's bytes.

    Raises ReadingImportError with a readable message; on error nothing is written.
    `overrides` (e.g. a title typed into a form) win over the file's front matter.
    Replacing a text calls `reanchor(reading, old_text, new_text)` inside the same transaction:
    the annotations app passes the function that moves annotations onto the new text (this
    app knows nothing of annotations; see annotations.services.reading_import_reanchoring).
    """
    if replace and reanchor is None:
        raise TypeError("Replacing a reading's text needs `reanchor`, or annotations go stale.")
    parsed = parse_file(data, filename)
    meta = {**parsed.meta, **{k: v for k, v in (overrides or {}).items() if v}}
    if not meta.get("title") and PurePath(filename).suffix.lower() in TEXT_SUFFIXES:
        stem = PurePath(filename).stem.replace("_", " ").replace("-", " ").strip()
        if stem and stem != "pasted":
            meta["title"] = stem[:1].upper() + stem[1:]
    validate_meta(meta)
    if not meta.get("title"):
        raise ReadingImportError(
            "The reading has no title: add 'title:' front matter, a leading '# Title', "
            "or give a title."
        )
    slug = slug or meta.get("slug") or slugify(meta["title"])[:120].strip("-")
    if not slug:
        raise ReadingImportError(
            "The title gives no usable slug (it has no Latin letters or digits): give one "
            "with --slug."
        )
    if slugify(slug) != slug:
        raise ReadingImportError(
            f"The slug {slug!r} may only hold lowercase letters, digits and hyphens."
        )
    if slug in RESERVED_SLUGS:
        raise ReadingImportError(f"The slug {slug!r} is reserved: choose another with --slug.")
    with transaction.atomic():
        existing = Reading.objects.select_for_update().filter(slug=slug).first()
        if existing and not replace:
            raise ReadingImportError(
                f"A reading with the slug {slug!r} already exists; "
                "use --replace to replace its text."
            )
        fields = {name: meta.get(name, "") for name in META_FIELDS}
        old_text = existing.canonical_text() if existing else None
        if existing:
            reading = existing
            for name, value in fields.items():
                setattr(reading, name, value)
            reading.save(update_fields=[*META_FIELDS, "updated_at"])
        else:
            try:
                reading = Reading.objects.create(slug=slug, added_by=added_by, **fields)
            except IntegrityError:
                raise ReadingImportError(
                    f"A reading with the slug {slug!r} already exists."
                ) from None
        _write_structure(reading, parsed)
        if old_text is not None:
            reanchor(reading, old_text, reading.canonical_text())
    return reading


def _write_structure(reading: Reading, parsed: ParsedReading) -> None:
    """Replace the reading's sections and blocks, keeping the anchors of unchanged blocks."""
    old_anchors: dict[str, list[str]] = {}
    for text, anchor in reading.blocks.order_by("position").values_list("text", "anchor"):
        old_anchors.setdefault(text, []).append(anchor)
    reading.blocks.all().delete()
    reading.sections.all().delete()

    used_section_anchors: set[str] = set()
    used_block_anchors: set[str] = set()
    sections: list[Section] = []
    for position, parsed_section in enumerate(parsed.sections):
        base = slugify(parsed_section.heading)[:100] or (
            "introduction" if position == 0 else f"section-{position + 1}"
        )
        anchor, n = base, 2
        while anchor in used_section_anchors:
            anchor, n = f"{base}-{n}", n + 1
        used_section_anchors.add(anchor)
        sections.append(
            Section(
                reading=reading,
                position=position,
                heading=parsed_section.heading,
                level=parsed_section.level,
                anchor=anchor,
            )
        )
    sections = Section.objects.bulk_create(sections)

    blocks: list[Block] = []
    for section, parsed_section in zip(sections, parsed.sections, strict=True):
        for parsed_block in parsed_section.blocks:
            reused = old_anchors.get(parsed_block.text)
            block = Block(
                reading=reading,
                section=section,
                position=len(blocks),
                kind=parsed_block.kind,
                text=parsed_block.text,
                html=parsed_block.html,
            )
            if reused:
                block.anchor = reused.pop(0)
            while block.anchor in used_block_anchors:
                block.anchor = Block._meta.get_field("anchor").default()
            used_block_anchors.add(block.anchor)
            blocks.append(block)
    Block.objects.bulk_create(blocks, batch_size=500)
