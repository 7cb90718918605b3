"""SQL compiled once (commonplace/compiled.py) and what runs through it: the session, the
session's user, API tokens, the access check and the version figures. Each must answer exactly
what the ORM query it replaced answers, on SQLite and on PostgreSQL (where it is also
PREPAREd once per database session)."""

import importlib
from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.db.models import F
from django.db.models.signals import post_save
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.backends import user_by_id
from accounts.models import User
from accounts.tokens import api_token_create, api_token_revoke
from annotations.models import Annotation
from commonplace import compiled
from commonplace.compiled import CompiledInsert, CompiledQuery, CompiledUpdate, columns, instance
from commonplace.sessions import SessionStore
from groups.access import _GROUP_READING_OF, _MEMBERSHIP_OF
from groups.models import GroupReading, Membership, ReadingGroup
from readings.models import Reading

pytestmark = pytest.mark.django_db


# --- the compiled queries answer what the ORM answers ------------------------------------------


def test_access_check_rows_are_the_orm_rows(group, other_group, member, other_member, essay):
    def orm(user, slug):
        return list(
            GroupReading.objects.filter(
                group__slug=slug, reading__slug=essay.slug, group__memberships__user=user
            ).values_list(
                *columns(GroupReading),
                *columns(ReadingGroup, "group__"),
                *columns(Reading, "reading__"),
                *columns(Membership, "group__memberships__"),
            )
        )

    for user in (member, other_member):
        for slug in (group.slug, other_group.slug, "no-such-group"):
            got = _GROUP_READING_OF.rows(user_id=user.pk, slug=slug, reading_slug=essay.slug)
            assert got == orm(user, slug)
    # a member of the group, but not of a reading it has not added
    assert _GROUP_READING_OF.first(user_id=member.pk, slug=group.slug, reading_slug="x") is None
    assert _MEMBERSHIP_OF.first(user_id=other_member.pk, slug=group.slug) is None
    row = _MEMBERSHIP_OF.first(user_id=member.pk, slug=group.slug)
    membership, end = instance(Membership, row)
    found_group, _ = instance(ReadingGroup, row, end)
    assert membership == Membership.objects.get(user=member, group=group)
    assert (found_group.name, found_group.created_at) == (group.name, group.created_at)


def test_values_come_back_converted_as_the_orm_converts_them(member):
    user = user_by_id(member.pk)
    assert user == member
    assert user.date_joined == User.objects.get(pk=member.pk).date_joined
    assert user.date_joined.tzinfo is not None
    assert user.is_active is True and user._state.adding is False
    assert user_by_id(10**9) is None


def test_a_hostile_value_is_a_parameter_never_sql(member, group, essay):
    for slug in ("x' OR '1'='1", 'x"; DROP TABLE groups_membership; --', "%s", "%%", "\\"):
        assert _MEMBERSHIP_OF.first(user_id=member.pk, slug=slug) is None
        assert _GROUP_READING_OF.first(user_id=member.pk, slug=slug, reading_slug=slug) is None
    assert Membership.objects.filter(user=member).exists()


def test_an_update_runs_and_counts_its_rows(group, essay):
    bump = CompiledUpdate(
        lambda group_id: (
            GroupReading.objects.filter(group_id=group_id),
            {"layer_version": F("layer_version") + 1},
        ),
        group_id=int,
    )
    before = GroupReading.objects.get(group=group).layer_version
    assert bump.run(group_id=group.pk) == 1
    assert bump.run(group_id=group.pk) == 1
    assert bump.run(group_id=10**9) == 0
    assert GroupReading.objects.get(group=group).layer_version == before + 2


def _annotation(group, essay, member, **fields):
    values = {
        "group": group, "reading": essay, "author": member, "motivation": "commenting",
        "visibility": "group", "body": "Why *this*?", "body_html": "<p>Why <em>this</em>?</p>",
        "exact": "abc", "prefix": "x", "suffix": "y", "start": 10, "end": 13,
        "extra_selectors": [{"type": "CssSelector", "value": "p"}],
    }  # fmt: skip
    return Annotation(**{**values, **fields})


