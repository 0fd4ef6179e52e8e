"""What keeps every live wall of a province current: one live board per tick against one
computation per region, on a PostgreSQL database seeded by bench.seed_and_query at the
province's daily volume, with the clock pinned to the seed's.

    .venv/bin/python -m bench.live_board --cases 1000000            # seeds gw_board_bench
    .venv/bin/python -m bench.live_board --skip-seed --database-url URL [--after MINUTES]

Times (median of warm runs, the 1-minute load average beside each): a full scan of the
case table; the board (dashboard/domain/live_board.py: the grouped pass of
data_sources/live_board.py and its roll-up); every wall's live view from it (1,345 regions
of Jiangsu down to townships, in Python, no query); the per-region computation it
replaces (build_live on the case table) for sampled regions of each level, summed over
the province's regions; the pickled board that travels through Redis. Checks that the
board's live view equals the per-region one for each sampled region. Then the live
simulator plays the province at the seeded rate for --ticks ticks of 5 s (into the bench
database and a stream of its own on GRIDWATCH_BENCH_REDIS_URL, default the local Redis)
and the board follower (data_sources.live_board.BoardFollower) keeps the board current:
the median of its steps is the per-tick cost of every region. Writes a row into
docs/benchmarks.md ("Live board").
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pickle
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bench.aggregates import full_scan, timed
from bench.seed_and_query import (
    TZ,
    WORLD_SEED,
    check_bench_db,
    default_now,
    machine,
    seed,
    write_section,
)
from dashboard.app import collector
from dashboard.app.settings import Settings
from dashboard.cache.published import encode
from dashboard.domain.hierarchy import Level
from dashboard.domain.live_board import board_regions
from dashboard.domain.scope import RegionScope
from dashboard.views.wall.live_models import at_tick, live_models
from dashboard.views.wall.model import build_live
from data_sources.case_store import SqlCaseStore
from data_sources.database import CaseDatabase
from data_sources.live_board import BoardFollower, live_board
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.regions import RegionTree
from data_sources.schema import OPEN_STATES_SQL, case
from simulator.live import LiveSimulator
from simulator.world import World

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gw_board_bench"
BEGIN, END = "<!-- bench.live_board:begin -->", "<!-- bench.live_board:end -->"
ROOT = "320000"
REDIS_URL = os.environ.get("GRIDWATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
TICK = 5  # seconds: the app's default refresh interval
SAMPLES = {Level.PROVINCE: 1, Level.CITY: 3, Level.COUNTY: 4, Level.TOWNSHIP: 6}


def follow(db, tree, root, now: datetime, scale: float, regions: list, ticks: int,
           profile: cProfile.Profile | None = None) -> dict:
    """The live simulator plays the province at its seeded rate for `ticks` ticks of 5 s
    from the seed's clock (writing into the bench database and a stream of its own);
    after each, the board follower recomputes what the tick touched (timed). `profile`
    profiles the builder's part of each tick (follow, models, JSON), not the simulator."""
    client = make_client(REDIS_URL)
    stream = EventStream(client, f"gwbench:{uuid.uuid4().hex[:8]}:events")
    try:
        world = World.from_tree(tree, ROOT, seed=WORLD_SEED)
        sim = LiveSimulator(db, stream, world, scale=scale, tz=TZ, speed=1, seed=5)
        loaded = sim.load(now)
        follower = BoardFollower(db.engine, lambda: StreamReader(stream), root, TZ)
        follower.board(now)
        # As `gridwatch build-walls` runs: its collector settings once its state is built
        # (without them a tick here now and then took a full collection, ~1 s).
        collector.settle(Settings.from_env().gc_young)
        full_ms = follower.last_step["ms"]
        models, _ = live_models(follower.board(now), tree, regions, TZ, {})
        steps, t = [], now
        for k in range(1, ticks + 1):
            t = now + timedelta(seconds=TICK * k)
            sim.tick(t, TICK)
            load = os.getloadavg()[0]
            if profile is not None:
                profile.enable()
            board = follower.board(t)
            # Every wall's model of the tick as the builder makes it (the changed regions
            # built, the others carried over), and the JSON it publishes (the built ones,
            # encoded as dashboard/cache/published.py does).
            started = time.perf_counter()
            models, built = live_models(board, tree, regions, TZ, models)
            models_ms = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            size = sum(len(encode(models[code])) for code in built)
            json_ms = (time.perf_counter() - started) * 1000
            if profile is not None:
                profile.disable()
            built = len(built)
            steps.append({**follower.last_step, "load": load, "models_ms": models_ms,
                          "built": built, "json_ms": json_ms, "json_bytes": size})
            print(f"tick {k}: {steps[-1]}", flush=True)
        full = live_board(db.engine, root, t, TZ)
        sample = random.Random(2).sample(regions, 40)
        tick = {"now": t.isoformat(), "base": board.base, "streams": {}}
        equal = all(build_live(board, tree, r, TZ, t, None) == build_live(full, tree, r, TZ, t, None)
                    == {k: v for k, v in at_tick(models[r.code], tick, TZ).items()
                        if k != "version"}
                    for r in sample)
    finally:
        client.delete(stream.key)
    follows = [x for x in steps if x["kind"] == "follow"]
    return {"ticks": ticks, "loaded_open": loaded, "first_full_ms": full_ms,
            "step_ms": statistics.median(x["ms"] for x in follows),
            "step_load": statistics.median(x["load"] for x in follows),
            "entries": statistics.median(x["entries"] for x in follows),
            "townships": statistics.median(x["townships"] for x in follows),
            "models_ms": statistics.median(x["models_ms"] for x in follows),
            "built": statistics.median(x["built"] for x in follows),
            "json_ms": statistics.median(x["json_ms"] for x in follows),
            "json_bytes": statistics.median(x["json_bytes"] for x in follows),
            "tick_ms": statistics.median(x["ms"] + x["models_ms"] + x["json_ms"]
                                         for x in follows),
            "full_steps": len(steps) - len(follows), "equal": equal}


