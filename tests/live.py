"""Helpers for tests against the real app: a seeded database, `gridwatch serve` (gunicorn,
gevent workers) in a subprocess, and Debian's Chromium driven by Playwright.

Browser tests use PostgreSQL when it answers (production's database), SQLite otherwise.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("GRIDWATCH_TEST_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 5.0, headers: dict | None = None):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                timeout=timeout) as r:
        return json.loads(r.read())


def operator_headers(token: str) -> dict:
    """What an operator sends for /healthz's full report."""
    return {"Authorization": f"Bearer {token}"}


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status < 500:
                    return
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s: {last}")


@dataclass
class Deployment:
    """One gridwatch installation: its environment (database, Redis, keys) and a server."""
    env: dict
    data_dir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, timeout: float = 600) -> str:
        out = subprocess.run([sys.executable, "-m", "dashboard.app.cli", *args], env=self.env,
                             cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"gridwatch {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self, workers: int = 2) -> None:
        self.log_path = self.data_dir / f"serve-{self.port}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard.app.cli", "serve", "--port", str(self.port),
             "--workers", str(workers)], env=self.env, cwd=ROOT, stdout=log, stderr=log)
        wait_http(self.url + "/healthz", timeout=90)

    def health(self, timeout: float = 10.0) -> dict:
        """/healthz's full report (the operator's token from the environment)."""
        return get_json(self.url + "/healthz", timeout,
                        operator_headers(self.env["GRIDWATCH_HEALTH_TOKEN"]))

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def seeded_deployment(tmp_path_factory, url: str, days: int, scale: float) -> Deployment:
    """A database at `url` with `days` of seeded history (no stream, no Redis needed)."""
    data_dir = tmp_path_factory.mktemp("seeded")
    dep = Deployment(env=make_env(data_dir, url, "redis://127.0.0.1:1/0",
                                  f"gwtest:{uuid.uuid4().hex[:8]}:"), data_dir=data_dir)
    dep.cli("db", "init")
    dep.cli("seed", "--days", str(days), "--scale", str(scale), "--no-stream")
    return dep


@contextmanager
def seeded_app(seeded_env, redis_url: str, **settings):
    """The province's app built in the test process on conftest's seeded installation,
    with Redis keys of its own: yields (app, key prefix); its threads are stopped and its
    keys deleted after. `settings`: Settings fields to change (`region`: another root)."""
    from dashboard import create_app
    from dashboard.app.settings import Settings
    env = seeded_env.env
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    app = create_app(Settings(data_dir=seeded_env.data_dir, redis_url=redis_url,
                              database_url=env["GRIDWATCH_DATABASE_URL"], key_prefix=prefix,
                              stream_key=env["GRIDWATCH_STREAM_KEY"],
                              **{"region": "320000", **settings}))
    try:
        yield app, prefix
    finally:
        stop_and_forget(app, redis_url, prefix)


def stop_and_forget(app, redis_url: str, prefix: str) -> None:
    """Stop the app's background threads (so none writes after), then delete its keys."""
    from data_sources.redis_client import make_client
    client = make_client(redis_url)
    try:
        stop_app_threads(app)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def stop_app_threads(app, timeout: float = 30) -> None:
    """Join the background threads an app built in the test process started (the
    warmer its first request started: the pages' and the wall's jobs, background view rebuilds), so
    that none writes keys after the test has deleted its own."""
    import threading
    warmer = app.server.extensions["gridwatch_warmer"]  # the wall's jobs and the pages'
    warmer.stop()
    warmer.join(timeout)
    for thread in [t for t in threading.enumerate() if t.name.startswith("view-")]:
        thread.join(timeout=timeout)


def stop_process(proc: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def make_env(data_dir: Path, database_url: str, redis_url: str, key_prefix: str,
             **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDWATCH_")}
    env.update({
        "GRIDWATCH_DATA_DIR": str(data_dir), "GRIDWATCH_DATABASE_URL": database_url,
        "GRIDWATCH_REDIS_URL": redis_url, "GRIDWATCH_KEY_PREFIX": key_prefix,
        "GRIDWATCH_STREAM_KEY": key_prefix + "events", "GRIDWATCH_REGION": "320000",
        "GRIDWATCH_HEALTH_TOKEN": secrets.token_urlsafe(24),
    })
    env.update(extra)
    return env


def chromium_path() -> str | None:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    return shutil.which("chromium")


def hover_widest_bar(page, chart: str) -> None:
    """Hover the widest bar of the plotly bar chart `chart` (a selector) until its hover
    label shows. Not the last bar: that can be a sliver (a category with a case or two)
    the pointer misses, or outside the viewport. The drag layer above the bars takes the
    pointer; plotly finds the bar under it."""
    bars = page.locator(f"{chart} .bars path")
    widest = page.eval_on_selector_all(
        f"{chart} .bars path", "ps => ps.map(p => p.getBBox().width * p.getBBox().height)"
        ".reduce((best, a, i, all) => a > all[best] ? i : best, 0)")
    bars.nth(widest).scroll_into_view_if_needed()
    bars.nth(widest).hover(force=True)
    page.wait_for_selector(f"{chart} .hoverlayer .hovertext")


class PageWatch:
    """Console errors and requests outside the origin of one Playwright page."""

    def __init__(self, page, origin: str):
        self.errors: list[str] = []
        self.foreign: list[str] = []
        self.origin = origin
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", self._request)

    def _request(self, req) -> None:
        url = req.url
        if not (url.startswith(self.origin) or url.startswith("data:")
                or url.startswith("blob:") or url.startswith("about:")):
            self.foreign.append(url)


def inject_reported_case(database_url: str, redis_url: str, stream_key: str, grid_code: str,
                         case_id: int, category: str = "城市管理", urgency: str = "紧急",
                         at=None) -> str:
    """Play the upstream system for one new case: its row in the database, then its
    REPORTED event on the stream (the data contract's order). Returns the entry ID."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from data_sources.redis_client import make_client
    from data_sources.redis_stream import EventStream
    from data_sources.schema import case
    from data_sources.stream_events import encode_event
    at = at or datetime.now(timezone.utc)
    codes = {"province_code": grid_code[:2] + "0000", "city_code": grid_code[:4] + "00",
             "county_code": grid_code[:6], "township_code": grid_code[:9],
             "community_code": grid_code[:12], "grid_code": grid_code}
    case_no = f"T{case_id:017d}"
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(case.insert().values(
            id=case_id, case_no=case_no, **codes, category=category, subcategory="测试",
            source="网格员巡查上报", urgency=urgency, state="REPORTED", reported_at=at,
            supervision_level=0, updated_at=at))
    engine.dispose()
    client = make_client(redis_url)
    try:
        return EventStream(client, stream_key).append(encode_event(
            "REPORTED", case_id=case_id, seq=1, ts=at, grid=grid_code, state="REPORTED",
            case_no=case_no, category=category, subcategory="测试", source="网格员巡查上报",
            urgency=urgency))
    finally:
        client.close()
