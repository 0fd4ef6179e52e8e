"""The workflow state machine: only legal paths exist."""
import itertools

import pytest

from dashboard.domain.states import TRANSITIONS, Event, IllegalTransition, State, next_state, replay


def test_happy_path():
    path = ["REPORTED", "REGISTERED", "DISPATCHED", "ACCEPTED", "HANDLED", "CLOSED", "RATED"]
    assert replay(path) == State.RATED


def test_self_resolved_closes_directly():
    assert replay(["REPORTED", "SELF_RESOLVED"]) == State.CLOSED


def test_return_goes_back_to_registered_and_rework_to_in_progress():
    assert replay(["REPORTED", "REGISTERED", "DISPATCHED", "RETURNED"]) == State.REGISTERED
    assert replay(["REPORTED", "REGISTERED", "DISPATCHED", "ACCEPTED", "HANDLED",
                   "REWORK"]) == State.IN_PROGRESS


def test_every_pair_not_in_the_table_is_refused():
    states = [None, *State]
    for state, event in itertools.product(states, Event):
        if (state, event) in TRANSITIONS:
            assert next_state(state, event) == TRANSITIONS[(state, event)]
        else:
            with pytest.raises(IllegalTransition):
                next_state(state, event)


@pytest.mark.parametrize("path", [
    ["REGISTERED"],                                  # must be reported first
    ["REPORTED", "CLOSED"],                          # closing skips verification
    ["REPORTED", "REJECTED", "REGISTERED"],          # rejected is terminal
    ["REPORTED", "REGISTERED", "ACCEPTED"],          # cannot sign before dispatch
    ["REPORTED", "SELF_RESOLVED", "SUPERVISED"],     # no supervision of a closed case
])
def test_illegal_paths(path):
    with pytest.raises(IllegalTransition):
        replay(path)


def test_unknown_names_are_illegal_not_crashes():
    with pytest.raises(IllegalTransition):
        next_state("REPORTED", "TELEPORTED")
    with pytest.raises(IllegalTransition):
        next_state("NOWHERE", "REPORTED")
