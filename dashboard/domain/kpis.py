"""KPI formulas (DOMAIN.md §5), as pure functions over counts.

A rate with an empty denominator is *no data*, never 0% or 100%: a region that rated
nothing this morning has no satisfaction rate yet, and the screen must say so.
"""
from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace

from dashboard.domain.text import t


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def has_data(self) -> bool:
        return self.denominator > 0

    @property
    def value(self) -> float | None:
        """Fraction in [0, 1], or None when there is nothing to divide by."""
        return self.numerator / self.denominator if self.denominator > 0 else None

    @property
    def percent(self) -> float | None:
        """The rate in percent, unrounded: whoever shows it rounds it once, to the digits
        it shows (rounded here to 2 digits and again to 1 on screen, 73/74 = 98.6486%
        became 98.65 and then 98.7%)."""
        v = self.value
        return None if v is None else v * 100

    def display(self, lang: str = "zh", digits: int = 2) -> str:
        return percent_text(self.percent, lang, digits)


def percent_text(percent: float | None, lang: str = "zh", digits: int = 2) -> str:
    """An unrounded percent as text, rounded once to `digits`; no data says so."""
    if percent is None:
        return t("common.no_data", lang)
    return f"{percent:.{digits}f}%"


def rate(numerator: int, denominator: int) -> Rate:
    if numerator < 0 or denominator < 0:
        raise ValueError("counts cannot be negative")
    if numerator > denominator:
        raise ValueError(f"numerator {numerator} exceeds denominator {denominator}")
    return Rate(int(numerator), int(denominator))


def closure_rate(closed: int, due: int) -> Rate:
    """办结率: closed in the window ÷ due (deadline in the window, or closed in it)."""
    return rate(closed, due)


def on_time_rate(closed_on_time: int, due: int, suspended: int = 0) -> Rate:
    """按期办结率: closed by the deadline ÷ due; the 金华 variant passes `suspended`."""
    return rate(closed_on_time, max(due - suspended, 0))


def timely_sign_rate(signed_in_time: int, signs_due: int) -> Rate:
    """及时签收率: signed within the limit ÷ (signed + still unsigned past the limit). A
    dispatch unsigned past its limit is late; a returned one belongs to 回退率."""
    return rate(signed_in_time, signs_due)


def satisfaction_rate(satisfied: int, basically_satisfied: int, rated: int) -> Rate:
    """满意率: (满意 + 基本满意) ÷ rated. Show `rated` beside it on screen."""
    return rate(satisfied + basically_satisfied, rated)


def callback_rate(rated: int, closed: int) -> Rate:
    return rate(rated, closed)


def return_rate(returned: int, dispatches: int) -> Rate:
    return rate(returned, dispatches)


def rework_rate(reworked: int, verified: int) -> Rate:
    return rate(reworked, verified)


def reopen_rate(reopened: int, closed: int) -> Rate:
    return rate(reopened, closed)


def direct_resolution_rate(direct: int, intake: int) -> Rate:
    """直办率 / 网格自处置率: closed at intake or at grid level ÷ intake."""
    return rate(direct, intake)


def mean_hours(total_hours: float, count: int) -> float | None:
    return None if count <= 0 else total_hours / count


@dataclass(frozen=True)
class KpiCounts:
    """The raw counts one SQL aggregation returns for a region and a window."""
    intake: int = 0
    closed: int = 0
    due: int = 0
    closed_on_time: int = 0
    open: int = 0
    overdue_open: int = 0
    dispatches: int = 0
    signed_in_time: int = 0
    signs_due: int = 0         # dispatches signed, or unsigned past their limit
    returned: int = 0
    rated: int = 0
    satisfied: int = 0
    basically_satisfied: int = 0
    verified: int = 0
    reworked: int = 0
    reopened: int = 0
    direct_resolved: int = 0
    close_hours_sum: float = 0.0
    yellow_cards: int = 0      # open cases now at 黄牌 (the KPI strip's 督办)
    red_cards: int = 0         # open cases now at 红牌
    yellow_issued: int = 0     # 黄牌 issued in the window (the ranking's card penalty)
    red_issued: int = 0        # 红牌 issued in the window

    def __add__(self, other: "KpiCounts") -> "KpiCounts":
        return KpiCounts.total((self, other))

    @staticmethod
    def total(items: Iterable["KpiCounts"]) -> "KpiCounts":
        """The sum of `items`, field by field, in one pass: a builder sums a changed
        region's children every tick (~20k counts a tick for a province), and adding
        them two by two built a new object per child."""
        columns = zip(*map(_count_values, items))
        return KpiCounts(*(sum(column) for column in columns))

    def as_dict(self) -> dict:
        return asdict(self)


_COUNT_FIELDS = tuple(f.name for f in fields(KpiCounts))
_count_values = operator.attrgetter(*_COUNT_FIELDS)   # a KpiCounts' fields, in order


@dataclass(frozen=True)
class Kpis:
    intake: int
    closed: int
    open: int
    overdue_open: int
    yellow_cards: int
    red_cards: int
    rated: int
    closure: Rate
    on_time: Rate
    timely_sign: Rate
    satisfaction: Rate
    callback: Rate
    returns: Rate
    rework: Rate
    reopen: Rate
    direct_resolution: Rate
    mean_close_hours: float | None


def without_open(counts: KpiCounts) -> KpiCounts:
    """A past period's counts without the cases open now. The database knows which cases
    are open today, not which were open when that period ended: a past period's open-now
    figures would be this morning's backlog, so they are 0 (and need not be counted):
    a previous period ranked with them would move with today's backlog. (Cards issued in
    the period are the period's own and stay.)"""
    return replace(counts, open=0, overdue_open=0, yellow_cards=0, red_cards=0)


def compute_kpis(c: KpiCounts) -> Kpis:
    return Kpis(
        intake=c.intake, closed=c.closed, open=c.open, overdue_open=c.overdue_open,
        yellow_cards=c.yellow_cards, red_cards=c.red_cards, rated=c.rated,
        closure=closure_rate(c.closed, c.due),
        on_time=on_time_rate(c.closed_on_time, c.due),
        timely_sign=timely_sign_rate(c.signed_in_time, c.signs_due),
        satisfaction=satisfaction_rate(c.satisfied, c.basically_satisfied, c.rated),
        callback=callback_rate(min(c.rated, c.closed), c.closed),
        returns=return_rate(c.returned, c.dispatches),
        rework=rework_rate(c.reworked, c.verified),
        reopen=reopen_rate(min(c.reopened, c.closed), c.closed),
        direct_resolution=direct_resolution_rate(c.direct_resolved, c.intake),
        mean_close_hours=mean_hours(c.close_hours_sum, c.closed),
    )
