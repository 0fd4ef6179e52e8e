"""The real deployment under a province's load: one wall per region of Jiangsu, 50 leaders.

    python3 -m uv pip install --python .venv/bin/python aiohttp py-spy   # bench-only
    .venv/bin/python -m bench.province_scale --cases 1000000 --warmup 60 --seconds 120 \
        --profile 40 --json bench/results/province-1m.json     # --skip-seed: reuse the data

What it sets up (issue 12, goal 6):
  - a PostgreSQL database of its own (default gw_province_bench) seeded by
    bench.seed_and_query.seed with the province's daily volume (days = cases / 85,000, scale
    ~1) up to the current time, then `gridwatch aggregates rebuild` (what a deployment has);
    --skip-seed reuses the database as it is;
  - `gridwatch simulate --speed 1 --scale <the seeded scale>`: the upstream system at the
    province's own rate (~85,000 cases a day), into the database and a Redis stream;
  - `gridwatch serve --workers 2` (gunicorn, gevent) on that database and a real Redis, keys
    under `gwbench:<database>:` (deleted at the end but the event stream, kept for the
    next run as a deployment keeps it; nothing is flushed);
  - a second `gridwatch serve --workers 1` on the same data with the page cache switched off
    (GRIDWATCH_PAGE_CACHE_SECONDS=0): the "first viewer" probe, so that every /kpi and
    /region view it is asked for is computed for that viewer.

What it drives, all from one asyncio process (aiohttp) on the same machine:
  - one wall per region, province down to townships (the imported tree has 1 + 13 + 95 +
    1,236 = 1,345; results: docs/benchmarks.md, "Province scale"), each a wall device of
    its region enrolled in the bench database (its cookie on every request):
    the wall's `refresh` callback body, captured once from a real page in Chromium and
    edited per region (wall-region.data and wall-config.data), posted one refresh interval
    after the previous answer (the app's GRIDWATCH_REFRESH_SECONDS, then the interval each
    answer tells the screen), at random phases, as dcc.Interval with `running=` does: a
    screen waits for its answer (up to HOLD x --timeout; later than --timeout counts as
    late) and never posts a second one meanwhile; and its live stream GET
    /wall/live?region=CODE&frames=1&metric=M, reopened as assets/wall.js does (backing
    off on failures), whose frames (each tick's panels, dashboard/app/wall_frames.py) it
    applies as wall.js does: their marks, a refresh at once when one does not fit, the
    refreshes slowed to the interval the server tells a screen that gets frames, and
    back to every tick when they stop (bench.wall_bodies.frame_fits); each frame's age
    from its tick's clock is reported;
  - 50 leaders on /kpi, each its own account logged in through /login (the per-account
    rate limits apply to each) (the router callback body captured the same way, with url.search
    edited): a random region (province, city or county), a random period (today, this
    week, this month, last month, or a custom range inside the seeded days), then a look
    at the page of --think seconds (uniform) before the next;
  - a first viewer at a time on the probe server: a random /kpi or /region/CODE view
    (any region down to townships) and period, one after another.

What it reports (stdout, --json FILE, --markdown FILE), each figure with the 1-minute load
average when it was taken: the full scan of the case table; one live board of every
region (data_sources.live_board.live_board at the server's clock, median of 5) idle and
under the load; first-view times; callback and live-event p50/p95/p99 at the screens;
errors by kind (HTTP status, timeout), how many screens got answers and live messages in
the measured window; CPU of the servers, the simulator, the generator, PostgreSQL (psutil
over its processes: all of them, and the backends of the bench database) and the rest of
the machine. --profile S samples the two web workers with py-spy for S seconds.

The machine is shared: the generator, the servers, PostgreSQL and the simulator share its
cores (and other people's jobs may too: see "other CPU"). Nothing is tuned to hide load.
"""
from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing as mp
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.seed_and_query import REGION, TZ, check_bench_db, seed  # noqa: E402
from bench.wall_bodies import frame_fits, mark_after, set_value, with_tick  # noqa: E402
from bench.wall_load import (  # noqa: E402
    _cpu_seconds,
    _descendants,
    _machine_busy_seconds,
    machine,
    pct,
)
from bench.wall_soak import _children  # noqa: E402
from dashboard.domain.hierarchy import Level  # noqa: E402
from dashboard.domain.scope import RegionScope  # noqa: E402
from dashboard.views.wall.model import OVERDUE_ROWS  # noqa: E402
from data_sources import aggregates  # noqa: E402
from data_sources.database import CaseDatabase, make_engine  # noqa: E402
from data_sources.live_board import live_board  # noqa: E402
from data_sources.regions import RegionTree  # noqa: E402
from tests.live import Deployment, chromium_path, make_env, stop_process  # noqa: E402
from tests.logins import forget_bench_walls, wall_header, wall_tokens  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/gw_province_bench"
# A reused database whose newest case is older than this is refused. The simulator's
# catch-up of the gap runs before the servers start (main), so an hour or two is
# replayed untimed; a seed of 10M under load takes 30 min by itself.
MAX_BEHIND_SECONDS = 7200
FRAMES_LOST_S = 60          # assets/wall.js FRAMES_LOST_MS
# Other people's databases: the server itself writes (the aggregates follower), so the
# bench never serves them.
FOREIGN_DBS = {"gw_board1m"}
LEVELS = ("province", "city", "county", "township")
KPI_LEVELS = ("province", "city", "county")
PERIODS = ("today", "this_week", "this_month", "last_month", "custom")
CALLBACK_LIMIT_MS, LIVE_LIMIT_MS = 200.0, 100.0
HOLD = 10   # a screen waits up to this many --timeouts for its answer before giving up


def load1() -> float:
    return round(os.getloadavg()[0], 2)


# -- setting up ------------------------------------------------------------------------
def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def bench_meta(url: str) -> dict:
    db = CaseDatabase(url)
    try:
        raw = db.meta_get("bench")
    finally:
        db.close()
    return json.loads(raw) if raw else {}


def region_codes(url: str) -> dict[str, list[str]]:
    """Codes of the root's regions by level name, province down to townships."""
    eng = sa.create_engine(url)
    try:
        tree = RegionTree.load(eng, REGION)
    finally:
        eng.dispose()
    out: dict[str, list[str]] = {name: [] for name in LEVELS}
    todo = [REGION]
    while todo:
        code = todo.pop()
        level = Level(tree.get(code).level)
        name = level.name.lower()
        if name not in out:
            continue
        out[name].append(code)
        todo += tree.child_codes(code)
    return {k: sorted(v) for k, v in out.items()}


def vacuum_dead(url: str, share: float = 0.2) -> dict:
    """VACUUM ANALYZE the tables whose dead rows are past `share` of their live ones, as
    autovacuum would (PostgreSQL's default threshold, 20%). A deployment runs autovacuum;
    this machine's PostgreSQL does not, and the runs before left the aggregates the
    follower rewrote bloated (agg_mix_city: 255k dead rows to 46k live after six runs),
    so that each run on a reused database was slower than the one before.
    {table: seconds}."""
    eng = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    done = {}
    try:
        with eng.connect() as conn:
            tables = [r[0] for r in conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE n_dead_tup > %(share)s * greatest(n_live_tup, 1000)",
                {"share": share})]
            for table in tables:
                t0 = time.perf_counter()
                conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
                done[table] = round(time.perf_counter() - t0, 1)
    finally:
        eng.dispose()
    return done


