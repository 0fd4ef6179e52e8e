"""/status: the operators' page. Its view model is computed once per region and refresh
interval, shared by every viewer and every worker through the app's cache."""
from __future__ import annotations

import time

from dash import Input, Output

from callbacks.page import Page
from dashboard.views.status import build_status
from layouts import status as view


def page(ctx) -> Page:
    refresh = ctx.settings.refresh_seconds

    @ctx.cache.memoize(timeout=max(int(refresh * 2), 2))
    def status_model(region_code: str, tick: int) -> dict:
        # `tick` is part of the cache key: one computation per region per interval.
        return build_status(ctx.runtime.db, ctx.events, ctx.cases, ctx.tree.get(), region_code,
                            ctx.settings.timezone)

    def current() -> dict:
        return status_model(ctx.root_code, int(time.time() // refresh))

    return Page(path=r"/status", render=lambda _m, _q: view.layout(refresh),
                register=lambda app: register(app, current))


def register(app, get_status) -> None:
    @app.callback(
        Output("status-region", "children"), Output("status-clock", "children"),
        Output("status-kpis", "children"), Output("status-sources", "children"),
        Output("status-events", "children"),
        Input("status-tick", "n_intervals"),
    )
    def refresh(_n):
        model = get_status()
        return (model["region"]["name"], f"数据时间 {model['computed_at']}",
                view.kpi_cards(model["kpis"]), view.source_rows(model["health"]),
                view.event_rows(model["events"]))
