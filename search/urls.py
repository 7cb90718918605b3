from django.urls import path

from search import views

app_name = "search"
urlpatterns = [
    path("groups/<slug:group_slug>/search/", views.results, name="results"),
]
