"""Schema migrations with Alembic: upgrade, adopting pre-Alembic databases, model checks.

The migration environment is data_sources/migrations/ (env.py, versions/), shipped with
the package. Alembic is configured here, in code, from the engine gridwatch already has:
no alembic.ini. Only the CLI (`gridwatch db init / upgrade`) and the commands that already
created the schema (demo, seed, simulate, regions import, through
`CaseDatabase.init_schema`) migrate; importing gridwatch or starting a web worker never
does (two gunicorn workers would race).

A database made by `metadata.create_all` before gridwatch used Alembic has the tables but
no alembic_version table. `upgrade` compares such a database with the first revision and
stamps it when they match; otherwise it raises SchemaMismatch naming every difference.

Models (data_sources/schema.py) and migrations must agree: `differences(conn,
schema.metadata)` on a database at head must be empty (tests/test_migrations.py). Alembic's
own comparison does not look at partial-index predicates or PostgreSQL's INCLUDE columns;
the comparator registered below does, so autogenerate and the check both see them.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import comparators, compare_metadata
from alembic.config import Config
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
# The revision that creates the schema the old `create_all` made.
BASELINE = "0001"
# Serialises concurrent upgrades of one PostgreSQL database (`db init` in two shells, a
# seed next to a demo): pg_advisory_xact_lock key, "gridwatc" in ASCII.
_PG_LOCK_KEY = 0x6772696477617463


class SchemaMismatch(RuntimeError):
    """The database has gridwatch's tables, no alembic_version, and not the schema of the
    first revision: gridwatch does not know what it is and leaves it alone."""

    def __init__(self, message: str, differences: list[str]):
        super().__init__(message)
        self.differences = differences


@dataclass(frozen=True)
class UpgradeResult:
    before: str | None      # revision before (None: empty database)
    after: str              # revision now
    adopted: bool = False   # a pre-Alembic database was verified and stamped

    def describe(self) -> str:
        lines = []
        if self.adopted:
            lines.append(f"adopted a database made before migrations: its tables match "
                         f"revision {BASELINE}, stamped it {BASELINE} (no data changed)")
        if self.before == self.after:
            lines.append(f"schema already at revision {self.after} (head)")
        else:
            lines.append(f"schema upgraded from {self.before or 'empty'} to revision "
                         f"{self.after} (head)")
        return "; ".join(lines)


# -- configuration -------------------------------------------------------------------
def alembic_config(connection: sa.Connection | None = None, *, url: str | None = None,
                   engine: sa.Engine | None = None) -> Config:
    """An Alembic Config for gridwatch's migrations, without an ini file.

    env.py runs on `connection` when given (inside the caller's transaction), else on
    `engine`, else on an engine made from `url`.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Sequential file names: versions/0002_add_aggregates.py.
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes.update(connection=connection, engine=engine, url=url)
    return cfg


def context_options() -> dict:
    """Options of `context.configure` (env.py) and of the model check, in one place."""
    return {
        "compare_type": True,
        "compare_server_default": True,
        "render_item": render_item,
        # Batch operations run everywhere: ALTER in place on PostgreSQL, copy-and-move
        # on SQLite, which cannot alter most things in place. Migrations stay portable.
        "render_as_batch": True,
        "gridwatch_index_options": True,
    }


@lru_cache(maxsize=1)
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    heads = script_directory().get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations have {len(heads)} heads {heads}: two revisions "
                           "name the same parent; re-point one of them")
    return heads[0]


