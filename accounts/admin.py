from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.deletion import account_delete
from accounts.models import User
from commonplace.deletion import deletion_summary


@admin.register(User)
class CommonplaceUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("Commonplace", {"fields": ("display_name", "time_zone")}))
    list_display = ("username", "email", "display_name", "time_zone", "is_staff")
    search_fields = ("username", "email", "display_name")

    # Deleting an account here does what deleting it from the account page does
    # (accounts.deletion.account_delete: private notes go, groups left with nobody go), and is
    # refused, as there, while the account is a group's only facilitator with others in it:
    # the admin's confirmation page lists that as what stands in the way.
    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        for user in objs:
            protected = [*protected, *(b.text for b in deletion_summary("account", user).blockers)]
        return deleted, counts, perms_needed, protected

    def delete_model(self, request, obj):
        account_delete(user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            account_delete(user=user)
