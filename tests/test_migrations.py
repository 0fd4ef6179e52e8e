"""Schema migrations (Alembic) on real SQLite and PostgreSQL: upgrade from empty, again
(nothing to do), adopting a database made by the old `create_all`, refusing one that
differs, and the rule that models (data_sources/schema.py) and migrations agree.
"""
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from data_sources import migrate
from data_sources.database import CaseDatabase, make_engine
from data_sources.schema import case, case_event, metadata
from tests.conftest import own_pg_schema
from tests.test_database import case_rows

LEGACY_SQL = Path(__file__).with_name("legacy_schema")


def legacy_create_all(engine: sa.Engine) -> None:
    """What `gridwatch db init` did before migrations: the old create_all, statement by
    statement as it ran on this dialect, and its schema_version row."""
    text = (LEGACY_SQL / f"{engine.dialect.name}.sql").read_text()
    body = "\n".join(line for line in text.splitlines() if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in body.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        conn.exec_driver_sql("INSERT INTO gw_meta (key, value) VALUES ('schema_version', '1')")


def present_columns(engine: sa.Engine) -> dict[str, list[str]]:
    """The columns each gridwatch table has in the database (an older revision has fewer
    than the models)."""
    inspector = sa.inspect(engine)
    return {t.name: [c["name"] for c in inspector.get_columns(t.name)]
            for t in metadata.sorted_tables if inspector.has_table(t.name)}


def load_rows(db: CaseDatabase) -> None:
    """The test cases, written with only the columns the database has (a database of an
    older revision, e.g. one made by the old create_all, lacks the newer ones)."""
    with db.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO region (code, parent_code, level, name, population) VALUES "
            "('320000', NULL, 0, '江苏省', 84748016), ('320100', '320000', 1, '南京市', 9314685)"))
    have = present_columns(db.engine)
    cases, events = case_rows()
    with db.engine.begin() as conn:
        for table, rows in ((case, cases), (case_event, events)):
            conn.execute(table.insert(), [{k: v for k, v in r.items() if k in have[table.name]}
                                          for r in rows])


def snapshot(engine: sa.Engine, columns: dict[str, list[str]] | None = None) -> dict:
    """Every row of every gridwatch table (of `columns`, by default those the database
    has), for "nothing was lost"."""
    columns = columns or present_columns(engine)
    out = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name not in columns:   # a table of a later revision
                continue
            key = [c for c in table.primary_key.columns]
            cols = [table.c[name] for name in columns[table.name]]
            out[table.name] = [tuple(r) for r in
                               conn.execute(sa.select(*cols).order_by(*key))]
    return out


def tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def ddl_fingerprint(engine: sa.Engine) -> list:
    """The schema as the database itself describes it, without alembic_version."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'alembic%' AND tbl_name NOT LIKE 'alembic%' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY type, name")
            return [(t, n, tb, re.sub(r"\s+", " ", sql or "")) for t, n, tb, sql in rows]
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        columns = conn.exec_driver_sql(
            "SELECT table_name, ordinal_position, column_name, data_type, "
            "character_maximum_length, numeric_precision, datetime_precision, is_nullable, "
            "column_default, is_identity FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name <> 'alembic_version' "
            "ORDER BY 1, 2").all()
        indexes = conn.exec_driver_sql(
            "SELECT tablename, indexname, replace(indexdef, %(s)s, '') FROM pg_indexes "
            "WHERE schemaname = current_schema() AND tablename <> 'alembic_version' "
            "ORDER BY 1, 2", {"s": f"{schema}."}).all()
        constraints = conn.exec_driver_sql(
            "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
            "AND conrelid::regclass::text <> 'alembic_version' ORDER BY 1, 2").all()
        sequences = conn.exec_driver_sql(
            "SELECT sequence_name, data_type, start_value, increment FROM "
            "information_schema.sequences WHERE sequence_schema = current_schema() "
            "ORDER BY 1").all()
        return [columns, indexes, constraints, sequences]


@pytest.fixture
def second_url(database_url, tmp_path):
    """Another empty database of the same kind (its own file or schema)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
    else:
        with own_pg_schema() as url:
            yield url


