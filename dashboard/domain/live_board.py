"""Today's live state of every region of a root at once, from one pass per tick (and,
as a period board, this month's counts of every region, for the walls' rankings).

A province's 1,345 walls each show their own region. Counting each region's "today" on
its own costs a pass per region per tick; the board instead takes one grouped pass over
today's and the open cases (data_sources/live_board.py), keyed by community (a
township's wall lists its communities) and township, and sums the rows here into every
ancestor. A wall's live view is then read from the board without a query
(dashboard/views/wall/model.build_live takes a board where it takes a store).

The board answers the questions `build_live` asks a CaseStore, for today (and yesterday's
hours) at the board's own clock, for the regions from the root down to townships; it
refuses anything else, so a caller cannot get figures of another window or time by
mistake. Counters are summed before they become KpiCounts, exactly as a grouped query
over a larger region sums them (some KPIs are not additive: signed = dispatches −
returned − waiting, floored at 0), which is what keeps every figure equal to the
per-region queries (tests/test_live_board.py).
"""
from __future__ import annotations

import functools
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import KpiCounts, without_open
from dashboard.domain.periods import Window

CHAIN = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.TOWNSHIP, Level.COMMUNITY)
DEEPEST = Level.TOWNSHIP       # the finest region whose whole live view the board holds
HOURLY_KEYS = ("today_intake", "today_closed", "yesterday_intake", "yesterday_closed")
MIX_DIMENSIONS = ("source", "category")
CLOSED_LEVEL = "closed_level"  # a period board's closures by settling level, kept as a mix
VERSION_STEP = "#"             # a followed step's version: f"{base}#{step}"
# The kinds of a pass's rows (add_row): (COUNTERS, chain, {name: value}),
# (PLACED, chain, state, level, n), (MIX, chain, dimension, value, n), (HOUR, chain, which,
# hour, n); a chain is the codes from the root down to a community or a township.
COUNTERS, PLACED, MIX, HOUR = "counters", "placed", "mix", "hour"


class NotOnBoard(ValueError):
    """A question the board cannot answer (another window, time or region)."""


def overdue_key(row: dict):
    return (row["deadline"], row["id"])


def urgent_key(row: dict):
    d = row["deadline"]
    return (-int(row["supervision_level"] or 0), d is None, d or datetime.max, row["id"])


