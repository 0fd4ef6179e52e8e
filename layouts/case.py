"""/case/<id>: the case's fields, deadline and time status, supervision, rating, its
personal information (masked; a button to show it in full for who may), and its full
timeline (every transition with time, org and level)."""
from __future__ import annotations

from dataclasses import asdict

from dash import dcc, html

from dashboard.views.case import CaseView, PersonalView
from dashboard.views.url_state import PageState, encode
from layouts.grids import data_grid
from layouts.page_parts import frame, panel

# The timeline's columns (TimelineRow's fields), headed `case.col.<key>`.
EVENT_COLUMNS = ("seq", "at", "event", "state", "level", "org", "org_code", "detail")


def personal_body(view: PersonalView, state: PageState, can_unmask: bool = False) -> list:
    """The personal panel's content: the fields, what they are (masked, in clear, none),
    and the unmask button for an account that may press it (its callback: callbacks/case.py)."""
    if not view.present:
        return [html.P(state.t("case.personal.none"), className="gw-note")]
    fields = html.Dl(className="gw-fields", id="case-personal-fields", children=[
        part for label, value in view.rows for part in (html.Dt(label), html.Dd(value))])
    note = state.t("case.personal.masked" if view.masked else "case.personal.clear")
    body = [fields, html.P(note, className="gw-note", id="case-personal-note")]
    if view.masked and can_unmask:
        body.append(html.Button(state.t("case.unmask"), id="case-unmask", n_clicks=0,
                                className="gw-button"))
    return body


def layout(model: CaseView, state: PageState, user: dict | None = None,
           can_unmask: bool = False) -> html.Div:
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
    timeline = data_grid("case-timeline", state, [asdict(e) for e in model.events], cols,
                         {"domLayout": "autoHeight"}, columnSize="autoSize",
                         defaultColDef={"resizable": True, "sortable": False})
    nav = [dcc.Link(state.t("case.back"),
                    href=f"/region/{model.grid_code}{search}", id="case-back")]
    return frame("gw-case-page", state.t("case.title", case_no=model.case_no),
                 state, nav, [
        html.Nav(crumbs, className="gw-breadcrumb", id="breadcrumb"),
        html.Div(className="gw-grid-2 gw-case-grid", children=[
            html.Div([
                panel(state.t("case.info"), fields, panel_id="case-panel"),
                panel(state.t("case.personal"),
                      html.Div(personal_body(model.personal, state, can_unmask),
                               id="case-personal"), panel_id="personal-panel"),
            ]),
            panel(state.t("case.timeline", n=len(model.events)), timeline,
                  panel_id="timeline-panel"),
        ]),
    ], user)
