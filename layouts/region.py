"""/region/<code> for staff: breadcrumb, the children coloured by a chosen KPI, their
table (click a row to go down a level), trend, breakdowns and the cases behind them."""
from __future__ import annotations

from dash import dcc, html

from dashboard.domain import metrics
from dashboard.domain.catalog import CATEGORY_EN, SOURCE_EN, URGENCY_EN, in_language
from dashboard.domain.hierarchy import Level
from dashboard.domain.states import state_label
from dashboard.views.region import CASE_COLUMNS, TABLE_METRICS, RegionView
from dashboard.views.url_state import BASES, FILTERS, SORTS, PageState, encode
from layouts import charts
from layouts.grids import data_grid
from layouts.page_parts import breadcrumb, frame, panel, toolbar

# Each sort's name in the catalogue (`region.sort.<name>`).
SORT_LABELS = {"-reported_at": "reported_desc", "reported_at": "reported_asc",
               "-closed_at": "closed_desc", "closed_at": "closed_asc",
               "deadline": "deadline_asc", "-deadline": "deadline_desc"}


def children_view(model: RegionView, state: PageState) -> list:
    m = model.metric
    picker = dcc.Dropdown(id="metric-choice", value=m.key, clearable=False,
                          className="gw-metric-choice",
                          options=[{"label": x.label(state.lang), "value": x.key}
                                   for x in metrics.METRICS])
    title = state.t("region.coloured_by", metric=m.label)
    if model.features:
        values = {r["code"]: r[m.key] for r in model.children}
        texts = {r["code"]: f"{m.label}: {r[m.key + '_text']}" for r in model.children}
        fig = charts.region_map(model.features, values, texts, m.higher_is_better, title)
    else:
        fig = charts.child_bars(model.children, m.key, m.higher_is_better, title)
    cols = [{"field": "name", "headerName": state.t("region.children_name"), "pinned": "left"}]
    for key in TABLE_METRICS:
        mm = metrics.BY_KEY[key]
        cols.append({"field": key, "headerName": mm.label(state.lang),
                     "valueFormatter": {"function": f"params.data['{key}_text']"}})
    grid = data_grid("children-grid", state, model.children, cols, {"domLayout": "autoHeight"},
                     getRowId="params.data.code", columnSize="sizeToFit",
                     defaultColDef={"sortable": True, "resizable": True, "minWidth": 90},
                     className="ag-theme-quartz gw-clickable")
    return [html.Div(className="gw-metric-row", children=[
                html.Label(state.t("region.colour_by")), picker]),
            html.Div(className="gw-grid-2", children=[
                charts.graph(fig, "children-map", f"region-{model.region.code}-{m.key}"),
                html.Div([html.P(state.t("region.click_hint"), className="gw-note"), grid])])]


def case_filters(state: PageState, user: dict | None = None) -> html.Div:
    en = state.lang == "en"
    all_label = state.t("region.all")

    def dropdown(name: str, options: list[dict], value):
        return html.Div(className="gw-filter", children=[
            html.Label(state.t(f"region.filter.{name}")),
            dcc.Dropdown(id=f"filter-{name}", options=options, value=value,
                         placeholder=all_label, clearable=True)])
    state_opts = [{"label": state_label(v, state.lang), "value": v} for v in FILTERS["state"]]
    english = {"category": CATEGORY_EN, "source": SOURCE_EN, "urgency": URGENCY_EN}
    return html.Div(className="gw-filters", children=[
        html.Div(className="gw-filter", children=[
            html.Label(state.t("region.basis")),
            dcc.Dropdown(id="filter-basis", value=state.basis, clearable=False,
                         options=[{"label": n[1 if en else 0], "value": k}
                                  for k, n in BASES.items()])]),
        dropdown("state", state_opts, state.filters.get("state")),
        *[dropdown(name, [{"label": in_language(v, english[name], state.lang), "value": v}
                          for v in FILTERS[name]], state.filters.get(name))
          for name in ("category", "source", "urgency")],
        html.Div(className="gw-filter", children=[
            html.Label(state.t("region.sort")),
            dcc.Dropdown(id="filter-sort", value=state.sort, clearable=False,
                         options=[{"label": state.t(f"region.sort.{SORT_LABELS[k]}"), "value": k}
                                  for k in SORTS])]),
    ])


