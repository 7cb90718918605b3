"""The search table, and on PostgreSQL what keeps it current: the triggers, the backfill of
the annotations already written, and the GIN index. See search/models.py."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.db import migrations, models, transaction

# The words of an annotation: body and tags (weight A), the quoted passage (B), stemmed as
# English and as plain words. IMMUTABLE: the configurations are named, not the default.
VECTOR_FUNCTION = """
CREATE OR REPLACE FUNCTION search_vector(body text, exact text, tags text)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
    SELECT setweight(to_tsvector('english', coalesce(body, '') || ' ' || coalesce(tags, '')), 'A')
        || setweight(to_tsvector('english', coalesce(exact, '')), 'B')
        || setweight(to_tsvector('simple', coalesce(body, '') || ' ' || coalesce(tags, '')), 'A')
        || setweight(to_tsvector('simple', coalesce(exact, '')), 'B')
$$;
"""

# One annotation's row, made again from what it is now: gone when it is deleted (or was
# never there).
REFRESH_FUNCTION = """
CREATE OR REPLACE FUNCTION search_entry_refresh(target bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_searchentry (annotation_id, group_id, reading_id, vector)
    SELECT a.id, a.group_id, a.reading_id, search_vector(
        a.body, a.exact,
        (SELECT string_agg(t.name, ' ') FROM annotations_tag t WHERE t.annotation_id = a.id)
    )
    FROM annotations_annotation a
    WHERE a.id = target AND a.deleted_at IS NULL
    ON CONFLICT (annotation_id) DO UPDATE SET
        vector = EXCLUDED.vector, group_id = EXCLUDED.group_id, reading_id = EXCLUDED.reading_id;
    IF NOT FOUND THEN
        DELETE FROM search_searchentry WHERE annotation_id = target;
    END IF;
END $$;
"""

TRIGGER_FUNCTIONS = """
CREATE OR REPLACE FUNCTION search_annotation_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_entry_refresh(NEW.id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_annotation_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM search_searchentry WHERE annotation_id = OLD.id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION search_tag_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM search_entry_refresh(NEW.annotation_id);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM search_entry_refresh(OLD.annotation_id);
    ELSE
        PERFORM search_entry_refresh(OLD.annotation_id);
        IF NEW.annotation_id <> OLD.annotation_id THEN
            PERFORM search_entry_refresh(NEW.annotation_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;
"""

# An update that changes none of the columns the row depends on (a +1's count, a re-anchoring
# that keeps the words) does nothing here.
TRIGGERS = """
CREATE TRIGGER search_annotation_insert
    AFTER INSERT ON annotations_annotation
    FOR EACH ROW EXECUTE FUNCTION search_annotation_written();
CREATE TRIGGER search_annotation_update
    AFTER UPDATE OF body, exact, deleted_at, hidden_at, visibility ON annotations_annotation
    FOR EACH ROW
    WHEN (OLD.body IS DISTINCT FROM NEW.body
        OR OLD.exact IS DISTINCT FROM NEW.exact
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at
        OR OLD.hidden_at IS DISTINCT FROM NEW.hidden_at
        OR OLD.visibility IS DISTINCT FROM NEW.visibility)
    EXECUTE FUNCTION search_annotation_written();
CREATE TRIGGER search_annotation_delete
    AFTER DELETE ON annotations_annotation
    FOR EACH ROW EXECUTE FUNCTION search_annotation_deleted();
CREATE TRIGGER search_tag_change
    AFTER INSERT OR DELETE OR UPDATE OF name, annotation_id ON annotations_tag
    FOR EACH ROW EXECUTE FUNCTION search_tag_written();
"""

BACKFILL = """
INSERT INTO search_searchentry (annotation_id, group_id, reading_id, vector)
SELECT a.id, a.group_id, a.reading_id, search_vector(a.body, a.exact, t.names)
FROM annotations_annotation a
LEFT JOIN (
    SELECT annotation_id, string_agg(name, ' ') AS names FROM annotations_tag GROUP BY 1
) t ON t.annotation_id = a.id
WHERE a.deleted_at IS NULL
ON CONFLICT (annotation_id) DO NOTHING;
"""

INDEX = "CREATE INDEX search_entry_group_vector ON search_searchentry USING gin (group_id, vector);"
INDEX_WITHOUT_BTREE_GIN = (
    "CREATE INDEX search_entry_group_vector ON search_searchentry USING gin (vector);"
)

UNDO = """
DROP TRIGGER IF EXISTS search_tag_change ON annotations_tag;
DROP TRIGGER IF EXISTS search_annotation_delete ON annotations_annotation;
DROP TRIGGER IF EXISTS search_annotation_update ON annotations_annotation;
DROP TRIGGER IF EXISTS search_annotation_insert ON annotations_annotation;
DROP FUNCTION IF EXISTS search_tag_written();
DROP FUNCTION IF EXISTS search_annotation_deleted();
DROP FUNCTION IF EXISTS search_annotation_written();
DROP FUNCTION IF EXISTS search_entry_refresh(bigint);
DROP FUNCTION IF EXISTS search_vector(text, text, text);
DROP INDEX IF EXISTS search_entry_group_vector;
"""


def _btree_gin(schema_editor) -> bool:
    """btree_gin (trusted since PostgreSQL 13: a database owner may create it) lets one GIN
    index hold the group and the words. Where it cannot be had, the index holds the words
    alone and the group is checked on each match."""
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    except Exception:  # no such extension, or no right to create it
        return False
    return True


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in (VECTOR_FUNCTION, REFRESH_FUNCTION, TRIGGER_FUNCTIONS, TRIGGERS, BACKFILL):
        schema_editor.execute(sql)
    schema_editor.execute(INDEX if _btree_gin(schema_editor) else INDEX_WITHOUT_BTREE_GIN)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(UNDO)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('annotations', '0004_annotation_prompt_of'),
    ]

    operations = [
        migrations.CreateModel(
            name='SearchEntry',
            fields=[
                ('annotation_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('group_id', models.BigIntegerField()),
                ('reading_id', models.BigIntegerField()),
                ('vector', django.contrib.postgres.search.SearchVectorField()),
            ],
            options={
                'verbose_name_plural': 'search entries',
            },
        ),
        # The index is the model's (so the state knows it), made by `forwards` on PostgreSQL
        # only, after the backfill: SQLite has no GIN.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name='searchentry',
                    index=django.contrib.postgres.indexes.GinIndex(
                        fields=['group_id', 'vector'], name='search_entry_group_vector'
                    ),
                ),
            ],
        ),
        migrations.RunPython(forwards, backwards),
    ]
