from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from commonplace import openapi, views

# Rate limits (commonplace/ratelimits.py). The admin has no log-in form of its own: /admin/login/
# sends a signed-out visitor to the site's log-in, with its failed log-in limits, and answers
# 403 to a signed-in person who is not staff. allauth answers its own limits with handler429.
admin.site.login = secure_admin_login(admin.site.login)
handler429 = "commonplace.ratelimits.allauth_too_many_requests"
# A database outage that escapes commonplace.outage's middleware is a 503, not a 500.
handler500 = "commonplace.outage.server_error"

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

# Django's refusals of a request it cannot read (a body too large: 413) name the limit, as JSON
# for the API (commonplace/untrusted.py).
handler400 = "commonplace.untrusted.bad_request"
