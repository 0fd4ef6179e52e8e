"""/admin on the real app (Flask's test client, the seeded database, real Redis): an
admin adds, disables, enables, resets and re-binds accounts, each audited in the trail
with the admin as actor and the request's address; an auditor's account is out of an
admin's reach; a form without the session's CSRF token, or from another site, changes
nothing; every other role gets 403 and no account's name."""
from __future__ import annotations

import re

import pytest

from data_sources.account_store import AccountStore
from data_sources.audit_store import AuditStore
from tests.logins import SAME_SITE, login, make_account, make_totp_account
from tests.work_site import client_as, csrf_of, seeded_app

ADDR = {"REMOTE_ADDR": "10.9.8.7"}


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    with seeded_app(seeded_env, redis_url) as s:
        yield s


@pytest.fixture
def admin(site):
    client, name = client_as(site, "admin")
    return client, name


def token(client, path="/admin") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return csrf_of(page.get_data(as_text=True))


def post(client, path, data, headers=SAME_SITE):
    return client.post(path, data=data, headers=headers, environ_base=ADDR)


def rows_for(engine, target: str) -> list:
    return AuditStore(engine).page(limit=50, target=target)


def one_time_password(resp) -> str:
    return re.search(r'id="one-time-password">([^<]+)<', resp.get_data(as_text=True)).group(1)


def test_admin_adds_a_staff_account_shown_once_and_audited(site, admin):
    app, engine, _url = site
    client, admin_name = admin
    resp = post(client, "/admin/accounts", {
        "csrf": token(client), "username": "Zhang.San", "name": "张三", "role": "staff",
        "region": ["320100", "320500"], "more_regions": "320102001"})
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    password = one_time_password(resp)
    assert len(password) == 16 and "工作人员" in resp.get_data(as_text=True)
    created = AccountStore(engine).get("zhang.san")
    assert created.role == "staff" and created.must_change_password
    assert created.regions == ("320100", "320102001", "320500")
    row = rows_for(engine, "zhang.san")[0]
    assert (row.action, row.actor, row.address, row.result) == (
        "account_created", admin_name, "10.9.8.7", "ok")
    assert row.detail_data["regions"] == ["320100", "320102001", "320500"]
    assert password not in row.detail
    # Shown once: the list and the account's page never show it again.
    assert password not in client.get("/admin").get_data(as_text=True)
    assert password not in client.get("/admin/accounts/zhang.san").get_data(as_text=True)
    # Its owner must change it at the first login.
    owner = app.server.test_client()
    assert login(owner, "zhang.san", password).headers["Location"] == "/password"


def test_the_list_names_roles_regions_and_password_state(site, admin):
    _app, _engine, url = site
    client, _ = admin
    name, _ = make_account(url, "leader", ("320100",), must_change=True)
    page = client.get("/admin").get_data(as_text=True)
    row = re.search(rf'<tr data-username="{re.escape(name)}".*?</tr>', page).group(0)
    assert "领导" in row and "南京市 320100" in row and "0 天" in row and "须修改" in row
    assert "未绑定" in row and "启用" in row
    english = client.get("/admin?lang=en").get_data(as_text=True)
    assert "Accounts" in english and "New account" in english and "领导" not in english
    assert 'id="admin-walls"' in page                 # the wall devices' place


def test_admin_disables_enables_resets_and_rebinds_each_audited(site, admin):
    app, engine, url = site
    client, admin_name = admin
    name, password = make_account(url, "leader", ("320100",))
    victim = app.server.test_client()
    login(victim, name, password)
    assert victim.get("/kpi").status_code == 200
    path = f"/admin/accounts/{name}"

    done = post(client, f"{path}/disable", {"csrf": token(client, path)})
    assert done.status_code == 302 and AccountStore(engine).get(name).disabled
    assert victim.get("/kpi").status_code == 302          # its session ended at once
    assert "已停用账号" in client.get(done.headers["Location"]).get_data(as_text=True)
    post(client, f"{path}/enable", {"csrf": token(client, path)})
    assert not AccountStore(engine).get(name).disabled

    rebind = post(client, f"{path}/regions", {"csrf": token(client, path),
                                              "region": ["320500"], "more_regions": "320205"})
    assert rebind.status_code == 302
    assert AccountStore(engine).get(name).regions == ("320205", "320500")

    reset = post(client, f"{path}/reset", {"csrf": token(client, path)})
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    new_password = one_time_password(reset)
    assert new_password != password and AccountStore(engine).get(name).must_change_password
    assert login(app.server.test_client(), name, new_password).headers["Location"] == "/password"

    trail = [(r.action, r.actor, r.actor_id is not None, r.address)
             for r in rows_for(engine, name) if r.actor == admin_name]
    assert [a for a, *_ in trail] == ["password_reset", "regions_changed", "account_enabled",
                                      "account_disabled"]
    assert all(actor == admin_name and has_id and addr == "10.9.8.7"
               for _a, actor, has_id, addr in trail)
    regions = next(r for r in rows_for(engine, name) if r.action == "regions_changed")
    assert regions.detail_data == {"before": ["320100"], "after": ["320205", "320500"]}


