"""Health tells the true story: /healthz answers 503 only when nothing answers, says no
more than a plain status to anyone without the operator's token, and the wall's database
badge follows the newest observation, so a recovery shows within a refresh or two.

The last test stops and starts a PostgreSQL of its own (never the machine's server).
"""
import json
import os
import time
from datetime import datetime, timezone

import pytest

from callbacks.wall import content
from dashboard import create_app
from dashboard.app.settings import Settings
from dashboard.domain.walls import WallAccess
from dashboard.views.health import overall_status
from dashboard.views.wall.model import newest_sources
from tests.live import Deployment, make_env, stop_app_threads
from tests.private_pg import PrivatePostgres, missing_reason
from tests.test_app import _db_with

TOKEN = "s3cret-operator-token"
DEAD_PG = "postgresql+psycopg://nobody@127.0.0.1:1/x"
DEAD_REDIS = "redis://127.0.0.1:1/0"
PUBLIC_KEYS = {"status", "time"}


@pytest.fixture
def make_app(tmp_path, redis_url, key_prefix, redis_client):  # redis_client: cleans the keys
    apps = []

    def make(**changes):
        apps.append(create_app(Settings(**{
            "data_dir": tmp_path, "redis_url": redis_url, "key_prefix": key_prefix,
            "stream_key": key_prefix + "events", "health_token": TOKEN, **changes})))
        return apps[-1]
    yield make
    for app in apps:
        stop_app_threads(app)


