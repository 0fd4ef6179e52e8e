"""The wall's panel frames without a browser: what a frame draws (callbacks/wall.py
`frame`) and how the pusher hands one frame per setting and tick to every open feed
(dashboard/app/wall_frames.py) through the real stream hub on a real Redis."""
from __future__ import annotations

import gc
import json
import threading
import time

from plotly.io.json import to_json_plotly

from callbacks import wall as wall_page
from callbacks.wall import setting_key
from dashboard.app.wall_frames import FramePusher
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream
from data_sources.stream_hub import Frame, StreamHub, follow
from layouts.wall_panels import PANELS
from tests.test_wall_without_browser import cfg_for, refresh, wall_app, walls  # noqa: F401

PANEL_IDS = [f"wall-{p.key}" for p in PANELS] + ["wall-map", "wall-legend", "wall-fresh"]


def _as_sent(frame: dict) -> dict:
    return json.loads(to_json_plotly(frame))


def test_a_frame_carries_what_a_refresh_would_answer_a_screen_showing_the_same(
        walls):  # noqa: F811 - the fixture imported above
    service = walls("320000")
    app, cfg = wall_app(service), cfg_for(service, region="320500")
    shapes: dict = {}
    # A setting's first frame in a worker draws nothing: its screens were drawn by their
    # page (or a refresh); its marks are the models' own.
    opening = _as_sent(wall_page.frame(service, cfg, None, shapes))
    assert opening["drawn"] == [] and not any(i in opening["props"] for i in PANEL_IDS)
    assert set(opening["marks"]) == {p.key for p in PANELS} | {"map", "legend", "fresh"}
    # A frame for screens that show nothing: every panel, the map's patch, legend, badges;
    # and the refresh answer to a screen showing the same marks (here: none), in one
    # tick (a tick boundary between the two rebuilds the models: again).
    for _attempt in range(3):
        tick = service.tick()
        first = _as_sent(wall_page.frame(service, cfg, {}, shapes))
        answer = refresh(app, "320500", cfg).get_json()["response"]
        if service.tick() == tick:
            break
    assert set(first["drawn"]) == set(first["marks"])
    assert first["marks"] == opening["marks"]
    assert all(i in first["props"] for i in PANEL_IDS)
    assert "__dash_patch_update" in first["props"]["wall-map"]["figure"]
    assert "wall-marks" not in first["props"] and "wall-crumbs" not in first["props"]
    # The same properties, values and marks as the refresh callback's answer.
    assert answer["wall-marks"]["data"] == first["marks"]
    assert {k: v for k, v in answer.items() if k not in ("wall-marks", "wall-tick")} == \
        first["props"]
    # The next tick, nothing changed: no panel, only the times and the KPI strip's data.
    again = _as_sent(wall_page.frame(service, cfg, first["marks"], shapes))
    assert again["drawn"] == [] and again["marks"] == first["marks"]
    assert not any(i in again["props"] for i in PANEL_IDS)
    assert all(f"wall-asof-{p.key}" in again["props"] for p in PANELS)
    assert again["props"]["wall-kpi-data"] == first["props"]["wall-kpi-data"]
    # One panel drawn from other data than the frame before: that panel alone.
    one = _as_sent(wall_page.frame(service, cfg, {**first["marks"], "overdue": "0" * 16},
                                   shapes))
    assert one["drawn"] == ["overdue"]
    assert [i for i in PANEL_IDS if i in one["props"]] == ["wall-overdue"]
    assert one["props"]["wall-overdue"] == first["props"]["wall-overdue"]


def test_a_drawing_is_freed_when_it_is_sent_not_by_the_garbage_collector(
        walls):  # noqa: F811 - the fixture imported above
    """A wall's drawing (every panel: hundreds of components) holds no reference cycle:
    freed by reference counting as soon as it is sent. A cycle through it left each
    answer and frame of a province's walls to the garbage collector, whose collections
    then stopped the workers' every greenlet (dashboard/app/collector.py)."""
    service = walls("320000")
    cfg = cfg_for(service, region="320500")
    shapes: dict = {}
    wall_page.frame(service, cfg, {}, shapes)         # caches and layouts made once
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            sent = to_json_plotly(wall_page.frame(service, cfg, {}, shapes))
            assert "wall-overdue" in sent
        gc.collect()
        cyclic = [type(o).__name__ for o in gc.garbage]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cyclic == []


def _hub(redis_url, key_prefix) -> StreamHub:
    key = key_prefix + "events"
    return StreamHub(lambda: EventStream(make_client(redis_url, blocking=True), key))


def _cfg(region: str, metric: str = "open") -> dict:
    return {"region": region, "metric": metric, "lang": "zh", "privacy": False,
            "target": 97.68}


def _frames(sub) -> list[dict]:
    out = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        if isinstance(item, Frame):
            out.append(json.loads(item.text))
    return out


