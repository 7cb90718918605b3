from django.contrib import admin

from notifications.models import Mute, Notification, Preferences


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["pk", "recipient", "group", "kind", "event", "created_at", "read_at", "email"]
    list_filter = ["kind", "email"]
    raw_id_fields = ["recipient", "group", "actor", "annotation", "assignment", "meeting"]
    search_fields = ["recipient__username", "recipient__email"]


@admin.register(Preferences)
class PreferencesAdmin(admin.ModelAdmin):
    list_display = ["user", "digest_hour", "last_digest_at"]
    raw_id_fields = ["user"]


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):
    list_display = ["user", "group", "thread", "created_at"]
    raw_id_fields = ["user", "group", "thread"]
