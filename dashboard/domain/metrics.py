"""The KPIs of DOMAIN.md §5 as the pages show them: name, unit, target and which way is
better, over a `Kpis`. The /kpi table, the /region map colours and the exports all read
a value through `value()`, so a number is the same everywhere.

Targets other than 满意率 are a model (DOMAIN.md §5 "typical ranges"): 按期 83–96%, 签收 ≈99%.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from dashboard.domain.kpis import Kpis, Rate
from dashboard.domain.text import t


@dataclass(frozen=True)
class Metric:
    key: str
    zh: str
    en: str
    kind: str                  # "count" | "rate" | "hours"
    higher_is_better: bool = True
    target: float | None = None  # percent for rates
    now_only: bool = False     # a count of the present moment, not of the window
    neutral: bool = False      # volume: up or down is neither good nor bad
    edges: tuple[float, ...] = ()  # 4 inner colour-bin edges of a rate on the wall's map

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


METRICS: tuple[Metric, ...] = (
    Metric("intake", "受理量", "Intake", "count", neutral=True),
    Metric("closed", "办结量", "Closed", "count", neutral=True),
    Metric("open", "在办", "Open now", "count", now_only=True),
    Metric("overdue_open", "超期在办", "Overdue open", "count", False, now_only=True),
    Metric("closure", "办结率", "Closure rate", "rate", True, 95.0, edges=(85, 90, 95, 98)),
    Metric("on_time", "按期办结率", "On-time closure", "rate", True, 90.0,
           edges=(80, 85, 90, 95)),
    Metric("timely_sign", "及时签收率", "Timely sign-off", "rate", True, 99.0),
    Metric("satisfaction", "满意率", "Satisfaction", "rate", True, 97.68,
           edges=(93, 95, 96.5, 98)),
    Metric("callback", "回访率", "Callback rate", "rate", True, 90.0),
    Metric("returns", "回退率", "Return rate", "rate", False, 5.0),
    Metric("rework", "返工率", "Rework rate", "rate", False, 5.0),
    Metric("reopen", "重办率", "Reopen rate", "rate", False, 3.0),
    Metric("direct_resolution", "直办率", "Direct resolution", "rate", True, 55.0),
    Metric("mean_close_hours", "平均办结时长", "Mean time to close", "hours", False),
)
BY_KEY = {m.key: m for m in METRICS}
KEYS = tuple(BY_KEY)
# What the wall's map can be coloured by (`?metric=`): today's figures of each child.
WALL_MAP = {key: BY_KEY[key] for key in ("on_time", "closure", "satisfaction", "overdue_open",
                                         "intake")}
DEFAULT_MAP_METRIC = "on_time"


def with_targets(satisfaction_target: float) -> dict[str, Metric]:
    """The metric table with the configured 满意率 target (settings.satisfaction_target)."""
    out = dict(BY_KEY)
    out["satisfaction"] = replace(out["satisfaction"], target=satisfaction_target)
    return out


def raw(k: Kpis, key: str):
    return getattr(k, key)


def value(k: Kpis, key: str) -> float | None:
    """A comparable number: the count, the rate in percent, or hours; None for no data."""
    v = raw(k, key)
    if isinstance(v, Rate):
        return v.percent
    return None if v is None else float(v)


def display(k: Kpis, key: str, lang: str = "zh") -> str:
    v = raw(k, key)
    if isinstance(v, Rate):
        return v.display(lang)
    if v is None:
        return t("common.no_data", lang)
    if BY_KEY[key].kind == "hours":
        return t("common.hours", lang, v=f"{v:.1f}")
    return f"{int(v):,}"


UNKNOWN = "—"


def known(key: str, complete: bool) -> bool:
    """Whether a metric is known while some days of its window are still being filled
    (`complete` False): an open-now count is, a windowed figure is not."""
    return complete or BY_KEY[key].now_only


def shown(k: Kpis, key: str, lang: str = "zh", complete: bool = True) -> tuple[float | None, str]:
    """(value, text) of a metric; (None, "—") for a windowed one not known yet."""
    if known(key, complete):
        return value(k, key), display(k, key, lang)
    return None, UNKNOWN


def denominator(k: Kpis, key: str) -> int | None:
    v = raw(k, key)
    return v.denominator if isinstance(v, Rate) else None


def meets_target(metric: Metric, v: float | None) -> bool | None:
    if metric.target is None or v is None:
        return None
    return v >= metric.target if metric.higher_is_better else v <= metric.target


def trend(metric: Metric, current: float | None, previous: float | None) -> str | None:
    """"better" / "worse" / "same" against the previous period ("up" / "down" for volumes);
    None when not comparable."""
    if current is None or previous is None or metric.now_only:
        return None
    if abs(current - previous) < 1e-9:
        return "same"
    if metric.neutral:
        return "up" if current > previous else "down"
    return "better" if (current > previous) == metric.higher_is_better else "worse"
