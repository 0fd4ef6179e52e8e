"""The login's clock in Chromium: the lockout, the idle timeout and a wall left open across
both, against the province's app built in this process (so that its `Auth.clock` can be
moved: the live server of the other browser tests is gunicorn in another process) and
served by werkzeug in a thread.

- Five wrong passwords typed into the form lock the account (and the address): the right
  password is refused with the lockout message until the clock passes 15 minutes.
- A page that refreshes itself (/status) is sent to /login?m=ended by its next timer
  callback once the clock passes 15 minutes since the last click, its timers answered
  until then without extending the session; a page clicked every 14 minutes stays.
- A wall device's screen stays live across the idle timeout and the 12 h lifetime: its
  refreshes keep being answered 200 with new data, it never goes to the login or 已停用.
"""
from __future__ import annotations

import re
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from werkzeug.serving import make_server

from tests.live import PageWatch, seeded_app
from tests.logins import enrol_context, make_account

REFRESH = 2          # s: the app's refresh_seconds (/status's timer, the wall's tick)
TIMEOUT = 30_000     # ms: Playwright's waits, generous for a loaded 2-core machine
# Within a few refreshes: the tick in flight, the next one, its answer, the login page.
FEW_REFRESHES_MS = (4 * REFRESH + 20) * 1000
DASH = "/_dash-update-component"
# Chromium's line for each callback refused on purpose, and Dash's complaint about the
# refused answer as the page leaves (tests/test_login_browser.py).
EXPECTED_ERRORS = ("status of 401", "status of 429", "body stream already read")


class Clock:
    """The app's clock (`Auth.clock`, which the login's lockout, the sessions and the wall
    gate read), moved forward only by the tests: one for the module, so a lockout one
    test left behind is over for the next."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **delta) -> None:
        with self._lock:
            self.now += timedelta(**delta)


@dataclass
class Site:
    url: str
    clock: Clock
    database_url: str


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    """The province's app on the seeded installation with a movable clock, served to the
    browser by a threaded WSGI server (the wall's live feed is a streamed answer that
    holds its thread), stopped after."""
    # The wall here is driven through its refresh callbacks across the clock's jumps:
    # frames off (they are tested in test_wall_frames_browser.py), so that a refresh
    # comes every tick.
    with seeded_app(seeded_env, redis_url, refresh_seconds=REFRESH,
                    wall_resync_seconds=0) as (app, _prefix):
        auth = app.server.extensions["gridwatch_auth"]
        clock = Clock()
        before, auth.clock = auth.clock, clock
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="clock-site",
                                  daemon=True)
        thread.start()
        try:
            yield Site(f"http://127.0.0.1:{server.server_port}", clock,
                       seeded_env.env["GRIDWATCH_DATABASE_URL"])
        finally:
            server.shutdown()
            thread.join(30)
            server.server_close()
            auth.clock = before


@pytest.fixture
def context(browser, site):
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    yield ctx
    ctx.close()


def new_page(context, site):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    return page, PageWatch(page, site.url)


def assert_quiet(watch) -> None:
    assert watch.foreign == []
    assert [e for e in watch.errors if not any(x in e for x in EXPECTED_ERRORS)] == []


def is_tick(interval_id: str):
    """A callback request of the interval `interval_id` alone (a timer, not a click)."""
    def match(resp) -> bool:
        return DASH in resp.url and resp.request.post_data is not None and \
            f'"changedPropIds":["{interval_id}.n_intervals"]' in \
            resp.request.post_data.replace(" ", "")
    return match


def next_answer(page, predicate, timeout: float = FEW_REFRESHES_MS):
    """The next response matching `predicate` (those before this call are not seen)."""
    with page.expect_response(predicate, timeout=timeout) as info:
        pass
    return info.value


def submit_login(page, username: str, password: str):
    """Type into the login form and send it; the answer to the form's POST."""
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and r.url.split("?")[0].endswith("/login")) as info:
        page.click("#auth-submit")
    page.wait_for_load_state()
    return info.value


