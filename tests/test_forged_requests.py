"""Forged requests against every callback and route of a city's server (root 苏州 320500).

The bodies are generated from the app's own `/_dash-dependencies`: for every server-side
callback, each input and state in turn takes regions outside the root, codes not in the
tree, a 100 KiB string, values of the wrong type, and broken configs; and the body itself
loses fields, names unknown callbacks or carries wrong shapes. Every response is scanned
for region codes and case numbers outside 苏州: none may appear, no request may answer
5xx, and no rejection may log a traceback.
"""
from __future__ import annotations

import copy
import json
import logging
import re
import uuid

import pytest
import sqlalchemy as sa

from dashboard import create_app
from dashboard.app.settings import Settings
from dashboard.domain.audit import Actor
from dashboard.domain.walls import hash_token
from data_sources.database import make_engine
from data_sources.redis_client import make_client
from data_sources.regions import RegionTree
from data_sources.wall_device_store import WallDeviceStore
from tests.live import stop_app_threads
from tests.logins import SAME_SITE, enrol_client, login, make_account, wall_config

ROOT = "320500"
OUTSIDE = ["320000", "320100", "320102", "320200", "321300", "320102001", "320102001001"]
UNKNOWN = ["320599", "999999", "3205", "", "x", "３２０５００", "320500 ", "320500\x00"]
HUGE = "3" * 100_000
WRONG_TYPES = [123, -1, 2 ** 60, 1.5, True, [], {}, ["320000"], {"region": "320000"}]


@pytest.fixture(scope="module")
def city(seeded_env, redis_url):
    """An app whose root is 苏州, on the seeded Jiangsu database, with keys of its own."""
    env = seeded_env.env
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    settings = Settings(data_dir=seeded_env.data_dir, database_url=env["GRIDWATCH_DATABASE_URL"],
                        redis_url=redis_url, stream_key=env["GRIDWATCH_STREAM_KEY"],
                        key_prefix=prefix, region=ROOT, refresh_seconds=2)
    app = create_app(settings)
    engine = make_engine(env["GRIDWATCH_DATABASE_URL"])
    tree = RegionTree.load(engine, "320000")
    # The city's leader and staff: every callback is forged with the session of each (a
    # request without one gets nothing: tests/test_login.py).
    for role in ("leader", "staff"):
        client = app.server.test_client()
        assert login(client, *make_account(env["GRIDWATCH_DATABASE_URL"], role, (ROOT,))
                     ).status_code == 302
        app.server.extensions[f"test_{role}"] = client
    # The city's wall device, and one that was revoked (it gets nothing at all).
    wall = app.server.test_client()
    enrol_client(wall, env["GRIDWATCH_DATABASE_URL"], ROOT)
    app.server.extensions["test_wall"] = wall
    revoked = app.server.test_client()
    token = enrol_client(revoked, env["GRIDWATCH_DATABASE_URL"], ROOT)
    store = WallDeviceStore(engine)
    store.revoke(store.by_token_hash(hash_token(token)).id, by=Actor.cli("tests"))
    app.server.extensions["test_revoked_wall"] = revoked
    yield app, engine, tree
    engine.dispose()
    _stop_and_forget(app, redis_url, prefix)


def _stop_and_forget(app, redis_url: str, prefix: str) -> None:
    """Stop the app's background threads (so none writes after), then delete its keys."""
    client = make_client(redis_url)
    try:
        stop_app_threads(app)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,18}(?![0-9])")


class LeakCheck:
    """Region codes and case numbers in a response that lie outside the root."""

    def __init__(self, engine, tree):
        self.engine, self.tree = engine, tree
        self.allowed = {r.code for r in tree.ancestors(ROOT)}  # the breadcrumb above 苏州
        self._city_of: dict[int, str] = {}

    def city_of(self, ids: set[int]) -> dict[int, str]:
        missing = sorted(ids - self._city_of.keys())
        if missing:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text("select id, city_code from gw_case where id in ("
                                            + ",".join(str(i) for i in missing) + ")"))
                self._city_of.update({int(i): c for i, c in rows})
        return {i: self._city_of.get(i, ROOT) for i in ids}

    def leaks(self, text: str, echo: str = "") -> tuple[list[str], int]:
        """(what leaked, how many in-scope codes and cases were seen). A code the request
        itself carried (`echo`) and the response repeats, as a not-found message or a
        new URL does, tells the client nothing it did not send."""
        out, seen, case_ids = [], 0, set()
        sent = set(_TOKEN.findall(echo))
        for token in _TOKEN.findall(text):
            if token in sent:
                continue
            if len(token) in (6, 9, 12, 15) and token.startswith("32") and token in self.tree:
                if self.tree.contains(ROOT, token):
                    seen += 1
                elif token not in self.allowed:
                    out.append(f"region {token}")
            elif len(token) == 18:  # case number: YYYYMMDD + 10-digit id
                case_ids.add(int(token[8:]))
        for m in re.finditer(r"/case/([0-9]{1,18})", text):
            if m.group(1) not in sent:
                case_ids.add(int(m.group(1)))
        for case_id, city in self.city_of(case_ids).items():
            if city == ROOT:
                seen += 1
            else:
                out.append(f"case {case_id} of {city}")
        if "江苏省 ·" in text or "江苏省 · " in text:
            out.append("province heading")
        return out, seen