def full_scan(url: str, repeats: int = 3) -> dict:
    eng = sa.create_engine(url)
    runs = []
    try:
        with eng.connect() as conn:
            for _ in range(repeats):
                t0 = time.perf_counter()
                conn.exec_driver_sql("SELECT sum(dispatch_count) FROM gw_case").scalar()
                runs.append((time.perf_counter() - t0) * 1000)
    finally:
        eng.dispose()
    return {"median_ms": round(statistics.median(runs), 1), "runs_ms": [round(r, 1) for r in runs],
            "load1": load1()}


def tick_all_regions(url: str, repeats: int = 5, pause: float = 0.0) -> dict:
    """One live board of every region (what the app computes once per tick), at the
    server's clock (now, whole seconds), on a new engine with the app's settings."""
    eng = make_engine(url)
    runs, sql, loads, regions = [], [], [], 0
    in_sql = [0.0]

    def before(conn, *_a):
        conn.info["t0"] = time.perf_counter()

    def after(conn, *_a):
        in_sql[0] += time.perf_counter() - conn.info.pop("t0", time.perf_counter())
    sa.event.listen(eng, "before_cursor_execute", before)
    sa.event.listen(eng, "after_cursor_execute", after)
    try:
        with eng.connect() as conn:
            conn.exec_driver_sql("select 1")
        root = RegionScope(REGION, Level.PROVINCE)
        for _ in range(repeats):
            now = datetime.now(timezone.utc).replace(microsecond=0)
            loads.append(load1())
            in_sql[0] = 0.0
            t0 = time.perf_counter()
            board = live_board(eng, root, now, TZ, OVERDUE_ROWS)
            runs.append((time.perf_counter() - t0) * 1000)
            sql.append(in_sql[0] * 1000)
            regions = len(board.counts)
            time.sleep(pause)
    finally:
        eng.dispose()
    # sql: until each statement's cursor returned (psycopg fetches the rows with it);
    # the rest is Python: reading the rows and summing them into every region.
    return {"median_ms": round(statistics.median(runs), 1), "runs_ms": [round(r, 1) for r in runs],
            "sql_median_ms": round(statistics.median(sql), 1),
            "regions_with_counts": regions, "load1": statistics.median(loads)}


SESSION_COOKIE = "gw_session"
# server URL -> the leaders' session cookies there: one account per leader, as a
# province's leaders each log in (the per-account rate limits of /kpi apply to each).
LOGINS: dict[str, list[str]] = {}


def capture_bodies(url: str, session: str) -> tuple[dict, dict]:
    """The JSON bodies Chromium posts for the wall's `refresh` (an interval tick) and for
    the router's `route` on /kpi (logged in with the leader's `session` cookie, which also
    opens the wall of the leader's province)."""
    from playwright.sync_api import sync_playwright
    found: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": url,
                              "httpOnly": True, "sameSite": "Strict"}])
        page = context.new_page()

        def on_request(req):
            if "_dash-update-component" not in req.url or req.method != "POST":
                return
            try:
                body = json.loads(req.post_data or "{}")
            except ValueError:
                return
            changed = body.get("changedPropIds") or []
            if "wall-tick.n_intervals" in changed:
                found.setdefault("wall", body)
            elif body.get("output") == "page.children" and any(
                    i.get("id") == "url" for i in body.get("inputs", [])):
                found.setdefault(f"route:{_input(body, 'url', 'pathname')}", body)
        page.on("request", on_request)
        for path, key in ((f"/wall?region={REGION}", "wall"), ("/kpi", "route:/kpi")):
            page.goto(url + path, wait_until="load")
            deadline = time.monotonic() + 90
            while key not in found and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            if key not in found:
                raise RuntimeError(f"{path}: no {key} callback within 90 s")
        browser.close()
    return found["wall"], found["route:/kpi"]


def _input(body: dict, id_: str, prop: str):
    for i in body.get("inputs", []) + body.get("state", []):
        if i.get("id") == id_ and i.get("property") == prop:
            return i.get("value")
    return None


def wall_body(body: dict, region: str) -> dict:
    """The captured refresh body for another region: its store and its config."""
    b = dict(body)
    b["inputs"] = set_value(body["inputs"], "wall-region", "data", lambda _v: region)
    b["state"] = set_value(body.get("state", []), "wall-config", "data",
                           lambda v: dict(v or {}, region=region))
    return b


def route_body(body: dict, pathname: str, search: str) -> bytes:
    b = dict(body)
    b["inputs"] = set_value(set_value(body["inputs"], "url", "pathname", lambda _v: pathname),
                            "url", "search", lambda _v: search)
    return json.dumps(b).encode()


def random_search(rng: random.Random, region: str | None, first_day: date, today: date) -> str:
    period = rng.choice(PERIODS)
    parts = [f"region={region}"] if region else []
    if period == "custom":
        span = (today - first_day).days
        a = first_day + timedelta(days=rng.randint(0, span))
        b = a + timedelta(days=rng.randint(0, (today - a).days))
        parts += [f"from={a.isoformat()}", f"to={b.isoformat()}"]
    else:
        parts.append(f"period={period}")
    return "?" + "&".join(parts)


# -- measuring -------------------------------------------------------------------------
class Stats:
    def __init__(self):
        self.measuring = False
        # The start (the --warmup seconds before the window): where a province's walls
        # collapsed when it met a busy database. Its refreshes are counted apart.
        self.warming = True
        self.warm_ms: list[float] = []
        self.warm_status: Counter = Counter()
        self.cb_ms: list[float] = []
        self.cb_status: Counter = Counter()
        self.cb_samples: list[str] = []
        self.cb_stale = 0
        self.cb_bytes: list[int] = []
        self.cb_in_flight = 0
        self.walls_answered: set[str] = set()
        self.walls_streaming: set[str] = set()
        self.live_entry_ms: list[float] = []
        self.live_ts_ms: list[float] = []
        self.live_down = 0
        self.stream_status: Counter = Counter()
        self.stream_samples: list[str] = []
        self.streams_open = 0
        self.leader_ms: list[float] = []
        self.leader_status: Counter = Counter()
        self.leader_samples: list[str] = []
        self.leader_views: list[dict] = []
        self.first_views: list[dict] = []
        self.intervals: list[float] = []   # s, as told to the walls by the server
        self.cb_late = 0                   # answered, but after --timeout
        # Panel frames pushed over the live feeds (dashboard/app/wall_frames.py): how old
        # the tick's clock was when a frame arrived, its size, and the ones that did not
        # fit the screen's marks (each brings a refresh).
        self.frame_ms: list[float] = []
        self.frame_bytes: list[int] = []
        self.frame_misfits = 0
        self.walls_framed: set[str] = set()
        self.cb_resyncs = 0                # refreshes asked for by a frame that did not fit
        # How late the screens' own event loop ran its timers: every latency above is
        # read by this one process, so a busy loop adds its lag to each of them.
        self.loop_lag_ms: list[float] = []


