from django.urls import path

from readings import views

app_name = "readings"
urlpatterns = [
    path("", views.library, name="library"),
    path("<slug:slug>.txt", views.plain_text, name="text"),
    path("<slug:slug>/", views.detail, name="detail"),
]
