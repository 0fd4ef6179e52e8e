"""Each case's share of the live board (dashboard.domain.live_cases), without a database:
a changed case's old rows go out of its township and its new ones come in; what comes to
nothing is dropped as a grouped query would have no row for it; the lists are asked again
only where a changed case was or is a candidate."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from dashboard.domain.live_board import COUNTERS, HOUR, MIX, PLACED, LiveBoard
from dashboard.domain.live_cases import OVERDUE_LIST, URGENT_LIST, CaseShares
from dashboard.domain.periods import Window

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)
DAY = Window(NOW - timedelta(hours=8), NOW + timedelta(hours=16))
TOWN = ("320000", "320500", "320506", "320506001")
EAST, WEST = (*TOWN, "320506001001"), (*TOWN, "320506001002")


def _board() -> LiveBoard:
    return LiveBoard(root="320000", now=NOW, today=DAY,
                     yesterday=Window(DAY.start - timedelta(days=1), DAY.start), top=12)


def _rows(community, *, open_=0, overdue=0, closed=0, state="IN_PROGRESS", category="城市管理"):
    out = [(COUNTERS, community, {"intake": 1, "open": open_, "overdue_open": overdue,
                                  "closed": closed})]
    if open_:
        out.append((PLACED, TOWN, state, "网格", 1))
    out += [(MIX, TOWN, "category", category, 1), (HOUR, TOWN, "today_intake", 2, 1)]
    return out


def _pass(cases: dict) -> tuple[LiveBoard, CaseShares]:
    board, shares = _board(), CaseShares()
    for case_id, rows in cases.items():
        for row in rows:
            board.add_row(row)
            shares.add(case_id, row)
    return board, shares


def test_a_changed_case_leaves_its_township_as_a_pass_over_it_would():
    before = {1: _rows(EAST, open_=1, overdue=1), 2: _rows(WEST, open_=1)}
    board, shares = _pass(before)
    # Case 1 closes: it leaves the 派单 bar and the overdue ones, and counts as closed.
    after = {1: _rows(EAST, closed=1, category="民生服务"), 2: before[2]}
    fresh = CaseShares()
    for row in after[1]:
        fresh.add(1, row)
    towns, townships, relist = shares.replace(board, fresh, [1])
    expected, _ = _pass(after)
    assert townships == {TOWN[-1]}
    def nonzero(d):
        return {k: v for k, v in d.items() if v}
    assert nonzero(towns.counters[EAST[-1]]) == nonzero(expected.counters[EAST[-1]]) == \
        {"intake": 1, "closed": 1}
    assert towns.placed[TOWN[-1]] == expected.placed[TOWN[-1]]
    assert towns.mix[TOWN[-1]] == expected.mix[TOWN[-1]]
    assert towns.hours[TOWN[-1]] == expected.hours[TOWN[-1]]
    # It was overdue before: that township's overdue list must be asked again.
    assert relist == {OVERDUE_LIST: {TOWN[-1]}, URGENT_LIST: set()}


def test_what_comes_to_nothing_is_dropped():
    board, shares = _pass({1: _rows(EAST, open_=1), 2: _rows(WEST, open_=1)})
    fresh = CaseShares()                     # case 2 now has no rows (out of the window)
    towns, _, relist = shares.replace(board, fresh, [2])
    assert WEST[-1] not in towns.counters and EAST[-1] in towns.counters
    assert towns.placed[TOWN[-1]] == {("IN_PROGRESS", "网格"): 1}
    assert towns.mix[TOWN[-1]] == {"category": {"城市管理": 1}}
    assert 2 not in shares.rows and not shares.counted(WEST[-1])
    assert relist == {OVERDUE_LIST: set(), URGENT_LIST: set()}


def test_kept_rows_share_their_codes_and_drop_zero_counters():
    board, shares = _pass({1: _rows(EAST, open_=1), 2: _rows(EAST, open_=1)})
    (one, two) = (shares.rows[1][0], shares.rows[2][0])
    assert one[1] is two[1]                  # one chain for every case of a community
    assert one[2] == {"intake": 1, "open": 1}
