"""The `gridwatch` command: db init, regions import, seed, simulate, serve, demo, health."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from dashboard.app.runtime import Runtime
from dashboard.app.settings import Settings
from dashboard.views.health import collect_health
from data_sources.embedded_redis import pdeathsig_preexec
from data_sources.region_import import RegionImportError
from data_sources.regions import RegionNotLoaded, import_region
from simulator.live import LiveSimulator
from simulator.seed import seed_history
from simulator.world import World

log = logging.getLogger("gridwatch")
# Three weeks: the slowest open cases (红牌 at 10 working days, 15-day deadlines plus
# extensions) only exist with that much history; with two weeks a wall showed 1 红牌
# against 1,284 黄牌.
DEMO_DAYS, DEMO_SCALE, DEMO_SEED = 21, 0.05, 42
# A simulator restarted after a longer pause fast-forwards through the gap, up to a week.
CATCH_UP_AFTER_SECONDS, CATCH_UP_MAX_DAYS = 120, 7


def _settings(ctx) -> Settings:
    return ctx.obj["settings"]


@click.group()
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory [GRIDWATCH_DATA_DIR].")
@click.option("--database-url", help="SQLAlchemy URL [GRIDWATCH_DATABASE_URL]; default SQLite in the data dir.")
@click.option("--redis-url", help="Redis URL [GRIDWATCH_REDIS_URL]; default: embedded Redis.")
@click.option("--region", help="Root region code [GRIDWATCH_REGION], default 320000 江苏省.")
@click.option("-v", "--verbose", is_flag=True)
@click.pass_context
def main(ctx, data_dir, database_url, redis_url, region, verbose):
    """gridwatch: 网格化社会治理指挥中心大屏 (command-center dashboard)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url,
                                     redis_url=redis_url, region=region)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.obj = {"settings": settings}


# -- db ------------------------------------------------------------------------
@main.group()
def db():
    """Database schema."""


@db.command("init")
@click.pass_context
def db_init(ctx):
    """Create the tables and indexes (safe to run again)."""
    with Runtime(_settings(ctx)) as rt:
        rt.db.init_schema()
        click.echo(f"schema ready in {_redact(rt.db.url)}")


# -- regions -------------------------------------------------------------------
@main.group()
def regions():
    """The region tree (province → city → county → township → community → grid)."""


@regions.command("import")
@click.argument("code")
@click.option("--seed", default=0, show_default=True, help="Seed for the generated lower levels.")
@click.pass_context
def regions_import(ctx, code, seed):
    """Import a province or city by its GB/T 2260 code, e.g. 320000 or 330100."""
    with Runtime(_settings(ctx)) as rt:
        counts = _import_region(rt, code, seed)
        click.echo(f"region {code} imported: {counts}")
        click.echo(f"serve it with GRIDWATCH_REGION={code} (or --region {code})")


def _import_region(rt: Runtime, code: str, seed: int = 0) -> dict:
    rt.db.init_schema()
    try:
        return import_region(rt.db.engine, code, rt.settings.geo_dir, seed=seed)
    except RegionImportError as exc:
        raise click.ClickException(str(exc)) from None


def _ensure_region(rt: Runtime) -> None:
    rt.db.init_schema()
    try:
        rt.region_tree()
    except RegionNotLoaded:
        click.echo(f"importing region {rt.settings.region} ...")
        _import_region(rt, rt.settings.region)
        rt.region_tree(reload=True)


# -- seed / simulate -------------------------------------------------------------
@main.command()
@click.option("--days", default=DEMO_DAYS, show_default=True, type=click.IntRange(1, 3660))
@click.option("--scale", default=DEMO_SCALE, show_default=True, type=click.FloatRange(0, 10, min_open=True),
              help="Share of the real intake volume (1 = ~1 case per 1,000 residents a day).")
@click.option("--seed", "seed_", default=DEMO_SEED, show_default=True, type=int)
@click.option("--stream-hours", default=24.0, show_default=True,
              help="Hours of the newest history also written to the Redis Stream.")
