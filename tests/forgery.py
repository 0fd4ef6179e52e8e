"""Forged callback bodies and the leak check shared by the forged-request suites
(tests/test_forged_requests.py: a city's server; tests/test_forged_sessions.py: accounts
of one city on the province's server).

The bodies are generated from the app's own `/_dash-dependencies`: for every server-side
callback, each input and state in turn takes regions outside the scope, codes not in the
tree, a 100 KiB string, values of the wrong type and broken configs; and the body itself
loses fields, names unknown callbacks or carries wrong shapes."""
from __future__ import annotations

import copy
import json
import re
from contextlib import contextmanager

import sqlalchemy as sa

from data_sources.database import make_engine
from data_sources.regions import RegionTree
from tests import live
from tests.logins import SAME_SITE

ROOT = "320500"   # 苏州: the scope every suite forges against
OUTSIDE = ["320000", "320100", "320102", "320200", "321300", "320102001", "320102001001"]
UNKNOWN = ["320599", "999999", "3205", "", "x", "３２０５００", "320500 ", "320500\x00"]
HUGE = "3" * 100_000
WRONG_TYPES = [123, -1, 2 ** 60, 1.5, True, [], {}, ["320000"], {"region": "320000"}]


_TOKEN = re.compile(r"(?<![0-9])[0-9]{6,18}(?![0-9])")


class LeakCheck:
    """Region codes and case numbers in a response that lie outside `root` (a server's root
    or an account's region)."""

    def __init__(self, engine, tree, root: str = ROOT):
        self.engine, self.tree, self.root = engine, tree, root
        self.allowed = {r.code for r in tree.ancestors(root)}  # the breadcrumb above the root
        self._city_of: dict[int, str] = {}

    def city_of(self, ids: set[int]) -> dict[int, str]:
        missing = sorted(ids - self._city_of.keys())
        if missing:
            with self.engine.connect() as conn:
                rows = conn.execute(sa.text("select id, city_code from gw_case where id in ("
                                            + ",".join(str(i) for i in missing) + ")"))
                self._city_of.update({int(i): c for i, c in rows})
        return {i: self._city_of.get(i, self.root) for i in ids}

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
                if self.tree.contains(self.root, token):
                    seen += 1
                elif token not in self.allowed:
                    out.append(f"region {token}")
            elif len(token) == 18:  # case number: YYYYMMDD + 10-digit id
                case_ids.add(int(token[8:]))
        for m in re.finditer(r"/case/([0-9]{1,18})", text):
            if m.group(1) not in sent:
                case_ids.add(int(m.group(1)))
        for case_id, city in self.city_of(case_ids).items():
            if self.tree.contains(self.root, city):
                seen += 1
            else:
                out.append(f"case {case_id} of {city}")
        if "江苏省 ·" in text or "江苏省 · " in text:
            out.append("province heading")
        return out, seen


def dependencies(app) -> list[dict]:
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function")]


def outputs_of(output: str):
    from dash._utils import split_callback_id
    return split_callback_id(output)


def good_value(component: str, prop: str, wall_cfg: dict, pathname: str = "/wall"):
    return {
        ("url", "pathname"): pathname, ("url", "search"): "",
        ("wall-region", "data"): ROOT, ("wall-config", "data"): wall_cfg,
        ("metric-choice", "value"): "closure", ("period-choice", "value"): "this_week",
        ("period-range", "start_date"): "2026-11-01", ("period-range", "end_date"): "2026-11-03",
        ("ranking-grid", "cellClicked"): {"rowId": "320506"},
        ("children-grid", "cellClicked"): {"rowId": "320506"},
        ("children-map", "clickData"): {"points": [{"customdata": "320506"}]},
        ("case-grid", "cellClicked"): {"rowId": "1"},
    }.get((component, prop), 1 if prop in ("n_intervals", "n_clicks") else None)


def hostile_values(component: str, prop: str, wall_cfg: dict) -> list:
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


def forged_body(dep: dict, values: dict, changed: str) -> dict:
    items = lambda specs: [{"id": s["id"], "property": s["property"],  # noqa: E731
                            "value": values[(s["id"], s["property"])]} for s in specs]
    return {"output": dep["output"], "outputs": outputs_of(dep["output"]),
            "inputs": items(dep["inputs"]), "state": items(dep["state"]),
            "changedPropIds": [changed]}


def structural(body: dict) -> list:
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


@contextmanager
def seeded_app(seeded_env, redis_url: str, region: str, **overrides):
    """(app, engine, tree): an app whose root is `region` on the seeded Jiangsu database,
    with Redis keys of its own (tests/live.py seeded_app)."""
    with live.seeded_app(seeded_env, redis_url, region=region,
                         **{"refresh_seconds": 2, **overrides}) as (app, _prefix):
        engine = make_engine(seeded_env.env["GRIDWATCH_DATABASE_URL"])
        try:
            yield app, engine, RegionTree.load(engine, "320000")
        finally:
            engine.dispose()


def forge_every_callback(deps: list[dict], sessions: list, check: LeakCheck, wall_cfg: dict,
                         pathname: str = "/wall") -> tuple[int, dict[int, int], list[str]]:
    """Post every hostile body of every callback in `deps` with each session (a test
    client): (bodies sent, answers by status, what leaked or answered 5xx)."""
    statuses: dict[int, int] = {}
    leaked: list[str] = []
    sent = 0
    for dep in deps:
        specs = dep["inputs"] + dep["state"]
        base = {(s["id"], s["property"]): good_value(s["id"], s["property"], wall_cfg, pathname)
                for s in specs}
        changed = f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"
        bodies = [forged_body(dep, {**base, (s["id"], s["property"]): v}, changed)
                  for s in specs for v in hostile_values(s["id"], s["property"], wall_cfg)]
        bodies += structural(forged_body(dep, base, changed))
        for body in bodies:
            sent_text = json.dumps(body)
            for who in sessions:
                resp = who.post("/_dash-update-component", data=sent_text,
                                content_type="application/json", headers=SAME_SITE)
                sent += 1
                statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                if resp.status_code >= 500:
                    leaked.append(f"{resp.status_code} for {dep['output'][:60]}: {sent_text[:300]}")
                    continue
                found, _ = check.leaks(resp.get_data(as_text=True), echo=sent_text)
                leaked += [f"{f} in {dep['output'][:60]} for {sent_text[:300]}" for f in found]
    return sent, statuses, leaked
