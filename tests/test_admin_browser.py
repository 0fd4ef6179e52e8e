"""/admin and /audit in Chromium against the real server (gunicorn, gevent workers): an
admin logs in with a second factor, creates a staff account with a region picked from the
tree, and the staff member logs in with the one-time password shown and must change it
first; both pages draw every text in the served font."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from dashboard.domain import second_factor
from data_sources.database import make_engine
from data_sources.wall_device_store import WallDeviceStore
from tests.logins import make_totp_account
from tests.test_fonts_browser import assert_served_font
from tests.test_wall_devices import OPERATOR


def log_in_with_code(page, live_server, role: str) -> None:
    """Through the login form and the second factor's, as a new account of `role`."""
    name, password, secret = make_totp_account(live_server.env["GRIDWATCH_DATABASE_URL"],
                                               live_server.data_dir, role)
    page.goto(live_server.url + "/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/login/totp$"))
    page.fill("#code", second_factor.code_at(secret, datetime.now(timezone.utc)))
    page.click("#auth-submit")


def test_an_admin_creates_staff_who_must_change_the_one_time_password(browser, live_server,
                                                                      page):
    log_in_with_code(page, live_server, "admin")
    page.wait_for_url(re.compile(r"/admin$"))                     # an admin lands here
    assert "系统管理员" in page.inner_text("#user-name")
    assert page.locator("#to-audit-page").count() == 0
    assert_served_font(page, "/admin")

    page.fill("#new-username", "zhou.browser")
    page.fill("#new-name", "周浏览")
    page.select_option("#new-role", "staff")
    page.click('summary:has(input[value="320100"])')         # unfold 南京市
    page.check('input[name="region"][value="320102"]')      # 玄武区
    page.fill("#more-regions", "320104001")
    page.click("#add-submit")
    one_time = page.inner_text("#one-time-password")
    assert len(one_time) == 16 and "工作人员" in page.inner_text("#password-card")
    page.click("#to-admin")
    row = page.locator('tr[data-username="zhou.browser"]')
    assert "玄武区 320102" in row.inner_text() and "须修改" in row.inner_text()
    assert one_time not in page.content()

    staff = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        s = staff.new_page()
        s.goto(live_server.url + "/login")
        s.fill("#username", "zhou.browser")
        s.fill("#password", one_time)
        s.click("#auth-submit")
        s.wait_for_url(re.compile(r"/password$"))
        assert "首次登录" in s.inner_text("#auth-info")
        s.goto(live_server.url + "/region/320102")          # nothing before the change
        s.wait_for_url(re.compile(r"/password$"))
        s.fill("#current", one_time)
        s.fill("#new", "Xuanwu-2026-grid")
        s.fill("#repeat", "Xuanwu-2026-grid")
        s.click("#auth-submit")
        s.wait_for_url(re.compile(r"/region/320102$"))      # its first region
        s.wait_for_selector("#user-name")
        assert "周浏览" in s.inner_text("#user-name")
    finally:
        staff.close()


def test_the_auditor_lands_on_the_trail_in_the_served_font(live_server, page):
    log_in_with_code(page, live_server, "auditor")
    page.wait_for_url(re.compile(r"/audit$"))
    page.wait_for_selector("#audit-table tr[data-id]")
    assert page.get_attribute("#chain-state", "data-intact") == "true"
    assert page.locator("#to-admin-page").count() == 0
    assert_served_font(page, "/audit")
    page.select_option("#f-action", "login_ok")
    page.click("#filter-submit")
    page.wait_for_url(re.compile(r"action=login_ok"))
    assert set(page.locator("#audit-table td.gw-audit-action").all_inner_texts()) == {"登录成功"}


def test_wall_devices_on_admin_enrol_open_and_list_in_the_served_font(browser, live_server,
                                                                      page):
    """The admin enrols a wall device with the section's form, the URL shown once opens
    the wall in another browser, and the section lists that device with its last seen
    time and address, every text in the served font."""
    log_in_with_code(page, live_server, "admin")
    page.wait_for_url(re.compile(r"/admin$"))
    page.fill("#wall-name", "苏州市指挥中心 浏览器")
    page.select_option("#wall-region", "320500")
    page.fill("#wall-allow", "127.0.0.0/8")
    page.check("#wall-privacy")
    page.click("#wall-add-submit")
    url = page.inner_text("#wall-url")
    assert url.startswith(live_server.url + "/wall?token=")
    assert "苏州市 320500" in page.inner_text("#wall-url-card")

    kiosk = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        k = kiosk.new_page()
        k.goto(url)
        k.wait_for_url(re.compile(r"/wall$"))          # the token left the address bar
        assert [c["name"] for c in kiosk.cookies()] == ["gw_wall"]
    finally:
        kiosk.close()

    page.click("#to-admin")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#wall-table tr[data-wall]')].some("
        "r => r.textContent.includes('苏州市指挥中心 浏览器') && r.textContent.includes("
        "'来自 127.0.0.1'))")
    row = page.locator("#wall-table tr[data-wall]", has_text="苏州市指挥中心 浏览器")
    assert "在用" in row.inner_text() and "127.0.0.0/8" in row.inner_text()
    assert url.split("token=")[1] not in page.content()
    assert_served_font(page, "/admin wall devices")


def test_the_wall_devices_are_found_by_the_filter_and_paged(live_server, page):
    # A province's walls on /admin: the filter and the pager, in the served font.
    engine = make_engine(live_server.env["GRIDWATCH_DATABASE_URL"])
    try:
        store = WallDeviceStore(engine)
        for i in range(55):
            store.add(f"镇街大屏 {i:02d}", "320583" if i % 2 else "320506", by=OPERATOR)
    finally:
        engine.dispose()
    log_in_with_code(page, live_server, "admin")
    page.wait_for_url(re.compile(r"/admin$"))
    assert page.locator("#wall-table tr[data-wall]").count() == 50
    assert "第 1/" in page.inner_text("#wall-page-at")
    page.click("#wall-page-next")
    page.wait_for_url(re.compile(r"walls_page=2"))
    assert "第 2/" in page.inner_text("#wall-page-at")
    page.fill("#f-walls_q", "320506")
    page.select_option("#f-walls_state", "active")
    page.click("#wall-filter-submit")
    page.wait_for_url(re.compile(r"walls_q=320506"))
    rows = page.locator("#wall-table tr[data-wall]")
    assert rows.count() >= 27 and all("320506" in r for r in rows.all_inner_texts())
    assert "第 1/1 页" in page.inner_text("#wall-page-at")    # a new filter starts at page 1
    assert page.input_value("#f-walls_q") == "320506"
    assert_served_font(page, "/admin wall devices, filtered")
    page.click("#wall-filter-clear")
    page.wait_for_url(re.compile(r"/admin#admin-walls$"))
    assert page.locator("#wall-table tr[data-wall]").count() == 50
