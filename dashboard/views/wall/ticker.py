"""Rows of the live ticker and points of the live map, from stream events.

Pure: an event, what the database knows of its case (may be missing when the database is
down) and the region tree in, a small dict out. Privacy mode is applied here, on the
server, so masked details never reach the browser.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.states import EVENT_ZH, STATE_ZH, Event


def mask_case_no(case_no: str) -> str:
    if len(case_no) <= 6:
        return "*" * len(case_no)
    return case_no[:4] + "*" * (len(case_no) - 8) + case_no[-4:]


def ticker_row(event, info: dict | None, tree, zone: ZoneInfo, now: datetime,
               privacy: bool = False) -> dict:
    info = info or {}
    f = event.fields
    grid = tree.get(event.grid)
    parent = tree.get(grid.parent) if grid is not None and grid.parent else None
    case_no = info.get("case_no") or f.get("case_no") or str(event.case_id)
    deadline = f.get("deadline") or info.get("deadline")
    settled = event.type in (Event.CLOSED, Event.SELF_RESOLVED, Event.RATED, Event.REJECTED)
    left = None if settled or not deadline else (deadline - now).total_seconds()
    grid_name = grid.name if grid is not None else event.grid
    place = f"{parent.name} {grid_name}" if parent is not None else grid_name
    if privacy:
        case_no = mask_case_no(case_no)
        place = parent.name if parent is not None else "****"
    step = EVENT_ZH.get(event.type, event.type.value)
    if event.type == Event.SUPERVISED and f.get("supervision"):
        step = f"督办·{f['supervision']}"
    return {
        "id": event.entry_id, "case_id": event.case_id, "case_no": case_no,
        "time": event.ts.astimezone(zone).strftime("%H:%M:%S"), "ts": event.ts.timestamp(),
        "place": place, "category": info.get("category") or f.get("category") or "",
        "urgency": info.get("urgency") or f.get("urgency") or "",
        "step": step, "state": STATE_ZH.get(event.state, event.state.value),
        "type": event.type.value, "seconds_left": left, "settled": settled,
        "lon": grid.lon if grid is not None else None,
        "lat": grid.lat if grid is not None else None,
    }