def run(url: str, repeats: int, ticks: int, after: int = 0,
        profile: cProfile.Profile | None = None) -> dict:
    db = CaseDatabase(url)
    db.init_schema()   # a database seeded by an older checkout gets this one's indexes
    # The seed's clock, or `after` minutes past it: each run's simulator adds the
    # cases and events of its ticks, so a second run at the same clock finds that
    # minute's events played already (165, then 92, 72, 29 entries a tick at 10M).
    now = datetime.fromisoformat(json.loads(db.meta_get("bench"))["now"]) \
        + timedelta(minutes=after)
    eng = db.engine
    tree = RegionTree.load(eng, ROOT)
    regions = board_regions(tree, ROOT)
    with eng.connect() as conn:
        cases = conn.execute(sa.text("SELECT count(*) FROM gw_case")).scalar()
        open_now = conn.execute(sa.select(sa.func.count()).select_from(case)
                                .where(case.c.state.in_(OPEN_STATES_SQL))).scalar()
    scan_ms, scan_load, _ = timed(lambda: full_scan(eng), 3)
    root = RegionScope.of(tree.get(ROOT))
    board_ms, board_load, board = timed(lambda: live_board(eng, root, now, TZ), repeats)
    blob = pickle.dumps(board)
    unpickle_ms, _, _ = timed(lambda: pickle.loads(blob), repeats)
    models_ms, models_load, _ = timed(
        lambda: [build_live(board, tree, r, TZ, now, None) for r in regions], max(1, repeats // 2))
    raw = SqlCaseStore(eng)
    r = random.Random(1)
    per_level, equal = {}, True
    for level, n in SAMPLES.items():
        picked = r.sample([x for x in regions if x.level == level],
                          min(n, sum(1 for x in regions if x.level == level)))
        times = []
        for region in picked:
            ms, _, model = timed(lambda: build_live(raw, tree, region, TZ, now, None), 1)
            times.append(ms)
            equal &= model == build_live(board, tree, region, TZ, now, None)
        count = sum(1 for x in regions if x.level == level)
        per_level[level.name.lower()] = {"regions": count, "median_ms": statistics.median(times),
                                         "sampled": len(picked)}
        print(f"{level.name.lower():9} per region {statistics.median(times):8.1f} ms "
              f"× {count}", flush=True)
    per_region_total = sum(v["median_ms"] * v["regions"] for v in per_level.values())
    followed = follow(db, tree, root, now, json.loads(db.meta_get("bench"))["scale"],
                      regions, ticks, profile)
    db.close()
    out = {"cases": cases, "open": open_now, "now": now.isoformat(), "regions": len(regions),
           "scan_ms": scan_ms, "scan_load": scan_load, "board_ms": board_ms,
           "board_load": board_load, "board_bytes": len(blob), "unpickle_ms": unpickle_ms,
           "models_ms": models_ms, "models_load": models_load, "per_level": per_level,
           "per_region_total_ms": per_region_total, "equal": equal, "followed": followed,
           "machine": machine(),
           "at": datetime.now(ZoneInfo(TZ)).strftime("%Y-%m-%d %H:%M")}
    print(json.dumps({k: v for k, v in out.items() if k != "machine"}, indent=1), flush=True)
    return out


def render_row(r: dict) -> str:
    pl, f = r["per_level"], r["followed"]
    return (f"| {r['cases']:,} | {r['open']:,} | {r['now'][:16]} | {r['scan_ms']:.0f} ms "
            f"({r['scan_load']:.1f}) | **{f['step_ms']:.0f} ms** ({f['step_load']:.1f}); "
            f"{f['entries']:.0f} entries, {f['townships']:.0f} townships a tick | "
            f"**{100 * f['step_ms'] / r['scan_ms']:.1f}%** | "
            f"{r['board_ms']:.0f} ms ({r['board_load']:.1f}) | {r['models_ms']:.0f} ms for "
            f"{r['regions']:,} | {r['board_bytes'] / 1e6:.1f} MB, {r['unpickle_ms']:.0f} ms | "
            f"{r['per_region_total_ms'] / 1000:.1f} s (province {pl['province']['median_ms']:.0f}"
            f", township {pl['township']['median_ms']:.1f} ms) | "
            f"{_published(f, r['scan_ms'])} | "
            f"{'yes' if r['equal'] and f['equal'] else 'NO'} | {r['at']} |")


def _published(f: dict, scan_ms: float) -> str:
    """The builder's share of a tick: every wall's model (built or carried over) and its
    JSON; '—' for a run from before the builder published (no such figures)."""
    if "models_ms" not in f:
        return "—"
    return (f"{f['models_ms']:.0f} ms ({f['built']:.0f} built) + {f['json_ms']:.0f} ms JSON "
            f"({f['json_bytes'] / 1e6:.1f} MB); tick {f['tick_ms']:.0f} ms = "
            f"{100 * f['tick_ms'] / scan_ms:.0f}% of a scan")


HEADER = ("| cases | open now | clock (the seed's) | full scan (load) | followed board per "
          "tick, median (load) | followed / scan | full pass (load) | every wall's view "
          "from it | pickled board, unpickle | per region, summed over 1,345 regions | "
          "followed tick's models: built or carried over, JSON; whole tick | same "
          "figures | run |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--ticks", type=int, default=12, help="followed ticks of 5 s")
    ap.add_argument("--skip-seed", action="store_true", help="use the data already there")
    ap.add_argument("--after", type=int, default=0, metavar="MINUTES",
                    help="run the clock this many minutes after the seed's (a later run on "
                         "the same database: minutes no earlier run has played)")
    ap.add_argument("--no-doc", action="store_true", help="print only")
    ap.add_argument("--profile", metavar="FILE",
                    help="write a cProfile of the followed ticks' builder part here (pstats)")
    args = ap.parse_args(argv)
    check_bench_db(args.database_url)
    if not args.skip_seed:
        seed(args.database_url, args.cases, None, args.workers, 1, default_now())
    profile = cProfile.Profile() if args.profile else None
    result = run(args.database_url, args.repeats, args.ticks, args.after, profile)
    if profile is not None:
        profile.dump_stats(args.profile)
    row = render_row(result)
    print(row)
    if not args.no_doc:
        rows = _kept_rows() + [row]
        write_section(BEGIN, END, HEADER + "\n" + "\n".join(rows) + "\n", "Live board")


def _kept_rows() -> list[str]:
    """Earlier runs' rows (other sizes, second runs) stay in the table."""
    from bench.seed_and_query import DOC
    text = DOC.read_text() if DOC.exists() else ""
    if BEGIN not in text:
        return []
    body = text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| ") and line[2].isdigit()]
    # A row from before the builder's column gets "—" there.
    columns = HEADER.splitlines()[0].count("|") - 1
    out = []
    for line in rows:
        cells = line.split("|")
        if len(cells) - 2 < columns:
            cells.insert(len(cells) - 3, " — ")
        out.append("|".join(cells))
    return out


if __name__ == "__main__":
    main()
