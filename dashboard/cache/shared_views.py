"""Views computed once per tick and shared by every viewer, worker and instance.

A view (the wall's data for one region, say) is stored through flask-caching on Redis
under (name, region, tick). The first request of a tick takes a short Redis lock and
computes; requests arriving meanwhile wait for its result instead of computing again, so
any number of screens costs one computation per tick. The last good result is kept
without a tick, for two reasons: the builder gets it to fill sections whose source is
down, and a viewer who cannot get a fresh result in time gets it rather than nothing.

When Redis itself is down the views are computed in-process, once per tick per worker,
with a per-process last-good copy: the wall keeps working on the database alone.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from dashboard.cache.leases import RELEASE_LOCK
from dashboard.cache.published import Published
from dashboard.domain.stores import Busy

log = logging.getLogger(__name__)

LAST_GOOD_SECONDS = 7 * 24 * 3600
LOCAL_MAX = 512


class SharedViews:
    def __init__(self, cache, redis_client: Callable[[], object], key_prefix: str,
                 wait_seconds: float = 10.0):
        self.cache = cache                  # flask_caching.Cache
        self._redis = redis_client          # () -> redis.Redis; may raise when unconfigured
        self.prefix = key_prefix
        self.wait_seconds = wait_seconds
        # In-process copies (this tick's and the last good per view), least recently
        # used dropped first: with Redis down for days, page views of ever-new windows
        # must not grow the worker's memory.
        self._local: OrderedDict[str, object] = OrderedDict()
        self._local_lock = threading.RLock()  # a view may build another view (re-entrant)

    def published(self, name: str, keep_seconds: float) -> Published:
        """The view `name` as one builder publishes it for every worker (published.py),
        on the same Redis and key prefix."""
        return Published(self._redis, self.prefix, name, int(keep_seconds))

    # Keys ------------------------------------------------------------------------------
    def counter_key(self, name: str, region: str) -> str:
        """Redis key counting computations of a view (tests and /healthz read it)."""
        return f"{self.prefix}computed:{name}:{region}"

    @staticmethod
    def _key(name: str, region: str, tick: int | str) -> str:
        return f"view:{name}:{region}:{tick}"

    # API -------------------------------------------------------------------------------
    def get(self, name: str, region: str, tick: int | str, ttl: float,
            build: Callable[[dict | None], dict],
            stale_ok: bool | Callable[[dict], bool] = False,
            lock_seconds: float | None = None, keep_seconds: float | None = None,
            wait: bool = True, defer: bool = False) -> dict | None:
        """The view for this tick: cached, or built once (build gets the last good one).

        `stale_ok`: a slow view (seconds at province scale) is rebuilt in the background
        while viewers get the last good one at once, so no callback waits for it. A
        function instead of True says which last good views are still fit to show (a
        leader's page accepts minutes, not days). `keep_seconds`: how long the last good
        one and the computation counter live (default a week). `wait=False`: never wait
        for a build; None until there is a view (its build is started in the background,
        once across workers). `defer`: another process builds this view (the wall
        builder): with `stale_ok`, the last good one is served and no build is started
        here; only a view that never was is built by whoever asks and waits for it
        (with `wait=False`, never here: None until the builder has made it).
        """
        try:
            return self._shared(name, region, tick, ttl, _raising_apart(build), stale_ok,
                                lock_seconds or self.wait_seconds,
                                int(keep_seconds or LAST_GOOD_SECONDS), wait, defer)
        except BuildFailed as failed:
            # The view itself failed (its database, say), not Redis: computing it again
            # in-process would only double the work (bench.province_scale saw every
            # screen do so when the database's pool ran out).
            raise failed.__cause__ from None
        except Busy as exc:
            # Redis is up but this worker has no free connection to it: computing here
            # would feed the overload (bench.province_scale). The last good copy this
            # process has, or an empty view ("waiting"), until connections free up.
            log.info("shared cache busy (%s); serving the last good view", exc)
            with self._local_lock:
                last = self._local.get(self._key(name, region, "last"))
            return last if last is not None else ({} if wait else None)
        except Exception as exc:  # noqa: BLE001 - Redis down or misbehaving: go local
            log.warning("shared cache unavailable (%s); computing in-process", exc)
            return self._in_process(name, region, tick, build)

    def last_good(self, name: str, region: str) -> dict | None:
        try:
            value = self.cache.cache.get(self._key(name, region, "last"))
        except Exception:  # noqa: BLE001
            value = None
        if value is not None:
            return value
        with self._local_lock:
            return self._local.get(self._key(name, region, "last"))

    # Internals -------------------------------------------------------------------------
    def _shared(self, name, region, tick, ttl, build, stale_ok=False, lock_seconds=10.0,
                keep_seconds=LAST_GOOD_SECONDS, wait=True, defer=False):
        backend = self.cache.cache  # cachelib RedisCache: its get/set raise on Redis errors
        key = self._key(name, region, tick)
        value = backend.get(key)
        if value is not None:
            return value
        client = self._redis()
        lock = f"{self.prefix}lock:{key}"
        token = uuid.uuid4().hex
        last = self.last_good(name, region) if stale_ok else None
        if last is not None and callable(stale_ok) and not stale_ok(last):
            last = None
        if defer and (last is not None or not wait):
            return last     # the builder makes it; a viewer who must not wait gets None
        if client.set(lock, token, nx=True, px=int(lock_seconds * 1000)):
            def compute():
                try:
                    fresh = backend.get(key)  # computed between our get and our lock
                    if fresh is None:
                        fresh = build(self.last_good(name, region))
                        backend.set(key, fresh, timeout=max(int(ttl), 1))
                        backend.set(self._key(name, region, "last"), fresh,
                                    timeout=keep_seconds)
                        counter = self.counter_key(name, region)
                        client.pipeline().incr(counter).expire(counter, keep_seconds).execute()
                        self._remember(name, region, fresh)
                    return fresh
                finally:
                    client.eval(RELEASE_LOCK, 1, lock, token)
            if last is not None or not wait:
                threading.Thread(target=_logged(compute), daemon=True,
                                 name=f"view-{name}").start()
                return last
            return compute()
        if last is not None or not wait:
            return last  # someone is rebuilding it; the last good one will do meanwhile
        deadline = time.monotonic() + lock_seconds
        while time.monotonic() < deadline:
            time.sleep(0.05)
            value = backend.get(key)
            if value is not None:
                return value
            if not client.exists(lock):  # the holder died without a result: try ourselves
                return self._shared(name, region, tick, ttl, build, stale_ok, lock_seconds,
                                    keep_seconds, wait, defer)
        # Never a second computation of the same tick: an empty view says "waiting".
        return self.last_good(name, region) or {}

    def _in_process(self, name, region, tick, build):
        key = self._key(name, region, tick)
        with self._local_lock:
            value = self._local.get(key)
            if value is None:
                value = build(self._local.get(self._key(name, region, "last")))
                # Only this tick and the last good one are kept: memory stays flat.
                for old in [k for k in self._local
                            if k.startswith(f"view:{name}:{region}:") and not k.endswith(":last")]:
                    del self._local[old]
                self._store_local(key, value)
                self._remember(name, region, value)
        return value

    def _remember(self, name, region, value) -> None:
        with self._local_lock:
            self._store_local(self._key(name, region, "last"), value)

    def _store_local(self, key: str, value) -> None:
        self._local[key] = value
        self._local.move_to_end(key)
        while len(self._local) > LOCAL_MAX:
            self._local.popitem(last=False)


class BuildFailed(Exception):
    """A view's build raised (its cause): not a failure of the shared cache."""


def _raising_apart(build):
    def run(last):
        try:
            return build(last)
        except Exception as exc:
            raise BuildFailed() from exc
    return run


def _logged(fn):
    def run():
        try:
            fn()
        except Exception:  # noqa: BLE001 - a background rebuild must not die silently
            log.exception("background view rebuild failed")
    return run
