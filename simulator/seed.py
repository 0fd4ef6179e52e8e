"""Backfill: `gridwatch seed --days N --scale F --seed S`.

Draws each day's arrivals per county (Poisson around population × the city's intake rate
× the weekday factor × scale), plans each case's whole path with the same lifecycle model
the live simulator uses, keeps the steps that already happened, and bulk-inserts the day.
The newest `stream_hours` of events also go into the Redis Stream, with entry IDs at their
event times, so a fresh wall has a ticker and a stream whose lag means something.
"""
from __future__ import annotations

import gc
import os
import queue
import random
import sys
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
from tqdm import tqdm

from dashboard.domain.projection import new_case_row
from dashboard.domain.workdays import is_workday
from simulator import calibration as cal
from simulator.lifecycle import plan_case_rows
from simulator.output import event_values, stream_fields
from simulator.personal import Batch, PersonalData
from simulator.seed_workers import seed_in_processes
from simulator.world import World


@dataclass
class SeedResult:
    cases: int = 0
    events: int = 0
    stream_entries: int = 0
    seconds: float = 0.0
    workers: int = 1

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def day_factor(day) -> float:
    """Weekends are about 25% quieter; official holidays likewise."""
    if day.weekday() >= 5 or not is_workday(day):
        return cal.WEEKEND_FACTOR
    return 1.0


PARALLEL_FROM = 50_000  # cases: below this, one process (the workers' start costs more)
FLUSH_CASES = 5_000  # cases handed to the writer at most per batch (and per day): small
# batches keep the first batch's planning and the last one's COPY, which do not overlap, short


def _steady_zone(zone: ZoneInfo, start: datetime, end: datetime) -> tzinfo:
    """`zone` as a fixed offset (same name) when its offset does not change from `start`
    to `end` (China's has not since 1991), else `zone` itself. Times in either are the
    same instants, with the same wall times and ISO text, so the rows, events and stream
    entries are the same; but a fixed offset is read in C without a zone lookup, which
    made each ISO time in an event's detail, each timestamp COPY sends and each
    conversion to the zone cost about twice as much."""
    offset = zone.utcoffset(start.astimezone(zone).replace(tzinfo=None))
    moment = start.astimezone(timezone.utc)
    while moment <= end:
        if moment.astimezone(zone).utcoffset() != offset:
            return zone
        moment += timedelta(hours=1)
    return timezone(offset, zone.tzname(start.astimezone(zone).replace(tzinfo=None)))


def _in_zone(moment: datetime, zone: tzinfo) -> datetime:
    """`moment` in `zone` when comparing it with the zone's datetimes by their wall times
    (what Python does for two datetimes of one tzinfo: ~20 ns) orders them as their
    instants do (what it does across tzinfos: ~500 ns, each step is compared with `now`
    once or twice). True unless the zone's offset changes within a few hours of it (a
    DST change; never in China); then `moment` itself, compared by instant as before."""
    offsets = {(moment + timedelta(minutes=m)).astimezone(zone).utcoffset()
               for m in range(-180, 181, 30)}
    return moment.astimezone(zone) if len(offsets) == 1 else moment


_gc_lock = threading.Lock()
_gc_seeders = 0
_gc_saved: tuple[int, ...] = ()
# The oldest generation's threshold while seeding (default 10). A seed makes no reference
# cycles to collect, yet its batches and caches grow the heap enough for a full collection
# every ~60k cases, each walking every object in the process (the region tree's too):
# 300k cases of Jiangsu spent 0.59 s (~2 us a case) in 5 of them, none at 1000.
SEED_GC_THRESHOLD = 1000


def _collect_less() -> None:
    """Raise the collector's last threshold while any seed runs in this process (the
    demo's other threads included: their full collections only come less often, for
    that long); each call is undone by one _collect_as_before()."""
    global _gc_seeders, _gc_saved
    with _gc_lock:
        if _gc_seeders == 0:
            _gc_saved = gc.get_threshold()
            young, middle, old = _gc_saved
            gc.set_threshold(young, middle, max(old, SEED_GC_THRESHOLD))
        _gc_seeders += 1


def _collect_as_before() -> None:
    global _gc_seeders
    with _gc_lock:
        _gc_seeders -= 1
        if _gc_seeders == 0:
            gc.set_threshold(*_gc_saved)


def _can_write_behind(db) -> bool:
    """Whether bulk_insert may run in a thread of its own: on PostgreSQL the server then
    loads one batch while the next is planned, on the other core. SQLite (the demo) writes
    inline: its in-memory databases are one per thread, and for a file a writer thread
    was slower (the demo's seed 19.8 against 15.5 s: sqlite3 releases the GIL inside each
    step, and each row's bind then waits for the planner to hand it back)."""
    return getattr(db, "dialect", None) == "postgresql"


