"""Months of history as daily aggregates only: `gridwatch aggregates history --months 13`.

/kpi compares a period with the one before (上期) and the same one a year ago (去年同期), so a
demo needs more than a year of history; seeding a year of cases would keep the demo from
answering for many minutes and fill the case table with millions of rows nobody lists.
Instead, each older month is seeded with the same simulator into a scratch SQLite
database, its daily aggregates are built there by the very code that builds them from the
case table (data_sources/aggregates.py), and only those rows are copied into the real
database. The days stay aggregate-only: no case rows (docs/aggregates.md, "Aggregate-only
days").

The chunks are planned back from the first case day (`plan_chunks`, newest first) and
filled in the order /kpi's default views need them (`fill_order`): those of 本月 and its
去年同期 and 上期 first, then 上月's, then the rest newest first. So a demo shows 去年同期
of this month after one chunk instead of after all of them; the filled days are then
several ranges (aggregate_summary: `filled`), and a window touching a day not filled yet
has no figures ("—") until it is.

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


def year_back(d: date) -> date:
    """The same date a year earlier (29 February: the 28th), as /kpi's 去年同期."""
    try:
        return d.replace(year=d.year - 1)
    except ValueError:
        return d.replace(year=d.year - 1, day=28)


def wanted_first(today: date) -> list[tuple[date, date]]:
    """The local days [start, end) /kpi's default views read, in the order a filler
    should provide them: 本月 (this month so far), its 去年同期 (today's and 本周's within
    it) and its 上期; 本周's 去年同期; then 上月, its 去年同期 and its 上期."""
    day = timedelta(days=1)
    m0, m1, m2 = month_start(today), month_start(today, 1), month_start(today, 2)
    week = today - timedelta(days=today.weekday())
    return [
        (m0, today + day),                                  # 本月
        (year_back(m0), year_back(today) + day),            # 本月 去年同期 (今日's in it)
        (m1, min(m1 + (today - m0) + day, m0)),             # 本月 上期 (to the same day)
        (year_back(week), year_back(today) + day),          # 本周 去年同期
        (m1, m0),                                           # 上月
        (year_back(m1), year_back(m0)),                     # 上月 去年同期
        (m2, m1),                                           # 上月 上期
    ]


def fill_order(chunks: list[tuple[date, date]], today: date) -> list[tuple[date, date]]:
    """`chunks` (plan_chunks, newest first) reordered: first those holding days of the
    windows of `wanted_first`, window by window (newest first within one), then the rest
    newest first. The chunks themselves do not change, so neither do their rows."""
    order: list[tuple[date, date]] = []
    for lo, hi in wanted_first(today):
        order += [ch for ch in chunks if ch not in order and ch[0] < hi and lo < ch[1]]
    return order + [ch for ch in chunks if ch not in order]


def _covered(chunk: tuple[date, date], filled) -> bool:
    return any(s <= chunk[0] and chunk[1] <= e for s, e in filled)


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
    """Fill the aggregate-only days before the first day with cases, chunk by chunk in
    `fill_order`; resumes where a previous run (same seed, scale and first case day)
    stopped: the chunks recorded as filled are skipped. The world is made after the plan
    is recorded (seconds for a province): /healthz shows the filler at work from its
    start."""
    started = time.perf_counter()
    today = now.astimezone(ZoneInfo(tz)).date()
    until = agg.first_case_day(db.engine, tz) or today
    chunks = plan_chunks(until, today, months)
    total = sum((e - s).days for s, e in chunks)
    info = summary.summary_info(db.engine)
    same = (info.get("tz"), info.get("until"), info.get("seed"), info.get("scale")) == \
        (tz, until.isoformat(), seed, scale)
    filled = list(summary.filled_ranges(info)) if same else []
    todo = [ch for ch in fill_order(chunks, today) if not _covered(ch, filled)]
    target = chunks[-1][0] if chunks else until

    def record(**more) -> None:
        merged = summary.merge_ranges(filled)
        done = sum((min(e, until) - max(s, target)).days for s, e in merged
                   if s < until and e > target)
        summary.record_summary(db.engine, filled=summary.ranges_json(merged),
                               first=summary.contiguous_first(merged, until).isoformat(),
                               done_days=done, **more)

    record(tz=tz, until=until.isoformat(), target=target.isoformat(), seed=seed, scale=scale,
           total_days=total)
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
            bar.set_postfix_str(f"{start}~{end - timedelta(days=1)}", refresh=False)
            rows, cases = _fill_chunk(db, world, start, end, scale=scale, seed=seed, tz=tz,
                                      scratch=scratch, on_day=lambda _d: bar.update(1))
            filled.append((start, end))
            record()
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
