from django.urls import path

from imports import views

app_name = "imports"
base = "groups/<slug:group_slug>/readings/<slug:reading_slug>/import/"
urlpatterns = [
    path(base, views.start, name="start"),
    path(base + "confirm/", views.confirm, name="confirm"),
]
