"""Cost of the wall's shared view models on a seeded database: what one computation per
tick costs the server, whatever the number of screens.

    .venv/bin/python -m bench.wall_views --database-url postgresql+psycopg://postgres@127.0.0.1:5432/DB

Measures build_live (every refresh), build_period (once a minute) and previous_counts (once
a day) at province, city and county scope: one warm-up, then the median of --runs.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import datetime, timezone

import sqlalchemy as sa

from dashboard.domain.ranking import ScoreWeights
from dashboard.views.wall.model import build_live, build_period, previous_counts
from data_sources.case_store import SqlCaseStore
from data_sources.database import make_engine
from data_sources.regions import RegionTree


def _median_ms(fn, runs: int) -> float:
    fn()  # warm-up: plans cached, pages in memory
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--root", default="320000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    engine = make_engine(args.database_url)
    with engine.connect() as conn:
        cases = conn.execute(sa.text("select count(*) from gw_case")).scalar()
    tree = RegionTree.load(engine, args.root)
    city = max(tree.children(args.root), key=lambda r: r.population)
    county = max(tree.children(city.code), key=lambda r: r.population)
    tz, weights = "Asia/Shanghai", ScoreWeights()
    print(f"{cases:,} cases; {platform.processor() or platform.machine()}; "
          f"median of {args.runs} warm runs, ms")
    print("| scope | build_live (every tick) | build_period (every minute) | previous_counts (daily) |")
    print("|---|---:|---:|---:|")
    for label, region in (("province " + args.root, tree.get(args.root)),
                          (f"city {city.code} {city.name}", city),
                          (f"county {county.code} {county.name}", county)):
        now = datetime.now(timezone.utc)
        live = _median_ms(lambda: build_live(SqlCaseStore(engine), tree, region, tz, now, None), args.runs)
        before = previous_counts(SqlCaseStore(engine), region, tz, now)
        period = _median_ms(lambda: build_period(SqlCaseStore(engine), tree, region, tz, now, None, weights,
                                                 before), args.runs)
        prev = _median_ms(lambda: previous_counts(SqlCaseStore(engine), region, tz, now), max(1, args.runs // 2))
        print(f"| {label} | {live:,.0f} | {period:,.0f} | {prev:,.0f} |")


if __name__ == "__main__":
    main()
