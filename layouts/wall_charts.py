"""The wall's figures, built with plotly.graph_objects on a fixed design canvas.

Sizes are canvas pixels (1920×1080 design): the page scales the whole canvas to the
screen, so a 4K wall shows the same figure, sharper. Fonts are never below 18 px.
"""
from __future__ import annotations

import plotly.graph_objects as go

from dashboard.domain.colours import BAD_TO_GOOD, LOW_TO_HIGH, NO_DATA, colours
from dashboard.domain.metrics import Metric
from dashboard.domain.text import t

INK = "#e6edf7"
MUTED = "#9fb0c8"
GRID = "rgba(159,176,200,0.18)"
GOOD, BAD, NEUTRAL, ACCENT = BAD_TO_GOOD[4], BAD_TO_GOOD[0], "#7fa7d9", "#f6c453"
FONT = dict(family="GW Sans, Noto Sans CJK SC, sans-serif", color=INK, size=18)
CONFIG = {"displayModeBar": False, "staticPlot": False, "responsive": True}


def _base(**kw) -> dict:
    layout = dict(paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)", font=FONT,
                  # Hover labels default to Arial, not the layout's font.
                  hoverlabel=dict(font=dict(family=FONT["family"])),
                  margin=dict(l=8, r=8, t=8, b=8), showlegend=False,
                  uirevision="wall")
    layout.update(kw)
    return layout


def placeholder(text: str) -> go.Figure:
    return go.Figure(layout=_base(
        xaxis=dict(visible=False), yaxis=dict(visible=False),
        annotations=[dict(text=text, showarrow=False, font=dict(size=22, color=MUTED),
                          x=0.5, y=0.5, xref="paper", yref="paper")]))


PARTIAL_MIN_MINUTES = 10   # before this, one hour's rate from a few minutes is noise
HOUR_TICKS = (0, 6, 12, 18, 23)


def hourly_figure(h: dict, lang: str) -> go.Figure:
    """Yesterday and today per hour. The current hour is unfinished: drawn apart, as a
    dotted step to a hollow marker at its count scaled to a full hour (from
    PARTIAL_MIN_MINUTES on), so it never reads as a collapse of the last hour."""
    names = [t(f"wall.hourly.{n}", lang) for n in ("y_in", "y_out", "t_in", "t_out")]
    names.append(t("wall.hourly.partial", lang, m=min(h.get("now_minute") or 0, 60)))
    hours = list(range(24))
    now = h.get("now_hour", 23)
    minute = h.get("now_minute")       # None in a model cached before it was recorded
    last = now if minute is None else now - 1
    done = lambda xs: [v if i <= last else None for i, v in enumerate(xs)]  # noqa: E731
    traces = [
        go.Scatter(x=hours, y=h["yesterday_intake"], name=names[0], mode="lines",
                   line=dict(color=MUTED, width=2, dash="dot")),
        go.Scatter(x=hours, y=h["yesterday_closed"], name=names[1], mode="lines",
                   line=dict(color="#6b7f99", width=2, dash="dash")),
        go.Scatter(x=hours, y=done(h["today_intake"]), name=names[2], mode="lines+markers",
                   line=dict(color=ACCENT, width=4), marker=dict(size=6)),
        go.Scatter(x=hours, y=done(h["today_closed"]), name=names[3], mode="lines+markers",
                   line=dict(color=GOOD, width=4), marker=dict(size=6)),
    ]
    partial = minute is not None and minute >= PARTIAL_MIN_MINUTES
    if partial:
        scale = 60 / min(minute, 60)
        label = names[4] if len(names) > 4 else ""
        for key, colour in (("today_intake", ACCENT), ("today_closed", GOOD)):
            xs = [x for x in (now - 1, now) if x >= 0]
            ys = [h[key][x] * (scale if x == now else 1) for x in xs]
            traces.append(go.Scatter(
                x=xs, y=ys, name=label, mode="lines+markers", showlegend=False,
                line=dict(color=colour, width=3, dash="dot"),
                marker=dict(size=[6, 13][-len(xs):], symbol="circle-open",
                            line=dict(width=3, color=colour)),
                customdata=[h[key][x] for x in xs],
                hovertemplate="%{customdata} · " + label + "<extra></extra>"))
    layout = _base(
        showlegend=True, margin=dict(l=52, r=10, t=34, b=32),
        legend=dict(orientation="h", x=0, y=1.0, yanchor="bottom", font=dict(size=18, color=MUTED)),
        xaxis=dict(tickvals=list(HOUR_TICKS), ticktext=[t("wall.hourly.tick", lang, h=h)
                                                        for h in HOUR_TICKS],
                   tickfont=dict(size=18, color=MUTED), gridcolor=GRID, range=[-0.3, 23.3]),
        yaxis=dict(tickfont=dict(size=18, color=MUTED), gridcolor=GRID, rangemode="tozero"))
    if partial and len(names) > 4:
        # Inside the plot's top-left corner: the night hours there are low, and above the
        # plot sits the legend.
        layout["annotations"] = [dict(
            x=0.01, y=0.99, xref="paper", yref="paper", xanchor="left", yanchor="top",
            showarrow=False, text="◌ " + names[4], font=dict(size=18, color=MUTED),
            bgcolor="rgba(11, 21, 38, 0.75)")]
    return go.Figure(traces, layout)


