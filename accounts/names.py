"""The version of everyone's names, for caches that keep what shows names.

People are shown by their names beside what they wrote, and names change rarely: a cache that
keeps a rendered page (the annotation API's kept pages) keeps with it the names version it was
made under, and trusts it only while that is still the version now. Any change to a person's
display name or username, and any removed account, moves the version on. It lives in Django's
cache (shared by every app server); when it is missing (evicted, cleared) a new one is made, so
every kept page is then made again: never stale, only cold.
"""

import secrets

from django.core.cache import cache

NAMES_VERSION_KEY = "accounts:names-version"
NAME_FIELDS = {"display_name", "username"}


def names_version(found: dict | None = None) -> str:
    """The version now: from `found` (a cache.get_many that asked for NAMES_VERSION_KEY),
    else read, else made."""
    version = (found or {}).get(NAMES_VERSION_KEY) or cache.get(NAMES_VERSION_KEY)
    if version is None:
        cache.add(NAMES_VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(NAMES_VERSION_KEY)
    return version


def names_moved_on(**_) -> None:
    cache.set(NAMES_VERSION_KEY, secrets.token_hex(8), timeout=None)


def names_saved(sender, instance, update_fields=None, **_) -> None:
    """post_save of a User: a save that may have changed a name moves the version on."""
    if update_fields is None or NAME_FIELDS & set(update_fields):
        names_moved_on()
