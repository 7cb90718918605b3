from django.urls import path

from groups import views

app_name = "groups"
urlpatterns = [
    path("groups/new/", views.create, name="create"),
    path("groups/<slug:group_slug>/", views.detail, name="detail"),
    path("groups/<slug:group_slug>/settings/", views.settings_view, name="settings"),
    path("groups/<slug:group_slug>/archive/", views.archive, name="archive"),
    path("groups/<slug:group_slug>/unarchive/", views.unarchive, name="unarchive"),
    path("groups/<slug:group_slug>/delete/", views.delete, name="delete"),
    path("groups/<slug:group_slug>/leave/", views.leave, name="leave"),
    path(
        "groups/<slug:group_slug>/members/<int:user_id>/role/",
        views.member_role,
        name="member_role",
    ),
    path(
        "groups/<slug:group_slug>/members/<int:user_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("groups/<slug:group_slug>/readings/add/", views.reading_add, name="reading_add"),
    path("groups/<slug:group_slug>/readings/import/", views.reading_import, name="reading_import"),
    path(
        "groups/<slug:group_slug>/readings/<slug:reading_slug>/remove/",
        views.reading_remove,
        name="reading_remove",
    ),
    path(
        "groups/<slug:group_slug>/readings/<slug:reading_slug>/delete/",
        views.reading_delete,
        name="reading_delete",
    ),
    path("groups/<slug:group_slug>/invitations/", views.invitations, name="invitations"),
    path("groups/<slug:group_slug>/invitations/links/", views.link_create, name="link_create"),
    path(
        "groups/<slug:group_slug>/invitations/links/<int:link_id>/revoke/",
        views.link_revoke,
        name="link_revoke",
    ),
    path("groups/<slug:group_slug>/invitations/emails/", views.email_invite, name="email_invite"),
    path(
        "groups/<slug:group_slug>/invitations/emails/<int:invitation_id>/withdraw/",
        views.email_withdraw,
        name="email_withdraw",
    ),
    path("join/<str:token>/", views.join, name="join"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
]
