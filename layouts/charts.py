"""Figures of the leaders' and staff pages, from plain view-model data (plotly
graph_objects only). The map draws boundaries as filled lon/lat polygons: plotly's geo
traces fetch a world topojson from a CDN, which an offline command center cannot reach."""
from __future__ import annotations

import functools

import plotly.graph_objects as go
from dash import dcc
from plotly.colors import sample_colorscale

FONT = "GW Sans, Noto Sans CJK SC, Microsoft YaHei, sans-serif"
# Red = bad, blue = good, as on the wall: RdYlBu stays distinct for colour-blind viewers
# (RdYlGn puts red against green).
GOOD_TO_BAD = "RdYlBu"
NO_DATA = "#c8cdd6"


def figure(traces: list[dict], layout: dict) -> dict:
    """A figure as the JSON Dash sends for a go.Figure (plotly's default template
    included), built without plotly validating every property: 7-11 ms a figure that
    way, ~10% of the web workers' samples under a province's leaders (bench.province_scale
    at 10M), against microseconds (tests/test_page_charts.py checks it is the same JSON)."""
    return {"data": traces, "layout": {**layout, "template": _template()}}


@functools.cache
def _template() -> dict:
    """plotly's default template as go.Figure writes it into every figure's JSON."""
    return go.Figure().to_plotly_json()["layout"]["template"]


def _layout(title: str, height: int = 320, xaxis: dict | None = None,
            yaxis: dict | None = None, **extra) -> dict:
    return {"title": {"text": title, "x": 0.01, "font": {"size": 15}}, "height": height,
            "margin": {"l": 48, "r": 16, "t": 44, "b": 40}, "font": {"family": FONT},
            "hoverlabel": {"font": {"family": FONT}},  # else Arial, not the layout's font
            "paper_bgcolor": "white", "plot_bgcolor": "white",
            "legend": {"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"},
            "xaxis": {"gridcolor": "#eef0f4", **(xaxis or {})},
            "yaxis": {"gridcolor": "#eef0f4", "rangemode": "tozero", **(yaxis or {})},
            **extra}


def graph(fig: dict, graph_id: str, filename: str) -> dcc.Graph:
    """A chart whose modebar saves a PNG in the browser (no server-side renderer)."""
    return dcc.Graph(id=graph_id, figure=fig, config={
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"]})


def trend(series: dict, title: str, labels: tuple[str, str], pending: str) -> dict:
    """Intake bars and closed line by day or hour; `pending` shows instead when no point of
    the window is known yet (every day still being filled: None, not 0)."""
    if series["intake"] and all(v is None for v in series["intake"]):
        return empty(title, pending)
    return figure([
        {"type": "bar", "x": series["x"], "y": series["intake"], "name": labels[0],
         "marker": {"color": "#3b82c4"}},
        {"type": "scatter", "x": series["x"], "y": series["closed"], "name": labels[1],
         "mode": "lines+markers", "line": {"color": "#2f9e6e", "width": 2}},
    ],  # categories: a few days of a running week must not stretch into a time axis
        _layout(title, xaxis={"type": "category"}))


def empty(title: str, message: str) -> dict:
    """No cases: say so instead of drawing axes around nothing."""
    return figure([], _layout(
        title, height=220, xaxis={"visible": False}, yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False,
                      "font": {"size": 16, "color": "#8a94a6"},
                      "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]))


def bars(counts: dict[str, int], title: str, empty_label: str, no_data: str) -> dict:
    """Counts as horizontal bars; `empty_label` names the empty key, `no_data` shows
    instead of the chart when there is nothing to count."""
    if not counts:
        return empty(title, no_data)
    items = sorted(counts.items(), key=lambda kv: kv[1])
    return figure([{"type": "bar", "x": [n for _, n in items],
                    "y": [k or empty_label for k, _ in items], "orientation": "h",
                    "marker": {"color": "#5b7db1"}, "text": [f"{n:,}" for _, n in items],
                    "textposition": "auto"}],
                  _layout(title, height=max(220, 36 + 26 * len(items))))


def _colour(values: list[float | None], higher_is_better: bool) -> list[str]:
    known = [v for v in values if v is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
            continue
        t = 0.5 if hi == lo else (v - lo) / (hi - lo)
        out.append(sample_colorscale(GOOD_TO_BAD, [t if higher_is_better else 1 - t])[0])
    return out


@functools.cache
def _scale(name: str) -> list:
    # Spelled out as plotly's validation writes it (plotly.js knows few scales by name).
    return go.Scatter(marker={"colorscale": name}).to_plotly_json()["marker"]["colorscale"]


def _rings(geometry: dict):
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for poly in polys:
        yield poly[0]  # exterior ring; holes are too small to matter at this zoom


def region_map(features: list[dict], values: dict[str, float | None], texts: dict[str, str],
               higher_is_better: bool, title: str) -> dict:
    codes = [f["id"] for f in features]
    colours = dict(zip(codes, _colour([values.get(c) for c in codes], higher_is_better)))
    traces = []
    for f in features:
        code, name = f["id"], f["properties"]["name"]
        lon, lat = [], []
        for ring in _rings(f["geometry"]):
            lon += [p[0] for p in ring] + [None]
            lat += [p[1] for p in ring] + [None]
        label = f"{name}<br>{texts.get(code, '')}"
        traces.append({"type": "scatter", "x": lon, "y": lat, "fill": "toself",
                       "mode": "lines", "name": name, "fillcolor": colours[code],
                       "line": {"color": "white", "width": 1}, "hoveron": "fills",
                       "text": label, "hoverinfo": "text", "customdata": [code] * len(lon),
                       "showlegend": False})
    known = [v for v in values.values() if v is not None]
    if known:  # an invisible trace that only carries the colour bar
        traces.append({"type": "scatter", "x": [None], "y": [None], "mode": "markers",
                       "showlegend": False, "hoverinfo": "skip", "marker": {
                           "colorscale": _scale(GOOD_TO_BAD), "reversescale": not higher_is_better,
                           "cmin": min(known), "cmax": max(known), "color": [min(known)],
                           "showscale": True, "colorbar": {"thickness": 12, "len": 0.7}}})
    return figure(traces, _layout(
        title, height=520, xaxis={"visible": False, "rangemode": "normal"},
        # 1/cos(latitude) near 30°N: shapes keep their proportions.
        yaxis={"visible": False, "rangemode": "normal", "scaleanchor": "x",
               "scaleratio": 1.15}))


def child_bars(rows: list[dict], metric: str, higher_is_better: bool, title: str) -> dict:
    """Below county there are no boundaries: the children as coloured bars instead."""
    rows = sorted(rows, key=lambda r: (r[metric] is None, r[metric] or 0))
    values = [r[metric] for r in rows]
    return figure([{"type": "bar", "x": [v if v is not None else 0 for v in values],
                    "y": [r["name"] for r in rows], "orientation": "h",
                    "marker": {"color": _colour(values, higher_is_better)},
                    "text": [r[metric + "_text"] for r in rows], "textposition": "auto",
                    "customdata": [r["code"] for r in rows]}],
                  _layout(title, height=max(260, 40 + 24 * len(rows))))
