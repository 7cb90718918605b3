import zoneinfo

from django.conf import settings
from django.middleware.gzip import GZipMiddleware
from django.utils import timezone
from django.utils.cache import patch_vary_headers


class ContentSecurityPolicyMiddleware:
    """Send the strict Content-Security-Policy from settings on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class UserTimeZoneMiddleware:
    """Show times in the signed-in person's own time zone (User.time_zone); UTC otherwise.

    Template `date`/`time` filters and form datetimes follow the activated zone. Goes after
    AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        zone = _zone(user.time_zone) if user.is_authenticated else None
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class CompressionMiddleware(GZipMiddleware):
    """Django's GZipMiddleware (with its BREACH mitigation), saying `Vary: Accept-Encoding` on
    every response it might have compressed, short ones and HEAD answers included, so caches
    keep the compressed and the plain versions apart and HEAD's headers match GET's."""

    def process_response(self, request, response):
        if not response.has_header("Content-Encoding"):
            patch_vary_headers(response, ("Accept-Encoding",))
        return super().process_response(request, response)
