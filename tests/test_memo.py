"""commonplace/memo.py: a process's copies of versioned cache values."""

from django.core.cache import cache

from commonplace.memo import VersionedMemo


def test_it_keeps_the_most_recently_used_values_up_to_its_size():
    memo = VersionedMemo(size=2)
    memo.put("a", 1)
    memo.put("b", 2)
    assert memo.get("a") == 1  # now the most recent
    memo.put("c", 3)
    assert (memo.get("a"), memo.get("b"), memo.get("c")) == (1, None, 3)


def test_it_reads_through_the_shared_cache_and_keeps_what_it_read():
    memo = VersionedMemo(size=4)
    assert memo.cached("layer:1") is None  # neither has it: nothing is kept
    cache.set("layer:1", [1, 2])
    assert memo.cached("layer:1") == [1, 2]
    cache.delete("layer:1")
    assert memo.cached("layer:1") == [1, 2]  # a key's value never changes: the copy stands
    memo.keep("layer:2", "made")
    assert cache.get("layer:2") == "made" and memo.get("layer:2") == "made"


def test_a_new_cache_setting_empties_every_memo(settings):
    memo = VersionedMemo(size=4)
    memo.put("article:1", "old")
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert memo.get("article:1") is None
