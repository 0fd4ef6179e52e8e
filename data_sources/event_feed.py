"""The Redis Stream as a `dashboard.domain.stores.EventFeed`."""
from __future__ import annotations

from collections.abc import Callable

from dashboard.domain.events import StreamEvent
from data_sources.redis_source import RedisSource


class RedisEventFeed:
    def __init__(self, source: Callable[[], RedisSource]):
        # A callable: the runtime opens Redis on first use, and raises when none is
        # configured, which callers report as "down".
        self._source = source

    def health(self) -> dict:
        return self._source().health()

    def tail_id(self) -> str:
        return self._source().reader().start_id_now()

    def latest(self, n: int, upto: str | None = None) -> list[StreamEvent]:
        return self._source().reader().read_latest(n, upto=upto)