def satisfaction_figure(rows: list[dict], month: dict[str, dict], target: float,
                        min_sample: int, lang: str) -> go.Figure:
    """Today's and this month's 满意率 per child against the target line."""
    names = [r["name"] for r in rows]
    today = [r.get("satisfaction") for r in rows]
    mon = [month.get(r["code"], {}).get("satisfaction") for r in rows]
    thin = [month.get(r["code"], {}).get("rated", 0) < min_sample for r in rows]
    low = min([v for v in today + mon if v is not None] + [target]) - 1.5
    mcolors = [NO_DATA if few else (GOOD if (v or 0) >= target else BAD)
               for v, few in zip(mon, thin)]
    month_name, today_name = t("wall.sat.month", lang), t("wall.sat.today", lang)
    traces = [
        go.Bar(x=names, y=mon, name=month_name, marker_color=mcolors, opacity=0.95,
               hovertemplate=f"%{{x}} {month_name} %{{y:.2f}}%<extra></extra>"),
        go.Scatter(x=names, y=today, name=today_name, mode="markers",
                   marker=dict(symbol="diamond", size=14, color=ACCENT,
                               line=dict(color="#0b1526", width=1.5)),
                   hovertemplate=f"%{{x}} {today_name} %{{y:.2f}}%<extra></extra>"),
    ]
    return go.Figure(traces, _base(
        showlegend=False, margin=dict(l=58, r=8, t=8, b=40), bargap=0.35,
        shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=target, y1=target,
                     line=dict(color=ACCENT, width=2, dash="dash"))],
        xaxis=dict(tickfont=dict(size=18, color=INK), tickangle=0),
        yaxis=dict(range=[max(low, 80), 100.6], tickfont=dict(size=18, color=MUTED),
                   gridcolor=GRID, ticksuffix="%")))


