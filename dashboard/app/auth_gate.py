"""What needs a login, checked before anything is served.

- Every state-changing request (POST: the login's forms, Dash callbacks) must come from a
  page of this site: its Origin (or, without one, its Referer) names this host, else 403.
  Browsers send Origin with every POST; a request with neither is refused when it carries
  a session cookie or is one of the login's forms (a script outside a browser has no
  session to abuse otherwise). The cookie itself is SameSite=Strict.
- A page (the HTML shell Dash serves for every path) needs a complete session: without
  one the browser is sent to /login, with a session at an unfinished step to that step's
  page. The wall (`/`, `/wall`) needs a wall device or a complete session
  (dashboard/app/wall_gate.py): its URL with a device's token is exchanged for the device
  cookie there, and a device that may show nothing gets the 已停用 page.
- A Dash callback needs a complete session, except the wall's: callbacks whose inputs are
  all the wall's components (ids "wall-…"), and the router drawing the wall, need a wall
  device or a session. Without either it is answered 401 with no data; the pages' script
  sends the browser to /login. A device that may show nothing is answered 403
  `wall disabled`, and the wall's script reloads the page, which says 已停用.
- Only the person's own requests keep a session alive (dashboard/domain/sessions.py
  is_activity): page loads, and callbacks a click or a choice triggered, never a timer's.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from flask import Response, g, json, redirect, request

from dashboard.app.auth import COOKIE, Auth
from dashboard.app.auth_routes import STAGE_PATHS, with_query
from dashboard.app.request_guard import MAX_BODY_BYTES
from dashboard.app.wall_gate import DEVICE_COOKIE, DevicesUnavailable, WallGate
from dashboard.domain.sessions import is_activity

log = logging.getLogger(__name__)

# The login's own forms: refused without an Origin or Referer naming this host.
FORM_PATHS = ("/login", "/login/totp", "/password", "/totp/enrol", "/logout")
WALL_PREFIX = "wall-"


def same_origin() -> bool | None:
    """True when the request's Origin (or Referer) names this host, False when it names
    another (or "null"), None when it has neither."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source:
        return None
    try:
        host = urlsplit(source).netloc
    except ValueError:
        return False
    return bool(host) and host.lower() == (request.host or "").lower()


