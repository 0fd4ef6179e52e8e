"""The audit trail (issue 13): the hash chain's rules, and the store on real SQLite and
PostgreSQL: rows altered or deleted with SQL are found and named, concurrent writers keep
one chain, pruning keeps it verifiable and never touches the last 180 days, and
`gridwatch audit verify` says all of it with its exit code."""
from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard.app.cli import main
from dashboard.domain import audit
from dashboard.domain.audit import Action, Actor, AuditEntry, AuditRow, Result
from data_sources.audit_store import AuditStore, RetentionError
from data_sources.schema import audit_anchor, audit_log

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)
LEADER = Actor.account(7, "leader1", "10.1.2.3")


def entry(i: int, actor: Actor = LEADER) -> AuditEntry:
    return AuditEntry(actor, Action.CASE_VIEWED, Result.OK, target=f"case:{i}",
                      scope="320100", detail={"i": i, "page": "/case", "名": "张三"})


# -- the chain's rules, without a database --------------------------------------------------
def _chain(n: int) -> list[AuditRow]:
    rows, prev = [], audit.GENESIS
    for i in range(1, n + 1):
        fields = dict(at=NOW + timedelta(seconds=i), actor="leader1", actor_id=7,
                      address="10.1.2.3", action="export", target=f"t{i}", scope="320100",
                      result="ok", detail=audit.detail_text({"i": i}), prev_hash=prev)
        prev = audit.row_hash(**fields)
        rows.append(AuditRow(id=i, hash=prev, **fields))
    return rows


def test_the_canonical_form_is_fixed_and_covers_every_field():
    rows = _chain(1)
    row = rows[0]
    assert audit.canonical(row.at, row.actor, row.actor_id, row.address, row.action,
                           row.target, row.scope, row.result, row.detail, row.prev_hash) == (
        '["gw-audit-1","2026-12-05T08:00:01.000000Z","leader1",7,"10.1.2.3","export","t1",'
        f'"320100","ok","{{\\"i\\":1}}","{audit.GENESIS}"]').encode()
    # The same instant in another zone is the same row.
    shanghai = timezone(timedelta(hours=8))
    assert audit.hash_of(replace(row, at=row.at.astimezone(shanghai))) == row.hash
    for name, other in (("at", row.at + timedelta(microseconds=1)), ("actor", "leader2"),
                        ("actor_id", 8), ("address", None), ("action", "unmask"),
                        ("target", "t2"), ("scope", "320000"), ("result", "denied"),
                        ("detail", '{"i": 1}'), ("prev_hash", "f" * 64)):
        assert audit.hash_of(replace(row, **{name: other})) != row.hash, name
    assert audit.detail_text({"b": 1, "a": "张"}) == '{"a":"张","b":1}'


def test_verify_names_the_first_broken_row_and_why():
    rows = _chain(5)
    assert audit.verify(rows).intact and audit.verify(rows).rows == 5
    assert audit.verify(iter(rows)).head == rows[-1].hash     # any iterable, once
    changed = rows[:2] + [replace(rows[2], target="other")] + rows[3:]
    verdict = audit.verify(changed)
    assert (verdict.broken_id, verdict.rows) == (3, 3) and "changed" in verdict.reason
    gap = audit.verify(rows[:2] + rows[3:])
    assert gap.broken_id == 4 and "ids jump from 2 to 4" in gap.reason
    assert "deleted" in gap.reason
    assert audit.verify(rows[2:]).broken_id == 3                           # no anchor
    assert audit.verify(rows[2:], rows[1].hash, after_id=2).intact         # from an anchor
    assert audit.verify([rows[0], rows[2], rows[1]]).broken_id == 3        # reordered
    assert "out of order" in audit.verify(rows[:2], after_id=5).reason     # below the anchor
    assert audit.verify([]).intact and audit.verify([]).head == audit.GENESIS
    assert "chain broken at row 3" in verdict.describe()
    assert audit.verify(rows).describe().startswith("5 rows, chain intact (ids 1-5)")


def test_every_action_has_a_chinese_name():
    assert all(a.zh for a in Action) and Action.LOGIN_FAILED.zh == "登录失败"
    assert Actor.cli("root").name == "cli:root" and Actor.wall("w1", None).name == "wall:w1"


# -- the store, on SQLite and PostgreSQL -----------------------------------------------------------
@pytest.fixture
def engine(migrated_engine):
    return migrated_engine


