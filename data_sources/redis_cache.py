"""flask-caching's Redis backend on a client from redis_client.make_client.

flask-caching builds its own redis-py client otherwise: a non-blocking pool of 100 that
raises "Too many connections" when a worker serves hundreds of screens at once, which the
shared views then took for "Redis is down" and computed in-process (bench.province_scale).
Here the cache waits for a free connection like every other Redis user in the app, and
says Busy (redis_client.PoolExhausted) when none comes.
"""
from __future__ import annotations

from flask_caching.backends.rediscache import RedisCache

from data_sources.redis_client import make_client


def cache_factory(_app, config: dict, args: list, kwargs: dict) -> RedisCache:
    """flask-caching's CACHE_TYPE hook (called with the app, its config and options)."""
    # kwargs carries flask-caching's default_timeout; the prefix comes from the config.
    return RedisCache(*args, host=make_client(config["CACHE_REDIS_URL"]),
                      key_prefix=config.get("CACHE_KEY_PREFIX"), **kwargs)
