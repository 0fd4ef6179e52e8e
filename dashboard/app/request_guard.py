"""What the server accepts from a browser, checked before Dash sees it.

A Dash callback request is a JSON body the browser builds: which callback, and the value
of each of its inputs and states. Dash trusts it; a forged one (a missing field, a list
where a string belongs, a callback that does not exist) used to end in a KeyError or
TypeError deep inside Dash or a page, answered 500 with a traceback in the log. Here every
body is checked against the callback it names, shape and value types, before dispatch:
a malformed request is the client's error, answered 400 with one log line.

Each input and state a callback declares needs a type below; `install` refuses to start
an app with a callback input it cannot check, so a new control cannot slip in unchecked.
What a value means (is this region inside the root?) is the callback's business: it
raises OutOfScope or BadInput, which are answered 400 here too, never 500.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict

import flask
from dash._utils import split_callback_id
from dash.exceptions import DependencyException
from flask import Response, json, request

from dashboard.app.loop_watch import ms_at
from dashboard.domain.accounts import NotPermitted
from dashboard.domain.scope import OutOfScope
from dashboard.views.url_state import BadInput

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
MAX_TEXT = 8 * 1024          # a URL's search part or a control's value
MAX_COUNT = 2 ** 53          # n_clicks / n_intervals: JavaScript's safe integers

# Value types by property, with per-component exceptions (stores hold what the page put
# there). None is always allowed: a control that has not been used yet sends null.
BY_PROPERTY: dict[str, type | tuple[type, ...]] = {
    "n_intervals": int, "n_clicks": int,
    "pathname": str, "search": str, "value": str, "start_date": str, "end_date": str,
    "cellClicked": dict, "clickData": dict,
}
BY_COMPONENT: dict[tuple[str, str], type | tuple[type, ...]] = {
    ("wall-region", "data"): str,
    ("wall-config", "data"): dict,
    ("wall-kpi-data", "data"): dict,
    ("wall-tick", "interval"): int,     # milliseconds, told by the server (wall/pace.py)
    ("wall-marks", "data"): dict,       # what the screen's panels show (callbacks/wall.py)
    ("wall-push", "data"): bool,        # frames reach the screen over its live feed
}


def _expected_type(component: str, prop: str):
    return BY_COMPONENT.get((component, prop)) or BY_PROPERTY.get(prop)


def _strip_hash(prop: str) -> str:
    return prop.split("@", 1)[0]  # allow_duplicate outputs carry "@<hash>"


def _value_problem(component: str, prop: str, value) -> str | None:
    if value is None:
        return None
    want = _expected_type(component, prop)
    if want is int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            return f"{component}.{prop}: expected a count"
        return None
    if not isinstance(value, want):
        return f"{component}.{prop}: expected {getattr(want, '__name__', want)}"
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"{component}.{prop}: too long"
    return None


def _items_problem(sent, declared: list[dict], kind: str) -> str | None:
    if not isinstance(sent, list) or len(sent) != len(declared):
        return f"{kind}: expected {len(declared)} items"
    for item, want in zip(sent, declared):
        if not isinstance(item, dict):
            return f"{kind}: item is not an object"
        if item.get("id") != want["id"] or item.get("property") != want["property"]:
            return f"{kind}: unexpected {str(item.get('id'))[:40]}.{str(item.get('property'))[:40]}"
        problem = _value_problem(want["id"], want["property"], item.get("value"))
        if problem:
            return problem
    return None


def _outputs_problem(sent, output: str) -> str | None:
    declared = split_callback_id(output)
    want = declared if isinstance(declared, list) else [declared]
    got = sent if isinstance(sent, list) else [sent]
    if isinstance(declared, list) != isinstance(sent, list) or len(got) != len(want):
        return "outputs: do not match the callback"
    for g, w in zip(got, want):
        if not isinstance(g, dict) or g.get("id") != w["id"] or not isinstance(
                g.get("property"), str) or _strip_hash(g["property"]) != _strip_hash(w["property"]):
            return "outputs: do not match the callback"
    return None


def body_problem(body, callback_map: dict) -> str | None:
    """Why `body` is not a request for one of the app's callbacks; None when it is."""
    if not isinstance(body, dict):
        return "body is not a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        return "unknown callback"
    spec = callback_map[output]
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        return "changedPropIds: expected a list of strings"
    return (_outputs_problem(body.get("outputs"), output)
            or _items_problem(body.get("inputs"), spec["inputs"], "inputs")
            or _items_problem(body.get("state", []), spec["state"], "state"))


class _OncePerSecond:
    """Rejections are logged one line each, at most a few a second: a flood of forged
    requests must not flood the log."""

    def __init__(self, per_second: int = 5):
        self.per_second, self.window, self.count, self.dropped = per_second, 0, 0, 0

    def __call__(self, message: str, *args) -> None:
        now = int(time.monotonic())
        if now != self.window:
            if self.dropped:
                log.info("request guard: %d more rejections not logged", self.dropped)
            self.window, self.count, self.dropped = now, 0, 0
        self.count += 1
        if self.count <= self.per_second:
            log.info(message, *args)
        else:
            self.dropped += 1


