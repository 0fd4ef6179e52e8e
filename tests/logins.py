"""Accounts and logins for tests against the real app: an account made in the app's own
database (as `gridwatch users add` does), and a login through the real /login form, by
Flask's test client or over HTTP for a browser context."""
from __future__ import annotations

import json
import uuid

from dashboard.domain.audit import Actor
from data_sources.account_store import AccountStore
from data_sources.database import make_engine

# Flask's test client asks for http://localhost/: a page of this site sends this Origin.
ORIGIN = "http://localhost"
SAME_SITE = {"Origin": ORIGIN}


def make_account(database_url: str, role: str = "leader", regions=("320000",),
                 must_change: bool = False, username: str | None = None) -> tuple[str, str]:
    """(username, password) of a new account bound to `regions`."""
    engine = make_engine(database_url)
    try:
        name = username or f"{role}-{uuid.uuid4().hex[:8]}"
        _account, password = AccountStore(engine).create(
            name, role, regions, by=Actor.cli("tests"), must_change=must_change)
        return name, password
    finally:
        engine.dispose()


def make_totp_account(database_url: str, data_dir, role: str = "admin",
                      regions=(), username: str | None = None,
                      must_change: bool = False) -> tuple[str, str, str]:
    """(username, password, TOTP secret) of a new account with its second factor enrolled
    (admins and auditors need one): log it in with `login_with_code`. The key is sealed
    with the installation's data key (the one kept in `data_dir`, as the app reads it)."""
    from dashboard.domain import second_factor
    from data_sources.secret_box import SecretBox
    name, password = make_account(database_url, role, regions, must_change=must_change,
                                  username=username)
    secret = second_factor.new_secret()
    engine = make_engine(database_url)
    try:
        AccountStore(engine, box=SecretBox.for_installation(None, data_dir)).set_totp_secret(
            name, secret, by=Actor.cli("tests"))
    finally:
        engine.dispose()
    return name, password, secret


def login_with_code(client, username: str, password: str, secret: str, at=None):
    """The login form, then the second factor's form with the code of `at` (now)."""
    from datetime import datetime, timezone

    from dashboard.domain import second_factor
    first = login(client, username, password)
    assert first.headers["Location"].startswith("/login/totp"), first.headers.get("Location")
    code = second_factor.code_at(secret, at or datetime.now(timezone.utc))
    return client.post("/login/totp", data={"code": code}, headers=SAME_SITE)


def login(client, username: str, password: str, **kw):
    """POST the login form as a page of the site does; the client keeps the cookie."""
    return client.post("/login", data={"username": username, "password": password},
                       headers=SAME_SITE, **kw)


def route_body(path: str, search: str = "", changed: str = "url.pathname") -> dict:
    """The router's callback request for a URL (what the browser posts on navigation)."""
    return {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": path},
                       {"id": "url", "property": "search", "value": search}],
            "changedPropIds": [changed] if changed else []}


def route(client, path: str, search: str = "", headers=None):
    return client.post("/_dash-update-component", json=route_body(path, search),
                       headers=headers if headers is not None else SAME_SITE)


def text_of(resp) -> str:
    return json.dumps(resp.get_json(), ensure_ascii=False) if resp.is_json else \
        resp.get_data(as_text=True)


def http_login(base_url: str, username: str, password: str) -> str:
    """Log in over HTTP (a live server); returns the session cookie's value."""
    import http.client
    from urllib.parse import urlencode, urlsplit
    u = urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("POST", "/login", urlencode({"username": username, "password": password}),
                     {"Content-Type": "application/x-www-form-urlencoded", "Origin": base_url})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 302, f"login of {username} answered {resp.status}"
        for header, value in resp.getheaders():
            if header.lower() == "set-cookie" and value.startswith("gw_session="):
                return value.split(";", 1)[0].split("=", 1)[1]
        raise AssertionError("no session cookie")
    finally:
        conn.close()


def log_in_context(context, base_url: str, username: str, password: str) -> None:
    """Give a Playwright browser context a logged-in session."""
    context.add_cookies([{"name": "gw_session", "value": http_login(base_url, username, password),
                          "url": base_url, "httpOnly": True, "sameSite": "Strict"}])


def sign_in(page, server, role: str) -> None:
    """Log a Playwright page's context in as the live server's account of `role`
    (conftest's live_server makes one leader and one staff account of 江苏省)."""
    page.context.clear_cookies()
    log_in_context(page.context, server.url, *server.accounts[role])


