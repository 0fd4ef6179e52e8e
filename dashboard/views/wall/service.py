"""The wall's view models, shared: one computation per region per tick for every viewer.

`WallService.live(region)` and `.period(region)` return the view models (their shapes:
shapes.py) from the shared cache (dashboard.cache.shared_views); `.config(query, access)`
turns a wall URL's query string into the wall's settings, inside what the wall device (or
the account) may show, replacing what is invalid with defaults
rather than failing: a wall never shows an error page.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from dashboard.cache.bounded import Bounded
from dashboard.cache.published import RedisUnavailable
from dashboard.cache.published import redis_call as _redis_call
from dashboard.cache.warmer import Job, Warmer
from dashboard.domain.accounts import narrow_for
from dashboard.domain.language import language
from dashboard.domain.live_board import DEEPEST, LiveBoard
from dashboard.domain.metrics import DEFAULT_MAP_METRIC, WALL_MAP
from dashboard.domain.periods import local_today, this_month
from dashboard.domain.scope import OutOfScope, RegionScope, narrow
from dashboard.domain.stores import Busy
from dashboard.domain.text import time_left
from dashboard.domain.walls import WallAccess
from dashboard.views.wall.live_models import at_tick, database_up, live_models
from dashboard.views.wall.model import (
    OVERDUE_ROWS,
    build_live,
    build_period,
    iso_utc,
    previous_counts,
    previous_window,
    stream_state,
    with_since,
)
from dashboard.views.wall.pace import Pace
from dashboard.views.wall.shapes import LiveModel, PeriodModel
from dashboard.views.wall.ticker import ticker_row

log = logging.getLogger(__name__)
PERIOD_SECONDS = 60
PERIOD_READ_SECONDS = 10   # a worker's copy of a region's period view lives one tick, at
                           # most this long
PERIOD_BOARD_SECONDS = 300  # this month's counts of every region: a pass over the month
WATCH_TICKS = 3            # a region no screen asked for in this many of its intervals is
                           # not built any more
WATCH_MAX = 2000           # regions warmed per worker (a province has ~1,345 walls); more
                           # are still served, computed on demand, but not warmed
READ_MEMO_SECONDS = 1.0    # screens of one region in one worker share a read of its model
FIRST_WAIT_TICKS = 1       # a wall's first answer waits at most this long for the builder,
FIRST_WAIT_MAX_SECONDS = 2 # holding a callback's turn meanwhile ({}: "waiting" till the next)
LEASE_TICKS = 6            # the builder's lease, renewed every tick it builds ...
LEASE_MIN_SECONDS = 60     # ... and never shorter than a province's first full pass
CASE_INFO_SECONDS = 60
PENDING = object()         # a board being built for the first time (period_board)
CASE_INFO_MAX = 20_000
PREPARE_PAUSE_SECONDS = 10   # after the cases could not be read, the pages read their own
TICKER_INITIAL = 24
ROTATE_MAX_SECONDS = 86400


class WallService:
    def __init__(self, ctx, views, on_row_error=None, warmer: Warmer | None = None,
                 board_source=None):
        self.ctx = ctx
        # (root scope, now) -> LiveBoard: the app's stream follower; None: a full pass.
        self.board_source = board_source
        # Told about an event that cannot become a ticker row (the app counts them in the
        # stream's skip summary); by default it is logged.
        self.on_row_error = on_row_error or _log_row_error
        self.views = views  # dashboard.cache.shared_views.SharedViews
        self.settings = ctx.settings
        self._watched: dict[str, float] = {}     # region -> last time a viewer asked
        # How many ticks apart this worker's walls refresh: 1 until it cannot keep up.
        self.pace = Pace(self.settings.refresh_seconds)
        # At each tick boundary the live view of every region watched in the last ticks
        # is rebuilt, so that no viewer's request pays for it. The app registers this job
        # with its one warmer; a service built alone (tests, benches) keeps its own.
        self.warmup = Job("wall-live", self.settings.refresh_seconds, self.warm_watched)
        if warmer is None:
            warmer = Warmer()
            warmer.register(self.warmup)
        self.warmer = warmer
        # Case details for ticker rows, per (scope, case): every live page of a worker
        # shows the same batch, so the database is asked once per batch, not once per page.
        self._case_info: OrderedDict[tuple[str, int], tuple[float, dict | None]] = OrderedDict()
        self._case_info_lock = threading.Lock()
        self._cases_failed_at = float("-inf")
        self._board: tuple[int, LiveBoard] | None = None   # (tick, board) of this worker
        self._board_lock = threading.Lock()
        # (slot, board or PENDING or None, monotonic time until which it is kept)
        self._period: tuple[int, object, float] | None = None
        self._fetch_lock = threading.Lock()     # the period and previous boards' fetches
        self._previous: tuple[object, LiveBoard | None] | None = None   # (window, board)
        self._streams: tuple[int, dict] | None = None     # (tick, stream_state) of this worker
        # The live models every worker reads, published by the one worker holding the
        # lease (dashboard/cache/published.py); what this worker published last, when it
        # is that worker; and its screens' recent reads.
        self.published = views.published("wall-live", self.settings.view_keep_seconds) \
            if views is not None else None
        self._token = uuid.uuid4().hex
        self._models: dict[str, LiveModel] = {}
        self._tick_record: dict | None = None
        self._lease_free = False       # the builder's lease was free at the last tick
        self._leading = False          # this process held the lease at its last tick
        self._period_built: dict[str, datetime] = {}  # region -> its period board's time
        self._read = Bounded(WATCH_MAX)
        self._period_read = Bounded(WATCH_MAX)
        self.last_publish: dict = {}

    # Configuration ---------------------------------------------------------------------
    def config(self, query: dict[str, str], access: WallAccess) -> tuple[dict, list[str]]:
        """(cfg, notices): the wall's settings from `?region=&metric=&lang=&rotate=&privacy=`
        inside what `access` (the wall device's, or the account's) may show. Invalid values
        fall back to defaults and are named in `notices`; a region outside the access reads
        as unknown (the access's first region is shown). The device's privacy cannot be
        turned off from the URL."""
        s, notices = self.settings, []
        region = query.get("region") or access.home
        try:
            region = self.scoped(region, access.roots)
        except OutOfScope:
            notices.append(f"region:{str(region)[:40]}")
            region = self.scoped(access.home, access.roots)
        metric = _text(query.get("metric")) or DEFAULT_MAP_METRIC
        if metric not in WALL_MAP:
            notices.append(f"metric:{metric[:40]}")
            metric = DEFAULT_MAP_METRIC
        rotate = 0
        if query.get("rotate"):
            rotate = rotate_seconds(query["rotate"])
            if rotate is None:
                notices.append(f"rotate:{str(query['rotate'])[:40]}")
                rotate = 0
        lang = language(query.get("lang"), s.lang)
        return {"region": region, "root": access.home, "metric": metric, "lang": lang,
                "privacy": access.privacy or query.get("privacy") == "1", "rotate": rotate,
                "refresh_ms": int(s.refresh_seconds * 1000), "tz": s.timezone,
                "reload_hour": s.wall_reload_hour,
                "target": s.satisfaction_target}, notices

    def scoped(self, region: object, roots: tuple[str, ...] | None = None) -> str:
        """`region` when it is a region inside this server's root and, given `roots` (a
        wall access's), inside one of them; OutOfScope otherwise. Everything a browser
        sends back (a store, a URL) goes through here before it is used or remembered."""
        tree = self.ctx.tree.get()
        code = narrow(RegionScope.of(tree.get(self.settings.region)), region, tree).code
        if roots is not None:
            narrow_for(roots, code, tree)
        return code

    def refresh_config(self, region: object, stored: object, access: WallAccess) -> dict:
        """A refresh's settings re-derived on the server. The browser's copy of the wall's
        config is a value it may have forged: only the viewer's own choices are read
        from it (metric, language, privacy), each validated; the region must lie inside
        the access's regions (OutOfScope otherwise); everything else comes from the
        settings and the access."""
        stored = stored if isinstance(stored, dict) else {}
        region = self.scoped(region if region is not None else stored.get("region"),
                             access.roots)
        cfg, _ = self.config({"metric": _text(stored.get("metric")),
                              "lang": _text(stored.get("lang")),
                              "privacy": "1" if stored.get("privacy") is True else ""}, access)
        return {**cfg, "region": region}

    def rotation(self, root: str) -> list[str]:
        """The region, then each of its children: what `?rotate=` cycles through."""
        return [root, *self.ctx.tree.get().child_codes(root)]

    # Shared views ----------------------------------------------------------------------
    def tick(self, now: float | None = None) -> int:
        return int((now or time.time()) // self.settings.refresh_seconds)

    def live(self, region_code: str) -> LiveModel:
        """Today's view for a viewer: the newest model the builder published for the
        region (one worker builds every watched region at each tick:
        `warm_watched`), never waiting for a build once one exists. The region is
        checked before it is remembered for the builder. Without Redis each worker
        builds its own screens' views in-process."""
        region_code = self.scoped(region_code)
        self._touch(region_code)
        try:
            return self._published_live(region_code)
        except Busy:
            return self._read.get(region_code, (0, {}))[1]   # Redis has no free connection
        except RedisUnavailable as exc:
            log.debug("published views unavailable (%s); building in-process", exc)
            return self._live(region_code, stale_ok=True)

    def prefetch_live(self, codes: list[str]) -> None:
        """Read the published models of `codes` in one round trip, for the `live` calls
        that follow within READ_MEMO_SECONDS (the frames of a tick:
        dashboard/app/wall_frames.py); nothing when Redis cannot tell."""
        try:
            models, tick = _redis_call(self.published.get_many, codes)
        except (Busy, RedisUnavailable):
            return
        now = time.monotonic()
        for code, model in models.items():
            if model:
                self._read[code] = (now, at_tick(model, tick, self.settings.timezone))

    def _touch(self, region_code: str) -> None:
        if region_code not in self._watched and len(self._watched) >= WATCH_MAX:
            return
        self._watched[region_code] = time.time()
        self.warmer.ensure_started(self.warmup.name)

    def _published_live(self, code: str) -> LiveModel:
        hit = self._read.get(code)
        if hit is not None and time.monotonic() - hit[0] < READ_MEMO_SECONDS:
            return hit[1]
        model, tick = _redis_call(self.published.get, code)
        if model is None:
            model, tick = self._first_live(code)
        if model:
            model = at_tick(model, tick, self.settings.timezone)
            self._read[code] = (time.monotonic(), model)
        return model

    def _first_live(self, code: str) -> tuple[dict, dict]:
        """A region no model was published for yet: the builder is told, and builds it
        here if this worker is the builder; otherwise the next publication is waited for
        (a wall's first answer), at most FIRST_WAIT_TICKS ticks ({}: "waiting")."""
        _redis_call(self.published.watch,
                    {code: time.time() + self._watch_seconds(self.pace.current())})
        # A web worker beside a builder process builds here only if it has taken over;
        # otherwise the builder is asked for it and builds it between its ticks.
        eager = self.settings.wall_builder == "worker"
        if (eager or _redis_call(self.published.leader) == self._token) and \
                _redis_call(self.published.lead, self._token, self.lease_seconds()):
            self.publish_live([code], keep=True)
        else:
            if not eager:
                _redis_call(self.published.ask, code)
            deadline = time.monotonic() + min(FIRST_WAIT_TICKS * self.settings.refresh_seconds,
                                              FIRST_WAIT_MAX_SECONDS)
            while time.monotonic() < deadline:
                time.sleep(0.1)
                model, tick = _redis_call(self.published.get, code)
                if model is not None:
                    return model, tick
        model, tick = _redis_call(self.published.get, code)
        return model or {}, tick

    def _watch_seconds(self, factor: int) -> float:
        """How long a region stays watched after its last screen asked: WATCH_TICKS of
        the intervals this worker tells its screens."""
        return WATCH_TICKS * self.settings.refresh_seconds * factor

    def lease_seconds(self) -> float:
        # Long enough for a 10M province's first full pass; a dead builder's screens show
        # their last models (with their age) until another worker takes over.
        return max(LEASE_TICKS * self.settings.refresh_seconds * self.pace.current(),
                   LEASE_MIN_SECONDS)

    def warm_watched(self, _now=None) -> None:
        """At each tick, tell the builder which regions this worker's screens asked for
        in their last WATCH_TICKS intervals (views.wall.pace: a slowed screen asks every
        few ticks), each until when it is watched; the builder then publishes every region
        some worker still watches. Without Redis each worker builds its own screens'
        views."""
        factor = self.pace.current()
        window = self._watch_seconds(factor)
        now = time.time()
        for region, seen in list(self._watched.items()):
            if now - seen > window:
                self._watched.pop(region, None)
        try:
            self.published.watch({region: seen + window for region, seen in self._watched.items()})
        except Exception as exc:  # noqa: BLE001 - Redis down: this worker's screens only
            log.info("no published views (%s): building this worker's walls", exc)
            if self.tick() % factor == 0:
                for region in list(self._watched):
                    try:
                        self._live(region, stale_ok=False)
                    except Exception:  # noqa: BLE001 - the next tick tries again
                        log.exception("warming the wall of %s failed", region)
            return
        self.build_tick(eager=self.settings.wall_builder == "worker", factor=factor)

    def build_tick(self, eager: bool = True, factor: int | None = None) -> None:
        """The builder's tick: if this process holds the builder's lease (or takes it),
        publish the live model of every region some worker's screens asked for lately.
        `eager`: take a free lease at once (the builder process; a web worker when no
        builder process runs); otherwise only when it was free at this process's
        previous tick too (the builder process is gone, not between two renewals)."""
        factor = self.pace.current() if factor is None else factor
        if not self._lead(eager):
            return
        regions = self.published.watched()
        if self.tick() % factor:
            # Walls refresh every `factor` ticks: so does the builder. A region no model
            # was published for yet (a wall just opened, on any worker) is built now:
            # until then its screen has nothing to show.
            new = [code for code in regions if code not in self._models]
            if new:
                self.publish_live(new, keep=True)
        elif regions:
            self.publish_live(regions[:WATCH_MAX * 2])
        if self.warm_periods(regions[:WATCH_MAX * 2]):
            # Building the period views can outlast a short lease: renewed after it, so
            # that no web worker takes over from a builder that is only busy.
            self._leading = self.published.lead(self._token, self.lease_seconds())

    def build_asked(self, codes: list[str]) -> None:
        """Between ticks, the builder process builds the regions a web worker asked for
        (a wall just opened) that it has not published yet."""
        tree = self.ctx.tree.get()
        new = [c for c in codes if c not in self._models and tree.get(c) is not None]
        if new and self.published.leader() == self._token:
            self.publish_live(new, keep=True)

    def _lead(self, eager: bool) -> bool:
        self._leading = self._take_lease(eager)
        return self._leading

    def _take_lease(self, eager: bool) -> bool:
        if eager:
            return self.published.lead(self._token, self.lease_seconds())
        holder = self.published.leader()
        if holder == self._token:
            return self.published.lead(self._token, self.lease_seconds())
        was_free, self._lease_free = self._lease_free, holder is None
        return holder is None and was_free and self.published.lead(self._token,
                                                                   self.lease_seconds())

    def publish_live(self, codes: list[str], keep: bool = False) -> None:
        """Build the live models of `codes` that changed since this worker last published
        them (views/wall/live_models.py) at this tick's board, and publish those with the
        tick's record (its clock, the stream's state) for every worker. `keep` adds to
        what the builder remembers instead of replacing it (one region asked for between
        ticks)."""
        started = time.perf_counter()
        tree = self.ctx.tree.get()
        regions = [r for r in (tree.get(c) for c in dict.fromkeys(codes)) if r is not None]
        board = self.board(self.tick()) if any(r.level <= DEEPEST for r in regions) else None
        now = board.now if board is not None else \
            datetime.now(timezone.utc).replace(microsecond=0)
        on_board = [r for r in regions if board is not None and r.level <= DEEPEST]
        # time.sleep(0) yields to the worker's other greenlets (gevent) between builds.
        models, built = live_models(board, tree, on_board, self.settings.timezone,
                                    self._models, pause=lambda: time.sleep(0)) \
            if on_board else ({}, [])
        for region in regions:
            if region.code not in models:  # finer than the board, or no board this tick
                previous = self._models.get(region.code)
                if previous and database_up(previous) and self._tick_record is not None:
                    # As the screens showed it at the last tick (a carried-over model at
                    # that tick's clock): a database gone since keeps those times; the
                    # model's own, older ones made the panels' time jump back.
                    previous = at_tick(previous, self._tick_record, self.settings.timezone)
                models[region.code] = self._build(region, None, previous)
                built.append(region.code)
        # The stream's state is one for all walls: "down since" carried tick to tick here.
        if self._tick_record is None or self._tick_record["now"] != now.isoformat():
            self._tick_record = {"now": now.isoformat(),
                                 "base": board.base if board is not None else "",
                                 "streams": with_since(
                self._stream_state(now), {"sources": (self._tick_record or {}).get("streams")},
                now)}
        retired = {}
        if keep:
            self._models = {**self._models, **models}
        else:
            # A region no screen asks for any more keeps its last model, marked as no
            # longer followed: asked for again later, it is shown at its own time (never
            # moved to a new clock as though it were current) until the next tick builds it.
            retired = {code: {**model, "retired": True} for code, model in self._models.items()
                       if code not in models and not model.get("retired")}
            self._models = models
        self.published.put({**retired, **{code: models[code] for code in built}},
                           self._tick_record, counted=built)
        self.last_publish = {"regions": len(models), "built": len(built),
                             "retired": len(retired),
                             "ms": (time.perf_counter() - started) * 1000}

    def _build(self, region, board: LiveBoard | None, previous) -> dict:
        # The board is the store of every region down to townships, at its own clock;
        # finer regions (a community's wall) count their few cases directly.
        tree = self.ctx.tree.get()
        now = board.now if board is not None else datetime.now(timezone.utc)
        return build_live(board or self.ctx.cases, tree, region, self.settings.timezone,
                          now, previous)

    def _live(self, region_code: str, stale_ok: bool) -> dict:
        """The region's live view through the shared views, built by whichever worker asks
        first: the path without published views (Redis down: in-process)."""
        region = self.ctx.tree.get().get(region_code)

        def build(previous):
            board = self.board(self.tick()) if region.level <= DEEPEST else None
            model = self._build(region, board, previous)
            now = datetime.fromisoformat(model["computed_at"])
            model["sources"].update(with_since(self._stream_state(now), previous, now))
            return model
        return self.views.get("wall-live", region_code, self.tick(),
                              ttl=self.settings.refresh_seconds * 3, build=build,
                              stale_ok=stale_ok, keep_seconds=self.settings.view_keep_seconds)

    def _stream_state(self, now: datetime) -> dict:
        """Redis and the stream's state, asked once per tick in this worker, not once per
        region (3.8% of a province's workers asked Redis the same question 1,345 times)."""
        tick = self.tick()
        memo = self._streams
        if memo is None or memo[0] != tick:
            memo = self._streams = (tick, stream_state(self.ctx.events, now))
        return memo[1]          # read only: with_since copies each state it carries over

    def board(self, tick: int) -> LiveBoard | None:
        """This tick's live board of the root, made once per tick in this worker (by the
        app's stream follower, data_sources.live_board.BoardFollower, whose cost follows
        the events; by a full pass without one). None when it cannot be had (the
        database is down, or the store has no board): each region then counts on its
        own, which fails or succeeds alone."""
        with self._board_lock:
            if self._board is not None and self._board[0] == tick:
                return self._board[1]
            s = self.settings
            root = RegionScope.of(self.ctx.tree.get().get(s.region))
            # Whole seconds: the clock the models show (computed_at) is the one they
            # were counted at.
            now = datetime.now(timezone.utc).replace(microsecond=0)
            try:
                board = self.board_source(root, now) if self.board_source else \
                    self.ctx.cases.live_board(root, now, s.timezone, OVERDUE_ROWS)
            except Exception as exc:  # noqa: BLE001 - one failure per tick, not per region
                log.warning("the live board of %s failed: %s", root.code, exc)
                board = None
            self._board = (tick, board)
            return board

    def period(self, region_code: str) -> PeriodModel:
        region = self.ctx.tree.get().get(region_code)
        # A model read from Redis (and unpickled) once a tick in this worker rather than
        # at every refresh of every screen of the region.
        slot = int(time.time() // PERIOD_SECONDS)
        hit = self._period_read.get(region_code)
        fresh_for = min(PERIOD_READ_SECONDS, self.settings.refresh_seconds)
        if hit is not None and hit[0] == slot and time.monotonic() - hit[1] < fresh_for:
            return hit[2]
        # The period board may be minutes old; the region's live view of this tick says
        # whether the database answers now (without it the view counts per region, and
        # says so when that fails, as the badge expects). Not this worker's own live
        # board: only the builder follows the stream.
        board = self.period_board(wait=False) if region.level <= DEEPEST and \
            self._answering(region_code) else None
        if board is PENDING:
            # This month's board is being built for the first time (a fresh start, every
            # region's model waits for it): the region's last good model or "waiting",
            # never a callback's turn spent on it. A province's 1,345 refreshes otherwise
            # held every turn of the gate for as long as the board took to build, and the
            # rest of the screens got 503s or answers 40 s late (bench.province_scale).
            return self.views.last_good("wall-period", region_code) or {}
        # A model built from this very board does not change until the next board (every
        # PERIOD_BOARD_SECONDS): not read and unpickled again at every tick (6.5% of a
        # province's web workers, frames pushed: dashboard/app/wall_frames.py). A last
        # good one served while the board's is built is read again.
        if board is not None and hit is not None and hit[3] == board.now:
            self._period_read[region_code] = (slot, time.monotonic(), hit[2], board.now)
            return hit[2]
        # Seconds at province scale: rebuilt in the background, viewers never wait for
        # it; where the wall builder process builds it (warm_periods), only read here.
        # From a board, a model not built yet is built in the background (or by the
        # builder process) and the screen is told "waiting" meanwhile; without one (the
        # board failed, the database does not answer) the region counts on its own.
        model = self._period_view(region, board, slot, stale_ok=True, defer=self._defers(),
                                  wait=board is None) or {}
        if model:
            built_from = board.now if board is not None and \
                model.get("computed_at") == iso_utc(board.now) else None
            self._period_read[region_code] = (slot, time.monotonic(), model, built_from)
        return model

    def _period_view(self, region, board: LiveBoard | None, slot: int, **how) -> PeriodModel:
        """The region's period model through the shared views. From a period board it
        changes only when the board does (every PERIOD_BOARD_SECONDS): one build per
        board, not one a minute."""
        key = f"board-{int(board.now.timestamp())}" if board is not None else str(slot)
        return self.views.get("wall-period", region.code, key,
                              ttl=PERIOD_BOARD_SECONDS * 2 if board else PERIOD_SECONDS * 3,
                              build=self._period_build(region, board), lock_seconds=300,
                              keep_seconds=self.settings.view_keep_seconds, **how)

    def _period_build(self, region, board: LiveBoard | None):
        def build(previous):
            tree = self.ctx.tree.get()
            now = board.now if board is not None else datetime.now(timezone.utc)
            day = local_day(now, self.settings.timezone)
            # The ranking's 较昨日 of every region from one board a day (a pass over this
            # month up to yesterday), not one query per region: 1,345 at a province's start.
            earlier = self.previous_board(now) if board is not None else None
            try:
                before = self.views.get(
                    "wall-before", region.code, day,
                    ttl=min(86400, self.settings.view_keep_seconds),
                    build=lambda _last: previous_counts(earlier or self.ctx.cases, region,
                                                        self.settings.timezone, now),
                    stale_ok=True, lock_seconds=300,
                    keep_seconds=self.settings.view_keep_seconds)
            except Exception as exc:  # noqa: BLE001 - the database down: no 较昨日
                # The ranking then shows no change, and the model says whether the
                # database answers (build_period): a screen whose first period view
                # came during an outage got an error instead of the outage's badge.
                log.info("the ranking's change since yesterday of %s unavailable: %s",
                         region.code, exc)
                before = None
            return build_period(board or self.ctx.cases, tree, region,
                                self.settings.timezone, now, previous, self.settings.weights,
                                before)
        return build

    def warm_periods(self, codes: list[str]) -> int:
        """The builder's share of the period views: each watched region's model from this
        slot's period board, built here once per board, so that web workers only read
        them (`_defers`). A region whose live view says the database does not answer is
        left to the readers (they count it on its own and say so). How many it built."""
        board = self.period_board()
        if board is None:
            return 0
        tree, built = self.ctx.tree.get(), 0
        for code in codes:
            region, live = tree.get(code), self._models.get(code)
            if region is None or region.level > DEEPEST or \
                    self._period_built.get(code) == board.now or not live or \
                    not database_up(live):
                continue
            self._period_view(region, board, 0)
            self._period_built[code] = board.now
            built += 1
            time.sleep(0)           # yields to a web worker's requests (gevent) if one builds
        return built

    def _defers(self) -> bool:
        """Views the builder makes are only read here: a web worker beside the builder
        process that does not hold its lease."""
        return self.settings.wall_builder == "process" and not self._leading

    def _answering(self, region_code: str) -> bool:
        return database_up(self.live(region_code))

    def period_board(self, wait: bool = True):
        """This month's counts of every region down to townships, from one pass every
        PERIOD_BOARD_SECONDS across workers (the rankings of a province's walls: one
        computation, not one per region and minute). Viewers get the last good one
        while it is rebuilt; None when there is none (each region counts on its own).
        `wait=False` (a screen's refresh): PENDING while the first one is built, here or
        elsewhere, instead of waiting for it."""
        slot = int(time.time() // PERIOD_BOARD_SECONDS)
        # One fetch per worker at a time: a province's walls ask for it together, and each
        # unpickling of the whole board costs tens of ms. A builder in this worker holds
        # the lock while it builds the board: a screen does not wait for that.
        if not self._fetch_lock.acquire(blocking=wait):
            memo = self._period
            return memo[1] if memo is not None and memo[1] is not PENDING else PENDING
        try:
            return self._fetch_period_board(slot, wait)
        finally:
            self._fetch_lock.release()

    def _fetch_period_board(self, slot: int, wait: bool = True):
        memo = self._period
        if memo is not None and memo[0] == slot and time.monotonic() < memo[2]:
            return memo[1]
        s = self.settings

        def window():
            now = datetime.now(timezone.utc).replace(microsecond=0)
            return this_month(now, s.timezone), now
        board = self._shared_board("wall-period-board", slot, window, log.warning,
                                   ttl=PERIOD_BOARD_SECONDS * 2, stale_ok=True,
                                   keep_seconds=PERIOD_BOARD_SECONDS * 3, wait=wait)
        # Kept for the slot once it is this slot's; an older slot's (being rebuilt) is
        # fetched again at most every 10 s, a pending one every second.
        final = isinstance(board, LiveBoard) and \
            int(board.now.timestamp() // PERIOD_BOARD_SECONDS) == slot
        keep = math.inf if final else 1.0 if board is PENDING else 10.0
        self._period = (slot, board, time.monotonic() + keep)
        return board

    def previous_board(self, now: datetime) -> LiveBoard | None:
        """Every region's counts over previous_window (this month up to yesterday), from
        one pass a day across workers; None when there is none (each region asks)."""
        s = self.settings
        win = previous_window(now, s.timezone)
        with self._fetch_lock:          # one fetch per worker at a time (period_board)
            if self._previous is not None and self._previous[0] == win:
                return self._previous[1]   # once a day per worker, not per region
            return self._fetch_previous_board(win)

    def _fetch_previous_board(self, win) -> LiveBoard | None:
        board = self._shared_board("wall-previous-board", int(win.end.timestamp()),
                                   lambda: (win, win.end), log.info, ttl=86400,
                                   stale_ok=False, keep_seconds=2 * 86400)
        board = board if board is not None and board.today == win else None
        self._previous = (win, board)
        return board

    def _shared_board(self, name, key, window, log_failure, *, ttl, stale_ok,
                      keep_seconds, wait: bool = True):
        """The root's period board over window() -> (window, now), built once across
        workers; None when it failed or is not there (each region then counts on its own:
        a failure is stored as a marker so that no worker retries it before the ttl);
        `wait=False`: PENDING while there is none yet and it is being built."""
        root = RegionScope.of(self.ctx.tree.get().get(self.settings.region))

        def build(_last):
            try:
                win, now = window()
                return self.ctx.cases.period_board(root, win, now)
            except Exception as exc:  # noqa: BLE001 - each region counts on its own
                log_failure("the %s of %s failed: %s", name, root.code, exc)
                return {"failed": str(exc)[:200]}
        board = self.views.get(name, root.code, key, ttl=ttl, build=build,
                               stale_ok=stale_ok, lock_seconds=600, keep_seconds=keep_seconds,
                               defer=self._defers(), wait=wait)
        if board is None and not wait:
            return PENDING
        return board if isinstance(board, LiveBoard) else None

    def _case_summaries(self, scope, ids: list[int]) -> dict[int, dict]:
        now = time.monotonic()
        with self._case_info_lock:
            out, missing = {}, []
            for i in ids:
                hit = self._case_info.get((scope.code, i))
                if hit is not None and now - hit[0] < CASE_INFO_SECONDS:
                    if hit[1] is not None:
                        out[i] = hit[1]
                else:
                    missing.append(i)
        if not missing:
            return out
        # Read without the lock: the hub reading the next batch's cases must not hold
        # back the pages' rows of this one for a round trip (or a wait for a connection).
        try:
            found = (self.ctx.live_cases or self.ctx.cases).case_summaries(scope, missing)
        except Exception:  # noqa: BLE001 - rows go out with the events' own fields
            self._cases_failed_at = now
            return out
        with self._case_info_lock:
            for i in missing:
                self._case_info[(scope.code, i)] = (now, found.get(i))
            while len(self._case_info) > CASE_INFO_MAX:
                self._case_info.popitem(last=False)
        out.update(found)
        return out

    def initial_ticker(self, region_code: str, privacy: bool, lang: str) -> tuple[list, str | None]:
        """The newest events of the region (newest first) and the stream ID the page's
        live feed resumes after."""
        tree = self.ctx.tree.get()
        try:
            feed = self.ctx.events
            tail = feed.tail_id()
            # Up to `tail`: what comes after it reaches the page through the live feed.
            events = [e for e in feed.latest(400, upto=tail)
                      if tree.contains(region_code, e.grid)]
        except Exception:  # noqa: BLE001 - Redis down: the feed connects when it returns
            return [], None
        return self.ticker_rows(events[-TICKER_INITIAL:], region_code, privacy, lang)[::-1], tail

    def prepare_ticker(self, events: list) -> None:
        """Reads the cases of a batch of events for every page's `ticker_rows` that
        follows (within CASE_INFO_SECONDS): the live feed's hub calls it once per batch,
        before the pages get it. Not while the database has just failed: the hub would
        wait for its timeout at every batch, and every page with it."""
        if time.monotonic() - self._cases_failed_at < PREPARE_PAUSE_SECONDS:
            return
        self._case_summaries(self._root_scope(), [e.case_id for e in events])

    def _root_scope(self) -> RegionScope:
        return RegionScope.of(self.ctx.tree.get().get(self.settings.region))

    def ticker_rows(self, events: list, region_code: str, privacy: bool, lang: str) -> list[dict]:
        """Ticker rows of events (oldest first), enriched from the case table (one query
        per batch and worker); without the database they carry what the events say."""
        tree = self.ctx.tree.get()
        # One query per batch for every page of this worker (root scope), then only the
        # cases of this page's region keep their details: the region scope still holds.
        info = {i: v for i, v in self._case_summaries(
                    self._root_scope(), [e.case_id for e in events]).items()
                if tree.contains(region_code, v.get("grid_code") or "")}
        now = datetime.now(timezone.utc)
        zone = ZoneInfo(self.settings.timezone)
        rows = []
        for e in events:
            try:
                row = ticker_row(e, info.get(e.case_id), tree, zone, now, privacy, lang)
                row["left"], row["left_class"] = time_left(row["seconds_left"], lang,
                                                           row["settled"])
            except Exception as exc:  # noqa: BLE001 - one odd event never stops the others
                self.on_row_error(getattr(e, "entry_id", "?"), exc)
                continue
            rows.append(row)
        return rows


def rotate_seconds(text: object) -> int | None:
    """Seconds between rotations from `?rotate=`: at least 10, at most a day; None for
    anything else (inf, nan, 1e309 and negative numbers included)."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return int(min(max(10.0, value), ROTATE_MAX_SECONDS))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _log_row_error(entry_id: str, exc: BaseException) -> None:
    log.warning("stream entry %s cannot be shown: %s", entry_id, exc)


def local_day(now: datetime, tz: str) -> int:
    return local_today(now, tz).toordinal()

