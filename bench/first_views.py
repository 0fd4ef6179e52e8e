"""Goal 2 of issue 12: what the first viewer of any /kpi or /region view costs, for every
level from the province to a grid and every kind of window, page cache off.

    python -m bench.first_views --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gw_board10m

On a database seeded by bench.seed_and_query or bench.live_board (its `bench` meta row
gives the seed's clock, which every view here is computed at). The daily aggregates are
built first up to that clock's day (as a follower would have kept them; skipped when
they already are), and the store is told they are followed (nothing writes to the
database while the bench runs). Then, for each page, level and kind of window, one view
of a random region, computed as the page's callback computes it (dashboard/views: the
app's SqlCaseStore, the aggregates, no page memo: every figure is computed for this
viewer), after one untimed view of each page (a warm server, as goal 2 asks).

What is timed is the view model: every query a first viewer's page makes, and the
Python that turns them into the page's figures; the Dash layout is drawn from it
afterwards (not timed here: bench.province_scale's first views time whole answers).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from tqdm import tqdm

from bench.seed_and_query import check_bench_db, machine
from dashboard.app import collector
from dashboard.app.settings import Settings
from dashboard.domain.hierarchy import Level
from dashboard.domain.periods import local_today
from dashboard.views import kpi as kpi_view
from dashboard.views import region as region_view
from dashboard.views import url_state
from data_sources import aggregates
from data_sources.case_store import SqlCaseStore
from data_sources.database import CaseDatabase
from data_sources.regions import RegionTree

ROOT_CODE, TZ = "320000", "Asia/Shanghai"
LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.GRID)
WINDOWS = ("today", "this_week", "this_month", "last_month", "custom ≤ 31 days",
           "custom ≤ a year")
PAGES = ("/kpi", "/region")
TARGET_MS = 200.0


def regions_by_level(tree: RegionTree) -> dict[Level, list[str]]:
    out: dict[Level, list[str]] = {lv: [] for lv in LEVELS}
    todo = [tree.get(ROOT_CODE)]
    while todo:
        r = todo.pop()
        if Level(r.level) in out:
            out[Level(r.level)].append(r.code)
        todo.extend(tree.children(r.code))
    return out


def query_of(rng: random.Random, kind: str, first: date, today: date) -> dict[str, str]:
    """The page's query string for a window of `kind`: a custom range lies inside the
    data's days (first .. today), up to 31 days or up to a year long."""
    if not kind.startswith("custom"):
        return {"period": kind}
    longest = 31 if "31" in kind else url_state.MAX_CUSTOM_DAYS
    days = rng.randint(2, longest)
    end = today - timedelta(days=rng.randint(0, max(0, min(30, (today - first).days))))
    start = end - timedelta(days=days - 1)
    return {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}


def ensure_aggregates(engine: sa.Engine, now: datetime) -> float:
    """The daily aggregates up to the seed's day (exclusive) and the hours a follower
    keeps at the seed's clock (aggregates.hours_wanted), built if they are not: as a
    follower would have kept them at that clock. Seconds spent building (0: were there)."""
    today = local_today(now, TZ)
    info = aggregates.stored_info(engine)
    hours = aggregates.hours_wanted(now, TZ)
    if info.get("tz") == TZ and info.get("horizon") == today.isoformat() and \
            aggregates.stored_hours(info) == hours:
        return 0.0
    first = aggregates.first_case_day(engine, TZ) or today
    bar = tqdm(total=(today - first).days, desc="aggregates", unit="天")
    started = time.perf_counter()
    aggregates.rebuild_all(engine, TZ, today, progress=lambda _day: bar.update(1), now=now)
    bar.close()
    return time.perf_counter() - started


def followed(engine: sa.Engine) -> None:
    # The store reads the aggregates only while a follower keeps them (followed_at within
    # 5 minutes of the real clock); nothing changes the database during the bench.
    aggregates.record_info(engine, followed_at=datetime.now(timezone.utc).isoformat())


def view(page: str, store, tree, settings, code: str, query: dict, now: datetime):
    state = url_state.parse({**query, "region": code}, default_lang="zh")
    if page == "/kpi":
        return kpi_view.build(store, tree, settings, state, now)
    return region_view.build(store, tree, settings, code, state, now)


