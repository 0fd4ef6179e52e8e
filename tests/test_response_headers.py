"""Every kind of response carries the security headers (dashboard/app/security_headers.py),
and no response says how the server is built: no traceback, exception text or version in
a forced 500, a 404 or 405, or in any header; Dash's dev tools are off. The real app on
the seeded database and real Redis, through Flask's test client (the browser's view of the
policy: tests/test_csp_browser.py; gunicorn's own headers: there too)."""
from __future__ import annotations

import re

import pytest

from tests.live import seeded_app
from tests.logins import SAME_SITE, enrol_client, login, make_account, route, text_of

SECRET = "boom-7f3a91 internal detail"
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
# Anything that names a version: "3.1.9", "v4_4_1", "Python/3.11".
VERSION = re.compile(r"\d+\.\d+(\.\d+)?|v\d+_\d+|python|werkzeug|gunicorn/|flask", re.I)


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    """The province's app with a route only this test registers: one that raises."""
    with seeded_app(seeded_env, redis_url) as (app, _prefix):
        def boom():
            raise RuntimeError(SECRET)
        app.server.add_url_rule("/test-boom", "test_boom", boom, methods=["GET", "POST"])
        yield app, seeded_env.env["GRIDWATCH_DATABASE_URL"]


@pytest.fixture(scope="module")
def staff(site):
    app, url = site
    client = app.server.test_client()
    name, password = make_account(url, "staff")
    assert login(client, name, password).status_code == 302
    return client


@pytest.fixture(scope="module")
def wall(site):
    """A client enrolled as the province's wall device: what opens "/" (the wall's page)."""
    app, url = site
    client = app.server.test_client()
    enrol_client(client, url)
    return client


