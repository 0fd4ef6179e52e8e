"""Each tick's wall panels, pushed to the screens over the live feed they hold open.

A province's 1,345 walls each refreshing by callback every tick cost the web workers a
Dash request per screen and tick: parsing its body, the gates, the drawing and the
answer's JSON, ~7 ms of CPU each, two cores' worth at 5 s (docs/benchmarks.md). Here one
loop per worker waits for the builder's next tick (dashboard/cache/published.py), draws
what changed once per wall setting (region, metric, language, privacy) that the
worker's open feeds watch, encodes it once and queues the same text to each of those
feeds (data_sources/stream_hub.py). assets/wall.js applies a frame with Dash's
`set_props`; the refresh callback then only resynchronises a screen (every
GRIDWATCH_WALL_RESYNC_SECONDS, on a region change, and whenever a frame does not fit
what the screen shows).

A frame is drawn against the marks of the frame before it for the same setting
(callbacks/wall.py `frame`): a screen that shows other marks (it joined late, missed a
frame, or got a callback answer in between) sees it in the frame's `drawn`, applies what
there is and asks for a refresh. When the loop falls behind it skips to the newest tick:
frames are late, never queued up.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from plotly.io.json import to_json_plotly

from callbacks.wall import setting_key
from data_sources.stream_hub import Frame, StreamHub

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1        # how often the builder's tick record is looked at
CHUNK = 100               # settings whose models are read in one round trip
DOWN_WAIT_SECONDS = 1.0   # ... and after a failure to read it (Redis down)
GRACE_SECONDS = 30.0      # a setting watched this recently is kept (forget_unwatched)


class FramePusher:
    def __init__(self, hub: StreamHub, draw: Callable[[dict, dict | None], dict],
                 tick_of: Callable[[], dict],
                 prefetch: Callable[[list[str]], None] | None = None):
        self.hub = hub
        # Reads the models of many regions at once before they are drawn (one round
        # trip for CHUNK walls instead of one each).
        self._prefetch = prefetch
        self._draw = draw           # (cfg, the marks of the frame before) -> frame
        self._tick_of = tick_of     # () -> the builder's newest tick record ({}: none)
        self._cfgs: dict[tuple, dict] = {}
        self._shown: dict[tuple, dict] = {}
        self._watched_at: dict[tuple, float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.last: dict = {}        # the newest tick's frames: how many, how long

    def watch(self, cfg: dict) -> tuple:
        """The key of `cfg`'s frames, for a feed about to subscribe with it."""
        key = setting_key(cfg)
        with self._lock:
            self._cfgs[key] = cfg
            self._watched_at[key] = time.monotonic()
        return key

    def forget_unwatched(self, groups: dict) -> None:
        """Drops the settings no feed takes any more, but not one watched in the last
        GRACE_SECONDS: a feed's setting is watched before the feed subscribes, and a tick
        in between dropped it for as long as the feed stayed open (never framed, the
        screen refreshed by callback every tick: 268 of 1,345 walls in one run of
        bench.province_scale, docs/benchmarks.md)."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k in self._cfgs if k not in groups and
                        now - self._watched_at.get(k, 0.0) > GRACE_SECONDS]:
                self._cfgs.pop(key, None)
                self._shown.pop(key, None)
                self._watched_at.pop(key, None)

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wall-frames",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        seen = None
        while True:
            with self._lock:
                if not self.hub.subscribers:
                    self._thread = None
                    return
            try:
                tick = self._tick_of()
            except Exception as exc:  # noqa: BLE001 - Redis down: screens refresh by callback
                log.debug("no tick record: %s", exc)
                time.sleep(DOWN_WAIT_SECONDS)
                continue
            if not tick or tick == seen:
                time.sleep(POLL_SECONDS)
                continue
            seen = tick
            # The feeds are sorted once per tick (4% of a province's web workers when it
            # was done at every look at the tick record).
            groups = self.hub.frame_groups()
            self.forget_unwatched(groups)
            self.push(groups, tick)

    def push(self, groups: dict, tick: dict) -> None:
        """One tick's frame to each group of feeds."""
        started, sent = time.perf_counter(), 0
        items = list(groups.items())
        for i, (key, subs) in enumerate(items):
            if self._prefetch is not None and i % CHUNK == 0:
                try:
                    self._prefetch(list({k[0] for k, _ in items[i:i + CHUNK]}))
                except Exception as exc:  # noqa: BLE001 - each wall then reads its own
                    log.debug("prefetching the walls' models failed: %s", exc)
            with self._lock:
                cfg, shown = self._cfgs.get(key), self._shown.get(key)
            if cfg is None:
                continue
            try:
                frame = self._draw(cfg, shown)
            except Exception as exc:  # noqa: BLE001 - that wall refreshes by callback
                log.info("the frame of %s failed: %s", key[0], exc)
                continue
            with self._lock:
                self._shown[key] = frame["marks"]
            frame["now"] = tick.get("now")
            self.hub.deliver(subs, Frame(to_json_plotly(frame)))
            sent += 1
            time.sleep(0)       # yields to the worker's requests (gevent) between walls
        self.last = {"now": tick.get("now"), "frames": sent,
                     "ms": (time.perf_counter() - started) * 1000}