# -- the map -----------------------------------------------------------------------
def _rings(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [poly[0] for poly in geometry["coordinates"]]
    return []


def _xy(rings) -> tuple[list, list]:
    xs, ys = [], []
    for ring in rings:
        xs.extend(p[0] for p in ring)
        ys.extend(p[1] for p in ring)
        xs.append(None)
        ys.append(None)
    return xs, ys


def map_values(rows: list[dict], metric: Metric) -> list[float | None]:
    return [r.get(metric.key) for r in rows]


def map_labels(rows: list[dict], metric: Metric, lang: str,
               small: set[str] = frozenset()) -> list[str]:
    """Name and value at each child; none on children too small to hold a label (the
    colour still tells, and the ranking names them)."""
    out = []
    for r in rows:
        if r["code"] in small:
            out.append("")
            continue
        v = r.get(metric.key)
        val = t("common.no_data", lang) if v is None else (
            f"{v:.1f}%" if metric.kind == "rate" else f"{v:,}")
        out.append(f"{r['name']}<br><b>{val}</b>")
    return out


def small_children(polygons: dict[str, dict], share: float = 0.025) -> set[str]:
    """Children whose bounding box is under `share` of the whole map's."""
    boxes = {}
    for code, f in polygons.items():
        xs, ys = _xy(_rings(f["geometry"]))
        xs, ys = [x for x in xs if x is not None], [y for y in ys if y is not None]
        if xs:
            boxes[code] = (min(xs), min(ys), max(xs), max(ys))
    if not boxes:
        return set()
    x0 = min(b[0] for b in boxes.values()); y0 = min(b[1] for b in boxes.values())  # noqa: E702
    x1 = max(b[2] for b in boxes.values()); y1 = max(b[3] for b in boxes.values())  # noqa: E702
    whole = max((x1 - x0) * (y1 - y0), 1e-9)
    return {c for c, b in boxes.items() if (b[2] - b[0]) * (b[3] - b[1]) / whole < share}


def label_colours(fills: list[str]) -> list[str]:
    """Dark text on the light bins, white on the dark ones."""
    light = {BAD_TO_GOOD[1], BAD_TO_GOOD[2], BAD_TO_GOOD[3], *LOW_TO_HIGH[:3]}
    return ["#0b1526" if f in light else "#ffffff" for f in fills]


def map_figure(features: dict, points: list[dict], rows: list[dict], metric: Metric,
               outline: dict | None, lang: str) -> go.Figure:
    """Children as filled polygons (province, city) or as dots (below a county), a label at
    each child, and two empty traces the page fills with live case points."""
    fills, _ = colours(metric, map_values(rows, metric))
    colour_of = {r["code"]: c for r, c in zip(rows, fills)}
    traces = []
    if outline:
        xs, ys = _xy(_rings(outline))
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=MUTED, width=2),
                                 hoverinfo="skip", fill=None))
    polygons = {f["id"]: f for f in features.get("features", [])}
    for r in rows:
        f = polygons.get(r["code"])
        if f is None:
            continue
        xs, ys = _xy(_rings(f["geometry"]))
        traces.append(go.Scatter(x=xs, y=ys, mode="lines", fill="toself",
                                 fillcolor=colour_of[r["code"]], line=dict(color="#0b1526", width=1.5),
                                 hoverinfo="skip", name=r["code"]))
    dot_rows = [p for p in points if p["code"] not in polygons]
    meta = {"fills": [i for i, tr in enumerate(traces) if tr.fill == "toself"]}
    if dot_rows:
        meta["dots"] = len(traces)
        traces.append(go.Scatter(
            x=[p["lon"] for p in dot_rows], y=[p["lat"] for p in dot_rows], mode="markers",
            marker=dict(size=26, color=[colour_of.get(p["code"], NO_DATA) for p in dot_rows],
                        line=dict(color="#0b1526", width=1.5)), hoverinfo="skip"))
    meta["labels"] = len(traces)
    traces.append(go.Scatter(
        x=[p["lon"] for p in points], y=[p["lat"] for p in points], mode="text",
        text=map_labels(rows, metric, lang, small_children(polygons)), hoverinfo="skip",
        textfont=dict(size=18, color=label_colours(fills))))
    meta["live"] = len(traces)
    traces.append(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                             marker=dict(size=9, color="rgba(255,255,255,0.85)",
                                         line=dict(color="#0b1526", width=1))))
    meta["urgent"] = len(traces)
    traces.append(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                             marker=dict(size=18, symbol="star", color=BAD,
                                         line=dict(color="#ffffff", width=1.5))))
    lats = [p["lat"] for p in points if p.get("lat") is not None] or [0]
    import math
    aspect = 1 / max(math.cos(math.radians(sum(lats) / len(lats))), 0.2)
    return go.Figure(traces, _base(
        meta=meta, margin=dict(l=4, r=4, t=4, b=4),
        xaxis=dict(visible=False, fixedrange=True),
        yaxis=dict(visible=False, fixedrange=True, scaleanchor="x", scaleratio=aspect)))
