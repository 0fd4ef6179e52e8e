"""/kpi: render from the URL; export the ranking the page shows as CSV or Excel."""
from __future__ import annotations

from datetime import datetime, timezone

from dash import Input, Output, State, dcc, no_update
from dash import ctx as dash_ctx

from callbacks.page import Page
from callbacks.page_common import bad_input_page, lang_of, push, record, roots_of, state_of, user_of
from callbacks.router import parse_query
from dashboard.cache.warmer import Job
from dashboard.domain import metrics
from dashboard.domain.accounts import Permission, require
from dashboard.domain.audit import Action
from dashboard.views import export, url_state
from dashboard.views import kpi as kpi_view
from dashboard.views.common import resolve_scope
from dashboard.views.url_state import BadInput
from layouts import kpi as kpi_layout


def _model(ctx, query: dict):
    state = url_state.parse(query, metrics.KEYS, ctx.settings.lang)
    now = datetime.now(timezone.utc)
    # The viewer's regions, never the installation's root: the account decides the scope.
    return state, kpi_view.build(ctx.cases, ctx.tree.get(), ctx.settings, state,
                                 now, ctx.page_memo(now.timestamp()), roots=roots_of(ctx))


def render(ctx, _match, query: dict):
    try:
        state, model = _model(ctx, query)
    except BadInput as exc:
        return bad_input_page(exc, lang_of(query, ctx.settings.lang), "/kpi")
    return kpi_layout.layout(model, state, user_of(
        ctx, state.lang, model.region.code,
        lambda code: f"/kpi{url_state.encode(state, region=code, page=1)}"))


def warm_landing(ctx, now: datetime) -> None:
    """The root's /kpi this month and today, kept computed for the first viewer."""
    for period in ("this_month", "today"):
        kpi_view.build(ctx.cases, ctx.tree.get(), ctx.settings, url_state.parse({"period": period}),
                       now, ctx.warm_memo(now.timestamp()))


def page(ctx) -> Page:
    return Page(path=r"/kpi", render=lambda match, query: render(ctx, match, query),
                permission=Permission.VIEW_KPI,
                register=lambda app: register(app, ctx),
                warmups=(Job("kpi-landing", ctx.warm_every, lambda now: warm_landing(ctx, now),
                             shared=True, run_first=True, enabled=lambda: ctx.warm_pages),))


def register(app, ctx) -> None:
    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("ranking-grid", "cellClicked"), State("url", "search"),
                  prevent_initial_call=True)
    def rank_within(cell, search):
        """A leader clicks a city to see its counties ranked, in the same period."""
        code = (cell or {}).get("rowId")
        state = state_of(search)
        if not code or state is None:
            return no_update
        # The clicked id is the browser's: only a region inside the root becomes a link.
        code = resolve_scope(ctx.tree.get(), roots_of(ctx), code).code
        return push(search, url_state.encode(state, region=code, page=1))

    @app.callback(Output("export-download", "data"),
                  Input("export-csv", "n_clicks"), Input("export-xlsx", "n_clicks"),
                  State("url", "search"), prevent_initial_call=True)
    def export_ranking(_csv, _xlsx, search):
        require(require(ctx.viewer(), Permission.VIEW_KPI), Permission.EXPORT)
        try:
            state, model = _model(ctx, parse_query(search))
        except BadInput:
            return no_update
        headers = kpi_view.ranking_headers(state.lang)
        columns = [(k, headers[k]) for k in kpi_view.RANKING_COLUMNS]
        name = f"ranking-{model.region.code}-{state.period}"
        record(ctx, Action.EXPORT, name, model.region.code, rows=len(model.ranking),
               format="xlsx" if dash_ctx.triggered_id == "export-xlsx" else "csv")
        if dash_ctx.triggered_id == "export-xlsx":
            data = export.xlsx_bytes(columns, model.ranking, model.period_label)
            return dcc.send_bytes(data, f"{name}.xlsx")
        return dcc.send_string(export.csv_text(columns, model.ranking), f"{name}.csv")
