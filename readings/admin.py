from django.contrib import admin

from readings.models import Block, Reading, Section


class SectionInline(admin.TabularInline):
    model = Section
    fields = ("position", "heading", "level", "anchor")
    extra = 0


@admin.register(Reading)
class ReadingAdmin(admin.ModelAdmin):
    list_display = ("title", "author", "publication", "slug", "created_at")
    search_fields = ("title", "author", "slug")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("added_by", "created_at", "updated_at")
    inlines = [SectionInline]


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("reading", "position", "kind", "anchor", "__str__")
    list_filter = ("kind", "reading")
    search_fields = ("text",)
    # A block's words change only through a revision of its reading (import_reading --replace,
    # or "Revise the text"), which re-anchors the annotations and dates the change.
    readonly_fields = ("text", "html")
    list_select_related = ("reading",)
