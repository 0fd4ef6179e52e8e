"""Wall devices on /admin, on the real app (Flask's test client, the seeded database,
real Redis): the list with each device's last seen time (China time) and address, never a
token; enrolling one shows its URL once and that URL opens the wall; a revoke (after its
confirmation) turns the device's refreshes into 403 within a refresh; a rotation keeps
the old token working through its overlap; every change audited as the shell's, with the
admin as actor; a form without the CSRF token or from another site, and every role
without `manage_walls`, changes nothing and sees no device."""
from __future__ import annotations

import json
import re
from zoneinfo import ZoneInfo

import pytest

from dashboard.domain import accounts
from dashboard.domain.accounts import Permission, Role
from dashboard.domain.walls import hash_token
from dashboard.views.wall_admin import PAGE_ROWS
from data_sources.wall_device_store import WallDeviceStore
from tests import test_admin_pages
from tests.logins import SAME_SITE, WALL_COOKIE, enrol_client, wall_config, wall_device, wall_token
from tests.test_admin_pages import ADDR, post, rows_for, token
from tests.test_wall_devices import OPERATOR, _wait_past_lookup, refresh
from tests.work_site import client_as

# The app and the admin's client of /admin's own tests (module-scoped: an app per module).
site = test_admin_pages.site
admin = test_admin_pages.admin


def shown_url(resp) -> str:
    found = re.findall(r'id="wall-url">([^<]+)<', resp.get_data(as_text=True))
    assert len(found) == 1, resp.get_data(as_text=True)[:2000]
    return found[0].replace("&amp;", "&")


def device_of(engine, token_value: str):
    return WallDeviceStore(engine).by_token_hash(hash_token(token_value))


def wall_row(page_html: str, device_id: int) -> str:
    return re.search(rf'<tr data-wall="{device_id}".*?</tr>', page_html, re.S).group(0)


def live_kiosk(site, name: str):
    """(a test client showing the wall of a new device of 苏州, its token, the wall's
    config, the device), its wall refreshing."""
    app, engine, url = site
    kiosk = app.server.test_client()
    secret = enrol_client(kiosk, url, "320500", name=name)
    cfg = wall_config(kiosk)
    assert refresh(kiosk, app, "320500", cfg).status_code == 200
    return kiosk, secret, cfg, device_of(engine, secret)


def count(engine) -> int:
    return len(WallDeviceStore(engine).list_devices())


