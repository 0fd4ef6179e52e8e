"""The application factory: two apps with different settings in one process, /healthz
against real sources, and a clear 'down' (never a traceback) when a source is unreachable.
"""
import json

import pytest

from dashboard import create_app
from dashboard.app.settings import Settings
from dashboard.domain.walls import new_token
from data_sources.database import CaseDatabase
from data_sources.regions import import_region
from tests.live import operator_headers, stop_app_threads
from tests.logins import SAME_SITE, WALL_COOKIE, enrol_client, login, make_account, route
from tests.test_database import CASES, make_case

TOKEN = "operator-token-for-tests"


def _db_with(path, n_cases: int) -> str:
    url = f"sqlite:///{path}"
    db = CaseDatabase(url)
    db.init_schema()
    rows, events = [], []
    for spec in CASES[:n_cases]:
        row, ev = make_case(*spec)
        rows.append(row)
        events.extend(ev)
    db.bulk_insert(rows, events)
    db.close()
    return url


@pytest.fixture
def two_apps(tmp_path, redis_url, key_prefix, redis_client):  # redis_client: cleans the keys
    apps = []
    for i, n in enumerate((2, 5)):
        settings = Settings(data_dir=tmp_path / f"d{i}", database_url=_db_with(tmp_path / f"{i}.db", n),
                            redis_url=redis_url, stream_key=key_prefix + f"events{i}",
                            key_prefix=key_prefix, health_token=TOKEN)
        apps.append(create_app(settings))
    yield apps
    for app in apps:  # the first request started each app's page warmer
        stop_app_threads(app)


def test_two_apps_in_one_process_keep_their_own_settings(two_apps):
    counts = []
    for app in two_apps:
        resp = app.server.test_client().get("/healthz", headers=operator_headers(TOKEN))
        assert resp.status_code == 200
        report = json.loads(resp.data)
        assert report["database"]["status"] == "up" and report["redis"]["status"] == "up"
        assert report["stream"]["status"] == "empty"
        counts.append(report["cases"])
    assert counts == [2, 5]


def test_layout_is_served(two_apps):
    client = two_apps[0].server.test_client()
    assert client.get("/").status_code == 302          # neither a wall device nor a login
    enrol_client(client, two_apps[0].server.config["GRIDWATCH_SETTINGS"].database_url)
    assert client.get("/").status_code == 200
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and '"id":"page"' in layout.get_data(as_text=True)


def _route(client, path: str, search: str = "") -> str:
    """The page the router renders for a URL, through Dash's real callback endpoint."""
    resp = route(client, path, search)
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_router_serves_pages_and_a_chinese_not_found(two_apps):
    app = two_apps[0]
    client = app.server.test_client()
    settings = app.server.config["GRIDWATCH_SETTINGS"]
    assert login(client, *make_account(settings.database_url, "staff")).status_code == 302
    assert "status-kpis" in _route(client, "/status")
    missing = _route(client, "/nope")
    assert "页面不存在" in missing and "/nope" in missing and "返回首页" in missing
    assert "Page not found" in _route(client, "/nope", "?lang=en")


def test_unreachable_sources_are_reported_not_raised(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/x",
                        redis_url="redis://127.0.0.1:1/0", health_token=TOKEN)
    resp = create_app(settings).server.test_client().get("/healthz",
                                                         headers=operator_headers(TOKEN))
    report = json.loads(resp.data)
    assert resp.status_code == 503
    assert report["status"] == "down"
    assert report["database"]["status"] == "down" and report["redis"]["status"] == "down"
    assert report["stream"]["status"] == "down"


def test_wall_with_every_source_down_waits_instead_of_an_error_page(tmp_path):
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://nobody@127.0.0.1:1/x",
                        redis_url="redis://127.0.0.1:1/0")
    client = create_app(settings).server.test_client()
    # A wall device's cookie that cannot be checked yet: the wall waits, it does not
    # refuse (nor send a kiosk to the login).
    client.set_cookie(WALL_COOKIE, new_token())
    page = _route(client, "/wall")
    assert "wall-waiting" in page and "正在连接数据库" in page and "wall-retry" in page
    assert "error-page" not in page


def test_a_worker_past_its_live_feeds_tells_the_next_one_to_retry_later(
        tmp_path, redis_url, key_prefix, redis_client):  # redis_client: cleans the keys
    """Degrade, never collapse: past GRIDWATCH_LIVE_STREAMS_MAX open feeds a worker
    answers a new one 503 with Retry-After (the wall's refreshes go on), and takes new
    ones again as soon as one closes."""
    settings = Settings(data_dir=tmp_path, database_url=_db_with(tmp_path / "gw.db", 2),
                        redis_url=redis_url, stream_key=key_prefix + "events",
                        key_prefix=key_prefix, live_streams_max=2)
    app = create_app(settings)
    client = app.server.test_client()
    enrol_client(client, settings.database_url, "320100")
    # Before the region tree can be read a feed is told to come back soon, not a 500.
    early = client.get("/wall/live?region=320100")
    assert early.status_code == 503 and early.headers["Retry-After"] == "5"
    import_region(app.server.extensions["gridwatch_runtime"].db.engine, "320000",
                  tmp_path / "geo")
    opened = []
    try:
        for _ in range(2):
            resp = client.get("/wall/live?region=320100", buffered=False)
            assert resp.status_code == 200
            assert next(iter(resp.response)).startswith(b"retry:")  # subscribed, streaming
            opened.append(resp)
        refused = client.get("/wall/live?region=320100")
        assert refused.status_code == 503
        assert 15 <= int(refused.headers["Retry-After"]) <= 45
        assert client.get("/_dash-layout").status_code == 200      # the rest still served
        opened.pop().close()                                       # a screen went away
        again = client.get("/wall/live?region=320100", buffered=False)
        assert again.status_code == 200
        opened.append(again)
    finally:
        for resp in reversed(opened):   # streamed request contexts end last in, first out
            resp.close()
        stop_app_threads(app)


def test_a_worker_runs_a_bounded_number_of_callbacks_and_turns_the_rest_away_in_time(
        tmp_path, redis_url, key_prefix, redis_client):  # redis_client: cleans the keys
    """Past GRIDWATCH_CALLBACKS_MAX callbacks at once, the next waits for a turn up to
    GRIDWATCH_CALLBACKS_QUEUE_SECONDS, then gets 503 with Retry-After (never a pile of
    greenlets that starves the worker's heartbeat until gunicorn kills it)."""
    settings = Settings(data_dir=tmp_path, database_url=_db_with(tmp_path / "gw.db", 2),
                        redis_url=redis_url, stream_key=key_prefix + "events",
                        key_prefix=key_prefix, callbacks_max=1, callbacks_queue_seconds=0.3)
    app = create_app(settings)
    gate = app.server.extensions["gridwatch_callback_gates"]["other"]   # a page's route
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": "/status"},
                       {"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["url.pathname"]}
    client = app.server.test_client()
    assert login(client, *make_account(settings.database_url, "staff")).status_code == 302
    try:
        assert gate.acquire(timeout=1)                 # one callback running
        try:
            busy = client.post("/_dash-update-component", json=body, headers=SAME_SITE)
            assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
            assert "Traceback" not in busy.get_data(as_text=True)
        finally:
            gate.release()
        assert "status-kpis" in _route(client, "/status")   # its turn: answered
        assert gate.acquire(timeout=1)                   # and the turn was given back
        gate.release()
    finally:
        stop_app_threads(app)
