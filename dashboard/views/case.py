"""View model of /case/<id>: the case, its deadline and time status, supervision, rating
and every transition with time, org and level."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.deadlines import time_status
from dashboard.domain.hierarchy import Level
from dashboard.domain.scope import RegionScope
from dashboard.domain.states import EVENT_ZH, STATE_ZH, is_open
from dashboard.domain.stores import CaseStore
from dashboard.views.url_state import BadInput

SUPERVISION = {0: ("无", "none"), 1: ("催办", "reminder"), 2: ("黄牌", "yellow card"),
               3: ("红牌", "red card")}
TIME_STATUS_EN = {"正常": "on track", "将到期": "due soon", "已超期": "overdue",
                  "按期办结": "closed on time", "超期办结": "closed late", "不予受理": "rejected"}


_CASE_ID = re.compile(r"[0-9]{1,18}", re.ASCII)  # '９' or '²' is not a case number


@dataclass(frozen=True)
class RegionRef:
    code: str
    name: str


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
    fields: list[tuple[str, str]]       # (label, value), in the page's language
    time_status: str
    events: list[TimelineRow]


def parse_case_id(text: str) -> int:
    if not _CASE_ID.fullmatch(text) or int(text) == 0:
        shown = text[:40]
        raise BadInput("bad-case-id", f"案件编号格式不正确：{shown}（应为正整数）",
                       f"Malformed case id: {shown} (expected a positive integer)")
    return int(text)


def case_status(case: dict, now: datetime) -> str:
    """正常 / 将到期 / 已超期 while open; 按期办结 / 超期办结 once closed."""
    if case["state"] == "REJECTED":
        return "不予受理"
    deadline = case["deadline"]
    if not is_open(case["state"]):
        closed = case["closed_at"]
        return "按期办结" if deadline is None or (closed and closed <= deadline) else "超期办结"
    return time_status(now, case["registered_at"] or case["reported_at"], deadline)


def build(cases: CaseStore, tree, root_code: str, case_id_text: str, lang: str, tz: str,
          now: datetime) -> CaseView:
    case_id = parse_case_id(case_id_text)
    root = tree.get(root_code)
    found = cases.case_detail(RegionScope.of(root), case_id)
    if found is None:
        raise BadInput("unknown-case", f"案件 {case_id} 不存在，或不在本系统范围内",
                       f"Case {case_id} does not exist or lies outside this system's scope")
    c, z, en = found["case"], ZoneInfo(tz), lang == "en"
    fmt = lambda t: t.astimezone(z).strftime("%Y-%m-%d %H:%M:%S") if t else "—"  # noqa: E731
    name = lambda code: (tree.get(code).name if code and tree.get(code) else code or "")  # noqa: E731
    status = case_status(c, now)
    events = []
    for e in found["events"]:
        detail = json.loads(e["detail"]) if e["detail"] else {}
        events.append(TimelineRow(
            seq=e["seq"], at=fmt(e["at"]),
            event=e["event_type"] if en else EVENT_ZH.get(e["event_type"], e["event_type"]),
            state=e["state"] if en else STATE_ZH.get(e["state"], e["state"]),
            level=e["actor_level"] or "", org=name(e["actor_org"]),
            org_code=e["actor_org"] or "",
            detail="；".join(f"{k}: {v}" for k, v in detail.items())))
    return CaseView(
        id=c["id"], case_no=c["case_no"],
        region_chain=[RegionRef(c[lv.column], name(c[lv.column])) for lv in Level],
        grid_code=c["grid_code"],
        fields=[
            ("类别" if not en else "Category", f"{c['category']} / {c['subcategory']}"),
            ("来源" if not en else "Source", c["source"]),
            ("紧急程度" if not en else "Urgency", c["urgency"]),
            ("当前环节" if not en else "State", c["state"] if en else STATE_ZH.get(c["state"], c["state"])),
            ("上报时间" if not en else "Reported", fmt(c["reported_at"])),
            ("签收时限" if not en else "Sign-off limit", fmt(c["sign_deadline"])),
            ("办理时限" if not en else "Deadline", fmt(c["deadline"])),
            ("时限状态" if not en else "Time status", TIME_STATUS_EN.get(status, status) if en else status),
            ("结案时间" if not en else "Closed", fmt(c["closed_at"])),
            ("当前办理层级" if not en else "Held at", c["handler_level"] or "—"),
            ("办结层级" if not en else "Resolved at", c["resolution_level"] or "—"),
            ("督办" if not en else "Supervision", SUPERVISION.get(c["supervision_level"], ("—", "—"))[en]),
            ("评价" if not en else "Rating", c["rating"] or ("未评价" if not en else "not rated")),
            ("派单 / 退回 / 返工 / 重办" if not en else "Dispatches / returns / rework / reopen",
             f"{c['dispatch_count']} / {c['return_count']} / {c['rework_count']} / {c['reopen_count']}"),
        ],
        time_status=status,
        events=events,
    )
