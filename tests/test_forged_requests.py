"""Forged requests against every callback and route of a city's server (root 苏州 320500).

The bodies are generated from the app's own `/_dash-dependencies`: for every server-side
callback, each input and state in turn takes regions outside the root, codes not in the
tree, a 100 KiB string, values of the wrong type, and broken configs; and the body itself
loses fields, names unknown callbacks or carries wrong shapes. Every response is scanned
for region codes and case numbers outside 苏州: none may appear, no request may answer
5xx, and no rejection may log a traceback.
"""
from __future__ import annotations

import logging
import uuid

import pytest

from dashboard import create_app
from dashboard.app.settings import Settings
from dashboard.domain.audit import Actor
from dashboard.domain.walls import hash_token
from data_sources.database import make_engine
from data_sources.redis_client import make_client
from data_sources.regions import RegionTree
from data_sources.wall_device_store import WallDeviceStore
from tests.forgery import (
    HUGE,
    ROOT,
    LeakCheck,
    dependencies,
    forge_every_callback,
    forged_body,
    good_value,
    seeded_app,
)
from tests.live import stop_and_forget
from tests.logins import SAME_SITE, enrol_client, login, make_account, wall_config


@pytest.fixture(scope="module")
def city(seeded_env, redis_url):
    """An app whose root is 苏州, on the seeded Jiangsu database, with keys of its own."""
    with seeded_app(seeded_env, redis_url, ROOT) as (app, engine, tree):
        # The city's leader and staff: every callback is forged with the session of each
        # (a request without one gets nothing: tests/test_login.py).
        for role in ("leader", "staff"):
            client = app.server.test_client()
            assert login(client, *make_account(seeded_env.env["GRIDWATCH_DATABASE_URL"], role,
                                               (ROOT,))).status_code == 302
            app.server.extensions[f"test_{role}"] = client
        # The city's wall device, and one that was revoked (it gets nothing at all).
        url = seeded_env.env["GRIDWATCH_DATABASE_URL"]
        wall = app.server.test_client()
        enrol_client(wall, url, ROOT)
        app.server.extensions["test_wall"] = wall
        revoked = app.server.test_client()
        token = enrol_client(revoked, url, ROOT)
        store = WallDeviceStore(engine)
        store.revoke(store.by_token_hash(hash_token(token)).id, by=Actor.cli("tests"))
        app.server.extensions["test_revoked_wall"] = revoked
        yield app, engine, tree


def test_forged_callback_bodies_never_leak_and_never_fail(city, caplog):
    app, engine, tree = city
    check = LeakCheck(engine, tree)
    client = app.server.extensions["test_wall"]
    # Each body as the city's leader, as its staff (each may use some of the callbacks)
    # and as its wall device; then as a revoked wall device (which gets no data at all).
    sessions = [app.server.extensions["test_leader"], app.server.extensions["test_staff"],
                client]
    wall_cfg = wall_config(client)
    assert wall_cfg["region"] == ROOT
    deps = dependencies(app)
    assert len(deps) >= 14, [d["output"] for d in deps]

    # The leak check sees real data: a legitimate refresh of 苏州 shows its own codes.
    refresh = next(d for d in deps if d["output"].startswith("..wall-kpi-data.data"))
    good = {(s["id"], s["property"]): good_value(s["id"], s["property"], wall_cfg)
            for s in refresh["inputs"] + refresh["state"]}
    resp = client.post("/_dash-update-component",
                       json=forged_body(refresh, good, "wall-tick.n_intervals"), headers=SAME_SITE)
    assert resp.status_code == 200
    leaks, seen = check.leaks(resp.get_data(as_text=True))
    assert leaks == [] and seen > 10

    # The probe's request: the region store set to the province.
    forged = {**good, ("wall-region", "data"): "320000"}
    resp = client.post("/_dash-update-component",
                       json=forged_body(refresh, forged, "wall-region.data"), headers=SAME_SITE)
    assert resp.status_code == 400 and "江苏省" not in resp.get_data(as_text=True)

    caplog.set_level(logging.INFO)
    sent, statuses, leaked = forge_every_callback(deps, sessions, check, wall_cfg)
    print(f"forged callback bodies: {sent} to {len(deps)} callbacks, answers {statuses}")
    assert sent >= 1000
    assert leaked == [], leaked[:10]
    assert not any(s >= 500 for s in statuses), statuses
    assert statuses.get(400, 0) > 0.3 * sent, statuses
    # A revoked device: refused (403 for the wall's callbacks, 401 for the others), or a
    # body too large to read (400); never an answer.
    _sent, refused, leaked = forge_every_callback(
        deps, [app.server.extensions["test_revoked_wall"]], check, wall_cfg)
    assert leaked == [], leaked[:10]
    assert set(refused) <= {400, 401, 403} and refused.get(403, 0) > 50, refused
    tracebacks = [r.getMessage()[:200] for r in caplog.records if r.exc_info]
    assert tracebacks == []


