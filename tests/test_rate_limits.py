"""Per-account rate limits on the costly views (dashboard/app/rate_limits.py): the real app
on the seeded database and real Redis, Flask's test client, small limits. After N views
an account is answered 429 with Retry-After and a sentence for the page; another account
is not; custom ranges have their own lower limit, exports theirs; the wall, /status and
/case are never limited; the counters are in Redis under the app's prefix."""
from __future__ import annotations

import pytest

from dashboard import create_app
from dashboard.app import rate_limits
from dashboard.app.settings import Settings
from data_sources.redis_client import make_client
from tests.live import seeded_app, stop_app_threads
from tests.logins import SAME_SITE, login, make_account, route

CUSTOM = "?period=custom&from=2026-01-01&to=2026-01-31"


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    with seeded_app(seeded_env, redis_url, rate_limit_pages="3/minute",
                    rate_limit_custom="2/minute", rate_limit_exports="2/minute") as (app, prefix):
        yield app, seeded_env.env["GRIDWATCH_DATABASE_URL"], prefix, redis_url


def client_of(site, role: str = "leader"):
    app, url, *_ = site
    client = app.server.test_client()
    name, password = make_account(url, role)
    assert login(client, name, password).status_code == 302
    return client


def export_body(search: str = "") -> dict:
    return {"output": "export-download.data",
            "outputs": {"id": "export-download", "property": "data"},
            "inputs": [{"id": "export-csv", "property": "n_clicks", "value": 1},
                       {"id": "export-xlsx", "property": "n_clicks", "value": None}],
            "state": [{"id": "url", "property": "search", "value": search}],
            "changedPropIds": ["export-csv.n_clicks"]}


def assert_refused(resp, lang: str = "zh") -> None:
    assert resp.status_code == 429
    seconds = int(resp.headers["Retry-After"])
    assert 1 <= seconds <= 60
    body = resp.get_json()
    assert body["error"] == "too many requests" and body["retry_after"] == seconds
    expected = f"请 {seconds} 秒后再试" if lang == "zh" else f"try again in {seconds} s"
    assert expected in body["message"]
    assert resp.headers["Cache-Control"] == "no-store"
    assert "unsafe-eval" not in resp.headers["Content-Security-Policy"]


def test_an_account_past_its_page_limit_waits_and_another_does_not(site):
    first, second = client_of(site), client_of(site)
    for search in ("", "?period=today", "?region=320100"):
        assert route(first, "/kpi", search).status_code == 200
    assert_refused(route(first, "/kpi", "?period=this_week"))
    assert_refused(route(first, "/region/320100", "?lang=en"), lang="en")   # the same limit
    assert route(second, "/kpi").status_code == 200                 # another account
    # Never limited: the wall, /status, /case, a control that only rewrites the URL.
    for _ in range(6):
        assert route(first, "/wall").status_code == 200
        assert route(first, "/").status_code == 200
        assert route(first, "/status").status_code == 200


def test_a_second_session_of_the_account_shares_its_limit(site):
    app, url, *_ = site
    name, password = make_account(url, "leader")
    one, two = app.server.test_client(), app.server.test_client()
    for client in (one, two):
        assert login(client, name, password).status_code == 302
    for client in (one, two, one):
        assert route(client, "/kpi").status_code == 200
    assert_refused(route(two, "/kpi"))


def test_custom_ranges_have_their_own_lower_limit(site):
    client = client_of(site)
    assert route(client, "/kpi", CUSTOM).status_code == 200
    assert route(client, "/region/320000", "?from=2026-02-01&to=2026-02-10").status_code == 200
    assert_refused(route(client, "/kpi", CUSTOM))                   # custom: 2 a minute
    for _ in range(3):                                              # other views: 3
        assert route(client, "/kpi").status_code == 200
    assert_refused(route(client, "/kpi"))
    assert_refused(route(client, "/kpi", "?period=custom&from=2026-03-01&to=2026-03-02"))


def test_exports_have_their_own_limit(site):
    client = client_of(site)
    post = lambda: client.post("/_dash-update-component", json=export_body(),  # noqa: E731
                               headers=SAME_SITE)
    for _ in range(2):
        resp = post()
        assert resp.status_code == 200 and "ranking-320000" in resp.get_data(as_text=True)
    assert_refused(post())
    assert route(client, "/kpi").status_code == 200                 # views are counted apart


def test_the_counters_are_in_the_apps_redis_under_its_prefix(site):
    app, _url, prefix, redis_url = site
    client = client_of(site)
    assert route(client, "/kpi").status_code == 200
    redis = make_client(redis_url)
    try:
        keys = list(redis.scan_iter(match=prefix + "limits*", count=1000))
    finally:
        redis.close()
    assert keys
    # A second app (another worker) on the same Redis counts with the first.
    other = create_app(app.server.config["GRIDWATCH_SETTINGS"])
    try:
        cookie = client.get_cookie("gw_session")
        worker2 = other.server.test_client()
        worker2.set_cookie("gw_session", cookie.value)
        assert route(worker2, "/kpi").status_code == 200
        assert route(client, "/kpi").status_code == 200
        assert_refused(route(worker2, "/kpi"))
    finally:
        stop_app_threads(other)


def test_kinds_and_storage():
    assert rate_limits.kind_of({"output": "wall-clock.children"}) is None
    assert rate_limits.kind_of({"output": "cases-download.data"}) == "export"
    body = {"output": "page.children",
            "inputs": [{"id": "url", "property": "pathname", "value": "/region/320100"},
                       {"id": "url", "property": "search", "value": "?to=2026-01-02"}]}
    assert rate_limits.kind_of(body) == "custom"
    assert rate_limits.kind_of({**body, "inputs": body["inputs"][:1]}) == "page"
    for path in ("/case/12", "/status", "/", "/kpi/x"):
        assert rate_limits.kind_of({**body, "inputs": [
            {"id": "url", "property": "pathname", "value": path}]}) is None
    assert rate_limits.kind_of(["not", "a", "body"]) is None
    assert rate_limits.storage(None, "p:") == ("memory://", {})
    uri, options = rate_limits.storage("unix:///tmp/r.sock", "p:")
    assert uri == "redis+unix:///tmp/r.sock" and options["key_prefix"] == "p:limits"


def test_limits_are_settings_and_a_bad_one_stops_the_start():
    env = {"GRIDWATCH_RATE_LIMIT_PAGES": "100 per minute; 1000 per day",
           "GRIDWATCH_RATE_LIMIT_EXPORTS": "5/minute"}
    settings = Settings.from_env(env)
    assert settings.rate_limit_pages == "100 per minute; 1000 per day"
    assert settings.rate_limit_exports == "5/minute" and settings.rate_limit_custom == "20/minute"
    with pytest.raises(ValueError, match="GRIDWATCH_RATE_LIMIT_CUSTOM"):
        Settings.from_env({"GRIDWATCH_RATE_LIMIT_CUSTOM": "often"})
