"""The shapes of the wall's view models.

The wall's models are shared by every screen, worker and instance through Redis, and a
failed build keeps the last good *section* of the previous model, so they stay plain,
JSON-shaped dicts rather than dataclasses. Their shapes are declared here and checked
against built models in tests/test_wall_shapes.py, so a panel knows what it may read.
"""
from __future__ import annotations

from typing import NotRequired, TypedDict


class SourceState(TypedDict, total=False):
    status: str              # up | down | live | lagging | empty
    since: str | None        # ISO time it went down, carried across ticks
    as_of: str | None        # when it was last seen up
    error: str | None
    lag_seconds: float | None
    newest_at: str | None


class KpiValues(TypedDict):
    intake: int
    closed: int
    open: int
    overdue_open: int
    yellow: int
    red: int
    closure: float | None    # percent, unrounded; None without a denominator
    on_time: float | None
    satisfaction: float | None
    rated: int
    timely_sign: float | None
    direct: float | None


class KpiSection(KpiValues):
    as_of: str


class ChildRow(KpiValues):
    code: str
    name: str


class ChildrenSection(TypedDict):
    as_of: str
    rows: list[ChildRow]


class DispatchState(TypedDict):
    state: str
    levels: dict[str, int]   # handler level ("" = none yet) -> open cases waiting there
    count: int


class DispatchSection(TypedDict):
    as_of: str
    closed_today: int
    states: list[DispatchState]


class MixSection(TypedDict):
    as_of: str
    source: dict[str, int]
    category: dict[str, int]


class HourlySection(TypedDict):
    as_of: str
    now_hour: int
    now_minute: int          # the current hour is unfinished: the chart scales it
    today_intake: list[int]
    today_closed: list[int]
    yesterday_intake: list[int]
    yesterday_closed: list[int]


class CaseRow(TypedDict):
    id: int
    case_no: str
    grid: str
    grid_code: str
    community: str
    category: str
    urgency: str
    state: str
    supervision: int
    deadline: str
    # The deadline itself (ISO, UTC). The time left is the section's: deadline_at minus
    # its as_of (layouts/wall_parts.overdue_rows), so that a row is the same at every
    # tick and a model carried over to a later tick moves only its clock.
    deadline_at: str | None


class OverdueSection(TypedDict):
    as_of: str
    oldest: list[CaseRow]
    urgent: list[CaseRow]


class LiveSections(TypedDict, total=False):
    kpis: KpiSection
    children: ChildrenSection
    dispatch: DispatchSection
    mix: MixSection
    hourly: HourlySection
    overdue: OverdueSection


class LiveModel(TypedDict):
    """Today: rebuilt every refresh interval."""
    region: str
    computed_at: str
    sections: LiveSections   # empty until the first good build
    sources: dict[str, SourceState]
    # The board rows it was counted from (LiveBoard.version_of): while they stay the same,
    # a later tick only moves its clock (views/wall/live_models.py).
    version: NotRequired[str]


class FunnelLevel(TypedDict):
    level: str
    count: int


class FunnelSection(TypedDict):
    as_of: str
    levels: list[FunnelLevel]


class SubScore(TypedDict):
    points: float
    max: float
    rate: float | None
    thin: bool


class RankingRow(TypedDict):
    code: str
    name: str
    rank: int | None         # None: too few cases to rank (样本不足)
    change: int | None
    board: str | None        # red | black | None
    score: float
    penalty: float
    subs: dict[str, SubScore]
    closure: float | None
    on_time: float | None
    satisfaction: float | None
    rated: int
    overdue_open: int


class RankingSection(TypedDict):
    as_of: str
    min_sample: int
    rows: list[RankingRow]


class PeriodSections(TypedDict, total=False):
    funnel: FunnelSection
    ranking: RankingSection


class PeriodModel(TypedDict):
    """This month so far: rebuilt once a minute."""
    region: str
    computed_at: str
    sections: PeriodSections
    sources: dict[str, SourceState]