@pytest.mark.parametrize("path", [
    "/kpi?period=custom&from=0001-01-01&to=0001-01-01", "/kpi?period=custom&from=9999-12-31&to=9999-12-31",
    "/kpi?from=2026-11-01&to=9999-12-31", "/case/²", "/case/９", "/region/３２０５００",
    "/region/320100", "/kpi?region=320000", "/kpi?page=99999999999999999999999",
    "/region/320500?page=99999999999999999999999"])
def test_edge_urls_say_what_is_wrong(city, caplog, path):
    app, engine, tree = city
    pathname, _, search = path.partition("?")
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": pathname},
                       {"id": "url", "property": "search", "value": "?" + search if search else ""}],
            "changedPropIds": ["url.pathname"]}
    caplog.set_level(logging.INFO)
    # /kpi is a leader's page, /region and /case staff's: each asked by who may open it.
    who = app.server.extensions["test_leader" if pathname == "/kpi" else "test_staff"]
    resp = who.post("/_dash-update-component", json=body, headers=SAME_SITE)
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "数据源暂无响应" not in text and not [r for r in caplog.records if r.exc_info]
    if "page=" not in path:
        assert "error-page" in text or "gw-error" in text, text[:500]
    assert LeakCheck(engine, tree).leaks(text, echo=path)[0] == []


def test_full_width_digits_are_not_case_numbers(city):
    app, engine, tree = city
    from dashboard.views.case import parse_case_id
    from dashboard.views.url_state import BadInput
    for text in ("９", "²", "1²", "٣", "+1", " 1", "0"):
        with pytest.raises(BadInput):
            parse_case_id(text)
    assert parse_case_id("9") == 9


@pytest.mark.parametrize("rotate", ["inf", "1e309", "-inf", "nan", "-5", "abc"])
def test_wall_rotate_out_of_range_falls_back(city, rotate):
    app, _engine, _tree = city
    from dashboard.views.wall.service import rotate_seconds
    assert rotate_seconds(rotate) is None
    assert rotate_seconds("5") == 10 and rotate_seconds("1e9") == 86400
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": "/wall"},
                       {"id": "url", "property": "search", "value": f"?rotate={rotate}"}],
            "changedPropIds": ["url.pathname"]}
    text = app.server.extensions["test_wall"].post("/_dash-update-component", json=body,
                                                   headers=SAME_SITE).get_data(as_text=True)
    assert "wall-canvas" in text and "wall-waiting" not in text


@pytest.mark.parametrize("path", [
    "/_dash-component-suites/dash/../../etc/passwd", "/_dash-component-suites/dash/..%2f..%2fapp.py",
    "/_dash-component-suites/nope/x.js", "/_dash-component-suites/dash/deps/nope.js"])
def test_component_suite_traversal_is_not_found(city, path, caplog):
    app, _engine, _tree = city
    caplog.set_level(logging.INFO)
    assert app.server.test_client().get(path).status_code == 404
    assert not [r for r in caplog.records if r.exc_info]


