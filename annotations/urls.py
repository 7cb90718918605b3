from django.urls import path

from annotations import api, prompts, views

app_name = "annotations"
base = "groups/<slug:group_slug>/readings/<slug:reading_slug>/"
urlpatterns = [
    path(base, views.reading, name="reading"),
    path(base + "revise/", views.reading_revise, name="reading_revise"),
    path(base + "layer.json", views.layer, name="layer"),
    path(base + "version", views.version, name="version"),
    path(base + "excerpts.json", views.excerpts, name="excerpts"),
    path("ns/commonplace.jsonld", api.vocabulary, name="vocabulary"),
    path(base + "annotations/", api.container, name="container"),
    path(base + "annotations/<int:annotation_id>", api.annotation, name="annotation"),
    path(base + "threads/", views.thread_list, name="threads"),
    path(base + "threads/<int:annotation_id>/", views.thread, name="thread"),
    path(base + "threads/<int:annotation_id>/reply/", views.reply, name="reply"),
    path(base + "annotate/<str:block_anchor>/", views.annotate, name="annotate"),
    path(base + "discuss/", views.discuss, name="discuss"),
    path(base + "notes/<int:annotation_id>/edit/", views.edit, name="edit"),
    path(base + "notes/<int:annotation_id>/delete/", views.delete, name="delete"),
    path(base + "notes/<int:annotation_id>/plus-one/", views.plus_one, name="plus_one"),
    path(base + "notes/<int:annotation_id>/answer/", views.answer, name="answer"),
    path(base + "notes/<int:annotation_id>/flag/", views.flag, name="flag"),
    path(base + "notes/<int:annotation_id>/hide/", views.hide, name="hide"),
    path(
        "groups/<slug:group_slug>/assignments/<int:assignment_id>/prompts/new/",
        prompts.prompt_create,
        name="prompt_create",
    ),
]
