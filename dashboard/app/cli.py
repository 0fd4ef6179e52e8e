"""The `gridwatch` command: db init / upgrade, regions import, seed, simulate, serve, demo,
health; users and audit (cli_accounts.py)."""
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
from tqdm import tqdm

from dashboard.app import collector
from dashboard.app.cli_accounts import audit, demo_accounts, users
from dashboard.app.cli_walls import demo_wall, walls
from dashboard.app.runtime import Runtime
from dashboard.app.settings import Settings
from dashboard.domain.periods import local_today
from dashboard.views.health import collect_health
from data_sources import aggregate_summary
from data_sources import aggregates as agg
from data_sources.embedded_redis import pdeathsig_preexec
from data_sources.event_feed import RedisEventFeed
from data_sources.migrate import SchemaMismatch, current_revision, head_revision, new_revision
from data_sources.region_import import RegionImportError
from data_sources.regions import RegionNotLoaded, import_region
from simulator import summary_history
from simulator.live import LiveSimulator
from simulator.seed import seed_history
from simulator.world import World

log = logging.getLogger("gridwatch")
# Three weeks: the slowest open cases (红牌 at 10 working days, 15-day deadlines plus
# extensions) only exist with that much history; with two weeks a wall showed 1 红牌
# against 1,284 黄牌.
DEMO_DAYS, DEMO_SCALE, DEMO_SEED = 21, 0.05, 42
# Months before the cases kept as daily aggregates only: 13 give 去年同期 of this month
# and of last month (docs/aggregates.md, "Aggregate-only days").
DEMO_SUMMARY_MONTHS = 13
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
    # Alembic says "Context impl ..." for every connection it looks at; gridwatch prints
    # what a migration did. -v shows Alembic's own lines.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
    try:
        settings = Settings.from_env(data_dir=data_dir, database_url=database_url,
                                     redis_url=redis_url, region=region)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.obj = {"settings": settings}


main.add_command(users)
main.add_command(audit)
main.add_command(walls)


# -- db ------------------------------------------------------------------------
@main.group()
def db():
    """Database schema."""


@db.command("init")
@click.pass_context
def db_init(ctx):
    """Create the tables and indexes: `db upgrade` on an empty database (safe to run again)."""
    _db_upgrade(ctx)


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx):
    """Apply the schema migrations up to the newest (adopts a database from before them)."""
    _db_upgrade(ctx)


def _db_upgrade(ctx) -> None:
    with Runtime(_settings(ctx)) as rt:
        try:
            result = rt.db.init_schema()
        except SchemaMismatch as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{_redact(rt.db.url)}: {result.describe()}")


@db.command("current")
@click.pass_context
def db_current(ctx):
    """Print the database's schema revision and the newest one."""
    with Runtime(_settings(ctx)) as rt:
        with rt.db.engine.connect() as conn:
            current = current_revision(conn)
        head = head_revision()
        state = ("up to date" if current == head else
                 "not migrated: run `gridwatch db upgrade`" if current is None else
                 "behind: run `gridwatch db upgrade`")
        click.echo(f"{_redact(rt.db.url)}: revision {current or 'none'}, newest {head} ({state})")


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does, e.g. 'add aggregates'.")
@click.option("--empty", is_flag=True, help="Write an empty revision instead of comparing.")
@click.pass_context
def db_revision(ctx, message, empty):
    """(Developers) write the next migration, autogenerated from data_sources/schema.py.

    Compares the configured database, which must be at the newest revision (use a
    scratch one), with the models; review the file on SQLite and PostgreSQL.
    """
    with Runtime(_settings(ctx)) as rt:
        try:
            paths = new_revision(rt.db.engine, message, autogenerate=not empty)
        except Exception as exc:  # noqa: BLE001 - alembic's "not up to date" and the like
            raise click.ClickException(str(exc)) from None
    for path in paths:
        click.echo(f"wrote {path}")


# -- aggregates ----------------------------------------------------------------
@main.group()
def aggregates():
    """Daily aggregates of the case table (docs/aggregates.md)."""


