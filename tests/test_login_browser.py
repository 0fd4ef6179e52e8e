"""Logging in through the form in Chromium against the real server (gunicorn, gevent
workers): the page asked for comes after the login, the user menu names the account,
a page whose session ended goes back to the login, and logout ends it."""
from __future__ import annotations

import re

import pytest

from tests.live import PageWatch
from tests.logins import SAME_SITE


@pytest.fixture
def watched(browser, live_server):
    """A page whose console errors the test reads itself: a refused login and a callback
    without a session are answered 401 on purpose, and the browser logs them."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    p = context.new_page()
    p.set_default_timeout(30_000)
    watch = PageWatch(p, live_server.url)
    yield p, watch
    context.close()


def test_a_leader_logs_in_through_the_form_and_sees_kpi(watched, live_server):
    page, watch = watched
    name, password = live_server.accounts["leader"]
    page.goto(live_server.url + "/kpi?period=this_week")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.fill("#username", name)
    page.fill("#password", "not-the-password")
    page.click("#auth-submit")
    page.wait_for_selector("#auth-error")
    assert "用户名或密码不正确" in page.inner_text("#auth-error")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/kpi\?period=this_week$"))     # where it was going
    page.wait_for_selector("#ranking-grid .ag-row")
    assert name in page.inner_text("#user-name") and "领导" in page.inner_text("#user-name")
    cookie = next(c for c in page.context.cookies() if c["name"] == "gw_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""                  # no script reads it

    # The session ends elsewhere (another tab logs out): the next click goes to the login.
    page.context.request.post(live_server.url + "/logout",
                              headers={**SAME_SITE, "Origin": live_server.url})
    page.click("#period-choice label:nth-child(1)")
    page.wait_for_url(re.compile(r"/login\?m=ended&next="))
    assert "会话已结束" in page.inner_text("#auth-info")
    assert watch.foreign == []
    # Only what the refused requests caused: Chromium's "401" line for each, and Dash's own
    # complaint about the refused callback's answer when it reads it as the page leaves.
    expected = ("status of 401", "body stream already read")
    assert [e for e in watch.errors if not any(x in e for x in expected)] == []


def test_logout_from_the_page_menu(page, live_server):
    name, password = live_server.accounts["staff"]
    page.goto(live_server.url + "/login")
    page.fill("#username", name)
    page.fill("#password", password)
    page.click("#auth-submit")
    page.wait_for_url(re.compile(r"/region/320000$"))              # staff land on their region
    page.wait_for_selector("#case-grid .ag-row")
    assert page.locator("#to-kpi").count() == 0                   # not a staff page
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login\?m=out$"))
    page.goto(live_server.url + "/region/320000")
    page.wait_for_url(re.compile(r"/login\?next="))
