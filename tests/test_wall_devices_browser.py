"""A wall device in a real browser (Debian Chromium via Playwright) against `gridwatch
serve`: its wall URL opens the wall and leaves the token nowhere the browser keeps or
sends (address bar, history, Referer, later requests), and `walls revoke` turns the
running screen into the calm 已停用 page within a refresh, in the served font."""
from __future__ import annotations

import time

from dashboard.domain.audit import Actor
from dashboard.domain.walls import hash_token
from data_sources.database import make_engine
from data_sources.wall_device_store import WallDeviceStore
from tests.live import PageWatch
from tests.logins import WALL_COOKIE, wall_device, wall_token
from tests.test_fonts_browser import assert_served_font

REFRESH = 2     # s: GRIDWATCH_REFRESH_SECONDS of the seeded installation (conftest)


def test_a_wall_url_opens_the_wall_keeps_no_token_and_a_revoke_shows_disabled(live_server,
                                                                                browser):
    database_url = live_server.env["GRIDWATCH_DATABASE_URL"]
    path = wall_device(database_url, "320500", name="苏州市指挥中心 主屏")
    token = wall_token(path)
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    page.set_default_timeout(30_000)
    watch = PageWatch(page, live_server.url)
    sent = []
    page.on("request", lambda r: sent.append((r.url, r.headers.get("referer") or "")))
    try:
        before = page.evaluate("history.length")        # about:blank
        page.goto(f"{live_server.url}{path}&lang=zh")
        page.wait_for_selector("#wall-root")
        page.wait_for_function("() => document.getElementById('wall-feed').dataset.status === 'live'")
        assert page.url == f"{live_server.url}/wall?lang=zh"
        assert "苏州市" in page.inner_text("#wall-heading")
        # One entry for the wall: the redirect replaced the token's URL.
        assert page.evaluate("history.length") == before + 1
        # Only the first request carried it: no later URL, no Referer.
        assert token in sent[0][0]
        assert not [s for s in sent[1:] if token in s[0] or token in s[1]]
        cookie = next(c for c in context.cookies() if c["name"] == WALL_COOKIE)
        assert cookie["value"] == token and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["expires"] > time.time() + 300 * 86400
        assert watch.errors == [] and watch.foreign == []

        engine = make_engine(database_url)
        try:
            store = WallDeviceStore(engine)
            device = store.by_token_hash(hash_token(token))
            assert device.last_seen_address == "127.0.0.1"
            page.evaluate("window.__marker = 'running'")
            revoked_at = time.monotonic()
            store.revoke(device.id, by=Actor.cli("tests"))
        finally:
            engine.dispose()
        # Within a refresh (the devices are read again every half refresh), plus the
        # refresh's own answer and the reload.
        page.wait_for_selector("#wall-disabled", timeout=(3 * REFRESH + 5) * 1000)
        took = time.monotonic() - revoked_at
        assert took < 3 * REFRESH + 5, took
        text = page.inner_text("#wall-disabled")
        assert "已停用" in text and "苏州市指挥中心 主屏" in text and "管理员" in text
        assert page.evaluate("typeof window.__marker") == "undefined"   # loaded again
        assert not page.query_selector("#wall-root") and not page.query_selector("form")
        assert_served_font(page, "wall disabled")
        assert watch.foreign == []
    finally:
        context.close()
