"""KPI counts from the daily aggregates against the same counts from the case table, on a
PostgreSQL database seeded by bench.seed_and_query (its clock: the seed's).

    .venv/bin/python -m bench.aggregates --cases 400000 --days 60
    .venv/bin/python -m bench.aggregates --cases 400000 --skip-seed      # reuse the data

Builds the aggregates of every finished day (timed), then times kpi_counts_by by child for
the province, a city and a county over this month, last month, the last 90 days and all
of the history, both ways (median of warm runs, the load average beside each), checks
that both give the same figures, and times a full scan of the case table. Writes the
table into docs/benchmarks.md ("Daily aggregates").
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.seed_and_query import (
    DEFAULT_URL,
    SCOPES,
    TZ,
    check_bench_db,
    machine,
    seed,
    write_section,
)
from dashboard.domain import periods
from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import Window, day_window, local_today
from dashboard.domain.scope import RegionScope
from data_sources import aggregates, case_queries
from data_sources.database import CaseDatabase

BEGIN, END = "<!-- bench.aggregates:begin -->", "<!-- bench.aggregates:end -->"


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Median ms of `repeats` warm runs (after one), and the 1-minute load average."""
    result = fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), os.getloadavg()[0], result


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = dataclasses.asdict(a[k]), dataclasses.asdict(b[k])
        if abs(x.pop("close_hours_sum") - y.pop("close_hours_sum")) > 1e-6 * max(1, abs(y["closed"])):
            return False
        if x != y:
            return False
    return True


def run(url: str, repeats: int) -> dict:
    db = CaseDatabase(url)
    now = datetime.fromisoformat(json.loads(db.meta_get("bench"))["now"])
    eng = db.engine
    today = local_today(now, TZ)
    started = time.perf_counter()
    first, horizon, rows = aggregates.rebuild_all(eng, TZ, today)
    build_s = time.perf_counter() - started
    with eng.connect() as conn:
        cases = conn.execute(sa.select(sa.func.count()).select_from(sa.table("gw_case"))).scalar()
    scan_ms, scan_load, _ = timed(lambda: full_scan(eng), 3)
    stored = (first, horizon)
    windows = {
        "this month": periods.this_month(now, TZ),
        "last month": periods.last_month(now, TZ),
        "90 days": Window(day_window(today - timedelta(days=89), TZ).start, now),
        "all history": Window(day_window(first, TZ).start, now),
    }
    out = []
    for kind, code in SCOPES:
        scope = RegionScope(code, {"province": Level.PROVINCE, "city": Level.CITY,
                                   "county": Level.COUNTY}[kind])
        for name, window in windows.items():
            raw_ms, raw_load, raw = timed(lambda: case_queries.kpi_counts_by(
                eng, scope, window, now, by_child=True), repeats)
            agg_ms, agg_load, agg = timed(lambda: aggregates.kpi_counts_by(
                eng, scope, window, now, TZ, stored, by_child=True), repeats)
            out.append({"scope": kind, "window": name, "raw_ms": raw_ms, "raw_load": raw_load,
                        "agg_ms": agg_ms, "agg_load": agg_load, "equal": _same(agg, raw)})
            print(f"{kind:9} {name:12} raw {raw_ms:8.1f} ms  aggregates {agg_ms:7.1f} ms  "
                  f"{'equal' if out[-1]['equal'] else 'DIFFERENT'}", flush=True)
    db.close()
    return {"cases": cases, "now": now.isoformat(), "days": (horizon - first).days,
            "build_s": build_s, "build_rows": rows, "scan_ms": scan_ms, "scan_load": scan_load,
            "rows": out, "machine": machine(),
            "at": datetime.now(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")}


def full_scan(eng) -> None:
    with eng.connect() as conn:
        conn.exec_driver_sql("SELECT sum(dispatch_count) FROM gw_case").scalar()


def render(r: dict) -> str:
    m = r["machine"]
    lines = [f"{r['cases']:,} cases over {r['days']} stored days, PostgreSQL, clock "
             f"{r['now'][:16]} (the seed's), {m['nproc']} cores ({m['cpu']}), run {r['at']}. "
             f"Building every day's aggregates: {r['build_s']:.1f} s ({r['build_rows']:,} "
             f"rows). A full scan of the case table: {r['scan_ms']:.0f} ms (load "
             f"{r['scan_load']:.1f}).", "",
             "| scope (by child) | window | case table | aggregates | ratio | same figures |",
             "|---|---|---|---|---|---|"]
    for row in r["rows"]:
        lines.append(f"| {row['scope']} | {row['window']} | {row['raw_ms']:.1f} ms (load "
                     f"{row['raw_load']:.1f}) | {row['agg_ms']:.1f} ms (load "
                     f"{row['agg_load']:.1f}) | {row['raw_ms'] / max(row['agg_ms'], 0.01):.1f}× "
                     f"| {'yes' if row['equal'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=400_000)
    ap.add_argument("--days", type=int, default=60)
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--skip-seed", action="store_true", help="use the data already there")
    ap.add_argument("--no-doc", action="store_true", help="print only")
    args = ap.parse_args(argv)
    check_bench_db(args.database_url)
    if not args.skip_seed:
        from bench.seed_and_query import default_now
        seed(args.database_url, args.cases, args.days, args.workers, 1, default_now())
    result = run(args.database_url, args.repeats)
    body = render(result)
    print(body)
    if not args.no_doc:
        write_section(BEGIN, END, body, "Daily aggregates")


if __name__ == "__main__":
    main()