@dataclass
class LiveBoard:
    root: str
    now: datetime
    today: Window
    yesterday: Window
    top: int                                              # cases kept per list and region
    counters: dict[str, dict] = field(default_factory=dict)   # while building
    # KpiCounts as tuples of their fields: the board travels pickled to every worker each
    # tick, and 22k frozen dataclasses unpickle ~10× slower than tuples.
    counts: dict[str, tuple] = field(default_factory=dict)
    children: dict[str, set] = field(default_factory=dict)
    placed: dict[str, dict] = field(default_factory=dict)
    mix: dict[str, dict] = field(default_factory=dict)
    hours: dict[str, dict] = field(default_factory=dict)
    overdue: dict[str, list] = field(default_factory=dict)
    urgent: dict[str, list] = field(default_factory=dict)

    parents: dict[str, str] = field(default_factory=dict)   # while building
    depth: dict[str, int] = field(default_factory=dict)     # while building: code -> level
    # Which rows each region's figures come from, so that a wall's model built from an
    # earlier board of the same chain is known to be still right (views/wall/live_models):
    # `base` names the full pass (given by whoever makes it; "" = not versioned), each
    # followed board is one `step` further, and `versions` holds the regions whose rows
    # a step changed, with that step's tag.
    base: str = ""
    step: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    # Building: rows go to their own community or township; finish() sums them upwards,
    # once per region rather than once per row and ancestor.
    def _leaf(self, chain: tuple) -> str:
        code = None
        for level, code, parent in _walk(chain):
            if parent is not None and code not in self.parents:
                self.parents[code] = parent
                self.children.setdefault(parent, set()).add(code)
            self.depth.setdefault(code, level)
        return code

    def add_counters(self, chain: tuple, counters: dict, sign: int = 1) -> None:
        """A community's side counters (chain: its codes from the province down)."""
        _add(self.counters.setdefault(self._leaf(chain), {}), counters, sign)

    def add_placed(self, chain: tuple, state: str, level: str | None, n: int) -> None:
        d = self.placed.setdefault(self._leaf(chain), {})
        d[(state, level)] = d.get((state, level), 0) + n

    def add_mix(self, chain: tuple, dimension: str, value, n: int) -> None:
        d = self.mix.setdefault(self._leaf(chain), {}).setdefault(dimension, {})
        key = value if value is not None else ""
        d[key] = d.get(key, 0) + n

    def add_hour(self, chain: tuple, which: str, hour: int, n: int) -> None:
        hours = self.hours_of(which)
        if 0 <= hour < hours:
            h = self.hours.setdefault(self._leaf(chain), {}).setdefault(which, [0] * hours)
            h[hour] += n

    def add_row(self, row: tuple, sign: int = 1) -> None:
        """One row of a pass (dashboard.domain.live_cases: a case's share of the board),
        added, or taken away with sign −1."""
        kind, chain = row[0], row[1]
        if kind == COUNTERS:
            self.add_counters(chain, row[2], sign)
        elif kind == PLACED:
            self.add_placed(chain, row[2], row[3], sign * row[4])
        elif kind == MIX:
            self.add_mix(chain, row[2], row[3], sign * row[4])
        else:
            self.add_hour(chain, row[2], row[3], sign * row[4])

    def township_board(self, townships: set[str]) -> LiveBoard:
        """A new unfinished board holding copies of `townships`' rows in this unfinished
        board, to adjust case by case and give back through replace_townships()."""
        out = LiveBoard(root=self.root, now=self.now, today=self.today,
                        yesterday=self.yesterday, top=self.top)
        for up in townships:
            for code in self._communities(up):
                out.parents[code], out.depth[code] = up, Level.COMMUNITY
                out.children.setdefault(up, set()).add(code)
                if code in self.counters:
                    out.counters[code] = dict(self.counters[code])
        for t in townships:
            out.placed[t] = dict(self.placed.get(t, {}))
            out.mix[t] = {dim: dict(d) for dim, d in self.mix.get(t, {}).items()}
            out.hours[t] = {w: list(h) for w, h in self.hours.get(t, {}).items()}
            for mine, theirs in ((out.overdue, self.overdue), (out.urgent, self.urgent)):
                if t in theirs:
                    mine[t] = theirs[t]
        return out

    def prune(self, townships: set[str], counted) -> None:
        """Drop what a full pass would have no row for, after rows were taken away: the
        entries of `townships` that came to nothing, and their communities that no
        counted case is in any more (`counted(code)`: a community has cases on the
        board; its counters may all be zero, as a grouped query's can be)."""
        for up in townships:
            for code in self._communities(up):
                if code in self.counters and not counted(code):
                    del self.counters[code]
        for t in townships:
            for rows in (self.placed, self.mix, self.hours):
                d = rows.get(t)
                if d is None:
                    continue
                if rows is self.placed:
                    d = {k: n for k, n in d.items() if n}
                elif rows is self.mix:
                    d = {dim: v for dim, v in ((dim, {k: n for k, n in v.items() if n})
                                               for dim, v in d.items()) if v}
                else:
                    d = {w: h for w, h in d.items() if any(h)}
                if d:
                    rows[t] = d
                else:
                    del rows[t]

    def add_listed(self, chain: tuple, overdue: list[dict], urgent: list[dict]) -> None:
        """A township's first `top` overdue and supervised cases. An ancestor's first
        `top` are the first of its townships' (each township's list holds all of its
        cases that can be among them)."""
        code = self._leaf(chain)
        self.overdue[code] = _merge(self.overdue.get(code, []), overdue, overdue_key, self.top)
        self.urgent[code] = _merge(self.urgent.get(code, []), urgent, urgent_key, self.top)

    def replace_townships(self, townships: set[str], fresh: LiveBoard) -> None:
        """Replace every row of `townships` (their communities' counters, their own
        lists, hours and mixes) by `fresh`'s, a board collected over just them."""
        for code in [c for t in townships for c in self._communities(t)]:
            self.counters.pop(code, None)
        for rows in (self.placed, self.mix, self.hours, self.overdue, self.urgent):
            for code in townships:
                rows.pop(code, None)
        for mine, theirs in ((self.counters, fresh.counters), (self.placed, fresh.placed),
                             (self.mix, fresh.mix), (self.hours, fresh.hours),
                             (self.overdue, fresh.overdue), (self.urgent, fresh.urgent),
                             (self.parents, fresh.parents), (self.depth, fresh.depth)):
            mine.update(theirs)
        for code, kids in fresh.children.items():
            self.children.setdefault(code, set()).update(kids)

    def copy(self, now: datetime) -> LiveBoard:
        """An unfinished board's rows at `now`, to finish while this one keeps its own
        (finish() only adds the ancestors' entries, so the rows themselves are shared)."""
        return LiveBoard(root=self.root, now=now, today=self.today, yesterday=self.yesterday,
                         top=self.top, counters=dict(self.counters),
                         children={k: set(v) for k, v in self.children.items()},
                         placed=dict(self.placed), mix=dict(self.mix), hours=dict(self.hours),
                         overdue=dict(self.overdue), urgent=dict(self.urgent),
                         parents=dict(self.parents), depth=dict(self.depth))

    def _communities(self, township: str) -> set[str] | tuple:
        # A township's children on a board are its communities (nothing is finer).
        return self.children.get(township, ())

    def hours_of(self, which: str) -> int:
        return _hours_in(self.today if which.startswith("today") else self.yesterday)

    def finish(self, to_counts, keep: bool = False) -> LiveBoard:
        """Sum every region's rows into its ancestors, finest first, and turn the side
        counters into KpiCounts with `to_counts` (the function the per-region queries
        use: counters are summed before they become KPIs, as a grouped query sums them).
        With `keep`, the summed counters and the tree maps stay, for updated()."""
        for level in reversed(CHAIN[1:]):
            for code in [c for c, lv in self.depth.items() if lv == level]:
                up = self.parents[code]
                if code in self.counters:
                    _add(self.counters.setdefault(up, {}), self.counters[code])
                if level > DEEPEST:
                    continue
                for name, d in self.placed.get(code, {}).items():
                    into = self.placed.setdefault(up, {})
                    into[name] = into.get(name, 0) + d
                for dim, values in self.mix.get(code, {}).items():
                    _add(self.mix.setdefault(up, {}).setdefault(dim, {}), values)
                for which, h in self.hours.get(code, {}).items():
                    into = self.hours.setdefault(up, {}).setdefault(which, [0] * len(h))
                    for i, n in enumerate(h):
                        into[i] += n
                for lists, key in ((self.overdue, overdue_key), (self.urgent, urgent_key)):
                    if code in lists:
                        lists[up] = _merge(lists.get(up, []), lists[code], key, self.top)
        self.counts = {code: _tuple(to_counts, d) for code, d in self.counters.items()}
        if not keep:
            self.counters, self.parents, self.depth = {}, {}, {}
        return self

    # Following: a few townships' rows replaced, their ancestors' sums updated ------------
    def rows_of(self, townships: set[str]) -> dict:
        """The rows of each township of an unfinished board: its communities' counters,
        its own placed, mix and hours."""
        communities: dict[str, dict] = {
            t: {c: self.counters[c] for c in self._communities(t) if c in self.counters}
            for t in townships}
        return {t: (communities[t], self.placed.get(t, {}), self.mix.get(t, {}),
                    self.hours.get(t, {})) for t in townships}

    def updated(self, now: datetime, before: dict, leaves: LiveBoard, to_counts) -> LiveBoard:
        """A board kept with finish(keep=True), its townships `before` (rows_of, as they
        were) replaced by what `leaves` (the unfinished board, already replaced) holds now:
        a new board; this one, maybe still being read, is left as it was. Only the
        replaced townships, their communities and their ancestors change."""
        out = LiveBoard(root=self.root, now=now, today=self.today, yesterday=self.yesterday,
                        top=self.top, counters=dict(self.counters), counts=dict(self.counts),
                        children={**self.children}, placed=dict(self.placed), mix=dict(self.mix),
                        hours=dict(self.hours), overdue=dict(self.overdue),
                        urgent=dict(self.urgent), parents=self.parents, depth=self.depth,
                        base=self.base, step=self.step + 1, versions=dict(self.versions))
        out._adopt(leaves, before)
        after = leaves.rows_of(set(before))
        lengths = {w: out.hours_of(w) for w in HOURLY_KEYS}
        # Each township's change, summed per ancestor first: a province sums the changes
        # of a tick's hundred townships once, not once per township.
        counters: dict[str, dict] = {}
        placed: dict[str, dict] = {}
        mix: dict[str, dict] = {}
        hours: dict[str, dict] = {}
        relisted: set[str] = set()
        for t, (old_comm, old_placed, old_mix, old_hours) in before.items():
            new_comm, new_placed, new_mix, new_hours = after[t]
            delta: dict = {}
            for code in old_comm.keys() - new_comm.keys():
                out.counters.pop(code, None)
                out.counts.pop(code, None)
                _add(delta, old_comm[code], -1)
            for code, d in new_comm.items():
                old = old_comm.get(code)
                if old == d:
                    continue
                out.counters[code] = d
                out.counts[code] = _tuple(to_counts, d)
                _add(delta, d)
                if old:
                    _add(delta, old, -1)
            chain = out._up(t)
            for code in chain:
                _add(counters.setdefault(code, {}), delta)
            if new_placed != old_placed:
                change = _minus(new_placed, old_placed)
                for code in chain:
                    _add(placed.setdefault(code, {}), change)
            if new_mix != old_mix:
                for dim in old_mix.keys() | new_mix.keys():
                    change = _minus(new_mix.get(dim, {}), old_mix.get(dim, {}))
                    for code in chain:
                        _add(mix.setdefault(code, {}).setdefault(dim, {}), change)
            if new_hours != old_hours:
                for w in old_hours.keys() | new_hours.keys():
                    zero = [0] * lengths[w]
                    change = [a - b for a, b in zip(new_hours.get(w, zero),
                                                    old_hours.get(w, zero))]
                    for code in chain:
                        into = hours.setdefault(code, {}).setdefault(w, [0] * lengths[w])
                        for k, n in enumerate(change):
                            into[k] += n
            for rows, theirs in ((out.overdue, leaves.overdue), (out.urgent, leaves.urgent)):
                mine = theirs.get(t)
                if (mine or []) != rows.get(t, []):
                    relisted.update(chain[1:])
                if mine:
                    rows[t] = mine
                else:
                    rows.pop(t, None)
        for code, delta in counters.items():
            out.counters[code] = _plus(out.counters.get(code, {}), delta)
            out.counts[code] = _tuple(to_counts, out.counters[code])
        for code, delta in placed.items():
            out.placed[code] = _plus(out.placed.get(code, {}), delta)
        for code, delta in mix.items():
            mine = out.mix.get(code, {})
            out.mix[code] = {dim: _plus(mine.get(dim, {}), delta.get(dim, {}))
                             for dim in mine.keys() | delta.keys()}
        for code, delta in hours.items():
            mine = out.hours.get(code, {})
            out.hours[code] = {w: [a + b for a, b in zip(mine.get(w, [0] * lengths[w]),
                                                         delta.get(w, [0] * lengths[w]))]
                               for w in mine.keys() | delta.keys()}
        # An ancestor's lists are the first of its children's, finest ancestors first;
        # only where a township's lists changed.
        for code in sorted(relisted, key=lambda c: -out.depth.get(c, 0)):
            kids = out.children.get(code, ())
            for rows, key in ((out.overdue, overdue_key), (out.urgent, urgent_key)):
                merged = _merge([], [r for k in kids for r in rows.get(k, ())], key, out.top)
                if merged:
                    rows[code] = merged
                else:
                    rows.pop(code, None)
        tag = f"{out.base}{VERSION_STEP}{out.step}"
        for code in counters:
            # A region's wall reads its own rows and its children's: a changed child is on
            # the same chain, so the chain is every region whose wall may have changed.
            out.versions[code] = tag
        return out

    def _adopt(self, leaves: LiveBoard, townships) -> None:
        """The regions `leaves` has under `townships` (and above them) that this board's
        tree maps lack: a community or township with its first case today. Only those
        are copied in, so a tick's cost does not grow with the province's 22k regions."""
        new = [code for t in townships
               for code in (*leaves.children.get(t, ()), *leaves._up(t))
               if code not in self.depth]
        if not new:
            return
        self.parents, self.depth = dict(self.parents), dict(self.depth)
        for code in new:
            up = leaves.parents.get(code)
            self.depth[code] = leaves.depth[code]
            if up is not None:
                self.parents[code] = up
                self.children[up] = self.children.get(up, set()) | {code}

    def version_of(self, code: str) -> str:
        """A tag that changes whenever the rows behind `code`'s wall change; "" when this
        board is not versioned (a one-off pass: nothing may be carried over from it)."""
        if not self.base:
            return ""
        return self.versions.get(code, self.base)

    def _up(self, township: str) -> list[str]:
        """The township and its ancestors, finest first."""
        chain, code = [], township
        while code is not None:
            chain.append(code)
            code = self.parents.get(code)
        return chain

    def published(self) -> LiveBoard:
        """This board without what only following needs (the summed counters, the tree
        maps): what the walls read, pickled and shared."""
        return LiveBoard(root=self.root, now=self.now, today=self.today,
                         yesterday=self.yesterday, top=self.top, counts=self.counts,
                         children=self.children, placed=self.placed, mix=self.mix,
                         hours=self.hours, overdue=self.overdue, urgent=self.urgent,
                         base=self.base, step=self.step, versions=self.versions)

    # Answering (the CaseStore questions build_live asks) --------------------------------
    def _check(self, scope, window: Window | None = None, now: datetime | None = None,
               windows: tuple = ()) -> str:
        if scope.level > DEEPEST:
            raise NotOnBoard(f"{scope.code} is finer than the board")
        if window is not None and window not in (windows or (self.today,)):
            raise NotOnBoard("the board holds today only")
        if now is not None and now != self.now:
            raise NotOnBoard("the board holds its own time only")
        return scope.code

    def kpi_counts_by(self, scope, window: Window, now: datetime,
                      by_child: bool = False, settled: bool = False
                      ) -> dict[str | None, KpiCounts]:
        code = self._check(scope, window, now)
        if not by_child:
            own = self.counts.get(code)
            out = {None: _counts(own) if own else KpiCounts()}
        else:
            # A child with only yesterday's hours has no counters, as in a grouped query.
            out = {kid: _counts(self.counts[kid]) for kid in self.children.get(code, ())
                   if kid in self.counts}
        return {k: without_open(v) for k, v in out.items()} if settled else out

    def kpi_counts(self, scope, window: Window, now: datetime,
                   settled: bool = False) -> KpiCounts:
        return self.kpi_counts_by(scope, window, now, settled=settled)[None]

    def open_by_state_and_level(self, scope) -> dict:
        return dict(self.placed.get(self._check(scope), {}))

    def breakdown(self, scope, window: Window, dimension: str) -> dict[str, int]:
        if dimension not in MIX_DIMENSIONS:
            raise NotOnBoard(f"the board has no mix by {dimension}")
        return dict(self.mix.get(self._check(scope, window), {}).get(dimension, {}))

    def closed_breakdown(self, scope, window: Window, dimension: str) -> dict[str, int]:
        """A period board's closures of its window by the level that settled them."""
        if dimension != "resolution_level":
            raise NotOnBoard(f"the board has no closures by {dimension}")
        return dict(self.mix.get(self._check(scope, window), {}).get(CLOSED_LEVEL, {}))

    def hourly(self, scope, window: Window, column: str = "reported_at") -> list[int]:
        code = self._check(scope, window, windows=(self.today, self.yesterday))
        which = ("today" if window == self.today else "yesterday") + \
            ("_intake" if column == "reported_at" else "_closed")
        return list(self.hours.get(code, {}).get(which, [0] * self.hours_of(which)))

    def overdue_cases(self, scope, now: datetime, limit: int = 20) -> list[dict]:
        return self._listed(self.overdue, scope, now, limit)

    def urgent_open_cases(self, scope, limit: int = 20) -> list[dict]:
        return self._listed(self.urgent, scope, None, limit)

    def _listed(self, lists: dict, scope, now, limit: int) -> list[dict]:
        if limit > self.top:
            raise NotOnBoard(f"the board keeps {self.top} cases per list")
        return [dict(r) for r in lists.get(self._check(scope, now=now), [])[:limit]]