@pytest.fixture
def engine(database_url):
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


# -- the revisions -----------------------------------------------------------------------
def test_revisions_form_one_line_from_the_baseline():
    script = migrate.script_directory()
    assert script.get_heads() == [migrate.head_revision()]
    assert script.get_bases() == [migrate.BASELINE]


def test_upgrade_from_empty_reaches_head_with_every_table(engine):
    result = migrate.upgrade(engine)
    assert (result.before, result.after, result.adopted) == (None, migrate.head_revision(), False)
    assert {t.name for t in metadata.sorted_tables} | {"alembic_version"} <= tables(engine)
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()


def test_upgrade_again_changes_nothing(engine):
    migrate.upgrade(engine)
    db = CaseDatabase(engine.url.render_as_string(hide_password=False))
    load_rows(db)
    before_rows, before_ddl = snapshot(engine), ddl_fingerprint(engine)
    again = db.init_schema()
    assert (again.before, again.after, again.adopted) == (migrate.head_revision(),) * 2 + (False,)
    assert "already at revision" in again.describe()
    assert snapshot(engine) == before_rows and ddl_fingerprint(engine) == before_ddl
    db.close()


def test_the_first_revision_is_exactly_the_old_create_all(engine, second_url):
    legacy_create_all(engine)
    migrated = make_engine(second_url)
    try:
        with migrated.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), migrate.BASELINE)
        assert ddl_fingerprint(migrated) == ddl_fingerprint(engine)
    finally:
        migrated.dispose()


# -- models and migrations agree -------------------------------------------------------------
def test_models_and_migrations_agree(engine):
    """After `upgrade head`, autogenerate finds nothing to do: a change to schema.py needs a
    revision (`gridwatch db revision`), and a revision must match schema.py."""
    migrate.upgrade(engine)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts=migrate.context_options())
        assert compare_metadata(ctx, metadata) == []
        assert migrate.differences(conn, metadata) == []


def _changed(edit) -> sa.MetaData:
    copy = sa.MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    edit(copy.tables)
    return copy


def _replace_index(tables, name, **options):
    table = tables["gw_case"]
    index = next(ix for ix in table.indexes if ix.name == name)
    table.indexes.discard(index)
    kwargs = dict(index.kwargs, unique=index.unique)
    kwargs.update(options)
    sa.Index(name, *index.expressions, **kwargs)


def _retype(tables, table, column, type_):
    tables[table].c[column].type = type_


FEWER_OPEN = sa.text("state IN ('REPORTED', 'REGISTERED')")
CHANGES = {
    # what changes in the models: (dialects that can see it, words the check must use)
    "open-case predicate": (
        lambda t: _replace_index(t, "ix_case_city_open", postgresql_where=FEWER_OPEN,
                                 sqlite_where=FEWER_OPEN),
        {"sqlite", "postgresql"}, "ix_case_city_open on gw_case: differs: WHERE"),
    "predicate dropped": (
        lambda t: _replace_index(t, "ix_case_county_open", postgresql_where=None,
                                 sqlite_where=None),
        {"sqlite", "postgresql"}, "ix_case_county_open on gw_case: differs: WHERE"),
    "INCLUDE columns": (
        lambda t: _replace_index(t, "ix_case_city_open", postgresql_include=["county_code"]),
        {"postgresql"}, "ix_case_city_open on gw_case: differs: INCLUDE"),
    "index made unique": (
        lambda t: _replace_index(t, "ix_case_reported", unique=True),
        {"sqlite", "postgresql"}, "ix_case_reported on gw_case: differs"),
    "new index": (
        lambda t: sa.Index("ix_case_rating", t["gw_case"].c.rating),
        {"sqlite", "postgresql"}, "index ix_case_rating on gw_case (rating): missing"),
    "longer column": (
        lambda t: _retype(t, "gw_case", "case_no", sa.String(40)),
        {"sqlite", "postgresql"}, "column gw_case.case_no: type"),
    "time zone dropped": (
        lambda t: _retype(t, "gw_case", "deadline", sa.DateTime()),
        {"postgresql"}, "column gw_case.deadline: type"),
    "NOT NULL": (
        lambda t: setattr(t["gw_case"].c.rating, "nullable", False),
        {"sqlite", "postgresql"}, "column gw_case.rating: nullable"),
    "new table": (
        lambda t: sa.Table("gw_aggregate", t["gw_case"].metadata,
                           sa.Column("day", sa.Date, primary_key=True)),
        {"sqlite", "postgresql"}, "table gw_aggregate: missing"),
}