def _sql(engine, statement: str, **params) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(statement), params)


def test_fifty_rows_append_read_and_verify(engine):
    store = AuditStore(engine)
    appended = [store.append(entry(i)) for i in range(50)]
    assert [r.id for r in appended] == sorted(r.id for r in appended)
    assert appended[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(appended, appended[1:]))
    verdict = store.verify(batch=7)             # pages of 7: the streaming path
    assert verdict.intact and verdict.rows == 50 and verdict.head == appended[-1].hash
    assert (verdict.first_id, verdict.last_id) == (appended[0].id, appended[-1].id)

    newest = store.page(limit=20)
    assert [r.id for r in newest] == [r.id for r in reversed(appended)][:20]
    assert newest[0] == appended[-1]            # read back exactly as hashed
    assert newest[0].detail_data == {"i": 49, "page": "/case", "名": "张三"}
    older = store.page(before_id=newest[-1].id, limit=20)
    assert [r.id for r in older] == [r.id for r in reversed(appended)][20:40]
    assert store.page(target="case:3") == [appended[3]]
    assert store.page(actor="cli:root") == []
    assert store.count() == 50


@pytest.mark.parametrize("column, value", [
    ("target", "case:999"), ("actor", "someone"), ("result", "denied"),
    ("detail", '{"i": 20, "page": "/case", "名": "张三"}'),    # same data, other spelling
    ("hash", "0" * 64), ("prev_hash", "1" * 64),
])
def test_a_row_altered_with_sql_is_named(engine, column, value):
    store = AuditStore(engine)
    rows = [store.append(entry(i)) for i in range(50)]
    victim = rows[20].id
    _sql(engine, f"UPDATE gw_audit SET {column} = :v WHERE id = :id", v=value, id=victim)
    verdict = store.verify(batch=16)
    assert not verdict.intact
    assert verdict.broken_id == victim, verdict.describe()
    assert verdict.rows == 21


def test_a_row_altered_and_rehashed_is_found_at_the_next_row(engine):
    store = AuditStore(engine)
    rows = [store.append(entry(i)) for i in range(10)]
    forged = replace(rows[4], target="case:999")
    _sql(engine, "UPDATE gw_audit SET target = :t, hash = :h WHERE id = :id",
         t=forged.target, h=audit.hash_of(forged), id=rows[4].id)
    verdict = store.verify()
    assert verdict.broken_id == rows[5].id and "rewritten" in verdict.reason


def test_a_time_changed_by_one_microsecond_is_found(engine):
    store = AuditStore(engine)
    rows = [store.append(entry(i)) for i in range(5)]
    with engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.id == rows[2].id)
                     .values(at=rows[2].at + timedelta(microseconds=1)))
    assert store.verify().broken_id == rows[2].id


def test_a_deleted_middle_row_is_detected(engine):
    store = AuditStore(engine)
    rows = [store.append(entry(i)) for i in range(50)]
    _sql(engine, "DELETE FROM gw_audit WHERE id = :id", id=rows[25].id)
    verdict = store.verify(batch=10)
    assert verdict.broken_id == rows[26].id
    assert "deleted" in verdict.reason and f"row {rows[24].id}" in verdict.reason


def test_concurrent_appends_keep_one_chain(engine):
    store = AuditStore(engine)
    threads, per_thread, errors = 8, 15, []
    start = threading.Barrier(threads)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                store.append(entry(n * 100 + i, Actor.wall(f"w{n}", "10.9.0.1")))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    verdict = store.verify()
    assert verdict.intact and verdict.rows == threads * per_thread, verdict.describe()
    with engine.connect() as conn:
        prevs = conn.execute(sa.select(audit_log.c.prev_hash)).scalars().all()
    assert len(set(prevs)) == len(prevs)        # no two rows chained from the same one


