"""What a running gridwatch holds: its settings, its data sources and, when no Redis URL
is configured, the embedded Redis it owns. The CLI builds one per command; the web app
builds its own per worker from the same settings.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from functools import cached_property

from dashboard.app.settings import Settings
from data_sources import open_source
from data_sources.embedded_redis import EmbeddedRedis
from data_sources.regions import RegionTree
from data_sources.secret_box import SecretBox

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._embedded = None

    def start_embedded_redis(self) -> None:
        """Start the bundled Redis when none is configured; the URL goes into settings."""
        if self.settings.redis_url or self._embedded is not None:
            return
        self._embedded = EmbeddedRedis(self.settings.data_dir / "redis")
        self._embedded.start()
        self.settings = replace(self.settings, redis_url=self._embedded.url)
        log.info("embedded Redis started at %s (pid %s)", self._embedded.url, self._embedded.pid)

    @cached_property
    def db(self):
        return open_source("cases", self.settings)

    @cached_property
    def redis(self):
        return open_source("redis", self.settings)

    @cached_property
    def secret_box(self) -> SecretBox:
        """What seals the secrets kept in the database (the TOTP keys)."""
        return SecretBox.for_installation(self.settings.data_key, self.settings.data_dir)

    def region_tree(self, reload: bool = False):
        """The region tree under the configured root, read once per runtime."""
        if reload or self.__dict__.get("_tree") is None:
            self.__dict__["_tree"] = RegionTree.load(self.db.engine, self.settings.region)
        return self.__dict__["_tree"]

    def close(self) -> None:
        for name in ("redis", "db"):
            source = self.__dict__.pop(name, None)
            if source is not None:
                source.close()
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