def current_revision(connection: sa.Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def baseline_schema() -> sa.MetaData:
    """The schema of the first revision, as the revision itself defines it."""
    return script_directory().get_revision(BASELINE).module.schema()


# -- upgrade ---------------------------------------------------------------------------
def upgrade(engine: sa.Engine, revision: str = "head") -> UpgradeResult:
    """Bring the database to `revision` (head): create it when empty, adopt a pre-Alembic
    one when it matches the first revision, else raise SchemaMismatch. One transaction on
    PostgreSQL (DDL is transactional there), behind an advisory lock."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        before = current_revision(conn)
        adopted = False
        if before is None and _baseline_tables_present(conn):
            _verify_baseline(conn)
            command.stamp(alembic_config(conn), BASELINE)
            log.info("adopted the pre-migration database: it matches revision %s; "
                     "stamped it %s", BASELINE, BASELINE)
            before, adopted = BASELINE, True
        command.upgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    return UpgradeResult(before=before, after=after, adopted=adopted)


def _baseline_tables_present(conn: sa.Connection) -> list[str]:
    present = set(sa.inspect(conn).get_table_names())
    return sorted(present & set(baseline_schema().tables))


def _verify_baseline(conn: sa.Connection) -> None:
    expected = baseline_schema()
    found = differences(conn, expected, only=set(expected.tables))
    if found:
        url = conn.engine.url.render_as_string(hide_password=True)
        raise SchemaMismatch(
            f"{url} has gridwatch tables but no alembic_version table, and they are not "
            f"the schema of revision {BASELINE} (what `gridwatch db init` created before "
            "migrations), so gridwatch will not stamp or change it. Differences:\n  "
            + "\n  ".join(found) + "\nBring the tables to that schema by hand (or restore "
            "them), then run `gridwatch db upgrade` again.", found)


# -- comparing a database with metadata ----------------------------------------------------
def differences(conn: sa.Connection, metadata: sa.MetaData,
                only: set[str] | None = None) -> list[str]:
    """Every way the database differs from `metadata`, in words; [] when they agree.

    Alembic's autogenerate comparison (tables, columns, types, nullability, server
    defaults, indexes with their partial predicates and INCLUDE columns) plus primary
    keys, which autogenerate does not compare. `only`: compare these tables and ignore
    the database's others.
    """
    reasons: dict[str, str] = {}
    diffs = _flatten(raw_differences(conn, metadata, only=only, index_reasons=reasons))
    added = {d[1].name: d[1] for d in diffs if d[0] == "add_index"}
    removed = {d[1].name: d[1] for d in diffs if d[0] == "remove_index"}
    out = []
    for d in diffs:
        name = d[1].name if d[0] in ("add_index", "remove_index") else None
        if name in added and name in removed:  # a changed index: dropped and created
            if d[0] == "add_index":
                reason = (reasons.get(name)
                          or f"found {_index_text(removed[name])}, "
                             f"expected {_index_text(added[name])}")
                out.append(f"index {name} on {added[name].table.name}: differs: {reason}")
            continue
        out.append(_describe(d))
    inspector = sa.inspect(conn)
    existing = set(inspector.get_table_names())
    for table in metadata.sorted_tables:
        if table.name not in existing or (only is not None and table.name not in only):
            continue
        want = [c.name for c in table.primary_key.columns]
        got = inspector.get_pk_constraint(table.name).get("constrained_columns") or []
        if want != got:
            out.append(f"table {table.name}: primary key is ({', '.join(got)}), "
                       f"expected ({', '.join(want)})")
    return out


def raw_differences(conn: sa.Connection, metadata: sa.MetaData,
                    only: set[str] | None = None,
                    index_reasons: dict[str, str] | None = None) -> list:
    """alembic.autogenerate.compare_metadata with gridwatch's options. `index_reasons`
    receives, per index found changed by its predicate or INCLUDE, what differs."""
    opts = context_options()
    if index_reasons is not None:
        opts["gridwatch_index_reasons"] = index_reasons
    if only is not None:
        def include_name(name, type_, parent_names):
            return type_ != "table" or name in only
        opts["include_name"] = include_name
    ctx = MigrationContext.configure(conn, opts=opts)
    return compare_metadata(ctx, metadata)


def _flatten(diffs: list) -> list:
    out = []
    for d in diffs:
        if isinstance(d, list):  # column changes come grouped per column
            out.extend(d)
        else:
            out.append(d)
    return out


def _index_text(ix: sa.Index) -> str:
    cols = ", ".join(c.name if hasattr(c, "name") else str(c) for c in ix.expressions)
    return f"{'unique ' if ix.unique else ''}({cols})"


def _describe(diff: tuple) -> str:
    kind = diff[0]
    if kind == "add_table":
        return f"table {diff[1].name}: missing"
    if kind == "remove_table":
        return f"table {diff[1].name}: not in the expected schema"
    if kind == "add_column":
        return f"column {diff[2]}.{diff[3].name}: missing"
    if kind == "remove_column":
        return f"column {diff[2]}.{diff[3].name}: not in the expected schema"
    if kind == "add_index":
        return f"index {diff[1].name} on {diff[1].table.name} {_index_text(diff[1])}: missing"
    if kind == "remove_index":
        return (f"index {diff[1].name} on {diff[1].table.name} {_index_text(diff[1])}: "
                "not in the expected schema")
    if kind in ("modify_type", "modify_nullable", "modify_default"):
        _, _schema, table, column, _info, found, wanted = diff
        attr = {"modify_type": "type", "modify_nullable": "nullable",
                "modify_default": "server default"}[kind]
        return f"column {table}.{column}: {attr} is {found!r}, expected {wanted!r}"
    return repr(diff)


# -- partial predicates and INCLUDE columns ------------------------------------------------
@comparators.dispatch_for("table")
def _compare_index_options(autogen_context, modify_table_ops, schema, table_name,
                           conn_table, metadata_table):
    """Indexes whose columns match but whose WHERE or INCLUDE differ: drop and create.

    Alembic compares an index's columns and uniqueness only. Without this, changing an
    open-cases predicate (or its INCLUDE list) in schema.py would go unnoticed by
    autogenerate and by the models-versus-migrations check.
    """
    if not autogen_context.opts.get("gridwatch_index_options"):
        return None
    if conn_table is None or metadata_table is None:
        return None
    dialect = autogen_context.dialect
    handled = {o.index_name for o in modify_table_ops.ops
               if isinstance(o, (ops.CreateIndexOp, ops.DropIndexOp))}
    reflected = {ix["name"]: ix for ix in
                 autogen_context.inspector.get_indexes(table_name, schema=schema)}
    for index in sorted(metadata_table.indexes, key=lambda i: i.name or ""):
        found = reflected.get(index.name)
        if found is None or index.name in handled:
            continue
        if [c.name for c in index.columns] != found["column_names"]:
            continue  # Alembic's own comparison reports this one
        reason = index_option_difference(index, found, dialect)
        if reason:
            reasons = autogen_context.opts.get("gridwatch_index_reasons")
            if reasons is not None:
                reasons[index.name] = reason
            modify_table_ops.ops.append(
                ops.DropIndexOp.from_index(_reflected_index(found, conn_table)))
            modify_table_ops.ops.append(ops.CreateIndexOp.from_index(index))
    return None


def index_option_difference(index: sa.Index, reflected: dict, dialect) -> str | None:
    """How a model index's partial predicate or INCLUDE columns differ from the
    database's, for this dialect; None when they agree."""
    name = dialect.name
    options = reflected.get("dialect_options", {})
    reasons = []
    if name in ("postgresql", "sqlite"):
        wanted = index.kwargs.get(f"{name}_where")
        got = options.get(f"{name}_where")
        w = normalize_predicate(_compile(wanted, dialect))
        g = normalize_predicate(_compile(got, dialect))
        if w != g:
            reasons.append(f"WHERE is {g or '(none)'}, expected {w or '(none)'}")
    if name == "postgresql":
        wanted = [getattr(c, "name", c) for c in index.kwargs.get("postgresql_include") or []]
        got = list(options.get("postgresql_include") or [])
        if wanted != got:
            reasons.append(f"INCLUDE is ({', '.join(got)}), expected ({', '.join(wanted)})")
    return "; ".join(reasons) or None


