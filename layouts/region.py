"""/region/<code> for staff: breadcrumb, the children coloured by a chosen KPI, their
table (click a row to go down a level), trend, breakdowns and the cases behind them."""
from __future__ import annotations

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.domain import metrics
from dashboard.domain.hierarchy import Level
from dashboard.domain.states import STATE_ZH
from dashboard.views.region import CASE_COLUMNS, TABLE_METRICS
from dashboard.views.url_state import BASES, FILTERS, SORTS, PageState, encode
from layouts import charts
from layouts.page_parts import GRID_STYLE, breadcrumb, frame, panel, toolbar

SORT_LABELS = {"-reported_at": ("上报时间 ↓", "reported ↓"), "reported_at": ("上报时间 ↑", "reported ↑"),
               "-closed_at": ("结案时间 ↓", "closed ↓"), "closed_at": ("结案时间 ↑", "closed ↑"),
               "deadline": ("办理时限 ↑", "deadline ↑"), "-deadline": ("办理时限 ↓", "deadline ↓")}
FILTER_LABELS = {"state": ("环节", "State"), "category": ("类别", "Category"),
                 "source": ("来源", "Source"), "urgency": ("紧急程度", "Urgency")}


def children_view(model: dict, state: PageState) -> list:
    m = model["metric"]
    en = state.lang == "en"
    picker = dcc.Dropdown(id="metric-choice", value=m["key"], clearable=False,
                          className="gw-metric-choice",
                          options=[{"label": x.label(state.lang), "value": x.key}
                                   for x in metrics.METRICS])
    title = state.t(f"下级按「{m['label']}」着色", f"Children coloured by {m['label']}")
    if model["features"]:
        values = {r["code"]: r[m["key"]] for r in model["children"]}
        texts = {r["code"]: f"{m['label']}: {r[m['key'] + '_text']}" for r in model["children"]}
        fig = charts.region_map(model["features"], values, texts, m["higher_is_better"], title)
    else:
        fig = charts.child_bars(model["children"], m["key"], m["higher_is_better"], title)
    cols = [{"field": "name", "headerName": "Region" if en else "地区", "pinned": "left"}]
    for key in TABLE_METRICS:
        mm = metrics.BY_KEY[key]
        cols.append({"field": key, "headerName": mm.label(state.lang),
                     "valueFormatter": {"function": f"params.data['{key}_text']"}})
    grid = dag.AgGrid(id="children-grid", rowData=model["children"], columnDefs=cols,
                      getRowId="params.data.code", columnSize="sizeToFit", style=GRID_STYLE,
                      defaultColDef={"sortable": True, "resizable": True, "minWidth": 90},
                      dashGridOptions={"domLayout": "autoHeight"},
                      className="ag-theme-quartz gw-clickable")
    return [html.Div(className="gw-metric-row", children=[
                html.Label(state.t("着色指标", "Colour by")), picker]),
            html.Div(className="gw-grid-2", children=[
                charts.graph(fig, "children-map", f"region-{model['region']['code']}-{m['key']}"),
                html.Div([html.P(state.t("点击表格行或地图进入下一级",
                                         "Click a row or the map to go down a level"),
                                 className="gw-note"), grid])])]


def case_filters(state: PageState) -> html.Div:
    lang = 1 if state.lang == "en" else 0
    all_label = state.t("全部", "all")

    def dropdown(name: str, options: list[dict], value):
        return html.Div(className="gw-filter", children=[
            html.Label(FILTER_LABELS[name][lang]),
            dcc.Dropdown(id=f"filter-{name}", options=options, value=value,
                         placeholder=all_label, clearable=True)])
    state_opts = [{"label": v if lang else STATE_ZH.get(v, v), "value": v} for v in FILTERS["state"]]
    return html.Div(className="gw-filters", children=[
        html.Div(className="gw-filter", children=[
            html.Label(state.t("范围", "Cases")),
            dcc.Dropdown(id="filter-basis", value=state.basis, clearable=False,
                         options=[{"label": n[lang], "value": k} for k, n in BASES.items()])]),
        dropdown("state", state_opts, state.filters.get("state")),
        *[dropdown(name, [{"label": v, "value": v} for v in FILTERS[name]], state.filters.get(name))
          for name in ("category", "source", "urgency")],
        html.Div(className="gw-filter", children=[
            html.Label(state.t("排序", "Sort")),
            dcc.Dropdown(id="filter-sort", value=state.sort, clearable=False,
                         options=[{"label": SORT_LABELS[k][lang], "value": k} for k in SORTS])]),
    ])


