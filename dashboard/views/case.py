"""View model of /case/<id>: the case, its deadline and time status, supervision, rating,
every transition with time, org and level, and its personal information: masked, or in
clear for the one request of an account that may unmask it (docs/security.md)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.domain.catalog import (
    CATEGORY_EN,
    RATING_EN,
    RESOLUTION_LEVEL_EN,
    SETTLED_STATUS,
    SOURCE_EN,
    SUPERVISION_EN,
    SUPERVISION_LEVELS,
    TIME_STATUS,
    TIME_STATUS_EN,
    URGENCY_EN,
    in_language,
)
from dashboard.domain.deadlines import time_status
from dashboard.domain.hierarchy import Level
from dashboard.domain.personal import personal_of
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


# The personal fields as /case lists them, headed `case.personal.<key>`.
PERSONAL_FIELDS = ("reporter_name", "reporter_phone", "address", "point", "description")


@dataclass(frozen=True)
class PersonalView:
    """A case's personal fields as shown: (label, value) rows, masked or in clear."""
    rows: list[tuple[str, str]]
    masked: bool
    present: bool                       # the upstream sent any (old rows have none)


@dataclass(frozen=True)
class CaseView:
    id: int
    case_no: str
    region_chain: list[RegionRef]       # province → grid
    grid_code: str
    fields: list[tuple[str, str, str]]  # (label, value, tone), in the page's language
    time_status: str
    events: list[TimelineRow]
    personal: PersonalView              # masked: the page never holds the clear values


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


def describe(event_type: str, detail: dict, lang: str, zone: ZoneInfo, name_of) -> str:
    """A transition's detail as a person writes it ("派至 网格 金色社区第1网格", "超时签收",
    "延期至 11-24 02:34"), in the reader's language; fields this does not know yet are
    listed as they come, so nothing the upstream system sent is hidden."""
    d = dict(detail)
    out = []

    def when(text):
        try:
            return datetime.fromisoformat(text).astimezone(zone).strftime("%m-%d %H:%M")
        except (TypeError, ValueError):
            return str(text)

    def level(value):
        return in_language(value or "", RESOLUTION_LEVEL_EN, lang)
    if event_type == "REPORTED" and {"source", "category"} <= d.keys():
        cat, sub = d.pop("category"), d.pop("subcategory", "")
        out.append(t("case.detail.reported", lang, source=in_language(d.pop("source"), SOURCE_EN, lang),
                     category=in_language(cat, CATEGORY_EN, lang),
                     subcategory=in_language(sub, CATEGORY_EN, lang),
                     urgency=in_language(d.pop("urgency", ""), URGENCY_EN, lang)))
        d.pop("case_no", None)  # the page's title says it
    if {"sign_deadline", "deadline"} <= d.keys():
        out.append(t("case.detail.limits", lang, sign=when(d.pop("sign_deadline")),
                     deadline=when(d.pop("deadline"))))
    if event_type in ("DISPATCHED", "ESCALATED") and "level" in d:
        key = "case.detail.dispatched" if event_type == "DISPATCHED" else "case.detail.escalated"
        out.append(t(key, lang, level=level(d.pop("level")),
                     org=name_of(d.pop("org", None))))
    if "late" in d:
        out.append(t("case.detail.signed_late" if d.pop("late") else "case.detail.signed", lang))
    if "resolution_level" in d:
        out.append(t("case.detail.settled_at", lang, level=level(d.pop("resolution_level"))))
    if "rating" in d:
        out.append(t("case.detail.rated", lang, rating=in_language(d.pop("rating"), RATING_EN, lang)))
    if "supervision" in d:
        out.append(t("case.detail.supervised", lang,
                     supervision=in_language(d.pop("supervision"), SUPERVISION_EN, lang)))
    if "deadline" in d:
        out.append(t("case.detail.extended", lang, deadline=when(d.pop("deadline"))))
    out += [f"{k}: {v}" for k, v in d.items()]
    return t("case.detail_sep", lang).join(out)


def find(cases: CaseStore, tree, roots: str | tuple[str, ...], case_id_text: str) -> dict:
    """The case and its events ({case, events}) when it lies inside `roots` (the viewer's
    regions); BadInput otherwise, the same for a case elsewhere as for no case."""
    case_id = parse_case_id(case_id_text)
    for code in (roots,) if isinstance(roots, str) else roots:
        root = tree.get(code)
        found = cases.case_detail(RegionScope.of(root), case_id) if root is not None else None
        if found is not None:
            return found
    raise BadInput("unknown-case", case_id=case_id)


def personal_view(case: dict, lang: str, clear: bool = False) -> PersonalView:
    """The case's personal fields, masked (dashboard/domain/personal.py) unless `clear`."""
    p = personal_of(case, clear)
    point = "—"
    if p.lon is not None:
        digits = 6 if clear else 2
        point = f"{p.lon:.{digits}f}, {p.lat:.{digits}f}"
    values = {"reporter_name": p.reporter_name, "reporter_phone": p.reporter_phone,
              "address": p.address, "point": point, "description": p.description}
    return PersonalView([(t(f"case.personal.{k}", lang), values[k] or "—")
                         for k in PERSONAL_FIELDS], masked=p.masked, present=p.any)


def build(cases: CaseStore, tree, roots: str | tuple[str, ...], case_id_text: str, lang: str,
          tz: str, now: datetime) -> CaseView:
    """`roots`: the region(s) the viewer may see; a case outside them is an unknown case."""
    found = find(cases, tree, roots, case_id_text)
    c, z = found["case"], ZoneInfo(tz)
    fmt = lambda at: at.astimezone(z).strftime("%Y-%m-%d %H:%M:%S") if at else "—"  # noqa: E731
    name = lambda code: (tree.get(code).name if code and tree.get(code) else code or "")  # noqa: E731
    status = case_status(c, now)
    events = []
    for e in found["events"]:
        detail = json.loads(e["detail"]) if e["detail"] else {}
        events.append(TimelineRow(
            seq=e["seq"], at=fmt(e["at"]),
            event=event_label(e["event_type"], lang), state=state_label(e["state"], lang),
            level=in_language(e["actor_level"] or "", RESOLUTION_LEVEL_EN, lang),
            org=name(e["actor_org"]), org_code=e["actor_org"] or "",
            detail=describe(e["event_type"], detail, lang, z, name)))
    def word(value, english):  # a vocabulary value in the reader's language
        return in_language(value, english, lang) if value else "—"
    values = (  # key (label `case.field.<key>`), value
        ("category", f"{word(c['category'], CATEGORY_EN)} / {word(c['subcategory'], CATEGORY_EN)}"),
        ("source", word(c["source"], SOURCE_EN)),
        ("urgency", word(c["urgency"], URGENCY_EN)),
        ("state", state_label(c["state"], lang)),
        ("reported_at", fmt(c["reported_at"])),
        ("sign_deadline", fmt(c["sign_deadline"])),
        ("deadline", fmt(c["deadline"])),
        ("time_status", in_language(status, TIME_STATUS_EN, lang)),
        ("closed_at", fmt(c["closed_at"])),
        ("handler_level", word(c["handler_level"], RESOLUTION_LEVEL_EN)),
        ("resolution_level", word(c["resolution_level"], RESOLUTION_LEVEL_EN)),
        ("supervision", supervision(c["supervision_level"], lang)),
        ("rating", word(c["rating"], RATING_EN) if c["rating"] else t("case.not_rated", lang)),
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
        personal=personal_view(c, lang),
    )
