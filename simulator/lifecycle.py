"""One case's path through the workflow, drawn step by step from its current state.

The same function plans a new case (state None) for the backfill and continues an open
case the live simulator picked up from the database, so both follow one model. Every step
is applied to a scratch copy of the row through dashboard.domain.projection.apply_event, which
refuses illegal transitions: a plan can only be a legal path.
"""
from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from statistics import NormalDist
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dashboard.domain.catalog import RESOLUTION_LEVELS
from dashboard.domain.deadlines import (
    HANDLE_CARD_DAYS,
    SIGN_CARD_DAYS,
    cards_due,
    case_deadlines,
)
from dashboard.domain.projection import apply_event
from dashboard.domain.states import Event as E
from dashboard.domain.workdays import add_working_days
from simulator import calibration as cal
from simulator.calibration import CityProfile

LEVEL_COLUMN = {"网格": "grid_code", "村社": "community_code", "镇街": "township_code",
                "县区": "county_code", "市": "city_code"}
# Python floats (the same values): numpy scalars made each draw's arithmetic and
# comparisons ~20 times dearer.
_CUM_DISPATCH = [float(sum(cal.DISPATCH_LEVEL_WEIGHTS[:i + 1])) for i in range(5)]
# Waits after which cards may fall due, and how long before its deadline a case is
# extended (built once: constructing a timedelta costs more than comparing one).
_SLOW_SIGN = timedelta(hours=20)
_SLOW_HANDLING = timedelta(days=4)
_EXTEND_BEFORE = timedelta(hours=2)


_new_tuple = tuple.__new__


class Step(NamedTuple):
    """One planned event. Immutable; a named tuple because a backfill makes ~6 per case
    and a frozen dataclass costs three times as much to build."""
    at: datetime
    event: E
    fields: Mapping = MappingProxyType({})
    state: str | None = None           # the case's state after the step
    handler_level: str | None = None   # and the level holding it then


def _draw_level(r: random.Random) -> str:
    u = r.random() * _CUM_DISPATCH[-1]
    for level, edge in zip(RESOLUTION_LEVELS, _CUM_DISPATCH):
        if u < edge:
            return level
    return RESOLUTION_LEVELS[-1]


def plan_case(r: random.Random, prof: CityProfile, row: dict, start: datetime,
              tz: ZoneInfo, speed: float = 1.0) -> list[Step]:
    """Steps from the row's current state until the case rests (closed, rated, rejected).

    `row` is not modified. `start` is when the case is picked up (its report time for a
    new case). `speed` > 1 compresses every duration, for a livelier demo.
    """
    return plan_case_and_row(r, prof, row, start, tz, speed)[0]


def plan_case_and_row(r: random.Random, prof: CityProfile, row: dict, start: datetime,
                      tz: ZoneInfo, speed: float = 1.0) -> tuple[list[Step], dict]:
    """plan_case, plus the row as it is after the last step (the backfill uses it as is
    when the whole path already lies in the past, instead of applying every step again)."""
    steps, final, _ = plan_case_rows(r, prof, row, start, tz, speed)
    return steps, final