def _refresh_body(app, region, wall) -> dict:
    """A wall device's refresh (`wall`: its client) asking for `region`."""
    deps = dependencies(app)
    refresh = next(d for d in deps if d["output"].startswith("..wall-kpi-data.data"))
    cfg = wall_config(wall)
    values = {("wall-tick", "n_intervals"): 1, ("wall-region", "data"): region,
              ("wall-config", "data"): cfg, ("wall-marks", "data"): None,
              ("wall-push", "data"): None}
    return forged_body(refresh, values, "wall-region.data")


def test_unknown_regions_are_refused_before_anything_is_remembered(city, caplog):
    app, _engine, tree = city
    wall = app.server.extensions["gridwatch_wall"]
    client = app.server.extensions["test_wall"]
    caplog.set_level(logging.INFO)
    for region in ["999999", "320599", HUGE, "320100", "320000"]:
        resp = client.post("/_dash-update-component", json=_refresh_body(app, region, client),
                           headers=SAME_SITE)
        assert resp.status_code == 400
        assert region not in wall._watched
    assert all(tree.contains(ROOT, r) for r in wall._watched)
    assert not [r for r in caplog.records if r.exc_info]
    assert max((len(r.getMessage()) for r in caplog.records), default=0) < 1000


def test_a_region_nobody_watches_stops_costing(seeded_env, redis_url):
    """A grid's wall is warmed while a screen asks for it, and not after three ticks
    without one; what it left in Redis expires within the configured keep time."""
    import time

    env = seeded_env.env
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    settings = Settings(data_dir=seeded_env.data_dir, database_url=env["GRIDWATCH_DATABASE_URL"],
                        redis_url=redis_url, stream_key=env["GRIDWATCH_STREAM_KEY"],
                        key_prefix=prefix, region=ROOT, refresh_seconds=1, view_keep_seconds=200)
    app = create_app(settings)
    client = make_client(redis_url)
    try:
        tree = RegionTree.load(make_engine(env["GRIDWATCH_DATABASE_URL"]), "320000")
        grids = [g for g in tree.grids() if tree.contains(ROOT, g)][:5]
        wall = app.server.extensions["gridwatch_wall"]
        http = app.server.test_client()
        enrol_client(http, env["GRIDWATCH_DATABASE_URL"], ROOT)
        for grid in grids:
            assert http.post("/_dash-update-component", json=_refresh_body(app, grid, http),
                             headers=SAME_SITE).status_code == 200
        assert set(grids) <= set(wall._watched)
        deadline = time.monotonic() + 15
        while set(grids) & set(wall._watched) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not set(grids) & set(wall._watched), "still warmed after three ticks unwatched"
        keys = [k for k in client.scan_iter(match=prefix + "*", count=1000)
                if any(g.encode() in k for g in grids)]
        assert len(keys) >= len(grids)
        ttls = {k: client.ttl(k) for k in keys}
        assert all(t != -1 and t <= 200 for t in ttls.values()), {k: t for k, t in ttls.items() if t == -1 or t > 200}
    finally:
        client.close()
        stop_and_forget(app, redis_url, prefix)


def test_a_city_server_does_not_count_other_cities_events_as_unknown(city):
    """A stream carrying the whole province is normal for a city's server: another city's
    grid is not its business, only a grid under its own root that it does not know is."""
    app, _engine, tree = city
    known = app.server.extensions["gridwatch_stream_hub"].known_grid
    own = next(g for g in tree.grids() if tree.contains(ROOT, g))
    other = next(g for g in tree.grids() if not tree.contains(ROOT, g))
    assert known(own) and known(other) and known("320102001001001")
    assert not known("320505999999999") and not known("110101001001001")


def test_ancestor_code_reads_the_hierarchy_from_the_code():
    from dashboard.domain.hierarchy import Level, ancestor_code
    grid = "320505001001003"
    assert [ancestor_code(grid, lv) for lv in Level] == [
        "320000", "320500", "320505", "320505001", "320505001001", grid]
    with pytest.raises(ValueError):
        ancestor_code("320500", Level.TOWNSHIP)
