"""The case database (SQLAlchemy 2): engine, schema migrations, bulk and live writes.

SQLite is the embedded default; PostgreSQL is production, where bulk loads use COPY.
Reading queries for the dashboard live in case_queries.py.
"""
from __future__ import annotations

import json
import json.encoder as json_encoder
from collections.abc import Callable
from datetime import datetime, timezone
from operator import itemgetter
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from data_sources import aggregates
from data_sources.base import DataSource, register
from data_sources.migrate import upgrade
from data_sources.schema import OPEN_STATES_SQL, case, case_event, meta

CASE_COLUMNS = [c.name for c in case.columns]
EVENT_COLUMNS = [c.name for c in case_event.columns if c.name != "id"]


LIVE_POOL = 2   # connections of the live path's own engine (CaseDatabase.live_engine)


def make_engine(url: str, pool_size: int = 5, max_overflow: int = 10,
                pre_ping: bool = True) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa_event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets the web app read while the simulator writes.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    # A wall must report a dead database within seconds, not hang on TCP's default wait.
    engine = sa.create_engine(url, pool_pre_ping=pre_ping, pool_size=pool_size,
                              max_overflow=max_overflow, pool_timeout=5,
                              connect_args={"connect_timeout": 3})

    @sa_event.listens_for(engine, "connect")
    def _pg_session(dbapi_conn, _record):
        # PostgreSQL's default random_page_cost (4, for spinning disks) makes the planner
        # prefer the time-only indexes and discard 97% of their rows for city and county
        # scopes; at SSD costs it takes the (code, time) ones (bench, 10M cases: county
        # month 1,399 → 305 ms). Set per session so the database's own settings stay as
        # its owner left them.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET random_page_cost = 1.1")
        dbapi_conn.commit()
    return engine