def plan_case_rows(r: random.Random, prof: CityProfile, row: dict, start: datetime,
                   tz: ZoneInfo, speed: float = 1.0,
                   until: datetime | None = None,
                   own_row: bool = False) -> tuple[list[Step], dict, dict]:
    """plan_case_and_row, plus the row as it is at `until`: after the last step at or before
    it (the backfill's row at `now` for a case still open then; the final row itself when
    the whole path lies before `until`, or when `until` is None). Steps never go back in
    time, so that row is a copy taken once, just before the first later step.

    `own_row`: the caller hands the row over (the backfill's new rows), so it is played
    in place instead of on a copy."""
    if not own_row:
        row = dict(row)
    steps: list[Step] = []
    t = start
    at_until: dict | None = None

    def emit(event: E, at: datetime, **fields) -> None:
        nonlocal t, at_until
        if t > at:      # max(at, t), without the call
            at = t
        if at_until is None and until is not None and at > until:
            at_until = dict(row)
        apply_event(row, event, at, fields)
        # tuple.__new__: what Step() does, without its Python-level __new__ (~6 a case).
        steps.append(_new_tuple(Step, (at, event, fields, row["state"], row["handler_level"])))
        t = at

    gauss, exp = r.gauss, math.exp

    def after(median_min: float, sigma: float) -> datetime:
        # timedelta(minutes=x), positionally: keyword parsing cost more than the rest.
        return t + timedelta(0, 0, 0, 0, median_min * exp(gauss(0.0, sigma)) / speed)

    def after_workdays(days: float) -> datetime:
        real = add_working_days(t.astimezone(tz), days) - t
        return t + real / speed

    for _ in range(60):  # a bound, not a budget: real paths take < 20 steps
        state = row["state"]
        if state is None:
            emit(E.REPORTED, row["reported_at"], case_no=row["case_no"],
                 category=row["category"], subcategory=row["subcategory"],
                 source=row["source"], urgency=row["urgency"])
        elif state == "REPORTED":
            u = r.random()
            self_share = cal.SELF_RESOLVE_BY_SOURCE.get(row["source"], cal.SELF_RESOLVE_OTHER)
            if u < cal.REJECT_SHARE:
                emit(E.REJECTED, after(8, 0.6))
            elif u < cal.REJECT_SHARE + self_share * (1 - cal.REJECT_SHARE):
                emit(E.SELF_RESOLVED, after(35, 0.8), resolution_level="网格")
            else:
                at = after(0.5, 0.5)
                sign, deadline = case_deadlines(at.astimezone(tz), row["urgency"],
                                                row["subcategory"], row["source"])
                emit(E.REGISTERED, at, deadline=_squeeze(at, deadline, speed),
                     sign_deadline=_squeeze(at, sign, speed))
        elif state == "REGISTERED":
            level = _draw_level(r)
            emit(E.DISPATCHED, after(0.4, 0.5), level=level, org=row[LEVEL_COLUMN[level]])
        elif state == "DISPATCHED":
            if r.random() < prof.return_share and row["return_count"] < 2:
                emit(E.RETURNED, after(60, 0.8))
                continue
            accept_at = after(prof.sign_median_minutes, 1.1)
            if accept_at - t > _SLOW_SIGN / speed:
                cards = cards_due(row["dispatched_at"].astimezone(tz), SIGN_CARD_DAYS)
                for name in ("黄牌", "红牌"):
                    if _squeeze(row["dispatched_at"], cards[name], speed) < accept_at:
                        emit(E.SUPERVISED, _squeeze(row["dispatched_at"], cards[name], speed),
                             supervision=name)
            emit(E.ACCEPTED, accept_at, late=bool(row["sign_deadline"]
                                                   and accept_at > row["sign_deadline"]))
        elif state == "IN_PROGRESS":
            _plan_work(r, prof, row, emit, after, after_workdays, tz, speed, lambda: t)
        elif state == "SUSPENDED":
            emit(E.RESUMED, after(2 * 24 * 60, 0.6))
        elif state == "VERIFYING":
            if r.random() < cal.REWORK_SHARE and row["rework_count"] < 2:
                emit(E.REWORK, after(30, 0.5))
            else:
                emit(E.CLOSED, after(30, 0.6), resolution_level=row["handler_level"] or "网格")
        elif state == "CLOSED":
            rated_at = None     # drawn after the rating below (the seed's draws stay)
            if t > row["closed_at"]:
                # Picked up after it closed (the live simulator's start): its call back
                # as it stands after the time it has already waited.
                rated_at = _call_back_after_waiting(r, prof.callback_share, row["closed_at"],
                                                    t, speed)
                if rated_at is None:
                    break
            elif r.random() >= prof.callback_share:
                break
            late = row["deadline"] is not None and row["closed_at"] > row["deadline"]
            unsatisfied = (1 - prof.satisfaction) * (2.5 if late else 1.0)
            u = r.random()
            rating = "不满意" if u < unsatisfied else ("基本满意" if u < unsatisfied + 0.08
                                                      else "满意")
            emit(E.RATED, rated_at or after(cal.CALLBACK_MEDIAN_MINUTES, cal.CALLBACK_SIGMA),
                 rating=rating)
        elif state == "RATED":
            if (row["rating"] == "不满意" and row["reopen_count"] == 0
                    and r.random() < cal.REOPEN_SHARE):
                emit(E.REOPENED, after(120, 0.7))
            else:
                break
        else:  # REJECTED
            break
    return steps, row, row if at_until is None else at_until


