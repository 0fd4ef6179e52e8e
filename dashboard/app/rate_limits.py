"""Per-account rate limits on the views that cost the most (Flask-Limiter).

What is limited, per account (every session of it together), each with its setting:
- `rate_limit_pages`: /kpi and /region drawn by the router, which compute a period;
- `rate_limit_custom`: those over a custom date range instead, a lower limit (a range
  nobody else asked for shares no cached figures: its cost is all its own);
- `rate_limit_exports`: the exports (CSV, Excel) of those pages.

The counters live in the app's Redis under its key prefix, so every worker and instance
counts together (in memory when no Redis is configured, as in tests without one). Never
limited: the wall's callbacks and its live feed (a province's walls refresh every few
seconds), /status and /case, the login (its lockout counts failures instead:
data_sources/login_limits.py). A refused request is answered 429 with Retry-After and a
sentence the page shows (assets/pages.js); the page keeps what it showed.
"""
from __future__ import annotations

import logging
import math
import re
import time

from flask import Response, g, json, request
from flask_limiter import Limiter

from callbacks.router import parse_query
from dashboard.domain.language import language
from dashboard.domain.text import t
from dashboard.views.url_state import period_of
from data_sources.redis_client import make_client

log = logging.getLogger(__name__)

ROUTER = ("page", "children")          # the router's output: component, property
PERIOD_PAGES = re.compile(r"/kpi|/region/[^/]*")
EXPORT_OUTPUTS = ("export-download.data", "cases-download.data")
# Each request counts against one limit, its kind's: with two, the one checked first
# would be spent by a request the other refuses.
PAGE, CUSTOM, EXPORT = "page", "custom", "export"


def _value(items, component: str, prop: str):
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and item.get("id") == component and item.get("property") == prop:
            return item.get("value")
    return None


def _search(body: dict) -> str | None:
    search = _value(body.get("inputs"), "url", "search") or _value(body.get("state"), "url",
                                                                   "search")
    return search if isinstance(search, str) else None


def kind_of(body) -> str | None:
    """PAGE, CUSTOM or EXPORT for a callback request the limits count; None for all
    others (the wall's, /status's, the controls that only rewrite the URL)."""
    if not isinstance(body, dict):
        return None
    output = body.get("output")
    if output in EXPORT_OUTPUTS:
        return EXPORT
    if not isinstance(output, str) or tuple(output.rsplit(".", 1)) != ROUTER:
        return None
    path = _value(body.get("inputs"), "url", "pathname")
    if not isinstance(path, str) or not PERIOD_PAGES.fullmatch(path):
        return None
    return CUSTOM if period_of(parse_query(_search(body))) == "custom" else PAGE


def storage(redis_url: str | None, key_prefix: str) -> tuple[str, dict]:
    """Flask-Limiter's storage URI and options: the app's Redis through the app's own
    kind of connection pool (timeouts, retry), keys under the app's prefix."""
    if not redis_url:
        return "memory://", {}
    scheme_uri = "redis+" + redis_url if redis_url.startswith("unix://") else redis_url
    return scheme_uri, {"connection_pool": make_client(redis_url).connection_pool,
                        "key_prefix": key_prefix + "limits"}


def install(app, settings, auth) -> Limiter:
    """Limit the callbacks `kind_of` names, per account (`auth`'s session). Installed
    below the auth gate (which has read the session) and the request guard (which has
    checked the body), right above the callbacks' dispatch."""
    server = app.server
    for output in (".".join(ROUTER), *EXPORT_OUTPUTS):
        if output not in app.callback_map:
            raise RuntimeError(f"rate limits name {output}, which is no callback of the app")

    def kind() -> str | None:
        if "gridwatch_limit_kind" not in g:
            g.gridwatch_limit_kind = kind_of(request.get_json(silent=True))
        return g.gridwatch_limit_kind

    def account_key() -> str:
        try:
            cur = auth.current()        # read by the auth gate already: no second lookup
        except Exception:  # noqa: BLE001 - sessions down: the gate answered already
            cur = None
        return f"account:{cur.account.id}" if cur is not None else f"address:{request.remote_addr}"

    def refused(limit) -> Response:
        # When the oldest request in the window leaves it: one more is allowed then.
        seconds = max(1, math.ceil(limit.window.reset_time - time.time()))
        lang = language(parse_query(_search(request.get_json(silent=True) or {})).get("lang"),
                        settings.lang)
        log.info("rate limit %s reached for %s (%s)", limit.limit, account_key(), kind())
        return Response(json.dumps({"error": "too many requests", "retry_after": seconds,
                                    "message": t("page.rate_limited", lang, seconds=seconds)},
                                   ensure_ascii=False),
                        status=429, mimetype="application/json",
                        headers={"Retry-After": str(seconds), "Cache-Control": "no-store"})

    uri, options = storage(settings.redis_url, settings.key_prefix)
    # moving-window: "N in any minute", exactly, so Retry-After is when one more is allowed.
    # swallow_errors: a Redis hiccup lets a query through rather than failing it (sessions
    # live in the same Redis: the auth gate has already refused when it is down).
    limiter = Limiter(account_key, app=server, storage_uri=uri, storage_options=options,
                      strategy="moving-window", swallow_errors=True, on_breach=refused)
    endpoint = next(r.endpoint for r in server.url_map.iter_rules()
                    if r.rule.endswith("_dash-update-component"))
    limited = server.view_functions[endpoint]
    for name, value in ((PAGE, settings.rate_limit_pages), (CUSTOM, settings.rate_limit_custom),
                        (EXPORT, settings.rate_limit_exports)):
        limited = limiter.limit(value, scope=name, key_func=account_key,
                                exempt_when=lambda n=name: kind() != n)(limited)
    server.view_functions[endpoint] = limited
    server.extensions["gridwatch_limiter"] = limiter
    return limiter
