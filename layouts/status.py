"""The live status page: what gridwatch sees right now, for operators and the first demo."""
from __future__ import annotations

from dash import dcc, html

from dashboard.domain.states import event_label, state_label
from dashboard.domain.text import t


def layout(refresh_seconds: float, lang: str = "zh") -> html.Div:
    return html.Div(className="gw-status", children=[
        html.Header(className="gw-header", children=[
            html.H1(t("status.title", lang)),
            html.Div(id="status-region", className="gw-region"),
            html.Div(id="status-clock", className="gw-clock"),
        ]),
        html.Section(id="status-kpis", className="gw-kpis"),
        html.Section(className="gw-columns", children=[
            html.Div(className="gw-panel", children=[html.H2(t("status.sources", lang)),
                                                     html.Div(id="status-sources")]),
            html.Div(className="gw-panel", children=[html.H2(t("status.events", lang)),
                                                     html.Div(id="status-events")]),
        ]),
        dcc.Interval(id="status-tick", interval=int(refresh_seconds * 1000)),
    ])


# The cards, in order; each is named `status.kpi.<key>`.
KPI_CARDS = ("intake", "closed", "open", "overdue_open", "cards", "closure", "on_time",
             "satisfaction")


def kpi_cards(kpis: dict | None, lang: str = "zh") -> list:
    if not kpis:
        return [html.Div(t("status.no_database", lang), className="gw-warning")]

    def rate(percent: float | None) -> str:
        return t("common.no_data", lang) if percent is None else f"{percent:.2f}%"
    values = {
        "intake": f"{kpis['intake']:,}", "closed": f"{kpis['closed']:,}",
        "open": f"{kpis['open']:,}", "overdue_open": f"{kpis['overdue_open']:,}",
        "cards": f"{kpis['yellow_cards']}/{kpis['red_cards']}",
        "closure": rate(kpis["closure"]), "on_time": rate(kpis["on_time"]),
        "satisfaction": t("status.rated", lang, rate=rate(kpis["satisfaction"]), n=kpis["rated"]),
    }
    return [html.Div(className="gw-kpi", children=[
        html.Div(t(f"status.kpi.{key}", lang), className="gw-kpi-label"),
        html.Div(values[key], className="gw-kpi-value")]) for key in KPI_CARDS]


def source_rows(health: dict, lang: str = "zh") -> html.Table:
    stream = health["stream"]
    lag = stream.get("lag_seconds")
    rows = [
        ("database", health["database"]["status"],
         t("status.cases", lang, n=f"{health['cases']:,}") if health.get("cases") is not None
         else health["database"].get("error", "")),
        ("redis", health["redis"]["status"], health["redis"].get("error", "") or ""),
        ("stream", stream.get("status", "down"),
         t("status.stream_detail", lang, n=f"{stream.get('length', 0):,}", lag=f"{lag:.0f}")
         if lag is not None else stream.get("error", "") or ""),
        skipped_row(stream.get("skipped"), lang),
    ]
    return html.Table(className="gw-table", children=[html.Tbody([
        html.Tr([html.Td(t(f"status.source.{name}", lang)),
                 html.Td(status_name(status, lang), className=f"gw-state-{status}"),
                 html.Td(detail)])
        for name, status, detail in rows])])


# The states a source or the report can be in (`status.state.<state>`).
STATES = ("up", "down", "live", "lagging", "empty", "ok", "degraded", "skipping", "unknown")


def status_name(status: str, lang: str) -> str:
    return t(f"status.state.{status}", lang) if status in STATES else status


# Why a stream entry was skipped (data_sources.stream_skips.SKIP_REASONS), `status.skip.<r>`.
SKIP_REASONS = ("unknown_version", "unknown_type", "missing_field", "bad_time", "bad_value",
                "unknown_grid", "oversized", "bad_encoding", "duplicate")


def skipped_row(skipped: dict | None, lang: str = "zh") -> tuple[str, str, str]:
    """The stream entries skipped so far (by every worker, each entry once), by reason."""
    if not skipped:
        return ("skipped", "unknown", "")
    total = skipped.get("total") or 0
    reasons = skipped.get("by_reason") or {}
    detail = t("status.skipped_sep", lang).join(
        f"{t(f'status.skip.{r}', lang) if r in SKIP_REASONS else r} {n:,}"
        for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    since = skipped.get("since_local")
    text = (t("status.skipped_total", lang, n=f"{total:,}")
            + (t("status.skipped_detail", lang, detail=detail) if detail else "")
            + (t("status.skipped_since", lang, since=since) if since else ""))
    return ("skipped", "skipping" if total else "ok", text)


STATUS_COLUMNS = ("time", "event", "case", "grid", "state")  # `status.col.<key>`


def event_rows(events: list[dict], lang: str = "zh") -> html.Table:
    if not events:
        return html.Div(t("status.no_events", lang), className="gw-muted")
    head = html.Thead(html.Tr([html.Th(t(f"status.col.{c}", lang)) for c in STATUS_COLUMNS]))
    body = html.Tbody([html.Tr([html.Td(e["time"]), html.Td(event_label(e["event"], lang)),
                                html.Td(e["case"]), html.Td(e["grid"]),
                                html.Td(state_label(e["state"], lang))]) for e in events])
    return html.Table(className="gw-table", children=[head, body])
