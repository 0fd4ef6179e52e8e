"""The application factory: `create_app(settings)` builds a Dash app and does nothing else.

No work happens at import time and nothing is started here: the process that owns the
embedded Redis (the CLI) passes its URL in the settings, so any number of workers, or a
second app inside a test, can be built from the same settings.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from dash import Dash
from flask import jsonify, request
from flask_caching import Cache
from plotly.io import json as plotly_json
from werkzeug.middleware.proxy_fix import ProxyFix

from callbacks import case as case_callbacks
from callbacks import kpi as kpi_callbacks
from callbacks import period_picker, router
from callbacks import region as region_callbacks
from callbacks import status as status_callbacks
from callbacks import wall as wall_callbacks
from dashboard.app import (
    admin_routes,
    audit_routes,
    auth_gate,
    auth_routes,
    error_responses,
    live_feed,
    rate_limits,
    request_guard,
    security_headers,
)
from dashboard.app.admin_walls import AdminWalls
from dashboard.app.auth import Auth
from dashboard.app.context import AppContext, Lazy
from dashboard.app.runtime import Runtime
from dashboard.app.settings import Settings
from dashboard.app.wall_frames import FramePusher
from dashboard.app.wall_gate import WallGate
from dashboard.cache.shared_views import SharedViews
from dashboard.cache.warmer import Job, Warmer
from dashboard.domain.scope import RegionScope
from dashboard.domain.text import t
from dashboard.views.health import collect_health, is_operator, public_health
from dashboard.views.wall.model import OVERDUE_ROWS
from dashboard.views.wall.service import WallService
from data_sources import off_loop
from data_sources.account_store import AccountStore
from data_sources.aggregates_follower import Follower
from data_sources.audit_chain_check import ChainChecks
from data_sources.case_store import SqlCaseStore
from data_sources.event_feed import RedisEventFeed
from data_sources.label_store import SqlLabelStore
from data_sources.live_board import BoardFollower
from data_sources.login_limits import LoginLimits
from data_sources.regions import RegionNotLoaded
from data_sources.session_store import SessionStore
from data_sources.stream_skips import SUMMARY
from data_sources.wall_device_store import WallDeviceStore

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def create_app(settings: Settings | None = None) -> Dash:
    settings = settings or Settings.from_env()
    # plotly picks orjson for Dash's answers whenever it is installed (it is: the builder's
    # published models use it), and its orjson path first rewrites a component tree in
    # Python: a wall's 66 kB answer took 36 ms against 17 ms with the json engine.
    plotly_json.config.default_engine = "json"
    rt = Runtime(settings)
    app = Dash(__name__, assets_folder=str(ASSETS), title=t("common.app_title", settings.lang),
               update_title=None, serve_locally=True, suppress_callback_exceptions=True)
    server = app.server
    # Flask's own signed session is not used (login sessions live in Redis: auth.py); a
    # random key per process keeps anything signed with it unforgeable.
    server.config["SECRET_KEY"] = settings.secret_key or os.urandom(32).hex()
    server.config["GRIDWATCH_SETTINGS"] = settings
    if settings.trusted_proxies:
        # The client's address (lockouts, audit rows, a wall's --allow) and scheme (secure
        # cookies) as the trusted proxies saw them; Host stays the request's own, which
        # the origin check compares with.
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=settings.trusted_proxies,
                                   x_proto=settings.trusted_proxies)
    server.extensions["gridwatch_runtime"] = rt
    cache = Cache(server, config=_cache_config(settings))
    tree = Lazy(rt.region_tree)
    views = SharedViews(cache, lambda: rt.redis.client, settings.key_prefix)
    server.extensions["gridwatch_views"] = views
    cases = SqlCaseStore(lambda: rt.db.engine, tz=settings.timezone)
    live_cases = SqlCaseStore(lambda: rt.db.live_engine, tz=settings.timezone)
    events = RedisEventFeed(lambda: rt.redis)
    warmer = Warmer(settings.key_prefix, lambda: rt.redis.client)
    server.extensions["gridwatch_warmer"] = warmer
    # Login sessions and lockouts in the app's Redis, accounts in its database
    # (docs/security.md); tests move auth.clock to cross a timeout.
    auth = Auth(settings, lambda: AccountStore(rt.db.engine, box=rt.secret_box),
                SessionStore(lambda: rt.redis.client, settings.key_prefix),
                LoginLimits(lambda: rt.redis.client, settings.key_prefix))
    server.extensions["gridwatch_auth"] = auth
    # Enrolled wall screens: the wall's scope comes from its device (or the account).
    walls = WallGate(settings, lambda: WallDeviceStore(rt.db.engine), auth,
                     known=lambda code: tree.get().get(code) is not None)
    server.extensions["gridwatch_walls"] = walls
    ctx = AppContext(settings=settings, runtime=rt, tree=tree, cache=cache, cases=cases,
                     events=events, views=views, warmer=warmer,
                     labels=SqlLabelStore(lambda: rt.db.engine), viewer=auth.viewer,
                     record=auth.record, wall_access=walls.access,
                     compute=off_loop.python_cpu, live_cases=live_cases)
    # Started by the first request a worker serves, not here: building an app starts nothing.
    server.before_request(warmer.ensure_started)

    @server.route("/healthz")
    def healthz():
        # 503 only when nothing answers; the full report for an operator's bearer token.
        report = collect_health(rt.db, events, settings.region)
        code = 503 if report["status"] == "down" else 200
        if not is_operator(request.headers.get("Authorization"), settings.health_token):
            report = public_health(report)
        resp = jsonify(report)
        resp.headers["Cache-Control"] = "no-store"
        resp.vary.add("Authorization")
        return resp, code

    # Each worker keeps its live board current from the stream (docs/live-board.md).
    boards = Lazy(lambda: BoardFollower(rt.db.engine, rt.redis.reader,
                                        RegionScope.of(ctx.tree.get().get(settings.region)),
                                        settings.timezone, top=OVERDUE_ROWS))
    wall = WallService(ctx, views, on_row_error=SUMMARY.row_error, warmer=warmer,
                       board_source=lambda _root, now: boards.get().board(now))
    server.extensions["gridwatch_wall"] = wall
    shapes = wall_callbacks.new_shapes()
    # Each tick's panels, pushed over the walls' live feeds (dashboard/app/wall_frames.py).
    frames = None if settings.wall_resync_seconds <= 0 or wall.published is None else \
        (lambda hub: FramePusher(hub, lambda cfg, shown: wall_callbacks.frame(
            wall, cfg, shown, shapes), wall.published.tick, wall.prefetch_live))
    feed, hub, pusher = live_feed.blueprint(ctx, wall, walls, frames)
    server.register_blueprint(feed)
    server.extensions["gridwatch_stream_hub"] = hub
    server.extensions["gridwatch_wall_frames"] = pusher

    app.layout = router.shell()
    # One Page per module of callbacks/; the wall comes first: it is what "/" opens, and
    # the one page shown to a wall device (without a login).
    pages = [replace(wall_callbacks.page(wall, shapes), public=True), status_callbacks.page(ctx),
             kpi_callbacks.page(ctx), region_callbacks.page(ctx), case_callbacks.page(ctx)]
    for page in pages:
        page.register(app)
        for job in page.warmups:
            warmer.register(job)
    # The daily aggregates follow the stream once per tick across all workers; the KPI
    # counts read them while they are followed (docs/aggregates.md).
    follower = Lazy(lambda: Follower(rt.db.engine, rt.redis.reader(), settings.timezone))
    warmer.register(Job("aggregates", every=settings.refresh_seconds, shared=True,
                        run_first=True, work=lambda now: follower.get().step(now),
                        exclusive_seconds=60))
    period_picker.register(app)  # shared by /kpi and /region
    router.register(app, ctx, pages)
    # Each install below wraps the callbacks' dispatch: the last one runs first. So a
    # callback passes the auth gate, the request guard, the rate limits, then runs.
    rate_limits.install(app, settings, auth)
    request_guard.install(app, settings.callbacks_max,  # after every callback: it checks
                          settings.callbacks_queue_seconds,  # each one's inputs
                          periodic_seconds=settings.refresh_seconds)
    server.register_blueprint(auth_routes.blueprint(auth, lambda code: _region_name(ctx, code)))
    # /admin and /audit: accounts and the audit trail on the web (docs/security.md).
    # Its wall devices' section and forms take the wall gate's store (the same devices).
    wall_admin = AdminWalls(auth, lambda: walls.directory.store, lambda: _tree_or_none(ctx),
                            settings.timezone, settings.public_url)
    server.register_blueprint(admin_routes.blueprint(auth, lambda: _tree_or_none(ctx),
                                                     walls_section=wall_admin.section))
    server.register_blueprint(wall_admin.blueprint())
    server.extensions["gridwatch_admin_walls"] = wall_admin
    server.register_blueprint(audit_routes.blueprint(
        auth, ChainChecks(lambda: auth.accounts.audit, lambda: rt.redis.client,
                          settings.key_prefix), settings.timezone))
    # After the request guard: its checks run first, on every page and callback.
    auth_gate.install(app, auth, [p.path for p in pages if p.public], walls)
    error_responses.install(app, settings.lang)
    # Last: the script hashes of its policy cover every callback registered before it.
    security_headers.install(app, https=settings.secure_cookies)
    return app


def _region_name(ctx: AppContext, code: str) -> str:
    region = ctx.tree.get().get(code)
    return region.name if region is not None else code


def _tree_or_none(ctx: AppContext):
    """The region tree, None when it is not imported (codes are then checked by shape)."""
    try:
        return ctx.tree.get()
    except RegionNotLoaded:
        return None


def _cache_config(settings: Settings) -> dict:
    if not settings.redis_url:
        return {"CACHE_TYPE": "SimpleCache"}
    return {
        # flask-caching's RedisCache on the app's own kind of client (pool, timeouts).
        "CACHE_TYPE": "data_sources.redis_cache.cache_factory",
        "CACHE_REDIS_URL": settings.redis_url,
        "CACHE_KEY_PREFIX": settings.key_prefix + "cache:",
    }
