"""/status: the operators' page, in the reader's language (`?lang=`). Its view model is
computed once per region and refresh interval, shared by every viewer and every worker
through the app's cache."""
from __future__ import annotations

import time

from dash import Input, Output, State

from callbacks.page import Page
from callbacks.page_common import roots_of
from callbacks.router import parse_query
from dashboard.domain.accounts import NotPermitted, Permission
from dashboard.domain.language import language
from dashboard.domain.text import t
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
        # The viewer's first region: the model is shared per region, never per viewer.
        roots = roots_of(ctx)
        if not roots:
            raise NotPermitted("no region to show")
        return status_model(roots[0], int(time.time() // refresh))

    return Page(path=r"/status", permission=Permission.VIEW_REGION,
                render=lambda _m, q: view.layout(refresh, language(q.get("lang"), ctx.settings.lang)),
                register=lambda app: register(app, current, ctx.settings.lang))


def register(app, get_status, default_lang: str = "zh") -> None:
    @app.callback(
        Output("status-region", "children"), Output("status-clock", "children"),
        Output("status-kpis", "children"), Output("status-sources", "children"),
        Output("status-events", "children"),
        Input("status-tick", "n_intervals"), State("url", "search"),
    )
    def refresh(_n, search):
        model = get_status()
        lang = language(parse_query(search).get("lang"), default_lang)
        return (model["region"]["name"], t("page.as_of", lang, t=model["computed_at"]),
                view.kpi_cards(model["kpis"], lang), view.source_rows(model["health"], lang),
                view.event_rows(model["events"], lang))
