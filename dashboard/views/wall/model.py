"""The wall's data for one region: JSON-shaped dicts (their shapes: shapes.py), computed
once per tick and shared.

Two tiers, because their costs differ by two orders of magnitude on a province's tens of
millions of cases (docs/benchmarks.md): `build_live` (today's counts, open cases, mixes,
hours, overdue lists: tens of ms) runs every refresh interval; `build_period` (this
month's ranking, funnel and satisfaction: seconds at province scale) runs once a minute.

Freshness is data: every section carries the time of its data (`as_of`). When the
database fails, the builder returns the previous good sections unchanged and says since
when the database is down, so the wall keeps its numbers and shows their age.
"""
from __future__ import annotations

import functools
import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from dashboard.domain.catalog import RESOLUTION_LEVELS
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts, compute_kpis
from dashboard.domain.periods import Window, last_month, this_month, today, yesterday
from dashboard.domain.ranking import ScoreWeights, rank_children
from dashboard.domain.scope import RegionScope
from dashboard.domain.states import State
from dashboard.domain.stores import CaseStore, EventFeed
from dashboard.views.wall.shapes import LiveModel, PeriodModel

log = logging.getLogger(__name__)

# Where open cases wait, in workflow order (what the 派单 desk reads left to right).
DISPATCH_STATES = (State.REPORTED, State.REGISTERED, State.DISPATCHED, State.IN_PROGRESS,
                   State.VERIFYING, State.SUSPENDED)
_DISPATCH_VALUES = tuple(st.value for st in DISPATCH_STATES)
HANDLER_LEVELS = RESOLUTION_LEVELS  # 网格 → 市
UNASSIGNED = ""                     # the level key of open cases no level holds yet
OVERDUE_ROWS = 12


@functools.lru_cache(maxsize=256)
def iso_utc(t: datetime) -> str:
    # Three times a model, at the tick's clock, for each of a tick's ~200 walls.
    return t.astimezone(timezone.utc).isoformat(timespec="seconds")


def _rate(r) -> float | None:
    return r.percent


# Memo sizes: a province's 1,345 walls have ~24k children rows (communities included), and
# a region rebuilt now was last built many ticks ago; at 16k rows they had been evicted.
MEMO = 65536


@functools.lru_cache(maxsize=MEMO)
def _kpi_values(counts: KpiCounts) -> dict:
    # A builder redoes a changed region's every child row each tick, mostly with the
    # counts of the tick before: the same counts give the same figures. Shared: callers
    # copy it into their own dict (**).
    k = compute_kpis(counts)
    return {"intake": k.intake, "closed": k.closed, "open": k.open,
            "overdue_open": k.overdue_open, "yellow": k.yellow_cards, "red": k.red_cards,
            "closure": _rate(k.closure), "on_time": _rate(k.on_time),
            "satisfaction": _rate(k.satisfaction), "rated": k.rated,
            "timely_sign": _rate(k.timely_sign), "direct": _rate(k.direct_resolution)}


@functools.lru_cache(maxsize=MEMO)
def _child_row(code: str, name: str, counts: KpiCounts) -> dict:
    # A changed region's children are mostly as they were a tick ago (one township of a
    # county changed): their rows too. Shared, like _kpi_values': nothing changes a row.
    return {"code": code, "name": name, **_kpi_values(counts)}


def _source_state(previous: dict | None, name: str, up: bool, now: datetime,
                  error: str | None = None) -> dict:
    prev = ((previous or {}).get("sources") or {}).get(name) or {}
    if up:
        return {"status": "up", "since": None, "as_of": iso_utc(now)}
    return _carry_since({"status": "down", "as_of": prev.get("as_of"),
                         "error": (error or "")[:200]}, prev, now)


def _carry_since(state: dict, prev: dict, now: datetime) -> dict:
    """A source that is down keeps the time it went down across ticks (now, if it just
    went down), so the wall says since when."""
    if state.get("status") == "down":
        state["since"] = (prev.get("since") if prev.get("status") == "down" else None) \
            or iso_utc(now)
    return state


def with_since(states: dict, previous: dict | None, now: datetime) -> dict:
    """`states` (source name -> state, e.g. stream_state's) with 'down since' carried
    over from the previous model's sources."""
    prev = (previous or {}).get("sources") or {}
    return {name: _carry_since(dict(state), prev.get(name) or {}, now)
            for name, state in states.items()}