def _reflected_index(found: dict, conn_table: sa.Table) -> sa.Index:
    """The database's index on a throwaway copy of its table (for the drop op)."""
    table = sa.Table(conn_table.name, sa.MetaData(),
                     *(sa.Column(c.name, c.type) for c in conn_table.columns),
                     schema=conn_table.schema)
    kwargs = {}
    for key, value in (found.get("dialect_options") or {}).items():
        if key.endswith("_where") and isinstance(value, str):
            value = sa.text(value)
        if value not in (None, []):
            kwargs[key] = value
    return sa.Index(found["name"], *(table.c[c] for c in found["column_names"]),
                    unique=bool(found.get("unique")), **kwargs)


def _compile(expr, dialect) -> str:
    if expr is None:
        return ""
    if isinstance(expr, str):
        return expr
    return str(expr.compile(dialect=dialect,
                            compile_kwargs={"literal_binds": True, "include_table": False}))


_LITERAL = re.compile(r"('(?:[^']|'')*')")
# A PostgreSQL cast as it deparses one: ::text, ::character varying, ::text[], ::numeric(10,2)
_CAST = re.compile(r"::\s*(?:\"[^\"]+\"|\w+)(?:\s+(?:varying|precision))?"
                   r"(?:\s+with(?:out)?\s+time\s+zone)?(?:\s*\(\s*\d+(?:\s*,\s*\d+)?\s*\))?"
                   r"(?:\[\])*", re.I)
