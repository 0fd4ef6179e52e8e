"""/case/<id>: the case's fields, deadline and time status, supervision, rating, and its
full timeline (every transition with time, org and level)."""
from __future__ import annotations

from dataclasses import asdict

import dash_ag_grid as dag
from dash import dcc, html

from dashboard.views.case import CaseView
from dashboard.views.url_state import PageState, encode
from layouts.page_parts import GRID_STYLE, frame, panel

# The timeline's columns (TimelineRow's fields), headed `case.col.<key>`.
EVENT_COLUMNS = ("seq", "at", "event", "state", "level", "org", "org_code", "detail")


def layout(model: CaseView, state: PageState, user: dict | None = None) -> html.Div:
    search = encode(state, page=1, region=None)
    chain = [c for i, c in enumerate(model.region_chain)
             if i == 0 or c.code != model.region_chain[i - 1].code]
    crumbs = []
    for i, c in enumerate(chain):
        if i:
            crumbs.append(html.Span(className="gw-crumb-sep", **{"aria-hidden": "true"}))
        crumbs.append(dcc.Link(c.name, href=f"/region/{c.code}{search}", className="gw-crumb"))
    fields = html.Dl(className="gw-fields", id="case-fields", children=[
        part for label, value, tone in model.fields for part in (
            html.Dt(label), html.Dd(value, className=f"gw-{tone}" if tone else ""))])
    cols = [{"field": k, "headerName": state.t(f"case.col.{k}")} for k in EVENT_COLUMNS]
    timeline = dag.AgGrid(id="case-timeline", rowData=[asdict(e) for e in model.events], columnDefs=cols,
                          columnSize="autoSize", style=GRID_STYLE,
                          defaultColDef={"resizable": True, "sortable": False},
                          dashGridOptions={"domLayout": "autoHeight"})
    nav = [dcc.Link(state.t("case.back"),
                    href=f"/region/{model.grid_code}{search}", id="case-back")]
    return frame("gw-case-page", state.t("case.title", case_no=model.case_no),
                 state, nav, [
        html.Nav(crumbs, className="gw-breadcrumb", id="breadcrumb"),
        html.Div(className="gw-grid-2 gw-case-grid", children=[
            panel(state.t("case.info"), fields, panel_id="case-panel"),
            panel(state.t("case.timeline", n=len(model.events)), timeline,
                  panel_id="timeline-panel"),
        ]),
    ], user)
