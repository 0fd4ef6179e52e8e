"""The audit trail in the database (gw_audit, gw_audit_anchor): append, read, verify, prune.

Appends are serialised, so that each row chains from the one committed before it, however
many workers and commands write at once: on PostgreSQL a transaction-level advisory lock
is taken before the last hash is read; on SQLite the transaction starts as a write
(BEGIN IMMEDIATE), which one connection at a time may hold. An account change appends its
row in the same transaction as the change (`writing` + `append_in`): the change and its
record commit together or not at all.

`verify` streams the rows in id order, a page at a time inside one snapshot: its memory
does not grow with the table. `prune` deletes the oldest rows past the retention, a batch
per transaction, and keeps the hash of the last one deleted as the chain's anchor.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from dashboard.domain import audit
from dashboard.domain.audit import Action, Actor, AuditEntry, AuditRow, Result, Verdict
from data_sources.schema import audit_anchor, audit_log, utcnow

# pg_advisory_xact_lock key, "gw-audit" in ASCII (migrations use "gridwatc").
_PG_LOCK_KEY = 0x67772D6175646974
_COLUMNS = [audit_log.c[name] for name in (
    "id", "at", "actor", "actor_id", "address", "action", "target", "scope", "result",
    "detail", "prev_hash", "hash")]
VERIFY_BATCH = 5_000
PRUNE_BATCH = 10_000


class RetentionError(ValueError):
    """A prune that would delete rows younger than the retention."""


@dataclass(frozen=True)
class Anchor:
    last_id: int
    last_hash: str
    last_at: datetime
    pruned_rows: int
    pruned_at: datetime


@dataclass(frozen=True)
class PruneResult:
    rows: int
    anchor: Anchor | None


class AuditStore:
    def __init__(self, engine: sa.Engine, clock=utcnow):
        self.engine = engine
        self.clock = clock

    # -- writing ---------------------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[sa.Connection]:
        """A transaction in which appends are serialised with every other writer's;
        committed on leaving, rolled back on an exception."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            elif conn.dialect.name == "sqlite":
                # pysqlite would BEGIN (deferred) only at the first INSERT, after the last
                # hash was read: two writers would both chain from the same row.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def append(self, entry: AuditEntry) -> AuditRow:
        with self.writing() as conn:
            return self.append_in(conn, entry)

    def append_in(self, conn: sa.Connection, entry: AuditEntry) -> AuditRow:
        """Append inside a transaction of `writing()`."""
        values = {
            "at": self.clock().astimezone(timezone.utc),   # as the database gives it back
            "actor": _fit(entry.actor.name, "actor"),
            "actor_id": entry.actor.account_id,
            "address": _fit(entry.actor.address, "address"),
            "action": _fit(str(entry.action), "action"),
            "target": _fit(entry.target, "target"),
            "scope": _fit(entry.scope, "scope"),
            "result": _fit(str(entry.result), "result"),
            "detail": audit.detail_text(entry.detail),
            "prev_hash": _last_hash(conn),
        }
        values["hash"] = audit.row_hash(**values)
        row_id = conn.execute(audit_log.insert().values(**values)).inserted_primary_key[0]
        return AuditRow(id=row_id, **values)

    # -- reading ---------------------------------------------------------------------
    def page(self, *, before_id: int | None = None, after_id: int | None = None,
             limit: int = 50, **filters) -> list[AuditRow]:
        """Newest first, `limit` rows with ids below `before_id` (the last id of the page
        before), or the `limit` rows just above `after_id` (the page before that one),
        filtered by `filters` (see `_filtered`). By key, never OFFSET: a page costs the
        same at the trail's millionth row as at its first, and rows appended meanwhile
        never shift a page."""
        limit = max(1, min(limit, 1000))
        q = _filtered(sa.select(*_COLUMNS), **filters)
        if after_id is not None:
            q = q.where(audit_log.c.id > after_id).order_by(audit_log.c.id).limit(limit)
        else:
            if before_id is not None:
                q = q.where(audit_log.c.id < before_id)
            q = q.order_by(audit_log.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = [_row(r) for r in conn.execute(q)]
        return rows[::-1] if after_id is not None else rows

    def rows(self, *, batch: int = VERIFY_BATCH, **filters) -> Iterator[AuditRow]:
        """Every row the filters select, newest first, `batch` at a time by key (an
        export of millions of rows holds one page in memory)."""
        before = None
        while True:
            page = self.page(before_id=before, limit=batch, **filters)
            yield from page
            if len(page) < batch:
                return
            before = page[-1].id

    def newest_id(self) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(audit_log.c.id))).scalar()

    def count_where(self, **filters) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_filtered(
                sa.select(sa.func.count()).select_from(audit_log), **filters)).scalar())

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar())

    def anchor(self) -> Anchor | None:
        with self.engine.connect() as conn:
            return _anchor(conn)

    def verify(self, batch: int = VERIFY_BATCH) -> Verdict:
        """Check the whole chain, from the anchor (or GENESIS) to the newest row."""
        with self.engine.connect() as conn:
            conn = _snapshot(conn)
            anchor = _anchor(conn)
            start = (anchor.last_hash, anchor.last_id) if anchor else (audit.GENESIS, None)
            with closing(_stream(conn, batch)) as rows:
                return audit.verify(rows, *start)

    def verify_after(self, after_id: int | None, prev_hash: str,
                     limit: int = VERIFY_BATCH) -> Verdict:
        """Check at most `limit` rows after `after_id`, the first chaining from
        `prev_hash`: a verification resumed where the last one stopped."""
        q = sa.select(*_COLUMNS).order_by(audit_log.c.id).limit(max(1, limit))
        if after_id is not None:
            q = q.where(audit_log.c.id > after_id)
        with self.engine.connect() as conn:
            rows = [_row(r) for r in conn.execute(q)]
        return audit.verify(rows, prev_hash, after_id)

    def hash_at(self, row_id: int) -> str | None:
        """The stored hash of one row (None: there is no such row)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(audit_log.c.hash)
                                .where(audit_log.c.id == int(row_id))).scalar()

    # -- retention -------------------------------------------------------------------
    def prune(self, before: datetime, *, actor: Actor, now: datetime | None = None,
              batch: int = PRUNE_BATCH) -> PruneResult:
        """Delete the oldest rows written before `before`, never one younger than
        RETENTION_DAYS, and record it in the trail. Oldest first and only a leading run
        of old rows: the chain stays one piece, anchored at the last row deleted."""
        now = now or self.clock()
        limit = now - timedelta(days=audit.RETENTION_DAYS)
        if before > limit:
            raise RetentionError(
                f"audit rows are kept {audit.RETENTION_DAYS} days: nothing written after "
                f"{limit:%Y-%m-%d %H:%M} UTC may be pruned (asked: before {before:%Y-%m-%d})")
        total = 0
        while True:
            # One transaction a batch: appends (logins) wait for a batch, not for it all.
            with self.writing() as conn:
                deleted = _prune_batch(conn, before, batch, self.clock())
            total += deleted
            if deleted < batch:
                break
        with self.writing() as conn:
            anchor = _anchor(conn)
            self.append_in(conn, AuditEntry(
                actor, Action.AUDIT_PRUNED, Result.OK, target="gw_audit",
                detail={"before": audit.timestamp(before), "rows": total,
                        "anchor_id": anchor.last_id if anchor else None,
                        "anchor_hash": anchor.last_hash if anchor else None}))
        return PruneResult(total, anchor)


def _filtered(q, *, actor: str | None = None, action: str | None = None,
              target: str | None = None, result: str | None = None,
              since: datetime | None = None, until: datetime | None = None,
              upto_id: int | None = None):
    """`q` narrowed to the rows matching every filter given: equal actor, action, target
    and result, written in [since, until), id at most `upto_id` (an export pinned to the
    rows that existed when its page was drawn)."""
    for column, value in (("actor", actor), ("action", action), ("target", target),
                          ("result", result)):
        if value is not None:
            q = q.where(audit_log.c[column] == value)
    if since is not None:
        q = q.where(audit_log.c.at >= since)
    if until is not None:
        q = q.where(audit_log.c.at < until)
    if upto_id is not None:
        q = q.where(audit_log.c.id <= upto_id)
    return q


def _prune_batch(conn: sa.Connection, before: datetime, batch: int, now: datetime) -> int:
    oldest = conn.execute(sa.select(audit_log.c.id, audit_log.c.at, audit_log.c.hash)
                          .order_by(audit_log.c.id).limit(batch)).all()
    run = []
    for r in oldest:
        if r.at >= before:      # a younger row ends the run: the chain stays one piece
            break
        run.append(r)
    if not run:
        return 0
    last = run[-1]
    conn.execute(audit_log.delete().where(audit_log.c.id <= last.id))
    previous = _anchor(conn)
    values = {"last_id": last.id, "last_hash": last.hash, "last_at": last.at,
              "pruned_rows": (previous.pruned_rows if previous else 0) + len(run),
              "pruned_at": now}
    if previous:
        conn.execute(audit_anchor.update().where(audit_anchor.c.id == 1).values(**values))
    else:
        conn.execute(audit_anchor.insert().values(id=1, **values))
    return len(run)


def _last_hash(conn: sa.Connection) -> str:
    newest = conn.execute(sa.select(audit_log.c.hash).order_by(audit_log.c.id.desc())
                          .limit(1)).scalar()
    if newest is not None:
        return newest
    anchor = _anchor(conn)
    return anchor.last_hash if anchor else audit.GENESIS


def _anchor(conn: sa.Connection) -> Anchor | None:
    r = conn.execute(sa.select(audit_anchor).where(audit_anchor.c.id == 1)).first()
    if r is None:
        return None
    return Anchor(r.last_id, r.last_hash, r.last_at, r.pruned_rows, r.pruned_at)


def _snapshot(conn: sa.Connection) -> sa.Connection:
    """One consistent view for a whole verify: rows appended or pruned meanwhile do not
    show up half-way."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ",
                                      postgresql_readonly=True)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")       # WAL: the snapshot of the first read
    return conn


def _stream(conn: sa.Connection, batch: int) -> Iterator[AuditRow]:
    """Every row in id order, `batch` at a time by key (no OFFSET: each page is an index
    range, whatever the table's size)."""
    last = None
    while True:
        q = sa.select(*_COLUMNS).order_by(audit_log.c.id).limit(batch)
        if last is not None:
            q = q.where(audit_log.c.id > last)
        page = conn.execute(q).all()
        for r in page:
            yield _row(r)
        if len(page) < batch:
            return
        last = page[-1].id


def _row(r) -> AuditRow:
    return AuditRow(id=r.id, at=r.at, actor=r.actor, actor_id=r.actor_id, address=r.address,
                    action=r.action, target=r.target, scope=r.scope, result=r.result,
                    detail=r.detail, prev_hash=r.prev_hash, hash=r.hash)


def _fit(value: str | None, column: str) -> str | None:
    """Cut to the column's length before hashing (PostgreSQL refuses a longer value, and
    what is hashed must be what is stored)."""
    if value is None:
        return None
    return str(value)[:audit_log.c[column].type.length]
