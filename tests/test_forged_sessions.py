"""Forged requests against the province's server (root 江苏 320000) by accounts of one city
(苏州 320500): the scope comes from the account, never from the request.

- Every server-side callback is forged (tests/forgery.py) under a 苏州 leader's and a 苏州
  staff member's session: no response may carry a region code or a case of another city,
  none may answer 5xx.
- Sessions that ended are replayed: after logout, after the account was disabled, after
  its password was reset; forged and mangled session ids; a session stopped at an
  unfinished step (a forced password change) asking for data. None gets any data.
- An account bound to no region sees nothing (default deny).
"""
from __future__ import annotations

import json
import logging
import secrets

import pytest

from dashboard.app.auth import COOKIE
from dashboard.domain.audit import Actor
from data_sources.account_store import AccountStore
from tests.forgery import (
    ROOT,
    LeakCheck,
    dependencies,
    forge_every_callback,
    seeded_app,
)
from tests.logins import SAME_SITE, login, make_account, route_body

PROVINCE = "320000"
WALL = "wall-"


@pytest.fixture(scope="module")
def province(seeded_env, redis_url):
    """The province's server on the seeded Jiangsu database, with keys of its own."""
    with seeded_app(seeded_env, redis_url, PROVINCE) as (app, engine, tree):
        yield app, engine, tree, seeded_env.env["GRIDWATCH_DATABASE_URL"]


def _logged_in(app, database_url: str, role: str, regions=(ROOT,)):
    client = app.server.test_client()
    name, password = make_account(database_url, role, regions)
    assert login(client, name, password).status_code == 302
    return client, name


def _post(client, body) -> tuple[int, str]:
    resp = client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json", headers=SAME_SITE)
    return resp.status_code, resp.get_data(as_text=True)


def test_a_city_account_on_the_province_server_sees_only_its_city(province, caplog):
    app, engine, tree, db_url = province
    check = LeakCheck(engine, tree, ROOT)
    sessions = [_logged_in(app, db_url, "leader")[0], _logged_in(app, db_url, "staff")[0]]
    # The wall is a device's page (its own suite); every other callback is an account's.
    deps = [d for d in dependencies(app)
            if not all(i["id"].startswith(WALL) for i in d["inputs"])]
    assert len(deps) >= 10, [d["output"] for d in deps]

    # The check sees real data: the 苏州 leader's /kpi and staff's /region show 苏州's rows.
    status, text = _post(sessions[0], route_body("/kpi", "?period=this_week"))
    leaks, seen = check.leaks(text)
    assert status == 200 and leaks == [] and seen > 5, (status, leaks, seen, text[:300])
    status, text = _post(sessions[1], route_body(f"/region/{ROOT}"))
    leaks, seen = check.leaks(text)
    assert status == 200 and leaks == [] and seen > 5, (status, leaks, seen)
    # The province's own page, asked by URL: not theirs, so an unknown region.
    status, text = _post(sessions[1], route_body(f"/region/{PROVINCE}"))
    assert status == 200 and check.leaks(text, echo=PROVINCE)[0] == []

    caplog.set_level(logging.INFO)
    sent, statuses, leaked = forge_every_callback(deps, sessions, check, {}, "/kpi")
    print(f"forged bodies under 苏州 accounts: {sent} to {len(deps)} callbacks, answers {statuses}")
    assert sent >= 1000
    assert leaked == [], leaked[:10]
    assert not any(s >= 500 for s in statuses), statuses
    assert [r.getMessage()[:200] for r in caplog.records if r.exc_info] == []


def _real_requests() -> list[dict]:
    """What a 苏州 leader's browser posts while working: pages and a period change."""
    return [route_body("/kpi", "?period=this_week"), route_body("/kpi", "?period=this_month"),
            route_body(f"/region/{ROOT}"), route_body("/region/320505"),
            route_body("/kpi", f"?region={ROOT}&period=last_7_days")]