def _json(status: int, error: str) -> Response:
    return Response(json.dumps({"error": error}), status=status, mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def install(app, auth: Auth, wall_paths: list[str], walls: WallGate) -> None:
    """Guard the app's pages and callbacks. `wall_paths`: the regexes of the wall's pages,
    shown to a wall device or a session (callbacks/page.py Page.public)."""
    server = app.server
    public = re.compile("|".join(f"(?:{p})" for p in wall_paths) or r"(?!)")

    @server.before_request
    def check_origin():
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        same = same_origin()
        if same is False or (same is None and (request.path in FORM_PATHS
                                               or COOKIE in request.cookies
                                               or DEVICE_COOKIE in request.cookies)):
            log.info("refused %s %s from %s: Origin %r, Referer %r", request.method,
                     request.path, request.remote_addr,
                     str(request.headers.get("Origin"))[:100],
                     str(request.headers.get("Referer"))[:100])
            return _json(403, "cross-site request refused")
        return None

    # -- the pages: Dash's HTML shell, served for every path ------------------------------
    for rule in list(server.url_map.iter_rules()):
        if rule.rule in ("/", "/<path:path>"):
            server.view_functions[rule.endpoint] = _guard_page(
                server.view_functions[rule.endpoint], auth, public, walls)

    # -- the callbacks ---------------------------------------------------------------
    endpoint = next(r.endpoint for r in server.url_map.iter_rules()
                    if r.rule.endswith("_dash-update-component"))
    dispatch = server.view_functions[endpoint]
    router_inputs = {("url", "pathname"), ("url", "search")}

    def is_public(body) -> bool:
        if not isinstance(body, dict):
            return False
        spec = app.callback_map.get(body.get("output")) if isinstance(body.get("output"), str) \
            else None
        if spec is None:
            return False
        ids = [item["id"] for item in spec["inputs"]]
        if ids and all(isinstance(i, str) and i.startswith(WALL_PREFIX) for i in ids):
            return True
        if {(i["id"], i["property"]) for i in spec["inputs"]} == router_inputs:
            sent = body.get("inputs")
            path = next((item.get("value") for item in sent if isinstance(item, dict)
                         and item.get("id") == "url" and item.get("property") == "pathname"),
                        None) if isinstance(sent, list) else None
            return isinstance(path, str) and public.fullmatch(path) is not None
        return False

    def guarded(*args, **kwargs):
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return dispatch(*args, **kwargs)        # refused there, 400
        body = request.get_json(silent=True)
        if is_public(body):
            return _wall_callback(body, walls, auth, lambda: dispatch(*args, **kwargs))
        try:
            cur = auth.current()
        except Exception as exc:  # noqa: BLE001 - Redis or the database down: no data
            log.warning("sessions unavailable: %s: %s", type(exc).__name__, str(exc)[:200])
            return _json(503, "sessions unavailable")
        if cur is None or not cur.complete:
            return _json(401, "login required")
        changed = body.get("changedPropIds") if isinstance(body, dict) else None
        if isinstance(changed, list) and is_activity(changed):
            auth.touch(cur)
        return dispatch(*args, **kwargs)

    server.view_functions[endpoint] = guarded

    @server.after_request
    def no_store(resp):
        # A page or a callback answered for an account is that account's: never cached.
        if g.get("gridwatch_session") is not None or g.get("gridwatch_wall") is not None:
            resp.headers["Cache-Control"] = "no-store"
        return resp


def _wall_callback(body: dict, walls: WallGate, auth: Auth, dispatch):
    """A wall callback: answered for a wall device that may show the wall, or for a
    complete session; its scope is the device's or the account's (callbacks/wall.py)."""
    try:
        access = walls.access()
    except DevicesUnavailable:
        # The database down before this worker ever read the devices: the page's drawing
        # shows the wall's "connecting" screen (and its retries), every other answer waits.
        if str(body.get("output", "")).split("@")[0].rsplit(".", 1) == ["page", "children"]:
            return dispatch()
        return _json(503, "wall devices unavailable")
    except Exception as exc:  # noqa: BLE001 - Redis down (sessions): no data
        log.warning("sessions unavailable: %s: %s", type(exc).__name__, str(exc)[:200])
        return _json(503, "sessions unavailable")
    if access is None:
        return _json(401, "login required")
    if not access.allowed:
        return _json(403, "wall disabled" if access.refusal is not None else "not permitted")
    changed = body.get("changedPropIds")
    if access.device is None and isinstance(changed, list) and is_activity(changed):
        cur = auth.current()
        if cur is not None:
            auth.touch(cur)
    return dispatch()


def _wall_page(view, walls: WallGate, auth: Auth, args, kwargs):
    token = request.args.get("token")
    if token is not None:
        return walls.exchange(token)
    try:
        access = walls.access()
    except DevicesUnavailable:
        return view(*args, **kwargs)     # the wall's own "connecting" screen, which retries
    if access is not None and (access.device is not None or access.refusal is not None):
        return view(*args, **kwargs) if access.allowed else walls.disabled(access)
    return None     # a person: as every other page


def _guard_page(view, auth: Auth, public, walls: WallGate):
    def guarded(*args, **kwargs):
        if public.fullmatch(request.path):
            try:
                answered = _wall_page(view, walls, auth, args, kwargs)
            except Exception as exc:  # noqa: BLE001 - Redis down: as for every other page
                log.warning("wall access unavailable: %s: %s", type(exc).__name__,
                            str(exc)[:200])
                answered = None
            if answered is not None:
                return answered
        try:
            cur = auth.current()
        except Exception as exc:  # noqa: BLE001 - Redis or the database down
            log.warning("sessions unavailable: %s: %s", type(exc).__name__, str(exc)[:200])
            cur = None      # the login page says that logging in is not possible now
        lang = "en" if request.args.get("lang") == "en" else None
        if cur is None:
            target = request.full_path.rstrip("?") if request.query_string else request.path
            return redirect(with_query("/login", next=target, lang=lang))
        if not cur.complete:
            return redirect(with_query(STAGE_PATHS[cur.session.stage], lang=lang))
        auth.touch(cur)
        return view(*args, **kwargs)
    return guarded
