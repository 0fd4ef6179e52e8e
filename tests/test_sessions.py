"""The session rules (dashboard/domain/sessions.py) and the second factor
(dashboard/domain/second_factor.py) as plain functions: no Flask, no Redis."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dashboard.domain import second_factor
from dashboard.domain.accounts import Account, Role
from dashboard.domain.sessions import (
    Session,
    SessionRules,
    Stage,
    end_reason,
    is_activity,
    landing,
    next_stage,
    password_stamp,
    remaining,
    roots_in,
    safe_next,
    still_valid,
)

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)


def account(role=Role.LEADER, regions=("320100",), must_change=False, totp=False,
            changed=NOW, disabled=False) -> Account:
    return Account(id=7, username="li", display_name="李", role=role, regions=regions,
                   disabled=disabled, must_change_password=must_change,
                   password_changed_at=changed, created_at=NOW, updated_at=NOW, has_totp=totp)


def session(created=0.0, seen=0.0, **kw) -> Session:
    return Session(account_id=7, username="li", created=created, seen=seen, stage=Stage.OK,
                   password_stamp=password_stamp(account()), **kw)


@pytest.mark.parametrize("changed, activity", [
    (["status-tick.n_intervals"], False),            # a dcc.Interval's tick
    (["wall-tick.n_intervals", "x.n_intervals"], False),
    ([], False),                                     # a first call after the page drew it
    (["url.pathname"], True),                        # a navigation
    (["period-choice.value"], True),                 # a choice
    (["export-csv.n_clicks"], True),                 # a click
    (["status-tick.n_intervals", "url.search"], True),
    (['{"code":"320100","type":"crumb"}.n_clicks'], True),
])
def test_only_the_persons_doing_is_activity(changed, activity):
    assert is_activity(changed) is activity


def test_idle_and_absolute_ends():
    rules = SessionRules(idle=timedelta(minutes=15), absolute=timedelta(hours=12))
    s = session(created=0, seen=0)
    assert end_reason(s, 14 * 60, rules) is None
    assert end_reason(s, 15 * 60, rules) == "idle"
    busy = session(created=0, seen=12 * 3600 - 60)
    assert end_reason(busy, 12 * 3600 - 1, rules) is None
    assert end_reason(busy, 12 * 3600, rules) == "absolute"
    assert remaining(busy, 12 * 3600 - 60, rules) == 60       # the lifetime, not 15 min
    assert remaining(s, 60, rules) == 14 * 60


def test_the_steps_of_a_login():
    assert next_stage(account(), NOW, False) == Stage.OK
    assert next_stage(account(must_change=True), NOW, False) == Stage.PASSWORD
    assert next_stage(account(changed=NOW - timedelta(days=91)), NOW, False) == Stage.PASSWORD
    assert next_stage(account(totp=True, must_change=True), NOW, False) == Stage.TOTP
    assert next_stage(account(totp=True, must_change=True), NOW, True) == Stage.PASSWORD
    assert next_stage(account(Role.ADMIN, ()), NOW, False) == Stage.ENROL
    assert next_stage(account(Role.AUDITOR, (), totp=True), NOW, True) == Stage.OK
    assert next_stage(account(Role.STAFF), NOW, False) == Stage.OK     # optional for staff


def test_a_session_stands_only_while_its_account_does():
    s = session()
    assert still_valid(s, account())
    assert not still_valid(s, None)
    assert not still_valid(s, account(disabled=True))
    assert not still_valid(s, account(changed=NOW + timedelta(seconds=1)))   # reset since


@pytest.mark.parametrize("path, ok", [
    ("/kpi?period=today", True), ("/region/320100", True), ("//evil.example/x", False),
    ("https://evil.example", False), ("/\\evil.example", False), ("kpi", False),
    ("/login?next=/kpi", False), ("/logout", False), ("/kpi\r\nX: y", False), (None, False),
    ("/" + "a" * 3000, False),
])
def test_only_paths_of_this_site_are_returned_to(path, ok):
    assert safe_next(path) == (path if ok else None)


def test_landing_and_roots():
    assert landing(account()) == "/kpi"
    assert landing(account(Role.STAFF, ("320500", "320100"))) == "/region/320500"
    assert landing(account(Role.ADMIN, ())) == "/admin"
    assert landing(account(Role.AUDITOR, ())) == "/audit"
    assert landing(account(disabled=True)) == "/account"
    both = account(regions=("320100", "320500", "9900"))
    known = {"320100", "9900"}.__contains__          # 320500 not in this installation's tree
    assert roots_in(both, known) == ("320100",)         # and 9900 is no region code
    assert roots_in(account(disabled=True), lambda code: True) == ()


def test_totp_codes_match_their_step_and_its_neighbours_only():
    secret = second_factor.new_secret()
    step = int(NOW.timestamp() // 30)
    assert second_factor.matching_step(secret, second_factor.code_at(secret, NOW), NOW) == step
    earlier = second_factor.code_at(secret, NOW - timedelta(seconds=30))
    assert second_factor.matching_step(secret, earlier, NOW) == step - 1
    stale = second_factor.code_at(secret, NOW - timedelta(seconds=90))
    assert second_factor.matching_step(secret, stale, NOW) is None
    for bad in ("", "12345", "1234567", "abcdef", "１２３４５６", None):
        assert second_factor.matching_step(secret, bad, NOW) is None
    code = second_factor.code_at(secret, NOW)
    assert second_factor.matching_step(secret, code[:3] + " " + code[3:], NOW) == step
    uri = second_factor.provisioning_uri(secret, "admin")
    assert uri.startswith("otpauth://totp/gridwatch:admin?") and f"secret={secret}" in uri
