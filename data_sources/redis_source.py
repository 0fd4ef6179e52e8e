"""Redis as a data source: the event stream and the client the cache shares."""
from __future__ import annotations

from datetime import datetime, timezone

from data_sources.base import DataSource, register
from data_sources.redis_client import make_client
from data_sources.redis_stream import EventStream, StreamReader, stream_health
from data_sources.stream_skips import SkipCounter, counter_key


@register("redis")
class RedisSource(DataSource):
    def __init__(self, url: str, stream_key: str, maxlen: int, lag_warn_seconds: float,
                 key_prefix: str = "gridwatch:"):
        self.url = url
        self.client = make_client(url)
        self.stream = EventStream(self.client, stream_key, maxlen)
        self.lag_warn_seconds = lag_warn_seconds
        # Skipped entries by reason, as the live readers of every worker counted them.
        self.skips = SkipCounter(self.client, counter_key(key_prefix, stream_key))

    @classmethod
    def from_settings(cls, settings) -> "RedisSource":
        if not settings.redis_url:
            raise ValueError("no Redis URL: set GRIDWATCH_REDIS_URL or start the embedded one")
        return cls(settings.redis_url, settings.stream_key, settings.stream_maxlen,
                   settings.stream_lag_warn_seconds, settings.key_prefix)

    def reader(self, known_grid=None) -> StreamReader:
        return StreamReader(self.stream, known_grid=known_grid)

    def health(self) -> dict:
        try:
            self.client.ping()
            redis_status = {"status": "up"}
        except Exception as exc:  # noqa: BLE001 - health reports, never raises
            redis_status = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
        redis_status["stream"] = stream_health(self.stream, datetime.now(timezone.utc),
                                               self.lag_warn_seconds, self.skips)
        return redis_status

    def close(self) -> None:
        self.client.close()