# -- wall devices ------------------------------------------------------------------------
WALL_COOKIE = "gw_wall"


def wall_device(database_url: str, region: str = "320000", name: str | None = None,
                privacy: bool = False, allow=()) -> str:
    """Enrol a wall device of `region` in the app's database (as `gridwatch walls add`
    does); returns its wall URL's path, `/wall?token=…` (open it, or give its token to a
    browser as the device cookie: `wall_token`)."""
    from urllib.parse import urlencode

    from data_sources.wall_device_store import WallDeviceStore
    engine = make_engine(database_url)
    try:
        _device, token = WallDeviceStore(engine).add(
            name or f"测试大屏 {region} {uuid.uuid4().hex[:6]}", region,
            by=Actor.cli("tests"), privacy=privacy, allow=allow)
        return "/wall?" + urlencode({"token": token})
    finally:
        engine.dispose()


def wall_tokens(database_url: str, regions, n: int | None = None) -> list[str]:
    """Enrol many wall devices at once (the benches' walls): one per code of `regions`,
    or `n` of the one region `regions`. Returns their tokens, in that order."""
    from data_sources.wall_device_store import WallDeviceStore
    codes = [regions] * n if isinstance(regions, str) else list(regions)
    engine = make_engine(database_url)
    try:
        store = WallDeviceStore(engine)
        return [store.add(f"压测大屏 {code} #{i}", code, by=Actor.cli("bench"))[1]
                for i, code in enumerate(codes)]
    finally:
        engine.dispose()


def forget_bench_walls(database_url: str) -> int:
    """Delete the devices an earlier bench run enrolled (wall_tokens) in a bench's own
    database: each run enrols its own, and every worker reads all devices every half
    tick, so runs piling up 1,345 devices each made each run dearer than the last."""
    from data_sources.schema import wall_device
    from data_sources.wall_device_store import bump_version
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            gone = conn.execute(wall_device.delete().where(
                wall_device.c.name.like("压测大屏 %"))).rowcount
            bump_version(conn)
            return gone
    finally:
        engine.dispose()


def wall_token(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit
    return parse_qs(urlsplit(url).query)["token"][0]


def enrol_client(client, database_url: str, region: str = "320000", **opts) -> str:
    """A Flask test client made a wall device of `region`: its wall URL opened, so the
    client keeps the device cookie. Returns the token."""
    url = wall_device(database_url, region, **opts)
    resp = client.get(url)
    assert resp.status_code == 303, f"the wall's token was not exchanged: {resp.status_code}"
    return wall_token(url)


def enrol_context(context, base_url: str, database_url: str, region: str = "320000",
                  **opts) -> str:
    """Give a Playwright browser context the device cookie of a new wall device of
    `region` (what opening its wall URL leaves). Returns the token."""
    token = wall_token(wall_device(database_url, region, **opts))
    context.add_cookies([{"name": WALL_COOKIE, "value": token, "url": base_url,
                          "httpOnly": True, "sameSite": "Strict"}])
    return token


def enter_wall(context, server, base_url: str | None = None) -> None:
    """Give a Playwright browser context the device cookie of the seeded installation's
    wall device of the province (conftest's seeded_env enrols it), for the live server or
    another one on the same database (`base_url`)."""
    context.add_cookies([{"name": WALL_COOKIE, "value": server.wall_token,
                          "url": base_url or server.url, "httpOnly": True,
                          "sameSite": "Strict"}])


def wall_header(token: str) -> dict:
    """The Cookie header of a wall device's requests (for urllib / http.client)."""
    return {"Cookie": f"{WALL_COOKIE}={token}"}


def wall_config(client, search: str = "") -> dict:
    """The wall's config store (wall-config) as the router draws /wall for this client:
    what its refreshes send back."""
    page = route(client, "/wall", search).get_json()
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "wall-config":
                found.append(node["props"]["data"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(page)
    assert found, f"no wall config in {json.dumps(page, ensure_ascii=False)[:300]}"
    return found[0]


def open_wall(page, server, path: str = "/") -> None:
    """Open the wall in a Playwright page as a wall screen does: with the device cookie
    of the seeded installation's wall device of the province (enter_wall)."""
    enter_wall(page.context, server)
    page.goto(server.url + path)
