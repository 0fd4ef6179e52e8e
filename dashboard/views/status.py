"""View model of the live status page: plain data, computed once per tick and region and
shared by every viewer, so it holds no words (layouts/status.py names them)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from dashboard.domain.kpis import compute_kpis
from dashboard.domain.periods import today
from dashboard.domain.scope import RegionScope
from dashboard.domain.stores import CaseStore, EventFeed, SourceHealth
from dashboard.views.health import collect_health

RECENT_EVENTS = 12
RECENT_SCAN = 400   # newest entries looked through for them


def build_status(database: SourceHealth, events: EventFeed, cases: CaseStore, tree,
                 region_code: str, tz: str, now: datetime | None = None) -> dict:
    region = tree.get(region_code)
    now = now or datetime.now(timezone.utc)
    zone = ZoneInfo(tz)
    health = collect_health(database, events, region_code)
    skipped = health.get("stream", {}).get("skipped")
    if skipped and skipped.get("since"):  # counted since when, in the region's time
        skipped["since_local"] = datetime.fromisoformat(skipped["since"]).astimezone(
            zone).strftime("%Y-%m-%d %H:%M")
    model: dict = {"health": health, "region": {"code": region.code, "name": region.name},
                   "computed_at": now.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                   "kpis": None, "events": []}
    if health["database"]["status"] == "up":
        scope = RegionScope.of(region)
        k = compute_kpis(cases.kpi_counts(scope,
                                     today(now, tz), now))
        model["kpis"] = {  # rates in percent, None for no data
            "intake": k.intake, "closed": k.closed, "open": k.open,
            "overdue_open": k.overdue_open, "yellow_cards": k.yellow_cards,
            "red_cards": k.red_cards, "closure": k.closure.percent,
            "on_time": k.on_time.percent, "satisfaction": k.satisfaction.percent,
            "rated": k.rated}
    if health["redis"]["status"] == "up":
        try:
            # The stream carries the whole upstream system: only this region's events.
            events = [e for e in events.latest(RECENT_SCAN)
                      if tree.contains(region.code, e.grid)][-RECENT_EVENTS:]
        except Exception:  # noqa: BLE001 - the health block already says Redis is unwell
            events = []
        model["events"] = [{
            "id": e.entry_id, "time": e.ts.astimezone(zone).strftime("%H:%M:%S"),
            "case": e.case_id, "grid": e.grid, "event": e.type.value, "state": e.state.value,
        } for e in reversed(events)]  # newest on top
    return model
