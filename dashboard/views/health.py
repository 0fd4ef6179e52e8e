"""Health of a running gridwatch: database, Redis, stream lag, case count.

Every probe is caught: a health report describes a broken source, it never becomes one.

The overall status is `ok` when every source is well, `down` only when neither the
database nor Redis answers (nothing left to show), and `degraded` in between: the wall
still shows its last data and whatever source is up. The full report names the database
dialect, the stream's newest entry and the whole database's case count, so /healthz
gives it only to an operator's bearer token (`GRIDWATCH_HEALTH_TOKEN`); anyone else gets
`public_health`'s plain status.
"""
from __future__ import annotations

import hmac
from datetime import datetime, timezone

from dashboard.domain.stores import EventFeed, SourceHealth


def collect_health(database_source: SourceHealth, events: EventFeed, region: str) -> dict:
    now = datetime.now(timezone.utc)
    database = database_source.health()
    try:
        redis = events.health()
    except Exception as exc:  # noqa: BLE001 - e.g. no Redis URL configured at all
        redis = {"status": "down", "error": str(exc)[:300],
                 "stream": {"status": "down", "error": str(exc)[:300]}}
    stream = redis.pop("stream", {"status": "down"})
    return {
        "status": overall_status(database["status"], redis["status"], stream.get("status")),
        "time": now.isoformat(timespec="seconds"),
        "region": region,
        "cases": database.get("cases"),
        "database": database,
        "redis": redis,
        "stream": stream,
    }


def overall_status(database: str, redis: str, stream: str | None) -> str:
    """ok: all well; down: neither the database nor Redis answers; degraded otherwise."""
    if database == "up" and redis == "up" and stream in ("live", "empty"):
        return "ok"
    if database != "up" and redis != "up":
        return "down"
    return "degraded"


def public_health(report: dict) -> dict:
    """What anyone may read: the overall status and the time of the report."""
    return {"status": report["status"], "time": report["time"]}


def is_operator(authorization: str | None, token: str | None) -> bool:
    """True when `Authorization: Bearer <token>` carries the configured token (compared
    in constant time). No token configured: nobody is an operator over HTTP."""
    if not token or not authorization:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())
