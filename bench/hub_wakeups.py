"""The stream hub's fan-out inside one gevent worker, without Redis or a server: a
province's ~670 open live feeds a worker (data_sources/stream_hub.py `follow`, each in
its own greenlet), and batches of stream entries published to them, each batch touching
one township's lineage. Prints the worker's CPU a batch. To compare codes, run it from
each checkout (PYTHONPATH=CHECKOUT):

    .venv/bin/python -m bench.hub_wakeups [--pages 670] [--batches 300] [--runs 3]
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after gevent's patching, as in a gunicorn gevent worker
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import gevent  # noqa: E402

from data_sources.stream_hub import Batch, StreamHub, Subscriber, follow  # noqa: E402


def run_once(pages: int, batches: int) -> dict:
    # Regions "t<i>" under one province "p": an entry of grid "t<i>" is for page i and
    # the province's page (lineage), as a township's event is for its walls up the tree.
    hub = StreamHub(lambda: None, lineage=lambda grid: (grid, "p"))
    hub.status = {"status": "live", "since": 0.0, "error": None}
    shown = [0]

    def page(sub: Subscriber) -> None:
        for kind, item in follow(hub, sub, None, sub.accept, heartbeat=5.0):
            if kind == "events":
                shown[0] += len(item)
    subs = [Subscriber(lambda e: True, region="p" if i == 0 else f"t{i}")
            for i in range(pages)]
    greenlets = []
    for sub in subs:
        hub._subs.add(sub)
        greenlets.append(gevent.spawn(page, sub))
    gevent.sleep(0.2)
    hub._publish(Batch([], dict(hub.status)))   # every page learns the state once
    gevent.sleep(0.2)
    shown[0] = 0
    cpu = time.process_time()
    for k in range(1, batches + 1):
        entry = SimpleNamespace(entry_id=f"{k}-0", grid=f"t{1 + k % (pages - 1)}")
        hub._publish(Batch([entry], dict(hub.status)))
        gevent.sleep(0)     # the reader yields between its reads (XREAD)
    gevent.sleep(0.2)
    cpu = time.process_time() - cpu
    for sub in subs:
        sub.dropped = True
    gevent.killall(greenlets)
    return {"cpu_ms_per_batch": cpu * 1000 / batches, "shown": shown[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=670, help="open feeds in the worker")
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = [run_once(args.pages, args.batches) for _ in range(args.runs)]
    print(f"{args.pages} pages, {args.batches} batches of one entry, {args.runs} runs, "
          f"load {os.getloadavg()[0]:.1f}")
    each = [r["cpu_ms_per_batch"] for r in runs]
    print(f"CPU a batch, median: {statistics.median(each):.2f} ms "
          f"(runs: {', '.join(f'{x:.2f}' for x in each)})")
    print(f"entries shown: {runs[-1]['shown']} (each on 2 pages: its township's and the "
          f"province's)")


if __name__ == "__main__":
    main()
