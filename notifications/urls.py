from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    path("notifications/", views.inbox, name="inbox"),
    path("notifications/unread.json", views.unread_count, name="unread"),
    path("notifications/read/", views.mark_all, name="mark_all"),
    path("notifications/settings/", views.preferences, name="settings"),
    path("notifications/<int:notification_id>/", views.open_notification, name="open"),
    path("notifications/<int:notification_id>/read/", views.mark, name="mark"),
    path("notifications/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("groups/<slug:group_slug>/mute/", views.mute_group, name="mute_group"),
    path(
        "groups/<slug:group_slug>/readings/<slug:reading_slug>/threads/<int:annotation_id>/mute/",
        views.mute_thread,
        name="mute_thread",
    ),
]