def test_regions_are_checked_on_the_server(site, admin):
    _app, engine, url = site
    client, _ = admin
    for regions, more, message in ((["330100"], "", "不在本系统区划树中的区划：330100"),
                                   ([], "32010x", "区划代码格式不正确：32010x"),
                                   ([], "", "至少需要一个区域")):
        resp = post(client, "/admin/accounts", {"csrf": token(client), "username": "li.si",
                                                "role": "leader", "region": regions,
                                                "more_regions": more})
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
        assert AccountStore(engine).get("li.si") is None
    name, _ = make_account(url, "staff", ("320100",))
    path = f"/admin/accounts/{name}"
    resp = post(client, f"{path}/regions", {"csrf": token(client, path), "region": ["990100"]})
    assert resp.status_code == 400
    assert AccountStore(engine).get(name).regions == ("320100",)


def test_an_admin_can_neither_create_nor_manage_an_auditor(site, admin):
    app, engine, url = site
    client, admin_name = admin
    page = client.get("/admin").get_data(as_text=True)
    assert 'value="auditor"' not in page                  # not offered
    resp = post(client, "/admin/accounts", {"csrf": token(client), "username": "shen.ji",
                                            "role": "auditor"})
    assert resp.status_code == 403 and AccountStore(engine).get("shen.ji") is None
    denied = rows_for(engine, "shen.ji")[0]
    assert (denied.action, denied.result, denied.actor) == ("account_created", "denied", admin_name)

    auditor, password, _secret = make_totp_account(
        url, app.server.config["GRIDWATCH_SETTINGS"].data_dir, "auditor")
    listed = client.get("/admin").get_data(as_text=True)
    row = re.search(rf'<tr data-username="{auditor}".*?</tr>', listed).group(0)
    assert "仅限命令行" in row and "manage-" not in row
    detail = client.get(f"/admin/accounts/{auditor}").get_data(as_text=True)
    assert "reset-submit" not in detail and "disable-submit" not in detail
    before = AccountStore(engine).get(auditor)
    for change in ("disable", "reset", "regions"):
        resp = post(client, f"/admin/accounts/{auditor}/{change}",
                    {"csrf": token(client), "region": ["320100"]})
        assert resp.status_code == 403
        assert "one-time-password" not in resp.get_data(as_text=True)
    assert AccountStore(engine).get(auditor) == before
    assert [r.result for r in rows_for(engine, auditor) if r.actor == admin_name] == ["denied"] * 3


def test_a_form_without_the_token_or_from_another_site_changes_nothing(site, admin):
    _app, engine, url = site
    client, _ = admin
    name, _ = make_account(url, "staff", ("320100",))
    before = AccountStore(engine).get(name)
    good = token(client)
    attempts = [
        ({}, SAME_SITE),                                        # no token
        ({"csrf": "x" * 43}, SAME_SITE),                        # a wrong one
        ({"csrf": good}, {"Origin": "http://evil.example"}),    # right token, other site
        ({"csrf": good}, {}),                                   # neither Origin nor Referer
    ]
    for extra, headers in attempts:
        for path, data in ((f"/admin/accounts/{name}/disable", {}),
                           (f"/admin/accounts/{name}/reset", {}),
                           ("/admin/accounts", {"username": "csrf.victim", "role": "admin"})):
            resp = post(client, path, {**data, **extra}, headers=headers)
            assert resp.status_code == 403, (path, extra, headers)
            assert "one-time-password" not in resp.get_data(as_text=True)
    assert AccountStore(engine).get(name) == before
    assert AccountStore(engine).get("csrf.victim") is None
    assert rows_for(engine, name)[0].action == "account_created"     # nothing after it


@pytest.mark.parametrize("role", ["leader", "staff", "auditor"])
def test_every_other_role_gets_403_and_no_data(site, role):
    _app, _engine, url = site
    someone, _ = make_account(url, "staff", ("320100",))
    client, _ = client_as(site, role)
    for path in ("/admin", f"/admin/accounts/{someone}"):
        resp = client.get(path)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 403 and "无权访问" in text
        assert someone not in text and "account-table" not in text
    resp = client.post(f"/admin/accounts/{someone}/disable", data={}, headers=SAME_SITE)
    assert resp.status_code == 403
    assert 'href="/admin"' not in client.get("/account").get_data(as_text=True)


def test_without_a_session_admin_goes_to_the_login(site):
    app, _engine, _url = site
    client = app.server.test_client()
    resp = client.get("/admin")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=%2Fadmin")


def test_the_admins_menus_lead_to_admin(site, admin):
    client, _ = admin
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/admin"' in account and 'href="/audit"' not in account
    page = client.get("/admin").get_data(as_text=True)
    assert 'id="to-admin-page"' in page and "退出登录" in page and "to-audit-page" not in page
