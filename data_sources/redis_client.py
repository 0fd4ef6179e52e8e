"""The one place that constructs redis-py clients, so timeouts and pools are chosen once.

redis-py 8 defaults are wrong for a wall that must survive Redis restarts: a 5 s socket
timeout that aborts `XREAD BLOCK` longer than that, a 5 s connect timeout that stalls a
callback when Redis is down, and an unbounded-looking pool of 100 that raises when it
runs out. Here a normal client fails within ~2 s, a blocking reader waits as long as its
BLOCK asks, and the pool is small and makes callers wait for a free connection.
"""
from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from dashboard.domain.stores import Busy

CONNECT_TIMEOUT = 2.0
SOCKET_TIMEOUT = 2.0
HEALTH_CHECK_INTERVAL = 15
MAX_CONNECTIONS = 64      # a gevent worker serves hundreds of screens at once
BLOCKING_MAX_CONNECTIONS = 4
# How long a caller waits for a free pooled connection before ConnectionError.
POOL_TIMEOUT = 5.0

_SCHEMES = ("redis://", "rediss://", "unix://")


def make_client(url: str, *, blocking: bool = False, **kw: Any) -> redis.Redis:
    """A redis-py client for a redis://, rediss:// or unix:///path URL.

    `blocking=True` is for a connection that sits in `XREAD BLOCK`: no read timeout
    (the BLOCK argument bounds the wait) and a pool of a few connections. Keyword
    arguments override any default (they reach the connection pool); query-string
    options in the URL override both, as in redis-py.
    """
    if not isinstance(url, str) or not url.startswith(_SCHEMES):
        raise ValueError(f"Redis URL must start with one of {_SCHEMES}, got {url!r}")
    options: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": None if blocking else SOCKET_TIMEOUT,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
        "max_connections": BLOCKING_MAX_CONNECTIONS if blocking else MAX_CONNECTIONS,
        "timeout": POOL_TIMEOUT,
        # One quick retry with backoff rides over a stale pooled connection after a
        # Redis restart; more would only delay the "down" verdict.
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 1),
        "decode_responses": False,  # the codec decodes and counts bad bytes itself
    }
    if not url.startswith("unix://"):
        # Detects a silently dead peer (NAT, failover) on idle TCP; unix sockets reject it.
        options["socket_keepalive"] = True
    options.update(kw)
    pool = _Pool.from_url(url, **options)
    # from_pool hands the pool to the client, so client.close() disconnects it.
    return redis.Redis.from_pool(pool)


class PoolExhausted(redis.ConnectionError, Busy):
    """No free connection within POOL_TIMEOUT: Redis is up, this process is overloaded."""


class _Pool(redis.BlockingConnectionPool):
    def get_connection(self, *args, **kwargs):
        try:
            return super().get_connection(*args, **kwargs)
        except redis.ConnectionError as exc:
            if str(exc) == "No connection available.":   # redis-py's words for a timeout
                raise PoolExhausted(str(exc)) from exc
            raise