def _healthz(app, authorization: str | None = None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    resp = app.server.test_client().get("/healthz", headers=headers)
    return resp.status_code, json.loads(resp.data)


@pytest.mark.parametrize("database,redis,code,status", [
    ("dead", "real", 200, "degraded"),   # the wall still has Redis and its last data
    ("dead", "dead", 503, "down"),       # nothing answers
])
def test_healthz_is_503_only_when_everything_is_down(make_app, database, redis, code, status):
    app = make_app(database_url=DEAD_PG, **({"redis_url": DEAD_REDIS} if redis == "dead" else {}))
    got_code, body = _healthz(app)
    assert (got_code, body["status"]) == (code, status)
    assert set(body) == PUBLIC_KEYS
    got_code, full = _healthz(app, f"Bearer {TOKEN}")
    assert (got_code, full["status"]) == (code, status)
    assert full["database"]["status"] == "down"
    assert full["redis"]["status"] == ("up" if redis == "real" else "down")


def test_healthz_gives_the_detail_to_the_operator_token_only(make_app, tmp_path, redis_client,
                                                             key_prefix):
    from data_sources.redis_stream import EventStream
    from data_sources.stream_events import encode_event
    entry = EventStream(redis_client, key_prefix + "events").append(encode_event(
        "REPORTED", case_id=1, seq=1, ts=datetime.now(timezone.utc), grid="320102001001001",
        state="REPORTED", case_no="N1", category="其他", subcategory="其他", source="信访",
        urgency="一般"))
    app = make_app(database_url=_db_with(tmp_path / "gw.db", 3))
    for authorization in (None, "", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN,
                          f"Basic {TOKEN}", "Bearer"):
        code, body = _healthz(app, authorization)
        text = json.dumps(body)
        assert code == 200 and set(body) == PUBLIC_KEYS, authorization
        assert body["status"] == "ok"
        assert "sqlite" not in text and entry not in text and "cases" not in text
    for authorization in (f"Bearer {TOKEN}", f"bearer {TOKEN}"):
        code, full = _healthz(app, authorization)
        assert code == 200 and full["status"] == "ok"
        assert full["cases"] == 3 and full["database"]["dialect"] == "sqlite"
        assert full["stream"]["newest_id"] == entry and full["stream"]["length"] == 1


def test_without_a_configured_token_nobody_gets_the_detail(make_app, tmp_path):
    url = _db_with(tmp_path / "gw.db", 1)
    for token in (None, ""):
        app = make_app(database_url=url, health_token=token)
        for authorization in (None, "Bearer", "Bearer ", "Bearer None", "Bearer null"):
            assert set(_healthz(app, authorization)[1]) == PUBLIC_KEYS
    assert Settings().health_token is None
    assert Settings.from_env({"GRIDWATCH_HEALTH_TOKEN": "abc"}).health_token == "abc"
    assert Settings.from_env({"GRIDWATCH_HEALTH_TOKEN": ""}).health_token is None


@pytest.mark.parametrize("database,redis,stream,status", [
    ("up", "up", "live", "ok"), ("up", "up", "empty", "ok"),
    ("up", "up", "lagging", "degraded"), ("down", "up", "live", "degraded"),
    ("up", "down", "down", "degraded"), ("down", "down", "down", "down"),
])
def test_overall_status(database, redis, stream, status):
    assert overall_status(database, redis, stream) == status


def _seen(at: str, **sources) -> dict:
    """A view model computed at hh:mm:ss that saw each source in the given state."""
    return {"computed_at": f"2026-11-25T{at}+00:00", "sources": {
        name: {k: f"2026-11-25T{v}+00:00" if k in ("since", "as_of") and v else v
               for k, v in state.items()} for name, state in sources.items()}}


def test_each_badge_follows_the_newest_observation_of_its_source():
    # The period view (once a minute) last saw the database down; the live view is newer.
    period = _seen("02:00:00", database={"status": "down", "since": "01:59:00"})
    live = _seen("02:00:05", database={"status": "up", "as_of": "02:00:05"},
                 redis={"status": "up"})
    merged = newest_sources(live, period)
    assert merged["database"]["status"] == "up" and merged["redis"]["status"] == "up"
    # A failure shows as soon as either view meets it; one outage seen by both views is
    # down since the earlier of their times, whichever view is the newest.
    live_down = _seen("02:00:05", database={"status": "down", "since": "02:00:05",
                                            "as_of": "01:58:50"})
    assert newest_sources(live_down, period)["database"]["since"] == "2026-11-25T01:59:00+00:00"
    period_newer = _seen("02:00:06", database={"status": "down", "since": "02:00:06",
                                               "as_of": "01:59:06"})
    live_earlier = _seen("02:00:04", database={"status": "down", "since": "01:59:30",
                                               "as_of": "01:59:29"})
    merged = newest_sources(live_earlier, period_newer)["database"]
    assert merged["status"] == "down" and merged["since"] == "2026-11-25T01:59:30+00:00"
    # An outage that the newest view has seen end (it saw the source up since) is another.
    old = _seen("01:00:00", database={"status": "down", "since": "00:50:00"})
    live_again = _seen("02:00:05", database={"status": "down", "since": "02:00:05",
                                             "as_of": "02:00:04"})
    assert newest_sources(live_again, old)["database"]["since"] == "2026-11-25T02:00:05+00:00"


# -- the real scenario: PostgreSQL stops and starts under a running app --------------------
REFRESH = 1.0


@pytest.fixture
def private_pg():
    reason = missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.close()


def _badge(wall, cfg) -> dict:
    """The wall's rendered source badges (what the refresh callback returns)."""
    c = content(wall, cfg)
    return {span.id.removeprefix("wall-fresh-"): span.children for span in c["fresh"]} | {
        "_kpis": c["kpis"], "_kpi_as_of": c["kpi_data"]["as_of"]}


def _wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def test_database_outage_and_recovery_show_on_the_wall_within_a_refresh(
        private_pg, tmp_path, redis_url, key_prefix, redis_client):
    dep = Deployment(env=make_env(tmp_path, private_pg.url, redis_url, key_prefix),
                     data_dir=tmp_path)
    dep.cli("db", "init")
    dep.cli("seed", "--days", "1", "--scale", "0.005", "--stream-hours", "1")
    # Nothing writes to the stream here: its newest entry is the seed's, and on a loaded
    # machine the seed and the wait for the minute can age it past the default 120 s,
    # which would make the status 'degraded' for the stream, not for the database.
    settings = Settings.from_env(dep.env, refresh_seconds=REFRESH,
                                 stream_lag_warn_seconds=3600)
    app = create_app(settings)
    wall = app.server.extensions["gridwatch_wall"]
    try:
        cfg, _ = wall.config({}, WallAccess((settings.region,)))
        region = cfg["region"]
        # Up: the live and period views are built (a screen gets "waiting" for the period
        # panels until they are: the first call starts the month's board).
        assert _wait(lambda: wall.period(region).get("sections"), 60), "no period view"
        # The period view is rebuilt once a minute: run the outage and the recovery inside
        # one minute, so that it still holds its 'down' when PostgreSQL is back.
        if time.time() % 60 > 45:
            time.sleep(60.5 - time.time() % 60)
        before = _wait(lambda: (b := _badge(wall, cfg))["database"].endswith("正常") and b, 10)
        assert before, _badge(wall, cfg)
        assert before["_kpis"]  # today's numbers are on the wall
        operator = f"Bearer {dep.env['GRIDWATCH_HEALTH_TOKEN']}"
        assert _healthz(app)[1]["status"] == "ok", _healthz(app, operator)[1]

        private_pg.stop("fast")
        stopped = time.monotonic()
        stopped_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        code, body = _healthz(app)
        assert (code, body) == (200, {"status": "degraded", "time": body["time"]})
        full = _healthz(app, f"Bearer {settings.health_token}")[1]
        assert full["database"]["status"] == "down" and full["redis"]["status"] == "up"
        down = _wait(lambda: "中断" in (b := _badge(wall, cfg))["database"] and b, 4 * REFRESH)
        assert down, f"database badge not down {time.monotonic() - stopped:.1f} s after the stop"
        assert wall.live(region)["sources"]["database"]["status"] == "down"
        # The panels keep their last data, with its time.
        assert down["_kpis"] and before["_kpi_as_of"] <= down["_kpi_as_of"] <= stopped_at

        # Let the period view see the outage too (it last saw the database up): drop this
        # minute's copy so that the next read rebuilds it behind the last good one.
        wall.views.cache.cache.delete(wall.views._key("wall-period", region,
                                                      int(time.time() // 60)))
        assert _wait(lambda: wall.period(region)["sources"]["database"]["status"] == "down",
                     10), "the period view never saw the outage"
        still = _badge(wall, cfg)
        assert "中断" in still["database"]
        assert (still["_kpis"], still["_kpi_as_of"]) == (down["_kpis"], down["_kpi_as_of"])

        private_pg.start()
        started = time.monotonic()
        up = _wait(lambda: (b := _badge(wall, cfg))["database"].endswith("正常") and b,
                   2 * REFRESH + 1.0, step=0.05)
        elapsed = time.monotonic() - started
        print(f"\ndatabase badge up {elapsed:.2f} s after PostgreSQL started "
              f"(refresh {REFRESH} s)")
        assert up, (f"database badge still {_badge(wall, cfg)['database']!r} "
                    f"{elapsed:.1f} s after PostgreSQL started (refresh {REFRESH} s)")
        assert up["_kpi_as_of"] > before["_kpi_as_of"]  # the panels are fresh again
        assert _healthz(app)[1]["status"] == "ok", _healthz(app, operator)[1]
    finally:
        stop_app_threads(app)
