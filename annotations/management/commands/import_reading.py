from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotations.services import reading_import_reanchoring
from readings.importer import ReadingImportError, too_large


class Command(BaseCommand):
    help = (
        "Import a reading from a Markdown (.md, with front matter) or plain text (.txt) file. "
        "Runs in one transaction: on any error nothing is written. With --replace, every "
        "group's annotations are moved onto the new text."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The .md or .txt file to import.")
        parser.add_argument("--slug", help="The reading's slug (default: from the title).")
        parser.add_argument("--title", help="The title, overriding the file's front matter.")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Replace the text of an existing reading with this slug.",
        )

    def handle(self, *args, path, slug=None, title=None, replace=False, **options):
        file = Path(path)
        try:
            if not file.is_file():
                raise ReadingImportError("No such file.")
            size = file.stat().st_size
            limit = settings.READING_IMPORT_MAX_BYTES
            if size > limit:
                raise ReadingImportError(too_large(size, limit))
            data = file.read_bytes()
            reading = reading_import_reanchoring(
                data=data,
                filename=file.name,
                slug=slug,
                overrides={"title": title or ""},
                replace=replace,
            )
        except (ReadingImportError, OSError) as error:
            raise CommandError(f"{path}: {error}") from None
        sections = reading.sections.exclude(heading="").count()
        blocks = reading.blocks.count()
        verb = "Replaced" if replace else "Imported"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} “{reading.title}” ({reading.slug}): {sections} sections, {blocks} blocks."
            )
        )
