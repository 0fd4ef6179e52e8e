"""What keeping the aggregates current costs at a province's event rate: the live simulator
plays the province from the seed's clock (its seeded daily volume, ticks of 5 s) into a
bench database seeded by `bench.live_board`, and the aggregates' follower
(data_sources/aggregates_follower.py) takes a step after each tick, as the app's warm-up
job does once per refresh interval. Timed: each step, and the part of it that keeps the
hours (agg_hour: today's and the last days', docs/aggregates.md "Hours").

    .venv/bin/python -m bench.aggregates_follow \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/gw_board10m \\
        [--ticks 24] [--after MINUTES] [--json FILE]

The daily aggregates and the hours must be there (bench.first_views builds them at the
seed's clock). Each run adds the simulator's cases and events to the database, as
bench.live_board does: `--after` starts later than the last run's ticks.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import uuid
from datetime import datetime, timedelta

from bench.first_views import ensure_aggregates
from bench.seed_and_query import TZ, WORLD_SEED, check_bench_db, machine
from data_sources import aggregates
from data_sources.aggregates_follower import Follower
from data_sources.database import CaseDatabase
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader
from data_sources.regions import RegionTree
from simulator.live import LiveSimulator
from simulator.world import World

ROOT = "320000"
TICK = 5
REDIS_URL = os.environ.get("GRIDWATCH_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def run(url: str, ticks: int, after: int) -> dict:
    check_bench_db(url)
    db = CaseDatabase(url)
    db.init_schema()
    meta = json.loads(db.meta_get("bench"))
    now = datetime.fromisoformat(meta["now"]) + timedelta(minutes=after)
    build_s = ensure_aggregates(db.engine, now)
    tree = RegionTree.load(db.engine, ROOT)
    client = make_client(REDIS_URL)
    stream = EventStream(client, f"gwbench:{uuid.uuid4().hex[:8]}:events")
    steps = []
    try:
        sim = LiveSimulator(db, stream, World.from_tree(tree, ROOT, seed=WORLD_SEED),
                            scale=meta["scale"], tz=TZ, speed=1, seed=7)
        sim.load(now)
        # The bench's own stream, read from its start: a position left by an earlier run
        # (its stream deleted) would read as entries lost, and every stored day would be
        # recomputed (aggregates_follower) while it is timed.
        aggregates.record_info(db.engine, stream_pos="0-0", recomputing_from=None)
        follower = Follower(db.engine, StreamReader(stream), TZ)
        # The follower's clock is the bench's: the stored days and hours are the seed's.
        started = time.perf_counter()
        first = follower.step(now)
        first_ms = (time.perf_counter() - started) * 1000
        for k in range(1, ticks + 1):
            t = now + timedelta(seconds=TICK * k)
            sim.tick(t, TICK)
            load = os.getloadavg()[0]
            started = time.perf_counter()
            step = follower.step(t)
            ms = (time.perf_counter() - started) * 1000
            steps.append({"ms": ms, "hours_ms": step["hours_ms"], "entries": step["entries"],
                          "pairs": step["pairs"], "status": step["status"], "load": load})
            print(f"step {k}: {steps[-1]}", flush=True)
        info = aggregates.stored_info(db.engine)
    finally:
        client.delete(stream.key)
        db.close()
    out = {"now": now.isoformat(), "ticks": ticks, "build_s": round(build_s, 1),
           "first_step_ms": round(first_ms, 1), "first_hours_ms": first["hours_ms"],
           "step_ms": statistics.median(s["ms"] for s in steps),
           "hours_ms": statistics.median(s["hours_ms"] for s in steps),
           "entries": statistics.median(s["entries"] for s in steps),
           "pairs": statistics.median(s["pairs"] for s in steps),
           "load": statistics.median(s["load"] for s in steps),
           "statuses": sorted({s["status"] for s in steps}),
           "hours": [info.get("hours_first"), info.get("hours_horizon")],
           "machine": machine()}
    print(json.dumps({k: v for k, v in out.items() if k != "machine"}, indent=1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--ticks", type=int, default=24)
    ap.add_argument("--after", type=int, default=0, help="minutes after the seed's clock")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    out = run(args.database_url, args.ticks, args.after)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