def test_enrolling_shows_the_url_once_and_it_opens_that_wall(site, admin):
    app, engine, _url = site
    client, admin_name = admin
    resp = post(client, "/admin/walls", {
        "csrf": token(client), "name": "  南京市指挥中心   主屏 ", "region": "320100",
        "code": "", "allow": "", "privacy": "1"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    url = shown_url(resp)
    # No GRIDWATCH_PUBLIC_URL: the address the admin's request came to.
    assert url.startswith("http://localhost/wall?token=")
    secret = wall_token(url)
    assert "南京市指挥中心 主屏（南京市 320100）" in resp.get_data(as_text=True)
    device = device_of(engine, secret)
    assert (device.name, device.region_code, device.privacy, device.allow) == (
        "南京市指挥中心 主屏", "320100", True, ())

    # The URL works: exchanged for the device cookie, then the wall of 南京, privacy kept.
    kiosk = app.server.test_client()
    opened = kiosk.get(url.removeprefix("http://localhost"))
    assert opened.status_code == 303 and opened.headers["Set-Cookie"].startswith(
        f"{WALL_COOKIE}={secret};")
    cfg = wall_config(kiosk)
    assert cfg["root"] == "320100" and cfg["privacy"] is True
    assert refresh(kiosk, app, "320100", cfg).status_code == 200

    # Audited as `gridwatch walls add` is, with the admin as actor and the request's address.
    row = rows_for(engine, f"wall:{device.id}")[0]
    assert (row.action, row.actor, row.actor_id is not None, row.address, row.scope) == (
        "wall_added", admin_name, True, "10.9.8.7", "320100")
    assert row.detail_data == {"name": "南京市指挥中心 主屏", "privacy": True, "allow": []}
    # Shown once: never in the list, the device's page or the trail, nor its hash.
    for path in ("/admin", f"/admin/walls/{device.id}", f"/admin/walls/{device.id}/revoke"):
        text = client.get(path).get_data(as_text=True)
        assert secret not in text and device.token_hash not in text, path
        assert "南京市指挥中心 主屏" in text
    assert secret not in row.detail


def test_the_url_is_based_on_the_public_url_when_one_is_set(site, admin):
    app, engine, _url = site
    client, _ = admin
    walls = app.server.extensions["gridwatch_admin_walls"]
    before, walls.public_url = walls.public_url, "https://gw.example.gov.cn/"
    try:
        resp = post(client, "/admin/walls", {"csrf": token(client), "name": "苏州市 副屏",
                                              "region": "", "code": "320505",
                                              "allow": "10.1.0.0/16, 10.2.0.9"})
    finally:
        walls.public_url = before
    url = shown_url(resp)
    assert url.startswith("https://gw.example.gov.cn/wall?token=")
    device = device_of(engine, wall_token(url))
    # A typed code (below the list's counties too) and the networks in canonical form.
    assert device.region_code == "320505" and device.allow == ("10.1.0.0/16", "10.2.0.9/32")


def test_the_list_shows_last_seen_time_and_address_after_the_wall_was_opened(site, admin):
    app, engine, url = site
    client, _ = admin
    path = wall_device(url, "320500", name="苏州市指挥中心 主屏 seen")
    never = device_of(engine, wall_token(wall_device(url, "320200", name="无锡 未连接")))
    kiosk = app.server.test_client()
    kiosk.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert kiosk.get(path).status_code == 303
    device = device_of(engine, wall_token(path))
    assert device.last_seen_address == "10.1.2.3"
    page = client.get("/admin").get_data(as_text=True)
    row = wall_row(page, device.id)
    local = device.last_seen_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")
    assert f"{local}，来自 10.1.2.3" in row
    assert "苏州市 320500" in row and "在用" in row and "任意地址" in row and "关闭" in row
    assert "从未连接" in wall_row(page, never.id)
    assert "时间为 Asia/Shanghai" in page
    english = client.get("/admin?lang=en").get_data(as_text=True)
    assert f"{local} from 10.1.2.3" in wall_row(english, device.id)
    assert "Wall devices" in english and "Enrol a wall device" in english
    assert "在用" not in english and "从未连接" not in english


def test_revoke_asks_first_then_the_wall_gets_403_within_a_refresh(site, admin):
    app, engine, _url = site
    client, admin_name = admin
    kiosk, _secret, cfg, device = live_kiosk(site, "苏州 待停用")
    path = f"/admin/walls/{device.id}/revoke"

    ask = client.get(path)
    assert ask.status_code == 200 and "确定停用大屏设备 苏州 待停用？" in ask.get_data(as_text=True)
    # A post that does not come from the confirmation only asks again.
    again = post(client, path, {"csrf": token(client)})
    assert again.status_code == 200 and 'name="confirm"' in again.get_data(as_text=True)
    assert not WallDeviceStore(engine).get(device.id).revoked

    done = post(client, path, {"csrf": token(client), "confirm": "yes"})
    assert done.status_code == 302
    assert done.headers["Location"] == f"/admin/walls/{device.id}?m=revoked"
    assert WallDeviceStore(engine).get(device.id).revoked
    shown = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已停用大屏设备 苏州 待停用。" in shown and "wall-rotate-submit" not in shown

    _wait_past_lookup(app)            # within one refresh (the worker's copy is half of it)
    gone = refresh(kiosk, app, "320500", cfg)
    assert gone.status_code == 403 and gone.get_json() == {"error": "wall disabled"}
    row = rows_for(engine, f"wall:{device.id}")[0]
    assert (row.action, row.actor, row.address, row.scope, row.detail_data) == (
        "wall_revoked", admin_name, "10.9.8.7", "320500", {"name": "苏州 待停用"})
    twice = post(client, path, {"csrf": token(client), "confirm": "yes"})
    assert twice.status_code == 400 and "该大屏设备已停用" in twice.get_data(as_text=True)
    assert [r.action for r in rows_for(engine, f"wall:{device.id}")] == [
        "wall_revoked", "wall_added"]
    # Revoked devices come after those in use, a page at a time: found by their state.
    listed = client.get("/admin?walls_state=revoked").get_data(as_text=True)
    assert f'data-wall="{device.id}" data-state="revoked"' in listed


def test_rotate_keeps_the_old_token_through_its_overlap(site, admin):
    app, engine, _url = site
    client, admin_name = admin
    old_kiosk, old, cfg, device = live_kiosk(site, "苏州 更换令牌")
    path = f"/admin/walls/{device.id}/rotate"

    bad = post(client, path, {"csrf": token(client), "hours": "abc"})
    assert bad.status_code == 400 and "0 至 720 小时" in bad.get_data(as_text=True)
    assert WallDeviceStore(engine).get(device.id).token_hash == hash_token(old)

    resp = post(client, path, {"csrf": token(client), "hours": "1"})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    new = wall_token(shown_url(resp))
    assert new != old and "旧令牌有效至" in resp.get_data(as_text=True)
    _wait_past_lookup(app)
    assert refresh(old_kiosk, app, "320500", cfg).status_code == 200      # in the overlap
    new_kiosk = app.server.test_client()
    assert new_kiosk.get("/wall?token=" + new).status_code == 303
    assert refresh(new_kiosk, app, "320500", cfg).status_code == 200
    assert "令牌更换中" in wall_row(client.get("/admin").get_data(as_text=True), device.id)

    # Rotated again without an overlap: the first token was replaced before, so it stops
    # at once, and so does the second.
    third = wall_token(shown_url(post(client, path, {"csrf": token(client), "hours": "0"})))
    _wait_past_lookup(app)
    assert refresh(old_kiosk, app, "320500", cfg).status_code == 403
    assert refresh(new_kiosk, app, "320500", cfg).status_code == 403
    assert app.server.test_client().get("/wall?token=" + third).status_code == 303
    rows = [r for r in rows_for(engine, f"wall:{device.id}") if r.action == "wall_rotated"]
    assert [(r.actor, r.address, r.detail_data["overlap_hours"]) for r in rows] == [
        (admin_name, "10.9.8.7", 0.0), (admin_name, "10.9.8.7", 1.0)]
    assert all(s not in r.detail for r in rows for s in (old, new, third))


def test_the_add_form_is_checked_on_the_server(site, admin):
    _app, engine, _url = site
    client, _ = admin
    before = count(engine)
    for data, message in (
            ({"region": "330100"}, "不在本系统区划树中的区划：330100"),
            ({"code": "32010x"}, "区划代码格式不正确：32010x"),
            ({}, "请选择或填写一个区域"),
            ({"code": "320100 320200"}, "请选择或填写一个区域"),
            ({"region": "320100", "allow": "10.1.0.0/16 10.1.2.3/16"},
             "不是网络地址：10.1.2.3/16"),
            ({"region": "320100", "name": "   "}, "大屏设备须有名称")):
        resp = post(client, "/admin/walls", {"csrf": token(client), "name": "检查", **data})
        text = resp.get_data(as_text=True)
        assert resp.status_code == 400 and message in text, (data, text[:600])
        assert 'id="wall-url"' not in text
        # What was typed is offered again.
        assert 'id="wall-name" name="name" type="text" value="{}"'.format(
            data.get("name", "检查")) in text
    assert count(engine) == before


def test_a_post_without_the_token_or_from_another_site_changes_nothing(site, admin):
    _app, engine, url = site
    client, _ = admin
    device = device_of(engine, wall_token(wall_device(url, "320100", name="南京 CSRF")))
    before, n = WallDeviceStore(engine).get(device.id), count(engine)
    good = token(client)
    for extra, headers in (({}, SAME_SITE), ({"csrf": "x" * 43}, SAME_SITE),
                           ({"csrf": good}, {"Origin": "http://evil.example"}),
                           ({"csrf": good}, {})):
        for path, data in (("/admin/walls", {"name": "伪造", "region": "320100"}),
                           (f"/admin/walls/{device.id}/revoke", {"confirm": "yes"}),
                           (f"/admin/walls/{device.id}/rotate", {"hours": "0"})):
            resp = post(client, path, {**data, **extra}, headers=headers)
            assert resp.status_code == 403, (path, extra, headers)
            assert "wall-url" not in resp.get_data(as_text=True)
    assert WallDeviceStore(engine).get(device.id) == before and count(engine) == n
    assert [r.action for r in rows_for(engine, f"wall:{device.id}")] == ["wall_added"]


@pytest.mark.parametrize("role", ["leader", "staff", "auditor"])
def test_a_role_without_manage_walls_gets_403_and_no_device(site, role):
    _app, engine, url = site
    device = device_of(engine, wall_token(wall_device(url, "320100", name=f"南京 {role} 看不到")))
    client, _ = client_as(site, role)
    for path in ("/admin", f"/admin/walls/{device.id}", f"/admin/walls/{device.id}/revoke"):
        resp = client.get(path)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 403 and "无权访问" in text, path
        assert "看不到" not in text and "wall-table" not in text
    n = count(engine)
    for path, data in (("/admin/walls", {"name": "越权", "region": "320100"}),
                       (f"/admin/walls/{device.id}/revoke", {"confirm": "yes"}),
                       (f"/admin/walls/{device.id}/rotate", {"hours": "0"})):
        assert client.post(path, data=data, headers=SAME_SITE).status_code == 403
    assert count(engine) == n and not WallDeviceStore(engine).get(device.id).revoked


def test_an_admin_without_manage_walls_sees_accounts_but_no_device(site, admin, monkeypatch):
    """The section and the forms ask for `manage_walls` itself, not for /admin's
    `manage_accounts`: a role with the one and not the other sees no device."""
    _app, engine, url = site
    client, _ = admin
    device = device_of(engine, wall_token(wall_device(url, "320100", name="南京 无权限")))
    monkeypatch.setitem(accounts.ROLE_PERMISSIONS, Role.ADMIN,
                        accounts.ROLE_PERMISSIONS[Role.ADMIN] - {Permission.MANAGE_WALLS})
    page = client.get("/admin")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "account-table" in text
    assert 'id="admin-walls"' not in text and "南京 无权限" not in text
    assert client.get(f"/admin/walls/{device.id}").status_code == 403
    # The CSRF token comes from the page's account form, which is still drawn.
    resp = post(client, f"/admin/walls/{device.id}/revoke", {"csrf": token(client),
                                                              "confirm": "yes"})
    assert resp.status_code == 403 and not WallDeviceStore(engine).get(device.id).revoked


def test_audit_detail_of_a_web_change_never_holds_a_token(site, admin):
    _app, engine, _url = site
    client, _ = admin
    resp = post(client, "/admin/walls", {"csrf": token(client), "name": "常州 审计",
                                          "region": "320400"})
    secret = wall_token(shown_url(resp))
    device = device_of(engine, secret)
    rows = rows_for(engine, f"wall:{device.id}")
    assert rows and all(secret not in json.dumps(r.detail_data) and device.token_hash
                        not in r.detail for r in rows)
    assert ADDR["REMOTE_ADDR"] in {r.address for r in rows}


def test_the_list_is_drawn_a_page_at_a_time_and_filtered_on_the_server(site, admin):
    """A province has 1,345 walls: /admin draws 50 at a time, with where the page is, and
    a filter by name, region or code and by state. Anything odd in the query string
    is ignored; a page past the last shows the last. (Last in the module: it enrols 60.)"""
    _app, engine, _url = site
    client, _ = admin
    store = WallDeviceStore(engine)
    made = [store.add(f"分页 {i:02d} 号屏", "320583" if i % 3 else "320200", by=OPERATOR)[0]
            for i in range(60)]
    total = count(engine)
    ids = lambda html: [int(i) for i in re.findall(r'<tr data-wall="(\d+)"', html)]  # noqa: E731
    first = client.get("/admin").get_data(as_text=True)
    assert len(ids(first)) == PAGE_ROWS and f"共 {total} 台，第 1/{-(-total // 50)} 页" in first
    assert ids(first) == sorted(ids(first), reverse=True) and "分页 59 号屏" in first
    assert 'href="/admin?walls_page=2#admin-walls" id="wall-page-next"' in first
    second = client.get("/admin?walls_page=2").get_data(as_text=True)
    assert not set(ids(first)) & set(ids(second)) and 'id="wall-page-prev"' in second
    wuxi = client.get("/admin?walls_q=320200").get_data(as_text=True)
    assert len(ids(wuxi)) >= 20 and all(
        "无锡市 320200" in wall_row(wuxi, i) for i in ids(wuxi))
    assert 'value="320200"' in wuxi                       # the filter is shown as typed
    # By the name of the region or one above it: 昆山市's walls are under 苏州市.
    suzhou = client.get("/admin?walls_q=苏州").get_data(as_text=True)
    assert len(ids(suzhou)) >= 40 and all(
        re.search(r" 3205\d+", wall_row(suzhou, i)) for i in ids(suzhou))
    kunshan = {d.id for d in made if d.region_code == "320583"}   # the newest: page 1
    assert len(kunshan) == 40 and kunshan <= set(ids(suzhou))
    named = client.get("/admin?walls_q=分页 07").get_data(as_text=True)
    assert len(ids(named)) == 1 and "分页 07 号屏" in named
    none = client.get("/admin?walls_q=没有这台&walls_state=revoked").get_data(as_text=True)
    assert ids(none) == [] and "没有符合条件的大屏设备" in none
    revoked = client.get("/admin?walls_state=revoked").get_data(as_text=True)
    assert all('data-state="revoked"' in wall_row(revoked, i) for i in ids(revoked))
    last = client.get("/admin?walls_page=999").get_data(as_text=True)
    assert ids(last) and ids(last) == ids(client.get(
        f"/admin?walls_page={-(-total // 50)}").get_data(as_text=True))
    odd = client.get("/admin?walls_page=x&walls_state=<b>").get_data(as_text=True)
    assert ids(odd) == ids(first) and "<b>" not in odd
