"""Region scope: a request can only narrow the scope it was given, never widen it."""
import pytest

from dashboard.domain.hierarchy import Level
from dashboard.domain.scope import OutOfScope, RegionScope, narrow
from data_sources.database import CaseDatabase
from data_sources.regions import RegionTree, import_region


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    path = tmp_path_factory.mktemp("scope")
    db = CaseDatabase(f"sqlite:///{path / 'gw.db'}")
    db.init_schema()
    import_region(db.engine, "320000", path)
    yield RegionTree.load(db.engine, "320000")
    db.close()


def test_a_city_user_can_narrow_to_its_own_grids(tree):
    nanjing = RegionScope("320100", Level.CITY)
    grid = tree.grids_under("320102")[0]
    scope = narrow(nanjing, grid, tree)
    assert scope == RegionScope(grid, Level.GRID)
    assert scope.column == "grid_code"
    assert narrow(nanjing, "320102", tree).child_level == Level.TOWNSHIP


@pytest.mark.parametrize("forged", ["320000", "320200", "320211", "330100", "999999",
                                    "320102' OR '1'='1", ""])
def test_anything_outside_or_unknown_is_refused(tree, forged):
    nanjing = RegionScope("320100", Level.CITY)
    with pytest.raises(OutOfScope):
        narrow(nanjing, forged, tree)


def test_grids_of_another_city_are_refused(tree):
    wuxi_grid = tree.grids_under("320211")[0]
    with pytest.raises(OutOfScope):
        narrow(RegionScope("320100", Level.CITY), wuxi_grid, tree)
