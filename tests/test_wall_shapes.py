"""The wall's view models have the shapes dashboard/views/wall/shapes.py declares: checked
with typeguard on models built from the seeded database, for a province, a city and a
grid, and on the model a failed build returns (the last good sections kept)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from typeguard import check_type

from dashboard.app.settings import Settings
from dashboard.views.wall.model import build_live, build_period, previous_counts, stream_state
from dashboard.views.wall.shapes import LiveModel, PeriodModel, SourceState
from data_sources.case_store import SqlCaseStore
from data_sources.database import CaseDatabase
from data_sources.regions import RegionTree
from tests.clock import settled_now

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def seeded(seeded_env):
    settings = Settings.from_env(seeded_env.env)
    db = CaseDatabase(settings.database_url)
    yield SqlCaseStore(lambda: db.engine), RegionTree.load(db.engine, settings.region), settings
    db.engine.dispose()


class Broken:
    def __getattr__(self, name):
        def fail(*_a, **_k):
            raise ConnectionError("database down")
        return fail


@pytest.mark.parametrize("code", ["320000", "320500"])
def test_live_and_period_models_have_their_declared_shapes(seeded, code):
    cases, tree, settings = seeded
    region, now = tree.get(code), settled_now()
    live = build_live(cases, tree, region, TZ, now, None)
    check_type(live, LiveModel)
    assert live["sections"]["kpis"]["intake"] > 0
    assert live["sections"]["overdue"]["oldest"], "no case rows: their shape went unchecked"
    before = previous_counts(cases, region, TZ, now)
    period = build_period(cases, tree, region, TZ, now, None, settings.weights, before)
    check_type(period, PeriodModel)
    assert period["sections"]["ranking"]["rows"]
    # A failed build keeps the last good sections and still has the declared shape.
    failed = build_live(Broken(), tree, region, TZ, now, live)
    check_type(failed, LiveModel)
    assert failed["sections"] == live["sections"]
    assert failed["sources"]["database"]["status"] == "down"


def test_a_grids_models_have_their_declared_shapes(seeded):
    cases, tree, settings = seeded
    grid = tree.get(tree.grids_under("320500")[0])
    now = settled_now()
    check_type(build_live(cases, tree, grid, TZ, now, None), LiveModel)
    check_type(build_period(cases, tree, grid, TZ, now, None, settings.weights, {}), PeriodModel)


def test_the_stream_state_is_a_source_state():
    for state in stream_state(Broken(), datetime.now(timezone.utc)).values():
        check_type(state, SourceState)
