"""/kpi for leaders: this period's KPIs against target, previous period and last year;
the trend; the ranking of the children with sub-scores, rank change, 红黑榜 and the
sample-size guard; CSV / Excel export of the ranking and PNG export of each chart."""
from __future__ import annotations

import json

from dash import dcc, html

from dashboard.domain.hierarchy import Level
from dashboard.views.kpi import (
    POINTS,
    RANKING_COLUMNS,
    RATE_COLUMNS,
    KpiView,
    ranking_headers,
    sub_score_name,
)
from dashboard.views.url_state import PageState, encode
from layouts import charts
from layouts.grids import data_grid
from layouts.page_parts import breadcrumb, frame, panel, toolbar

TRENDS = ("better", "worse", "same", "up", "down")  # metrics.trend's answers, `kpi.trend.<x>`


def kpi_table(rows: list[dict], state: PageState, model: KpiView) -> html.Table:
    # A compared period's span goes under its name: the spans are long (a running period
    # ends at a time of day) and would squeeze the other columns.
    heads = [state.t("kpi.col.indicator"), state.t("kpi.col.current"), state.t("kpi.col.target"),
             [state.t("kpi.col.previous"), html.Span(model.previous_label, className="gw-th-span")],
             [state.t("kpi.col.last_year"), html.Span(model.last_year_label,
                                                       className="gw-th-span")],
             state.t("kpi.col.trend")]
    body = []
    for r in rows:
        met = {True: "gw-met", False: "gw-missed", None: ""}[r["met"]]
        value = r["display"] + (state.t("kpi.denominator", n=f"{r['denominator']:,}")
                                if r["denominator"] is not None else "")
        trend = state.t(f"kpi.trend.{r['trend']}") if r["trend"] in TRENDS else "—"
        body.append(html.Tr(id={"type": "kpi-row", "key": r["key"]}, children=[
            html.Td(r["label"]), html.Td(value, className=f"gw-num {met}",
                                         **{"data-key": r["key"], "data-value": str(r["value"])}),
            html.Td(r["target"]), html.Td(r["previous"], className="gw-num"),
            html.Td(r["last_year"], className="gw-num"),
            html.Td(trend, className=f"gw-trend-{r['trend']}")]))
    return html.Table(className="gw-kpi-table", id="kpi-table",
                      children=[html.Thead(html.Tr([html.Th(h) for h in heads])), html.Tbody(body)])


THIN_MARKABLE = (*POINTS.values(), *RATE_COLUMNS)


def ranking_grid(model: KpiView, state: PageState):
    heads = ranking_headers(state.lang)
    cols = []
    for key in RANKING_COLUMNS:
        col = {"field": key, "headerName": heads[key], "sortable": True, "resizable": True}
        if key in ("name",):
            col["pinned"] = "left"
        if key == "rank":  # a number, or 未排名: text, sorted by the number (unranked last)
            col["cellDataType"] = "text"
            col["comparator"] = {"function": "(isFinite(valueA) ? Number(valueA) : 1e9)"
                                             " - (isFinite(valueB) ? Number(valueB) : 1e9)"}
        if key in THIN_MARKABLE:  # ranking_rows' thin_marks: a rate or points from too few cases
            col["cellClassRules"] = {"gw-thin": f"params.data.thin_marks.{key} === true"}
        if key == "board":  # the cell holds the board's name in the page's language
            col["cellClassRules"] = {f"gw-{b}-board": "params.value == " + json.dumps(
                state.t(f"kpi.board.{b}"), ensure_ascii=False) for b in ("red", "black")}
        cols.append(col)
    return data_grid("ranking-grid", state, model.ranking, cols,
                     # Every column drawn: ~20 of them are cheap, and a
                     # virtualised one would escape the font and thin-mark checks.
                     {"domLayout": "autoHeight", "animateRows": False,
                      "suppressColumnVirtualisation": True},
                     className="ag-theme-quartz gw-clickable",
                     defaultColDef={"minWidth": 80}, columnSize="autoSize",
                     getRowId="params.data.code")


def score_chart(model: KpiView, state: PageState):
    rows = [{"code": r["code"], "name": r["name"], "score": r["score"],
             "score_text": f"{r['score']:.2f}"} for r in model.ranking if r["score"] is not None]
    title = state.t("kpi.score_chart")
    if not rows:  # nothing scored: say why instead of drawing axes from -1 to 6
        return charts.empty(title, state.t("region.filling_short" if model.filling
                                           else "common.no_data"))
    return charts.child_bars(rows, "score", True, title)


def layout(model: KpiView, state: PageState, user: dict | None = None) -> html.Div:
    region = model.region
    child = model.child_level
    weights = state.t("kpi.weights_sep").join(f"{sub_score_name(k, state.lang)} {v:g}"
                                              for k, v in model.weights.items())
    trend = charts.trend(model.trend, state.t("page.trend_title", unit=model.trend["unit"]),
                         (state.t("page.intake"), state.t("page.closed")),
                         state.t("region.filling_short"))
    nav = [dcc.Link(state.t("kpi.to_region"),
                    href=f"/region/{region.code}{encode(state, region=None, page=1)}",
                    id="to-region")]
    # A ranking needs children: a region without a child level has none. While days of
    # the period are still being filled it has no rows yet, and says why.
    filling = [html.P(model.filling, className="gw-note gw-filling")] if model.filling else []
    compare = [html.P(model.compare_filling, id="kpi-compare-filling",
                      className="gw-note gw-filling")] if model.compare_filling else []
    ranking = [] if child is None or not (model.ranking or filling) else [panel(
        state.t("kpi.ranking_title", level=Level(child).label(state.lang)),
        *filling,
        html.P(state.t("kpi.ranking_note", weights=weights, min_sample=model.min_sample,
                       **{k: f"{v:g}" for k, v in model.card_rule.items()}),
               className="gw-note"),
        html.Div(className="gw-export", children=[
            html.Button(state.t("page.export_csv"), id="export-csv", className="gw-button"),
            html.Button(state.t("kpi.export_xlsx"), id="export-xlsx", className="gw-button"),
            dcc.Download(id="export-download")]),
        ranking_grid(model, state),
        charts.graph(score_chart(model, state), "score-chart", "ranking-score"),
        panel_id="ranking-panel", wide=True)]
    return frame("gw-kpi-page", state.t("kpi.title", region=region.name),
                 state, nav, [
        breadcrumb(model.breadcrumb, state,
                   lambda code: f"/kpi{encode(state, region=code, page=1)}"),
        toolbar(model, state),
        html.Div(className="gw-grid-2", children=[
            panel(state.t("kpi.indicators"), *filling, *compare,
                  kpi_table(model.kpis, state, model), panel_id="kpi-panel"),
            panel(state.t("page.trend"), charts.graph(trend, "kpi-trend", "kpi-trend")),
        ]),
        *ranking,
    ], user)