class Turns:
    """How long this worker's callbacks waited for a turn at the gate and then ran, by
    callback (its first output), and how many were turned away busy: one log line a
    minute. A screen's answer time is both, and only this says which one grew (a start
    that met a busy database: answers 40 s late, bench.province_scale)."""

    def __init__(self, every: float = 60.0, clock=time.monotonic):
        self.every, self.clock = every, clock
        self._lock = threading.Lock()
        self._since = clock()
        self._by = self._empty()

    @staticmethod
    def _empty() -> dict[str, list]:
        return defaultdict(lambda: [[], [], 0])    # waited, ran, turned away

    def add(self, name: str, waited: float, ran: float | None) -> None:
        """`ran` None: turned away after waiting `waited`."""
        with self._lock:
            entry = self._by[name]
            if ran is None:
                entry[2] += 1
            else:
                entry[0].append(waited)
                entry[1].append(ran)

    def line(self) -> str | None:
        """The summary once `every` s have passed and a callback came, then starts over."""
        with self._lock:
            now = self.clock()
            if now - self._since < self.every:
                return None
            by, seconds = self._by, now - self._since
            self._by, self._since = self._empty(), now
        if not by:
            return None
        parts = []
        for name, (waited, ran, busy) in sorted(by.items(), key=lambda kv: -len(kv[1][0])):
            waited, ran = sorted(waited), sorted(ran)
            parts.append(f"{name} {len(ran)} answered, waited p50 {ms_at(waited, 50)} / p95 "
                         f"{ms_at(waited, 95)}, ran p50 {ms_at(ran, 50)} / p95 {ms_at(ran, 95)} / "
                         f"longest {ms_at(ran, 100)} ms" + (f", {busy} busy" if busy else ""))
        return f"callbacks in {seconds:.0f} s: " + "; ".join(parts)


def _name(output: str) -> str:
    """A callback's short name: its first output's component ("..wall-kpi-data.data..
    ..." -> "wall-kpi-data")."""
    return output.lstrip(".").split(".", 1)[0][:40]


def _bad_request(reason: str, note) -> Response:
    note("rejected %s %s from %s: %s", request.method, request.path, request.remote_addr,
         reason[:200])
    return Response(json.dumps({"error": "bad request"}), status=400,
                    mimetype="application/json")


def periodic(changed: list[str]) -> bool:
    """A call fired by a timer alone (a wall's tick): the next tick asks again."""
    return bool(changed) and all(c.endswith(".n_intervals") for c in changed)


def install(app, concurrent: int = 0, queue_seconds: float = 20.0,
            periodic_seconds: float | None = None) -> None:
    """Guard the callback endpoint of a Dash app and its static suites. `concurrent` > 0:
    at most that many callbacks run at once in this worker; one that cannot start within
    `queue_seconds` is answered 503 with Retry-After (the screen keeps its numbers and
    asks again next tick). A call fired by a timer alone waits at most
    `periodic_seconds` (a tick): past the worker's capacity its screen skips a tick
    rather than stand in line for several while the line grows.

    Calls fired by a timer (the walls' ticks) and the others (a leader's click, a region
    picked) have `concurrent` turns each: a leader's custom range that takes its
    database seconds (10 s at 10M under load, bench.province_scale) holds a leader's
    turn, never a wall's, and a province's walls never fill the leaders' turns."""
    server = app.server
    # Under gevent, every waiting request is a greenlet ready to run: with a province's
    # walls a worker held ~1,300 callbacks at once, one round of them outlasted gunicorn's
    # 30 s heartbeat, and the worker was killed with every connection it held. Waiting on
    # this gate costs nothing; only the callbacks past it take their turns at the CPU.
    gates = {kind: threading.BoundedSemaphore(concurrent) for kind in ("tick", "other")} \
        if concurrent > 0 else None
    server.extensions["gridwatch_callback_gates"] = gates
    note = _OncePerSecond()
    turns = server.extensions["gridwatch_callback_turns"] = Turns()
    for spec in app.callback_map.values():
        for item in [*spec["inputs"], *spec["state"]]:
            if _expected_type(item["id"], item["property"]) is None:
                raise RuntimeError(f"no request type declared for {item['id']}.{item['property']}"
                                   " in dashboard/app/request_guard.py")
    endpoint = next(r.endpoint for r in server.url_map.iter_rules()
                    if r.rule.endswith("_dash-update-component"))
    dispatch = server.view_functions[endpoint]

    def guarded(*args, **kwargs):
        flask.g.gridwatch_arrived = time.monotonic()   # callbacks time answers from here
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _bad_request("body too large", note)
        body = request.get_json(silent=True)
        problem = body_problem(body, app.callback_map)
        if problem:
            return _bad_request(problem, note)
        name = _name(body["output"])
        ticked = periodic(body.get("changedPropIds", []))
        budget = min(queue_seconds, periodic_seconds) \
            if periodic_seconds is not None and ticked else queue_seconds
        gate = gates["tick" if ticked else "other"] if gates is not None else None
        if gate is not None and not gate.acquire(timeout=budget):
            turns.add(name, time.monotonic() - flask.g.gridwatch_arrived, None)
            note("busy: %s waited %.1f s for a turn", request.remote_addr, budget)
            return Response(json.dumps({"error": "busy"}), status=503,
                            mimetype="application/json",
                            headers={"Retry-After": str(max(1, round(budget)))})
        started = time.monotonic()
        try:
            return dispatch(*args, **kwargs)
        except NotPermitted as exc:     # the account's role does not allow it
            note("refused %s from %s: %s", request.path, request.remote_addr, exc)
            return Response(json.dumps({"error": "forbidden"}), status=403,
                            mimetype="application/json")
        except (OutOfScope, BadInput) as exc:
            return _bad_request(f"{type(exc).__name__}: {exc}", note)
        finally:
            if gate is not None:
                gate.release()
            turns.add(name, started - flask.g.gridwatch_arrived, time.monotonic() - started)
            summary = turns.line()
            if summary:
                log.info(summary)

    server.view_functions[endpoint] = guarded

    @server.errorhandler(DependencyException)
    def unknown_asset(_exc):  # a path outside Dash's registered files, '..' included
        return Response("not found", status=404, mimetype="text/plain")
