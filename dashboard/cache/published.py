"""Views one builder publishes for every worker: the newest model of each region, in one
Redis hash per view.

A province's walls watch 1,345 regions. Sharing their live views region by region (a
key, a lock, a last good copy and a counter each: shared_views.py) cost seven Redis round
trips per region and tick, in whichever worker happened to ask first, and every worker
followed the stream to be ready to build. Here one worker holds a lease and builds every
watched region of the tick, and writes them all in a few pipelined commands; the other
workers only read a region's newest model (one HGET) and tell the builder which regions
their screens watch (one pipelined ZADD per tick). When the builder dies its lease runs
out and another worker takes over.

Values are JSON (the models are JSON-shaped): nothing read back from Redis is unpickled.
They are written and read with orjson: a tick's ~240 changed models of a province are
~2.4 MB, 145 ms to write with the json module against 48 ms (bench.live_board).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable

import orjson

from dashboard.cache.bounded import Bounded
from dashboard.cache.leases import RENEW_LEASE
from dashboard.domain.stores import Busy

CHUNK = 200          # models per pipelined HSET: a province's tick is ~10 MB of JSON
# s: under redis-py's socket timeout (2 s, data_sources/redis_client.py) by a margin. At
# 2 s the empty answer of a BLPOP that ran its course came a few ms after the client had
# given up on it: "building the walls failed: Timeout reading" every few seconds under a
# province's load, and a region asked for in that instant was popped and lost.
ASK_WAIT_MAX = 1.5
# Decoded models a reader keeps: a province's walls read ~1,345 regions a tick; a
# worker never watches more than ~2,000 (views/wall/service.WATCH_MAX).
DECODED_MAX = 4096


def encode(model: dict) -> bytes:
    """A model as published: compact UTF-8 JSON (what json.dumps with compact separators
    and ensure_ascii=False gives, the same values read back)."""
    return orjson.dumps(model, option=orjson.OPT_NON_STR_KEYS)


class RedisUnavailable(Exception):
    """Redis cannot be reached (or is not configured): the caller builds in-process."""


def redis_call(fn, *args):
    """fn(*args), with any failure but Busy (Redis up, no free connection) turned into
    RedisUnavailable: the one exception a caller falls back on."""
    try:
        return fn(*args)
    except Busy:
        raise
    except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, no Redis set
        raise RedisUnavailable(str(exc)) from exc


class Published:
    def __init__(self, redis_client: Callable[[], object], key_prefix: str, name: str,
                 keep_seconds: int):
        self._redis = redis_client          # () -> redis.Redis; may raise when unconfigured
        self.name = name
        self.keep_seconds = max(int(keep_seconds), 1)
        self.models_key = f"{key_prefix}published:{name}"
        self.tick_key = f"{key_prefix}published:{name}:tick"
        self.watch_key = f"{key_prefix}watched:{name}"
        self.lease_key = f"{key_prefix}lease:{name}"
        self.asked_key = f"{key_prefix}asked:{name}"
        self.counter_prefix = f"{key_prefix}computed:{name}:"
        # region -> (the JSON read last, its model): the builder republishes only the
        # models that changed, so most reads decode what the last one did (4.8% of a
        # province's web workers, each model decoded at every tick). Readers never
        # change a model they get (views/wall/live_models.at_tick copies).
        self._decoded = Bounded(DECODED_MAX)

    # Reading ---------------------------------------------------------------------------
    def get(self, region: str) -> tuple[dict | None, dict]:
        """(the region's newest model or None, the builder's last tick record) in one
        round trip."""
        pipe = self._redis().pipeline(transaction=False)
        pipe.hget(self.models_key, region)
        pipe.get(self.tick_key)
        raw, tick = pipe.execute()
        return self._decode(region, raw), json.loads(tick) if tick is not None else {}

    def get_many(self, regions: list[str]) -> tuple[dict[str, dict | None], dict]:
        """`get` for many regions in one round trip."""
        pipe = self._redis().pipeline(transaction=False)
        pipe.hmget(self.models_key, regions)
        pipe.get(self.tick_key)
        raws, tick = pipe.execute()
        return ({r: self._decode(r, raw) for r, raw in zip(regions, raws)},
                json.loads(tick) if tick is not None else {})

    def _decode(self, region: str, raw) -> dict | None:
        if raw is None:
            return None
        last = self._decoded.get(region)
        if last is not None and last[0] == raw:
            return last[1]
        model = orjson.loads(raw)
        self._decoded[region] = (raw, model)
        return model

    def tick(self) -> dict:
        """The builder's last tick record ({}: none yet): what tells a reader that a
        new tick's models are there."""
        raw = self._redis().get(self.tick_key)
        return json.loads(raw) if raw is not None else {}

    # Building --------------------------------------------------------------------------
    def put(self, models: dict[str, dict], tick: dict | None = None,
            counted: list[str] | None = None) -> None:
        """Publish `models` (region -> model; only what changed: the others stay) and the
        tick's record (what every model is shown with: its clock, the sources' state),
        and count one computation for each model in `counted` (default: all; the
        counters tests and operators read: computed:<name>:<region>)."""
        client = self._redis()
        items = list(models.items())
        counted = list(models) if counted is None else counted
        for i in range(0, max(len(items), len(counted)), CHUNK):
            pipe = client.pipeline(transaction=False)
            chunk = items[i:i + CHUNK]
            if chunk:
                pipe.hset(self.models_key, mapping={
                    region: encode(model) for region, model in chunk})
            for region in counted[i:i + CHUNK]:
                pipe.incr(self.counter_prefix + region)
                pipe.expire(self.counter_prefix + region, self.keep_seconds)
            pipe.expire(self.models_key, self.keep_seconds)
            pipe.execute()
        if tick is not None:
            # After the models: a reader never sees a tick newer than the models it shows.
            client.set(self.tick_key, json.dumps(tick, separators=(",", ":")),
                       ex=self.keep_seconds)

    def lead(self, token: str, seconds: float) -> bool:
        """Whether this worker (`token`) builds: it keeps the lease it holds, or takes a
        free one, for `seconds`."""
        client = self._redis()
        ms = max(int(seconds * 1000), 1)
        if client.eval(RENEW_LEASE, 1, self.lease_key, token, ms):
            return True
        return bool(client.set(self.lease_key, token, nx=True, px=ms))

    def leader(self) -> str | None:
        value = self._redis().get(self.lease_key)
        return _text(value) if value is not None else None

    # Watching --------------------------------------------------------------------------
    def watch(self, until: dict[str, float]) -> None:
        """Tell the builder that screens of this worker watch these regions, each until
        the time given (epoch seconds: when a screen that stopped asking is given up)."""
        if until:
            pipe = self._redis().pipeline(transaction=False)
            pipe.zadd(self.watch_key, until)
            pipe.expire(self.watch_key, self.keep_seconds)
            pipe.execute()

    def watched(self, now: float | None = None) -> list[str]:
        """Regions some worker's screens still watch at `now` (the others are dropped)."""
        now = time.time() if now is None else now
        client = self._redis()
        pipe = client.pipeline(transaction=False)
        pipe.zremrangebyscore(self.watch_key, "-inf", f"({now}")
        pipe.zrange(self.watch_key, 0, -1)
        _, regions = pipe.execute()
        return [_text(r) for r in regions]

    def ask(self, region: str) -> None:
        """Ask the builder for a region nobody published yet (a wall just opened): it
        builds it between its ticks, at once."""
        pipe = self._redis().pipeline(transaction=False)
        pipe.rpush(self.asked_key, region)
        pipe.expire(self.asked_key, self.keep_seconds)
        pipe.execute()

    def asked(self, timeout: float) -> list[str]:
        """The regions asked for since the last call, waiting up to `timeout` seconds (at
        most ASK_WAIT_MAX) for the first."""
        client = self._redis()
        first = client.blpop([self.asked_key], timeout=max(min(timeout, ASK_WAIT_MAX), 0.01))
        if first is None:
            return []
        pipe = client.pipeline(transaction=True)
        pipe.lrange(self.asked_key, 0, -1)
        pipe.delete(self.asked_key)
        rest, _ = pipe.execute()
        out = [first[1], *rest]
        return list(dict.fromkeys(_text(r) for r in out))


def _text(value: bytes | str) -> str:
    # The app's clients do not decode responses (data_sources/redis_client.py).
    return value.decode() if isinstance(value, bytes) else value
