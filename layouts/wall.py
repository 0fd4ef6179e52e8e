"""The wall (大屏): a fixed design canvas of panels, scaled to any screen by assets/wall.js.

This module only turns view models (dashboard.views.wall.model) into components. The canvas is
1920×1080 for 16:9 screens and 3840×1080 for 32:9 spliced walls; CSS grid areas place the
same panels in each profile (assets/wall.css).
"""
from __future__ import annotations

import json

from dash import dcc, html

from dashboard.domain.metrics import WALL_MAP
from dashboard.domain.text import t
from layouts.wall_charts import CONFIG
from layouts.wall_panels import PANELS, Panel

# The words assets/wall.js shows itself (the feed badge, the staleness note).
SCRIPT_WORDS = ("wall.feed", "wall.stale", "wall.since", "wall.status.live", "wall.status.starting",
                "wall.status.down")
KPI_KEYS = ("intake", "closed", "open", "overdue_open", "cards", "closure", "on_time",
            "satisfaction")
TICKER_ROWS = 24      # kept in the DOM (the 16:9 profile shows the newest 5)


def _section(name: str, title, body, asof: str = "", extra_class: str = "") -> html.Section:
    return html.Section(className=f"gw-w-panel gw-area-{name} {extra_class}", id=f"wall-panel-{name}",
                        children=[
                            html.Div(className="gw-w-panel-head", children=[
                                html.H2(title, id=f"wall-title-{name}"),
                                html.Span(asof, className="gw-w-asof", id=f"wall-asof-{name}")]),
                            html.Div(body, className="gw-w-panel-body")])


def _graph(name: str, figure) -> dcc.Graph:
    return dcc.Graph(id=f"wall-{name}", figure=figure, config=CONFIG,
                     className="gw-w-graph", style={"height": "100%", "width": "100%"})


