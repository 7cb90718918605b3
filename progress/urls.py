from django.urls import path

from progress import views

app_name = "progress"
group = "groups/<slug:group_slug>/"
reading = group + "readings/<slug:reading_slug>/"
urlpatterns = [
    path(group + "since/", views.since, name="since"),
    path(reading + "contents/", views.contents, name="contents"),
    path(reading + "sections/<slug:section_anchor>/read/", views.section_read, name="section_read"),
    path(reading + "participation/", views.participation, name="participation"),
]
