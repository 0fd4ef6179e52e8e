"""Backfill: `gridwatch seed --days N --scale F --seed S`.

Draws each day's arrivals per county (Poisson around population × the city's intake rate
× the weekday factor × scale), plans each case's whole path with the same lifecycle model
the live simulator uses, keeps the steps that already happened, and bulk-inserts the day.
The newest `stream_hours` of events also go into the Redis Stream, with entry IDs at their
event times, so a fresh wall has a ticker and a stream whose lag means something.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from tqdm import tqdm

from dashboard.domain.projection import new_case_row
from dashboard.domain.workdays import is_workday
from simulator import calibration as cal
from simulator.lifecycle import plan_case_and_row
from simulator.output import apply_step, event_row, stream_fields
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
    today = last_day or now.astimezone(zone).date()
    rates = world.intake_rates * scale
    next_id = db.max_case_id() + 1 if id_start is None else id_start
    stream_from = now - timedelta(hours=stream_hours)
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
    events: list[dict] = []
    for offset, day, midnight, county_idx, seconds in plan:
        n = len(county_idx)
        draws = vocab.draw(nrng, n)
        grid_pick = nrng.random(n)
        for i in range(n):
            at = midnight + timedelta(seconds=float(seconds[i]))
            county = world.counties[county_idx[i]]
            codes = county.codes_for(int(grid_pick[i] * len(county.grids)))
            cat, sub, src, urg = draws[i]
            fields = {"category": cat, "subcategory": sub, "source": src, "urgency": urg}
            row = new_case_row(next_id, f"{day:%Y%m%d}{next_id:010d}", codes, fields, at)
            next_id += 1
            steps, final = plan_case_and_row(r, county.profile, row, at, zone)
            if steps[-1].at <= now:
                # The whole path is history: the planner's row is the row at `now`.
                row = final
                for seq, step in enumerate(steps, start=1):
                    events.append(event_row(row["id"], seq, step))
                    if stream is not None and step.at >= stream_from:
                        pending_stream.append(
                            (step.at, stream_fields(row["id"], seq, row["grid_code"], step)))
            else:
                for seq, step in enumerate(steps, start=1):
                    if step.at > now:
                        break
                    recent = stream is not None and step.at >= stream_from
                    _, ev, fields = apply_step(row, step, seq, with_stream=recent)
                    events.append(ev)
                    if recent:
                        pending_stream.append((step.at, fields))
            cases.append(row)
        bar.update(n)
        if offset % batch_days == 0 or offset == 0:
            db.bulk_insert(cases, events)
            result.cases += len(cases)
            result.events += len(events)
            cases, events = [], []
    bar.close()
    if stream is not None and pending_stream:
        pending_stream.sort(key=lambda item: item[0])
        result.stream_entries = stream.append_history(pending_stream)
    result.seconds = time.perf_counter() - started
    return result
