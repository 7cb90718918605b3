from django.urls import path

from exports import views

app_name = "exports"
base = "groups/<slug:group_slug>/readings/<slug:reading_slug>/"
urlpatterns = [
    path(base + "export/notes.md", views.markdown, name="markdown"),
    path(base + "export/annotations.csv", views.csv, name="csv"),
    path(base + "export/annotations.jsonld", views.jsonld, name="jsonld"),
    path(base + "packet/", views.packet, name="packet"),
    path("accounts/notes/", views.my_notes_page, name="my_notes"),
    path("accounts/notes/my-notes.md", views.my_notes_markdown, name="my_notes_markdown"),
    path("accounts/notes/my-notes.csv", views.my_notes_csv_download, name="my_notes_csv"),
    path("accounts/notes/my-notes.jsonld", views.my_notes_jsonld_download, name="my_notes_jsonld"),
]
