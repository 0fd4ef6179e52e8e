"""Health of a running gridwatch: database, Redis, stream lag, case count.

Every probe is caught: a health report describes a broken source, it never becomes one.
"""
from __future__ import annotations

from datetime import datetime, timezone


def collect_health(rt) -> dict:
    now = datetime.now(timezone.utc)
    database = rt.db.health()
    try:
        redis = rt.redis.health()
    except Exception as exc:  # noqa: BLE001 - e.g. no Redis URL configured at all
        redis = {"status": "down", "error": str(exc)[:300],
                 "stream": {"status": "down", "error": str(exc)[:300]}}
    stream = redis.pop("stream", {"status": "down"})
    ok = database["status"] == "up" and redis["status"] == "up"
    status = "ok" if ok and stream.get("status") in ("live", "empty") else (
        "degraded" if ok or database["status"] == "up" else "down")
    return {
        "status": status,
        "time": now.isoformat(timespec="seconds"),
        "region": rt.settings.region,
        "cases": database.get("cases"),
        "database": database,
        "redis": redis,
        "stream": stream,
    }
