from django.urls import path

from meetings import views

app_name = "meetings"
base = "groups/<slug:group_slug>/meetings/"
one = base + "<int:meeting_id>/"
item = one + "agenda/<int:item_id>/"
urlpatterns = [
    path(base, views.meeting_list, name="list"),
    path(base + "new/", views.meeting_create, name="create"),
    path(one, views.meeting_detail, name="detail"),
    path(one + "edit/", views.meeting_edit, name="edit"),
    path(one + "cancel/", views.meeting_cancel, name="cancel"),
    path(one + "recap/", views.meeting_recap, name="recap"),
    path(one + "agenda/pin/", views.agenda_pin, name="agenda_pin"),
    path(one + "agenda/add/", views.agenda_add, name="agenda_add"),
    path(item + "move/", views.agenda_move, name="agenda_move"),
    path(item + "remove/", views.agenda_remove, name="agenda_remove"),
    path(item + "discussed/", views.agenda_discussed, name="agenda_discussed"),
    path(
        "groups/<slug:group_slug>/readings/<slug:reading_slug>/threads/<int:annotation_id>/raise/",
        views.raise_thread,
        name="raise",
    ),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/new/", views.calendar_create, name="calendar_create"),
    path("calendar/turn-off/", views.calendar_revoke, name="calendar_revoke"),
    path("calendar/<str:key>.ics", views.calendar_feed, name="calendar_feed"),
]