def _dependencies(app) -> list[dict]:
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function")]


def _outputs(output: str):
    from dash._utils import split_callback_id
    return split_callback_id(output)


def _good_value(component: str, prop: str, wall_cfg: dict):
    return {
        ("url", "pathname"): "/wall", ("url", "search"): "",
        ("wall-region", "data"): ROOT, ("wall-config", "data"): wall_cfg,
        ("metric-choice", "value"): "closure", ("period-choice", "value"): "this_week",
        ("period-range", "start_date"): "2026-11-01", ("period-range", "end_date"): "2026-11-03",
        ("ranking-grid", "cellClicked"): {"rowId": "320506"},
        ("children-grid", "cellClicked"): {"rowId": "320506"},
        ("children-map", "clickData"): {"points": [{"customdata": "320506"}]},
        ("case-grid", "cellClicked"): {"rowId": "1"},
    }.get((component, prop), 1 if prop in ("n_intervals", "n_clicks") else None)


def _hostile_values(component: str, prop: str, wall_cfg: dict) -> list:
    values: list = [*OUTSIDE, *UNKNOWN, HUGE, *WRONG_TYPES, None]
    if prop == "search":
        values += [f"?region={c}" for c in OUTSIDE + UNKNOWN] + [
            "?period=custom&from=0001-01-01&to=0001-01-01", "?from=9999-12-31&to=9999-12-31",
            "?region=320100&period=custom&from=2026-11-01&to=2026-11-02", "?page=1e309",
            "?page=99999999999999999999", "?rotate=inf", "?rotate=1e309", "?metric=__class__",
            "?" + "&".join(f"k{i}=v" for i in range(500))]
    if prop == "pathname":
        values += ["/region/320100", "/region/320000", "/case/²", "/case/９",
                   "/case/99999999999999999999", "/kpi", "/wall", "/status", "/region/" + HUGE[:5000]]
    if prop in ("cellClicked", "clickData"):
        values += [{"rowId": c} for c in OUTSIDE + UNKNOWN] + [
            {"rowId": ["320100"]}, {"rowId": {"x": 1}}, {"rowId": 5}, {"points": "abc"},
            {"points": [1]}, {"points": [{"customdata": "320100"}]}, {"points": []},
            {"points": [{"customdata": {"a": 1}}]}, {"points": {"0": {}}}]
    if (component, prop) == ("wall-config", "data"):
        values += [{**wall_cfg, "region": c} for c in OUTSIDE + UNKNOWN] + [
            {**wall_cfg, "tz": "Mars/Olympus"}, {**wall_cfg, "target": "x"},
            {**wall_cfg, "metric": ["on_time"]}, {**wall_cfg, "lang": 5},
            {**wall_cfg, "rotation": ["320000", "320100"]}, {**wall_cfg, "privacy": "yes"},
            {**wall_cfg, "refresh_ms": -1}, {k: v for k, v in wall_cfg.items() if k != "region"},
            {"region": ROOT}, {"region": "320000", "root": "320000"}]
    return values


def _body(dep: dict, values: dict, changed: str) -> dict:
    items = lambda specs: [{"id": s["id"], "property": s["property"],  # noqa: E731
                            "value": values[(s["id"], s["property"])]} for s in specs]
    return {"output": dep["output"], "outputs": _outputs(dep["output"]),
            "inputs": items(dep["inputs"]), "state": items(dep["state"]),
            "changedPropIds": [changed]}


