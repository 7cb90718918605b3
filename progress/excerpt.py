"""A note shown in a line: its cleaned HTML as plain words, cut at a word."""

from html import unescape

from django.utils.html import strip_tags
from django.utils.text import Truncator

LENGTH = 160  # characters


def excerpt(body_html: str, length: int = LENGTH) -> str:
    """Plain text for a template to escape (never marked safe)."""
    text = " ".join(unescape(strip_tags(body_html or "")).split())
    return Truncator(text).chars(length)
