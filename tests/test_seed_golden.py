"""The simulator's output for a fixed seed, to the byte: a digest of every seeded case row,
case event and stream entry, then of the same after some live ticks.

The calibration (DOMAIN.md §7, tests/test_simulator.py) was checked on these very rows, so
making the seeder faster (issue 12 goal 7) must not move one draw. The digests were
computed once with the code of 962c0db (before that work); a change that means to alter
the simulated data updates them and says so.
"""
from __future__ import annotations

import gc
import hashlib
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from data_sources.database import CaseDatabase
from data_sources.regions import RegionTree, import_region
from data_sources.schema import case, case_event
from simulator.live import LiveSimulator
from simulator.seed import _steady_zone, seed_history
from simulator.world import World

NOW = datetime(2026, 11, 20, 6, 30, tzinfo=timezone.utc)   # Friday 14:30 in Shanghai
# 镇江市: three counties and a county-level city, a few thousand cases in 3 days, with
# cases open at NOW, weekend and workday deadlines, and stream history.
REGION = "321100"
SEEDED = {
    "cases": 4697,
    "case rows": "0241fac766b1f918e6192e7baf66ebe2e8cfc50b2f051544914bc24c9e650bae",
    "event rows": "64978b03ea54dbdb831d63005cad05989f34c905f3fe67d7403016cb052a5c56",
    "stream": "23c4f561e7e3f037ce948a1d89dd451001e743292c3ae8c0ad1f7724bc8fd761",
}
LIVE = {
    "case rows": "dc1f39c23b118f9c16025362fb416583aaed41af2058e4f6f97cec8e08576f57",
    "event rows": "2baff1f192133fcb7b53bdd4e98b3a8616d8d4c8e93030b3ca7f42cff4635f64",
    "stream": "c39acfce5e2aab6a195d3c285faaa05af18b4680977ecc54aa65ca3e43209843",
}


class _Stream:
    """What the seeder and the live simulator hand to Redis, in order."""

    def __init__(self):
        self.entries: list[str] = []

    def append_history(self, timed) -> int:
        for at, fields in timed:
            self.entries.append(f"{at.timestamp()!r} {sorted(fields.items())!r}")
        return len(timed)

    def append_many(self, entries) -> None:
        self.entries.extend(repr(sorted(fields.items())) for fields in entries)


def _digest(lines) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


def _rows(db, table) -> list[str]:
    # Read back from the database: what was stored, whatever Python objects carried it.
    with db.engine.connect() as conn:
        return [repr(tuple(r)) for r in conn.execute(sa.select(table).order_by(table.c.id))]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "g.db"
    db = CaseDatabase(f"sqlite:///{path}")
    db.init_schema()
    import_region(db.engine, REGION, path.parent / "geo")
    world = World.from_tree(RegionTree.load(db.engine, REGION), REGION, seed=3)
    stream = _Stream()
    thresholds = gc.get_threshold()
    result = seed_history(db, stream, world, days=3, scale=0.5, seed=3, tz="Asia/Shanghai",
                          now=NOW, stream_hours=30, progress=False)
    assert gc.get_threshold() == thresholds   # raised while seeding only
    seeded = {"cases": result.cases, "case rows": _digest(_rows(db, case)),
              "event rows": _digest(_rows(db, case_event)), "stream": _digest(stream.entries)}
    sim = LiveSimulator(db, stream, world, scale=0.5, tz="Asia/Shanghai", speed=20, seed=4)
    sim.load(NOW)
    at = NOW
    for _ in range(40):
        at += timedelta(seconds=60)
        assert not sim.tick(at, 60).errors
    live = {"case rows": _digest(_rows(db, case)), "event rows": _digest(_rows(db, case_event)),
            "stream": _digest(stream.entries)}
    db.close()
    return seeded, live


def test_seeded_rows_events_and_stream_are_unchanged(simulated):
    seeded, _ = simulated
    assert seeded == SEEDED


def test_live_ticks_after_the_seed_are_unchanged(simulated):
    _, live = simulated
    assert live == LIVE


def test_a_zone_becomes_a_fixed_offset_only_where_its_offset_holds():
    # The seeder works in a fixed offset for speed; in a zone with daylight saving inside
    # the seed's span it must keep the zone, or wall times there would move.
    shanghai, berlin = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    fixed = _steady_zone(shanghai, start, start + timedelta(days=400))
    assert fixed.utcoffset(None) == timedelta(hours=8) and fixed.tzname(None) == "CST"
    assert _steady_zone(berlin, start, start + timedelta(days=60)) is berlin
    assert _steady_zone(berlin, start + timedelta(days=60),
                        start + timedelta(days=120)).utcoffset(None) == timedelta(hours=2)
