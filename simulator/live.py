"""Live simulation: `gridwatch simulate [--speed X] [--duration S]`.

Every tick (one second) new cases arrive at the calibrated rate for this hour, and every
planned step whose time has come is applied: the case row is updated and the event goes
to the database and then to the stream (database first, so a reader that sees an event
finds the row already changed). Timestamps are always the real clock; `--speed` makes
the region busier and every duration shorter, it never writes the future.

A sink that is down (database or Redis restarting) does not stop the simulation: the
tick's writes wait in a bounded buffer and go out, in order, when the sink is back.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
from tqdm import tqdm

from dashboard.domain.projection import new_case_row
from simulator import calibration as cal
from simulator.lifecycle import Step, plan_case
from simulator.output import apply_step
from simulator.personal import PersonalData
from simulator.seed import day_factor
from simulator.world import World

log = logging.getLogger(__name__)
MAX_BUFFERED_TICKS = 3600
# Closed cases still waiting for their 回访 that a start picks up: the delay's median is
# 3 h, and 1 in 200 of those called back waits longer than a day.
CALLBACK_WINDOW = timedelta(days=1)


@dataclass
class TickStats:
    new_cases: int = 0
    events: int = 0
    open_cases: int = 0
    buffered_ticks: int = 0
    errors: list[str] = field(default_factory=list)


class LiveSimulator:
    def __init__(self, db, stream, world: World, *, scale: float, tz: str, speed: float = 1.0,
                 seed: int | None = None):
        if speed <= 0:
            raise ValueError("--speed must be positive")
        self.db, self.stream, self.world = db, stream, world
        self.scale, self.speed = scale, speed
        self.zone = ZoneInfo(tz)
        self.r = random.Random(seed)
        self.nrng = np.random.default_rng(seed)
        self.vocab = cal.Vocab()
        self.personal = PersonalData(seed)
        self.profiles = {c.city_code: c.profile for c in world.counties}
        self.rates = world.intake_rates * scale
        self.heap: list[tuple[datetime, int, int, Step]] = []
        self.rows: dict[int, dict] = {}
        self.seqs: dict[int, int] = {}
        self.pending: dict[int, int] = {}      # case id -> steps still scheduled
        self._counter = itertools.count()
        self.next_id = 1
        self._loaded = False                   # open cases picked up (by load or catch_up)
        self.db_buffer: deque = deque()
        self.stream_buffer: deque = deque()

    # -- start ---------------------------------------------------------------
    def load(self, now: datetime) -> int:
        """Pick up the open cases the database holds and plan their continuation, and the
        cases closed in the last day and not called back yet: their 回访 (a few hours after
        closing) would otherwise never come, and 满意率's ratings stop for hours after
        every start."""
        self._loaded = True
        self.next_id = self.db.max_case_id() + 1
        rows = self.db.open_cases(closed_since=now - CALLBACK_WINDOW / self.speed)
        seqs = self.db.last_event_seq([row["id"] for row in rows])
        for row in rows:
            profile = self.profiles.get(row["city_code"])
            if profile is None:
                continue  # outside the simulated region
            self.seqs[row["id"]] = seqs.get(row["id"], 0)
            start = max(now, row["updated_at"])
            self._schedule(row, plan_case(self.r, profile, row, start, self.zone, self.speed))
        return len(self.rows)

    def _schedule(self, row: dict, steps: list[Step]) -> None:
        if not steps:
            return
        self.rows[row["id"]] = row
        self.pending[row["id"]] = len(steps)
        for step in steps:
            heapq.heappush(self.heap, (step.at, next(self._counter), row["id"], step))

    # -- one tick ------------------------------------------------------------
    def _arrivals(self, now: datetime, dt: float) -> list[dict]:
        local = now.astimezone(self.zone)
        per_second = (self.rates * day_factor(local.date())
                      * cal.HOURLY_SHARE[local.hour] * 24 / 86400)
        counts = self.nrng.poisson(per_second * dt * self.speed)
        new = []
        people = self.personal.batch(int(counts.sum()))
        for i, idx in enumerate(np.repeat(np.arange(len(counts)), counts)):
            county = self.world.counties[idx]
            codes = county.codes_for(int(self.nrng.random() * len(county.grids)))
            cat, sub, src, urg = self.vocab.draw(self.nrng, 1)[0]
            at = now - timedelta(seconds=float(self.nrng.random() * dt))
            case_id, self.next_id = self.next_id, self.next_id + 1
            row = new_case_row(case_id, f"{local:%Y%m%d}{case_id:010d}", codes,
                               {"category": cat, "subcategory": sub, "source": src,
                                "urgency": urg}, at)
            self.personal.fill(row, county.tree, people, i)
            self.seqs[case_id] = 0
            self._schedule(row, plan_case(self.r, county.profile, row, at, self.zone,
                                          self.speed))
            new.append(row)
        return new

    def tick(self, now: datetime, dt: float = 1.0) -> TickStats:
        stats = TickStats()
        new_ids = {row["id"] for row in self._arrivals(now, dt)}
        stats.new_cases = len(new_ids)
        changed: dict[int, dict] = {}
        touched: dict[int, dict] = {}
        event_rows: list[dict] = []
        stream_entries: list[dict] = []
        while self.heap and self.heap[0][0] <= now:
            _, _, case_id, step = heapq.heappop(self.heap)
            row = touched[case_id] = self.rows[case_id]
            self.seqs[case_id] += 1
            changes, event_row, fields = apply_step(row, step, self.seqs[case_id])
            changed.setdefault(case_id, {}).update(changes)
            event_rows.append(event_row)
            stream_entries.append(fields)
            self.pending[case_id] -= 1
            if self.pending[case_id] == 0:
                del self.pending[case_id], self.rows[case_id], self.seqs[case_id]
        new_rows = [dict(touched[cid]) for cid in new_ids if cid in touched]
        updates = [(cid, ch) for cid, ch in changed.items() if cid not in new_ids]
        stats.events = len(event_rows)
        if new_rows or updates or event_rows:
            self.db_buffer.append((updates, new_rows, event_rows, stream_entries))
        self._flush(stats)
        stats.open_cases = len(self.rows)
        stats.buffered_ticks = len(self.db_buffer) + len(self.stream_buffer)
        return stats

    def _flush(self, stats: TickStats) -> None:
        while self.db_buffer:
            updates, new_rows, event_rows, entries = self.db_buffer[0]
            try:
                self.db.apply_changes(updates, new_rows, event_rows)
            except Exception as exc:  # noqa: BLE001 - keep simulating; retry next tick
                stats.errors.append(f"database: {exc}".splitlines()[0][:200])
                break
            self.db_buffer.popleft()
            self.stream_buffer.append(entries)
        while self.stream_buffer:
            try:
                self.stream.append_many(self.stream_buffer[0])
            except Exception as exc:  # noqa: BLE001
                stats.errors.append(f"redis: {exc}".splitlines()[0][:200])
                break
            self.stream_buffer.popleft()
        for buf in (self.db_buffer, self.stream_buffer):
            while len(buf) > MAX_BUFFERED_TICKS:
                buf.popleft()  # an outage longer than an hour: drop the oldest, say so
                stats.errors.append("buffer full: oldest tick dropped")

    # -- catching up ---------------------------------------------------------
    def catch_up(self, since: datetime, now: datetime, step_seconds: float = 300.0,
                 progress: bool = False) -> TickStats:
        """Play the gap [since, now) in simulated time, as fast as the sinks allow.

        A demo restarted the next morning would otherwise show a region where nothing
        happened overnight: no intake today, and every case open at the stop still open
        and now overdue. Ticking through the gap with the same model keeps the history
        continuous; the stream gets the gap's events with current entry IDs, which is
        what a real upstream that replays after an outage does. Call before `run`.
        """
        total = TickStats()
        if now <= since:
            return total
        self.load(since)
        step = timedelta(seconds=step_seconds)
        # Tick ends: every step_seconds after `since`, the last one exactly `now`.
        ends = [since + step * k for k in range(1, int((now - since) / step) + 1)]
        if not ends or ends[-1] < now:
            ends.append(now)
        previous = since
        for moment in tqdm(ends, desc="catch-up", unit="tick", disable=not progress,
                           mininterval=0.5):
            stats = self.tick(moment, (moment - previous).total_seconds())
            previous = moment
            total.new_cases += stats.new_cases
            total.events += stats.events
            total.errors.extend(stats.errors)
        total.open_cases = len(self.rows)
        return total

    # -- loop ----------------------------------------------------------------
    def run(self, duration: float | None = None, stop: threading.Event | None = None,
            tick_seconds: float = 1.0, on_tick=None) -> None:
        stop = stop or threading.Event()
        start = time.monotonic()
        last = datetime.now(timezone.utc)
        if not self._loaded:
            self.load(last)
        while not stop.is_set():
            if duration is not None and time.monotonic() - start >= duration:
                break
            stop.wait(tick_seconds)
            now = datetime.now(timezone.utc)
            stats = self.tick(now, (now - last).total_seconds())
            last = now
            for err in stats.errors:
                log.warning("simulator: %s", err)
            if on_tick:
                on_tick(stats)