def case_list(model: dict, state: PageState) -> list:
    cases = model["cases"]
    en = state.lang == "en"
    total = f"{cases['total']:,}" + ("+" if cases["capped"] else "")
    note = state.t(f"共 {total} 件", f"{total} cases")
    if cases["capped"]:
        note += state.t(f"（超过 {cases['total']:,} 件时不再精确计数，请用筛选缩小范围）",
                        f" (counting stops at {cases['total']:,}; narrow the filters)")
    if cases["pages"] * cases["page_size"] >= cases["max_offset"]:
        note += state.t(f"；最多可翻至第 {cases['pages']} 页", f"; paging stops at page {cases['pages']}")
    cols = [{"field": key, "headerName": en_name if en else zh_name, "sortable": False}
            for key, zh_name, en_name in CASE_COLUMNS]
    return [
        case_filters(state),
        html.Div(className="gw-pager", children=[
            html.Span(note, id="case-total", **{"data-total": str(cases["total"]),
                                                "data-capped": str(cases["capped"]).lower()}),
            html.Button(state.t("上一页", "Previous"), id="page-prev", className="gw-button",
                        disabled=cases["page"] <= 1),
            html.Span(state.t(f"第 {cases['page']} / {cases['pages']} 页",
                              f"page {cases['page']} / {cases['pages']}"), id="page-label",
                      **{"data-page": str(cases["page"])}),
            html.Button(state.t("下一页", "Next"), id="page-next", className="gw-button",
                        disabled=cases["page"] >= cases["pages"]),
            html.Button(state.t("导出 CSV", "Export CSV"), id="cases-export", className="gw-button"),
            dcc.Download(id="cases-download"),
        ]),
        dag.AgGrid(id="case-grid", rowData=cases["rows"], columnDefs=cols,
                   getRowId="params.data.id", columnSize="autoSize", style=GRID_STYLE,
                   defaultColDef={"resizable": True},
                   dashGridOptions={"domLayout": "autoHeight", "suppressCellFocus": False},
                   className="ag-theme-quartz gw-clickable"),
    ]


def layout(model: dict, state: PageState) -> html.Div:
    region = model["region"]
    nav = [dcc.Link(state.t("考核指标", "KPIs"), href=f"/kpi{encode(state, page=1, region=region['code'])}",
                    id="to-kpi"),
           html.A(state.t("指挥大屏", "Wall"), href=f"/wall?region={region['code']}"
                  + ("&lang=en" if state.lang == "en" else ""), id="to-wall")]
    summary = html.Div(className="gw-summary", id="region-summary", children=[
        html.Div(className="gw-stat", children=[html.Div(s["label"], className="gw-stat-label"),
                                                html.Div(s["display"], className="gw-stat-value",
                                                         id=f"summary-{s['key']}")])
        for s in model["summary"]])
    trend = charts.trend(model["trend"], state.t(f"受理与办结（按{model['trend']['unit']}）",
                                                 f"Intake and closures per {model['trend']['unit']}"),
                         (state.t("受理", "intake"), state.t("办结", "closed")))
    children = [] if model["child_level"] is None else [panel(
        state.t(f"下级（{Level(model['child_level']).label_zh}）", "Children"),
        *children_view(model, state), panel_id="children-panel", wide=True)]
    breakdowns = [panel(b["title"], charts.graph(
        charts.bars(b["counts"], state.t(f"本期受理按{b['title']}", f"Intake by {b['title'].lower()}"),
                    state.t("未办结", "not closed"), state.t("本期无受理", "no cases in this period")),
        f"breakdown-{dim}", f"breakdown-{dim}"))
        for dim, b in model["breakdowns"].items()]
    level = region["level_label"] if state.lang != "en" else Level(region["level"]).name.lower()
    return frame("gw-region-page", f"{region['name']} · {level}", state, nav, [
        breadcrumb(model["breadcrumb"], state),
        toolbar(model, state),
        summary,
        *children,
        html.Div(className="gw-grid-2", children=[
            panel(state.t("趋势", "Trend"), charts.graph(trend, "region-trend", "region-trend")),
            *breakdowns[:1]]),
        html.Div(className="gw-grid-2", children=breakdowns[1:]),
        panel(state.t("案件", "Cases"), *case_list(model, state), panel_id="case-panel", wide=True),
    ])
