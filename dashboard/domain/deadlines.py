"""Deadlines, time status and supervision thresholds (DOMAIN.md §3).

Limits are a modelling choice where DOMAIN.md marks them (model); they live here so that
the simulator and the screens agree on one definition.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from dashboard.domain.workdays import add_working_days

# Categories that are complex by nature get the 15-working-day limit.
COMPLEX_SUBCATEGORIES = frozenset({"征地拆迁", "土地山林权属", "劳资纠纷", "医患纠纷", "信访诉求"})
NEAR_DUE_SHARE = 0.8  # 将到期 once 80% of the allowed time is used


def case_deadlines(registered_at: datetime, urgency: str, subcategory: str,
                   source: str) -> tuple[datetime, datetime]:
    """(sign_deadline, deadline) for a case registered at a local, aware moment."""
    if urgency == "紧急":
        return registered_at + timedelta(hours=2), registered_at + timedelta(hours=24)
    if urgency == "较急":
        return (registered_at + timedelta(hours=4), add_working_days(registered_at, 3))
    sign = add_working_days(registered_at, 1)
    if subcategory in COMPLEX_SUBCATEGORIES:
        return sign, add_working_days(registered_at, 15)
    if source == "12345热线":
        return sign, add_working_days(registered_at, 13)
    return sign, add_working_days(registered_at, 5)


def time_status(now: datetime, start: datetime, deadline: datetime | None) -> str:
    """正常 / 将到期 / 已超期 of an open case."""
    if deadline is None:
        return "正常"
    if now > deadline:
        return "已超期"
    allowed = (deadline - start).total_seconds()
    used = (now - start).total_seconds()
    if allowed > 0 and used >= NEAR_DUE_SHARE * allowed:
        return "将到期"
    return "正常"


# Tianque defaults: 黄牌 if not signed in 1 working day or not handled in 5; 红牌 at 2 and 10.
SIGN_CARD_DAYS = {"黄牌": 1, "红牌": 2}
HANDLE_CARD_DAYS = {"黄牌": 5, "红牌": 10}


def card_times(dispatched_at: datetime) -> dict[str, dict[str, datetime]]:
    """When each card falls due for a case dispatched at a local moment."""
    return {"sign": cards_due(dispatched_at, SIGN_CARD_DAYS),
            "handle": cards_due(dispatched_at, HANDLE_CARD_DAYS)}


def cards_due(dispatched_at: datetime, card_days: dict[str, int]) -> dict[str, datetime]:
    """card_times' one kind (SIGN_CARD_DAYS or HANDLE_CARD_DAYS): the simulator asks for
    one kind at a time."""
    return {k: add_working_days(dispatched_at, d) for k, d in card_days.items()}
