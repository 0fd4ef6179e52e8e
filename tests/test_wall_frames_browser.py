"""Each tick's panels pushed over the wall's live feed (dashboard/app/wall_frames.py,
assets/wall.js), in Chromium against `gridwatch serve` (2 gevent workers, real Redis)."""
from __future__ import annotations

import json
import time

import pytest

from tests.live import inject_reported_case
from tests.test_wall_browser import REFRESH, _grid_code, _kpi, _new_case_id, _open_wall

pytestmark = pytest.mark.slow


def _intervals_told(page, told: list[float]) -> None:
    """Times of the page's refreshes that say frames come (state wall-push true), into
    `told` from now on: each is answered with the resynchronisation interval.
    (Requests, not answers: an answer's body cannot be read inside Playwright's event
    handler.)"""

    def on_request(req):
        if "_dash-update-component" not in req.url or "wall-kpi-data.data" not in \
                (req.post_data or ""):
            return
        try:
            state = json.loads(req.post_data).get("state", [])
        except ValueError:
            return
        if any(i.get("id") == "wall-push" and i.get("value") is True for i in state):
            told.append(time.monotonic())
    page.on("request", on_request)


def _told_resync(page, told: list[float]) -> None:
    """Until a refresh said frames come (its answer tells the screen the
    resynchronisation interval), and a tick more for that answer: from then on no
    refresh is due. (Waits with the page's clock: Playwright hands over events only
    inside its own calls.)"""
    deadline = time.monotonic() + 30
    while not told:
        assert time.monotonic() < deadline, "no refresh said that frames come"
        page.wait_for_timeout(100)
    page.wait_for_timeout(REFRESH * 1000 + 1000)


def _refreshes(page) -> list[float]:
    """Times of the page's refresh callbacks from now on."""
    seen: list[float] = []

    def on_request(req):
        if "_dash-update-component" in req.url and "wall-kpi-data.data" in (req.post_data or ""):
            seen.append(time.monotonic())
    page.on("request", on_request)
    return seen


def test_the_panels_follow_each_tick_over_the_feed_without_a_refresh(live_server, browser):
    env = live_server.env
    told: list[float] = []
    page, watch = _open_wall(browser, live_server, 1920, 1080,
                             on_page=lambda p: _intervals_told(p, told))
    page.wait_for_function("() => window.gwWall.pushing()", timeout=20_000)
    # The next refresh tells the screen the resync interval; after it none for a minute.
    _told_resync(page, told)
    refreshes = _refreshes(page)
    frames0 = page.evaluate("() => window.gwWall.frames()")
    before = int(_kpi(page, "intake").replace(",", ""))
    sent = time.time()
    inject_reported_case(env["GRIDWATCH_DATABASE_URL"], env["GRIDWATCH_REDIS_URL"],
                         env["GRIDWATCH_STREAM_KEY"],
                         _grid_code(env["GRIDWATCH_DATABASE_URL"]), _new_case_id())
    # The count comes with the next tick's frame: within two ticks and the count-up.
    deadline = sent + 2 * REFRESH + 1.5
    while time.time() < deadline and int(_kpi(page, "intake").replace(",", "")) != before + 1:
        time.sleep(0.1)
    intake = int(_kpi(page, "intake").replace(",", ""))
    time.sleep(max(0.0, sent + 4 * REFRESH - time.time()))
    frames = page.evaluate("() => window.gwWall.frames()") - frames0
    last = page.evaluate("() => window.gwWall.lastFrame")
    stale = page.evaluate("() => document.getElementById('wall-root').classList"
                          ".contains('gw-is-stale')")
    page.close()
    assert intake == before + 1
    assert frames >= 3, frames                 # one a tick (2 s), four ticks
    assert refreshes == [], refreshes          # nothing asked by callback meanwhile
    assert last["fits"] is True and last["now"]
    assert not stale
    assert watch.errors == [] and watch.foreign == []


def test_a_frame_that_does_not_fit_the_screen_brings_a_refresh(live_server, browser):
    told: list[float] = []
    page, watch = _open_wall(browser, live_server, 1920, 1080, "/wall?region=320100",
                             on_page=lambda p: _intervals_told(p, told))
    page.wait_for_function("() => window.gwWall.pushing()", timeout=20_000)
    _told_resync(page, told)
    refreshes = _refreshes(page)
    # The screen now says it shows something the server never drew: the next frame does
    # not fit, the screen asks for a refresh, and the answer redraws the ranking.
    page.evaluate("""() => window.dash_clientside.set_props('wall-marks',
        {data: {ranking: 'not-this'}})""")
    page.wait_for_function("() => window.gwWall.lastFrame && !window.gwWall.lastFrame.fits",
                           timeout=4 * REFRESH * 1000)
    deadline = time.monotonic() + 3 * REFRESH
    while time.monotonic() < deadline and not refreshes:
        # The page's clock, not time.sleep: Playwright hands the request events to
        # `refreshes` only inside its own calls (with sleep, a refresh made in time was
        # seen only after `asked` was taken, and the test failed now and then).
        page.wait_for_timeout(100)
    asked = list(refreshes)
    # Then frames fit again: the refresh's answer brought the server's marks.
    page.wait_for_function("() => window.gwWall.lastFrame.fits", timeout=4 * REFRESH * 1000)
    rows = page.eval_on_selector_all("#wall-ranking tr, #wall-ranking .gw-w-rrow",
                                     "els => els.length")
    page.close()
    assert asked, "no refresh after a frame that did not fit"
    assert rows > 0
    assert watch.errors == [] and watch.foreign == []


def test_without_frames_the_screen_refreshes_every_tick(seeded_env, browser):
    # GRIDWATCH_WALL_RESYNC_SECONDS=0: no frames, a refresh callback at each tick.
    from tests.live import Deployment
    dep = Deployment(env={**seeded_env.env, "GRIDWATCH_WALL_RESYNC_SECONDS": "0"},
                     data_dir=seeded_env.data_dir)
    dep.start()
    try:
        page, watch = _open_wall(browser, seeded_env, 1920, 1080, url=dep.url)
        refreshes = _refreshes(page)
        time.sleep(4 * REFRESH + 1)
        frames, pushing = page.evaluate("() => [window.gwWall.frames(), window.gwWall.pushing()]")
        page.close()
    finally:
        dep.stop()
    assert frames == 0 and pushing is False
    assert len(refreshes) >= 3, refreshes
    assert watch.errors == [] and watch.foreign == []
