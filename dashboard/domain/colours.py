"""Map colours: one value per region into five bins, coloured so that a viewer across the
room compares colours, not shades.

Rates and counts that have a better direction use ColorBrewer RdYlBu: red means bad, blue
means good, and the ramp stays readable for the common colour-vision deficiencies (no
red/green pair). A volume (受理量) is neither good nor bad: it gets a single-hue ramp, light
to dark, so a busy district is not painted as a good one.
"""
from __future__ import annotations

from dashboard.domain.metrics import Metric

BAD_TO_GOOD = ("#d73027", "#fc8d59", "#fee090", "#91bfdb", "#4575b4")
LOW_TO_HIGH = ("#deebf7", "#b6d2ea", "#85b4db", "#5590c4", "#2d6aa8")   # Blues, for volumes
NO_DATA = "#3a4658"


def _quantile_edges(values: list[float]) -> tuple[float, ...]:
    v = sorted(values)
    if not v:
        return (0, 0, 0, 0)
    return tuple(v[min(len(v) - 1, int(len(v) * q))] for q in (0.2, 0.4, 0.6, 0.8))


def bin_of(value: float, edges: tuple[float, ...]) -> int:
    return sum(1 for e in edges if value >= e)


def colours(metric: Metric, values: list[float | None]) -> tuple[list[str], list[str]]:
    """A colour for each value and the legend labels of the five bins (bad → good)."""
    edges = metric.edges if metric.kind == "rate" else _quantile_edges(
        [v for v in values if v is not None])
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
            continue
        out.append(swatches(metric)[bin_of(v, edges)])
    fmt = (lambda x: f"{x:g}%") if metric.kind == "rate" else (lambda x: f"{x:,.0f}")
    labels = [f"<{fmt(edges[0])}"] + [f"{fmt(a)}–{fmt(b)}" for a, b in zip(edges, edges[1:])] + [
        f"≥{fmt(edges[-1])}"]
    if not metric.higher_is_better and not metric.neutral:
        labels = labels[::-1]
    return out, labels


def swatches(metric: Metric) -> tuple[str, ...]:
    """The five colours from the lowest bin to the highest."""
    if metric.neutral:
        return LOW_TO_HIGH
    return BAD_TO_GOOD if metric.higher_is_better else BAD_TO_GOOD[::-1]


def legend_swatches(metric: Metric) -> tuple[str, ...]:
    """The five colours in the legend's order: bad to good, or low to high for a volume."""
    return LOW_TO_HIGH if metric.neutral else BAD_TO_GOOD
