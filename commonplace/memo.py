"""A process's own copies of what the shared cache keeps under keys that name a version.

The rendered article (readings/article.py, keyed by the reading's revision) and a class's
layer and summary (annotations/layer.py, keyed by the layer's change version) are the same
for a key forever: a write makes a new key, it never changes what an old one holds. Reading
them from the shared cache (the database's cache table, or Redis) on every page costs a round
trip and an unpickle of up to a few hundred KB, a tenth of the reading page's time, so each
process also keeps the last few it read (`VersionedMemo`), and asks the shared cache only for
a key it does not hold. Nothing here is shared state: every app server holds its own copies
of values that are all correct, and the shared cache stays the one place values are made
once for every server.

Only for values that never change under their key. Memos are emptied when the CACHES setting
changes (each test gets a fresh cache, and must not find a previous test's values).
"""

import threading
import weakref
from collections import OrderedDict

from django.core.cache import cache
from django.core.signals import setting_changed

_MISSING = object()
_ALL: "weakref.WeakSet[VersionedMemo]" = weakref.WeakSet()


class VersionedMemo:
    """The `size` most recently used values, by key; safe across threads."""

    def __init__(self, size: int):
        self.size = size
        self._values: OrderedDict[str, object] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.add(self)

    def get(self, key: str, default=None):
        with self._lock:
            value = self._values.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._values.move_to_end(key)
            return value

    def put(self, key: str, value) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def cached(self, key: str):
        """The value under `key`: this process's copy, else the shared cache's (then kept
        here too); None when neither has it."""
        value = self.get(key)
        if value is None:
            value = cache.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def keep(self, key: str, value) -> None:
        """Made here: into the shared cache for every server, and this process's copy."""
        cache.set(key, value)
        self.put(key, value)

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


def clear_all() -> None:
    """Empty every memo (with cache.clear(), for a test that counts a cold page's queries)."""
    for memo in list(_ALL):
        memo.clear()


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":
        clear_all()


setting_changed.connect(_caches_changed, dispatch_uid="commonplace-memo")
