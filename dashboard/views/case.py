"""View model of /case/<id>: the case, its deadline and time status, supervision, rating
and every transition with time, org and level."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.catalog import (
    SETTLED_STATUS,
    SUPERVISION_EN,
    SUPERVISION_LEVELS,
    TIME_STATUS,
    TIME_STATUS_EN,
    in_language,
)
from dashboard.domain.deadlines import time_status
from dashboard.domain.hierarchy import Level
from dashboard.domain.scope import RegionScope
from dashboard.domain.states import event_label, is_open, state_label
from dashboard.domain.stores import CaseStore
from dashboard.domain.text import t
from dashboard.views.common import RegionRef
from dashboard.views.url_state import BadInput

ON_TRACK, DUE_SOON, OVERDUE = TIME_STATUS
CLOSED_ON_TIME, CLOSED_LATE, REJECTED = SETTLED_STATUS
# How the time status reads at a glance: met, close to the deadline, missed.
TONE = {ON_TRACK: "met", CLOSED_ON_TIME: "met", DUE_SOON: "warn", OVERDUE: "missed",
        CLOSED_LATE: "missed"}


_CASE_ID = re.compile(r"[0-9]{1,18}", re.ASCII)  # '９' or '²' is not a case number


@dataclass(frozen=True)
class TimelineRow:
    """One transition as the timeline shows it (a row of the table: `asdict` it)."""
    seq: int
    at: str
    event: str
    state: str
    level: str
    org: str
    org_code: str
    detail: str


@dataclass(frozen=True)
class CaseView:
    id: int
    case_no: str
    region_chain: list[RegionRef]       # province → grid
    grid_code: str
    fields: list[tuple[str, str, str]]  # (label, value, tone), in the page's language
    time_status: str
    events: list[TimelineRow]


def parse_case_id(text: str) -> int:
    if not _CASE_ID.fullmatch(text) or int(text) == 0:
        shown = text[:40]
        raise BadInput("bad-case-id", shown=shown)
    return int(text)


def case_status(case: dict, now: datetime) -> str:
    """正常 / 将到期 / 已超期 while open; 按期办结 / 超期办结 once closed (catalog.py)."""
    if case["state"] == "REJECTED":
        return REJECTED
    deadline = case["deadline"]
    if not is_open(case["state"]):
        closed = case["closed_at"]
        on_time = deadline is None or (closed and closed <= deadline)
        return CLOSED_ON_TIME if on_time else CLOSED_LATE
    return time_status(now, case["registered_at"] or case["reported_at"], deadline)


def supervision(level: int | None, lang: str) -> str:
    """督办 of a case: none, or the highest card raised (catalog.SUPERVISION_LEVELS)."""
    if level == 0:
        return t("case.no_supervision", lang)
    if level is None or not 0 < level <= len(SUPERVISION_LEVELS):
        return "—"
    return in_language(SUPERVISION_LEVELS[level - 1], SUPERVISION_EN, lang)


def build(cases: CaseStore, tree, root_code: str, case_id_text: str, lang: str, tz: str,
          now: datetime) -> CaseView:
    case_id = parse_case_id(case_id_text)
    root = tree.get(root_code)
    found = cases.case_detail(RegionScope.of(root), case_id)
    if found is None:
        raise BadInput("unknown-case", case_id=case_id)
    c, z, en = found["case"], ZoneInfo(tz), lang == "en"
    fmt = lambda at: at.astimezone(z).strftime("%Y-%m-%d %H:%M:%S") if at else "—"  # noqa: E731
    name = lambda code: (tree.get(code).name if code and tree.get(code) else code or "")  # noqa: E731
    status = case_status(c, now)
    events = []
    for e in found["events"]:
        detail = json.loads(e["detail"]) if e["detail"] else {}
        events.append(TimelineRow(
            seq=e["seq"], at=fmt(e["at"]),
            # English shows the codes for now (the translation issue will label them).
            event=e["event_type"] if en else event_label(e["event_type"], lang),
            state=e["state"] if en else state_label(e["state"], lang),
            level=e["actor_level"] or "", org=name(e["actor_org"]),
            org_code=e["actor_org"] or "",
            detail=t("case.detail_sep", lang).join(f"{k}: {v}" for k, v in detail.items())))
    values = (  # key (label `case.field.<key>`), value
        ("category", f"{c['category']} / {c['subcategory']}"),
        ("source", c["source"]),
        ("urgency", c["urgency"]),
        ("state", c["state"] if en else state_label(c["state"], lang)),
        ("reported_at", fmt(c["reported_at"])),
        ("sign_deadline", fmt(c["sign_deadline"])),
        ("deadline", fmt(c["deadline"])),
        ("time_status", in_language(status, TIME_STATUS_EN, lang)),
        ("closed_at", fmt(c["closed_at"])),
        ("handler_level", c["handler_level"] or "—"),
        ("resolution_level", c["resolution_level"] or "—"),
        ("supervision", supervision(c["supervision_level"], lang)),
        ("rating", c["rating"] or t("case.not_rated", lang)),
        ("counts", f"{c['dispatch_count']} / {c['return_count']} / {c['rework_count']}"
                   f" / {c['reopen_count']}"),
    )
    return CaseView(
        id=c["id"], case_no=c["case_no"],
        region_chain=[RegionRef(c[lv.column], name(c[lv.column])) for lv in Level],
        grid_code=c["grid_code"],
        fields=[(t(f"case.field.{key}", lang), value,
                 TONE.get(status, "") if key == "time_status" else "") for key, value in values],
        time_status=status,
        events=events,
    )
