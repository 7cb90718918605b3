"""What search keeps of each annotation: on PostgreSQL, its words as a stored tsvector.

`SearchEntry` is one row per annotation or reply that is not deleted, written by the
database itself: the triggers made in this app's first migration recompute an annotation's
row after it is inserted or its body, quoted passage, deletion, hiding or visibility change,
and after a tag of it is added or removed, and drop the row when the annotation is deleted.
So no annotation write costs the app an extra query, and nothing in `annotations` knows we
are here.

The vector holds the body and the tags with weight A and the quoted passage with weight B,
each twice: stemmed as English (`to_tsvector('english', ...)`) and as plain words
(`'simple'`, for words English stemming would miss or mangle, and for other scripts).

`annotation_id` is the annotation's id, not a ForeignKey: a key would make every delete of
an annotation look here first (an extra query on a write whose query count is pinned). The
rows are never read alone: a search joins them to `visible_annotations(membership)`, the
permission table, by id (search/query.py).

On SQLite the table exists but stays empty: search there is a plain case-insensitive match.
"""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models


class SearchEntry(models.Model):
    annotation_id = models.BigIntegerField(primary_key=True)
    group_id = models.BigIntegerField()
    reading_id = models.BigIntegerField()
    vector = SearchVectorField()

    class Meta:
        verbose_name_plural = "search entries"
        indexes = [
            # One group's matches straight from the index: (group_id, vector) in one GIN,
            # through the btree_gin extension. Made on PostgreSQL only, by the migration
            # (SQLite has no GIN), which falls back to GIN on the vector alone where
            # btree_gin cannot be installed.
            GinIndex(fields=["group_id", "vector"], name="search_entry_group_vector"),
            # A group's entries newest first: a common word's newest matches without reading
            # them all (search/query.py, RANKED).
            models.Index(fields=["group_id", "-annotation_id"], name="search_entry_group_newest"),
        ]

    def __str__(self) -> str:
        return f"Search entry of #{self.annotation_id}"