def csp_of(resp) -> dict[str, list[str]]:
    out = {}
    for part in resp.headers["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def assert_secure(resp, path: str) -> None:
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff", path
    assert h["X-Frame-Options"] == "DENY", path
    assert h["Referrer-Policy"] in ("same-origin", "no-referrer"), path
    assert h["Cross-Origin-Opener-Policy"] == "same-origin", path
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in h["Permissions-Policy"], path
    csp = csp_of(resp)
    assert csp["default-src"] == ["'self'"], path
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"], path
    assert csp["object-src"] == ["'none'"] and csp["form-action"] == ["'self'"], path
    assert csp["connect-src"] == ["'self'"] and csp["font-src"] == ["'self'"], path
    scripts = csp["script-src"]
    assert scripts[0] == "'self'" and all(s.startswith("'sha256-") for s in scripts[1:]), path
    assert "'unsafe-eval'" not in h["Content-Security-Policy"], path
    assert "'unsafe-inline'" not in scripts, path
    for name, value in h.items():
        assert not VERSION.search(value) or name.lower() in (
            "content-security-policy", "date", "last-modified", "etag", "content-length",
            "expires", "content-disposition", "location", "set-cookie"), (path, name, value)
    if not path.startswith(STATIC_PREFIXES):
        assert h["Cache-Control"] == "no-store", path


def test_every_kind_of_response_carries_the_headers(site, staff, wall):
    app, _ = site
    anonymous = app.server.test_client()
    index = wall.get("/").get_data(as_text=True)
    suite = re.search(r'src="(/_dash-component-suites/[^"]+)"', index).group(1)
    answers = {
        "/": wall.get("/"),                                            # the wall's page
        "/ (to the login)": anonymous.get("/"),
        "/login": anonymous.get("/login"),
        "/login (refused)": anonymous.post("/login", data={"username": "x", "password": "y"},
                                           headers=SAME_SITE),
        "/kpi (to the login)": anonymous.get("/kpi"),
        "/healthz": anonymous.get("/healthz"),
        "/assets/pages.js": anonymous.get("/assets/pages.js"),
        "/assets/fonts": anonymous.get("/assets/fonts/NotoSansSC-Regular.woff2"),
        suite: anonymous.get(suite),
        "/_dash-layout": anonymous.get("/_dash-layout"),
        "/_dash-dependencies": anonymous.get("/_dash-dependencies"),
        "wall callback": route(wall, "/wall"),
        "callback (401)": route(anonymous, "/kpi"),
        "/region/320000": staff.get("/region/320000"),
        "/case/1": staff.get("/case/1"),
        "case page callback": route(staff, "/case/1"),
        "region callback": route(staff, "/region/320000"),
        "/assets/nope.js (404)": anonymous.get("/assets/nope.js"),
        "/test-boom (500)": anonymous.get("/test-boom"),
        "POST / (405)": anonymous.post("/", headers=SAME_SITE),
    }
    live = wall.get("/wall/live?region=320000", buffered=False)         # the live feed (SSE)
    try:
        answers["/wall/live"] = live
        assert live.mimetype in ("text/event-stream", "")
        for path, resp in answers.items():
            assert_secure(resp, path)
    finally:
        live.close()
    assert answers["/"].status_code == 200 and answers["/ (to the login)"].status_code == 302
    assert answers["/region/320000"].status_code == 200
    assert answers["case page callback"].status_code == 200
    assert answers["/assets/nope.js (404)"].status_code == 404
    assert answers["/test-boom (500)"].status_code == 500
    assert answers["POST / (405)"].status_code == 405
    assert "GET" in answers["POST / (405)"].headers["Allow"]


def test_the_policy_hashes_exactly_the_inline_scripts_dash_serves(wall):
    """The page's one inline script (Dash starting its renderer) runs under the policy:
    its sha256 is in script-src; a changed script would not be."""
    import base64
    import hashlib
    resp = wall.get("/")
    # Without the comments: Dash's `<!--[if IE]><script>` is one, no browser runs it.
    page = re.sub(r"<!--.*?-->", "", resp.get_data(as_text=True), flags=re.S)
    inline = [s for attrs, s in re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
              if "src=" not in attrs and "application/json" not in attrs]
    assert inline, "Dash serves its renderer's start inline"
    allowed = csp_of(resp)["script-src"]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in allowed


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forced_500_is_calm_and_says_nothing_of_the_server(site, method, caplog):
    app, _ = site
    client = app.server.test_client()
    if method == "GET":
        resp = client.get("/test-boom", headers={"Accept": "text/html"})
        assert resp.mimetype == "text/html"
        assert "服务器暂时无法处理该请求" in resp.get_data(as_text=True)
    else:
        resp = client.post("/test-boom", headers=SAME_SITE)
        assert resp.get_json() == {"error": "server error"}
    text = resp.get_data(as_text=True)
    assert resp.status_code == 500
    for leak in ("Traceback", "RuntimeError", SECRET, "File \"", "werkzeug", "Werkzeug",
                 "test_response_headers", "site-packages"):
        assert leak not in text
    assert not re.search(r"\d+\.\d+\.\d+", text)
    # The operator has it all in the log instead.
    assert any(SECRET in (r.exc_text or "") or SECRET in r.getMessage()
               or (r.exc_info and SECRET in str(r.exc_info[1])) for r in caplog.records)


def test_404_and_405_are_generic(site):
    app, _ = site
    client = app.server.test_client()
    missing = client.get("/assets/nope-<script>.js", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)
    assert "<script>" not in missing.get_data(as_text=True)            # the path escaped
    english = client.get("/assets/nope.js?lang=en", headers={"Accept": "text/html"})
    assert "Page not found" in english.get_data(as_text=True)
    refused = client.delete("/healthz", headers=SAME_SITE)
    assert refused.status_code == 405 and refused.get_json() == {"error": "method not allowed"}
    for resp in (missing, english, refused):
        assert "Werkzeug" not in text_of(resp) and "The requested URL" not in text_of(resp)


def test_dash_dev_tools_are_off(site, wall):
    """No debugger, no hot reload, no callback graph UI, no props checks in production;
    /_reload-hash, which Dash serves even so, is not found; /_dash-dependencies is there
    (the renderer needs it) and names callbacks only."""
    app, _ = site
    client = app.server.test_client()
    assert app.server.debug is False and not app._dev_tools.ui and not app._dev_tools.hot_reload
    page = wall.get("/").get_data(as_text=True)
    config = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                       page, re.S).group(1)
    assert re.search(r'"ui":\s*false', config) and re.search(r'"props_check":\s*false', config)
    assert "hot_reload" not in config
    assert client.get("/_reload-hash").status_code == 404
    deps = client.get("/_dash-dependencies")
    assert deps.status_code == 200 and isinstance(deps.get_json(), list)
    assert {"output", "inputs", "state"} <= set(deps.get_json()[0])
