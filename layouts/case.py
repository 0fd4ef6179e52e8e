"""/case/<id>: the case's fields, deadline and time status, supervision, rating, and its
full timeline (every transition with time, org and level)."""
from __future__ import annotations

from dataclasses import asdict

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.views.case import CaseView
from dashboard.views.url_state import PageState, encode
from layouts.page_parts import GRID_STYLE, frame, panel

STATUS_CLASS = {"已超期": "gw-missed", "超期办结": "gw-missed", "将到期": "gw-warn",
                "正常": "gw-met", "按期办结": "gw-met"}
EVENT_COLUMNS = (("seq", "序号", "#"), ("at", "时间", "Time"), ("event", "事件", "Event"),
                 ("state", "之后环节", "State after"), ("level", "层级", "Level"),
                 ("org", "办理机构", "Org"), ("org_code", "机构代码", "Org code"),
                 ("detail", "内容", "Detail"))


def layout(model: CaseView, state: PageState) -> html.Div:
    en = state.lang == "en"
    search = encode(state, page=1, region=None)
    chain = [c for i, c in enumerate(model.region_chain)
             if i == 0 or c.code != model.region_chain[i - 1].code]
    crumbs = []
    for i, c in enumerate(chain):
        if i:
            crumbs.append(html.Span(className="gw-crumb-sep", **{"aria-hidden": "true"}))
        crumbs.append(dcc.Link(c.name, href=f"/region/{c.code}{search}", className="gw-crumb"))
    fields = html.Dl(className="gw-fields", id="case-fields", children=[
        part for label, value in model.fields for part in (
            html.Dt(label), html.Dd(value, className=STATUS_CLASS.get(value, "")))])
    cols = [{"field": k, "headerName": e if en else z} for k, z, e in EVENT_COLUMNS]
    timeline = dag.AgGrid(id="case-timeline", rowData=[asdict(e) for e in model.events], columnDefs=cols,
                          columnSize="autoSize", style=GRID_STYLE,
                          defaultColDef={"resizable": True, "sortable": False},
                          dashGridOptions={"domLayout": "autoHeight"})
    nav = [dcc.Link(state.t("返回所在网格", "Back to its grid"),
                    href=f"/region/{model.grid_code}{search}", id="case-back")]
    return frame("gw-case-page", state.t(f"案件 {model.case_no}", f"Case {model.case_no}"),
                 state, nav, [
        html.Nav(crumbs, className="gw-breadcrumb", id="breadcrumb"),
        html.Div(className="gw-grid-2 gw-case-grid", children=[
            panel(state.t("案件信息", "Case"), fields, panel_id="case-panel"),
            panel(state.t(f"办理过程（{len(model.events)} 个环节）",
                          f"Timeline ({len(model.events)} steps)"), timeline,
                  panel_id="timeline-panel"),
        ]),
    ])