@click.option("--no-stream", is_flag=True, help="Write the database only.")
@click.pass_context
def seed(ctx, days, scale, seed_, stream_hours, no_stream):
    """Backfill N days of realistic history (deterministic for a given seed)."""
    with Runtime(_settings(ctx)) as rt:
        if not no_stream:
            rt.start_embedded_redis()
        result = _seed(rt, days, scale, seed_, stream_hours, with_stream=not no_stream)
        click.echo(f"seeded {result.cases:,} cases, {result.events:,} events, "
                   f"{result.stream_entries:,} stream entries in {result.seconds:.1f} s "
                   f"({result.cases_per_second:,.0f} cases/s)")


def _seed(rt: Runtime, days, scale, seed_, stream_hours=24.0, with_stream=True):
    _ensure_region(rt)
    world = World.from_tree(rt.region_tree(), rt.settings.region, seed=seed_)
    result = seed_history(rt.db, rt.redis.stream if with_stream else None, world, days=days,
                          scale=scale, seed=seed_, tz=rt.settings.timezone,
                          now=datetime.now(timezone.utc), stream_hours=stream_hours,
                          progress=sys.stderr.isatty() or not os.environ.get("CI"))
    rt.db.meta_set(_seed_key(rt), json.dumps({"days": days, "scale": scale, "seed": seed_,
                                         "region": rt.settings.region,
                                         "at": datetime.now(timezone.utc).isoformat()}))
    return result


def _seed_key(rt: Runtime) -> str:
    # Per region: one data directory can hold the demos of several regions.
    return f"seeded:{rt.settings.region}"


def _seeded_scale(rt: Runtime, default: float) -> float:
    raw = rt.db.meta_get(_seed_key(rt))
    return json.loads(raw)["scale"] if raw else default


@main.command()
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0, 1000, min_open=True),
              help="Busier and faster than real life by this factor; timestamps stay real.")
@click.option("--duration", type=float, help="Stop after this many seconds (default: run until stopped).")
@click.option("--scale", type=float, help="Volume scale (default: the seeded one).")
@click.option("--seed", "seed_", type=int, help="Random seed (default: random).")
@click.pass_context
def simulate(ctx, speed, duration, scale, seed_):
    """Play the upstream case system live: cases move, events go to the DB and the stream."""
    with Runtime(_settings(ctx)) as rt:
        _install_stop_signals()
        rt.start_embedded_redis()
        sim = _simulator(rt, speed, scale, seed_)
        click.echo(f"simulating region {rt.settings.region} at speed {speed} "
                   f"(scale {sim.scale}); Ctrl-C to stop")
        total = {"cases": 0, "events": 0}

        def report(stats):
            total["cases"] += stats.new_cases
            total["events"] += stats.events

        try:
            sim.run(duration=duration, on_tick=report)
        except KeyboardInterrupt:
            pass
        click.echo(f"simulated {total['cases']} new cases, {total['events']} events")


def _simulator(rt: Runtime, speed: float, scale: float | None, seed_: int | None):
    _ensure_region(rt)
    scale = scale or _seeded_scale(rt, DEMO_SCALE)
    world = World.from_tree(rt.region_tree(), rt.settings.region, seed=DEMO_SEED)
    sim = LiveSimulator(rt.db, rt.redis.stream, world, scale=scale, tz=rt.settings.timezone,
                        speed=speed, seed=seed_)
    _catch_up(rt, sim)
    return sim


def _catch_up(rt: Runtime, sim) -> None:
    """After a pause longer than a few minutes, play the gap before going live."""
    last = rt.db.last_event_at()
    now = datetime.now(timezone.utc)
    if last is None or now - last < timedelta(seconds=CATCH_UP_AFTER_SECONDS):
        return
    since = max(last, now - timedelta(days=CATCH_UP_MAX_DAYS))
    click.echo(f"the simulator was stopped {(now - last) / timedelta(hours=1):.1f} h ago; "
               f"playing the last {(now - since) / timedelta(hours=1):.1f} h so the history "
               "has no hole ...")
    stats = sim.catch_up(since, now, progress=sys.stderr.isatty() or not os.environ.get("CI"))
    click.echo(f"caught up: {stats.new_cases:,} new cases, {stats.events:,} events")


# -- web -------------------------------------------------------------------------
@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.pass_context
def serve(ctx, host, port, workers):
    """Serve the web app on gunicorn against the configured database and Redis."""
    with Runtime(_settings(ctx)) as rt:
        _install_stop_signals()
        rt.start_embedded_redis()
        proc = _start_web(rt.settings, host, port, workers)
        click.echo(f"gridwatch serving at http://{host}:{port}/")
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            _stop_process(proc)


