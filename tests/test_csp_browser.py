"""The Content-Security-Policy in Chromium against the real server (gunicorn, gevent
workers): every page opens, draws its charts and grids, and the browser reports no
violation of the policy (`securitypolicyviolation` events, listened for from before the
page's first script, and console messages about the policy). The login's forms post under
the policy and the Referrer-Policy (the origin check still sees this site). A refused
query shows a calm notice. What gunicorn itself sends names no version."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from limits import parse_many

from dashboard.app.settings import Settings
from dashboard.domain import second_factor
from tests.live import PageWatch, hover_widest_bar
from tests.logins import make_account, make_totp_account, open_wall, sign_in
from tests.test_fonts_browser import wait_for_charts

TIMEOUT = 30_000

# Before any script of the page: every violation the document reports is kept.
LISTEN = """
window.__gwCsp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__gwCsp.push({directive: e.effectiveDirective, blocked: e.blockedURI,
                       sample: e.sample, source: e.sourceFile, line: e.lineNumber});
});
"""


class Watched:
    """A Chromium page that records policy violations and every console message."""

    def __init__(self, browser, server):
        self.context = browser.new_context(viewport={"width": 1920, "height": 1080})
        self.context.add_init_script(LISTEN)
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT)
        self.watch = PageWatch(self.page, server.url)
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text))
        self.violations: list[dict] = []

    def collect(self) -> None:
        """The violations of the document shown now (call before each navigation)."""
        self.violations += self.page.evaluate("window.__gwCsp || []")

    def assert_clean(self, expected_errors: tuple[str, ...] = ()) -> None:
        self.collect()
        kinds = sorted({(v["directive"], v["blocked"], v["source"].rsplit("/", 1)[-1])
                        for v in self.violations})
        assert self.violations == [], f"{len(self.violations)} policy violations: {kinds}"
        policy = [m for m in self.console if "Content Security Policy" in m
                  or "Content-Security-Policy" in m]
        assert policy == [], f"console: {policy}"
        assert self.watch.foreign == []
        errors = [e for e in self.watch.errors if not any(x in e for x in expected_errors)]
        assert errors == [], f"console errors: {errors}"


@pytest.fixture
def watched(browser, live_server):
    w = Watched(browser, live_server)
    yield w
    w.context.close()


def grids_drawn(page, *grids: str) -> None:
    """Rows in each grid, drawn by AG Grid's theme (its stylesheet is what lays the rows
    out: without it the header has no height)."""
    for grid in grids:
        page.wait_for_selector(f"{grid} .ag-row")
        height = page.evaluate(f"document.querySelector('{grid} .ag-header').offsetHeight")
        assert height > 10, grid


def charts_drawn(page) -> None:
    wait_for_charts(page)
    assert page.locator(".dash-graph .main-svg").count() > 0


def test_the_wall_draws_without_a_violation(watched, live_server):
    page = watched.page
    open_wall(page, live_server)
    page.wait_for_selector("#wall-feed")
    page.wait_for_function("() => document.getElementById('wall-feed').dataset.status === 'live'")
    page.wait_for_selector("#wall-ranking td")
    charts_drawn(page)
    page.wait_for_timeout(2500)                     # a refresh tick, the live feed running
    watched.assert_clean()


def test_the_leaders_pages_draw_without_a_violation(watched, live_server):
    page = watched.page
    sign_in(page, live_server, "leader")
    page.goto(live_server.url + "/kpi")
    grids_drawn(page, "#ranking-grid")
    charts_drawn(page)
    page.click("#period-range-wrapper")                     # the date picker, open
    page.wait_for_selector(".dash-datepicker-content")
    page.keyboard.press("Escape")
    header = page.locator("#ranking-grid .ag-header-cell").nth(2)
    header.hover()                                          # the grid's icons: sort, menu
    header.locator(".ag-header-cell-label").click()
    page.wait_for_selector("#ranking-grid .ag-sort-indicator-icon:not(.ag-hidden)")
    watched.collect()
    page.goto(live_server.url + "/region/320500")
    grids_drawn(page, "#children-grid")
    charts_drawn(page)
    watched.assert_clean()


def test_the_staff_pages_draw_without_a_violation(watched, live_server, case_id):
    page = watched.page
    sign_in(page, live_server, "staff")
    page.goto(live_server.url + "/region/320500")
    grids_drawn(page, "#children-grid", "#case-grid")
    charts_drawn(page)
    page.click("#filter-state")                             # a dropdown, open
    page.wait_for_selector(".dash-dropdown-content")
    page.keyboard.press("Escape")
    hover_widest_bar(page, "#breakdown-category")                   # a hover label
    watched.collect()
    page.goto(f"{live_server.url}/case/{case_id}")
    grids_drawn(page, "#case-timeline")
    watched.collect()
    page.goto(live_server.url + "/status")
    page.wait_for_function("() => document.getElementById('status-kpis') &&"
                           "document.getElementById('status-kpis').textContent.trim() !== ''")
    watched.collect()
    for path, ready in (("/account", "#account-pages"), ("/password", "#auth-submit"),
                        ("/totp/enrol", "#totp-qr svg")):
        page.goto(live_server.url + path)
        page.wait_for_selector(ready)
        watched.collect()
    watched.assert_clean()


def test_the_login_steps_post_their_forms_under_the_policy(watched, live_server):
    """The forms of the login, the second factor and the forced password change, filled
    and posted in Chromium: under form-action 'self' and Referrer-Policy same-origin the
    browser still sends an Origin naming this site (no-referrer would make it "null")."""
    page = watched.page
    url = live_server.env["GRIDWATCH_DATABASE_URL"]
    name, password, secret = make_totp_account(url, live_server.data_dir, "leader",
                                               regions=("320000",), must_change=True)
    page.goto(live_server.url + "/login")
    page.wait_for_selector("#auth-submit")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/login/totp"))
    watched.collect()
    page.fill("#code", second_factor.code_at(secret, datetime.now(timezone.utc)))
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/password"))
    watched.collect()
    new = "Neu-Passwort-2026!"
    page.fill("#current", password)
    page.fill("#new", new)
    page.fill("#repeat", new)
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/kpi"))
    grids_drawn(page, "#ranking-grid")
    watched.assert_clean()


def test_a_refused_query_shows_a_calm_notice_and_keeps_the_page(watched, live_server):
    """Past the custom ranges an account may ask for in a minute, the page keeps what it
    shows and says when to try again (assets/pages.js)."""
    page = watched.page
    allowed = parse_many(Settings().rate_limit_custom)[0].amount
    name, password = make_account(live_server.env["GRIDWATCH_DATABASE_URL"], "leader")
    live_server.accounts["notice"] = (name, password)
    sign_in(page, live_server, "notice")
    page.goto(live_server.url + "/kpi")
    grids_drawn(page, "#ranking-grid")
    body = {"output": "page.children", "outputs": {"id": "page", "property": "children"},
            "inputs": [{"id": "url", "property": "pathname", "value": "/kpi"},
                       {"id": "url", "property": "search",
                        "value": "?period=custom&from=2026-01-01&to=2026-01-07"}],
            "changedPropIds": ["url.search"]}
    for _ in range(allowed):        # the same session, posting as the page would
        resp = page.request.post(live_server.url + "/_dash-update-component", data=body,
                                 headers={"Origin": live_server.url})
        assert resp.status == 200
    page.goto(live_server.url + "/kpi?period=custom&from=2026-01-01&to=2026-01-08")
    page.wait_for_selector("#gw-notice:not([hidden])")
    notice = page.inner_text("#gw-notice")
    assert re.fullmatch(r"查询过于频繁，请 \d+ 秒后再试。", notice), notice
    font = page.evaluate("getComputedStyle(document.getElementById('gw-notice')).fontFamily")
    assert font.startswith('"GW Sans"')
    # Chromium logs the refused request itself; nothing else went wrong.
    # Chromium logs the refused request, and Dash the callback it could not update (its
    # console only; the page shows the notice). Nothing else went wrong.
    watched.assert_clean(expected_errors=("status of 429", "Callback error updating page.children"))


def _headers(url: str, method: str = "GET") -> tuple[int, dict]:
    req = urllib.request.Request(url, method=method, headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_gunicorn_names_no_version_and_passes_the_headers_on(live_server):
    base = live_server.url
    for path, status in (("/", 200), ("/login", 200), ("/healthz", 200),
                         ("/assets/pages.js", 200), ("/assets/nope.js", 404),
                         ("/_reload-hash", 404)):
        code, headers = _headers(base + path)
        assert code == status, path
        server = headers.get("Server", "")
        assert not re.search(r"\d", server) and "werkzeug" not in server.lower(), server
        assert "'unsafe-eval'" not in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "X-Powered-By" not in headers


def test_a_web_worker_logs_what_it_refused(live_server):
    # gunicorn's workers had no logging set up: only warnings reached the log, and the
    # served app's INFO lines (a cross-site request refused, a rate limit reached) were lost.
    req = urllib.request.Request(live_server.url + "/_dash-update-component", data=b"{}",
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "Origin": "https://elsewhere.example"})
    status = None
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        status = e.code
    assert status == 403
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = live_server.log_path.read_text(errors="replace")
        if "INFO dashboard.app.auth_gate: refused POST /_dash-update-component" in text:
            break
        time.sleep(0.2)
    assert "elsewhere.example" in text and \
        "INFO dashboard.app.auth_gate: refused POST /_dash-update-component" in text, text[-2000:]