def log_in(page, site, path: str) -> str:
    """A new leader of the province logs in through the form on the way to `path`."""
    name, password = make_account(site.database_url, "leader")
    page.goto(site.url + path)
    page.wait_for_url(re.compile(r"/login\?next="))
    assert submit_login(page, name, password).status == 302
    page.wait_for_url(site.url + path)
    return name


# -- lockout ----------------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_login_until_the_clock_passes_fifteen_minutes(
        context, site):
    page, watch = new_page(context, site)
    name, password = make_account(site.database_url, "leader")
    page.goto(site.url + "/login")
    for i in range(4):
        assert submit_login(page, name, f"Wrong-{i}-password").status == 401
        assert "用户名或密码不正确" in page.inner_text("#auth-error")
    # The fifth failure locks: the account, and this browser's address.
    assert submit_login(page, name, "Wrong-4-password").status == 429
    assert "已锁定" in page.inner_text("#auth-error") and "15 分钟" in page.inner_text("#auth-error")
    # The right password is refused all the same, with the lockout's message.
    assert submit_login(page, name, password).status == 429
    assert "已锁定" in page.inner_text("#auth-error")
    assert not [c for c in context.cookies() if c["name"] == "gw_session"]
    site.clock.advance(minutes=14)
    assert submit_login(page, name, password).status == 429
    assert "已锁定" in page.inner_text("#auth-error") and "1 分钟" in page.inner_text("#auth-error")
    site.clock.advance(minutes=1, seconds=30)        # past the 15 minutes
    assert submit_login(page, name, password).status == 302
    page.wait_for_url(re.compile(r"/kpi$"))           # where a leader lands
    page.wait_for_selector("#ranking-grid .ag-row")
    assert name in page.inner_text("#user-name")
    assert_quiet(watch)


# -- the idle timeout ------------------------------------------------------------------
def test_a_page_left_refreshing_itself_goes_to_the_login_past_the_idle_timeout(context, site):
    page, watch = new_page(context, site)
    answers = []
    page.on("response", lambda r: is_tick("status-tick")(r) and answers.append(r.status))
    log_in(page, site, "/status")
    page.wait_for_selector("#status-kpis .gw-kpi")
    assert next_answer(page, is_tick("status-tick")).status == 200
    # 14 minutes without a click: still logged in, its timers answered (not extending it).
    site.clock.advance(minutes=14)
    for _ in range(2):     # the first may have been sent before the move
        assert next_answer(page, is_tick("status-tick")).status == 200
    assert page.url == site.url + "/status"
    # 15 minutes and a second since the login (the last click): the next tick is refused
    # and the page goes to the login, which says the session ended.
    site.clock.advance(minutes=1, seconds=1)
    moved = time.monotonic()
    page.wait_for_url(re.compile(r"/login\?m=ended&next=%2Fstatus$"), timeout=FEW_REFRESHES_MS)
    took = time.monotonic() - moved
    assert took < FEW_REFRESHES_MS / 1000, took
    assert 401 in answers and set(answers[answers.index(401):]) == {401}   # from then on
    assert "会话已结束" in page.inner_text("#auth-info")
    # Ended on the server: the cookie the browser still has opens nothing.
    page.goto(site.url + "/status")
    page.wait_for_url(re.compile(r"/login\?next=%2Fstatus$"))
    assert_quiet(watch)


