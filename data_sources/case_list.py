"""The cases behind a number, paged, sorted and filtered in SQL.

Every query filters the scope's code column and one time column, which the (code, time)
indexes of schema.py serve; ORDER BY follows the index direction (ASC NULLS LAST, DESC
NULLS FIRST, as a backward index scan yields) so PostgreSQL reads only the rows of the
page instead of sorting every match. Paging is OFFSET with a cap: the count stops at
COUNT_CAP and pages stop at MAX_OFFSET, and the screen says so, because counting or
skipping millions of rows to show 50 is what made such lists slow.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from dashboard.domain.case_query import (
    BASES,
    COUNT_CAP,
    FILTERS,
    MAX_OFFSET,
    PAGE_SIZE,
    SORTS,
    CasePage,
    CaseQuery,
)
from dashboard.domain.periods import Window
from dashboard.domain.scope import RegionScope
from data_sources.schema import OPEN_STATES_SQL, case, case_event

c = case.c
# The personal ones are masked by the view (dashboard/views/region.case_rows) before any
# list or export shows them.
LIST_COLUMNS = (c.id, c.case_no, c.grid_code, c.category, c.subcategory, c.source, c.urgency,
                c.state, c.reported_at, c.closed_at, c.deadline, c.handler_level,
                c.supervision_level, c.rating, c.reporter_name, c.reporter_phone, c.address)


def conditions(scope: RegionScope, window: Window, now: datetime, q: CaseQuery) -> list:
    if q.basis not in BASES:
        raise ValueError(f"unknown basis {q.basis!r}")
    w = window.utc
    cond = [c[scope.column] == scope.code]
    if q.basis == "reported":
        cond += [c.reported_at >= w.start, c.reported_at < w.end]
    elif q.basis == "closed":
        cond += [c.closed_at >= w.start, c.closed_at < w.end]
    else:
        cond.append(c.state.in_(OPEN_STATES_SQL))
        if q.basis == "overdue":  # 超期在办: 挂起 cases are out of timeliness
            cond += [c.deadline < now, c.state != "SUSPENDED"]
    for name, value in q.filters:
        if name not in FILTERS or value not in FILTERS[name]:
            raise ValueError(f"unknown filter {name}={value!r}")
        cond.append(c[name] == value)
    return cond


def order_by(sort: str) -> list:
    column, desc = SORTS[sort]
    col = c[column]
    if desc:
        return [col.desc().nulls_first(), c.id.desc()]
    return [col.asc().nulls_last(), c.id.asc()]


def count_capped(conn, cond: list, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, capped): stops reading after cap + 1 matching rows."""
    inner = sa.select(sa.literal(1)).where(*cond).limit(cap + 1).subquery()
    n = conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()
    return (cap, True) if n > cap else (int(n), False)


def case_page(engine: sa.Engine, scope: RegionScope, window: Window, now: datetime,
              q: CaseQuery, page_size: int = PAGE_SIZE) -> CasePage:
    cond = conditions(scope, window, now, q)
    max_pages = max(1, MAX_OFFSET // page_size)
    with engine.connect() as conn:
        total, capped = count_capped(conn, cond)
        pages = min(max(1, -(-total // page_size)), max_pages)
        page = min(max(1, q.page), pages)
        stmt = (sa.select(*LIST_COLUMNS).where(*cond).order_by(*order_by(q.sort))
                .limit(page_size).offset((page - 1) * page_size))
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return CasePage(rows=rows, total=total, capped=capped, page=page, pages=pages)


def case_export(engine: sa.Engine, scope: RegionScope, window: Window, now: datetime,
                q: CaseQuery, limit: int = COUNT_CAP) -> list[dict]:
    """The first `limit` rows of the list in its order (the CSV export)."""
    stmt = (sa.select(*LIST_COLUMNS).where(*conditions(scope, window, now, q))
            .order_by(*order_by(q.sort)).limit(limit))
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def case_detail(engine: sa.Engine, scope: RegionScope, case_id: int) -> dict | None:
    """The case row and its events in order; None when it does not exist or lies outside
    the scope (the two are indistinguishable on purpose: a forged id learns nothing)."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(case).where(c.id == case_id,
                                                 c[scope.column] == scope.code)).first()
        if row is None:
            return None
        ev = case_event.c
        events = conn.execute(sa.select(ev.seq, ev.event_type, ev.at, ev.state, ev.actor_level,
                                        ev.actor_org, ev.detail)
                              .where(ev.case_id == case_id).order_by(ev.seq))
        return {"case": dict(row._mapping), "events": [dict(e._mapping) for e in events]}


def mix_side(conn, where, group: list, start, end, dimensions: tuple[str, ...]):
    """Cases reported in [start, end) grouped by `group` and every dimension, and whether
    rejected: rows of (*group, *dimension values, rejected, count). One scan for all the
    dimensions (a few hundred groups) instead of one per dimension: the scan is the cost."""
    cols = [c[d] for d in dimensions]
    rejected = c.state == "REJECTED"
    return conn.execute(
        sa.select(*group, *cols, rejected, sa.func.count())
        .where(where, c.reported_at >= start, c.reported_at < end)
        .group_by(*group, *cols, rejected))


def add_mix(out: dict, rows, dimensions: tuple[str, ...], n_group: int = 0) -> None:
    """Adds mix_side rows into {dimension: {value: count}} (out[key] per group key when
    grouped). By resolution_level, "" is the cases not closed; rejected (不予受理) cases
    were never going to be, so they are left out of that dimension only."""
    for row in rows:
        target = out.setdefault(tuple(row[:n_group]), {d: {} for d in dimensions}) \
            if n_group else out
        n, was_rejected = int(row[-1]), bool(row[-2])
        for d, v in zip(dimensions, row[n_group:-2]):
            if d == "resolution_level" and was_rejected:
                continue
            key = v if v is not None else ""
            target[d][key] = target[d].get(key, 0) + n


def breakdowns(engine: sa.Engine, scope: RegionScope, window: Window,
               dimensions: tuple[str, ...]) -> dict[str, dict[str, int]]:
    """Intake in the window counted by each dimension (mix_side)."""
    w = window.utc
    out: dict[str, dict[str, int]] = {d: {} for d in dimensions}
    with engine.connect() as conn:
        add_mix(out, mix_side(conn, c[scope.column] == scope.code, [], w.start, w.end,
                              dimensions), dimensions)
    return out