def _replays_get_nothing(client, check, cookie: str) -> list[str]:
    """Replay the real requests and page loads with `cookie`: (what answered with data)."""
    client.set_cookie(COOKIE, cookie)
    wrong = []
    for body in _real_requests():
        status, text = _post(client, body)
        _, seen = check.leaks(text)
        if status != 401 or seen:
            wrong.append(f"{status} (seen {seen}) for {body['inputs'][1]['value']!r}: {text[:120]}")
    for path in ("/kpi", f"/region/{ROOT}", "/case/1"):
        resp = client.get(path)
        if resp.status_code != 302 or "/login" not in resp.headers.get("Location", ""):
            wrong.append(f"GET {path}: {resp.status_code}")
    return wrong


def _cookie(client) -> str:
    got = client.get_cookie(COOKIE)
    assert got is not None and got.value
    return got.value


def test_ended_sessions_get_nothing_when_replayed(province):
    app, engine, tree, db_url = province
    check = LeakCheck(engine, tree, ROOT)
    store = AccountStore(engine)
    admin = Actor.cli("tests")

    # Logged out: the cookie the browser had is worth nothing.
    client, _name = _logged_in(app, db_url, "leader")
    status, text = _post(client, _real_requests()[0])
    assert status == 200 and check.leaks(text)[1] > 5      # it worked while logged in
    old = _cookie(client)
    assert client.post("/logout", headers=SAME_SITE).status_code in (302, 303)
    replays = {"after logout": _replays_get_nothing(app.server.test_client(), check, old)}

    # Disabled, or its password reset, while a session stands: that session ends.
    for change in ("disabled", "reset"):
        client, name = _logged_in(app, db_url, "leader")
        assert _post(client, _real_requests()[0])[0] == 200
        if change == "disabled":
            store.set_disabled(name, True, by=admin)
        else:
            store.reset_password(name, by=admin)
        replays[change] = _replays_get_nothing(app.server.test_client(), check, _cookie(client))

    # Another account's cookie after it logged out, planted in a fresh browser.
    other, _ = _logged_in(app, db_url, "staff")
    planted = _cookie(other)
    other.post("/logout", headers=SAME_SITE)
    replays["another's after logout"] = _replays_get_nothing(app.server.test_client(), check,
                                                             planted)

    # Forged ids: random, the right length but wrong, huge, odd characters, empty.
    for forged in (secrets.token_urlsafe(32), planted[:-2] + "xx", "0" * len(planted),
                   "A" * 4000, "../" * 20, "%00", " ", "会话", planted + planted):
        replays[f"forged {forged[:12]!r}"] = _replays_get_nothing(
            app.server.test_client(), check, forged)
    assert {k: v for k, v in replays.items() if v} == {}


def test_a_session_at_an_unfinished_step_gets_no_data(province):
    """A first login that must change its password first: the session exists, but its
    callbacks answer 401 and its pages lead to the change page."""
    app, engine, tree, db_url = province
    check = LeakCheck(engine, tree, ROOT)
    name, password = make_account(db_url, "leader", (ROOT,), must_change=True)
    client = app.server.test_client()
    resp = login(client, name, password)
    assert resp.status_code == 302 and "/password" in resp.headers["Location"]
    for body in _real_requests():
        status, text = _post(client, body)
        assert status == 401 and check.leaks(text)[1] == 0, (status, text[:200])
    resp = client.get("/kpi")
    assert resp.status_code == 302 and "/password" in resp.headers["Location"]


def test_an_account_bound_to_no_region_sees_nothing(province):
    """Default deny: no region, no figures. What such an account is told may repeat the
    code it asked for ("未找到区划 …") and link back to the server's root, nothing else."""
    app, engine, tree, db_url = province
    client, _ = _logged_in(app, db_url, "leader", regions=())
    bodies = [*_real_requests(), route_body(f"/region/{PROVINCE}")]
    seen = []
    for body in bodies:
        status, text = _post(client, body)
        _, count = LeakCheck(engine, tree, PROVINCE).leaks(text, echo=json.dumps(body) + PROVINCE)
        seen.append((body["inputs"][0]["value"], status, count))
    assert all(status == 200 and count == 0 for _, status, count in seen), seen
