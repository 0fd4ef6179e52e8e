"""How long a stream entry takes to reach a live page inside one busy gevent worker.

One worker's stream hub (data_sources/stream_hub.py: its reader on a real Redis, the
shared skip counter on, as `gridwatch serve` runs it), --pages live feeds following in
greenlets of their own, and --busy greenlets standing for the worker's other requests:
CPU in slices of --slice-ms between round trips to Redis, as callbacks compute between
their queries.
A second process appends entries at --rate a second; each entry's age is taken when the
page's `follow` hands it over, from its stream ID (Redis's clock, this machine's). What
it shows is how many turns of the worker's other greenlets an entry waits on its way.
To compare codes, run it from each checkout (PYTHONPATH=CHECKOUT):

    .venv/bin/python -m bench.hub_latency [--pages 670] [--busy 12] [--slice-ms 5] \
        [--rate 20] [--seconds 20] [--runs 3] [--redis-url redis://127.0.0.1:6379/0]

Keys under gwbench:hub-latency:<random>: (deleted at the end; nothing is flushed).
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after gevent's patching, as in a gunicorn gevent worker
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import datetime, timezone  # noqa: E402

import gevent  # noqa: E402

from data_sources.redis_client import make_client  # noqa: E402
from data_sources.redis_stream import EventStream  # noqa: E402
from data_sources.stream_events import encode_event  # noqa: E402
from data_sources.stream_hub import StreamHub, Subscriber, follow  # noqa: E402
from data_sources.stream_skips import SkipSummary, counter_key  # noqa: E402

GRID = "320102001001001"


def write(url: str, key: str, rate: float, seconds: float) -> None:
    """The upstream: one entry at a time, `rate` a second (the child process)."""
    stream = EventStream(make_client(url), key)
    every, n, started = 1.0 / rate, 0, time.monotonic()
    while time.monotonic() - started < seconds:
        n += 1
        stream.append(encode_event("HANDLED", case_id=n, seq=1, ts=datetime.now(timezone.utc),
                                   grid=GRID, state="VERIFYING"))
        time.sleep(max(0.0, started + n * every - time.monotonic()))


def run_once(url: str, pages: int, busy: int, slice_ms: float, rate: float,
             seconds: float) -> list[float]:
    key = f"gwbench:hub-latency:{uuid.uuid4().hex[:10]}:"
    hub = StreamHub(lambda: EventStream(make_client(url, blocking=True), key + "events"),
                    lineage=lambda grid: (grid, "p"), known_grid=lambda grid: True,
                    counter_key=counter_key(key, key + "events"), summary=SkipSummary())
    ages: list[float] = []
    stop = [False]

    def page(sub: Subscriber, measured: bool) -> None:
        for kind, item in follow(hub, sub, None, sub.accept, heartbeat=5.0):
            if kind == "events" and measured:
                now = time.time()
                ages.extend(now - int(e.entry_id.split("-")[0]) / 1000 for e in item)

    def other_requests() -> None:
        # A request computes, then waits on a query (a round trip to Redis here): its
        # turns end on a socket, as a callback's do, not on a sleep(0) (which gevent runs
        # as a callback, polling the sockets only every 50 of them).
        client = make_client(url)
        while not stop[0]:
            end = time.perf_counter() + slice_ms / 1000
            while time.perf_counter() < end:
                pass
            client.ping()
        client.close()

    subs = [hub.subscribe(lambda e: True, region="p" if i == 0 else f"t{i}")
            for i in range(pages)]
    feeds = [gevent.spawn(page, sub, i == 0) for i, sub in enumerate(subs)]
    gevent.sleep(1.0)
    load = [gevent.spawn(other_requests) for _ in range(busy)]
    writer = subprocess.Popen([sys.executable, "-m", "bench.hub_latency", "--write", key,
                               "--redis-url", url, "--rate", str(rate),
                               "--seconds", str(seconds)])
    while writer.poll() is None:
        gevent.sleep(0.2)
    gevent.sleep(1.0)
    stop[0] = True
    gevent.joinall(load)
    for sub in subs:
        sub.dropped = True
        hub.unsubscribe(sub)
    gevent.killall(feeds)
    client = make_client(url)
    client.delete(*(client.keys(key + "*") or [key + "events"]))
    client.close()
    return ages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", default=os.environ.get("GRIDWATCH_TEST_REDIS_URL",
                                                          "redis://127.0.0.1:6379/0"))
    ap.add_argument("--pages", type=int, default=670, help="open live feeds in the worker")
    ap.add_argument("--busy", type=int, default=12, help="other requests being computed")
    ap.add_argument("--slice-ms", type=float, default=5.0,
                    help="CPU a request spends between two yields")
    ap.add_argument("--rate", type=float, default=20.0, help="entries a second")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", metavar="KEY_PREFIX", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write:
        write(args.redis_url, args.write + "events", args.rate, args.seconds)
        return
    print(f"{args.pages} feeds, {args.busy} other requests of {args.slice_ms:g} ms slices, "
          f"{args.rate:g} entries/s for {args.seconds:g} s, {args.runs} runs")
    print("| run | entries | age p50 | p95 | p99 | load |\n|--:|--:|--:|--:|--:|--:|")
    p50s, p95s = [], []
    for run in range(1, args.runs + 1):
        ages = sorted(run_once(args.redis_url, args.pages, args.busy, args.slice_ms,
                               args.rate, args.seconds))
        q = statistics.quantiles(ages, n=100)
        p50s.append(q[49] * 1000)
        p95s.append(q[94] * 1000)
        print(f"| {run} | {len(ages)} | {q[49] * 1000:.1f} ms | {q[94] * 1000:.1f} ms | "
              f"{q[98] * 1000:.1f} ms | {os.getloadavg()[0]:.1f} |")
    print(f"median of the runs: p50 {statistics.median(p50s):.1f} ms, "
          f"p95 {statistics.median(p95s):.1f} ms")


if __name__ == "__main__":
    main()