def test_a_page_clicked_every_fourteen_minutes_stays_logged_in(context, site):
    page, watch = new_page(context, site)
    name = log_in(page, site, "/kpi?period=this_week")
    page.wait_for_selector("#ranking-grid .ag-row")
    page.wait_for_load_state("networkidle")
    for period in ("today", "this_week"):
        site.clock.advance(minutes=14)
        # A choice: its callback is the person's activity, answered, and it restarts the
        # idle time (twice 14 minutes is past 15 since the login).
        choose_period(page, period)
        page.wait_for_selector("#ranking-grid .ag-row")
        assert name in page.inner_text("#user-name")
        # Every callback the redraw set off answered too, before the clock moves again.
        page.wait_for_load_state("networkidle")
    # The contrast on the same page: 16 minutes without a click end it. The next click is
    # refused, unless a callback the last redraw set off late (the grid's, once drawn) is
    # refused first and the page leaves before the click lands: either way, to the login.
    site.clock.advance(minutes=16)
    sent, after = [], []      # the callbacks sent after the move, and their answers
    page.on("request", lambda r: DASH in r.url and sent.append(r))
    page.on("response", lambda r: r.request in sent and after.append(r.status))
    # Back to /kpi after the login, with whichever period the page showed when the 401
    # came (the click may have moved the address bar first). A click that lands while the
    # page is still busy may be lost, as in choose_period: the person clicks again.
    ended = re.compile(r"/login\?m=ended&next=%2Fkpi(%3F[^&]*)?$")
    for attempt, period in enumerate(("this_month", "last_month", "today")):
        with suppress(PlaywrightError):     # the page left while the click was sent
            page.evaluate("(p) => document.querySelector("
                          "`#period-choice input[value=\"${p}\"]`)?.click()", period)
        try:
            page.wait_for_url(ended, timeout=FEW_REFRESHES_MS if attempt == 2 else 10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    assert after and set(after) == {401}, after
    assert_quiet(watch)


def choose_period(page, period: str) -> None:
    """Click a period until the page shows it (a click that lands while the last redraw's
    own callbacks are still being answered may be lost: the person clicks again); every
    answer to the choice's callback is 200, the person's session still standing."""
    for _ in range(3):
        with page.expect_response(lambda r: DASH in r.url and r.request.post_data is not None
                                  and '"period-choice.value"' in r.request.post_data) as info:
            page.click(f'#period-choice input[value="{period}"]')
        assert info.value.status == 200
        with suppress(PlaywrightTimeout):
            page.wait_for_url(re.compile(rf"/kpi\?period={period}$"), timeout=10_000)
            return
    raise AssertionError(f"/kpi never showed period={period}: {page.url}")


# -- a wall left open ------------------------------------------------------------------
def test_a_wall_left_open_across_the_idle_timeout_and_the_lifetime_stays_live(context, site):
    enrol_context(context, site.url, site.database_url, "320000", name="测试大屏 时钟")
    page, watch = new_page(context, site)
    navigations = []
    page.on("framenavigated", lambda f: f == page.main_frame and navigations.append(f.url))
    page.goto(site.url + "/wall")
    page.wait_for_selector("#wall-root")
    page.wait_for_function("() => document.getElementById('wall-feed').dataset.status === 'live'")
    assert "江苏省" in page.inner_text("#wall-heading")

    for jump in ({"minutes": 16}, {"hours": 13}):       # the idle timeout, the lifetime
        last = data_time(next_answer(page, is_tick("wall-tick")))
        shown = page.inner_text("#wall-asof-kpis")
        site.clock.advance(**jump)
        # The refreshes after the jump (the first may have been sent before it) are
        # answered with the wall's data, until one brings data newer than before it...
        next_answer(page, is_tick("wall-tick"))
        deadline = time.monotonic() + FEW_REFRESHES_MS / 1000
        while True:
            answer = next_answer(page, is_tick("wall-tick"))
            assert answer.status == 200, jump
            if data_time(answer) > last:
                break
            assert time.monotonic() < deadline, f"no newer data after {jump}"
        # ... which the screen shows.
        page.wait_for_function(
            "(before) => document.getElementById('wall-asof-kpis').textContent !== before",
            arg=shown, timeout=FEW_REFRESHES_MS)
        assert page.query_selector("#wall-disabled") is None
        assert "已停用" not in page.inner_text("body")
        assert page.get_attribute("#wall-feed", "data-status") == "live"
        assert "gw-is-stale" not in (page.get_attribute("#wall-root", "class") or "")
    assert navigations == [site.url + "/wall"]           # never reloaded, never to /login
    # Opened again now (a screen's nightly reload): still the wall, no login.
    page.reload()
    page.wait_for_selector("#wall-root")
    assert page.url == site.url + "/wall"
    assert next_answer(page, is_tick("wall-tick")).status == 200
    assert_quiet(watch)


def data_time(answer) -> datetime:
    """The time of the KPIs' data in a wall refresh's answer (wall-kpi-data's `as_of`)."""
    assert answer.status == 200, answer.status
    as_of = answer.json()["response"]["wall-kpi-data"]["data"]["as_of"]
    return datetime.fromisoformat(as_of)
