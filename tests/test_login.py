"""Logging in to the real app (Flask's test client) on the seeded database and real Redis:
the form, the lockout and its audit rows, sessions kept in Redis and their idle timeout
and lifetime (an injected clock, no sleeping; the pages' timers do not count as
activity), the forced password change, the second factor, logout and a disabled
account, the origin check, and the account's regions as the only scope."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from dash._utils import split_callback_id

from dashboard import create_app
from dashboard.app.settings import Settings
from dashboard.domain import second_factor
from dashboard.domain.audit import Actor
from data_sources.account_store import AccountStore
from data_sources.audit_store import AuditStore
from data_sources.database import make_engine
from tests.live import stop_and_forget
from tests.logins import SAME_SITE, enrol_client, login, make_account, route, text_of
from tests.work_site import seeded_app


class Clock:
    """The app's clock, moved by the test."""

    def __init__(self):
        self.now = datetime.now(timezone.utc)
        self._then = None

    def __call__(self) -> datetime:
        now = self.now
        if self._then is not None:
            self.now, self._then = self.now + self._then, None
        return now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def advance_after_next_reading(self, **delta) -> None:
        """Move on once the next reading is taken: the clock passing while a request
        is being answered."""
        self._then = timedelta(**delta)


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    """The province's app on the seeded database, with Redis keys of its own."""
    with seeded_app(seeded_env, redis_url) as (app, engine, _url):
        yield app, engine


@pytest.fixture
def clock(site):
    app, _ = site
    auth = app.server.extensions["gridwatch_auth"]
    before, auth.clock = auth.clock, Clock()
    yield auth.clock
    auth.clock = before


@pytest.fixture
def url(site):
    return site[1].url.render_as_string(hide_password=False)


def audit_rows(engine, target: str) -> list:
    return [r for r in AuditStore(engine).page(limit=200, target=target)]


