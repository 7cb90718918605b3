"""Meeting mode on a group reading (meetings/live.py): start, spotlight, end, and its state."""

from django.urls import path

from meetings import live

app_name = "live"
base = "groups/<slug:group_slug>/readings/<slug:reading_slug>/"
urlpatterns = [
    path(base + "live.json", live.state, name="state"),
    path(base + "live/start/", live.start, name="start"),
    path(base + "live/end/", live.end, name="end"),
    path(base + "live/spotlight/", live.spotlight, name="spotlight"),
]