def test_prune_keeps_180_days_and_the_chain(engine):
    clock = [NOW - timedelta(days=400)]
    store = AuditStore(engine, clock=lambda: clock[0])
    old = []
    for i in range(30):                          # one a week for 30 weeks, then recent ones
        old.append(store.append(entry(i)))
        clock[0] += timedelta(days=7)
    clock[0] = NOW - timedelta(days=10)
    recent = [store.append(entry(100 + i)) for i in range(20)]
    clock[0] = NOW

    with pytest.raises(RetentionError, match="kept 180 days"):
        store.prune(NOW - timedelta(days=179), actor=Actor.cli("root"))
    assert store.count() == 50 and store.anchor() is None      # nothing was touched

    before = NOW - timedelta(days=200)
    pruned = store.prune(before, actor=Actor.cli("root"), batch=4)   # several batches
    gone = [r for r in old if r.at < before]
    assert 0 < len(gone) < len(old)
    assert pruned.rows == len(gone)
    assert (pruned.anchor.last_id, pruned.anchor.last_hash) == (gone[-1].id, gone[-1].hash)
    assert store.count() == 50 - len(gone) + 1                     # plus the prune's own row
    verdict = store.verify(batch=3)
    assert verdict.intact and verdict.first_id == old[len(gone)].id, verdict.describe()
    record = store.page(limit=1)[0]
    assert (record.actor, record.action) == ("cli:root", "audit_pruned")
    assert record.detail_data["rows"] == len(gone)
    assert record.detail_data["anchor_id"] == gone[-1].id

    # The 180 days are untouched, and appending goes on from the chain's head.
    kept_ids = {r.id for r in store.page(limit=1000)}
    assert all(r.id in kept_ids for r in recent)
    store.append(entry(999))
    assert store.verify().intact

    # Everything past the retention pruned: the chain starts at the anchor.
    assert store.prune(NOW - timedelta(days=180), actor=Actor.cli("root")).rows \
        == len(old) - len(gone)
    assert store.verify().intact
    assert store.anchor().pruned_rows == len(old)

    # A forged anchor, or the first kept row deleted, breaks it.
    first = store.page(limit=1000)[-1]
    with engine.begin() as conn:
        conn.execute(audit_anchor.update().values(last_hash="e" * 64))
    assert store.verify().broken_id == first.id


def test_prune_of_an_empty_trail_still_records_itself(engine):
    store = AuditStore(engine, clock=lambda: NOW)
    result = store.prune(NOW - timedelta(days=365), actor=Actor.cli("root"))
    assert (result.rows, result.anchor) == (0, None)
    assert store.count() == 1 and store.verify().intact


# -- gridwatch audit verify -------------------------------------------------------------------
def test_audit_verify_command_exit_codes(engine, database_url, tmp_path):
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url,
            "audit", "verify"]
    empty = CliRunner().invoke(main, args)
    assert empty.exit_code == 0 and "0 rows, chain intact" in empty.output, empty.output

    store = AuditStore(engine)
    rows = [store.append(entry(i)) for i in range(12)]
    ok = CliRunner().invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert f"12 rows, chain intact (ids {rows[0].id}-{rows[-1].id}); head {rows[-1].hash}" \
        in ok.output

    _sql(engine, "UPDATE gw_audit SET scope = '320000' WHERE id = :id", id=rows[7].id)
    broken = CliRunner().invoke(main, args)
    assert broken.exit_code == 1
    assert f"chain broken at row {rows[7].id}: its fields do not match its hash" \
        in broken.output
    assert "Traceback" not in broken.output


# -- gridwatch audit prune --------------------------------------------------------------------
def test_audit_prune_command_keeps_the_retention(engine, database_url, tmp_path):
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url,
            "audit", "prune"]
    now = datetime.now(timezone.utc)
    clock = [now - timedelta(days=400)]
    store = AuditStore(engine, clock=lambda: clock[0])
    old = [store.append(entry(i)) for i in range(5)]            # 400 days old
    clock[0] = now - timedelta(days=30)
    recent = [store.append(entry(10 + i)) for i in range(3)]    # a month old

    refused = CliRunner().invoke(main, [*args, "--keep-days", "90"])
    assert refused.exit_code == 1 and "kept 180 days" in refused.output, refused.output
    assert AuditStore(engine).count() == 8                       # nothing was touched

    done = CliRunner().invoke(main, args)                        # the default: 180 days
    assert done.exit_code == 0, done.output
    assert "pruned 5 audit rows" in done.output
    assert f"anchored at row {old[-1].id}" in done.output
    store = AuditStore(engine)
    kept = {r.id for r in store.page(limit=100)}
    assert {r.id for r in recent} <= kept and not {r.id for r in old} & kept
    latest = store.page(limit=1)[0]
    assert (latest.action, latest.actor.startswith("cli:")) == ("audit_pruned", True)
    assert store.verify().intact
