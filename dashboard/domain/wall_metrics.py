"""What the wall's map can be coloured by (`?metric=`), and the colours.

The palette is ColorBrewer RdYlBu: red means bad, blue means good, and the ramp stays
readable for the common colour-vision deficiencies (no red/green pair). Values are put in
five bins so a viewer across the room compares colours, not shades.
"""
from __future__ import annotations

from dataclasses import dataclass

BAD_TO_GOOD = ("#d73027", "#fc8d59", "#fee090", "#91bfdb", "#4575b4")
NO_DATA = "#3a4658"


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    kind: str                   # "rate" (percent) or "count"
    higher_is_better: bool
    edges: tuple[float, ...] = ()  # 4 inner bin edges for rates; counts use quantiles


METRICS = {m.key: m for m in (
    Metric("on_time", "按期办结率", "On-time closure", "rate", True, (80, 85, 90, 95)),
    Metric("closure", "办结率", "Closure rate", "rate", True, (85, 90, 95, 98)),
    Metric("satisfaction", "满意率", "Satisfaction", "rate", True, (93, 95, 96.5, 98)),
    Metric("overdue_open", "超期在办", "Overdue open", "count", False),
    Metric("intake", "今日受理", "Intake today", "count", True),
)}
DEFAULT_METRIC = "on_time"


def metric_or_default(key: str | None) -> Metric:
    return METRICS.get(key or "", METRICS[DEFAULT_METRIC])


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
        b = bin_of(v, edges)
        out.append(BAD_TO_GOOD[b if metric.higher_is_better else 4 - b])
    fmt = (lambda x: f"{x:g}%") if metric.kind == "rate" else (lambda x: f"{x:,.0f}")
    labels = [f"<{fmt(edges[0])}"] + [f"{fmt(a)}–{fmt(b)}" for a, b in zip(edges, edges[1:])] + [
        f"≥{fmt(edges[-1])}"]
    if not metric.higher_is_better:
        labels = labels[::-1]
    return out, labels