def _start_web(settings: Settings, host: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(settings_env(settings))
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(workers),
           "-b", f"{host}:{port}", "--no-control-socket", "--graceful-timeout", "5",
           "--log-level", "warning", "dashboard.app.wsgi:build()"]
    return subprocess.Popen(cmd, env=env, preexec_fn=pdeathsig_preexec())


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process (gunicorn) the same settings."""
    env = {"GRIDWATCH_DATA_DIR": str(Path(settings.data_dir).resolve()),
           "GRIDWATCH_DATABASE_URL": settings.resolved_database_url,
           "GRIDWATCH_REGION": settings.region, "GRIDWATCH_STREAM_KEY": settings.stream_key,
           "GRIDWATCH_TIMEZONE": settings.timezone, "GRIDWATCH_KEY_PREFIX": settings.key_prefix,
           "GRIDWATCH_REFRESH_SECONDS": str(settings.refresh_seconds)}
    if settings.redis_url:
        env["GRIDWATCH_REDIS_URL"] = settings.redis_url
    if settings.health_token:
        env["GRIDWATCH_HEALTH_TOKEN"] = settings.health_token
    return env


def _wait_http(url: str, timeout: float = 60.0) -> bool:
    import urllib.request
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return True
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    return False


@main.command()
@click.option("--days", default=DEMO_DAYS, show_default=True, type=click.IntRange(1, 3660))
@click.option("--scale", default=DEMO_SCALE, show_default=True, type=click.FloatRange(0, 10, min_open=True))
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(0, 1000, min_open=True))
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
@click.option("--duration", type=float, help="Stop by itself after this many seconds.")
@click.option("--region", help="Region code to demo (imported on first use), e.g. 330000.")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory.")
@click.pass_context
def demo(ctx, days, scale, speed, port, workers, duration, region, data_dir):
    """Everything on one machine: embedded Redis, SQLite, seeded history, live simulator, web."""
    settings = _settings(ctx).with_(region=region, data_dir=data_dir)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    with Runtime(settings) as rt:
        _install_stop_signals()
        _ensure_region(rt)
        rt.start_embedded_redis()
        if rt.db.meta_get(_seed_key(rt)):
            click.echo(f"reusing the data in {Path(settings.data_dir).resolve()}")
        else:
            click.echo(f"seeding {days} days of history at scale {scale} ...")
            result = _seed(rt, days, scale, DEMO_SEED)
            click.echo(f"seeded {result.cases:,} cases in {result.seconds:.1f} s")
        sim = _simulator(rt, speed, None, None)
        stop = threading.Event()
        sim_thread = threading.Thread(target=sim.run, kwargs={"stop": stop}, daemon=True,
                                      name="simulator")
        sim_thread.start()
        proc = _start_web(rt.settings, "127.0.0.1", port, workers)
        url = f"http://127.0.0.1:{port}/"
        try:
            if not _wait_http(url + "healthz"):
                raise click.ClickException("the web app did not start; see the log above")
            click.echo(f"\ngridwatch demo is running: {url}\n"
                       f"  大屏 wall        {url}wall   (?region=320100 ?rotate=30 ?privacy=1 ?lang=en)\n"
                       f"  领导 KPI review  {url}kpi\n"
                       f"  下钻 drill-down  {url}region/{rt.settings.region}\n"
                       f"  运行状态 status  {url}status   (JSON: {url}healthz)\n"
                       "Press Ctrl-C to stop.", err=False)
            started = time.monotonic()
            while proc.poll() is None:
                if duration is not None and time.monotonic() - started >= duration:
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            _stop_process(proc)
            sim_thread.join(timeout=10)
        click.echo("gridwatch demo stopped")


@main.command()
@click.pass_context
def health(ctx):
    """Print the state of the database and Redis as JSON (exit 1 when one is down)."""
    with Runtime(_settings(ctx)) as rt:
        report = collect_health(rt)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(0 if report["status"] == "ok" else 1)


# -- process handling ---------------------------------------------------------------
def _install_stop_signals() -> None:
    """SIGTERM and SIGHUP end the command like Ctrl-C, so `finally` blocks stop children."""
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise)


def _stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


if __name__ == "__main__":
    main()
