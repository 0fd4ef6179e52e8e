"""The garbage collector of a worker (dashboard/app/collector.py): young collections every
GRIDWATCH_GC_YOUNG new objects, the built app frozen out of every collection."""
from __future__ import annotations

import gc

import pytest

from dashboard.app import collector
from dashboard.app.settings import Settings


@pytest.fixture
def restored_collector():
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)
    gc.unfreeze()


def test_settle_collects_young_objects_less_often_and_freezes_what_exists(restored_collector):
    gc.unfreeze()
    built = [[i] for i in range(1000)]     # what the app holds once it is built
    collector.settle(50_000)
    assert gc.get_threshold()[0] == 50_000
    assert gc.get_freeze_count() >= len(built)
    # A full collection no longer walks the frozen objects; they are still alive.
    walked = {id(o) for o in gc.get_objects()}
    assert gc.is_tracked(built[0]) and not any(id(x) in walked for x in built)
    young = [[1]]
    assert id(young[0]) in {id(o) for o in gc.get_objects()}
    assert built[999] == [999]


def test_zero_leaves_python_defaults(restored_collector):
    gc.unfreeze()
    before = gc.get_threshold()
    collector.settle(0)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_setting_comes_from_the_environment():
    assert Settings.from_env({}).gc_young == 50_000
    assert Settings.from_env({"GRIDWATCH_GC_YOUNG": "0"}).gc_young == 0
    with pytest.raises(ValueError, match="GC_YOUNG"):
        Settings.from_env({"GRIDWATCH_GC_YOUNG": "-1"})
    with pytest.raises(ValueError, match="GC_YOUNG"):
        Settings.from_env({"GRIDWATCH_GC_YOUNG": "lots"})