def test_an_insert_writes_the_row_save_writes(group, essay, member):
    insert = CompiledInsert(Annotation)
    saved = _annotation(group, essay, member)
    saved.save()
    hostile = "x'); DROP TABLE annotations_annotation; --"
    made = insert.run(_annotation(group, essay, member, body=hostile))
    again = insert.run(_annotation(group, essay, member))

    assert made.pk and again.pk == made.pk + 1
    assert made._state.adding is False and made._state.db == "default"
    assert made.created_at is not None  # auto_now_add, as save() stamps it
    stamps = {"id", "created_at", "modified_at", "body"}
    fields = [f.attname for f in Annotation._meta.concrete_fields if f.attname not in stamps]
    rows = Annotation.objects.filter(pk__in=[saved.pk, made.pk]).order_by("pk")
    written, inserted = rows.values(*fields)
    assert inserted == written
    fresh = Annotation.objects.get(pk=made.pk)
    assert fresh.body == hostile and fresh.created_at == made.created_at
    assert fresh.extra_selectors == [{"type": "CssSelector", "value": "p"}]


def test_an_insert_leaves_receivers_and_saved_instances_to_save(group, essay, member):
    heard = []

    def receiver(sender, instance, created, **kwargs):
        heard.append((instance.pk, created))

    insert = CompiledInsert(Annotation)
    post_save.connect(receiver, sender=Annotation)
    try:
        made = insert.run(_annotation(group, essay, member))
    finally:
        post_save.disconnect(receiver, sender=Annotation)
    assert heard == [(made.pk, True)]
    made.body = "Changed."
    insert.run(made)  # saved already: an UPDATE, as save() does
    assert Annotation.objects.get(pk=made.pk).body == "Changed."
    assert Annotation.objects.filter(group=group).count() == 1
    with pytest.raises(TypeError, match="inserts Annotation"):
        insert.run(group)


# --- what a compiled query may not be ----------------------------------------------------------


def test_a_value_that_is_not_one_exact_parameter_is_refused_at_once(member):
    twice = CompiledQuery(
        lambda slug: ReadingGroup.objects.filter(slug=slug, name=slug).values_list("pk"),
        slug=str,
    )
    with pytest.raises(ImproperlyConfigured, match="found 2 times"):
        twice.rows(slug="a")
    transformed = CompiledQuery(  # icontains wraps the value in %...%: not the value given
        lambda name: ReadingGroup.objects.filter(name__icontains=name).values_list("pk"),
        name=str,
    )
    with pytest.raises(ImproperlyConfigured, match="found 0 times"):
        transformed.rows(name="a")
    unused = CompiledQuery(lambda pk: ReadingGroup.objects.values_list("pk"), pk=int)
    with pytest.raises(ImproperlyConfigured, match="found 0 times"):
        unused.rows(pk=1)
    with pytest.raises(ImproperlyConfigured, match="int, str or datetime"):
        CompiledQuery(lambda ids: ReadingGroup.objects.filter(pk__in=ids), ids=list)
    with pytest.raises(TypeError, match="takes"):
        _MEMBERSHIP_OF.rows(user_id=member.pk)


# --- PostgreSQL: prepared once per session -----------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PREPARE is PostgreSQL's"
)


@postgres_only
def test_each_statement_is_prepared_once_per_database_session(member, group, essay):
    query = CompiledQuery(
        lambda pk: User.objects.filter(pk=pk).order_by().values_list("username"), pk=int
    )
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(pk=member.pk) == [(member.username,)]
        assert query.rows(pk=member.pk) == [(member.username,)]
    assert [q["sql"].split("(")[0] for q in captured] == [captured[0]["sql"].split("(")[0]] * 2
    assert captured[0]["sql"].startswith("EXECUTE cp_accounts_user_")  # no PREPARE logged
    assert compiled.readable(captured[0]["sql"]).startswith("SELECT")
    assert compiled.readable("SELECT 2") == "SELECT 2"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'cp_%'")
        prepared = cursor.fetchone()[0]
    query.rows(pk=member.pk)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'cp_%'")
        assert cursor.fetchone()[0] == prepared


