"""The audit trail as /audit shows and exports it: the filter a URL asks for, and a row's
cells. The table and the CSV take their rows from `cells`, so an export holds exactly
what the table shows for the same filter.

Pure: query parameters and stored rows in, values out (the store is the app's).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from dashboard.domain.audit import Action, AuditRow, Result, label_of
from dashboard.domain.text import t

PAGE_ROWS = 50
MAX_ACTOR = 80          # gw_audit.actor's length
COLUMNS = ("id", "at", "actor", "address", "action", "target", "scope", "result", "detail")


@dataclass(frozen=True)
class AuditQuery:
    """What the reader asked for: the filter (times as typed, in the installation's zone)
    and where the page starts (`before`: older than that id; `after`: newer)."""
    start: str = ""          # YYYY-MM-DD or YYYY-MM-DD HH:MM (or with a T)
    end: str = ""
    actor: str = ""
    action: str = ""
    result: str = ""
    before: int | None = None
    after: int | None = None

    def filters(self, tz: str) -> dict:
        """The store's filters (audit_store._filtered): times as aware UTC bounds, `end`
        counted whole (a day to its end, a minute to its end)."""
        zone = ZoneInfo(tz)
        out: dict = {"actor": self.actor or None, "action": self.action or None,
                     "result": self.result or None}
        if self.start:
            out["since"] = _at(self.start, zone, end=False)
        if self.end:
            out["until"] = _at(self.end, zone, end=True)
        return out

    def params(self, **changes) -> dict[str, str]:
        """The query string's parameters (empty ones left out), with `changes`."""
        values = {"from": self.start, "to": self.end, "actor": self.actor,
                  "action": self.action, "result": self.result, "before": self.before,
                  "after": self.after}
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def href(self, path: str, lang: str, **changes) -> str:
        params = self.params(**changes)
        if lang == "en":
            params["lang"] = "en"
        return path + ("?" + urlencode(params) if params else "")


def _parse_time(text: str) -> datetime | date:
    if len(text) > 10:
        return datetime.strptime(text.replace("T", " ", 1), "%Y-%m-%d %H:%M")
    return date.fromisoformat(text)


def _at(text: str, zone: ZoneInfo, end: bool) -> datetime:
    value = _parse_time(text)
    if isinstance(value, datetime):
        local = value + (timedelta(minutes=1) if end else timedelta())
    else:
        local = datetime.combine(value + (timedelta(days=1) if end else timedelta()), time())
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def parse(args: dict[str, str]) -> tuple[AuditQuery, list[str]]:
    """The query a URL asks for, and the catalogue keys of what was wrong in it (those
    parts are left out of the query, never guessed)."""
    errors = []
    values = {}
    for name, key in (("from", "start"), ("to", "end")):
        text = (args.get(name) or "").strip()[:32]
        if text:
            try:
                _parse_time(text)
                values[key] = text
            except ValueError:
                errors.append("audit.error.time")
    actor = (args.get("actor") or "").strip()[:MAX_ACTOR]
    action = args.get("action") or ""
    if action and action not in {a.value for a in Action}:
        errors.append("audit.error.action")
        action = ""
    result = args.get("result") or ""
    if result and result not in {r.value for r in Result}:
        errors.append("audit.error.result")
        result = ""
    ids = {}
    for name in ("before", "after"):
        text = args.get(name) or ""
        if text:
            if text.isascii() and text.isdigit() and len(text) < 19:
                ids[name] = int(text)
            else:
                errors.append("audit.error.page")
    query = AuditQuery(values.get("start", ""), values.get("end", ""), actor, action, result,
                       ids.get("before"), None if "before" in ids else ids.get("after"))
    if query.start and query.end and query.filters("UTC")["since"] >= query.filters("UTC")["until"]:
        errors.append("audit.error.range")
        query = AuditQuery("", "", actor, action, result, query.before, query.after)
    return query, errors


def cells(row: AuditRow, lang: str, tz: str) -> dict[str, str]:
    """One row as the table and the CSV show it: the time in the installation's zone,
    the action's and the result's names in the reader's language."""
    at = row.at.astimezone(ZoneInfo(tz))
    return {"id": str(row.id), "at": at.strftime("%Y-%m-%d %H:%M:%S"), "actor": row.actor,
            "address": row.address or "", "action": label_of(Action, row.action, lang),
            "target": row.target or "", "scope": row.scope or "",
            "result": label_of(Result, row.result, lang),
            "detail": "" if row.detail == "{}" else row.detail}


def headers(lang: str) -> list[tuple[str, str]]:
    """(field, header) of the table's and the CSV's columns."""
    return [(c, t(f"audit.col.{c}", lang)) for c in COLUMNS]