async def loop_lag(st: Stats, stop: asyncio.Event, every: float = 0.05) -> None:
    """Samples how late a timer of `every` fires in the screens' process."""
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(every)
        if st.measuring:
            st.loop_lag_ms.append(max(0.0, (time.perf_counter() - t0 - every) * 1000))


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Wait `seconds` or until the run stops; True when it stopped."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
        return True
    except asyncio.TimeoutError:
        return False


def _error_kind(exc: BaseException) -> str:
    return "timeout" if isinstance(exc, asyncio.TimeoutError) else type(exc).__name__


async def wall(session, base: str, region: str, body: dict, refresh_s: float, st: Stats,
               stop: asyncio.Event, timeout_s: float, token: str):
    """One region's wall screen, as its own wall device (`token`: the device cookie a
    browser keeps once the wall URL was opened; its posts carry the page's Origin)."""
    import aiohttp
    device = wall_header(token)
    # What the screen holds, shared by its feed and its refreshes (assets/wall.js): the
    # marks of what it shows, whether frames reach it, and a refresh asked for now.
    screen = {"mark": None, "pushing": False, "last_frame": 0.0, "updated": None,
              "feed_live": False}
    resync = asyncio.Event()

    def updated(limit_s: float) -> None:
        # assets/wall.js shows 数据延迟 once a screen's numbers are older than three of the
        # intervals it was told (the tick while frames come), plus 5 s: the gaps that a
        # screen showed it.
        now = time.monotonic()
        if st.measuring and screen["updated"] is not None and \
                now - screen["updated"] > 3 * limit_s + 5:
            st.cb_stale += 1
        screen["updated"] = now
    metric = (_input(body, "wall-config", "data") or {}).get("metric", "")

    async def live():
        url = f"{base}/wall/live?region={region}&frames=1&metric={metric}"
        last_id, failures = None, -1
        while not stop.is_set():
            opened = False
            try:
                headers = {**device, "Last-Event-ID": last_id} if last_id else device
                async with session.get(url, headers=headers, timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=timeout_s, sock_read=30)) as resp:
                    if resp.status != 200:
                        raise _Status(resp.status)
                    opened = True
                    st.streams_open += 1
                    ev, eid, data = None, None, None
                    async for raw in resp.content:
                        line = raw.decode("utf-8", "replace").rstrip("\r\n")
                        if line:
                            if line.startswith("event:"):
                                ev = line[6:].strip()
                            elif line.startswith("id:"):
                                eid = line[3:].strip()
                            elif line.startswith("data:"):
                                data = line[5:].strip()
                            continue
                        if ev is not None and st.measuring:
                            st.walls_streaming.add(region)
                        if ev == "case" and data is not None:
                            now = time.time()
                            last_id = eid or last_id
                            if st.measuring:
                                if eid:
                                    st.live_entry_ms.append(
                                        (now - int(eid.split("-")[0]) / 1000) * 1000)
                                try:
                                    ts = float(json.loads(data)["ts"])
                                    st.live_ts_ms.append((now - ts) * 1000)
                                except (ValueError, KeyError, TypeError):
                                    pass
                        elif ev == "frame" and data is not None:
                            frame = json.loads(data)
                            screen["mark"], fits = frame_fits(frame, screen["mark"])
                            screen["pushing"], screen["last_frame"] = True, time.monotonic()
                            updated(refresh_s)
                            if not fits:
                                resync.set()
                            if st.measuring:
                                st.walls_framed.add(region)
                                st.frame_bytes.append(len(data))
                                st.frame_misfits += not fits
                                if frame.get("now"):
                                    st.frame_ms.append((time.time() - datetime.fromisoformat(
                                        frame["now"]).timestamp()) * 1000)
                        elif ev == "status" and data:
                            screen["feed_live"] = '"live"' in data
                            if '"down"' in data and st.measuring:
                                st.live_down += 1
                        ev, eid, data = None, None, None
                    raise _Status("closed by the server")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - counted; reconnect as the page does
                if stop.is_set():
                    return
                if st.measuring:
                    kind = f"HTTP {exc.code}" if isinstance(exc, _Status) else _error_kind(exc)
                    st.stream_status[kind] += 1
                    if len(st.stream_samples) < 5:
                        st.stream_samples.append(f"{region}: {kind}: {exc}"[:200])
            finally:
                screen["feed_live"] = False
                if opened:
                    st.streams_open -= 1
            # assets/wall.js: 1.5 s after a failure, doubling with each failure in a row
            # up to a minute, spread at random (a busy server answers 503).
            failures = 0 if opened else failures + 1
            await asyncio.sleep(min(60.0, 1.5 * 2 ** failures) * random.uniform(0.5, 1.5))

    async def wait_tick(seconds: float) -> bool:
        """Until the next refresh: its interval, or a frame that did not fit; no frame
        for three ticks while the feed is down, or for a minute, brings the interval
        back to the tick (wall.js checkFrames). True when the run stopped."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            quiet = time.monotonic() - screen["last_frame"]
            if screen["pushing"] and quiet > 3 * refresh_s + 2 and (
                    not screen["feed_live"] or quiet > FRAMES_LOST_S):
                screen["pushing"], screen["lost"] = False, True
                return stop.is_set()
            if left <= 0 or resync.is_set():
                if resync.is_set() and st.measuring:
                    st.cb_resyncs += 1
                resync.clear()
                return stop.is_set()
            try:
                await asyncio.wait_for(resync.wait(), timeout=min(left, 1.0))
            except asyncio.TimeoutError:
                pass
            if stop.is_set():
                return True

    async def ticks():
        n, interval_s = 0, refresh_s
        while not await wait_tick(interval_s if n else random.random() * refresh_s):
            n += 1
            if screen.pop("lost", False):
                interval_s = refresh_s
            measuring, warming, was_told = st.measuring, st.warming, interval_s
            st.cb_in_flight += 1
            try:
                # A screen never has two refreshes in flight (Dash `running=` disables the
                # interval): it waits for a slow answer, as a browser does, instead of
                # giving up at timeout_s and posting another while the server still works
                # on the first. Answers after timeout_s count as late.
                status, ms, text = await post_json(session, f"{base}/_dash-update-component",
                                                   with_tick(body, n, screen["mark"],
                                                             screen["pushing"]),
                                                   timeout_s * HOLD,
                                                   {"Origin": base, **device})
            finally:
                st.cb_in_flight -= 1
            told = None
            if status == 200:
                # The interval the server tells the screen (dashboard/views/wall/pace.py):
                # a dcc.Interval takes it for its next tick. The period mark: what the
                # screen's period panels now show.
                try:
                    told = interval_s = json.loads(text)["response"]["wall-tick"]["interval"] / 1000
                except (ValueError, KeyError, TypeError):
                    pass
                screen["mark"] = mark_after(text, screen["mark"])
            if warming:
                st.warm_status[str(status)] += 1
                if status in (200, 204):
                    st.warm_ms.append(ms)
            if not (measuring and st.measuring):
                continue
            st.cb_status[str(status)] += 1
            if told is not None:
                st.intervals.append(told)
            if status in (200, 204):
                st.cb_late += ms > timeout_s * 1000
                st.cb_ms.append(ms)
                st.walls_answered.add(region)
                st.cb_bytes.append(len(text))
                updated(refresh_s if screen["pushing"] else was_told)
            elif len(st.cb_samples) < 5:
                st.cb_samples.append(f"{region}: {status}: {text[:150]!r}")

    tasks = [asyncio.create_task(live()), asyncio.create_task(ticks())]
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Status(Exception):
    def __init__(self, code):
        super().__init__(str(code))
        self.code = code


async def post_json(session, url: str, data: bytes, timeout_s: float,
                    headers: dict | None = None) -> tuple[object, float, bytes]:
    """(HTTP status or the error's kind, milliseconds, body) of one callback request."""
    import aiohttp
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=data, headers={"Content-Type": "application/json",
                                                         **(headers or {})},
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            text = await resp.read()
            status: object = resp.status
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - counted by the caller
        status, text = _error_kind(exc), b""
    return status, (time.perf_counter() - t0) * 1000, text


async def post_route(session, base: str, body: dict, pathname: str, search: str,
                     timeout_s: float, who: int = 0) -> tuple[object, float, int]:
    # A leader's page: its session (leader `who`'s login on that server, LOGINS) and the
    # Origin a page of the site sends with every POST (the server refuses a POST with a
    # session without it).
    cookies = LOGINS.get(base) or [""]
    headers = {"Origin": base, "Cookie": f"{SESSION_COOKIE}={cookies[who % len(cookies)]}"}
    status, ms, text = await post_json(session, f"{base}/_dash-update-component",
                                       route_body(body, pathname, search), timeout_s, headers)
    # A page that failed renders an apology (HTTP 200), not a 500: count it as an error.
    if status == 200 and b"page-failed" in text:
        status = "page failed"
    return status, ms, len(text)


async def leader(session, base: str, body: dict, kpi_regions: list[str], days: tuple,
                 think: tuple[float, float], st: Stats, stop: asyncio.Event, seed_: int,
                 timeout_s: float):
    rng = random.Random(seed_)
    if await pause(stop, rng.uniform(0, think[1])):
        return
    while not stop.is_set():
        region = rng.choice(kpi_regions)
        search = random_search(rng, region, *days)
        measuring = st.measuring
        status, ms, size = await post_route(session, base, body, "/kpi", search, timeout_s,
                                            seed_)
        if measuring and st.measuring:
            st.leader_status[str(status)] += 1
            if status == 200:
                st.leader_ms.append(ms)
            elif len(st.leader_samples) < 5:
                st.leader_samples.append(f"/kpi{search}: {status}")
            st.leader_views.append({"search": search, "ms": round(ms, 1), "status": str(status),
                                    "bytes": size, "load1": load1()})
        await pause(stop, rng.uniform(*think))


async def first_viewer(session, base: str, body: dict, regions: dict[str, list[str]],
                       days: tuple, count: int, st: Stats, stop: asyncio.Event, seed_: int,
                       timeout_s: float):
    """One fresh viewer at a time on the probe server (its page cache is off)."""
    rng = random.Random(seed_)
    kpi_regions = [c for lv in KPI_LEVELS for c in regions[lv]]
    all_regions = [c for lv in LEVELS for c in regions[lv]]
    # A warm server (goal 2): the probe's first answer also loads its region tree and
    # its code paths (1.6-3.3 s at 10M); one untimed view of each page first.
    for path in ("/kpi", f"/region/{REGION}"):
        await post_route(session, base, body, path, "?period=today", timeout_s)
    for k in range(count):
        if stop.is_set():
            return
        if k % 2 == 0:
            path, search = "/kpi", random_search(rng, rng.choice(kpi_regions), *days)
        else:
            path, search = f"/region/{rng.choice(all_regions)}", random_search(rng, None, *days)
        load = load1()
        status, ms, size = await post_route(session, base, body, path, search, timeout_s)
        st.first_views.append({"view": path + search, "ms": round(ms, 1), "status": str(status),
                               "bytes": size, "load1": load})
        await pause(stop, 2.0)


class PgCpu:
    """CPU of PostgreSQL's processes (psutil), sampled every second so that backends that
    end within the window still count: all of them, and the bench database's backends."""

    def __init__(self, dbname: str):
        self.dbname = dbname
        self.first: dict[int, float] = {}
        self.last: dict[int, tuple[float, bool]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="pg-cpu")

    def _sample(self, initial: bool) -> None:
        import psutil
        for p in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            try:
                if p.info["name"] not in ("postgres", "postmaster"):
                    continue
                cpu = p.info["cpu_times"].user + p.info["cpu_times"].system
                ours = f" {self.dbname} " in " ".join(p.info["cmdline"] or []) + " "
            except (psutil.Error, TypeError, AttributeError):
                continue
            if p.pid not in self.first:
                self.first[p.pid] = cpu if initial else 0.0
            self.last[p.pid] = (cpu, ours or self.last.get(p.pid, (0, False))[1])

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self._sample(False)

    def start(self) -> None:
        self.t0 = time.monotonic()
        self._sample(True)
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        self._sample(False)
        elapsed = time.monotonic() - self.t0
        total = sum(c - self.first[p] for p, (c, _o) in self.last.items())
        ours = sum(c - self.first[p] for p, (c, o) in self.last.items() if o)
        return {"postgres_cpu_pct": round(100 * total / elapsed, 1),
                "bench_db_backends_cpu_pct": round(100 * ours / elapsed, 1)}


def profile(pids: list[int], seconds: float, out_dir: Path) -> dict:
    """py-spy over the web workers for `seconds`: the functions holding the most samples
    (inclusive, gridwatch's own code and the libraries' entry points)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return {"error": "py-spy not installed (pip install py-spy into the venv)"}
    procs, files = [], []
    for pid in pids:
        f = out_dir / f"py-spy-{pid}.txt"
        files.append(f)
        procs.append(subprocess.Popen([spy, "record", "--pid", str(pid), "--duration",
                                       str(int(seconds)), "--rate", "50", "--format", "raw",
                                       "--nonblocking", "--output", str(f)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    errors = []
    for p in procs:
        _, err = p.communicate(timeout=seconds + 60)
        if p.returncode:
            errors.append(err.decode(errors="replace")[-300:])
    inclusive: Counter = Counter()
    leaf: Counter = Counter()
    total = 0
    for f in files:
        if not f.exists():
            continue
        for line in f.read_text(errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            try:
                n = int(n)
            except ValueError:
                continue
            total += n
            frames = stack.split(";")
            for fr in set(frames):
                inclusive[_short(fr)] += n
            if frames:
                leaf[_short(frames[-1])] += n
    own = [(k, v) for k, v in inclusive.most_common() if any(
        pkg in k for pkg in ("dashboard/", "callbacks/", "layouts/", "data_sources/"))]
    def share(v):
        return round(100 * v / max(total, 1), 1)
    return {"samples": total, "errors": errors,
            "top_self": [(k, share(v)) for k, v in leaf.most_common(20)],
            "top_inclusive_gridwatch": [(k, share(v)) for k, v in own[:25]]}


def _short(frame: str) -> str:
    # "function (path/to/file.py:line)" -> "function (file path from the package)"
    for marker in ("/wt-scale/", "/site-packages/", "/lib/python"):
        if marker in frame:
            head, _, tail = frame.partition(marker)
            name = head.split("(")[0].strip()
            return f"{name} ({tail.split(':')[0]})"
    return frame.split(":")[0]


async def run_load(base: str, probe: str, wall_body_: dict, route_body_: dict,
                   regions: dict[str, list[str]], args, days: tuple, pids: dict) -> dict:
    import aiohttp
    st = Stats()
    stop = asyncio.Event()
    conn = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.5)
    walls = [c for lv in args.levels for c in regions[lv]]
    if args.walls:
        walls = walls[:args.walls]
    kpi_regions = [c for lv in KPI_LEVELS for c in regions[lv]]
    # One wall device per region's wall, as `gridwatch walls add` enrols each screen.
    forget_bench_walls(args.database_url)
    tokens = wall_tokens(args.database_url, walls)
    async with aiohttp.ClientSession(connector=conn) as session:
        tasks = [asyncio.create_task(wall(session, base, code, wall_body(wall_body_, code),
                                          args.refresh, st, stop, args.timeout, token))
                 for code, token in zip(walls, tokens)]
        tasks += [asyncio.create_task(leader(session, base, route_body_, kpi_regions, days,
                                             (args.think_min, args.think_max), st, stop,
                                             args.seed * 1000 + k, args.timeout))
                  for k in range(args.leaders)]
        tasks.append(asyncio.create_task(loop_lag(st, stop)))
        print(f"[scale] {len(walls)} walls and {args.leaders} leaders started; warming up "
              f"{args.warmup:.0f} s", flush=True)
        await asyncio.sleep(args.warmup)
        streams_before = st.streams_open
        cpu = {k: _cpu_seconds(v) for k, v in pids.items()}
        own0, all0, t0 = time.process_time(), _machine_busy_seconds(), time.monotonic()
        pg = PgCpu(args.dbname)
        pg.start()
        loads = [load1()]
        st.measuring, st.warming = True, False
        probe_task = asyncio.create_task(first_viewer(
            session, probe, route_body_, regions, days, args.first_views, st, stop,
            args.seed + 7, args.first_view_timeout))
        loop = asyncio.get_running_loop()
        prof_task = (loop.run_in_executor(None, lambda: profile(
            pids["web_workers"], min(args.profile, args.seconds), args.work_dir))
            if args.profile else None)
        end = time.monotonic() + args.seconds
        while time.monotonic() < end:
            await asyncio.sleep(min(10.0, max(0.0, end - time.monotonic())))
            loads.append(load1())
            print(f"[scale] t={time.monotonic() - t0:.0f}s: {len(st.cb_ms)} callbacks "
                  f"({st.cb_in_flight} waiting) "
                  f"(p95 {_f(pct(st.cb_ms, 95))} ms), {dict(st.cb_status)}, live events "
                  f"{len(st.live_entry_ms)} (p95 {_f(pct(st.live_entry_ms, 95))} ms), "
                  f"streams open {st.streams_open}, leaders {len(st.leader_ms)}, first views "
                  f"{len(st.first_views)}, load {load1()}", flush=True)
        st.measuring = False
        elapsed = time.monotonic() - t0
        cpu1 = {k: _cpu_seconds(v) for k, v in pids.items()}
        own1, all1 = time.process_time(), _machine_busy_seconds()
        pg_cpu = pg.stop()
        streams_after, in_flight = st.streams_open, st.cb_in_flight
        prof = await prof_task if prof_task else None
        # One live board of every region from scratch, under the load but after the
        # measured window: the deployment does not compute it (its builder follows the
        # stream), and inside the window its 3.5-6 s of CPU a run, five runs, took a
        # core from the server the screens were timing. In a process of its own: run in a
        # thread here, it held the GIL from the screens' event loop, and a connection taken
        # from the pool after such a stall had been idle past the server's 2 s keep-alive
        # although the pool counted less than its 1.5 s: the ServerDisconnectedError
        # bursts of the window's first minute (docs/benchmarks.md).
        print("[scale] window measured; one live board of every region, under the load",
              flush=True)
        with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as ticker:
            tick_loaded = await loop.run_in_executor(ticker, functools.partial(
                tick_all_regions, args.database_url, 5, pause=max(0.0, args.refresh - 1)))
        # The first views still running get their answer (up to their timeout), then stop.
        try:
            await asyncio.wait_for(asyncio.shield(probe_task), timeout=args.first_view_timeout)
        except asyncio.TimeoutError:
            pass
        stop.set()
        await asyncio.gather(*tasks, probe_task, return_exceptions=True)
    cpu_pct = {f"{k}_cpu_pct": round(100 * (cpu1[k] - cpu[k]) / elapsed, 1) for k in pids}
    generator = 100 * (own1 - own0) / elapsed
    machine_busy = 100 * (all1 - all0) / elapsed
    known = sum(cpu1[k] - cpu[k] for k in pids if k != "web_workers") + (own1 - own0)
    other = machine_busy - 100 * known / elapsed - pg_cpu["postgres_cpu_pct"]
    expected_cb = len(walls) * elapsed / args.refresh
    return {
        "walls": len(walls), "leaders": args.leaders, "seconds": round(elapsed, 1),
        "load1_median": statistics.median(loads), "load1_samples": loads,
        "warmup_callbacks": len(st.warm_ms), "warmup_callback_status": dict(st.warm_status),
        "warmup_callback_p50_ms": _r(pct(st.warm_ms, 50)),
        "warmup_callback_p95_ms": _r(pct(st.warm_ms, 95)),
        "callbacks": len(st.cb_ms), "callbacks_per_s": round(len(st.cb_ms) / elapsed, 1),
        "callbacks_expected_per_s": round(expected_cb / elapsed, 1),
        "callback_status": dict(st.cb_status), "callback_error_samples": st.cb_samples,
        "callback_p50_ms": _r(pct(st.cb_ms, 50)), "callback_p95_ms": _r(pct(st.cb_ms, 95)),
        "callback_p99_ms": _r(pct(st.cb_ms, 99)),
        "callback_max_ms": _r(max(st.cb_ms) if st.cb_ms else None),
        "callback_bytes_median": statistics.median(st.cb_bytes) if st.cb_bytes else None,
        "answers_after_stale_badge": st.cb_stale,
        "frames": len(st.frame_ms), "frames_per_s": round(len(st.frame_ms) / elapsed, 1),
        "frame_p50_ms": _r(pct(st.frame_ms, 50)), "frame_p95_ms": _r(pct(st.frame_ms, 95)),
        "frame_p99_ms": _r(pct(st.frame_ms, 99)),
        "frame_bytes_median": statistics.median(st.frame_bytes) if st.frame_bytes else None,
        "frame_misfits": st.frame_misfits, "refreshes_asked_by_frames": st.cb_resyncs,
        "walls_framed": len(st.walls_framed),
        "callbacks_waiting_at_end": in_flight,
        "walls_answered": len(st.walls_answered),
        "callbacks_late": st.cb_late,
        "wall_interval_median_s": _r(statistics.median(st.intervals)) if st.intervals else None,
        "wall_interval_max_s": _r(max(st.intervals)) if st.intervals else None,
        "walls_with_live_messages": len(st.walls_streaming),
        "streams_open_start": streams_before, "streams_open_end": streams_after,
        "stream_errors": dict(st.stream_status), "stream_error_samples": st.stream_samples,
        "live_status_down_messages": st.live_down,
        "live_events": len(st.live_entry_ms),
        "live_p50_ms": _r(pct(st.live_entry_ms, 50)), "live_p95_ms": _r(pct(st.live_entry_ms, 95)),
        "live_p99_ms": _r(pct(st.live_entry_ms, 99)),
        "screens_loop_lag_p50_ms": _r(pct(st.loop_lag_ms, 50)),
        "screens_loop_lag_p95_ms": _r(pct(st.loop_lag_ms, 95)),
        "live_ts_p50_ms": _r(pct(st.live_ts_ms, 50)), "live_ts_p95_ms": _r(pct(st.live_ts_ms, 95)),
        "leader_requests": len(st.leader_ms), "leader_status": dict(st.leader_status),
        "leader_error_samples": st.leader_samples,
        "leader_p50_ms": _r(pct(st.leader_ms, 50)), "leader_p95_ms": _r(pct(st.leader_ms, 95)),
        "leader_views": st.leader_views,
        "first_views": st.first_views,
        "tick_all_regions_loaded": tick_loaded,
        **cpu_pct, **pg_cpu,
        "generator_cpu_pct": round(generator, 1), "machine_busy_pct": round(machine_busy, 1),
        "other_cpu_pct": round(other, 1),
        "profile": prof,
    }


def _r(v, nd=1):
    return None if v is None else round(v, nd)


def _f(v, nd=0):
    return "—" if v is None else f"{v:,.{nd}f}"


# -- report ----------------------------------------------------------------------------
def table(res: dict) -> str:
    ld = res["load"]
    fv = [v for v in ld["first_views"] if v["status"] == "200"]
    fv_ms = [v["ms"] for v in fv]
    kpi = [v["ms"] for v in fv if v["view"].startswith("/kpi")]
    reg = [v["ms"] for v in fv if v["view"].startswith("/region")]
    tick, tick_l = res["tick_all_regions_idle"], ld["tick_all_regions_loaded"]
    rows = [
        ("cases (gw_case rows)", f"{res['cases']:,}", ""),
        ("screens driven: walls (regions) + leaders on /kpi",
         f"{ld['walls']:,} + {ld['leaders']}", ""),
        ("full scan `SELECT sum(dispatch_count) FROM gw_case`, before the load (median of 3)",
         f"{_f(res['full_scan']['median_ms'])} ms", res["full_scan"]["load1"]),
        ("one live board of every region (`live_board`, median of 5), before the load",
         f"{_f(tick['median_ms'])} ms (SQL {_f(tick.get('sql_median_ms'))} ms)", tick["load1"]),
        ("the same, under the load (after the measured window)",
         f"{_f(tick_l['median_ms'])} ms (SQL {_f(tick_l.get('sql_median_ms'))} ms)",
         tick_l["load1"]),
        (f"first view, page cache off, /kpi (n={len(kpi)}): median / max",
         f"{_f(_med(kpi))} / {_f(max(kpi) if kpi else None)} ms", _med_load(fv, "/kpi")),
        (f"first view, page cache off, /region (n={len(reg)}): median / max",
         f"{_f(_med(reg))} / {_f(max(reg) if reg else None)} ms", _med_load(fv, "/region")),
        ("first views that failed (status ≠ 200)",
         f"{len(ld['first_views']) - len(fv_ms)} of {len(ld['first_views'])}", ""),
        ("wall callbacks answered / expected per s", f"{ld['callbacks_per_s']} / "
         f"{ld['callbacks_expected_per_s']}", ld["load1_median"]),
        ("wall callback p50 / p95 / p99 (limit p95 ≤ 200 ms)",
         f"{_f(ld['callback_p50_ms'])} / **{_f(ld['callback_p95_ms'])}** / "
         f"{_f(ld['callback_p99_ms'])} ms", ld["load1_median"]),
        ("panel frames over the live feeds: per s; walls that got ≥ 1",
         f"{ld.get('frames_per_s', 0)}; {ld.get('walls_framed', 0):,} of {ld['walls']:,}",
         ld["load1_median"]),
        ("frame's age at the screen, from its tick's clock: p50 / p95 / p99",
         f"{_f(ld.get('frame_p50_ms'))} / **{_f(ld.get('frame_p95_ms'))}** / "
         f"{_f(ld.get('frame_p99_ms'))} ms", ld["load1_median"]),
        ("frames that did not fit the screen (each brings a refresh); median size",
         f"{ld.get('frame_misfits', 0):,}; {_f(ld.get('frame_bytes_median'))} B", ""),
        ("the start (the warm-up before the window): wall callbacks by status; answered "
         "p50 / p95",
         f"{_counts(ld.get('warmup_callback_status') or {})}; "
         f"{_f(ld.get('warmup_callback_p50_ms'))} / {_f(ld.get('warmup_callback_p95_ms'))} ms",
         ""),
        ("wall callbacks by status; still waiting at the end of the window",
         f"{_counts(ld['callback_status'])}; {ld['callbacks_waiting_at_end']:,}", ""),
        ("answers after the screen showed 数据延迟 (> 3 told intervals + 5 s)",
         f"{ld['answers_after_stale_badge']:,}", ""),
        ("of those answers, later than the --timeout (a screen waits for its answer)",
         f"{ld.get('callbacks_late', 0):,}", ""),
        ("walls that got ≥ 1 answer in the window",
         f"{ld['walls_answered']:,} of {ld['walls']:,}", ""),
        ("refresh interval the server told the walls: median / max (the tick: "
         f"{res['meta']['refresh_seconds']:g} s)", f"{_f(ld['wall_interval_median_s'], 1)} / "
         f"{_f(ld['wall_interval_max_s'], 1)} s", ""),
        ("live events received; p50 / p95 / p99 entry→screen (limit p95 ≤ 100 ms)",
         f"{ld['live_events']:,}; {_f(ld['live_p50_ms'])} / **{_f(ld['live_p95_ms'])}** / "
         f"{_f(ld['live_p99_ms'])} ms", ld["load1_median"]),
        ("the screens' own event loop: timer lag p50 / p95 (added to every latency above)",
         f"{_f(ld.get('screens_loop_lag_p50_ms'))} / {_f(ld.get('screens_loop_lag_p95_ms'))} ms",
         ""),
        ("live p95 from the event's own `ts` (holds the simulator's 1 s batching)",
         f"{_f(ld['live_ts_p95_ms'])} ms", ""),
        ("live streams open at start / end of the window; stream errors",
         f"{ld['streams_open_start']:,} / {ld['streams_open_end']:,}; "
         f"{_counts(ld['stream_errors']) or 0}", ""),
        ("walls with ≥ 1 live message (events or the 5 s status heartbeat)",
         f"{ld['walls_with_live_messages']:,} of {ld['walls']:,}", ""),
        ("leaders' /kpi (page cache on): requests, p50 / p95",
         f"{ld['leader_requests']}, {_f(ld['leader_p50_ms'])} / {_f(ld['leader_p95_ms'])} ms; "
         f"{_counts(ld['leader_status'])}", ld["load1_median"]),
        ("CPU, % of one core: web workers / probe / simulator / generator",
         f"{ld.get('web_workers_cpu_pct')} / {ld.get('probe_cpu_pct')} / "
         f"{ld.get('simulator_cpu_pct')} / {ld['generator_cpu_pct']}", ld["load1_median"]),
        ("CPU, % of one core: PostgreSQL all / bench database's backends; rest of the machine",
         f"{ld['postgres_cpu_pct']} / {ld['bench_db_backends_cpu_pct']}; {ld['other_cpu_pct']}",
         ld["load1_median"]),
        ("machine busy (% of one core, 200 = both cores)", f"{ld['machine_busy_pct']}", ""),
    ]
    out = ["| figure | value | load avg (1 min) |", "|---|---|--:|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out) + "\n"


def _med(xs):
    return statistics.median(xs) if xs else None


def follow_from_stream_start(url: str) -> None:
    """The aggregates' follower reads the stream from its first entry (after a rebuild
    when the stream began after it: no entry was missed)."""
    eng = sa.create_engine(url)
    try:
        aggregates.record_info(eng, stream_pos="0-0")
    finally:
        eng.dispose()


def _med_load(views, prefix):
    xs = [v["load1"] for v in views if v["view"].startswith(prefix)]
    return statistics.median(xs) if xs else ""


def _counts(c: dict) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(c.items(), key=lambda kv: -kv[1]))


def _save(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    tmp.replace(path)


# -- main ------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--cases", type=int, default=1_000_000, help="cases to seed (about)")
    p.add_argument("--database-url", default=DEFAULT_URL,
                   help="its own database: dropped and created again when seeding")
    p.add_argument("--skip-seed", "--reuse", dest="skip_seed", action="store_true",
                   help="reuse the database as it is (seeded by this tool or bench.seed_and_query)")
    p.add_argument("--no-simulate", action="store_true",
                   help="no simulator (nothing writes to the database; live streams stay quiet)")
    p.add_argument("--redis-url", default=os.environ.get("GRIDWATCH_TEST_REDIS_URL",
                                                         "redis://127.0.0.1:6379/0"))
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers of the server")
    p.add_argument("--refresh", type=float, default=5.0,
                   help="GRIDWATCH_REFRESH_SECONDS (the app's default is 5)")
    p.add_argument("--speed", type=float, default=1.0, help="simulator speed")
    p.add_argument("--levels", default=",".join(LEVELS),
                   help="region levels that get a wall (default: province down to townships)")
    p.add_argument("--walls", type=int, default=0, help="at most this many walls (0: all)")
    p.add_argument("--leaders", type=int, default=50)
    p.add_argument("--think-min", type=float, default=5.0, help="a leader's look at a page, s")
    p.add_argument("--think-max", type=float, default=20.0)
    p.add_argument("--first-views", type=int, default=12,
                   help="first views on the probe server (page cache off), one at a time")
    p.add_argument("--first-view-timeout", type=float, default=120.0)
    p.add_argument("--timeout", type=float, default=30.0,
                   help="an answer later than this (s) counts as late; a screen gives up on it"
                        " after HOLD times as long")
    p.add_argument("--warmup", type=float, default=45.0, help="unmeasured seconds of load")
    p.add_argument("--seconds", type=float, default=120.0, help="measured seconds of load")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="a setting of the served app, e.g. GRIDWATCH_CALLBACKS_MAX=48 "
                        "(repeatable; the bench's own environment's are not passed on)")
    p.add_argument("--profile", type=float, default=0.0,
                   help="py-spy the web workers for this many seconds of the window (0: no)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the results here (keys: cases, regions, "
                   "full_scan_ms, tick_all_regions_ms, first_view_ms, callback_p95_ms, "
                   "live_p95_ms, ...)")
    p.add_argument("--markdown", type=Path, help="also write the results table here")
    args = p.parse_args(argv)
    args.levels = [x.strip() for x in args.levels.split(",") if x.strip()]
    bad = set(args.levels) - set(LEVELS)
    if bad:
        p.error(f"unknown levels {sorted(bad)}; choose from {LEVELS}")
    return args


def _terminated(signum, _frame):
    raise SystemExit(128 + signum)


def main(argv=None) -> int:
    args = parse_args(argv)
    import redis
    from sqlalchemy.engine import make_url

    args.dbname = check_bench_db(args.database_url)
    if args.dbname in FOREIGN_DBS:
        raise SystemExit(f"{args.dbname} is someone else's; the served app writes to its "
                         "database (aggregates): give the bench its own")
    if make_url(args.database_url).get_backend_name() != "postgresql":
        raise SystemExit("the province bench runs on PostgreSQL (production's database)")
    raise_fd_limit()
    # A `kill` ends the run through its `finally`: the servers and the simulator it
    # started stop too (left running, the simulator kept writing into the database and
    # the next seeding failed on its case ids).
    signal.signal(signal.SIGTERM, _terminated)
    started = datetime.now(timezone.utc)
    out = args.json or RESULTS / f"province-scale-{started:%Y%m%dT%H%M%SZ}.json"
    # One prefix per database, and its event stream kept between runs, as a deployment
    # keeps its stream: a new stream each run was a gap in the aggregates' follower's
    # stream (its position gone), so every run began by recomputing every stored day,
    # minutes at 10M, and timed that instead of the province's load.
    prefix = f"gwbench:{args.dbname}:"
    stream_key = prefix + "events"
    work = Path(tempfile.mkdtemp(prefix="gw-province-"))
    args.work_dir = work
    extra = {"PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
             "GRIDWATCH_REFRESH_SECONDS": str(args.refresh)}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("GRIDWATCH_"):
            raise SystemExit(f"--set {item!r}: expected GRIDWATCH_NAME=VALUE")
        extra[name] = value
    env = make_env(work / "main", args.database_url, args.redis_url, prefix, **extra)
    probe_env = dict(env, GRIDWATCH_DATA_DIR=str(work / "probe"), GRIDWATCH_PAGE_CACHE_SECONDS="0")
    (work / "main").mkdir()
    (work / "probe").mkdir()
    dep = Deployment(env=env, data_dir=work / "main")
    probe = Deployment(env=probe_env, data_dir=work / "probe")
    r = redis.Redis.from_url(args.redis_url)
    sim = None
    result: dict = {"meta": {
        "started": started.isoformat(timespec="seconds"),
        "command": "python -m bench.province_scale " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "machine": machine(), "database": args.dbname, "refresh_seconds": args.refresh,
        "workers": args.workers, "speed": args.speed, "keys": prefix + "*",
        "limits": {"callback_p95_ms": CALLBACK_LIMIT_MS, "live_p95_ms": LIVE_LIMIT_MS}}}
    try:
        if not args.skip_seed:
            print(f"[scale] seeding {args.cases:,} cases into {args.dbname} ...", flush=True)
            r.delete(stream_key)     # another seed's entries: not this database's cases
            result["seeding"] = seed(args.database_url, args.cases, None, 2, args.seed,
                                     datetime.now(timezone.utc))
            t0 = time.perf_counter()
            print("[scale]", dep.cli("aggregates", "rebuild", timeout=3600).strip(), flush=True)
            result["seeding"]["aggregates_s"] = round(time.perf_counter() - t0, 1)
            # The seed wrote no stream: everything after the rebuild is in the new one.
            follow_from_stream_start(args.database_url)
        else:
            dep.cli("db", "upgrade")
            result["vacuumed"] = vacuum_dead(args.database_url)
            print(f"[scale] vacuumed {result['vacuumed']}", flush=True)
        meta = bench_meta(args.database_url)
        scale = float(meta.get("scale") or 1.0)
        eng = sa.create_engine(args.database_url)
        with eng.connect() as conn:
            cases = conn.exec_driver_sql("select count(*) from gw_case").scalar()
            first = conn.exec_driver_sql("select min(reported_at) from gw_case").scalar()
            newest = conn.exec_driver_sql("select max(reported_at) from gw_case").scalar()
        eng.dispose()
        # The servers and the simulator run at the real clock. A database whose newest
        # case is hours old makes the simulator replay the gap during the run (its
        # catch-up) and the walls' "today" a day the seed never filled: the run would
        # time that, not the province's live load. (A database seeded by another bench,
        # pinned to last Thursday, is such a database.)
        behind = (datetime.now(timezone.utc) - newest).total_seconds() if newest else 0.0
        if behind > MAX_BEHIND_SECONDS:
            raise SystemExit(f"the database's newest case is {behind / 3600:.1f} h old: "
                             "seed it again (without --skip-seed) so that its clock is now")
        zone = ZoneInfo(TZ)
        today = datetime.now(zone).date()
        days = ((first.astimezone(zone).date() if first else today), today)
        regions = region_codes(args.database_url)
        result["meta"].update({"scale": scale, "seeded": meta, "cases": cases,
                               "regions_by_level": {k: len(v) for k, v in regions.items()}})
        print(f"[scale] {cases:,} cases from {days[0]} (scale {scale:.3f}); regions "
              f"{ {k: len(v) for k, v in regions.items()} }", flush=True)

        result["full_scan"] = full_scan(args.database_url)
        print(f"[scale] full scan {result['full_scan']}", flush=True)
        result["tick_all_regions_idle"] = tick_all_regions(args.database_url)
        print(f"[scale] live board, idle: {result['tick_all_regions_idle']}", flush=True)

        if not args.no_simulate:
            # The simulator first plays the minutes since it last ran (its catch-up): done
            # here, before the servers start, so that no run times a replayed burst (the
            # gap between two runs varies, and so did the events of each run by 3x).
            print("[scale]", dep.cli("simulate", "--duration", "1", "--speed", "1",
                                     "--scale", f"{scale:.6f}", timeout=1800).strip()
                  .splitlines()[-1], flush=True)
            sim_log = open(work / "simulate.log", "ab")
            sim = subprocess.Popen([sys.executable, "-m", "dashboard.app.cli", "simulate",
                                    "--speed", str(args.speed), "--scale", f"{scale:.6f}"],
                                   env=env, cwd=ROOT, stdout=sim_log, stderr=sim_log)
        dep.start(workers=args.workers)
        probe.start(workers=1)
        # The leaders and the first viewer log in (one leader account of the province, on
        # each server); each wall is a wall device of its region (run_load enrols them).
        # The tests' helpers: an account made as `gridwatch users add` makes one (audited,
        # no forced change), and a login through the real /login form.
        from tests.logins import http_login, make_account
        accounts = [make_account(args.database_url, "leader", (REGION,))
                    for _ in range(max(args.leaders, 1))]
        LOGINS[dep.url] = [http_login(dep.url, user, password) for user, password in accounts]
        LOGINS[probe.url] = [http_login(probe.url, *accounts[0])]
        body_wall, body_route = capture_bodies(dep.url, LOGINS[dep.url][0])
        result["meta"]["callback_bodies"] = {"wall": body_wall, "route": body_route}
        web = _descendants(dep.proc.pid)
        # serve -> gunicorn master -> workers
        workers = [w for master in _children(dep.proc.pid) for w in _children(master)]
        pids = {"web_workers": workers,
                "web_all": [dep.proc.pid, *web],
                "probe": [probe.proc.pid, *_descendants(probe.proc.pid)],
                "simulator": [sim.pid] if sim else []}
        print(f"[scale] serving {dep.url} (workers {pids['web_workers']}), probe {probe.url}; "
              f"bodies captured ({len(json.dumps(body_wall))} and {len(json.dumps(body_route))} "
              "bytes)", flush=True)
        result["load"] = asyncio.run(run_load(dep.url, probe.url, body_wall, body_route,
                                              regions, args, days, pids))
        result["meta"]["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    finally:
        stop_process(sim)
        probe.stop()
        dep.stop()
        log = dep.log_text()
        result.setdefault("meta", {})["serve_log_lines"] = len(log.splitlines())
        result["meta"]["serve_log_errors"] = sum(1 for line in log.splitlines()
                                                 if "ERROR" in line or "Traceback" in line)
        result["meta"]["serve_log_tail"] = log.splitlines()[-40:]
        sim_log_path = work / "simulate.log"
        if sim_log_path.exists():
            result["meta"]["simulate_log_tail"] = sim_log_path.read_text(
                errors="replace").splitlines()[-10:]
        keys = [k for k in r.scan_iter(match=prefix + "*", count=1000)
                if k.decode() != stream_key]
        for k in range(0, len(keys), 1000):
            r.delete(*keys[k:k + 1000])
        # The raw py-spy stacks beside the results (for flame graphs and deeper reading
        # than the summary's top entries).
        for f in work.glob("py-spy-*.txt"):
            shutil.copy(f, out.parent / f"{out.stem}.{f.name}")
        # And the servers' logs (gevent's blocking reports with GEVENT_MONITOR_THREAD_ENABLE).
        for f in [*work.glob("main/serve-*.log"), *work.glob("probe/serve-*.log")]:
            shutil.copy(f, out.parent / f"{out.stem}.{f.parent.name}-{f.name}")
        shutil.rmtree(work, ignore_errors=True)
        _flatten(result)
        _save(out, result)
    if "load" in result:
        md = table(result)
        print(md)
        if args.markdown:
            args.markdown.write_text(md, encoding="utf-8")
    print(f"[scale] results in {out}")
    return 0


def _flatten(result: dict) -> None:
    """The headline keys of --json."""
    ld = result.get("load") or {}
    result.update({
        "cases": result.get("meta", {}).get("cases"),
        "regions": ld.get("walls"),
        "full_scan_ms": (result.get("full_scan") or {}).get("median_ms"),
        "tick_all_regions_ms": (result.get("tick_all_regions_idle") or {}).get("median_ms"),
        "tick_all_regions_loaded_ms": (ld.get("tick_all_regions_loaded") or {}).get("median_ms"),
        "first_view_ms": [v["ms"] for v in ld.get("first_views", [])],
        "callback_p95_ms": ld.get("callback_p95_ms"),
        "live_p95_ms": ld.get("live_p95_ms"),
        "frame_p95_ms": ld.get("frame_p95_ms"),
        "load1_median": ld.get("load1_median"),
    })


if __name__ == "__main__":
    sys.exit(main())