class _Writer:
    """bulk_insert, in order, inline or in one background thread with one batch queued.

    An error in the thread is raised by the next put() or by close(); abandon() (in a
    finally) stops the thread without waiting for the batches still queued to matter.
    """

    def __init__(self, db, background: bool):
        self._db = db
        self._error: BaseException | None = None
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        if background:
            self._queue = queue.Queue(maxsize=1)
            self._thread = threading.Thread(target=self._run, name="seed-writer", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if self._error is None:
                try:
                    self._db.bulk_insert(*batch)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    self._error = exc

    def put(self, cases: list, events: list) -> None:
        if self._thread is None:
            self._db.bulk_insert(cases, events)
            return
        self._raise()
        self._queue.put((cases, events))

    def close(self) -> None:
        """Wait until every batch is written; raise the writer's error if it had one."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._raise()

    def abandon(self) -> None:
        if self._thread is not None:
            self._error = self._error or RuntimeError("seeding stopped")
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error


def seed_history(db, stream, world: World, *, days: int, scale: float, seed: int, tz: str,
                 now: datetime, stream_hours: float = 24.0, progress: bool = True,
                 batch_days: int = 1, id_start: int | None = None,
                 last_day: date | None = None, workers: int | None = None) -> SeedResult:
    """Backfill `days` days ending at `now`. By default ids continue after the largest in
    the database (`id_start` sets the first). `last_day` (default: today) ends the days
    earlier, with the cases' paths still played up to `now` (simulator/summary_history.py
    seeds old months that way).

    Each county draws from generators of its own (under `seed` and its code), and ids
    follow the reports' order across the region, so the rows are the same whether one
    process seeds every county or `workers` processes seed a share each (on PostgreSQL,
    where each writes its own COPY: simulator/seed_workers.py). None picks the number of
    cores for a large seed on PostgreSQL, else 1.
    """
    if days < 1:
        raise ValueError("--days must be at least 1")
    if scale <= 0:
        raise ValueError("--scale must be positive")
    started = time.perf_counter()
    job = SeedJob(days=days, scale=scale, seed=seed, tz=tz, now=now,
                  stream_hours=stream_hours if stream is not None else None,
                  batch_days=batch_days,
                  id_start=db.max_case_id() + 1 if id_start is None else id_start,
                  last_day=last_day)
    plan = plan_days(world, job)
    total = sum(len(p.county_idx) for p in plan)
    workers = _workers(db, world, total, workers)

    def make_bar():
        # In a log (not a terminal) a line every 30 s, not every redraw.
        return tqdm(total=total, unit="件", desc="seed", disable=not progress,
                    mininterval=0.5 if sys.stderr.isatty() else 30)
    if workers == 1:
        with make_bar() as bar:
            result, timed = seed_part(db, world, range(len(world.counties)), job, plan,
                                      bar.update)
    else:
        result, timed = SeedResult(), []
        for part, entries in seed_in_processes(db, world, job, plan, workers, make_bar,
                                               seed_share):
            result.cases += part.cases
            result.events += part.events
            timed.extend(entries)
    if stream is not None and timed:
        # (time, case, seq): the order one process met them in, whatever the split.
        timed.sort(key=lambda item: item[:3])
        result.stream_entries = stream.append_history([(at, f) for at, _, _, f in timed])
    result.seconds = time.perf_counter() - started
    result.workers = workers
    return result


@dataclass(frozen=True)
class SeedJob:
    """seed_history's arguments that every process of one seed shares (picklable)."""
    days: int
    scale: float
    seed: int
    tz: str
    now: datetime
    stream_hours: float | None     # None: no stream
    batch_days: int
    id_start: int
    last_day: date | None


@dataclass
class DayPlan:
    offset: int                    # days before the last
    day: date
    midnight: datetime
    county_idx: np.ndarray         # each arrival's county, in the order of their times
    seconds: np.ndarray            # after midnight
    first_id: int                  # the id of the day's first arrival


def _zone(job: SeedJob, first: date) -> tzinfo:
    zone = ZoneInfo(job.tz)
    # From the first day to the latest a seeded time can be (a deadline a few weeks
    # after now at most; a year is plenty).
    return _steady_zone(zone, datetime(first.year, first.month, first.day, tzinfo=zone)
                        - timedelta(days=1), job.now + timedelta(days=366))


def plan_days(world: World, job: SeedJob) -> list[DayPlan]:
    """Every day's arrivals (county, time, id), oldest day first. The same for every
    process of a seed: it is drawn from `job.seed` alone, ahead of any case."""
    nrng = np.random.default_rng(job.seed)
    today = job.last_day or job.now.astimezone(ZoneInfo(job.tz)).date()
    first = today - timedelta(days=job.days - 1)
    zone = _zone(job, first)
    rates = world.intake_rates * job.scale
    plan, next_id = [], job.id_start
    for offset in range(job.days - 1, -1, -1):
        day = today - timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        counts = nrng.poisson(rates * day_factor(day))
        county_idx = np.repeat(np.arange(len(world.counties)), counts)
        n = len(county_idx)
        seconds = (nrng.choice(24, size=n, p=cal.HOURLY_SHARE) * 3600 + nrng.random(n) * 3600)
        keep = seconds <= (job.now - midnight).total_seconds()
        county_idx, seconds = county_idx[keep], seconds[keep]
        order = np.argsort(seconds, kind="stable")
        plan.append(DayPlan(offset, day, midnight, county_idx[order], seconds[order], next_id))
        next_id += len(order)
    return plan