@postgres_only
def test_an_insert_is_prepared_once_per_database_session(group, essay, member):
    insert = CompiledInsert(Annotation)
    with CaptureQueriesContext(connection) as captured:
        first = insert.run(_annotation(group, essay, member))
        second = insert.run(_annotation(group, essay, member))
    assert second.pk == first.pk + 1
    assert [q["sql"].split("(")[0] for q in captured] == [captured[0]["sql"].split("(")[0]] * 2
    assert captured[0]["sql"].startswith("EXECUTE cp_annotations_annotation_")
    assert compiled.readable(captured[0]["sql"]).startswith("INSERT INTO")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_new_database_session_prepares_again(make_user):
    someone = make_user("someone")
    query = CompiledQuery(
        lambda pk: User.objects.filter(pk=pk).order_by().values_list("pk"), pk=int
    )
    assert query.rows(pk=someone.pk) == [(someone.pk,)]
    connection.close()  # the next query opens a new session, which knows no statement
    assert query.rows(pk=someone.pk) == [(someone.pk,)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'cp_%'")
        assert cursor.fetchone()[0] == 1


@postgres_only
def test_prepared_statements_can_be_turned_off(settings, member):
    settings.DATABASE_PREPARED_STATEMENTS = False
    query = CompiledQuery(
        lambda pk: User.objects.filter(pk=pk).order_by().values_list("pk"), pk=int
    )
    with CaptureQueriesContext(connection) as captured:
        assert query.rows(pk=member.pk) == [(member.pk,)]
    assert captured[0]["sql"].startswith("SELECT")


def test_the_prepared_form_numbers_the_values_and_writes_the_constants_in():
    def literal(value):
        return f"'{value}'" if isinstance(value, str) else str(value)

    name, prepare, execute = compiled._prepared_form(
        "SELECT 1 WHERE a = %s AND b LIKE '5%%' AND v = %s AND c = %s",
        [7, "private", 9],
        [0, 2],
        "t",
        literal,
    )
    assert name.startswith("cp_t_")
    assert prepare == (
        f"PREPARE {name} AS SELECT 1 WHERE a = $1 AND b LIKE '5%' AND v = 'private' AND c = $2"
    )
    assert execute == f"EXECUTE {name}(%s, %s)"
    bare, _, bare_execute = compiled._prepared_form("SELECT 1", [], [], "t", literal)
    assert bare_execute == f"EXECUTE {bare}"
    with pytest.raises(ImproperlyConfigured):
        compiled._prepared_form("SELECT %s", [1, 2], [0], "t", literal)
    with pytest.raises(ImproperlyConfigured):
        compiled._prepared_form("SELECT %s, %s", [1], [0], "t", literal)


@postgres_only
def test_a_constant_of_the_query_reaches_the_planner(group, essay, member):
    """The generic plan of the reader's own rows knows the 'private' it asks for (written into
    the prepared statement, not a parameter), so the partial index of private and hidden notes
    is open to it; which index wins is the planner's choice for the table's size."""
    from annotations.layer import _OWN_ROWS

    _OWN_ROWS["member"].rows(group_id=group.pk, user_id=member.pk, reading_id=essay.pk)
    sql, params, slots, extra, prepared = _OWN_ROWS["member"]._compiled["default"]
    name, prepare, execute, variable = prepared
    assert "'private'" in prepare and len(variable) == 3
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("EXPLAIN " + execute, [group.pk, member.pk, essay.pk])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # the partial index (whose predicate the plan proved), or the constant in a filter
    assert "annotation_own_beyond" in plan or "'private'::text" in plan
    assert "(visibility)::text = $" not in plan


# --- sessions and the session's user ----------------------------------------------------------


def test_a_session_is_read_only_while_it_lasts(member):
    client = Client()
    client.force_login(member)
    key = client.cookies["sessionid"].value
    assert SessionStore(key).load()[SESSION_KEY] == str(member.pk)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    store = SessionStore(key)
    assert store.load() == {}
    assert store.session_key is None  # a new one is made on save, never the expired one
    assert SessionStore("short").load() == {}  # not a key Django would accept
    assert SessionStore("x" * 32).load() == {}


def test_signed_in_pages_still_follow_the_account(member, group, essay):
    client = Client()
    client.force_login(member)
    page = reverse("groups:detail", args=[group.slug])
    assert client.get(page).status_code == 200
    member.set_password("a-new-long-password-2")  # another device changed the password
    member.save()
    assert client.get(page).status_code == 302  # signed out: the session's hash is stale
    client.force_login(member)
    assert client.get(page).status_code == 200
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert client.get(page).status_code == 302


def test_api_tokens_are_read_as_before(client, member, group, essay):
    token, raw = api_token_create(user=member, name="t")
    url = reverse("annotations:container", args=[group.slug, essay.slug])
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}x").status_code == 401
    api_token_revoke(token=token)
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_sessions_naming_the_old_backends_are_moved_to_these(member):
    migration = importlib.import_module("accounts.migrations.0004_sessions_name_new_backends")
    store = SessionStore()
    old = "allauth.account.auth_backends.AuthenticationBackend"
    made = []
    for backend in (old, "django.contrib.auth.backends.ModelBackend", "elsewhere.Backend"):
        session = SessionStore()
        session[SESSION_KEY] = str(member.pk)
        session["_auth_user_backend"] = backend
        session.create()
        made.append(session.session_key)
    from django.apps import apps

    migration.move(apps, None)
    backends = [
        store.decode(Session.objects.get(pk=key).session_data)["_auth_user_backend"] for key in made
    ]
    assert backends == [
        "accounts.backends.AuthenticationBackend",
        "accounts.backends.ModelBackend",
        "elsewhere.Backend",
    ]
    migration.move_back(apps, None)
    assert store.decode(Session.objects.get(pk=made[0]).session_data)["_auth_user_backend"] == old