def test_one_frame_per_setting_and_tick_reaches_every_feed_of_that_setting(redis_url,
                                                                            key_prefix):
    hub = _hub(redis_url, key_prefix)
    drawn: list[tuple] = []

    def draw(cfg, shown):
        drawn.append((cfg["region"], shown))
        if cfg["region"] == "320700":
            raise RuntimeError("this region's models are unreadable")
        n = int((shown or {}).get("n", "0")) + 1
        return {"region": cfg["region"], "marks": {"n": str(n)}, "props": {}, "drawn": ["n"]}
    tick = {"now": "2026-12-06T10:00:05+08:00"}
    pusher = FramePusher(hub, draw, lambda: tick)
    keys = [pusher.watch(_cfg("320500")), pusher.watch(_cfg("320500")),
            pusher.watch(_cfg("320500", "closure")), pusher.watch(_cfg("320700"))]
    assert keys[0] == keys[1] == setting_key(_cfg("320500")) != keys[2]
    subs = [hub.subscribe(lambda e: True, frames=k) for k in keys]
    plain = hub.subscribe(lambda e: True)          # a feed that takes no frames
    try:
        pusher.push(hub.frame_groups(), tick)
        # Drawn once per setting (two screens of one setting: one drawing), and a
        # failing one costs only its own screens their frame.
        assert sorted(r for r, _ in drawn) == ["320500", "320500", "320700"]
        got = [_frames(s) for s in subs]
        assert got[0] == got[1] == [{"region": "320500", "marks": {"n": "1"}, "props": {},
                                     "drawn": ["n"], "now": tick["now"]}]
        assert len(got[2]) == 1 and got[3] == [] and _frames(plain) == []
        # The next tick is drawn against the marks of the frame before.
        drawn.clear()
        pusher.push(hub.frame_groups(), tick)
        assert ("320500", {"n": "1"}) in drawn
        assert _frames(subs[0])[0]["marks"] == {"n": "2"}
    finally:
        for s in [*subs, plain]:
            hub.unsubscribe(s)


def test_the_loop_pushes_once_per_new_tick_and_stops_with_its_last_feed(redis_url,
                                                                        key_prefix):
    hub = _hub(redis_url, key_prefix)
    ticks = [{"now": "2026-12-06T10:00:00+08:00"}]
    pusher = FramePusher(hub, lambda cfg, shown: {"region": cfg["region"], "marks": {},
                                                  "props": {}, "drawn": []},
                         lambda: ticks[-1])
    sub = hub.subscribe(lambda e: True, frames=pusher.watch(_cfg("320500")))
    got: list[str] = []
    stop = threading.Event()

    def consume():
        for kind, item in follow(hub, sub, None, lambda e: True, heartbeat=0.2):
            if kind == "frame":
                got.append(json.loads(item)["now"])
            if stop.is_set():
                return
    th = threading.Thread(target=consume, daemon=True)
    th.start()
    pusher.ensure_started()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not got:
        time.sleep(0.05)
    time.sleep(0.5)                  # the same tick record: no second frame
    ticks.append({"now": "2026-12-06T10:00:05+08:00"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(got) < 2:
        time.sleep(0.05)
    stop.set()
    hub.unsubscribe(sub)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and pusher._thread is not None:
        time.sleep(0.05)
    assert got == ["2026-12-06T10:00:00+08:00", "2026-12-06T10:00:05+08:00"]
    assert pusher._thread is None    # no feed left: the loop ended


def test_a_tick_between_a_feeds_watch_and_its_subscription_does_not_lose_its_frames(
        redis_url, key_prefix, monkeypatch):
    """The live feed watches its setting, then subscribes: a tick of the frame loop in
    between (no feed of that setting yet) must not drop the setting, or the feed is never
    framed while it stays open. A setting no feed has taken for GRACE_SECONDS goes."""
    from dashboard.app import wall_frames
    hub = _hub(redis_url, key_prefix)
    tick = {"now": "2026-12-07T19:00:05+08:00"}
    pusher = FramePusher(hub, lambda cfg, shown: {"region": cfg["region"], "marks": {},
                                                  "props": {}, "drawn": []}, lambda: tick)
    key = pusher.watch(_cfg("320500"))
    pusher.forget_unwatched(hub.frame_groups())     # the loop's tick, before the subscribe
    sub = hub.subscribe(lambda e: True, frames=key)
    try:
        pusher.push(hub.frame_groups(), tick)
        assert [f["region"] for f in _frames(sub)] == ["320500"]
    finally:
        hub.unsubscribe(sub)
    monkeypatch.setattr(wall_frames, "GRACE_SECONDS", 0.0)
    pusher.forget_unwatched(hub.frame_groups())     # no feed of it left, its grace over
    assert key not in pusher._cfgs