def test_the_check_sees_each_kind_of_difference(engine):
    """The comparison does not hide a real difference: each change to the models is found
    on the databases where it changes the DDL (SQLite has no INCLUDE and stores every
    time as the same DATETIME)."""
    migrate.upgrade(engine)
    dialect = engine.dialect.name
    with engine.connect() as conn:
        for name, (edit, visible_on, words) in CHANGES.items():
            found = migrate.differences(conn, _changed(edit))
            if dialect in visible_on:
                assert any(words in line for line in found), (name, found)
                assert len(found) == 1, (name, found)
            else:
                assert found == [], (name, found)


def test_predicates_compare_in_one_spelling():
    pg = ("((state)::text = ANY ((ARRAY['REPORTED'::character varying, "
          "'REGISTERED'::character varying])::text[]))")
    same = migrate.normalize_predicate
    assert same(pg) == same("state IN ('REPORTED', 'REGISTERED')")
    assert same(pg) != same("state IN ('REPORTED')")
    assert same(pg) != same("state IN ('reported', 'REGISTERED')")  # literals are data
    assert same("(a = 1 AND b = 2) OR c = 3") != same("a = 1 AND (b = 2 OR c = 3)")
    assert same("(n > 0)") == same("n > 0") and same("") == ""


def test_a_new_revision_renders_plain_types_in_batch_mode(engine):
    """What `gridwatch db revision` writes for a new UTCDateTime column: the plain type
    (never gridwatch's class) inside batch_alter_table (portable to SQLite)."""
    from data_sources.schema import UTCDateTime
    migrate.upgrade(engine)
    changed = _changed(lambda t: t["gw_case"].append_column(sa.Column("escalated_at",
                                                                      UTCDateTime)))
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts=migrate.context_options())
        script = produce_migrations(ctx, changed)
    code = render_python_code(script.upgrade_ops, render_item=migrate.render_item,
                              render_as_batch=True)
    assert "batch_alter_table('gw_case'" in code
    assert "sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True)" in code
    assert "UTCDateTime" not in code and "data_sources" not in code


# -- databases from before migrations ----------------------------------------------------------
def test_old_create_all_database_is_adopted_and_keeps_its_rows(engine):
    legacy_create_all(engine)
    db = CaseDatabase(engine.url.render_as_string(hide_password=False))
    load_rows(db)
    legacy_columns = present_columns(engine)
    rows = snapshot(engine)
    assert "alembic_version" not in tables(engine)

    result = db.init_schema()
    assert result.adopted and result.before == migrate.BASELINE
    assert result.after == migrate.head_revision()
    assert "adopted a database made before migrations" in result.describe()
    assert snapshot(engine, legacy_columns) == rows
    assert db.meta_get("schema_version") == "1"  # left as it was
    with engine.connect() as conn:
        assert migrate.current_revision(conn) == migrate.head_revision()
        assert migrate.differences(conn, metadata) == []
    assert not db.init_schema().adopted  # the second time it is an ordinary database
    db.close()