def board_regions(tree, code: str) -> list:
    """The region and every region under it down to townships: the walls one board
    serves (`tree`: anything with get() and children())."""
    out, todo = [], [tree.get(code)]
    while todo:
        region = todo.pop()
        out.append(region)
        if region.level < DEEPEST:
            todo.extend(tree.children(region.code))
    return out


def _walk(chain: tuple):
    """(level, code, parent code) for each code of a chain, province first; a chain may
    stop early (a township's rows have no community)."""
    parent = None
    for level, code in zip(CHAIN, chain):
        if code is None:
            break
        yield level, code, parent
        parent = code


@functools.lru_cache(maxsize=64)
def _hours_in(window: Window) -> int:
    # Asked for every hourly series of every wall built (a day has 23 to 25 hours).
    w = window.utc
    return int((w.end - w.start).total_seconds() // 3600)


def _add(acc: dict, counters: dict, sign: int = 1) -> None:
    for name, value in counters.items():
        acc[name] = acc.get(name, 0) + sign * (value or 0)


@functools.lru_cache(maxsize=65536)
def _counts(fields: tuple) -> KpiCounts:
    # The same object for the same figures: a builder asks a changed region's children
    # every tick, mostly unchanged, and the wall model memoises by them.
    return KpiCounts(*fields)


def _tuple(to_counts, counters: dict) -> tuple:
    return tuple(vars(to_counts(counters)).values())


def _sum(dicts: Iterable[dict]) -> dict:
    out: dict = {}
    for d in dicts:
        _add(out, d)
    return out


def _minus(new: dict, old: dict) -> dict:
    out = dict(new)
    for k, v in old.items():
        out[k] = out.get(k, 0) - v
    return out


def _plus(acc: dict, delta: dict) -> dict:
    """A new dict: `acc` + `delta`, without the entries that come to nothing (a full pass
    has no row for them)."""
    out = dict(acc)
    for k, v in delta.items():
        out[k] = out.get(k, 0) + v
    return {k: v for k, v in out.items() if v != 0 or isinstance(v, float)}


def _merge(a: list, b: Iterable, key, top: int) -> list:
    return heapq.nsmallest(top, [*a, *b], key=key)


def version_base(version: str | None) -> str | None:
    """The full pass (`LiveBoard.base`) a region's version descends from."""
    return version.split(VERSION_STEP, 1)[0] if version else None
