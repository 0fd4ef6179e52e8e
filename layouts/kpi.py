"""/kpi for leaders: this period's KPIs against target, previous period and last year;
the trend; the ranking of the children with sub-scores, rank change, 红黑榜 and the
sample-size guard; CSV / Excel export of the ranking and PNG export of each chart."""
from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.domain.hierarchy import Level
from dashboard.domain.ranking import SUB_SCORES
from dashboard.views.kpi import RANKING_COLUMNS, ranking_headers
from dashboard.views.url_state import PageState, encode
from layouts import charts
from layouts.page_parts import GRID_STYLE, breadcrumb, frame, panel, toolbar

TREND = {"better": ("▲ 向好", "▲ better"), "worse": ("▼ 变差", "▼ worse"), "same": ("＝ 持平", "= same"),
         "up": ("↑ 上升", "↑ up"), "down": ("↓ 下降", "↓ down")}


def kpi_table(rows: list[dict], state: PageState, model: dict) -> html.Table:
    en = state.lang == "en"
    heads = (["Indicator", "This period", "Target", f"Previous ({model['previous_label']})",
              f"Last year ({model['last_year_label']})", "Trend"] if en else
             ["指标", "本期", "目标", f"上期（{model['previous_label']}）",
              f"去年同期（{model['last_year_label']}）", "趋势"])
    body = []
    for r in rows:
        met = {True: "gw-met", False: "gw-missed", None: ""}[r["met"]]
        value = r["display"] + (f"（{r['denominator']:,}）" if r["denominator"] is not None else "")
        trend = TREND.get(r["trend"], ("—", "—"))[en]
        body.append(html.Tr(id={"type": "kpi-row", "key": r["key"]}, children=[
            html.Td(r["label"]), html.Td(value, className=f"gw-num {met}",
                                         **{"data-key": r["key"], "data-value": str(r["value"])}),
            html.Td(r["target"]), html.Td(r["previous"], className="gw-num"),
            html.Td(r["last_year"], className="gw-num"),
            html.Td(trend, className=f"gw-trend-{r['trend']}")]))
    return html.Table(className="gw-kpi-table", id="kpi-table",
                      children=[html.Thead(html.Tr([html.Th(h) for h in heads])), html.Tbody(body)])


def ranking_grid(model: dict, state: PageState) -> dag.AgGrid:
    heads = ranking_headers(state.lang)
    cols = []
    for key in RANKING_COLUMNS:
        col = {"field": key, "headerName": heads[key], "sortable": True, "resizable": True}
        if key in ("name",):
            col["pinned"] = "left"
        if key == "board":
            col["cellClassRules"] = {"gw-red-board": "params.value == '红榜' || params.value == 'red'",
                                     "gw-black-board": "params.value == '黑榜' || params.value == 'black'"}
        cols.append(col)
    return dag.AgGrid(id="ranking-grid", rowData=model["ranking"], columnDefs=cols,
                      className="ag-theme-quartz gw-clickable",
                      defaultColDef={"minWidth": 80}, columnSize="autoSize", style=GRID_STYLE,
                      dashGridOptions={"domLayout": "autoHeight", "animateRows": False},
                      getRowId="params.data.code")


def score_chart(model: dict, state: PageState):
    rows = [{"code": r["code"], "name": r["name"], "score": r["score"],
             "score_text": f"{r['score']:.2f}"} for r in model["ranking"]]
    return charts.child_bars(rows, "score", True, state.t("综合得分", "Composite score"))


def layout(model: dict, state: PageState) -> html.Div:
    en = state.lang == "en"
    region = model["region"]
    child = model["child_level"]
    child_name = ("" if child is None else
                  (Level(child).name.lower() + " " if en else Level(child).label_zh))
    weights = "，".join(f"{SUB_SCORES[k][en]} {v:g}" for k, v in model["weights"].items())
    trend = charts.trend(model["trend"], state.t(f"受理与办结（按{model['trend']['unit']}）",
                                                 f"Intake and closures per {model['trend']['unit']}"),
                         (state.t("受理", "intake"), state.t("办结", "closed")))
    nav = [dcc.Link(state.t("区域统计", "Region statistics"),
                    href=f"/region/{region['code']}{encode(state, region=None, page=1)}",
                    id="to-region")]
    ranking = [] if not model["ranking"] else [panel(
        state.t(f"{child_name}排名（综合得分）", f"Ranking of {child_name}regions (composite score)"),
        html.P(state.t(f"权重：{weights}；督办扣分按每万件计。样本少于 {model['min_sample']} 件的分项按上级比率计分并标注“样本不足”。点击一行查看其下级排名。",
                       f"Weights: {weights}; card penalty per 10k cases. A rate drawn from fewer than "
                       f"{model['min_sample']} cases scores at the parent's rate and is flagged. "
                       "Click a row to rank its children."),
               className="gw-note"),
        html.Div(className="gw-export", children=[
            html.Button(state.t("导出 CSV", "Export CSV"), id="export-csv", className="gw-button"),
            html.Button(state.t("导出 Excel", "Export Excel"), id="export-xlsx", className="gw-button"),
            dcc.Download(id="export-download")]),
        ranking_grid(model, state),
        charts.graph(score_chart(model, state), "score-chart", "ranking-score"),
        panel_id="ranking-panel", wide=True)]
    return frame("gw-kpi-page", state.t(f"{region['name']} · 考核指标", f"{region['name']} · KPIs"),
                 state, nav, [
        breadcrumb(model["breadcrumb"], state,
                   lambda code: f"/kpi{encode(state, region=code, page=1)}"),
        toolbar(model, state),
        html.Div(className="gw-grid-2", children=[
            panel(state.t("指标", "Indicators"), kpi_table(model["kpis"], state, model),
                  panel_id="kpi-panel"),
            panel(state.t("趋势", "Trend"), charts.graph(trend, "kpi-trend", "kpi-trend")),
        ]),
        *ranking,
    ])
