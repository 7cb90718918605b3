"""The OpenAPI 3.1 description of the site's JSON API (openapi.yaml, beside this module),
served as it is in the repository at /api/openapi.yaml for clients and tools to read.

tests/test_openapi.py keeps the document true to the URLconf and to real responses, and
fuzzes a live server with it (schemathesis)."""

from functools import cache
from pathlib import Path

from django.http import HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

DOCUMENT = Path(__file__).resolve().parent / "openapi.yaml"
CONTENT_TYPE = "application/yaml; charset=utf-8"  # RFC 9512


@cache
def document() -> bytes:
    return DOCUMENT.read_bytes()


@csrf_exempt  # it only reads (require_safe): any other method gets 405, not a CSRF 403
@require_safe
def description(request):
    """The description: public, the same for everyone, and changed only by a deploy."""
    response = HttpResponse(document(), content_type=CONTENT_TYPE)
    patch_cache_control(response, public=True, max_age=60 * 60)
    response["Access-Control-Allow-Origin"] = "*"
    return response