def case_list(model: RegionView, state: PageState) -> list:
    cases = model.cases
    total = f"{cases.total:,}" + ("+" if cases.capped else "")
    note = state.t("region.total", total=total)
    if cases.capped:
        note += state.t("region.capped", total=f"{cases.total:,}")
    if cases.pages * cases.page_size >= cases.max_offset:
        note += state.t("region.paging_stops", pages=cases.pages)
    cols = [{"field": key, "headerName": state.t(f"region.col.{key}"), "sortable": False}
            for key in CASE_COLUMNS]
    notice = [html.Div(cases.notice, id="case-summary-notice", className="gw-note")] \
        if cases.notice else []
    return [
        case_filters(state),
        *notice,
        html.Div(className="gw-pager", children=[
            html.Span(note, id="case-total", **{"data-total": str(cases.total),
                                                "data-capped": str(cases.capped).lower()}),
            html.Button(state.t("region.previous"), id="page-prev", className="gw-button",
                        disabled=cases.page <= 1),
            html.Span(state.t("region.page", page=cases.page, pages=cases.pages),
                      id="page-label",
                      **{"data-page": str(cases.page)}),
            html.Button(state.t("region.next"), id="page-next", className="gw-button",
                        disabled=cases.page >= cases.pages),
            html.Button(state.t("page.export_csv"), id="cases-export", className="gw-button"),
            dcc.Download(id="cases-download"),
        ]),
        data_grid("case-grid", state, cases.rows, cols,
                  {"domLayout": "autoHeight", "suppressCellFocus": False},
                  getRowId="params.data.id", columnSize="autoSize",
                  defaultColDef={"resizable": True}, className="ag-theme-quartz gw-clickable"),
    ]


def layout(model: RegionView, state: PageState, user: dict | None = None) -> html.Div:
    region = model.region
    # Leaders see /kpi; staff do not (their account's role: dashboard/domain/accounts.py).
    to_kpi = [dcc.Link(state.t("region.to_kpi"), href=f"/kpi{encode(state, page=1, region=region.code)}",
                       id="to-kpi")] if user is None or user.get("kpi") else []
    nav = [*to_kpi,
           html.A(state.t("region.to_wall"), href=f"/wall?region={region.code}"
                  + ("&lang=en" if state.lang == "en" else ""), id="to-wall")]
    summary = html.Div(className="gw-summary", id="region-summary", children=[
        html.Div(className="gw-stat", children=[html.Div(s["label"], className="gw-stat-label"),
                                                html.Div(s["display"], className="gw-stat-value",
                                                         id=f"summary-{s['key']}")])
        for s in model.summary])
    trend = charts.trend(model.trend, state.t("page.trend_title", unit=model.trend["unit"]),
                         (state.t("page.intake"), state.t("page.closed")),
                         state.t("region.filling_short"))
    children = [] if model.child_level is None else [panel(
        state.t("region.children", level=Level(model.child_level).label(state.lang)),
        *children_view(model, state), panel_id="children-panel", wide=True)]
    no_counts = state.t("region.no_intake" if model.complete else "region.filling_short")
    breakdowns = [panel(b["title"], charts.graph(
        charts.bars(b["counts"], state.t(f"region.intake_by.{dim}"), state.t("region.not_closed"),
                    no_counts),
        f"breakdown-{dim}", f"breakdown-{dim}"))
        for dim, b in model.breakdowns.items()]
    return frame("gw-region-page", f"{region.name} · {model.level_label}", state, nav, [
        breadcrumb(model.breadcrumb, state),
        toolbar(model, state),
        *([html.P(model.filling, id="region-filling", className="gw-note gw-filling")]
          if model.filling else []),
        summary,
        *children,
        html.Div(className="gw-grid-2", children=[
            panel(state.t("page.trend"), charts.graph(trend, "region-trend", "region-trend")),
            *breakdowns[:1]]),
        html.Div(className="gw-grid-2", children=breakdowns[1:]),
        *([panel(state.t("region.cases"), *case_list(model, state), panel_id="case-panel",
                 wide=True)] if model.cases is not None else []),
    ], user)