def newest_sources(*models: dict) -> dict:
    """The state of each source as last observed by any of `models` (the live view,
    rebuilt every refresh, and the period view, rebuilt once a minute): the newest
    observation wins, so a recovery shows as soon as one view has seen it and a failure
    as soon as one view has met it. A source's state is observed when its model was
    computed (`computed_at`); on a tie the first model wins. An older 'down' observed after
    the newest view last saw the source up (its `as_of`) is the same outage: the source is
    down since the earlier of their 'since', so the time shown does not jump back and
    forth as the two views take turns being the newest."""
    seen: dict[str, list[tuple[str, dict]]] = {}
    for model in models:
        at = model.get("computed_at") or ""
        for name, state in (model.get("sources") or {}).items():
            if state:
                seen.setdefault(name, []).append((at, state))
    out = {}
    for name, observations in seen.items():
        at, state = max(observations, key=lambda o: o[0])  # max keeps the first of a tie
        if state.get("status") == "down" and state.get("since"):
            last_up = state.get("as_of") or ""
            since = min([state["since"]] + [
                s["since"] for t, s in observations
                if s.get("status") == "down" and s.get("since") and t >= last_up])
            state = {**state, "since": since}
        out[name] = state
    return out


def _scope(region) -> RegionScope:
    return RegionScope.of(region)


def _children(tree, region) -> list:
    return tree.children(region.code) if region.level < Level.GRID else []


def dispatch_states(placed: dict) -> list[dict]:
    """The 派单 bar: each waiting state's open cases by the level holding them ("" = no
    level yet: 待受理 / 待派单 cases, drawn as their own segment) and in all."""
    count: dict[str, int] = {}
    for (name, _), n in placed.items():
        count[name] = count.get(name, 0) + n
    return [{"state": st,
             "levels": {**{lvl: placed.get((st, lvl), 0) for lvl in HANDLER_LEVELS},
                        UNASSIGNED: placed.get((st, None), 0)},
             "count": count.get(st, 0)}
            for st in _DISPATCH_VALUES]


def _case_row(row: dict, tree, zone: ZoneInfo) -> dict:
    key = (row["id"], row["case_no"], row["grid_code"], row["category"], row["urgency"],
           row["state"], int(row.get("supervision_level") or 0), row.get("deadline"))
    return _listed_case(key, tree, zone)


@functools.lru_cache(maxsize=MEMO)
def _listed_case(key: tuple, tree, zone: ZoneInfo) -> dict:
    """A listed case's row: the same case is on its township's, county's, city's and
    province's lists, tick after tick, and its row holds no clock (its time left is its
    section's: shapes.CaseRow), so one row serves them all. Shared: nothing changes a
    row."""
    case_id, case_no, grid_code, category, urgency, state, supervision, deadline = key
    grid = tree.get(grid_code)
    return {"id": case_id, "case_no": case_no, "grid": grid.name if grid else grid_code,
            "grid_code": grid_code, "community": _parent_name(tree, grid_code),
            "category": category, "urgency": urgency, "state": state,
            "supervision": supervision,
            "deadline": deadline.astimezone(zone).strftime("%m-%d %H:%M") if deadline else "",
            "deadline_at": deadline.isoformat() if deadline else None}


def _parent_name(tree, code: str) -> str:
    r = tree.get(code)
    p = tree.get(r.parent) if r is not None and r.parent else None
    return p.name if p is not None else ""


def build_live(cases: CaseStore, tree, region, tz: str, now: datetime,
               previous: LiveModel | None) -> LiveModel:
    """Today's numbers for the region and each child; the previous good model fills in
    when the database fails."""
    zone = ZoneInfo(tz)
    model: LiveModel = {"region": region.code, "computed_at": iso_utc(now), "sections": {},
                        "sources": {}}
    try:
        scope = _scope(region)
        win = today(now, tz)
        kids = _children(tree, region)
        if kids:
            by_child = cases.kpi_counts_by(scope, win, now, by_child=True)
            total = KpiCounts.total(by_child.values())
        else:
            by_child, total = {}, cases.kpi_counts(scope, win, now)
        at = iso_utc(now)
        s = model["sections"]
        s["kpis"] = {"as_of": at, **_kpi_values(total)}
        none = KpiCounts()
        s["children"] = {"as_of": at, "rows": [
            _child_row(c.code, c.name, by_child.get(c.code, none)) for c in kids]}
        s["dispatch"] = {"as_of": at, "closed_today": total.closed,
                         "states": dispatch_states(cases.open_by_state_and_level(scope))}
        s["mix"] = {"as_of": at, "source": cases.breakdown(scope, win, "source"),
                    "category": cases.breakdown(scope, win, "category")}
        ywin = yesterday(now, tz)
        s["hourly"] = {"as_of": at, "now_hour": now.astimezone(zone).hour,
                       "now_minute": now.astimezone(zone).minute,
                       "today_intake": cases.hourly(scope, win, "reported_at"),
                       "today_closed": cases.hourly(scope, win, "closed_at"),
                       "yesterday_intake": cases.hourly(scope, ywin, "reported_at"),
                       "yesterday_closed": cases.hourly(scope, ywin, "closed_at")}
        oldest = cases.overdue_cases(scope, now, limit=OVERDUE_ROWS)
        urgent = cases.urgent_open_cases(scope, limit=OVERDUE_ROWS)
        s["overdue"] = {"as_of": at,
                        "oldest": [_case_row(r, tree, zone) for r in oldest],
                        "urgent": [_case_row(r, tree, zone) for r in urgent]}
        model["sources"]["database"] = _source_state(previous, "database", True, now)
    except Exception as exc:  # noqa: BLE001 - a failed source keeps the last good data
        log.warning("wall live data for %s failed: %s", region.code, exc)
        model["sections"] = dict((previous or {}).get("sections") or {})
        model["sources"]["database"] = _source_state(previous, "database", False, now, str(exc))
    return model


