from django.contrib import admin
from django.urls import include, path

from commonplace import openapi, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # The JSON API described (OpenAPI 3.1): commonplace/openapi.yaml.
    path("api/openapi.yaml", openapi.description, name="openapi"),
    path("readings/", include("readings.urls")),
    path("", include("groups.urls")),
    path("", include("assignments.urls")),
    path("", include("annotations.urls")),
    path("", include("progress.urls")),
    path("", include("meetings.urls")),
    path("", include("meetings.live_urls")),
    path("", include("notifications.urls")),
    path("", include("search.urls")),
    path("", include("exports.urls")),
    path("", include("imports.urls")),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
]
