from django.contrib import admin

from groups.models import (
    EmailInvitation,
    GroupReading,
    InviteLink,
    Membership,
    ReadingGroup,
    Removal,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    fields = ("user", "role", "joined_at", "joined_via")
    readonly_fields = ("joined_at", "joined_via")
    raw_id_fields = ("user",)
    extra = 0


class GroupReadingInline(admin.TabularInline):
    model = GroupReading
    fields = ("reading", "added_by", "added_at")
    readonly_fields = ("added_at",)
    raw_id_fields = ("reading", "added_by")
    extra = 0


@admin.register(ReadingGroup)
class ReadingGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "created_by", "created_at", "archived_at")
    list_filter = ("archived_at",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at",)
    raw_id_fields = ("created_by",)
    inlines = [MembershipInline, GroupReadingInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "role", "joined_at")
    list_filter = ("role",)
    search_fields = ("user__username", "user__email", "group__name")
    list_select_related = ("user", "group")
    raw_id_fields = ("user", "group", "joined_via")


@admin.register(InviteLink)
class InviteLinkAdmin(admin.ModelAdmin):
    list_display = (
        "group",
        "label",
        "created_at",
        "expires_at",
        "use_count",
        "max_uses",
        "revoked_at",
    )
    list_select_related = ("group",)
    readonly_fields = ("token_hash", "use_count", "created_at")
    raw_id_fields = ("group", "created_by")


@admin.register(EmailInvitation)
class EmailInvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "group", "created_at", "expires_at", "accepted_at", "withdrawn_at")
    list_select_related = ("group",)
    search_fields = ("email", "group__name")
    readonly_fields = ("token_hash", "created_at", "accepted_at", "accepted_by", "declined_at")
    raw_id_fields = ("group", "invited_by")


@admin.register(Removal)
class RemovalAdmin(admin.ModelAdmin):
    list_display = ("user", "group", "removed_by", "removed_at", "lifted_at")
    list_select_related = ("user", "group", "removed_by")
    raw_id_fields = ("group", "user", "removed_by", "lifted_by")
