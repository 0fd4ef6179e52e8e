"""Load benchmark of the wall: N simulated walls on one region against `gridwatch serve`.

    python3 -m uv pip install --python .venv/bin/python aiohttp   # bench-only
    .venv/bin/python -m bench.wall_load --walls 1,10,25,50,100,200,400 --runs 3 --seconds 60

A simulated wall is what one browser on /wall does, without the browser:

  (a) the refresh callback: POST /_dash-update-component with the exact body the page sends
      for `refresh` in callbacks/wall.py (inputs wall-tick.n_intervals and wall-region.data,
      state wall-config.data). The body is captured once from a real page in Chromium
      (Playwright request interception); each wall then sends it with its own n_intervals.
      Like dcc.Interval with `running=` (the interval is disabled while the callback runs),
      the next request goes out one refresh interval after the previous answer; the walls
      start at random phases.
  (b) an open live stream, GET /wall/live?region=320000 (Server-Sent Events), read for the
      whole run. For every `case` message: latency from the event's `ts` (event time, written
      by the simulator) and from its Redis stream entry ID (the millisecond at which Redis
      stored it) to its receipt.

All walls run in one asyncio process (aiohttp). The tool builds its own installation (fresh
data directory, SQLite unless --database-url, keys `gwbench:<random>:` on --redis-url),
seeds it, starts `gridwatch simulate --speed S` and `gridwatch serve --workers 2`, and for
each N runs --runs rounds of --warmup + --seconds; only the --seconds window is measured.
Per N the median over the runs of each figure is reported; the largest N whose median
callback p95 < 200 ms and median live p95 < 1 s passes. Results: JSON in bench/results/,
a markdown table on stdout (and in --markdown FILE).

The generator shares the machine's cores with the server and the simulator.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.wall_bodies import mark_after, with_tick  # noqa: E402
from tests.live import Deployment, chromium_path, make_env, stop_process  # noqa: E402
from tests.logins import WALL_COOKIE, wall_header, wall_tokens  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CALLBACK_LIMIT_MS, LIVE_LIMIT_S = 200.0, 1.0


# -- the request a wall makes -------------------------------------------------------------
def capture_refresh_body(url: str, region: str, token: str) -> dict:
    """The JSON body Chromium posts for the wall's `refresh` callback (an interval tick),
    as the wall device whose token is `token`."""
    from playwright.sync_api import sync_playwright
    bodies: list[dict] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.context.add_cookies([{"name": WALL_COOKIE, "value": token, "url": url,
                                   "httpOnly": True, "sameSite": "Strict"}])

        def on_request(req):
            if "_dash-update-component" in req.url and req.method == "POST":
                try:
                    body = json.loads(req.post_data or "{}")
                except ValueError:
                    return
                if "wall-tick.n_intervals" in (body.get("changedPropIds") or []):
                    bodies.append(body)
        page.on("request", on_request)
        page.goto(f"{url}/wall?region={region}", wait_until="load")
        deadline = time.monotonic() + 60
        while not bodies and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        browser.close()
    if not bodies:
        raise RuntimeError("the page sent no refresh callback within 60 s")
    return bodies[0]


# -- one run of N walls -----------------------------------------------------------------------
class Stats:
    def __init__(self):
        self.cb_ms: list[float] = []
        self.cb_errors = 0
        self.cb_error_samples: list[str] = []
        self.live_ts: list[float] = []
        self.live_entry: list[float] = []
        self.stream_errors = 0
        self.stream_error_samples: list[str] = []
        self.events_per_wall: list[int] = []
        self.measuring = False


async def wall(session, base: str, region: str, body: dict, refresh_s: float, st: Stats,
               idx: int, stop: asyncio.Event, token: str):
    """One wall screen: its own wall device (`token`, sent as the device cookie, as the
    browser does once the wall URL was opened), its refreshes and its live feed."""
    import aiohttp
    events = [0]
    device = wall_header(token)

    async def live():
        url = f"{base}/wall/live?region={region}"
        while not stop.is_set():
            try:
                async with session.get(url, headers=device,
                                       timeout=aiohttp.ClientTimeout(total=None,
                                                                     sock_read=30)) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"HTTP {resp.status}")
                    ev, eid, data = None, None, None
                    async for raw in resp.content:
                        line = raw.decode("utf-8", "replace").rstrip("\r\n")
                        if not line:
                            if ev == "case" and data is not None:
                                now = time.time()
                                if st.measuring:
                                    d = json.loads(data)
                                    st.live_ts.append(now - float(d["ts"]))
                                    if eid:
                                        st.live_entry.append(now - int(eid.split("-")[0]) / 1000)
                                    events[0] += 1
                            ev, eid, data = None, None, None
                            continue
                        if line.startswith("event:"):
                            ev = line[6:].strip()
                        elif line.startswith("id:"):
                            eid = line[3:].strip()
                        elif line.startswith("data:"):
                            data = line[5:].strip()
                    raise RuntimeError("stream closed by the server")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - count, reconnect like the page does
                if stop.is_set():
                    return
                if st.measuring:
                    st.stream_errors += 1
                    if len(st.stream_error_samples) < 5:
                        st.stream_error_samples.append(f"{type(exc).__name__}: {exc}"[:200])
                await asyncio.sleep(1.5)

    async def ticks():
        await asyncio.sleep(random.random() * refresh_s)
        n, mark = 0, None
        url = f"{base}/_dash-update-component"
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Origin": base, **device}
        while not stop.is_set():
            n += 1
            t0 = time.perf_counter()
            measuring = st.measuring
            try:
                async with session.post(url, data=with_tick(body, n, mark), headers=headers,
                                        timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    text = await resp.read()
                    ok = resp.status == 200
                    mark = mark_after(text, mark) if ok else mark
                    status = resp.status
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                ok, status = False, f"{type(exc).__name__}: {exc}"[:200]
            ms = (time.perf_counter() - t0) * 1000
            if measuring and st.measuring:
                if ok:
                    st.cb_ms.append(ms)
                else:
                    st.cb_errors += 1
                    if len(st.cb_error_samples) < 5:
                        st.cb_error_samples.append(str(status))
            try:
                await asyncio.wait_for(stop.wait(), timeout=refresh_s)
            except asyncio.TimeoutError:
                pass

    tasks = [asyncio.create_task(live()), asyncio.create_task(ticks())]
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        st.events_per_wall.append(events[0])


def pct(xs: list[float], p: float) -> float | None:
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent (every core), from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)
    return (sum(f[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds a process has used so far (/proc); None when there is
    no such process on this machine (gone, or another machine's)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def _cpu_seconds(pids: list[int]) -> float:
    return sum(process_cpu_seconds(p) or 0.0 for p in pids)


async def run_once(base: str, region: str, body: dict, n: int, refresh_s: float,
                   warmup_s: float, seconds: float, server_pids: list[int],
                   sim_pid: int | None = None, tokens: list[str] = ()) -> dict:
    """`tokens`: a wall device per simulated wall (at least `n`)."""
    import aiohttp
    st = Stats()
    stop = asyncio.Event()
    # gunicorn closes idle keep-alive connections after 2 s; closing ours after 1.5 s
    # avoids posting on a socket the server is closing (a reset a browser would retry).
    conn = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.5)
    async with aiohttp.ClientSession(connector=conn) as session:
        walls = [asyncio.create_task(wall(session, base, region, body, refresh_s, st, i, stop,
                                          tokens[i]))
                 for i in range(n)]
        await asyncio.sleep(warmup_s)
        cpu0, own0, t0 = _cpu_seconds(server_pids), time.process_time(), time.monotonic()
        sim0, all0, load0 = _cpu_seconds([sim_pid] if sim_pid else []), _machine_busy_seconds(), \
            os.getloadavg()[0]
        st.measuring = True
        await asyncio.sleep(seconds)
        st.measuring = False
        elapsed = time.monotonic() - t0
        cpu1, own1 = _cpu_seconds(server_pids), time.process_time()
        sim1, all1 = _cpu_seconds([sim_pid] if sim_pid else []), _machine_busy_seconds()
        stop.set()
        await asyncio.gather(*walls, return_exceptions=True)
    starved = sum(1 for e in st.events_per_wall if e == 0)
    return {
        "walls": n, "seconds": round(elapsed, 1),
        "callbacks": len(st.cb_ms), "callback_errors": st.cb_errors,
        "callback_error_samples": st.cb_error_samples,
        "callbacks_per_s": round(len(st.cb_ms) / elapsed, 1),
        # Server CPU per answered callback (the live streams' work included).
        "server_cpu_ms_per_callback": round((cpu1 - cpu0) * 1000 / max(len(st.cb_ms), 1), 1),
        "cb_p50_ms": pct(st.cb_ms, 50), "cb_p95_ms": pct(st.cb_ms, 95),
        "cb_p99_ms": pct(st.cb_ms, 99), "cb_max_ms": max(st.cb_ms) if st.cb_ms else None,
        "live_events": len(st.live_ts),
        "live_events_per_wall_per_s": round(len(st.live_ts) / n / elapsed, 2),
        "walls_without_events": starved,
        "stream_errors": st.stream_errors, "stream_error_samples": st.stream_error_samples,
        "live_ts_p50_s": pct(st.live_ts, 50), "live_ts_p95_s": pct(st.live_ts, 95),
        "live_entry_p50_s": pct(st.live_entry, 50), "live_entry_p95_s": pct(st.live_entry, 95),
        "live_entry_p99_s": pct(st.live_entry, 99),
        "server_cpu_pct": round(100 * (cpu1 - cpu0) / elapsed, 1),
        "generator_cpu_pct": round(100 * (own1 - own0) / elapsed, 1),
        "simulator_cpu_pct": round(100 * (sim1 - sim0) / elapsed, 1),
        "machine_busy_pct": round(100 * (all1 - all0) / elapsed, 1),
        # Everything else on the machine (other users' jobs), % of one core.
        "other_cpu_pct": round(100 * ((all1 - all0) - (cpu1 - cpu0) - (own1 - own0)
                                      - (sim1 - sim0)) / elapsed, 1),
        "loadavg_1m_start": load0, "loadavg_1m_end": os.getloadavg()[0],
    }


def median_of(runs: list[dict]) -> dict:
    out = {"walls": runs[0]["walls"], "runs": len(runs)}
    for k, v in runs[0].items():
        if k in ("walls",) or not isinstance(v, (int, float)):
            continue
        vals = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        out[k] = statistics.median(vals) if vals else None
    # Judged on the median of each figure; a run with failed callbacks or a wall that got
    # nothing does not pass, whatever its latency.
    ok_runs = sum(1 for r in runs if _passes(r))
    out["runs_passing"] = ok_runs
    out["passes"] = _passes(out)
    # The same limit on latency from the event's own `ts`, which also holds the simulator's
    # batching (it writes each second's events at the end of that second).
    out["passes_ts"] = _passes(out, "live_ts_p95_s")
    return out


def _passes(r: dict, live_key: str = "live_entry_p95_s") -> bool:
    return (r.get("cb_p95_ms") is not None and r["cb_p95_ms"] < CALLBACK_LIMIT_MS
            and r.get(live_key) is not None and r[live_key] < LIVE_LIMIT_S
            and not r.get("callback_errors") and not r.get("walls_without_events"))


# -- installation ----------------------------------------------------------------------------
def _descendants(pid: int) -> list[int]:
    todo, out = [pid], []
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                kids = [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                kids = []
            out += kids
            todo += kids
    return out


def machine() -> dict:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {"nproc": nproc, "cpu": model, "mem_gb": round(int(mem) / 2**20, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--walls", default="1,10,25,50,100,200,400",
                   help="comma-separated N to step through")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seconds", type=float, default=60.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=10.0, help="unmeasured seconds per run")
    p.add_argument("--refresh", type=float, default=5.0, help="GRIDWATCH_REFRESH_SECONDS")
    p.add_argument("--speed", type=float, default=20.0, help="simulator speed")
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--region", default="320000")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--stop-after-fail", type=int, default=2,
                   help="stop stepping after this many failing N in a row (0: never)")
    p.add_argument("--redis-url", default=os.environ.get("GRIDWATCH_TEST_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    p.add_argument("--database-url", help="default: SQLite in a temporary data directory")
    p.add_argument("--wait-pid", type=int,
                   help="after setup, wait for this process to end before measuring")
    p.add_argument("--out", type=Path)
    p.add_argument("--markdown", type=Path, help="also write the results table here")
    args = p.parse_args(argv)
    import redis

    levels = [int(x) for x in args.walls.split(",") if x.strip()]
    out = args.out or RESULTS / f"wall-load-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    prefix = f"gwbench:{secrets.token_hex(4)}:"
    data_dir = Path(tempfile.mkdtemp(prefix="gw-load-"))
    db_url = args.database_url or f"sqlite:///{data_dir / 'gridwatch.db'}"
    env = make_env(data_dir, db_url, args.redis_url, prefix,
                   GRIDWATCH_REFRESH_SECONDS=str(args.refresh))
    dep = Deployment(env=env, data_dir=data_dir)
    r = redis.Redis.from_url(args.redis_url)
    sim = None
    result = {"meta": {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                       "command": "python -m bench.wall_load " + " ".join(sys.argv[1:] if argv is None else argv),
                       "machine": machine(), "refresh_seconds": args.refresh,
                       "speed": args.speed, "days": args.days, "scale": args.scale,
                       "workers": args.workers, "region": args.region,
                       "database": "postgresql" if args.database_url and
                       args.database_url.startswith("postgresql") else "sqlite",
                       "seconds": args.seconds, "warmup": args.warmup, "runs": args.runs,
                       "limits": {"callback_p95_ms": CALLBACK_LIMIT_MS, "live_p95_s": LIVE_LIMIT_S}},
              "levels": []}
    try:
        print(f"[load] data dir {data_dir}, keys {prefix}*", flush=True)
        dep.cli("db", "init")
        seeded = dep.cli("seed", "--days", str(args.days), "--scale", str(args.scale),
                         "--stream-hours", "2", timeout=1800).strip().splitlines()[-1]
        print("[load]", seeded, flush=True)
        result["meta"]["seed"] = seeded
        sim_log = open(data_dir / "simulate.log", "ab")
        sim = subprocess.Popen([sys.executable, "-m", "dashboard.app.cli", "simulate", "--speed",
                                str(args.speed)], env=env, cwd=ROOT, stdout=sim_log,
                               stderr=sim_log)
        dep.start(workers=args.workers)
        result["meta"]["cases"] = dep.health(timeout=30).get("cases")
        # One wall device per simulated wall, as a command center enrols each screen.
        tokens = wall_tokens(db_url, args.region, max(levels))
        body = capture_refresh_body(dep.url, args.region, tokens[0])
        result["meta"]["callback_body"] = body
        print(f"[load] {dep.url}: {result['meta']['cases']} cases; captured the refresh body "
              f"({len(json.dumps(body))} bytes, {len(body.get('outputs', []))} outputs)",
              flush=True)
        server_pids = [p for p in _descendants(dep.proc.pid)]
        while args.wait_pid and Path(f"/proc/{args.wait_pid}").exists():
            time.sleep(1)
        fails = 0
        for n in levels:
            runs = []
            for k in range(args.runs):
                res = asyncio.run(run_once(dep.url, args.region, body, n, args.refresh,
                                           args.warmup, args.seconds, server_pids, sim.pid,
                                           tokens))
                runs.append(res)
                print(f"[load] N={n} run {k + 1}: cb p50 {_f(res['cb_p50_ms'])} p95 "
                      f"{_f(res['cb_p95_ms'])} ms ({res['callbacks_per_s']}/s, "
                      f"{res['callback_errors']} err) | live entry p95 "
                      f"{_f(res['live_entry_p95_s'], 3)} s, ts p95 {_f(res['live_ts_p95_s'], 3)} s, "
                      f"{res['live_events']} ev, {res['walls_without_events']} starved, "
                      f"{res['stream_errors']} stream err | server cpu {res['server_cpu_pct']}% "
                      f"gen cpu {res['generator_cpu_pct']}% other {res['other_cpu_pct']}%", flush=True)
                time.sleep(2)
            med = median_of(runs)
            result["levels"].append({"walls": n, "median": med, "runs": runs})
            _save(out, result)
            print(f"[load] N={n} median: cb p95 {_f(med['cb_p95_ms'])} ms, live p95 "
                  f"{_f(med['live_entry_p95_s'], 3)} s → {'PASS' if med['passes'] else 'fail'}",
                  flush=True)
            fails = 0 if med["passes"] else fails + 1
            if args.stop_after_fail and fails >= args.stop_after_fail:
                break
        passing = [lv["walls"] for lv in result["levels"] if lv["median"]["passes"]]
        result["largest_passing"] = max(passing) if passing else None
        passing_ts = [lv["walls"] for lv in result["levels"] if lv["median"]["passes_ts"]]
        result["largest_passing_ts"] = max(passing_ts) if passing_ts else None
        result["meta"]["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    finally:
        stop_process(sim)
        dep.stop()
        log = dep.log_text()
        result["meta"]["serve_log_lines"] = len(log.splitlines())
        result["meta"]["serve_log_tail"] = log.splitlines()[-60:]
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
        shutil.rmtree(data_dir, ignore_errors=True)
        _save(out, result)
    md = table(result)
    print(md)
    if args.markdown:
        args.markdown.write_text(md, encoding="utf-8")
    print(f"[load] results in {out}")
    return 0


def _f(v, nd=0):
    return "—" if v is None else f"{v:.{nd}f}"


def table(result: dict) -> str:
    lines = ["| walls N | callbacks/s | callback p50 (ms) | callback p95 (ms) | callback errors | "
             "live p50, entry→receipt (s) | live p95, entry→receipt (s) | live p95 from `ts` (s) | live events/s per wall | "
             "stream errors | server CPU (% of one core) | generator CPU | other jobs' CPU | runs passing | result |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for lv in result["levels"]:
        m = lv["median"]
        lines.append(
            f"| {lv['walls']} | {_f(m['callbacks_per_s'], 1)} | {_f(m['cb_p50_ms'])} | "
            f"{_f(m['cb_p95_ms'])} | {_f(m['callback_errors'])} | {_f(m['live_entry_p50_s'], 3)} | "
            f"{_f(m['live_entry_p95_s'], 3)} | {_f(m['live_ts_p95_s'], 2)} | "
            f"{_f(m['live_events_per_wall_per_s'], 2)} | {_f(m['stream_errors'])} | "
            f"{_f(m['server_cpu_pct'])}% | {_f(m['generator_cpu_pct'])}% | {_f(m['other_cpu_pct'])}% | "
            f"{m['runs_passing']}/{m['runs']} | {'**pass**' if m['passes'] else 'fail'} |")
    return "\n".join(lines) + "\n"


def _save(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