def run(url: str, seed: int) -> dict:
    check_bench_db(url)
    db = CaseDatabase(url)
    engine = db.engine
    now = datetime.fromisoformat(json.loads(db.meta_get("bench"))["now"])
    today = local_today(now, TZ)
    build_s = ensure_aggregates(engine, now)
    first = aggregates.first_case_day(engine, TZ) or today
    tree = RegionTree.load(engine, ROOT_CODE)
    by_level = regions_by_level(tree)
    settings = Settings.from_env({}, region=ROOT_CODE, timezone=TZ)
    store = SqlCaseStore(engine, tz=TZ)
    with engine.connect() as conn:
        cases = conn.execute(sa.text("SELECT count(*) FROM gw_case")).scalar()
    rng = random.Random(seed)
    followed(engine)
    for page in PAGES:     # a warm server: each page's code paths and the region tree
        view(page, store, tree, settings, ROOT_CODE, {"period": "today"}, now)
    # ... whose collector is set as a worker's (the region tree frozen out of it): with
    # Python's defaults, full collections of this process's heap (46-125 ms each, seven a
    # run) fell on random views and made them look 100 ms slower than a worker serves them.
    collector.settle(settings.gc_young)
    plan = [(page, level, kind) for page in PAGES for level in LEVELS for kind in WINDOWS]
    rows = []
    for page, level, kind in tqdm(plan, desc="first views", unit="view"):
        code = rng.choice(by_level[level])
        query = query_of(rng, kind, first, today)
        followed(engine)
        load = os.getloadavg()[0]
        started = time.perf_counter()
        view(page, store, tree, settings, code, query, now)
        ms = (time.perf_counter() - started) * 1000
        rows.append({"page": page, "level": level.name.lower(), "window": kind,
                     "region": code, "query": query, "ms": round(ms, 1),
                     "load1": round(load, 2)})
    db.close()
    times = [r["ms"] for r in rows]
    return {"cases": cases, "now": now.isoformat(), "aggregates_built_s": round(build_s, 1),
            "views": rows, "median_ms": statistics.median(times),
            "p95_ms": statistics.quantiles(times, n=20)[-1], "max_ms": max(times),
            "over_target": sum(t > TARGET_MS for t in times), "machine": machine(),
            "at": datetime.now(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")}


def render(r: dict) -> str:
    """Per page and window: the median and the slowest of the levels' views."""
    m = r["machine"]
    loads = [v["load1"] for v in r["views"]]
    lines = [f"{r['cases']:,} cases, clock {r['now'][:16]} UTC (the seed's), {m['nproc']} "
             f"cores ({m['cpu']}), run {r['at']} Shanghai, load {min(loads):.1f}–"
             f"{max(loads):.1f}. All {len(r['views'])} views: median {r['median_ms']:.0f} ms, "
             f"p95 {r['p95_ms']:.0f} ms, slowest {r['max_ms']:.0f} ms; "
             f"{r['over_target']} over {TARGET_MS:.0f} ms.", "",
             "| page | window | " + " | ".join(lv.name.lower() for lv in LEVELS) + " |",
             "|---|---|" + "--:|" * len(LEVELS)]
    for page in PAGES:
        for kind in WINDOWS:
            cells = {v["level"]: v["ms"] for v in r["views"]
                     if v["page"] == page and v["window"] == kind}
            lines.append(f"| {page} | {kind} | " + " | ".join(
                f"{cells[lv.name.lower()]:,.0f} ms" for lv in LEVELS) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--seed", type=int, default=1, help="which random regions and ranges")
    ap.add_argument("--json", type=Path, help="write every view's time here")
    args = ap.parse_args(argv)
    result = run(args.database_url, args.seed)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    slowest = sorted(result["views"], key=lambda v: -v["ms"])[:8]
    print(render(result))
    print("\nslowest views:")
    for v in slowest:
        print(f"  {v['ms']:8.1f} ms  {v['page']} {v['level']} {v['region']} {v['query']}")


if __name__ == "__main__":
    main()
