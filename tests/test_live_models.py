"""How a reader shows a published live model at the builder's tick
(dashboard/views/wall/live_models.at_tick): only a model of the tick's own chain of
boards is moved to the tick's clock, and only forwards (the equality with fresh builds,
step by step, is tests/test_live_board_follow.py's)."""
from datetime import datetime, timedelta, timezone

from dashboard.views.wall.live_models import at_tick

TZ = "Asia/Shanghai"
BUILT = datetime(2026, 12, 4, 5, 59, 55, tzinfo=timezone.utc)     # 13:59:55 in Shanghai
DEADLINE = BUILT + timedelta(hours=1)


def model(version: str | None) -> dict:
    at = BUILT.isoformat(timespec="seconds")
    m = {"region": "320500", "computed_at": at,
         "sources": {"database": {"status": "up", "since": None, "as_of": at}},
         "sections": {
             "kpis": {"as_of": at, "intake": 7},
             "hourly": {"as_of": at, "now_hour": 13, "now_minute": 59, "today_intake": [1]},
             "overdue": {"as_of": at, "urgent": [], "oldest": [
                 {"id": 1, "deadline_at": DEADLINE.isoformat()},
                 {"id": 2, "deadline_at": None}]}}}
    if version is not None:
        m["version"] = version
    return m


def tick(now: datetime, base: str = "pass-a") -> dict:
    return {"now": now.isoformat(), "base": base,
            "streams": {"stream": {"status": "live", "lag_seconds": 0.4}}}


def test_a_carried_over_model_moves_to_the_ticks_clock():
    later = BUILT + timedelta(seconds=10)                           # 14:00:05: a new hour
    shown = at_tick(model("pass-a#3"), tick(later), TZ)
    at = later.isoformat(timespec="seconds")
    assert shown["computed_at"] == at
    assert {s["as_of"] for s in shown["sections"].values()} == {at}
    assert (shown["sections"]["hourly"]["now_hour"], shown["sections"]["hourly"]["now_minute"]) \
        == (14, 0)
    # A listed case's time left is its section's clock's (layouts/wall_parts.overdue_rows):
    # the rows themselves stay as they were.
    assert shown["sections"]["overdue"]["oldest"] == model(None)["sections"]["overdue"]["oldest"]
    assert shown["sections"]["kpis"]["intake"] == 7                 # the counts are the same
    assert shown["sources"] == {"database": {"status": "up", "since": None, "as_of": at},
                                "stream": {"status": "live", "lag_seconds": 0.4}}


def test_a_model_of_another_chain_or_newer_than_the_tick_keeps_its_own_clock():
    later = BUILT + timedelta(seconds=10)
    for m, t in ((model("pass-b#9"), tick(later)),       # another builder's board
                 ({**model("pass-a#3"), "retired": True}, tick(later)),   # no longer followed
                 (model(None), tick(later)),             # not versioned (built every tick)
                 (model("pass-a#3"), tick(BUILT - timedelta(seconds=5)))):   # older tick
        shown = at_tick(m, t, TZ)
        assert shown["computed_at"] == m["computed_at"]
        assert shown["sections"] == m["sections"]
        assert shown["sources"]["stream"]["status"] == "live"       # the stream's state, still
    original = model("pass-a#3")
    at_tick(original, tick(later), TZ)
    assert original == model("pass-a#3")                              # left as it was
