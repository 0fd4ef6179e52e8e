"""The wall's figures, built with plotly.graph_objects on a fixed design canvas.

Sizes are canvas pixels (1920×1080 design): the page scales the whole canvas to the
screen, so a 4K wall shows the same figure, sharper. Fonts are never below 18 px.
"""
from __future__ import annotations

import hashlib
import json
import math

import plotly.graph_objects as go
from shapely import unary_union
from shapely.affinity import affine_transform
from shapely.geometry import shape

from dashboard.domain.colours import BAD_TO_GOOD, LOW_TO_HIGH, NO_DATA, colours
from dashboard.domain.metrics import Metric
from dashboard.domain.text import LANGS, t
from layouts.charts import figure
from layouts.label_placement import PLACEMENT_CONSTANTS, PLACEMENT_VERSION, Label, place

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


def hourly_figure(h: dict, lang: str) -> dict:
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
        dict(type="scatter", x=hours, y=h["yesterday_intake"], name=names[0], mode="lines",
             line=dict(color=MUTED, width=2, dash="dot")),
        dict(type="scatter", x=hours, y=h["yesterday_closed"], name=names[1], mode="lines",
             line=dict(color="#6b7f99", width=2, dash="dash")),
        dict(type="scatter", x=hours, y=done(h["today_intake"]), name=names[2],
             mode="lines+markers", line=dict(color=ACCENT, width=4), marker=dict(size=6)),
        dict(type="scatter", x=hours, y=done(h["today_closed"]), name=names[3],
             mode="lines+markers", line=dict(color=GOOD, width=4), marker=dict(size=6)),
    ]
    partial = minute is not None and minute >= PARTIAL_MIN_MINUTES
    if partial:
        scale = 60 / min(minute, 60)
        label = names[4] if len(names) > 4 else ""
        for key, colour in (("today_intake", ACCENT), ("today_closed", GOOD)):
            xs = [x for x in (now - 1, now) if x >= 0]
            ys = [h[key][x] * (scale if x == now else 1) for x in xs]
            traces.append(dict(
                type="scatter", x=xs, y=ys, name=label, mode="lines+markers", showlegend=False,
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
        # Above the plot's right end, on the legend's last row, which the legend leaves
        # free on both canvases (16:9: 3 + 1 entries; 32:9: one row). Inside the plot it
        # sat over the lines: at 1080p the plot is ~60 px tall.
        layout["annotations"] = [dict(
            x=1, y=1, xref="paper", yref="paper", xanchor="right", yanchor="bottom",
            showarrow=False, text=names[4], font=dict(size=18, color=MUTED))]
    return figure(traces, layout)


# The 满意率 chart's plot width in design px on each canvas profile (16:9, 32:9): its
# grid area in assets/wall.css less the panel's padding and the figure's margins.
SAT_PLOT_WIDTHS = (552, 640)
TICK_GAP = 9        # px at least between two names on one row (half a character)
TICK_ROWS_MAX = 4
TICK_ROW = 28       # px between two rows of names (a line's box is 26 px)


def tick_rows(names: list[str], width: float = min(SAT_PLOT_WIDTHS), gap: float = TICK_GAP,
              size: float = 18) -> int:
    """How many rows the category names need so that no two on one row come closer than
    `gap`: 1 when they fit side by side, else staggered over 2 (or more) rows."""
    widths = [text_width(n, size) for n in names]
    step = width / max(len(names), 1)
    for k in range(1, TICK_ROWS_MAX + 1):
        if all((a + b) / 2 + gap <= k * step for a, b in zip(widths, widths[k:])):
            return k
    return TICK_ROWS_MAX


def satisfaction_figure(rows: list[dict], month: dict[str, dict], target: float,
                        min_sample: int, lang: str = "zh") -> dict:
    """Today's and this month's 满意率 per child against the target line. Names too long to
    stand side by side under their bars are staggered over two rows."""
    names = [r["name"] for r in rows]
    stagger = tick_rows(names)
    today = [r.get("satisfaction") for r in rows]
    mon = [month.get(r["code"], {}).get("satisfaction") for r in rows]
    thin = [month.get(r["code"], {}).get("rated", 0) < min_sample for r in rows]
    thin_today = [r.get("rated", 0) < min_sample for r in rows]
    low = min([v for v in today + mon if v is not None] + [target]) - 1.5
    mcolors = [NO_DATA if few else (GOOD if (v or 0) >= target else BAD)
               for v, few in zip(mon, thin)]
    month_name, today_name = t("wall.sat.month", lang), t("wall.sat.today", lang)
    traces = [
        dict(type="bar", x=names, y=mon, name=month_name, marker=dict(color=mcolors),
             opacity=0.95, hovertemplate=f"%{{x}} {month_name} %{{y:.2f}}%<extra></extra>"),
        # Today's ◆ from fewer ratings than the guard is hollow and grey: 100% from one
        # rating is a fact about one caller, not about the district.
        dict(type="scatter", x=names, y=today, name=today_name, mode="markers",
             marker=dict(symbol=["diamond-open" if few else "diamond" for few in thin_today],
                         size=14, color=[MUTED if few else ACCENT for few in thin_today],
                         line=dict(color=[MUTED if few else "#0b1526" for few in thin_today],
                                   width=[2.5 if few else 1.5 for few in thin_today])),
             customdata=[t("wall.sat.thin", lang, n=r.get("rated", 0)) if few else ""
                         for r, few in zip(rows, thin_today)],
             hovertemplate=f"%{{x}} {today_name} %{{y:.2f}}% %{{customdata}}<extra></extra>"),
    ]
    # One x axis per row of names, the later ones overlaid on the first and their labels
    # set lower: each name is then one line of text, clear of its neighbours on both rows.
    rows_of_names = {}
    for j in range(stagger):
        rows_of_names["xaxis" if j == 0 else f"xaxis{j + 1}"] = dict(
            tickfont=dict(size=18, color=INK), tickangle=0, tickmode="array",
            tickvals=names[j::stagger], type="category", categoryorder="array",
            categoryarray=names, range=[-0.5, len(names) - 0.5],
            ticklabelstandoff=TICK_ROW * j,
            **({} if j == 0 else dict(overlaying="x", matches="x", anchor="y",
                                      showgrid=False, zeroline=False)))
        if j:   # plotly draws an axis only under a trace: an empty one
            traces.append(dict(type="scatter", x=names[j::stagger],
                               y=[None] * len(names[j::stagger]), xaxis=f"x{j + 1}",
                               mode="markers", hoverinfo="skip", showlegend=False))
    return figure(traces, _base(
        showlegend=False, margin=dict(l=58, r=8, t=8, b=40 + TICK_ROW * (stagger - 1)),
        bargap=0.35,
        shapes=[dict(type="line", xref="paper", x0=0, x1=1, y0=target, y1=target,
                     line=dict(color=ACCENT, width=2, dash="dash"))],
        **rows_of_names,
        # Headroom above 100% for a whole ◆ (7 px): at 100.6 a 100% mark was cut in half.
        yaxis=dict(range=[max(low, 80), 100 + 0.08 * (100 - max(low, 80))], tickfont=dict(size=18, color=MUTED),
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


def value_text(v, metric: Metric, lang: str = "zh") -> str:
    """A rate to one decimal (100% exactly: no wider than 99.9%), a count in full."""
    if v is None:
        return t("wall.map.no_data", lang)
    if metric.kind != "rate":
        return f"{v:,}"
    return "100%" if v >= 99.95 else f"{v:.1f}%"


def map_labels(rows: list[dict], metric: Metric, lang: str = "zh") -> list[str]:
    """Name and value of each child, on two lines."""
    return [f"{r['name']}<br><b>{value_text(r.get(metric.key), metric, lang)}</b>"
            for r in rows]


def _no_data_width() -> float:
    # Labels are placed once for both languages (the layout is cached by region and
    # metric), so on the wider of the two words; the map's English word is short ("n/a")
    # so that it is not wider than 无数据 and every label's box stays as small as before.
    return max(text_width(t("wall.map.no_data", lang)) for lang in LANGS)


# -- where the map's labels go --------------------------------------------------------
# The map's plot area in design px on each canvas profile (16:9, 32:9): its grid area in
# assets/wall.css less the panel's head and legend and the figure's 4 px margins. Labels
# are placed for the smaller of the two in each direction, so they fit on either.
MAP_PLOTS = ((770, 504), (918, 440))
LABEL_SIZE = 18
LABEL_LINES = LABEL_SIZE * (1.3 + 1.45)   # plotly's line spacing, then one line's box
MARGINS = (8, 30, 60, 100)                # px kept around the land, tried in turn


def text_width(text: str, size: float = LABEL_SIZE) -> float:
    """An estimate of `text`'s width in px (Noto Sans CJK; digits as drawn in bold)."""
    ems = 0.0
    for ch in text:
        ems += 1.0 if ord(ch) >= 0x2E80 else 0.32 if ch in ".,:" else 0.96 if ch == "%" else 0.62
    return ems * size


def value_sample(rows: list[dict], metric: Metric) -> str:
    """The widest value a label must hold until the counts grow by a digit."""
    if metric.kind == "rate":
        return "99.9%"
    digits = max([len(str(int(abs(v)))) for r in rows if (v := r.get(metric.key)) is not None]
                 + [4])
    return f"{int('9' * digits):,}"


TEXT_DROP = 0.205 * LABEL_SIZE   # px a text point's box sits below the point itself


def label_size(name: str, sample: str) -> tuple[float, float]:
    return max(text_width(name), text_width(sample), _no_data_width()) + 2, LABEL_LINES


def label_ink(name: str, sample: str) -> tuple[tuple[float, float, float, float], ...]:
    """Where a label's glyphs are, about its box's centre: the name's line (CJK, 1 em
    tall), then the value's (digits, 0.8 em)."""
    em = LABEL_SIZE
    return ((0, -0.65 * em, text_width(name), em),
            (0, 0.65 * em, max(text_width(sample), _no_data_width()), 0.8 * em))


def _aspect(points: list[dict]) -> float:
    lats = [p["lat"] for p in points if p.get("lat") is not None] or [0]
    return 1 / max(math.cos(math.radians(sum(lats) / len(lats))), 0.2)


def layout_fingerprint(features: dict, points: list[dict], rows: list[dict], metric: Metric,
                       outline: dict | None) -> str:
    """What map_label_layout's result depends on, hashed: the shapes, the children's names
    and anchors, the width of the values, the plot sizes and the placement's own version
    and constants. A stored layout with another fingerprint is placed again."""
    names = sorted((r["code"], r["name"]) for r in rows)
    basis = [PLACEMENT_VERSION, PLACEMENT_CONSTANTS, MAP_PLOTS, LABEL_SIZE, MARGINS,
             value_sample(rows, metric), names, points, features, outline]
    text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def map_label_layout(features: dict, points: list[dict], rows: list[dict], metric: Metric,
                     outline: dict | None) -> dict:
    """Where each child's label goes (layouts/label_placement.py), in data coordinates, and
    the axis ranges it was placed for. It depends on the shapes, the names and the width
    of the values only: computed once per region and metric, not per tick."""
    at = {p["code"]: (p["lon"], p["lat"]) for p in points if p.get("lon") is not None}
    named = [r for r in rows if r["code"] in at]
    if not named:
        return {"range": None, "spots": {}}
    geoms = {f["id"]: shape(f["geometry"]) for f in features.get("features", [])
             if f["id"] in at}
    parts = list(geoms.values()) + ([shape(outline)] if outline else [])
    xs = [x for x, _ in at.values()] + [b for g in parts for b in (g.bounds[0], g.bounds[2])]
    ys = [y for _, y in at.values()] + [b for g in parts for b in (g.bounds[1], g.bounds[3])]
    aspect = _aspect(points)
    width, height = min(w for w, _ in MAP_PLOTS), min(h for _, h in MAP_PLOTS)
    extent_x = max(max(xs) - min(xs), 1e-3)
    extent_y = max((max(ys) - min(ys)) * aspect, 1e-3)
    mid_x, mid_y = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    sample = value_sample(rows, metric)
    best = None
    for margin in MARGINS:
        scale = min((width - 2 * margin) / extent_x, (height - 2 * margin) / extent_y)
        left, top = mid_x - width / 2 / scale, mid_y + height / 2 / scale / aspect
        matrix = [scale, 0, 0, -scale * aspect, -left * scale, top * scale * aspect]
        px = {code: affine_transform(g, matrix) for code, g in geoms.items()}
        labels = [Label(r["code"], (at[r["code"]][0] - left) * scale,
                        (top - at[r["code"]][1]) * scale * aspect,
                        *label_size(r["name"], sample), px.get(r["code"]),
                        label_ink(r["name"], sample)) for r in named]
        dots = tuple((lab.x, lab.y) for lab in labels if lab.area is None)
        spots, failed = place(labels, width, height, unary_union(list(px.values())) if px
                              else None, dots)
        if best is not None and len(failed) >= len(best[0]):
            break           # a smaller map does not help: keep the larger one
        best = (failed, spots, left, top, scale)
        if not failed:
            break
    # Labels with no place at all (too many dots) are left out: the ranking names them.
    _, spots, left, top, scale = best
    return {"range": ([left, left + width / scale],
                      [top - height / scale / aspect, top]),
            "spots": {code: {"x": left + s.x / scale,
                             "y": top - (s.y - (0 if s.leader else TEXT_DROP)) / scale / aspect,
                             "leader": s.leader, "at": at[code],
                             "dot": code not in geoms} for code, s in spots.items()}}


def label_colours(fills: list[str]) -> list[str]:
    """Dark text on the light bins, white on the dark ones."""
    light = {BAD_TO_GOOD[1], BAD_TO_GOOD[2], BAD_TO_GOOD[3], *LOW_TO_HIGH[:3]}
    return ["#0b1526" if f in light else "#ffffff" for f in fills]


LEADER_BG = "#0b1a2e"


def map_label_layer(layout: dict, rows: list[dict], metric: Metric,
                    fills: list[str], lang: str = "zh") -> tuple[dict, list[dict]]:
    """The labels of `layout` for the current values: the text trace's points (labels in
    their own area, dark or white on their fill; white beside a dot) and the annotations
    of labels led out of small areas (boxed, edged in their area's colour, with a line)."""
    fill_of = {r["code"]: f for r, f in zip(rows, fills)}
    text_of = dict(zip([r["code"] for r in rows], map_labels(rows, metric, lang)))
    trace = {"x": [], "y": [], "text": [], "textfont": {"color": []}}
    notes = []
    for code, spot in layout["spots"].items():
        if code not in text_of:
            continue
        if spot["leader"]:
            notes.append(dict(
                x=spot["at"][0], y=spot["at"][1], ax=spot["x"], ay=spot["y"], axref="x",
                ayref="y", xref="x", yref="y", text=text_of[code], showarrow=True,
                arrowhead=6, arrowsize=0.8, arrowwidth=2, arrowcolor=INK, standoff=0,
                bgcolor=LEADER_BG, bordercolor=fill_of.get(code, NO_DATA), borderwidth=2,
                borderpad=3, font=dict(size=LABEL_SIZE, color=INK)))
            continue
        trace["x"].append(spot["x"])
        trace["y"].append(spot["y"])
        trace["text"].append(text_of[code])
        trace["textfont"]["color"].append(
            INK if spot["dot"] else label_colours([fill_of.get(code, NO_DATA)])[0])
    return trace, notes


def map_meta(features: dict, points: list[dict], rows: list[dict],
             outline: dict | None) -> dict:
    """Which of map_figure's traces is which (a tick patches them by index): the outline,
    one filled polygon per child with a boundary, the dots of those without, the labels,
    the live points, the urgent stars. Without drawing the figure: a province's walls
    ask it for 1,345 regions, and a plotly figure costs tens of ms."""
    polygons = {f["id"] for f in features.get("features", [])}
    first = 1 if outline else 0
    fills = list(range(first, first + sum(1 for r in rows if r["code"] in polygons)))
    meta: dict = {"fills": fills}
    i = first + len(fills)
    if any(p["code"] not in polygons for p in points):
        meta["dots"], i = i, i + 1
    meta.update(labels=i, live=i + 1, urgent=i + 2)
    return meta


def map_figure(features: dict, points: list[dict], rows: list[dict], metric: Metric,
               outline: dict | None, labels: dict | None = None,
               lang: str = "zh") -> go.Figure:
    """Children as filled polygons (province, city) or as dots (below a county), a label for
    each child (placed by map_label_layout unless given), and two empty traces the page
    fills with live case points."""
    fills, _ = colours(metric, map_values(rows, metric))
    colour_of = {r["code"]: c for r, c in zip(rows, fills)}
    if labels is None:
        labels = map_label_layout(features, points, rows, metric, outline)
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
    meta = map_meta(features, points, rows, outline)
    if dot_rows:
        traces.append(go.Scatter(
            x=[p["lon"] for p in dot_rows], y=[p["lat"] for p in dot_rows], mode="markers",
            marker=dict(size=26, color=[colour_of.get(p["code"], NO_DATA) for p in dot_rows],
                        line=dict(color="#0b1526", width=1.5)), hoverinfo="skip"))
    trace, notes = map_label_layer(labels, rows, metric, fills, lang)
    traces.append(go.Scatter(
        x=trace["x"], y=trace["y"], mode="text", text=trace["text"], hoverinfo="skip",
        textfont=dict(size=LABEL_SIZE, color=trace["textfont"]["color"])))
    traces.append(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                             marker=dict(size=9, color="rgba(255,255,255,0.85)",
                                         line=dict(color="#0b1526", width=1))))
    traces.append(go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                             marker=dict(size=18, symbol="star", color=BAD,
                                         line=dict(color="#ffffff", width=1.5))))
    ranges = labels.get("range") or (None, None)
    return go.Figure(traces, _base(
        meta=meta, margin=dict(l=4, r=4, t=4, b=4), annotations=notes,
        xaxis=dict(visible=False, fixedrange=True, range=ranges[0],
                   autorange=ranges[0] is None),
        yaxis=dict(visible=False, fixedrange=True, range=ranges[1],
                   autorange=ranges[1] is None, scaleanchor="x",
                   scaleratio=_aspect(points))))