def _structural(body: dict) -> list:
    out = [None, [], "x", 5, {}, {**body, "output": "nope.children"},
           {k: v for k, v in body.items() if k != "output"},
           {k: v for k, v in body.items() if k != "inputs"},
           {**body, "inputs": body["inputs"][:-1]}, {**body, "inputs": body["inputs"] * 2},
           {**body, "inputs": "x"}, {**body, "inputs": [5] * len(body["inputs"])},
           {**body, "state": {"a": 1}}, {**body, "changedPropIds": "url.search"},
           {**body, "changedPropIds": [5]}, {**body, "outputs": {"id": "page", "property": "x"}},
           {**body, "outputs": []}, {**body, "outputs": "x"}]
    renamed = copy.deepcopy(body)
    if renamed["inputs"]:
        renamed["inputs"][0]["id"] = "wall-region"
        renamed["inputs"][0]["property"] = "data"
    return out + [renamed]


def test_forged_callback_bodies_never_leak_and_never_fail(city, caplog):
    app, engine, tree = city
    check = LeakCheck(engine, tree)
    client = app.server.extensions["test_wall"]
    # Each body as the city's leader, as its staff (each may use some of the callbacks),
    # as its wall device and as a revoked wall device (which gets no data at all).
    revoked = app.server.extensions["test_revoked_wall"]
    sessions = [app.server.extensions["test_leader"], app.server.extensions["test_staff"],
                client, revoked]
    wall_cfg = wall_config(client)
    assert wall_cfg["region"] == ROOT
    deps = _dependencies(app)
    assert len(deps) >= 14, [d["output"] for d in deps]

    # The leak check sees real data: a legitimate refresh of 苏州 shows its own codes.
    refresh = next(d for d in deps if d["output"].startswith("..wall-kpi-data.data"))
    good = {(s["id"], s["property"]): _good_value(s["id"], s["property"], wall_cfg)
            for s in refresh["inputs"] + refresh["state"]}
    resp = client.post("/_dash-update-component", json=_body(refresh, good, "wall-tick.n_intervals"),
                       headers=SAME_SITE)
    assert resp.status_code == 200
    leaks, seen = check.leaks(resp.get_data(as_text=True))
    assert leaks == [] and seen > 10

    # The probe's request: the region store set to the province.
    forged = {**good, ("wall-region", "data"): "320000"}
    resp = client.post("/_dash-update-component", json=_body(refresh, forged, "wall-region.data"),
                       headers=SAME_SITE)
    assert resp.status_code == 400 and "江苏省" not in resp.get_data(as_text=True)

    caplog.set_level(logging.INFO)
    statuses: dict[int, int] = {}
    refused: dict[int, int] = {}
    leaked: list[str] = []
    sent = 0
    for dep in deps:
        specs = dep["inputs"] + dep["state"]
        base = {(s["id"], s["property"]): _good_value(s["id"], s["property"], wall_cfg)
                for s in specs}
        changed = f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"
        bodies = [_body(dep, {**base, (s["id"], s["property"]): v}, changed)
                  for s in specs for v in _hostile_values(s["id"], s["property"], wall_cfg)]
        bodies += _structural(_body(dep, base, changed))
        for body in bodies:
            for who in sessions:
                resp = who.post("/_dash-update-component", data=json.dumps(body),
                                content_type="application/json", headers=SAME_SITE)
                sent += 1
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if who is revoked:
                    refused[resp.status_code] = refused.get(resp.status_code, 0) + 1
                if resp.status_code >= 500:
                    leaked.append(f"{resp.status_code} for {dep['output'][:60]}: {json.dumps(body)[:300]}")
                    continue
                found, _ = check.leaks(resp.get_data(as_text=True), echo=json.dumps(body))
                leaked += [f"{f} in {dep['output'][:60]} for {json.dumps(body)[:300]}" for f in found]
    print(f"forged callback bodies: {sent} to {len(deps)} callbacks, answers {statuses}")
    assert sent >= 1000
    assert leaked == [], leaked[:10]
    assert not any(s >= 500 for s in statuses), statuses
    assert statuses.get(400, 0) > 0.3 * sent, statuses
    # A revoked device: refused (403 for the wall's callbacks, 401 for the others), or a
    # body too large to read (400); never an answer.
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
    deps = _dependencies(app)
    refresh = next(d for d in deps if d["output"].startswith("..wall-kpi-data.data"))
    cfg = wall_config(wall)
    values = {("wall-tick", "n_intervals"): 1, ("wall-region", "data"): region,
              ("wall-config", "data"): cfg, ("wall-marks", "data"): None}
    return _body(refresh, values, "wall-region.data")


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
        _stop_and_forget(app, redis_url, prefix)


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
