"""Seeding throughput against a raw COPY of the same rows (issue 12, goal 7).

    python -m bench.seed_speed --cases 300000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gw_seedbench

Each run: recreate the bench database (never `postgres`, `root` or `test`), import region
320000 (Jiangsu), seed about N cases with the real seeding path (`seed_history`, no Redis
stream: what `gridwatch seed` does; `--workers` processes, by default as many as it picks
itself, the cores), export both seeded tables
(`COPY ... TO STDOUT`, binary and text), TRUNCATE them, and COPY the very same rows back
into the same indexed tables, once per format, each in one transaction. A CHECKPOINT
precedes every timed load so none of them pays for the previous one's dirty pages.

The ratio is seed cases/s over the faster COPY's cases/s. The machine is shared, so the
load average is printed at the start and the end of each run, and the table ends with the
median of the runs. The database is dropped at the end (`--keep` keeps it).
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import resource
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.seed_and_query import (
    DAILY_AT_SCALE_1,
    REGION,
    TZ,
    WORLD_SEED,
    check_bench_db,
    default_now,
    drop_database,
    expected_cases,
    recreate_database,
)
from bench.wall_load import process_cpu_seconds
from data_sources.database import CASE_COLUMNS, EVENT_COLUMNS, CaseDatabase
from data_sources.regions import RegionTree, import_region
from data_sources.schema import case, case_event
from simulator.seed import seed_history
from simulator.world import World

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gw_seedbench"
TABLES = ((case.name, CASE_COLUMNS, "id"), (case_event.name, EVENT_COLUMNS, "id"))
FORMATS = ("binary", "text")
BLOCK = 1 << 20


def _checkpoint(db: CaseDatabase) -> None:
    conn = db.engine.raw_connection()
    try:
        conn.driver_connection.autocommit = True
        conn.driver_connection.execute("CHECKPOINT")
        conn.driver_connection.autocommit = False
    finally:
        conn.close()


def _backend_cpu(conn, seen: dict[int, float]) -> bool:
    """Record in `seen` the CPU seconds used so far by each server process of the bench
    database but `conn`'s own; False when there were some and none was readable here
    (/proc: only when the server runs on this machine; one may also end between the
    query and /proc)."""
    pids = list(conn.exec_driver_sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()").scalars())
    conn.rollback()
    read = False
    for pid in pids:
        cpu = process_cpu_seconds(pid)
        if cpu is not None:
            seen[pid], read = cpu, True
    return read or not pids


class ServerCpu:
    """The server's CPU seconds for the bench database from now to stop(), sampled every
    0.2 s in a thread: the seed's workers' connections end before it returns, so one
    reading at each end would miss them (each loses at most its last 0.2 s)."""

    def __init__(self, db: CaseDatabase):
        self._engine = sa.create_engine(db.url, poolclass=sa.NullPool)
        self._conn = self._engine.connect()
        self._start: dict[int, float] = {}
        self._seen: dict[int, float] = {}
        self._ok = _backend_cpu(self._conn, self._start)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(0.2):
            self._ok = _backend_cpu(self._conn, self._seen) and self._ok

    def stop(self) -> float | None:
        self._stopped.set()
        self._thread.join()
        self._ok = _backend_cpu(self._conn, self._seen) and self._ok
        self._conn.close()
        self._engine.dispose()
        if not self._ok:
            return None
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._seen.items())


def _counts(db: CaseDatabase) -> tuple[int, int]:
    with db.engine.connect() as conn:
        return (conn.execute(sa.select(sa.func.count()).select_from(case)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(case_event)).scalar_one())


def export(db: CaseDatabase, folder: Path) -> dict[tuple[str, str], Path]:
    """Both tables, in id order, in each format: the rows the seeder wrote."""
    files = {}
    conn = db.engine.raw_connection()
    try:
        with conn.driver_connection.cursor() as cur:
            for table, cols, order in TABLES:
                for fmt in FORMATS:
                    path = folder / f"{table}.{fmt}"
                    sql = (f"COPY (SELECT {', '.join(cols)} FROM {table} ORDER BY {order}) "
                           f"TO STDOUT (FORMAT {fmt})")
                    with path.open("wb") as out, cur.copy(sql) as cp:
                        for block in cp:
                            out.write(block)
                    files[(table, fmt)] = path
        conn.commit()
    finally:
        conn.close()
    return files


def truncate(db: CaseDatabase) -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {case.name}, {case_event.name} RESTART IDENTITY")


def copy_back(db: CaseDatabase, files: dict, fmt: str) -> float:
    """Seconds to COPY the exported rows into the (empty, indexed) tables, one transaction."""
    conn = db.engine.raw_connection()
    try:
        started = time.perf_counter()
        with conn.driver_connection.cursor() as cur:
            for table, cols, _ in TABLES:
                sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT {fmt})"
                with files[(table, fmt)].open("rb") as src, cur.copy(sql) as cp:
                    while block := src.read(BLOCK):
                        cp.write(block)
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def _own_cpu() -> float:
    """CPU seconds of this process and of its finished children (the seed's workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def one_run(url: str, cases: int, seed: int, now: datetime, keep: bool,
            workers: int | None = None) -> dict:
    recreate_database(url)
    db = CaseDatabase(url)
    try:
        db.init_schema()
        with tempfile.TemporaryDirectory() as geo:
            import_region(db.engine, REGION, Path(geo))
        world = World.from_tree(RegionTree.load(db.engine, REGION), REGION, seed=WORLD_SEED)
        days = max(1, math.ceil(cases / DAILY_AT_SCALE_1))
        scale = cases / expected_cases(world, days, now)
        load_start = os.getloadavg()
        _checkpoint(db)
        server, py0 = ServerCpu(db), _own_cpu()
        res = seed_history(db, None, world, days=days, scale=scale, seed=seed, tz=TZ,
                           now=now, progress=False, id_start=1, workers=workers)
        py1, seed_pg = _own_cpu(), server.stop()
        n_cases, n_events = _counts(db)
        assert (n_cases, n_events) == (res.cases, res.events), (n_cases, n_events, res)
        out = {"days": days, "scale": scale, "cases": n_cases, "events": n_events,
               "seed_s": res.seconds, "load_start": load_start,
               "seed_py_cpu_s": py1 - py0,
               "seed_pg_cpu_s": seed_pg, "workers": res.workers}
        with tempfile.TemporaryDirectory(prefix="gw_seedspeed_") as tmp:
            files = export(db, Path(tmp))
            for fmt in FORMATS:
                truncate(db)
                _checkpoint(db)
                server = ServerCpu(db)
                out[f"copy_{fmt}_s"] = copy_back(db, files, fmt)
                out[f"copy_{fmt}_pg_cpu_s"] = server.stop()
                assert _counts(db) == (n_cases, n_events), fmt
        out["load_end"] = os.getloadavg()
        out["copy_s"] = min(out[f"copy_{fmt}_s"] for fmt in FORMATS)
        out["seed_cps"] = n_cases / out["seed_s"]
        out["copy_cps"] = n_cases / out["copy_s"]
        out["ratio"] = out["seed_cps"] / out["copy_cps"]
        return out
    finally:
        db.close()
        if not keep:
            drop_database(url)


