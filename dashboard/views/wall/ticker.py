"""Rows of the live ticker and points of the live map, from stream events.

Pure: an event, what the database knows of its case (may be missing when the database is
down) and the region tree in, a small dict out. Privacy mode is applied here, on the
server, so masked details never reach the browser.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.catalog import CATEGORY_EN, SUPERVISION_EN, URGENT, in_language
from dashboard.domain.states import Event, event_label, state_label
from dashboard.domain.text import t


def mask_case_no(case_no: str) -> str:
    if len(case_no) <= 6:
        return "*" * len(case_no)
    return case_no[:4] + "*" * (len(case_no) - 8) + case_no[-4:]


def ticker_row(event, info: dict | None, tree, zone: ZoneInfo, now: datetime,
               privacy: bool = False, lang: str = "zh") -> dict:
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
    urgency = info.get("urgency") or f.get("urgency") or ""
    step = event_label(event.type, lang)
    if event.type == Event.SUPERVISED and f.get("supervision"):
        step = t("wall.ticker.supervised", lang,
                 level=in_language(f["supervision"], SUPERVISION_EN, lang))
    return {
        "id": event.entry_id, "case_id": event.case_id, "case_no": case_no,
        "time": event.ts.astimezone(zone).strftime("%H:%M:%S"), "ts": event.ts.timestamp(),
        "place": place,
        "category": in_language(info.get("category") or f.get("category") or "", CATEGORY_EN, lang),
        "urgency": urgency, "urgent": urgency == URGENT,
        "step": step, "state": state_label(event.state, lang),
        "type": event.type.value, "seconds_left": left, "settled": settled,
        "lon": grid.lon if grid is not None else None,
        "lat": grid.lat if grid is not None else None,
    }
