from django.urls import path

from assignments import views

app_name = "assignments"
base = "groups/<slug:group_slug>/assignments/"
urlpatterns = [
    path(base, views.assignment_list, name="list"),
    path(base + "new/", views.assignment_create, name="create"),
    path(base + "<int:assignment_id>/edit/", views.assignment_edit, name="edit"),
    path(base + "<int:assignment_id>/delete/", views.assignment_delete, name="delete"),
    path(base + "<int:assignment_id>/move/", views.assignment_move, name="move"),
]