@aggregates.command("rebuild")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First local day to recompute (default: the first case's day).")
@click.pass_context
def aggregates_rebuild(ctx, since):
    """Recompute the finished days' aggregates from the case table (each day replaced
    whole: safe to run again, or while gridwatch serves)."""
    with Runtime(_settings(ctx)) as rt:
        _require_current_schema(rt)
        tz = rt.settings.timezone
        now = datetime.now(timezone.utc)
        today = local_today(now, tz)
        first = since.date() if since else (agg.first_case_day(rt.db.engine, tz) or today)
        if first > today:
            raise click.ClickException(f"--since {first} is after today ({today})")
        only_until = aggregate_summary.protected_until(rt.db.engine)
        if only_until and first < only_until:
            # Days kept as aggregates only have no cases to recompute them from.
            click.echo(f"the days before {only_until} are aggregates only: kept as they are")
            first = min(only_until, today)
        started = time.perf_counter()
        with tqdm(total=(today - first).days, unit="天", desc="aggregates",
                  disable=not (sys.stderr.isatty() or not os.environ.get("CI"))) as bar:
            kept, horizon, rows = agg.rebuild_all(rt.db.engine, tz, today, since=first,
                                                  progress=lambda _day: bar.update(1),
                                                  now=now)
        click.echo(f"aggregated {(today - first).days:,} days ({rows:,} rows) in "
                   f"{time.perf_counter() - started:.1f} s; stored days: {kept} to "
                   f"{horizon - timedelta(days=1)} ({tz})")


@aggregates.command("history")
@click.option("--months", default=DEMO_SUMMARY_MONTHS, show_default=True,
              type=click.IntRange(1, 120), help="Back to the first of the month this many "
              "months before this one.")
@click.option("--scale", type=float, help="Volume scale (default: the seeded one).")
@click.option("--seed", "seed_", type=int, help="Random seed (default: the seeded one).")
@click.pass_context
def aggregates_history(ctx, months, scale, seed_):
    """Simulate the months before the first case as daily aggregates only (no cases):
    /kpi's 上期 and 去年同期 read them. The months /kpi's default views compare first
    (this month's 去年同期 and 上期), then the rest newest first; resumes where it stopped."""
    with Runtime(_settings(ctx)) as rt:
        _require_current_schema(rt)
        _ensure_region(rt)
        seeded = json.loads(rt.db.meta_get(_seed_key(rt)) or "{}")
        result = _fill_history(rt, months, scale or seeded.get("scale", DEMO_SCALE),
                               seed_ if seed_ is not None else seeded.get("seed", DEMO_SEED))
        click.echo(f"history: {result.days:,} days as aggregates only ({result.rows:,} rows, "
                   f"{result.cases:,} simulated cases) in {result.seconds:.1f} s")


def _fill_history(rt: Runtime, months: int, scale: float, seed_: int):
    def make_world():
        return World.from_tree(rt.region_tree(), rt.settings.region, seed=seed_)
    return summary_history.fill(rt.db, make_world, months=months, scale=scale, seed=seed_,
                                tz=rt.settings.timezone, now=datetime.now(timezone.utc),
                                scratch_dir=Path(rt.settings.data_dir),
                                progress=sys.stderr.isatty() or not os.environ.get("CI"))


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
@click.option("--seed", "seed_", default=DEMO_SEED, show_default=True, type=click.IntRange(0))
@click.option("--stream-hours", default=24.0, show_default=True,
              help="Hours of the newest history also written to the Redis Stream.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes that seed a share of the counties each (PostgreSQL only; the "
                   "rows are the same). Default: the cores, for a seed of 50,000 cases or "
                   "more on PostgreSQL; else 1.")
@click.option("--no-stream", is_flag=True, help="Write the database only.")
@click.option("--summary-months", default=0, show_default=True, type=click.IntRange(0, 120),
              help="Also simulate the months before the cases, back to this many months "
                   "before this one, as daily aggregates only (`aggregates history`).")
@click.pass_context
def seed(ctx, days, scale, seed_, stream_hours, workers, no_stream, summary_months):
    """Backfill N days of realistic history (deterministic for a given seed)."""
    with Runtime(_settings(ctx)) as rt:
        if workers and workers > 1 and rt.db.dialect != "postgresql":
            raise click.UsageError("--workers above 1 needs PostgreSQL (each worker writes "
                                   "its own COPY); SQLite seeds in one process")
        if not no_stream:
            rt.start_embedded_redis()
        result = _seed(rt, days, scale, seed_, stream_hours, with_stream=not no_stream,
                       workers=workers)
        click.echo(f"seeded {result.cases:,} cases, {result.events:,} events, "
                   f"{result.stream_entries:,} stream entries in {result.seconds:.1f} s "
                   f"({result.cases_per_second:,.0f} cases/s)")
        if summary_months:
            filled = _fill_history(rt, summary_months, scale, seed_)
            click.echo(f"history: {filled.days:,} days before the cases as aggregates only "
                       f"in {filled.seconds:.1f} s")


def _seed(rt: Runtime, days, scale, seed_, stream_hours=24.0, with_stream=True,
          workers=None):
    _ensure_region(rt)
    world = World.from_tree(rt.region_tree(), rt.settings.region, seed=seed_)
    result = seed_history(rt.db, rt.redis.stream if with_stream else None, world, days=days,
                          scale=scale, seed=seed_, tz=rt.settings.timezone,
                          now=datetime.now(timezone.utc), stream_hours=stream_hours,
                          progress=sys.stderr.isatty() or not os.environ.get("CI"),
                          workers=workers)
    # The finished days' aggregates, so that the pages read them from the first request.
    now = datetime.now(timezone.utc)
    agg.rebuild_all(rt.db.engine, rt.settings.timezone, local_today(now, rt.settings.timezone),
                    now=now)
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
        _require_current_schema(rt)
        _install_stop_signals()
        rt.start_embedded_redis()
        builder = _start_builder(rt.settings)
        proc = _start_web(rt.settings, host, port, workers)
        click.echo(f"gridwatch serving at http://{host}:{port}/")
        try:
            proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            _stop_process(proc)
            _stop_process(builder)


def _require_current_schema(rt: Runtime) -> None:
    """Refuse to serve a database whose schema is behind this code's (every page would
    fail on a missing column); a database that does not answer yet is served, and the
    wall waits for it."""
    try:
        with rt.db.engine.connect() as conn:
            current = current_revision(conn)
    except Exception:  # noqa: BLE001 - down: the pages say so and recover by themselves
        return
    head = head_revision()
    if current != head:
        raise click.ClickException(
            f"the database schema is at revision {current or 'none'}, this gridwatch needs "
            f"{head}: run `gridwatch db upgrade` first (docs/migrations.md)")


WORKER_CONNECTIONS = 4000


def _start_builder(settings: Settings) -> subprocess.Popen:
    """`gridwatch build-walls` beside the web workers: it builds the walls' live models
    for all of them, so that no worker's requests wait behind that work (under gevent a
    worker that builds holds its requests while it computes)."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    cmd = [sys.executable, "-m", "dashboard.app.cli", "build-walls"]
    return subprocess.Popen(cmd, env=env, preexec_fn=pdeathsig_preexec())


@main.command("build-walls")
@click.pass_context
def build_walls(ctx):
    """Build the walls' live models for every web worker, at each tick (`serve` and `demo`
    start it; docs/live-board.md)."""
    # Imported here: the web app (Dash, plotly) is what this command runs, and no other
    # command should pay for importing it.
    from dashboard.app.factory import create_app
    settings = _settings(ctx).with_(wall_builder="process")
    _install_stop_signals()
    app = create_app(settings)      # the web workers' own wiring; it serves nothing
    collector.settle(settings.gc_young)
    wall = app.server.extensions["gridwatch_wall"]
    every = settings.refresh_seconds
    next_tick = time.time() - time.time() % every + every + 0.02   # just after it starts
    failing = None
    try:
        while True:
            try:
                if time.time() >= next_tick:
                    next_tick += every * max(1, int((time.time() - next_tick) // every) + 1)
                    wall.build_tick()
                else:
                    # Between ticks: the walls just opened, at once (their first answer).
                    asked = wall.published.asked(next_tick - time.time())
                    if asked:
                        wall.build_asked(asked)
            except Exception as exc:  # noqa: BLE001 - the database or Redis down: next tick
                # Said once per outage, not at every try.
                said, failing = failing, str(exc).splitlines()[0]
                (log.info if said == failing else log.warning)(
                    "building the walls failed: %s", failing)
                time.sleep(max(0.0, min(1.0, next_tick - time.time())))
                continue
            failing = None
    except KeyboardInterrupt:
        pass


def _start_web(settings: Settings, host: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(settings_env(settings))
    # The builder process builds the walls; a worker does only when it is gone.
    env["GRIDWATCH_WALL_BUILDER"] = "process"
    # gevent's default of 1,000 connections per worker is what a province's live feeds
    # alone take (1,345 walls): the walls' refreshes then waited in the listen queue
    # until they timed out. Feeds are capped per worker (GRIDWATCH_LIVE_STREAMS_MAX).
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(workers),
           "--worker-connections", str(WORKER_CONNECTIONS),
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


def _start_history(settings: Settings, months: int) -> subprocess.Popen:
    """`gridwatch aggregates history` in a child process (its progress bar on this
    console, its progress in gw_meta and /healthz); it resumes where a stopped demo left."""
    env = dict(os.environ)
    env.update(settings_env(settings))
    # The data directory on the command line too: it names the process as the demo's.
    cmd = [sys.executable, "-m", "dashboard.app.cli", "--data-dir",
           str(Path(settings.data_dir).resolve()), "aggregates", "history",
           "--months", str(months)]
    return subprocess.Popen(cmd, env=env, preexec_fn=pdeathsig_preexec())


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
@click.option("--summary-months", default=DEMO_SUMMARY_MONTHS, show_default=True,
              type=click.IntRange(0, 120),
              help="Months before the cases simulated as daily aggregates only, in the "
                   "background once the app answers (0: none).")
@click.pass_context
def demo(ctx, days, scale, speed, port, workers, duration, region, data_dir, summary_months):
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
        logins = demo_accounts(rt)
        wall = demo_wall(rt, f"http://127.0.0.1:{port}")
        sim = _simulator(rt, speed, None, None)
        stop = threading.Event()
        sim_thread = threading.Thread(target=sim.run, kwargs={"stop": stop}, daemon=True,
                                      name="simulator")
        sim_thread.start()
        builder = _start_builder(rt.settings)
        proc = _start_web(rt.settings, "127.0.0.1", port, workers)
        history = None
        url = f"http://127.0.0.1:{port}/"
        try:
            if not _wait_http(url + "healthz"):
                raise click.ClickException("the web app did not start; see the log above")
            click.echo(f"\ngridwatch demo is running: {url}\n"
                       f"{wall}\n"
                       f"                   (then {url}wall?region=320100 ?rotate=30 ?privacy=1 ?lang=en)\n"
                       f"  领导 KPI review  {url}kpi\n"
                       f"  下钻 drill-down  {url}region/{rt.settings.region}\n"
                       f"  运行状态 status  {url}status   (JSON: {url}healthz)\n"
                       f"Log in at {url}login (new passwords and a new wall token at every "
                       "start; the wall's URL above needs no login):\n" + "\n".join(logins) + "\n"
                       "Press Ctrl-C to stop.", err=False)
            if summary_months:
                # After the app answers: the months before the cases (上期, 去年同期) fill
                # in behind it (this month's 去年同期 and 上期 first), on the other core.
                click.echo(f"filling the {summary_months} months before the cases as daily "
                           "aggregates in the background (/kpi's 上期 and 去年同期; progress "
                           "in /healthz: database.aggregates.summary) ...")
                history = _start_history(rt.settings, summary_months)
            started = time.monotonic()
            while proc.poll() is None:
                if duration is not None and time.monotonic() - started >= duration:
                    break
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            if history is not None:
                _stop_process(history)
            _stop_process(proc)
            _stop_process(builder)
            sim_thread.join(timeout=10)
        click.echo("gridwatch demo stopped")


@main.command()
@click.pass_context
def health(ctx):
    """Print the state of the database and Redis as JSON (exit 1 when one is down)."""
    with Runtime(_settings(ctx)) as rt:
        report = collect_health(rt.db, RedisEventFeed(lambda: rt.redis), rt.settings.region)
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
