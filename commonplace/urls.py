from django.contrib import admin
from django.urls import include, path

from commonplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
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

# Django's refusals of a request it cannot read (a body too large: 413) name the limit, as JSON
# for the API (commonplace/untrusted.py).
handler400 = "commonplace.untrusted.bad_request"