def _us(seconds: float | None, run: dict) -> str:
    return "?" if seconds is None else f"{seconds / run['cases'] * 1e6:.0f}"


def _load(t) -> str:
    return "/".join(f"{x:.1f}" for x in t)


def report(runs: list[dict]) -> str:
    head = ("| run | seed processes | cases | events | seed cases/s | COPY binary cases/s "
            "| COPY text cases/s | ratio (seed / faster COPY) | load avg start | load avg end |")
    lines = [head, "|---|--:|--:|--:|--:|--:|--:|--:|---|---|"]
    for i, r in enumerate(runs, 1):
        lines.append(
            f"| {i} | {r['workers']} | {r['cases']:,} | {r['events']:,} | {r['seed_cps']:,.0f} "
            f"| {r['cases'] / r['copy_binary_s']:,.0f} | {r['cases'] / r['copy_text_s']:,.0f} "
            f"| {r['ratio']:.2f} | {_load(r['load_start'])} | {_load(r['load_end'])} |")
    for workers in sorted({r["workers"] for r in runs}):
        group = [r for r in runs if r["workers"] == workers]
        seed_cps = statistics.median(r["seed_cps"] for r in group)
        med_bin = statistics.median(r["cases"] / r["copy_binary_s"] for r in group)
        med_txt = statistics.median(r["cases"] / r["copy_text_s"] for r in group)
        ratio = statistics.median(r["ratio"] for r in group)
        lines.append(f"| median | {workers} | | | {seed_cps:,.0f} | {med_bin:,.0f} "
                     f"| {med_txt:,.0f} | {ratio:.2f} | | |")
    return "\n".join(lines)


def _worker_counts(text: str) -> list[int | None]:
    if text == "auto":
        return [None]
    try:
        counts = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 'auto' or a list like 1,2: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("worker counts are at least 1")
    return counts


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=300_000, help="about this many cases per run")
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", action="store_true", help="keep the database of the last run")
    p.add_argument("--workers", type=_worker_counts, default=[None],
                   help="seed processes: 'auto' (seed_history's choice) or a list such as "
                        "1,2, each run then seeding once with each, alternating")
    p.add_argument("--now", type=datetime.fromisoformat, default=None,
                   help="the seed's clock, an aware ISO time (default: the latest Thursday "
                        "16:00 in Shanghai, as bench.seed_and_query)")
    args = p.parse_args(argv)
    check_bench_db(args.database_url)
    now = args.now or default_now()
    if now.tzinfo is None:
        raise SystemExit("--now needs a UTC offset, e.g. 2026-11-26T16:00+08:00")
    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}; now = "
          f"{now.astimezone(ZoneInfo(TZ)):%Y-%m-%d %H:%M} {TZ}", flush=True)
    runs = []
    plan = [(i, w) for i in range(args.runs) for w in args.workers]
    for k, (i, workers) in enumerate(plan):
        r = one_run(args.database_url, args.cases, args.seed, now,
                    keep=args.keep and k == len(plan) - 1, workers=workers)
        runs.append(r)
        print(f"run {i + 1}, {r['workers']} seed processes: {r['cases']:,} cases, {r['events']:,} events ({r['days']} days at "
              f"scale {r['scale']:.3f}); seed {r['seed_s']:.1f} s, COPY binary "
              f"{r['copy_binary_s']:.1f} s, text {r['copy_text_s']:.1f} s; ratio "
              f"{r['ratio']:.2f}; load {_load(r['load_start'])} -> {_load(r['load_end'])}",
              flush=True)
        print(f"  CPU µs per case: seed Python {_us(r['seed_py_cpu_s'], r)}, seed server "
              f"{_us(r['seed_pg_cpu_s'], r)}; COPY server binary "
              f"{_us(r['copy_binary_pg_cpu_s'], r)}, text {_us(r['copy_text_pg_cpu_s'], r)}",
              flush=True)
    print()
    print(report(runs))


if __name__ == "__main__":
    main()
