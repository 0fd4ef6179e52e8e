"""Each case's share of the live board, so that a followed tick redoes the cases that
changed rather than every case of the townships they are in.

A pass over the board's cases grouped by case as well (data_sources/live_board.py) gives
every case's rows: its counters in its community, its place in the 派单 bar, its mix and
its hours (dashboard.domain.live_board: add_row). Grouped queries sum exactly those
rows, so a township's rows are its cases' rows summed, and when a case changes, its old
rows are taken away and its new ones added: the township's rows are then what a pass
over it would give (tests/test_live_board_follow.py checks it against a full pass at
every step). A case with no rows (reported before yesterday and closed, or out of the
root) is not kept: it adds nothing, before and after.

The two case lists (12 oldest overdue, 12 most supervised) do not add up this way (a
case leaving a full list lets the 13th in): a township's lists are asked again only when
a changed case could be on them, before or after (listable()).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dashboard.domain.live_board import COUNTERS, DEEPEST, LiveBoard

OVERDUE_LIST, URGENT_LIST = "overdue", "urgent"


@dataclass
class CaseShares:
    rows: dict[int, tuple] = field(default_factory=dict)   # case id -> its rows
    members: dict[str, int] = field(default_factory=dict)  # community -> cases counted
    _shared: dict = field(default_factory=dict, repr=False)  # one copy of each chain, text

    def add(self, case_id: int, row: tuple) -> None:
        """One more row of a case (a pass yields a case's rows one query at a time)."""
        rows = self.rows.get(case_id, ())
        if row[0] == COUNTERS and not any(r[0] == COUNTERS for r in rows):
            leaf = _leaf(row[1])
            self.members[leaf] = self.members.get(leaf, 0) + 1
        self.rows[case_id] = (*rows, self._compact(row))

    def _compact(self, row: tuple) -> tuple:
        """The row as kept: its chain and texts shared with every other case's (a
        province keeps ~340k cases at 10M: 1.4 KB each with a copy of every code), its
        counters without the zeros (a counter that is 0 adds nothing)."""
        kind, chain, *rest = row
        chain = self._shared.setdefault(chain, chain)
        if kind == COUNTERS:
            rest = [{self._text(k): v for k, v in rest[0].items() if v}]
        else:
            rest = [self._text(v) if isinstance(v, str) else v for v in rest]
        return (kind, chain, *rest)

    def _text(self, value: str) -> str:
        return self._shared.setdefault(value, value)

    def counted(self, community: str) -> bool:
        return self.members.get(community, 0) > 0

    def replace(self, board: LiveBoard, fresh: CaseShares, ids: Iterable[int]
                ) -> tuple[LiveBoard, set[str], dict[str, set[str]]]:
        """The cases `ids` as `fresh` (a pass over just them) has them now: a board of
        the townships they are and were in (township_board), their old rows taken away
        and their new ones added; those townships; and, per list, the townships whose
        list must be asked again."""
        ids = set(ids)
        old = {i: self.rows.get(i, ()) for i in ids}
        new = {i: fresh.rows.get(i, ()) for i in ids}
        townships = {_township(r[1]) for rows in (*old.values(), *new.values()) for r in rows}
        out = board.township_board(townships)
        relist: dict[str, set[str]] = {OVERDUE_LIST: set(), URGENT_LIST: set()}
        for i in ids:
            for rows, sign in ((old[i], -1), (new[i], 1)):
                for row in rows:
                    out.add_row(row, sign)
                for which in listable(rows):
                    relist[which].add(_township(rows[0][1]))
            self._drop(i)
            for row in new[i]:
                self.add(i, row)
        out.prune(townships, self.counted)
        return out, townships, relist

    def _drop(self, case_id: int) -> None:
        for row in self.rows.pop(case_id, ()):
            if row[0] == COUNTERS:
                leaf = _leaf(row[1])
                self.members[leaf] -= 1
                if not self.members[leaf]:
                    del self.members[leaf]
                break


def listable(rows: tuple) -> list[str]:
    """The lists a case with these rows is a candidate for: overdue open (超期在办), open
    under supervision (黄牌, 红牌). Its counters say so: open_side counts exactly the
    cases the lists' conditions select (case_queries.overdue_where, urgent_where)."""
    out = []
    for row in rows:
        if row[0] == COUNTERS:
            d = row[2]
            if d.get("overdue_open"):
                out.append(OVERDUE_LIST)
            if d.get("yellow_cards") or d.get("red_cards"):
                out.append(URGENT_LIST)
    return out


def _leaf(chain: tuple) -> str:
    return [c for c in chain if c is not None][-1]


def _township(chain: tuple) -> str:
    """Every row of a case is its township's: a chain runs from the province down to a
    township or one of its communities."""
    return chain[DEEPEST]
