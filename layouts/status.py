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
             "ok": "正常", "degraded": "部分异常", "skipping": "有跳过", "unknown": "未知"}
# Why a stream entry was skipped (data_sources.stream_skips.SKIP_REASONS).
SKIP_REASON_ZH = {"unknown_version": "版本未知", "unknown_type": "类型未知",
                  "missing_field": "缺少字段", "bad_time": "时间异常", "bad_value": "取值异常",
                  "unknown_grid": "网格未知", "oversized": "超长", "bad_encoding": "编码错误",
                  "duplicate": "重复"}


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
        skipped_row(stream.get("skipped")),
    ]
    return html.Table(className="gw-table", children=[html.Tbody([
        html.Tr([html.Td(name), html.Td(STATUS_ZH.get(status, status),
                                        className=f"gw-state-{status}"), html.Td(detail)])
        for name, status, detail in rows])])


def skipped_row(skipped: dict | None) -> tuple[str, str, str]:
    """The stream entries skipped so far (by every worker, each entry once), by reason."""
    if not skipped:
        return ("跳过条目", "unknown", "")
    total = skipped.get("total") or 0
    reasons = skipped.get("by_reason") or {}
    detail = "，".join(f"{SKIP_REASON_ZH.get(r, r)} {n:,}"
                      for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    since = skipped.get("since_local")
    text = f"共 {total:,} 条" + (f"：{detail}" if detail else "") + \
        (f"（自 {since} 起）" if since else "")
    return ("跳过条目", "skipping" if total else "ok", text)


def event_rows(events: list[dict]) -> html.Table:
    if not events:
        return html.Div("暂无事件", className="gw-muted")
    head = html.Thead(html.Tr([html.Th(h) for h in ("时间", "事件", "编号", "网格", "当前环节")]))
    body = html.Tbody([html.Tr([html.Td(e["time"]), html.Td(e["event"]), html.Td(e["case"]),
                                html.Td(e["grid"]), html.Td(e["state"])]) for e in events])
    return html.Table(className="gw-table", children=[head, body])