class _County:
    """One county's own generators: its cases' paths, kinds and grids, and personal data."""

    def __init__(self, seed: int, code: str):
        self.paths = random.Random(f"gridwatch-seed:{seed}:{code}")
        self.kinds = np.random.default_rng([seed, int(code), 0x5EED])
        self.people = np.random.default_rng([seed, int(code), 0x9E15])


def seed_part(db, world: World, counties, job: SeedJob, plan: list[DayPlan],
              progress) -> tuple[SeedResult, list]:
    """Seed the arrivals of the given counties (indexes into world.counties); returns
    the counts and, when the job has a stream, its entries as (time, case id, seq,
    fields). `progress(n)` is told of every n cases handed to the database."""
    # The plan's own zone object: datetimes of one tzinfo object compare by wall time,
    # in C (_in_zone); an equal but distinct one would make each comparison slow.
    zone = plan[0].midnight.tzinfo
    until = _in_zone(job.now, zone)
    stream_from = (None if job.stream_hours is None
                   else _in_zone(job.now - timedelta(hours=job.stream_hours), zone))
    vocab = cal.Vocab()
    personal = PersonalData(job.seed)
    all_counties = world.counties
    mine = np.zeros(len(all_counties), dtype=bool)
    mine[list(counties)] = True
    own = {c: _County(job.seed, all_counties[c].code) for c in counties}
    result = SeedResult()
    timed: list[tuple] = []
    cases: list[dict] = []
    events: list[tuple] = []
    writer = _Writer(db, background=_can_write_behind(db))
    _collect_less()
    try:
        for p in plan:
            picked = np.flatnonzero(mine[p.county_idx])
            county_idx = p.county_idx[picked]
            # Each county's draws for the day, read by its k-th case of the day.
            draws, grid_pick, people = {}, {}, {}
            for c, n in zip(*np.unique(county_idx, return_counts=True)):
                c, n = int(c), int(n)
                g = own[c]
                draws[c] = vocab.draw(g.kinds, n)
                grid_pick[c] = g.kinds.random(n).tolist()
                people[c] = Batch(g.people, n)
            seen = dict.fromkeys(draws, 0)
            day_no = f"{p.day:%Y%m%d}"
            midnight, first_id = p.midnight, p.first_id
            for pos, c, sec in zip(picked.tolist(), county_idx.tolist(),
                                   p.seconds[picked].tolist()):
                at = midnight + timedelta(0, sec)    # seconds=sec, without keyword parsing
                county = all_counties[c]
                i = seen[c]
                seen[c] = i + 1
                codes = county.codes_for(int(grid_pick[c][i] * len(county.grids)))
                cat, sub, src, urg = draws[c][i]
                fields = {"category": cat, "subcategory": sub, "source": src, "urgency": urg}
                case_id = first_id + pos
                row = new_case_row(case_id, f"{day_no}{case_id:010d}", codes, fields, at)
                personal.fill(row, county.tree, people[c], i)
                # The planner's row after the last step up to `now` is the row at `now`
                # (the final row when the whole path is history): nothing is applied twice.
                steps, _, row = plan_case_rows(own[c].paths, county.profile, row, at, zone,
                                               until=until, own_row=True)
                for seq, step in enumerate(steps, start=1):
                    if step.at > until:
                        break
                    events.append(event_values(case_id, seq, step))
                    if stream_from is not None and step.at >= stream_from:
                        timed.append((step.at, case_id, seq,
                                      stream_fields(case_id, seq, row["grid_code"], step)))
                cases.append(row)
                if len(cases) >= FLUSH_CASES:
                    _hand_over(writer, result, cases, events, progress)
                    cases, events = [], []
            if p.offset % job.batch_days == 0 or p.offset == 0:
                _hand_over(writer, result, cases, events, progress)
                cases, events = [], []
        writer.close()
    finally:
        writer.abandon()
        _collect_as_before()
    return result, timed


def seed_share(db, world: World, counties, job: SeedJob, plan: list[DayPlan] | None,
               progress) -> tuple[SeedResult, list]:
    """seed_part in a worker of seed_in_processes: a spawned one draws the plan again."""
    return seed_part(db, world, counties, job, plan or plan_days(world, job), progress)


def _hand_over(writer, result: SeedResult, cases: list, events: list, progress) -> None:
    writer.put(cases, events)
    result.cases += len(cases)
    result.events += len(events)
    if cases:
        progress(len(cases))


def _workers(db, world: World, total: int, asked: int | None) -> int:
    """Processes to seed with. More than one needs PostgreSQL (each writes its own COPY)
    and a database URL to connect with; starting them costs ~1 s, so a small seed stays
    in this process unless asked otherwise."""
    apart = getattr(db, "dialect", None) == "postgresql" and bool(getattr(db, "url", None))
    if asked is not None:
        if asked < 1:
            raise ValueError("--workers must be at least 1")
        if asked > 1 and not apart:
            raise ValueError("seeding with more than one worker needs PostgreSQL")
        return min(asked, len(world.counties))
    if not apart or total < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, len(world.counties)))
