"""Figures of the leaders' and staff pages, from plain view-model data (plotly
graph_objects only). The map draws boundaries as filled lon/lat polygons: plotly's geo
traces fetch a world topojson from a CDN, which an offline command center cannot reach."""
from __future__ import annotations

import plotly.graph_objects as go
from dash import dcc
from plotly.colors import sample_colorscale

FONT = "GW Sans, Noto Sans CJK SC, Microsoft YaHei, sans-serif"
# Red = bad, blue = good, as on the wall: RdYlBu stays distinct for colour-blind viewers
# (RdYlGn puts red against green).
GOOD_TO_BAD = "RdYlBu"
NO_DATA = "#c8cdd6"


def _layout(fig: go.Figure, title: str, height: int = 320) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 15}}, height=height,
                      margin={"l": 48, "r": 16, "t": 44, "b": 40}, font={"family": FONT},
                      hoverlabel={"font": {"family": FONT}},  # else Arial, not the layout's font
                      paper_bgcolor="white", plot_bgcolor="white",
                      legend={"orientation": "h", "y": 1.12, "x": 1, "xanchor": "right"})
    fig.update_xaxes(gridcolor="#eef0f4")
    fig.update_yaxes(gridcolor="#eef0f4", rangemode="tozero")
    return fig


def graph(fig: go.Figure, graph_id: str, filename: str) -> dcc.Graph:
    """A chart whose modebar saves a PNG in the browser (no server-side renderer)."""
    return dcc.Graph(id=graph_id, figure=fig, config={
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
        "modeBarButtonsToRemove": ["lasso2d", "select2d"]})


def trend(series: dict, title: str, labels: tuple[str, str]) -> go.Figure:
    fig = go.Figure([
        go.Bar(x=series["x"], y=series["intake"], name=labels[0], marker_color="#3b82c4"),
        go.Scatter(x=series["x"], y=series["closed"], name=labels[1], mode="lines+markers",
                   line={"color": "#2f9e6e", "width": 2}),
    ])
    fig = _layout(fig, title)
    # Categories: a few days of a running week must not stretch into a time axis.
    fig.update_xaxes(type="category")
    return fig


def empty(title: str, message: str) -> go.Figure:
    """No cases: say so instead of drawing axes around nothing."""
    fig = _layout(go.Figure(), title, height=220)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=message, showarrow=False, font={"size": 16, "color": "#8a94a6"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    return fig


def bars(counts: dict[str, int], title: str, empty_label: str, no_data: str) -> go.Figure:
    """Counts as horizontal bars; `empty_label` names the empty key, `no_data` shows
    instead of the chart when there is nothing to count."""
    if not counts:
        return empty(title, no_data)
    items = sorted(counts.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[n for _, n in items], y=[k or empty_label for k, _ in items],
                           orientation="h", marker_color="#5b7db1",
                           text=[f"{n:,}" for _, n in items], textposition="auto"))
    return _layout(fig, title, height=max(220, 36 + 26 * len(items)))


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


def _rings(geometry: dict):
    polys = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for poly in polys:
        yield poly[0]  # exterior ring; holes are too small to matter at this zoom


def region_map(features: list[dict], values: dict[str, float | None], texts: dict[str, str],
               higher_is_better: bool, title: str) -> go.Figure:
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
        traces.append(go.Scatter(x=lon, y=lat, fill="toself", mode="lines", name=name,
                                 fillcolor=colours[code], line={"color": "white", "width": 1},
                                 hoveron="fills", text=label, hoverinfo="text",
                                 customdata=[code] * len(lon), showlegend=False))
    known = [v for v in values.values() if v is not None]
    if known:  # an invisible trace that only carries the colour bar
        traces.append(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False,
                                 hoverinfo="skip", marker={
                                     "colorscale": GOOD_TO_BAD, "reversescale": not higher_is_better,
                                     "cmin": min(known), "cmax": max(known), "color": [min(known)],
                                     "showscale": True, "colorbar": {"thickness": 12, "len": 0.7}}))
    fig = go.Figure(traces)
    fig = _layout(fig, title, height=520)
    fig.update_xaxes(visible=False, rangemode="normal")
    fig.update_yaxes(visible=False, rangemode="normal", scaleanchor="x",
                     scaleratio=1.15)  # 1/cos(latitude) near 30°N: shapes keep their proportions
    return fig


def child_bars(rows: list[dict], metric: str, higher_is_better: bool, title: str) -> go.Figure:
    """Below county there are no boundaries: the children as coloured bars instead."""
    rows = sorted(rows, key=lambda r: (r[metric] is None, r[metric] or 0))
    values = [r[metric] for r in rows]
    fig = go.Figure(go.Bar(x=[v if v is not None else 0 for v in values],
                           y=[r["name"] for r in rows], orientation="h",
                           marker_color=_colour(values, higher_is_better),
                           text=[r[metric + "_text"] for r in rows], textposition="auto",
                           customdata=[r["code"] for r in rows]))
    return _layout(fig, title, height=max(260, 40 + 24 * len(rows)))