_KEYWORDS = re.compile(r"\b(in|any|array|and|or|not|is|null|like|between)\b", re.I)


def normalize_predicate(sql: str) -> str:
    """A partial index's WHERE in one spelling, so that what PostgreSQL gives back
    (`((state)::text = ANY ((ARRAY['A'::character varying, 'B'])::text[]))`) equals what
    SQLAlchemy wrote (`state IN ('A', 'B')`). It only drops casts, quotes around names,
    parentheses around a single term or the whole predicate, and spacing, and spells
    `= ANY (ARRAY[...])` as `IN (...)`; string literals are never changed, and any other
    difference, including grouping, stays a difference."""
    if not sql:
        return ""
    parts = _LITERAL.split(sql)
    for i in range(0, len(parts), 2):  # outside string literals
        p = _CAST.sub("", parts[i]).replace('"', "")
        p = _KEYWORDS.sub(lambda m: m.group(1).upper(), p)
        parts[i] = re.sub(r"\s+", " ", p)
    s = "".join(parts).strip()
    term = r"(?:[\w.]+|'(?:[^']|'')*'|ARRAY\s*\[[^\]]*\])"
    while True:
        before = s
        s = re.sub(r"\(\s*(" + term + r")\s*\)", r"\1", s)
        s = re.sub(r"=\s*ANY\s*\(?\s*ARRAY\s*\[([^\]]*)\]\s*\)?", r"IN (\1)", s)
        s = _strip_outer_parens(s)
        if s == before:
            break
    parts = _LITERAL.split(s)
    for i in range(0, len(parts), 2):
        parts[i] = re.sub(r"\s*([(),=<>])\s*", r"\1", parts[i])
    return "".join(parts)


def _strip_outer_parens(s: str) -> str:
    """`(a AND b)` -> `a AND b`; `(a) AND (b)` stays."""
    if not (s.startswith("(") and s.endswith(")")):
        return s
    depth, in_literal = 0, False
    for i, ch in enumerate(s):
        if ch == "'":
            in_literal = not in_literal  # '' inside a literal toggles twice
        elif not in_literal:
            depth += (ch == "(") - (ch == ")")
            if depth == 0 and i < len(s) - 1:
                return s
    return s[1:-1].strip()


# -- rendering (autogenerate) ------------------------------------------------------------
def render_item(type_, obj, autogen_context):
    """Render a TypeDecorator (UTCDateTime) as the plain type it stands for, so that
    revisions never import gridwatch code that may change after them."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        impl = obj.impl_instance
        if getattr(sa, type(impl).__name__, None) is type(impl):  # a generic sa type
            return f"sa.{impl!r}"
    return False


# -- new revisions (developers) -----------------------------------------------------------
def new_revision(engine: sa.Engine, message: str, autogenerate: bool = True) -> list[str]:
    """Write versions/NNNN_<message>.py: the next number, autogenerated from the
    difference between `engine`'s database (which must be at head) and schema.metadata.
    Returns the paths written."""
    script_directory.cache_clear()
    revs = [r.revision for r in script_directory().walk_revisions()]
    numbers = [int(r) for r in revs if r.isdigit()]
    rev_id = f"{max(numbers, default=0) + 1:04d}"
    with engine.begin() as conn:
        cfg = alembic_config(conn)
        scripts = command.revision(cfg, message=message, autogenerate=autogenerate,
                                   rev_id=rev_id)
    script_directory.cache_clear()
    if not isinstance(scripts, list):
        scripts = [scripts]
    return [s.path for s in scripts if s is not None]
