"""Months of history as daily aggregates only: `gridwatch aggregates history --months 13`.

/kpi compares a period with the one before (上期) and the same one a year ago (去年同期), so a
demo needs more than a year of history; seeding a year of cases would keep the demo from
answering for many minutes and fill the case table with millions of rows nobody lists.
Instead, each older month is seeded with the same simulator into a scratch SQLite
database, its daily aggregates are built there by the very code that builds them from the
case table (data_sources/aggregates.py), and only those rows are copied into the real
database, newest first (上期 first, 去年同期 last). The days stay aggregate-only: no case
rows (docs/aggregates.md, "Aggregate-only days").

Each chunk's scratch seeding starts LEAD_IN_DAYS early, so that the closures, cards and
deadlines of its first days include cases reported before it; the few slower ones (the
long tail of the time to close) are missed, so the chunks run back from the first case day, not from the first of a month:
their seams fall inside months, not on the first days that "this month so far" compares.
Each chunk has its own seed (the demo's seed and the chunk's first day), and its cases are
played to a fixed time after it, so its rows are the same however often and whenever they
are built.
"""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tqdm import tqdm

from data_sources import aggregate_summary as summary
from data_sources import aggregates as agg
from data_sources.database import CaseDatabase
from simulator.seed import seed_history
from simulator.world import World

CHUNK_DAYS = 31
LEAD_IN_DAYS = 14
# The scratch cases are played to this long after their month: closures later than that
# are "not closed" in agg_due, which only matters for a window ending after it.
PLAY_DAYS_AFTER = 60


def month_start(d: date, back: int = 0) -> date:
    """The first day of d's month, `back` months earlier."""
    index = d.year * 12 + d.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def plan_chunks(until: date, today: date, months: int) -> list[tuple[date, date]]:
    """The local days to fill, [start, end) per CHUNK_DAYS, newest first: from the first
    of the month `months` months before today's up to `until` (the first day with cases)."""
    target = month_start(today, months)
    chunks, end = [], until
    while end > target:
        start = max(end - timedelta(days=CHUNK_DAYS), target)
        chunks.append((start, end))
        end = start
    return chunks


def chunk_seed(seed: int, start: date) -> int:
    return (seed % 2**31) * 100_000_000 + int(f"{start:%Y%m%d}")


@dataclass
class FillResult:
    days: int = 0
    rows: int = 0
    cases: int = 0
    seconds: float = 0.0


def fill(db: CaseDatabase, make_world: Callable[[], World], *, months: int, scale: float, seed: int, tz: str,
         now: datetime, scratch_dir: Path, progress: bool = True,
         on_chunk: Callable[[date, date], None] | None = None) -> FillResult:
    """Fill the aggregate-only days before the first day with cases, newest first;
    resumes where a previous run (same seed, scale and first case day) stopped. The
    world is made after the plan is recorded (seconds for a province): /healthz shows
    the filler at work from its start."""
    started = time.perf_counter()
    today = now.astimezone(ZoneInfo(tz)).date()
    until = agg.first_case_day(db.engine, tz) or today
    chunks = plan_chunks(until, today, months)
    total = sum((e - s).days for s, e in chunks)
    info = summary.summary_info(db.engine)
    same = (info.get("tz"), info.get("until"), info.get("seed"), info.get("scale")) == \
        (tz, until.isoformat(), seed, scale)
    done_first = date.fromisoformat(info["first"]) if same and info.get("first") else until
    todo = [(s, min(e, done_first)) for s, e in chunks if s < done_first]
    target = chunks[-1][0] if chunks else until
    summary.record_summary(db.engine, tz=tz, until=until.isoformat(), first=done_first.isoformat(),
                           target=target.isoformat(), seed=seed, scale=scale,
                           total_days=total, done_days=(until - done_first).days)
    if info.get("tz") == tz and info.get("until") and date.fromisoformat(info["until"]) > until:
        # Cases were seeded before the old aggregate-only days' end since: those days are
        # the case table's now (rebuild skipped them while they were protected).
        agg.rebuild(db.engine, tz, until, date.fromisoformat(info["until"]))
    result = FillResult()
    world = make_world() if todo else None
    scratch = Path(scratch_dir) / "summary-scratch"
    bar = tqdm(total=total, initial=total - sum((e - s).days for s, e in todo), unit="天",
               desc="history (aggregates only)", disable=not progress, mininterval=0.5)
    try:
        for start, end in todo:
            rows, cases = _fill_chunk(db, world, start, end, scale=scale, seed=seed, tz=tz,
                                      scratch=scratch, on_day=lambda _d: bar.update(1))
            summary.record_summary(db.engine, first=start.isoformat(),
                                   done_days=(until - start).days)
            result.days += (end - start).days
            result.rows += rows
            result.cases += cases
            if on_chunk:
                on_chunk(start, end)
    finally:
        bar.close()
        shutil.rmtree(scratch, ignore_errors=True)
    result.seconds = time.perf_counter() - started
    return result


class _CasesOnly:
    """The scratch database as seed_history's target, keeping the case rows only: the
    aggregates are built from them (the event history serves the follower and the case
    timeline, neither of which runs there), and the events were most of the inserting."""

    def __init__(self, db: CaseDatabase):
        self.db = db

    def max_case_id(self) -> int:
        return self.db.max_case_id()

    def bulk_insert(self, cases: list[dict], events: list[dict]) -> None:
        self.db.bulk_insert(cases, [])


def _fill_chunk(db: CaseDatabase, world: World, start: date, end: date, *, scale: float,
                seed: int, tz: str, scratch: Path,
                on_day: Callable[[date], None]) -> tuple[int, int]:
    """Seed [start - LEAD_IN_DAYS, end) into a fresh scratch database, aggregate [start,
    end) there and copy those days' rows; returns (rows copied, cases seeded)."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    tmp = CaseDatabase(f"sqlite:///{scratch / 'gw.db'}")
    try:
        tmp.init_schema()
        zone = ZoneInfo(tz)
        last = end - timedelta(days=1)
        play_to = datetime(end.year, end.month, end.day, tzinfo=zone) + \
            timedelta(days=PLAY_DAYS_AFTER)
        seeded = seed_history(_CasesOnly(tmp), None, world, days=(end - start).days + LEAD_IN_DAYS,
                              scale=scale, seed=chunk_seed(seed, start), tz=tz, now=play_to,
                              progress=False, id_start=1, last_day=last)
        agg.rebuild(tmp.engine, tz, start, end, progress=on_day)
        rows = summary.copy_days(tmp.engine, db.engine, start, end)
    finally:
        tmp.close()
    return rows, seeded.cases
