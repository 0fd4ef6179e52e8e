"""Backfill: `gridwatch seed --days N --scale F --seed S`.

Draws each day's arrivals per county (Poisson around population × the city's intake rate
× the weekday factor × scale), plans each case's whole path with the same lifecycle model
the live simulator uses, keeps the steps that already happened, and bulk-inserts the day.
The newest `stream_hours` of events also go into the Redis Stream, with entry IDs at their
event times, so a fresh wall has a ticker and a stream whose lag means something.
"""
from __future__ import annotations

import gc
import queue
import random
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
from simulator.personal import PersonalData
from simulator.world import World


@dataclass
class SeedResult:
    cases: int = 0
    events: int = 0
    stream_entries: int = 0
    seconds: float = 0.0

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds if self.seconds else 0.0


def day_factor(day) -> float:
    """Weekends are about 25% quieter; official holidays likewise."""
    if day.weekday() >= 5 or not is_workday(day):
        return cal.WEEKEND_FACTOR
    return 1.0


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
    inline: its in-memory databases are one per thread, and it gains nothing from it."""
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
                 last_day: date | None = None) -> SeedResult:
    """Backfill `days` days ending at `now`. `id_start` lets parallel seeders (bench/) write
    disjoint id ranges; by default ids continue after the largest in the database.
    `last_day` (default: today) ends the days earlier, with the cases' paths still played
    up to `now` (simulator/summary_history.py seeds old months that way)."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    if scale <= 0:
        raise ValueError("--scale must be positive")
    started = time.perf_counter()
    zone = ZoneInfo(tz)
    r = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = cal.Vocab()
    personal = PersonalData(seed)
    today = last_day or now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    # From the first day to the latest a seeded time can be (a deadline a few weeks
    # after now at most; a year is plenty).
    zone = _steady_zone(zone, datetime(first.year, first.month, first.day, tzinfo=zone)
                        - timedelta(days=1), now + timedelta(days=366))
    rates = world.intake_rates * scale
    next_id = db.max_case_id() + 1 if id_start is None else id_start
    stream_from = _in_zone(now - timedelta(hours=stream_hours), zone)
    until = _in_zone(now, zone)
    result = SeedResult()
    pending_stream: list[tuple[datetime, dict]] = []
    # Draw every day's arrivals first so the progress bar knows the real total.
    plan = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
        counts = nrng.poisson(rates * day_factor(day))
        county_idx = np.repeat(np.arange(len(world.counties)), counts)
        n = len(county_idx)
        seconds = (nrng.choice(24, size=n, p=cal.HOURLY_SHARE) * 3600 + nrng.random(n) * 3600)
        keep = seconds <= (now - midnight).total_seconds()
        county_idx, seconds = county_idx[keep], seconds[keep]
        order = np.argsort(seconds, kind="stable")
        plan.append((offset, day, midnight, county_idx[order], seconds[order]))
    bar = tqdm(total=sum(len(p[3]) for p in plan), unit="件", desc="seed",
               disable=not progress, mininterval=0.5)

    cases: list[dict] = []
    events: list[tuple] = []
    writer = _Writer(db, background=_can_write_behind(db))
    _collect_less()
    try:
        for offset, day, midnight, county_idx, seconds in plan:
            n = len(county_idx)
            draws = vocab.draw(nrng, n)
            grid_pick = nrng.random(n).tolist()
            people = personal.batch(n)
            day_no = f"{day:%Y%m%d}"
            counties = world.counties
            for i, (c, sec) in enumerate(zip(county_idx.tolist(), seconds.tolist())):
                at = midnight + timedelta(0, sec)    # seconds=sec, without keyword parsing
                county = counties[c]
                codes = county.codes_for(int(grid_pick[i] * len(county.grids)))
                cat, sub, src, urg = draws[i]
                fields = {"category": cat, "subcategory": sub, "source": src, "urgency": urg}
                case_id = next_id
                next_id += 1
                row = new_case_row(case_id, f"{day_no}{case_id:010d}", codes, fields, at)
                personal.fill(row, county.tree, people, i)
                # The planner's row after the last step up to `now` is the row at `now`
                # (the final row when the whole path is history): nothing is applied twice.
                steps, _, row = plan_case_rows(r, county.profile, row, at, zone, until=until,
                                               own_row=True)
                for seq, step in enumerate(steps, start=1):
                    if step.at > until:
                        break
                    events.append(event_values(case_id, seq, step))
                    if stream is not None and step.at >= stream_from:
                        pending_stream.append(
                            (step.at, stream_fields(case_id, seq, row["grid_code"], step)))
                cases.append(row)
                if len(cases) >= FLUSH_CASES:
                    writer.put(cases, events)
                    result.cases += len(cases)
                    result.events += len(events)
                    cases, events = [], []
            bar.update(n)
            if offset % batch_days == 0 or offset == 0:
                writer.put(cases, events)
                result.cases += len(cases)
                result.events += len(events)
                cases, events = [], []
        writer.close()
    finally:
        writer.abandon()
        _collect_as_before()
    bar.close()
    if stream is not None and pending_stream:
        pending_stream.sort(key=lambda item: item[0])
        result.stream_entries = stream.append_history(pending_stream)
    result.seconds = time.perf_counter() - started
    return result