def interval_body(app) -> dict:
    """/status's refresh as its dcc.Interval posts it: the page refreshing itself."""
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if d["inputs"][0]["id"] == "status-tick")
    return {"output": dep["output"], "outputs": split_callback_id(dep["output"]),
            "inputs": [{"id": "status-tick", "property": "n_intervals", "value": 3}],
            "state": [{"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["status-tick.n_intervals"]}


def post(client, body, headers=SAME_SITE):
    return client.post("/_dash-update-component", json=body, headers=headers)


# -- logging in ----------------------------------------------------------------------------
def test_login_sets_an_opaque_strict_cookie_and_opens_the_pages(site, url):
    app, engine = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    assert client.get("/kpi").status_code == 302            # no session: to the login
    assert client.get("/kpi").headers["Location"].startswith("/login?next=%2Fkpi")
    form = client.get("/login")
    assert form.status_code == 200 and "用户名" in form.get_data(as_text=True)
    assert "/assets/00-fonts.css" in form.get_data(as_text=True)
    resp = login(client, name, password, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/kpi"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert name not in cookie and len(client.get_cookie("gw_session").value) >= 40
    assert client.get("/kpi").status_code == 200
    page = route(client, "/kpi")
    assert page.status_code == 200 and "ranking-grid" in text_of(page)
    ok = audit_rows(engine, name)
    assert [(r.action, r.address, r.actor) for r in ok][:1] == [("login_ok", "10.1.1.1", name)]


def test_a_wrong_password_is_refused_and_audited(site, url):
    app, engine = site
    name, _ = make_account(url, "staff")
    client = app.server.test_client()
    resp = login(client, name, "Wrong-password-1", environ_base={"REMOTE_ADDR": "10.1.1.2"})
    assert resp.status_code == 401 and "用户名或密码不正确" in resp.get_data(as_text=True)
    assert client.get_cookie("gw_session") is None
    row = audit_rows(engine, name)[0]
    assert (row.action, row.result, row.address) == ("login_failed", "denied", "10.1.1.2")
    assert route(client, "/region/320000").status_code == 401


def test_five_failures_lock_the_account_for_fifteen_minutes(site, url, clock):
    app, engine = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    statuses = [login(client, name, f"Wrong-{i}-pass", environ_base={"REMOTE_ADDR": f"10.2.0.{i}"}
                      ).status_code for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    # Locked: the right password from anywhere is refused, without a word about it.
    locked = login(client, name, password, environ_base={"REMOTE_ADDR": "10.2.1.1"})
    assert locked.status_code == 429 and "15 分钟" in locked.get_data(as_text=True)
    actions = [r.action for r in audit_rows(engine, name)]
    assert actions.count("login_failed") == 5 and actions.count("lockout") == 1
    lock = next(r for r in audit_rows(engine, name) if r.action == "lockout")
    assert lock.address == "10.2.0.4" and lock.detail_data["kind"] == "account"
    clock.advance(minutes=14)
    assert login(client, name, password, environ_base={"REMOTE_ADDR": "10.2.1.1"}).status_code == 429
    clock.advance(minutes=2)
    assert login(client, name, password, environ_base={"REMOTE_ADDR": "10.2.1.1"}).status_code == 302


def test_five_failures_from_one_address_lock_that_address(site, url, clock):
    app, engine = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    here, there = {"REMOTE_ADDR": "10.3.0.1"}, {"REMOTE_ADDR": "10.3.0.2"}
    for i in range(5):   # a different (unknown) username each time: only the address adds up
        login(client, f"nobody-{i}-{uuid.uuid4().hex[:6]}", "Wrong-pass-1", environ_base=here)
    assert login(client, name, password, environ_base=here).status_code == 429
    lock = [r for r in AuditStore(engine).page(limit=50, action="lockout") if r.target == "10.3.0.1"]
    assert lock and lock[0].detail_data["kind"] == "address" and lock[0].actor == "-"
    assert login(client, name, password, environ_base=there).status_code == 302
    clock.advance(minutes=16)
    assert login(app.server.test_client(), name, password, environ_base=here).status_code == 302


# -- sessions ---------------------------------------------------------------------------------
def test_the_pages_own_timers_do_not_keep_a_session_alive(site, url, clock):
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    login(client, name, password)
    tick = interval_body(app)
    clock.advance(minutes=10)
    assert post(client, tick).status_code == 200        # still in time: answered
    clock.advance(minutes=4)
    assert post(client, tick).status_code == 200        # 14 minutes: answered, not extended
    clock.advance(minutes=1, seconds=1)
    assert post(client, tick).status_code == 401        # 15 minutes after the last click
    assert route(client, "/kpi").status_code == 401     # ended for good, not only for timers
    assert client.get("/kpi").status_code == 302


def test_a_click_keeps_a_session_alive(site, url, clock):
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    login(client, name, password)
    for _ in range(3):
        clock.advance(minutes=14)
        assert route(client, "/kpi", "?period=today").status_code == 200   # a navigation
    clock.advance(minutes=14)
    assert post(client, interval_body(app)).status_code == 200
    clock.advance(minutes=2)
    assert post(client, interval_body(app)).status_code == 401


def test_a_click_extends_the_session_from_when_it_was_checked_not_answered(site, url, clock):
    # A click whose session was checked just before the idle timeout and answered just
    # after it: the idle time starts again from the check, so the session ends 15 minutes
    # after that, not after the answer (which once kept a session the next request
    # should have found ended: test_session_clock_browser's fourteen-minute page).
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    login(client, name, password)
    clock.advance(minutes=14)
    clock.advance_after_next_reading(minutes=16)
    assert route(client, "/kpi", "?period=today").status_code == 200
    assert route(client, "/kpi", "?period=this_week").status_code == 401


def test_a_session_ends_twelve_hours_after_the_login_however_busy(site, url, clock):
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    login(client, name, password)
    for _ in range(71):          # a click every 10 minutes: 11 h 50 min
        clock.advance(minutes=10)
        assert client.get("/kpi").status_code == 200
    clock.advance(minutes=10)
    assert client.get("/kpi").status_code == 302
    assert route(client, "/kpi").status_code == 401


def test_logout_revokes_the_session_everywhere(site, url):
    app, engine = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    login(client, name, password)
    stolen = client.get_cookie("gw_session").value
    resp = client.post("/logout", headers=SAME_SITE)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    other = app.server.test_client()
    other.set_cookie("gw_session", stolen)
    assert route(other, "/kpi").status_code == 401
    assert audit_rows(engine, name)[0].action == "logout"


def test_a_new_login_gets_a_new_session_id(site, url):
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    client.set_cookie("gw_session", "planted-by-someone-else")
    login(client, name, password)
    first = client.get_cookie("gw_session").value
    assert first != "planted-by-someone-else"
    login(client, name, password)
    assert client.get_cookie("gw_session").value != first
    stale = app.server.test_client()
    stale.set_cookie("gw_session", first)
    assert route(stale, "/kpi").status_code == 401       # the one it replaced is gone


def test_disabling_or_resetting_an_account_ends_its_sessions(site, url):
    app, engine = site
    store = AccountStore(engine)
    for change in (lambda n: store.set_disabled(n, True, by=Actor.cli("tests")),
                   lambda n: store.reset_password(n, by=Actor.cli("tests"))):
        name, password = make_account(url, "leader")
        client = app.server.test_client()
        login(client, name, password)
        assert route(client, "/kpi").status_code == 200
        change(name)
        assert route(client, "/kpi").status_code == 401
        assert client.get("/kpi").status_code == 302


# -- steps of a login ---------------------------------------------------------------------------
def test_a_first_login_must_change_the_password_before_anything_else(site, url):
    app, engine = site
    name, one_time = make_account(url, "staff", must_change=True)
    client = app.server.test_client()
    resp = login(client, name, one_time)
    assert resp.headers["Location"] == "/password"
    assert client.get("/region/320000").headers["Location"] == "/password"
    assert route(client, "/region/320000").status_code == 401
    form = client.get("/password")
    assert form.status_code == 200 and "首次登录" in form.get_data(as_text=True)
    weak = client.post("/password", data={"current": one_time, "new": "short", "repeat": "short"},
                       headers=SAME_SITE)
    assert weak.status_code == 400 and "至少 8 个字符" in weak.get_data(as_text=True)
    new = "Grid-watch-2026"
    done = client.post("/password", data={"current": one_time, "new": new, "repeat": new},
                       headers=SAME_SITE)
    assert done.status_code == 302 and done.headers["Location"] == "/region/320000"
    assert route(client, "/region/320000").status_code == 200
    assert "password_changed" in [r.action for r in audit_rows(engine, name)]


def test_an_expired_password_must_be_changed(site, url, clock):
    app, _ = site
    name, password = make_account(url, "leader")
    clock.advance(days=91)
    client = app.server.test_client()
    assert login(client, name, password).headers["Location"] == "/password"
    assert "90 天" in client.get("/password").get_data(as_text=True)


def test_admins_enrol_a_second_factor_and_need_it_from_then_on(site, url, clock):
    app, engine = site
    name, password = make_account(url, "admin", regions=())
    client = app.server.test_client()
    assert login(client, name, password).headers["Location"] == "/totp/enrol"
    assert client.get("/account").status_code == 302      # nothing before the enrolment
    page = client.get("/totp/enrol").get_data(as_text=True)
    uri = re.search(r'id="totp-uri">([^<]+)<', page).group(1).replace("&amp;", "&")
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    assert "<svg" in page and "otpauth://totp/" in uri
    code = second_factor.code_at(secret, clock.now)
    done = client.post("/totp/enrol", data={"code": code}, headers=SAME_SITE)
    assert done.status_code == 302 and done.headers["Location"] == "/admin"
    landing = client.get("/account").get_data(as_text=True)
    assert "系统管理员" in landing and 'href="/admin"' in landing
    assert route(client, "/kpi").status_code == 200 and "forbidden" in text_of(route(client, "/kpi"))
    assert "totp_enrolled" in [r.action for r in audit_rows(engine, name)]

    client.post("/logout", headers=SAME_SITE)
    assert login(client, name, password).headers["Location"] == "/login/totp"
    assert client.get("/account").headers["Location"] == "/login/totp"
    assert client.post("/login/totp", data={"code": code}, headers=SAME_SITE).status_code == 401  # used
    clock.advance(seconds=30)
    later = second_factor.code_at(secret, clock.now)
    ok = client.post("/login/totp", data={"code": later}, headers=SAME_SITE)
    assert ok.status_code == 302 and ok.headers["Location"] == "/admin"
    assert client.get("/admin").status_code == 200


# -- what each account sees -----------------------------------------------------------------------
def test_a_leader_of_nanjing_sees_suzhou_as_an_unknown_region(site, url):
    app, _ = site
    name, password = make_account(url, "leader", regions=("320100",))
    client = app.server.test_client()
    login(client, name, password)
    own = text_of(route(client, "/kpi"))
    assert "南京市" in own and "320102" in own
    other = text_of(route(client, "/kpi", "?region=320500"))
    assert "error-page" in other and "未找到区划 320500" in other
    assert not re.search(r"3205\d\d(?!\d)", other.replace("320500", ""))
    # The province above it reads the same, and a click on a Suzhou row is refused.
    assert "error-page" in text_of(route(client, "/kpi", "?region=320000"))
    deps = client.get("/_dash-dependencies").get_json()
    rank = next(d for d in deps if d["inputs"][0]["id"] == "ranking-grid")
    body = {"output": rank["output"], "outputs": split_callback_id(rank["output"]),
            "inputs": [{"id": "ranking-grid", "property": "cellClicked", "value": {"rowId": "320500"}}],
            "state": [{"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["ranking-grid.cellClicked"]}
    assert post(client, body).status_code == 400
    # /region of Suzhou likewise, and the status page shows Nanjing.
    assert "error-page" in text_of(route(client, "/region/320500"))


def test_roles_open_only_their_pages(site, url):
    app, _ = site
    staff, pw = make_account(url, "staff", regions=("320500",))
    client = app.server.test_client()
    login(client, staff, pw)
    assert "forbidden" in text_of(route(client, "/kpi"))
    region = text_of(route(client, "/region/320500"))
    assert "case-grid" in region and "to-kpi" not in region
    leader, pw = make_account(url, "leader", regions=("320500",))
    client = app.server.test_client()
    login(client, leader, pw)
    region = text_of(route(client, "/region/320500"))
    assert "children-grid" in region and "case-grid" not in region      # no case lists
    assert "forbidden" in text_of(route(client, "/case/1"))


def test_an_account_bound_to_two_regions_opens_on_the_first_and_switches_between_them(site, url):
    app, _ = site
    name, password = make_account(url, "leader", regions=("320500", "320100"))
    client = app.server.test_client()
    login(client, name, password)
    page = text_of(route(client, "/kpi"))
    assert "南京市" in page and "region-switch" in page       # 320100 comes first
    assert "苏州市" in text_of(route(client, "/kpi", "?region=320500"))
    assert "error-page" in text_of(route(client, "/kpi", "?region=320200"))


# -- requests from elsewhere ---------------------------------------------------------------------
def test_a_forged_origin_is_refused(site, url):
    app, _ = site
    name, password = make_account(url, "leader")
    client = app.server.test_client()
    evil = {"Origin": "http://evil.example"}
    assert client.post("/login", data={"username": name, "password": password},
                       headers=evil).status_code == 403
    assert client.post("/login", data={"username": name, "password": password}).status_code == 403
    login(client, name, password)
    assert route(client, "/kpi", headers=evil).status_code == 403
    assert route(client, "/kpi", headers={"Referer": "http://evil.example/x"}).status_code == 403
    assert route(client, "/kpi", headers={}).status_code == 403      # a cookie, no origin
    assert route(client, "/kpi").status_code == 200
    assert client.post("/logout", headers=evil).status_code == 403
    assert route(client, "/kpi").status_code == 200                   # not logged out


def test_a_callback_without_a_session_gets_no_data(site):
    app, _ = site
    client = app.server.test_client()
    for path in ("/kpi", "/region/320000", "/case/1", "/status", "/nope"):
        resp = route(client, path)
        assert resp.status_code == 401 and resp.get_json() == {"error": "login required"}
    resp = post(client, interval_body(app))
    assert resp.status_code == 401 and "320" not in resp.get_data(as_text=True)
    # The wall needs a wall device or a session too (tests/test_wall_devices.py).
    assert route(client, "/wall").status_code == 401 and route(client, "/").status_code == 401
    assert client.get("/wall").status_code == 302
    enrol_client(client, site[1].url.render_as_string(hide_password=False))
    assert route(client, "/wall").status_code == 200 and route(client, "/").status_code == 200
    assert client.get("/wall").status_code == 200
    assert route(client, "/kpi").status_code == 401        # a device opens the wall only


def test_exports_need_the_permission_and_are_audited(site, url):
    app, engine = site
    deps = app.server.test_client().get("/_dash-dependencies").get_json()
    dep = next(d for d in deps if d["output"] == "export-download.data")
    body = {"output": dep["output"], "outputs": {"id": "export-download", "property": "data"},
            "inputs": [{"id": "export-csv", "property": "n_clicks", "value": 1},
                       {"id": "export-xlsx", "property": "n_clicks", "value": None}],
            "state": [{"id": "url", "property": "search", "value": "?region=320100"}],
            "changedPropIds": ["export-csv.n_clicks"]}
    staff, pw = make_account(url, "staff")
    client = app.server.test_client()
    login(client, staff, pw)
    assert post(client, body).status_code == 403                 # /kpi's export: leaders'
    leader, pw = make_account(url, "leader", regions=("320100",))
    client = app.server.test_client()
    login(client, leader, pw)
    resp = post(client, body)
    assert resp.status_code == 200 and "ranking-320100" in text_of(resp)
    row = next(r for r in AuditStore(engine).page(limit=50, action="export")
               if r.actor == leader)
    assert row.target.startswith("ranking-320100") and row.scope == "320100"
    forged = {**body, "state": [{"id": "url", "property": "search", "value": "?region=320500"}]}
    assert "3205" not in text_of(post(client, forged))           # another city: nothing


def test_without_redis_the_login_says_so_and_nothing_is_shown(tmp_path):
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'gw.db'}",
                              redis_url="redis://127.0.0.1:1/0"))
    client = app.server.test_client()
    resp = login(client, "someone", "Some-password-1")
    assert resp.status_code == 503 and "登录服务暂不可用" in resp.get_data(as_text=True)
    client.set_cookie("gw_session", "an-id-from-before")
    assert client.get("/kpi").headers["Location"].startswith("/login")
    resp = route(client, "/kpi")
    assert resp.status_code == 503 and "320" not in resp.get_data(as_text=True)


@pytest.mark.parametrize("proxies, expected", [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_through_trusted_proxies_only(seeded_env, redis_url,
                                                                proxies, expected):
    """Behind nginx the peer is the proxy: with GRIDWATCH_TRUSTED_PROXIES=1 the address
    it forwards is the one audited and locked out; without, a forged X-Forwarded-For is
    ignored (a client cannot pick the address its failures count against)."""
    env = seeded_env.env
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    app = create_app(Settings(data_dir=seeded_env.data_dir, redis_url=redis_url,
                              database_url=env["GRIDWATCH_DATABASE_URL"], key_prefix=prefix,
                              stream_key=env["GRIDWATCH_STREAM_KEY"], region="320000",
                              trusted_proxies=proxies))
    engine = make_engine(env["GRIDWATCH_DATABASE_URL"])
    try:
        name = f"nobody-{uuid.uuid4().hex[:8]}"
        resp = app.server.test_client().post(
            "/login", data={"username": name, "password": "wrong-Password-1"},
            headers={**SAME_SITE, "X-Forwarded-For": "203.0.113.9"})
        assert resp.status_code == 401                  # the form again, with its message
        rows = AuditStore(engine).page(limit=5, target=name)
        assert [r.address for r in rows] == [expected]
    finally:
        engine.dispose()
        stop_and_forget(app, redis_url, prefix)


def test_trusted_proxies_is_checked_at_start():
    assert Settings.from_env({"GRIDWATCH_TRUSTED_PROXIES": "1"}).trusted_proxies == 1
    for bad in ("-1", "9", "one"):
        with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
            Settings.from_env({"GRIDWATCH_TRUSTED_PROXIES": bad})
