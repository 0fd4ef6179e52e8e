"""The case workflow as one state machine (DOMAIN.md §3).

Every workflow transition is an *event* whose type names what happened (REPORTED,
DISPATCHED, ...). `next_state` is the only place that knows which event may follow which
state; the simulator, the stream reader and the tests all go through it.
"""
from __future__ import annotations

from enum import Enum


class State(str, Enum):
    REPORTED = "REPORTED"          # 上报, waiting for the center to register or reject
    REJECTED = "REJECTED"          # 不予受理 (terminal)
    REGISTERED = "REGISTERED"      # 立案, waiting for dispatch
    DISPATCHED = "DISPATCHED"      # 派单, waiting for the handler to sign
    IN_PROGRESS = "IN_PROGRESS"    # 处置中
    SUSPENDED = "SUSPENDED"        # 挂起 (excluded from timeliness)
    VERIFYING = "VERIFYING"        # 核查
    CLOSED = "CLOSED"              # 结案
    RATED = "RATED"                # 回访评价 done


class Event(str, Enum):
    REPORTED = "REPORTED"
    REJECTED = "REJECTED"
    SELF_RESOLVED = "SELF_RESOLVED"
    REGISTERED = "REGISTERED"
    DISPATCHED = "DISPATCHED"
    RETURNED = "RETURNED"
    ACCEPTED = "ACCEPTED"
    EXTENDED = "EXTENDED"
    ESCALATED = "ESCALATED"
    SUSPENDED = "SUSPENDED"
    RESUMED = "RESUMED"
    HANDLED = "HANDLED"
    REWORK = "REWORK"
    CLOSED = "CLOSED"
    RATED = "RATED"
    REOPENED = "REOPENED"
    SUPERVISED = "SUPERVISED"      # 督办 flag raised (催办 / 黄牌 / 红牌); state unchanged


OPEN_STATES = frozenset({State.REPORTED, State.REGISTERED, State.DISPATCHED,
                         State.IN_PROGRESS, State.SUSPENDED, State.VERIFYING})
DONE_STATES = frozenset({State.CLOSED, State.RATED})
TERMINAL_STATES = frozenset({State.REJECTED})

S, E = State, Event
TRANSITIONS: dict[tuple[State | None, Event], State] = {
    (None, E.REPORTED): S.REPORTED,
    (S.REPORTED, E.REJECTED): S.REJECTED,
    (S.REPORTED, E.SELF_RESOLVED): S.CLOSED,
    (S.REPORTED, E.REGISTERED): S.REGISTERED,
    (S.REGISTERED, E.DISPATCHED): S.DISPATCHED,
    (S.DISPATCHED, E.RETURNED): S.REGISTERED,
    (S.DISPATCHED, E.ACCEPTED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.EXTENDED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.ESCALATED): S.DISPATCHED,
    (S.IN_PROGRESS, E.SUSPENDED): S.SUSPENDED,
    (S.SUSPENDED, E.RESUMED): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.HANDLED): S.VERIFYING,
    (S.VERIFYING, E.REWORK): S.IN_PROGRESS,
    (S.VERIFYING, E.CLOSED): S.CLOSED,
    (S.CLOSED, E.RATED): S.RATED,
    (S.RATED, E.REOPENED): S.IN_PROGRESS,
}
# Supervision is a flag on open cases that are waiting on someone.
for _state in (S.REGISTERED, S.DISPATCHED, S.IN_PROGRESS, S.SUSPENDED):
    TRANSITIONS[(_state, E.SUPERVISED)] = _state
del _state, S, E


class IllegalTransition(ValueError):
    pass


def next_state(state: State | str | None, event: Event | str) -> State:
    """The state after `event` happens to a case in `state` (None: not yet reported)."""
    # Member names equal their values, so a str-valued member hashes and compares like
    # its plain string and strings find their entry directly (the simulator calls this
    # for every step); the conversions below only run to build the error.
    found = TRANSITIONS.get((state, event))
    if found is not None:
        return found
    try:
        key = (State(state) if state is not None else None, Event(event))
    except ValueError as exc:
        raise IllegalTransition(str(exc)) from exc
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise IllegalTransition(f"{event} is not allowed in state {state}") from None


def replay(events) -> State:
    """Final state after a sequence of event types; raises IllegalTransition on a bad path."""
    state: State | None = None
    for event in events:
        state = next_state(state, event)
    if state is None:
        raise IllegalTransition("empty event history")
    return state


def is_open(state: State | str) -> bool:
    return State(state) in OPEN_STATES


# What the screen calls each state (DOMAIN.md §8 dispatch panel).
STATE_ZH = {
    State.REPORTED: "待受理", State.REJECTED: "不予受理", State.REGISTERED: "待派单",
    State.DISPATCHED: "待签收", State.IN_PROGRESS: "处置中", State.SUSPENDED: "挂起",
    State.VERIFYING: "待核查", State.CLOSED: "已结案", State.RATED: "已评价",
}
EVENT_ZH = {
    Event.REPORTED: "上报", Event.REJECTED: "不予受理", Event.SELF_RESOLVED: "网格自处置",
    Event.REGISTERED: "立案", Event.DISPATCHED: "派单", Event.RETURNED: "退回",
    Event.ACCEPTED: "签收", Event.EXTENDED: "延期", Event.ESCALATED: "上报上级",
    Event.SUSPENDED: "挂起", Event.RESUMED: "恢复", Event.HANDLED: "办结反馈",
    Event.REWORK: "返工", Event.CLOSED: "结案", Event.RATED: "回访评价",
    Event.REOPENED: "重办", Event.SUPERVISED: "督办",
}
STATE_EN = {
    State.REPORTED: "awaiting intake", State.REJECTED: "rejected",
    State.REGISTERED: "awaiting dispatch", State.DISPATCHED: "awaiting sign-off",
    State.IN_PROGRESS: "in progress", State.SUSPENDED: "suspended",
    State.VERIFYING: "awaiting check", State.CLOSED: "closed", State.RATED: "rated",
}
EVENT_EN = {
    Event.REPORTED: "reported", Event.REJECTED: "rejected", Event.SELF_RESOLVED: "resolved by grid",
    Event.REGISTERED: "registered", Event.DISPATCHED: "dispatched", Event.RETURNED: "returned",
    Event.ACCEPTED: "signed for", Event.EXTENDED: "extended", Event.ESCALATED: "escalated",
    Event.SUSPENDED: "suspended", Event.RESUMED: "resumed", Event.HANDLED: "handled",
    Event.REWORK: "rework", Event.CLOSED: "closed", Event.RATED: "rated",
    Event.REOPENED: "reopened", Event.SUPERVISED: "supervised",
}


def state_label(state: State | str, lang: str) -> str:
    """What the screen calls a state in `lang`; the code itself for one it does not know."""
    return (STATE_EN if lang == "en" else STATE_ZH).get(state, getattr(state, "value", state))


def event_label(event: Event | str, lang: str) -> str:
    """What the screen calls an event in `lang`; the code itself for one it does not know."""
    return (EVENT_EN if lang == "en" else EVENT_ZH).get(event, getattr(event, "value", event))