_NORMAL = NormalDist()


def _call_back_after_waiting(r: random.Random, share: float, closed_at: datetime,
                             now: datetime, speed: float) -> datetime | None:
    """When a case closed at `closed_at` and not called back by `now` is called back, or
    None if it never is: the 回访 model (a share `share` called back, after a log-normal
    delay) given that it has not happened in the time waited. A case that waited long is
    more likely one that is never called back, and if it is, later."""
    waited = (now - closed_at).total_seconds() / 60 * speed
    passed = _NORMAL.cdf(math.log(waited / cal.CALLBACK_MEDIAN_MINUTES) / cal.CALLBACK_SIGMA)
    still = share * (1 - passed)            # called back, not yet
    if r.random() >= still / (still + 1 - share):
        return None
    z = _NORMAL.inv_cdf(min(max(r.uniform(passed, 1.0), 1e-12), 1 - 1e-12))
    minutes = cal.CALLBACK_MEDIAN_MINUTES * math.exp(cal.CALLBACK_SIGMA * z) / speed
    return max(now, closed_at + timedelta(minutes=minutes))


def _plan_work(r, prof, row, emit, after, after_workdays, tz, speed, now) -> None:
    """IN_PROGRESS → escalation, suspension, or the work itself (with its supervision)."""
    u = r.random()
    level_index = RESOLUTION_LEVELS.index(row["handler_level"]) if row["handler_level"] else 0
    if u < cal.ESCALATE_SHARE and level_index < 4 and row["dispatch_count"] < 4:
        level = RESOLUTION_LEVELS[level_index + 1]
        emit(E.ESCALATED, after(240, 1.0), level=level, org=row[LEVEL_COLUMN[level]])
        return
    if u < cal.ESCALATE_SHARE + cal.SUSPEND_SHARE and not row["suspended"]:
        emit(E.SUSPENDED, after(180, 1.0))
        return
    t = now()
    if row["rework_count"] or row["reopen_count"]:
        handled_at = after(8 * 60, 0.8)
    elif r.random() < prof.fast_share:
        handled_at = after(150, 0.9)
    else:
        days = prof.slow_median_workdays * math.exp(r.gauss(0.0, prof.slow_sigma))
        handled_at = after_workdays(days)
    deadline = row["deadline"]
    if deadline is not None and handled_at > deadline > t and r.random() < cal.EXTEND_SHARE:
        new_deadline = _squeeze(deadline, add_working_days(deadline.astimezone(tz), 5), speed)
        emit(E.EXTENDED, max(t, deadline - _EXTEND_BEFORE / speed), deadline=new_deadline)
        deadline = new_deadline
    supervision: list[tuple[datetime, str]] = []
    if deadline is not None and row["reported_at"] < deadline:
        nudge = row["registered_at"] + (deadline - row["registered_at"]) * 0.8
        if t < nudge < handled_at:
            supervision.append((nudge, "催办"))
    if handled_at - t > _SLOW_HANDLING / speed and row["dispatched_at"] is not None:
        cards = cards_due(row["dispatched_at"].astimezone(tz), HANDLE_CARD_DAYS)
        for name in ("黄牌", "红牌"):
            at = _squeeze(row["dispatched_at"], cards[name], speed)
            if t < at < handled_at:
                supervision.append((at, name))
    for at, name in sorted(supervision):
        emit(E.SUPERVISED, at, supervision=name)
    emit(E.HANDLED, handled_at)


def _squeeze(origin: datetime, moment: datetime, speed: float) -> datetime:
    """A limit measured from `origin`, compressed by the simulation speed."""
    return moment if speed == 1 else origin + (moment - origin) / speed