@register("cases")
class CaseDatabase(DataSource):
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._live_engine: sa.Engine | None = None

    @property
    def live_engine(self) -> sa.Engine:
        """A small pool of its own for the live path's reads (the ticker's cases, once a
        batch): under a province's leaders the main pool was often nearly all checked
        out (up to 12 of 15 per worker, each held by a greenlet waiting for its turn),
        and a live event waited for a connection. Not pinged before each read: the ping
        was one of its two round trips, each a wait for a turn of a busy worker's loop.
        A connection that died fails one read instead (the hub then lets the pages read
        their own for a while: views.wall.service PREPARE_PAUSE_SECONDS), and SQLAlchemy
        replaces it for the next. SQLite: the one engine."""
        if self.engine.dialect.name == "sqlite":
            return self.engine
        if self._live_engine is None:
            self._live_engine = make_engine(self.url, pool_size=LIVE_POOL, max_overflow=0,
                                            pre_ping=False)
        return self._live_engine

    @classmethod
    def from_settings(cls, settings) -> "CaseDatabase":
        return cls(settings.resolved_database_url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # -- schema -------------------------------------------------------------
    def init_schema(self):
        """Create the schema, or bring it to the newest migration (safe to run again).

        Alembic migrations (data_sources/migrate.py); adopts a database made by the old
        `create_all` when it matches the first revision. Only the CLI calls this: never
        at import time or when a web worker starts.
        """
        return upgrade(self.engine)

    def schema_ready(self) -> bool:
        return sa.inspect(self.engine).has_table(case.name)

    def meta_get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value).where(meta.c.key == key)).scalar()

    def meta_set(self, key: str, value: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(meta.delete().where(meta.c.key == key))
            conn.execute(meta.insert().values(key=key, value=value))

    # -- health -------------------------------------------------------------
    def case_count(self) -> int:
        with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                # count(*) over tens of millions of rows is seconds; the planner's estimate
                # is enough once the table is big.
                est = conn.execute(sa.text(
                    "select reltuples::bigint from pg_class where oid = to_regclass(:t)"),
                    {"t": case.name}).scalar()
                if est is not None and est > 1_000_000:
                    return int(est)
            return int(conn.execute(sa.select(sa.func.count()).select_from(case)).scalar())

    def health(self) -> dict:
        try:
            if not self.schema_ready():
                return {"status": "down", "error": "schema missing: run `gridwatch db init`"}
            return {"status": "up", "dialect": self.dialect, "cases": self.case_count(),
                    "aggregates": aggregates.health(self.engine, datetime.now(timezone.utc))}
        except Exception as exc:  # noqa: BLE001 - health reports, it does not raise
            return {"status": "down", "dialect": self.dialect, "error": _short(exc)}

    def close(self) -> None:
        self.engine.dispose()
        if self._live_engine is not None:
            self._live_engine.dispose()

    # -- writes (the simulator, playing the upstream system) -----------------
    def max_case_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.max(case.c.id))).scalar() or 0)

    def last_event_at(self) -> datetime | None:
        """Time of the newest event in the history (indexed: cheap at any table size)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(case_event.c.at))).scalar()

    def bulk_insert(self, cases: list[dict], events: list[dict | tuple]) -> None:
        """Insert complete rows; COPY on PostgreSQL, executemany elsewhere.

        An event row is a dict or a tuple in EVENT_COLUMNS order (the backfill's: no dict
        to build per event, and COPY writes it as it is).
        """
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                _copy(conn, case, CASE_COLUMNS, cases)
                _copy(conn, case_event, EVENT_COLUMNS, events)
            else:
                _insert(conn, case, CASE_COLUMNS, cases)
                _insert(conn, case_event, EVENT_COLUMNS, events)

    def apply_changes(self, updates: list[tuple[int, dict]], new_cases: list[dict],
                      events: list[dict]) -> None:
        """One transaction per tick: new cases, updated cases, and their events."""
        with self.engine.begin() as conn:
            if new_cases:
                conn.execute(case.insert(), new_cases)
            for case_id, values in updates:
                conn.execute(case.update().where(case.c.id == case_id).values(**values))
            if events:
                conn.execute(case_event.insert(), events)

    def open_cases(self, limit: int | None = None,
                   closed_since: datetime | None = None) -> list[dict]:
        """Open cases with what the live simulator needs to continue them; with
        `closed_since`, also the cases closed since then and not called back yet (回访)."""
        which = case.c.state.in_(OPEN_STATES_SQL)
        if closed_since is not None:
            which = sa.or_(which, sa.and_(case.c.state == "CLOSED",
                                          case.c.closed_at >= closed_since))
        q = sa.select(case).where(which).order_by(case.c.id)
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def last_event_seq(self, case_ids: list[int]) -> dict[int, int]:
        out: dict[int, int] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(case_ids), 900):
                chunk = case_ids[i:i + 900]
                q = (sa.select(case_event.c.case_id, sa.func.max(case_event.c.seq))
                     .where(case_event.c.case_id.in_(chunk)).group_by(case_event.c.case_id))
                out.update({int(a): int(b) for a, b in conn.execute(q)})
        return out


def _row_values(table: sa.Table, columns: list[str]) -> Callable[[dict | tuple], list]:
    """A row's values in `columns` order: a tuple is already in it; a dict's missing key
    takes its column's scalar default, else NULL (what `table.insert()` would store), on
    both paths below, so that PostgreSQL and SQLite store the same row."""
    defaults = [col.default.arg if col.default is not None and col.default.is_scalar
                else None for col in (table.c[name] for name in columns)]
    pick = itemgetter(*columns)

    def values(row) -> list:
        if type(row) is tuple:
            return list(row)
        try:
            return list(pick(row))
        except KeyError:
            return [row.get(name, default) for name, default in zip(columns, defaults)]
    return values


def _copy(conn, table: sa.Table, columns: list[str], rows: list[dict | tuple]) -> None:
    """COPY dicts or tuples (_row_values).

    In the binary format: the server then parses no text (ten timestamps per case row),
    which was most of its work per row after the indexes; the column types come from the
    catalog, so the values are sent as exactly those types.
    """
    if not rows:
        return
    raw = conn.connection.driver_connection
    cols = ", ".join(columns)
    values = _row_values(table, columns)
    with raw.cursor() as cur:
        cur.execute("SELECT attname, atttypid FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                    (table.name,))
        oids = dict(cur.fetchall())
        with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN (FORMAT binary)") as cp:
            cp.set_types([oids[c] for c in columns])
            write = cp.write_row
            for row in rows:
                write(row if type(row) is tuple else values(row))


def _insert(conn, table: sa.Table, columns: list[str], rows: list[dict | tuple]) -> None:
    """What `conn.execute(table.insert(), rows)` stores, as one executemany of positional
    rows (_row_values) in which only the values whose type binds them (the timestamps:
    UTCDateTime to SQLite's text) are passed through their type's own bind processor.
    The generic executemany bound every value of every row through SQLAlchemy's
    machinery: for the demo's seed (~90k cases, ~500k events on SQLite) that was 2-3× the
    planning itself."""
    if not rows:
        return
    dialect = conn.dialect
    # dialect_impl: a TypeDecorator's own bind_processor is only process_bind_param, and
    # its naive datetime would reach sqlite3's adapter, which drops a zero microsecond
    # ('01:00:00', not '01:00:00.000000'): text that sorts before the same instant
    # bound by a query, so a time on the hour fell on both sides of a window's edge.
    binds = [(i, p) for i, name in enumerate(columns)
             if (p := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
             is not None]
    row_values = _row_values(table, columns)

    def values(row) -> tuple:
        out = row_values(row)
        for i, process in binds:
            out[i] = process(out[i])
        return tuple(out)

    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    conn.exec_driver_sql(sql, [values(row) for row in rows])


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def json_detail(fields: dict) -> str | None:
    """json.dumps(fields, ensure_ascii=False, default=_iso), or None for no fields.

    An event's fields are a few strings, datetimes and a bool: those are written here
    (the same text, as encode_basestring is the encoder's own escaping and an ISO time
    needs none) for ~60% of what the encoder costs for so small a dict; anything else
    goes to the encoder. The backfill writes ~5 details a case.
    """
    if not fields:
        return None
    parts = []
    for key, value in fields.items():
        kind = value.__class__
        if kind is str:
            text = _quote(value)
        elif kind is datetime:
            text = '"' + value.isoformat() + '"'
        elif kind is bool:
            text = "true" if value else "false"
        elif value is None:
            text = "null"
        else:
            return _encode_detail(fields)
        name = _keys.get(key)
        if name is None:
            if key.__class__ is not str:
                return _encode_detail(fields)
            name = _keys[key] = _quote(key) + ": "
        parts.append(name + text)
    return "{" + ", ".join(parts) + "}"


_quote = json_encoder.encode_basestring
_keys: dict[str, str] = {}     # a field's name as json_detail writes it, with its colon


def _iso(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _detail_encoder():
    """json.dumps(fields, ensure_ascii=False, default=_iso), with the encoder built once:
    dumps builds a new one per call for non-default options, which was a fifth of the
    backfill's cost per event. The C encoder when the interpreter has it (same output)."""
    encoder = json.JSONEncoder(ensure_ascii=False, default=_iso)
    if json_encoder.c_make_encoder is None:
        return encoder.encode
    # The arguments JSONEncoder.iterencode passes it for these options.
    make = json_encoder.c_make_encoder(None, _iso, json_encoder.encode_basestring, None,
                                       ": ", ", ", False, False, True)
    return lambda fields: "".join(make(fields, 0))


_encode_detail = _detail_encoder()


def as_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