def test_a_readers_own_rows_and_tags_are_what_own_q_finds(group, essay, member, facilitator):
    from annotations import services
    from annotations.access import own_q
    from annotations.layer import _OWN_ROWS, _OWN_TAGS, _rows, layer_roots

    text = essay.canonical_text()
    private = services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="mine",
        tags=["Zeta", "alpha"],
        visibility="private",
        start=10,
        end=30,
        exact=text[10:30],
    )
    shared = services.annotation_create(
        group=group,
        reading=essay,
        author=member,
        motivation="commenting",
        body="ours",
        tags=["beta"],
        start=40,
        end=60,
        exact=text[40:60],
    )
    Annotation.objects.filter(pk=shared.pk).update(hidden_at=timezone.now())
    for person in (member, facilitator):
        viewer = Membership.objects.select_related("group").get(group=group, user=person)
        klass = "facilitator" if viewer.is_facilitator else "member"
        orm = _rows(Annotation.objects.filter(own_q(viewer), reading_id=essay.pk))
        found = _OWN_ROWS[klass].rows(group_id=group.pk, user_id=person.pk, reading_id=essay.pk)
        assert found == orm
    viewer = Membership.objects.select_related("group").get(group=group, user=member)
    assert [
        pk
        for pk, *_ in _OWN_ROWS["member"].rows(
            group_id=group.pk, user_id=member.pk, reading_id=essay.pk
        )
    ] == [private.pk, shared.pk]  # private and hidden: both theirs alone now
    tags = _OWN_TAGS["member"].rows(group_id=group.pk, user_id=member.pk, reading_id=essay.pk)
    assert sorted(tags) == sorted(
        [(private.pk, "Zeta"), (private.pk, "alpha"), (shared.pk, "beta")]
    )
    roots = {root.pk: root for root in layer_roots(viewer, GroupReading.objects.get(group=group))}
    assert sorted(roots[private.pk].tag_names, key=str.lower) == ["alpha", "Zeta"]
    assert roots[shared.pk].tag_names == ["beta"]
    other = Membership.objects.select_related("group").get(group=group, user=facilitator)
    theirs = {root.pk for root in layer_roots(other, GroupReading.objects.get(group=group))}
    assert private.pk not in theirs  # a private note reaches nobody else