def previous_window(now: datetime, tz: str) -> Window:
    """What the live ranking's change compares with: this month up to yesterday (较昨日),
    or on the 1st, the whole of last month."""
    month, day = this_month(now, tz), today(now, tz)
    return last_month(now, tz) if day.start == month.start else Window(month.start, day.start)


def previous_counts(cases: CaseStore, region, tz: str, now: datetime) -> dict[str, KpiCounts]:
    """Children's counts over previous_window; they change once a day (cache them so)."""
    win = previous_window(now, tz)
    if region.level >= Level.GRID:
        return {}
    return cases.kpi_counts_by(_scope(region), win, win.end, by_child=True)


def build_period(cases: CaseStore, tree, region, tz: str, now: datetime,
                 previous: PeriodModel | None, weights: ScoreWeights,
                 previous_counts: dict | None = None) -> PeriodModel:
    """This month so far: ranking of the children (change against `previous_counts`), the
    resolution-level funnel and satisfaction per child."""
    model: PeriodModel = {"region": region.code, "computed_at": iso_utc(now), "sections": {}, "sources": {}}
    try:
        scope = _scope(region)
        month = this_month(now, tz)
        kids = _children(tree, region)
        at = iso_utc(now)
        s = model["sections"]
        # 本月办结 by the level that settled it: this month's closures (/kpi's 办结量).
        settled = cases.closed_breakdown(scope, month, "resolution_level")
        s["funnel"] = {"as_of": at, "levels": [
            {"level": lvl, "count": settled.get(lvl, 0)} for lvl in RESOLUTION_LEVELS]}
        if kids:
            cur = cases.kpi_counts_by(scope, month, now, by_child=True)
            cur = {c.code: cur.get(c.code, KpiCounts()) for c in kids}
            # A child with too few cases then has no previous rank (its change shows "—").
            before = {code: k for code, k in (previous_counts or {}).items()
                      if code in cur and k.due >= weights.min_sample}
            ranked = rank_children(cur, KpiCounts.total(cur.values()), weights,
                                   previous=before or None)
            names = {c.code: c.name for c in kids}
            s["ranking"] = {"as_of": at, "min_sample": weights.min_sample, "rows": [{
                "code": r.code, "name": names[r.code], "rank": r.rank,
                "change": r.rank_change, "board": r.board, "score": r.score.total,
                "penalty": r.score.card_penalty,
                "subs": {sub.name: {"points": sub.points, "max": sub.max_points,
                                    "rate": sub.rate.percent, "thin": sub.thin}
                         for sub in r.score.subs},
                "closure": r.kpis.closure.percent, "on_time": r.kpis.on_time.percent,
                "satisfaction": r.kpis.satisfaction.percent, "rated": r.kpis.rated,
                "overdue_open": r.kpis.overdue_open,
            } for r in ranked]}
        else:
            s["ranking"] = {"as_of": at, "min_sample": weights.min_sample, "rows": []}
        model["sources"]["database"] = _source_state(previous, "database", True, now)
    except Exception as exc:  # noqa: BLE001
        log.warning("wall period data for %s failed: %s", region.code, exc)
        model["sections"] = dict((previous or {}).get("sections") or {})
        model["sources"]["database"] = _source_state(previous, "database", False, now, str(exc))
    return model


def stream_state(events: EventFeed, now: datetime) -> dict:
    """Redis and stream freshness for the header badge."""
    try:
        health = events.health()
    except Exception as exc:  # noqa: BLE001 - no Redis configured at all
        return {"redis": {"status": "down", "error": str(exc)[:200]},
                "stream": {"status": "down"}}
    stream = health.pop("stream", {"status": "down"})
    return {"redis": {"status": health["status"], "error": health.get("error")},
            "stream": {"status": stream.get("status"), "lag_seconds": stream.get("lag_seconds"),
                       "newest_at": stream.get("newest_at")}}