def _legacy_with(engine, drop_index: str, recreate: str) -> None:
    legacy_create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP INDEX {drop_index}")
        conn.exec_driver_sql(recreate)


def test_a_database_that_differs_is_refused_and_left_alone(engine):
    # A hand-made change: the open-case index without its predicate, one index missing.
    _legacy_with(engine, "ix_case_city_open",
                 "CREATE INDEX ix_case_city_open ON gw_case (city_code, deadline)")
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_case_grid_reported")
    before_ddl = ddl_fingerprint(engine)
    db = CaseDatabase(engine.url.render_as_string(hide_password=False))
    with pytest.raises(migrate.SchemaMismatch) as err:
        db.init_schema()
    message = str(err.value)
    assert "no alembic_version table" in message
    assert "index ix_case_city_open on gw_case: differs: WHERE is (none)" in message
    assert "index ix_case_grid_reported on gw_case (grid_code, reported_at): missing" in message
    assert len(err.value.differences) == 2
    assert "alembic_version" not in tables(engine) and ddl_fingerprint(engine) == before_ddl
    db.close()


def test_db_upgrade_command_adopts_and_db_init_refuses_clearly(database_url, tmp_path):
    from dashboard.app.cli import main
    engine = make_engine(database_url)
    legacy_create_all(engine)
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    out = runner.invoke(main, args + ["db", "upgrade"])
    assert out.exit_code == 0, out.output
    assert "adopted a database made before migrations" in out.output
    assert f"revision {migrate.head_revision()} (head)" in out.output

    with engine.begin() as conn:  # a table half-created by hand: gridwatch refuses
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.exec_driver_sql("DROP TABLE gw_meta")
    out = runner.invoke(main, args + ["db", "init"])
    assert out.exit_code == 1
    assert "table gw_meta: missing" in out.output and "Traceback" not in out.output
    out = runner.invoke(main, args + ["db", "current"])
    assert "revision none" in out.output
    engine.dispose()


def test_creating_the_app_does_not_migrate(tmp_path):
    """Web workers never migrate (two gunicorn workers would race): only the CLI does."""
    from dashboard import create_app
    from dashboard.app.settings import Settings
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    create_app(Settings(data_dir=tmp_path, database_url=url, redis_url="redis://127.0.0.1:1/0"))
    engine = sa.create_engine(url)
    assert tables(engine) == set()
    engine.dispose()


def test_card_issue_times_are_backfilled_from_the_supervision_events(engine):
    # A database at 0001 whose carded cases have their SUPERVISED events (detail JSON as
    # the simulator writes it): 0002 sets yellow_card_at / red_card_at as the projection
    # of those events does for new rows.
    from data_sources.database import json_detail
    from tests.test_database import CARD_CASES
    migrate.upgrade(engine, "0001")
    cases, events = case_rows(CARD_CASES)
    details = {(spec[0], seq): json_detail(fields) for spec in CARD_CASES
               for seq, (_, _, fields) in enumerate([("REPORTED", 0, {})] + spec[4], 1)}
    have = present_columns(engine)
    with engine.begin() as conn:
        conn.execute(case.insert(), [{k: v for k, v in r.items() if k in have["gw_case"]}
                                     for r in cases])
        conn.execute(case_event.insert(), [{**e, "detail": details[(e["case_id"], e["seq"])]}
                                           for e in events])
    migrate.upgrade(engine)
    with engine.connect() as conn:
        got = {r.id: (r.yellow_card_at, r.red_card_at) for r in conn.execute(
            sa.select(case.c.id, case.c.yellow_card_at, case.c.red_card_at))}
    assert got == {r["id"]: (r["yellow_card_at"], r["red_card_at"]) for r in cases}
    assert sum(t is not None for pair in got.values() for t in pair) == 3


