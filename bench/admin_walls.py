"""/admin's wall-device section at a province's 1,345 walls: one device per region of the
tree (province down to townships) enrolled in a database of its own, and the section
drawn as the app draws it (the store's reads, the rows, the HTML): a page of 50, the last
page, filtered pages, and for comparison every device at once (what /admin drew before
it was paged). Median of --repeats, the 1-minute load average printed.

    .venv/bin/python -m bench.admin_walls --tree-url URL_OF_A_SEEDED_DATABASE \
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/gw_admin_bench]

The --database-url database is dropped and made anew (bench.seed_and_query's rule: never
a database it must not touch), or a SQLite file is made anew.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from bench.seed_and_query import recreate_database
from dashboard.domain.audit import Actor
from dashboard.domain.live_board import board_regions
from dashboard.views.wall_admin import PAGE_ROWS, WallFilter, WallPage, wall_rows
from data_sources import migrate
from data_sources.database import make_engine
from data_sources.regions import RegionTree
from data_sources.schema import region
from data_sources.wall_device_store import WallDeviceStore
from layouts import admin_walls

ROOT, TZ = "320000", "Asia/Shanghai"


def fresh(url: str) -> sa.Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    else:
        recreate_database(url)
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree-url", required=True, help="a database holding the region tree")
    ap.add_argument("--database-url",
                    default="postgresql+psycopg://postgres@127.0.0.1:5432/gw_admin_bench")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    source = make_engine(args.tree_url)
    tree = RegionTree.load(source, ROOT)
    engine = fresh(args.database_url)
    # The region table too: the text filter looks up the names of a device's regions.
    with source.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(region))]
    with engine.begin() as conn:
        conn.execute(region.delete())
        conn.execute(region.insert(), rows)
    store = WallDeviceStore(engine)
    for r in board_regions(tree, ROOT):
        store.add(f"{r.name}指挥中心大屏", r.code, by=Actor.cli("bench"))
    now = datetime.now(timezone.utc)

    def every_device() -> str:
        # As /admin drew them before: all of them, sorted in Python.
        rows = wall_rows(store.list_devices(), tree, "zh", now, TZ)
        rows.sort(key=lambda r: (r.state == "revoked", -r.id))
        return admin_walls.device_list(rows, "zh", TZ)

    def paged(f: WallFilter) -> str:
        devices, counts = store.device_page(now, f.text, f.state, (f.page - 1) * PAGE_ROWS,
                                            PAGE_ROWS)
        page = WallPage(wall_rows(devices, tree, "zh", now, TZ), counts, f)
        return admin_walls.section("zh", page, TZ, "")
    last = WallPage([], store.device_page(now, limit=0)[1], WallFilter()).pages
    print(f"{sum(store.device_page(now, limit=0)[1].values()):,} devices, "
          f"{args.database_url.split(':')[0]}, load {os.getloadavg()[0]:.1f}")
    print("| drawn | median | HTML |\n|---|--:|--:|")
    for name, draw in (("every device at once (before paging)", every_device),
                       (f"page 1 of {last}", lambda: paged(WallFilter())),
                       (f"page {last} (the last)", lambda: paged(WallFilter(page=last))),
                       ("filtered by a code prefix (3205)",
                        lambda: paged(WallFilter(text="3205"))),
                       ("filtered by a name, its regions' too (苏州)",
                        lambda: paged(WallFilter(text="苏州"))),
                       ("filtered by a name no device or region has (上海)",
                        lambda: paged(WallFilter(text="上海")))):
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            html = draw()
            times.append((time.perf_counter() - started) * 1000)
        print(f"| {name} | {statistics.median(times):.1f} ms | {len(html) / 1e3:.0f} kB |")


if __name__ == "__main__":
    main()
