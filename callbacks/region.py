"""/region/<code>: render from the URL. Every control writes the URL (metric, filters,
sort, page) and the router redraws; a click on a child (table row or map) or a case goes
down a level by changing the path, so back / forward retrace the drill-down."""
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
from dashboard.views import case as case_view
from dashboard.views import export, url_state
from dashboard.views import region as region_view
from dashboard.views.common import resolve_scope
from dashboard.views.url_state import BadInput
from layouts import region as region_layout


def render(ctx, match, query: dict):
    try:
        state = url_state.parse(query, metrics.KEYS, ctx.settings.lang)
        now = datetime.now(timezone.utc)
        viewer = ctx.viewer()
        model = region_view.build(ctx.cases, ctx.tree.get(), ctx.settings,
                                  match["code"], state, now, ctx.page_memo(now.timestamp()),
                                  roots=roots_of(ctx),
                                  with_cases=viewer is not None and viewer.can(Permission.VIEW_CASES))
    except BadInput as exc:
        return bad_input_page(exc, lang_of(query, ctx.settings.lang), f"/region/{home(ctx)}")
    return region_layout.layout(model, state, user_of(
        ctx, state.lang, model.region.code,
        lambda code: f"/region/{code}{url_state.encode(state, page=1, region=None)}"))


def home(ctx) -> str:
    """Where the viewer's pages start: the first of their account's regions."""
    roots = roots_of(ctx)
    return roots[0] if roots else ctx.root_code


def warm_landing(ctx, now: datetime) -> None:
    """The root's /region this month, kept computed for the first viewer."""
    region_view.build(ctx.cases, ctx.tree.get(), ctx.settings, ctx.root_code,
                      url_state.parse({}), now, ctx.warm_memo(now.timestamp()))


def page(ctx) -> Page:
    return Page(path=r"/region/(?P<code>[^/]*)",
                render=lambda match, query: render(ctx, match, query),
                permission=Permission.VIEW_REGION,
                register=lambda app: register(app, ctx),
                warmups=(Job("region-landing", ctx.warm_every,
                             lambda now: warm_landing(ctx, now), shared=True, run_first=True,
                             enabled=lambda: ctx.warm_pages),))


def register(app, ctx) -> None:
    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("metric-choice", "value"), State("url", "search"),
                  prevent_initial_call=True)
    def choose_metric(metric, search):
        state = state_of(search)
        if state is None or metric not in metrics.BY_KEY:
            return no_update
        return push(search, url_state.encode(state, metric=metric))

    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("filter-basis", "value"), Input("filter-state", "value"),
                  Input("filter-category", "value"), Input("filter-source", "value"),
                  Input("filter-urgency", "value"), Input("filter-sort", "value"),
                  State("url", "search"), prevent_initial_call=True)
    def filter_cases(basis, st, category, source, urgency, sort, search):
        state = state_of(search)
        if state is None:
            return no_update
        chosen = {"state": st, "category": category, "source": source, "urgency": urgency}
        changes = {"basis": basis or "reported", "filters": {k: v for k, v in chosen.items() if v},
                   "sort": sort or "-reported_at"}
        # The controls also fire when the router redraws the page (their output, the URL,
        # lives outside it): only a real change of filter starts again on page 1.
        if state.with_(**changes) == state:
            return no_update
        return push(search, url_state.encode(state, page=1, **changes))

    @app.callback(Output("url", "search", allow_duplicate=True),
                  Input("page-prev", "n_clicks"), Input("page-next", "n_clicks"),
                  State("url", "search"), prevent_initial_call=True)
    def turn_page(_prev, _next, search):
        state = state_of(search)
        if state is None or not dash_ctx.triggered or not dash_ctx.triggered[0]["value"]:
            return no_update
        step = -1 if dash_ctx.triggered_id == "page-prev" else 1
        return push(search, url_state.encode(state, page=max(1, state.page + step)))

    def navigate(component: str, prop: str, target) -> None:
        """A click on `component` goes to the path `target(value)` returns (None: stay)."""
        @app.callback(Output("url", "pathname", allow_duplicate=True),
                      Output("url", "search", allow_duplicate=True),
                      Input(component, prop), State("url", "search"), prevent_initial_call=True)
        def follow(value, search):
            path = target(value or {})
            if not path:
                return no_update, no_update
            state = state_of(search) or url_state.PageState()
            if path.startswith("/case/"):
                return path, "?lang=en" if state.lang == "en" else ""
            # A level down keeps the period and filters and starts on its first page.
            return path, url_state.encode(state, page=1)

    def map_code(click: dict) -> str | None:
        points = click.get("points")
        first = points[0] if isinstance(points, list) and points else None
        return first.get("customdata") if isinstance(first, dict) else None

    # Clicked ids come from the browser: a region outside the root, or anything that is
    # not a case number, is refused (BadInput: 400) before it becomes a URL.
    def region_path(code) -> str | None:
        return code and f"/region/{resolve_scope(ctx.tree.get(), roots_of(ctx), code).code}"

    def case_path(row_id) -> str | None:
        if row_id:
            require(ctx.viewer(), Permission.VIEW_CASE)
        return row_id and f"/case/{case_view.parse_case_id(str(row_id))}"

    navigate("children-grid", "cellClicked", lambda cell: region_path(cell.get("rowId")))
    navigate("children-map", "clickData", lambda click: region_path(map_code(click)))
    navigate("case-grid", "cellClicked", lambda cell: case_path(cell.get("rowId")))

    @app.callback(Output("cases-download", "data"), Input("cases-export", "n_clicks"),
                  State("url", "pathname"), State("url", "search"), prevent_initial_call=True)
    def export_cases(_n, pathname, search):
        require(require(ctx.viewer(), Permission.VIEW_CASES), Permission.EXPORT)
        try:
            state = url_state.parse(parse_query(search), metrics.KEYS, ctx.settings.lang)
            code = (pathname or "").rsplit("/", 1)[-1]
            cols, rows = region_view.export_rows(ctx.cases, ctx.tree.get(), ctx.settings, code,
                                                 state, datetime.now(timezone.utc),
                                                 roots=roots_of(ctx))
        except BadInput:
            return no_update
        record(ctx, Action.EXPORT, f"cases-{code}-{state.period}", code, rows=len(rows),
               format="csv")
        return dcc.send_string(export.csv_text(cols, rows), f"cases-{code}-{state.period}.csv")