def test_serve_refuses_a_database_behind_the_code(database_url, tmp_path):
    """`gridwatch serve` on a schema older than the code says to upgrade, instead of
    serving pages that fail on a missing column."""
    from dashboard.app.cli import main
    engine = make_engine(database_url)
    migrate.upgrade(engine, "0001")
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url]
    out = CliRunner().invoke(main, args + ["serve", "--port", "1"])
    assert out.exit_code == 1
    assert "revision 0001" in out.output and "gridwatch db upgrade" in out.output
    assert "Traceback" not in out.output
    engine.dispose()


def test_personal_columns_arrive_empty_and_the_views_cope(engine):
    # A database at 0006 with cases: 0008 adds the six personal columns, nullable, and
    # writes no row; those cases show "—" on /case and nothing in the lists.
    from dashboard.domain.personal import PERSONAL_COLUMNS
    from dashboard.views.case import personal_view
    from dashboard.views.region import case_rows as list_rows
    from data_sources.case_list import LIST_COLUMNS
    migrate.upgrade(engine, "0006")
    assert not set(PERSONAL_COLUMNS) & set(present_columns(engine)["gw_case"])
    cases, events = case_rows()
    with engine.begin() as conn:
        conn.execute(case.insert(), [{k: v for k, v in r.items() if k not in PERSONAL_COLUMNS}
                                     for r in cases])
        conn.execute(case_event.insert(), events)
    before = snapshot(engine, {"gw_case": [c.name for c in case.columns
                                           if c.name not in PERSONAL_COLUMNS]})
    migrate.upgrade(engine)
    inspector = sa.inspect(engine)
    added = {c["name"]: c["nullable"] for c in inspector.get_columns("gw_case")
             if c["name"] in PERSONAL_COLUMNS}
    assert added == dict.fromkeys(PERSONAL_COLUMNS, True)
    assert snapshot(engine, {"gw_case": [c.name for c in case.columns
                                         if c.name not in PERSONAL_COLUMNS]}) == before
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(case))]
        listed = [dict(r._mapping) for r in conn.execute(sa.select(*LIST_COLUMNS))]
    assert rows and all(r[k] is None for r in rows for k in PERSONAL_COLUMNS)
    view = personal_view(rows[0], "zh")
    assert not view.present and {value for _, value in view.rows} == {"—"}

    class Tree:
        def get(self, _code):
            return None
    shown = list_rows(listed, Tree(), "Asia/Shanghai", "zh")
    assert {(r["reporter_name"], r["reporter_phone"], r["address"]) for r in shown} == {("", "", "")}


def test_timestamps_the_old_bulk_insert_shortened_sort_as_their_instant(engine):
    # A database at 0013 whose times on the whole second were stored as the old bulk
    # insert did on SQLite ('… 09:00:00', no microseconds): after 0014 they sort as the
    # instant a query binds, so a time lies on one side of a window edge at itself.
    from data_sources.case_queries import _in
    from tests.test_database import DAY
    migrate.upgrade(engine, "0013")
    cases, events = case_rows()
    with engine.begin() as conn:
        conn.execute(case.insert(), cases)
        conn.execute(case_event.insert(), events)
        if engine.dialect.name == "sqlite":
            for table, column in (("gw_case", "reported_at"), ("gw_case", "deadline"),
                                  ("case_event", "at")):
                conn.exec_driver_sql(f"UPDATE {table} SET {column} = substr({column}, 1, 19) "
                                     f"WHERE {column} LIKE '%.000000'")
    before = snapshot(engine)
    on_the_hour, hour = DAY + timedelta(hours=9), timedelta(hours=1)

    def reported_in(start, end):
        with engine.connect() as conn:
            return conn.execute(sa.select(case.c.id).where(
                _in(case.c.reported_at, start, end))).scalars().all()

    migrate.upgrade(engine)
    assert 2 in reported_in(on_the_hour, on_the_hour + hour)
    assert 2 not in reported_in(on_the_hour - hour, on_the_hour)
    after = snapshot(engine)                # (later migrations may add tables)
    assert {table: after[table] for table in before} == before   # the same instants