def layout(cfg: dict, crumbs: list[dict], content: dict) -> html.Div:
    """cfg: region, metric, lang, privacy, rotate, refresh_ms, tz, reload_hour, from_id.
    content: the initial children/figures of every panel (so the first paint has data)."""
    lang = cfg["lang"]
    metric = WALL_MAP[cfg["metric"]]
    asof = content.get("asof_text", {})

    def _panel(name, title, body):  # the first paint already says how old each panel is
        return _section(name, title, body, asof.get(name, ""))

    def _panel_of(p: Panel):
        body = _graph(p.key, content["panels"][p.key]) if p.graph else html.Div(
            id=f"wall-{p.key}", className=p.body_class, children=content["panels"][p.key])
        return _panel(p.key, t(f"wall.panel.{p.key}", lang), body)
    kpi_cards = [html.Div(className=f"gw-w-kpi gw-w-kpi-{k}", children=[
        html.Div(t(f"wall.kpi.{k}", lang), className="gw-w-kpi-label"),
        html.Div(content["kpis"].get(k, "—"), className="gw-w-kpi-value", id=f"wall-kpi-{k}"),
        html.Div(content["kpi_subs"].get(k, ""), className="gw-w-kpi-sub", id=f"wall-kpisub-{k}"),
    ]) for k in KPI_KEYS]
    ticker_head = html.Div(className="gw-w-trow gw-w-thead", children=[
        html.Span(t(f"wall.ticker.{c}", lang), className=f"gw-w-tc gw-w-tc-{c}")
        for c in ("time", "no", "place", "category", "step", "left")])
    data = {"data-profile": "16x9", "data-tz": cfg["tz"], "data-lang": lang,
            "data-region": cfg["region"], "data-metric": cfg["metric"],
            "data-privacy": "1" if cfg["privacy"] else "0",
            "data-refresh": str(cfg["refresh_ms"]), "data-reload-hour": str(cfg["reload_hour"]),
            "data-from": cfg.get("from_id") or "",
            "data-marks": json.dumps(content.get("marks") or {}),
            "data-words": json.dumps({k: t(k, lang) for k in SCRIPT_WORDS}, ensure_ascii=False)}
    return html.Div(id="wall-root", className="gw-wall", lang="en" if lang == "en" else "zh-CN",
                    **data, children=[
        html.Div(id="wall-canvas", className="gw-w-canvas", children=[
            html.Header(className="gw-w-header gw-area-header", children=[
                html.Div(className="gw-w-titles", children=[
                    html.H1(id="wall-heading", children=content["heading"]),
                    html.Nav(id="wall-crumbs", className="gw-w-crumbs",
                             children=crumb_links(crumbs, cfg)),
                ]),
                html.Div(id="wall-clock", className="gw-w-clock", children="--:--:--"),
                html.Div(className="gw-w-freshbox", children=[
                    html.Div(id="wall-fresh", className="gw-w-fresh", children=content["fresh"]),
                    html.Div(className="gw-w-fresh", children=[
                        html.Span(t("wall.status.starting", lang), id="wall-feed",
                                  className="gw-fresh gw-fresh-starting",
                                  **{"data-status": "starting"}),
                        html.Span("", id="wall-stale", className="gw-w-stale")]),
                ]),
            ]),
            html.Section(className="gw-w-kpis gw-area-kpis", children=[
                *kpi_cards,
                # The strip's data time, as every panel has one.
                html.Div(className="gw-w-kpi-asof", children=[
                    html.Span(t("wall.data_time", lang)),
                    html.Span(asof.get("kpis", ""), className="gw-w-asof", id="wall-asof-kpis")]),
            ]),
            *[_panel_of(p) for p in PANELS[:3]],
            _panel("map", t("wall.panel.map", lang, metric=t(f"wall.kpi.{metric.key}", lang)), [
                _graph("map", content["map"]),
                html.Div(id="wall-legend", className="gw-w-legend", children=content["legend"])]),
            *[_panel_of(p) for p in PANELS[3:5]],
            _panel("ticker", t("wall.panel.ticker", lang), [
                ticker_head, html.Div(id="wall-ticker", className="gw-w-tbody",
                                      children=content["ticker"],
                                      **{"data-empty": t("wall.ticker.empty", lang)})]),
            *[_panel_of(p) for p in PANELS[5:]],
        ]),
        dcc.Store(id="wall-config", data=cfg),
        dcc.Store(id="wall-kpi-data", data=content.get("kpi_data")),
        dcc.Store(id="wall-region", data=cfg["region"]),
        # What the panels show (layouts/wall_panels.Panel.mark): unchanged ones are not sent.
        dcc.Store(id="wall-marks", data=content.get("marks")),
        # Whether each tick's frame reaches the screen over its live feed (assets/wall.js):
        # then the refresh callback only resynchronises it.
        dcc.Store(id="wall-push", data=False),
        dcc.Interval(id="wall-tick", interval=cfg["refresh_ms"]),
        dcc.Interval(id="wall-rotate", interval=max(cfg.get("rotate") or 0, 5) * 1000,
                     disabled=not cfg.get("rotate")),
    ])


def waiting(lang: str = "zh") -> html.Div:
    """Shown only while no data at all can be read; retries every 5 s by itself."""
    return html.Div(id="wall-waiting", className="gw-wall gw-w-waiting", children=[
        html.Div(t("wall.connecting", lang), className="gw-w-waiting-text"),
        dcc.Interval(id="wall-retry", interval=5000)])


def crumb_links(crumbs: list[dict], cfg: dict) -> list:
    out = []
    keep = "".join(f"&{k}={cfg[k]}" for k in ("metric", "lang") if cfg.get(k) and
                   not (k == "lang" and cfg[k] == "zh"))
    for i, c in enumerate(crumbs):
        if i:
            out.append(html.Span(className="gw-w-sep", **{"aria-hidden": "true"}))
        out.append(dcc.Link(c["name"], href=f"/wall?region={c['code']}{keep}",
                            className="gw-w-crumb"))
    out.append(dcc.Link(t("wall.details", cfg["lang"]), href=f"/region/{cfg['region']}"
                        + ("?lang=en" if cfg["lang"] == "en" else ""),
                        className="gw-w-details", id="wall-details"))
    return out


# -- HTML panels ------------------------------------------------------------------------
