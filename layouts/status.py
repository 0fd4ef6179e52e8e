"""The live status page: what gridwatch sees right now, for operators and the first demo."""
from __future__ import annotations

from dash import dcc, html


def layout(refresh_seconds: float) -> html.Div:
    return html.Div(className="gw-status", children=[
        html.Header(className="gw-header", children=[
            html.H1("网格化社会治理 · 运行状态"),
            html.Div(id="status-region", className="gw-region"),
            html.Div(id="status-clock", className="gw-clock"),
        ]),
        html.Section(id="status-kpis", className="gw-kpis"),
        html.Section(className="gw-columns", children=[
            html.Div(className="gw-panel", children=[html.H2("数据源"),
                                                     html.Div(id="status-sources")]),
            html.Div(className="gw-panel", children=[html.H2("最新事件"),
                                                     html.Div(id="status-events")]),
        ]),
        dcc.Interval(id="status-tick", interval=int(refresh_seconds * 1000)),
    ])


STATUS_ZH = {"up": "正常", "down": "中断", "live": "实时", "lagging": "滞后", "empty": "无数据",
             "ok": "正常", "degraded": "部分异常"}


def kpi_cards(kpis) -> list:
    if not kpis:
        return [html.Div("数据库不可用，暂无指标", className="gw-warning")]
    return [html.Div(className="gw-kpi", children=[html.Div(label, className="gw-kpi-label"),
                                                   html.Div(value, className="gw-kpi-value")])
            for label, value in kpis]


def source_rows(health: dict) -> html.Table:
    stream = health["stream"]
    lag = stream.get("lag_seconds")
    rows = [
        ("数据库", health["database"]["status"],
         f"{health['cases']:,} 件" if health.get("cases") is not None
         else health["database"].get("error", "")),
        ("Redis", health["redis"]["status"], health["redis"].get("error", "") or ""),
        ("事件流", stream.get("status", "down"),
         f"{stream.get('length', 0):,} 条，最新 {lag:.0f} 秒前" if lag is not None
         else stream.get("error", "") or ""),
    ]
    return html.Table(className="gw-table", children=[html.Tbody([
        html.Tr([html.Td(name), html.Td(STATUS_ZH.get(status, status),
                                        className=f"gw-state-{status}"), html.Td(detail)])
        for name, status, detail in rows])])


def event_rows(events: list[dict]) -> html.Table:
    if not events:
        return html.Div("暂无事件", className="gw-muted")
    head = html.Thead(html.Tr([html.Th(h) for h in ("时间", "事件", "编号", "网格", "当前环节")]))
    body = html.Tbody([html.Tr([html.Td(e["time"]), html.Td(e["event"]), html.Td(e["case"]),
                                html.Td(e["grid"]), html.Td(e["state"])]) for e in events])
    return html.Table(className="gw-table", children=[head, body])
