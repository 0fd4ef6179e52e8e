"""Generated levels below the county: townships, communities and grids (no database).

No public source has boundaries (or a usable list) of China's ~38k townships and 600k
villages, so the demo tree below the county is generated *(model)*, calibrated on Jiangsu
(DOMAIN.md §2): one township per ~68.5k residents (at least one per county), one village
or community per ~4,035 residents (5–40 per township), one grid per ~807 residents (2–15
per community). Each row gets a random share of its parent's population (the shares sum
exactly), a plausible unique name, and a point: townships anywhere inside the county,
communities around their township, grids around their community, always inside the
county polygon.

Output depends only on the seed and each county's own row: a per-county generator is
seeded from zlib.crc32 of the code (Python's hash() is salted per process), so a county
gets the same tree whatever else is imported beside it.
"""
from __future__ import annotations

import zlib

import numpy as np

from dashboard.domain.hierarchy import Level, child_code
from data_sources.region_import import apportion

RESIDENTS_PER_TOWNSHIP = 68_500
RESIDENTS_PER_COMMUNITY = 4_035
RESIDENTS_PER_GRID = 807
COMMUNITIES_PER_TOWNSHIP = (5, 40)
GRIDS_PER_COMMUNITY = (2, 15)
# Shape of the gamma weights that split a parent's population: lower is more uneven.
_SPREAD = {Level.TOWNSHIP: 4.0, Level.COMMUNITY: 3.0, Level.GRID: 8.0}
_DECIMALS = 5  # ~1 m; points are tested for containment after rounding

# Share of 街道 among townships, and of 社区 (urban) among communities, by parent kind.
_STREET_SHARE = {"district": 0.62, "county": 0.14}
_TOWNSHIP_RURAL = ("镇",) * 9 + ("乡",)  # Jiangsu has few 乡 left
_URBAN_SHARE = {"街道": 0.8, "镇": 0.1, "乡": 0.03}

_STEM_HEAD = ("东西南北中新大小上下长永安龙凤金石白青黄红花桃柳松竹梅杨马高古丰富兴和平"
              "太清宝双三万仙福云湖河江海山城光明华盛义仁德顺吉祥瑞")
_STEM_TAIL = ("桥港塘庄集湾沟埠泉林阳宁丰兴安河湖山口店圩坝墩营岗园城里亭浦渡堰溪岭坊"
              "寨场头门洲滩泽州")
_URBAN_HEADS = ("新建", "幸福", "和平", "人民", "光明", "朝阳", "解放", "文化", "友谊", "胜利",
                "团结", "红旗", "向阳", "东风", "春晖", "翠园", "锦绣", "滨江", "华府", "金桥",
                "银杏", "紫荆", "阳光", "书香", "建设", "长青", "民主", "育才", "丰收", "湖滨")
_URBAN_TAILS = ("", "苑", "园", "路", "里", "坊", "城", "湾", "府", "新村", "家园", "花园")
_SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁"
             "潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟熊秦邱")
_VILLAGE_TAIL = ("庄", "家", "集", "圩", "湾", "桥", "沟", "营", "楼", "店", "河", "岗", "墩",
                 "舍", "塘", "港", "巷", "坝", "埝", "垛")
_VILLAGE_PREFIX = ("", "", "", "东", "西", "南", "北", "前", "后", "大", "小", "新")


def county_rng(code: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(code.encode("ascii"))])


def generate_lower_levels(counties: list[dict], seed: int = 0) -> list[dict]:
    """Township, community and grid rows for each county row (region-file dict shape)."""
    rows: list[dict] = []
    for county in counties:
        rows.extend(_county_rows(county, seed))
    return rows


class _Area:
    """Where a county's points may fall: its polygon, or a disc when it has no boundary."""

    def __init__(self, county: dict):
        import shapely
        from shapely.geometry import shape
        self.lon, self.lat = float(county.get("lon") or 0.0), float(county.get("lat") or 0.0)
        boundary = county.get("boundary")
        self.geom = shape(boundary) if boundary else None
        if self.geom is not None and not self.geom.is_empty:
            shapely.prepare(self.geom)
            self.bounds = self.geom.bounds
            self.size = float(np.sqrt(self.geom.area))
        else:
            self.geom = None
            self.size = 0.1
            self.bounds = (self.lon - self.size / 2, self.lat - self.size / 2,
                           self.lon + self.size / 2, self.lat + self.size / 2)

    def inside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        if self.geom is None:
            return np.ones(x.shape, dtype=bool)
        import shapely
        return shapely.contains_xy(self.geom, x, y)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n points uniformly inside the area (rejection sampling in the bounding box)."""
        minx, miny, maxx, maxy = self.bounds
        out = np.empty((0, 2))
        for _ in range(200):
            m = max(64, 2 * (n - len(out)))
            pts = np.round(np.column_stack([rng.uniform(minx, maxx, m),
                                            rng.uniform(miny, maxy, m)]), _DECIMALS)
            out = np.vstack([out, pts[self.inside(pts[:, 0], pts[:, 1])]])
            if len(out) >= n:
                return out[:n]
        # A sliver polygon that rejection cannot hit: fall back to its inner point.
        return np.vstack([out, np.tile([self.lon, self.lat], (n - len(out), 1))])[:n]

    def jitter(self, rng: np.random.Generator, centres: np.ndarray,
               sigma: np.ndarray) -> np.ndarray:
        """One point near each centre (sigma per centre), inside the area; the centre
        itself when eight tries all fall outside (a centre on a narrow spit)."""
        out = centres.copy()
        todo = np.arange(len(centres))
        for _ in range(8):
            if not len(todo):
                break
            noise = rng.normal(0.0, 1.0, (len(todo), 2)) * sigma[todo, None]
            pts = np.round(centres[todo] + noise, _DECIMALS)
            ok = self.inside(pts[:, 0], pts[:, 1])
            out[todo[ok]] = pts[ok]
            todo = todo[~ok]
        return out


class _Namer:
    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def pick(self, pool) -> str:
        return pool[int(self.rng.integers(len(pool)))]

    def _unique(self, make, used: set[str]) -> str:
        for _ in range(50):
            name = make()
            if name not in used:
                used.add(name)
                return name
        # Pools are far larger than 40 siblings; this only guards against bad luck.
        name = f"{make()}{len(used) + 1}"
        used.add(name)
        return name

    def township(self, suffix: str, used: set[str]) -> str:
        return self._unique(lambda: self.pick(_STEM_HEAD) + self.pick(_STEM_TAIL) + suffix,
                            used)

    def community(self, urban: bool, used: set[str]) -> str:
        if urban:
            return self._unique(
                lambda: self.pick(_URBAN_HEADS) + self.pick(_URBAN_TAILS) + "社区", used)
        return self._unique(lambda: self.pick(_VILLAGE_PREFIX) + self.pick(_SURNAMES)
                            + self.pick(_VILLAGE_TAIL) + "村", used)


def _counts(pops: list[int], residents: int, bounds: tuple[int, int]) -> np.ndarray:
    return np.clip(np.rint(np.asarray(pops) / residents), *bounds).astype(int)


def _split(rng: np.random.Generator, total: int, n: int, level: Level) -> list[int]:
    return apportion(total, rng.gamma(_SPREAD[level], size=n).tolist())


def _row(code: str, parent: str, level: Level, name: str, pop: int, pt) -> dict:
    return {"code": code, "parent": parent, "level": int(level), "name": name,
            "population": int(pop), "lon": float(pt[0]), "lat": float(pt[1]),
            "boundary": None}


def _county_rows(county: dict, seed: int) -> list[dict]:
    code, pop = county["code"], int(county.get("population") or 0)
    rng = county_rng(code, seed)
    area = _Area(county)
    namer = _Namer(rng)

    n_towns = max(1, round(pop / RESIDENTS_PER_TOWNSHIP))
    town_pops = _split(rng, pop, n_towns, Level.TOWNSHIP)
    town_pts = area.sample(rng, n_towns)
    street_share = _STREET_SHARE["district" if county.get("name", "").endswith("区")
                                 else "county"]
    # A township's reach: about the radius of an equal share of the county.
    town_sigma = np.full(n_towns, area.size / np.sqrt(n_towns) * 0.3)
    n_comms = _counts(town_pops, RESIDENTS_PER_COMMUNITY, COMMUNITIES_PER_TOWNSHIP)
    comm_pts = area.jitter(rng, np.repeat(town_pts, n_comms, axis=0),
                           np.repeat(town_sigma, n_comms))
    comm_sigma = np.repeat(town_sigma / np.sqrt(n_comms) * 0.5, n_comms)

    towns, comms = [], []
    town_names: set[str] = set()
    for t in range(n_towns):
        t_code = _township_code(code, t + 1)
        kind = "街道" if rng.random() < street_share else namer.pick(_TOWNSHIP_RURAL)
        towns.append(_row(t_code, code, Level.TOWNSHIP, namer.township(kind, town_names),
                          town_pops[t], town_pts[t]))
        names: set[str] = set()
        for c, c_pop in enumerate(_split(rng, town_pops[t], int(n_comms[t]),
                                         Level.COMMUNITY)):
            urban = rng.random() < _URBAN_SHARE[kind]
            point = comm_pts[len(comms)]  # comm_pts is in the order rows are appended
            comms.append(_row(child_code(t_code, c + 1), t_code, Level.COMMUNITY,
                              namer.community(urban, names), c_pop, point))

    n_grids = _counts([c["population"] for c in comms], RESIDENTS_PER_GRID,
                      GRIDS_PER_COMMUNITY)
    grid_pts = area.jitter(rng, np.repeat(comm_pts, n_grids, axis=0),
                           np.repeat(comm_sigma / np.sqrt(n_grids), n_grids))
    grids = []
    for comm, n in zip(comms, n_grids):
        for i, g_pop in enumerate(_split(rng, comm["population"], int(n), Level.GRID)):
            point = grid_pts[len(grids)]
            grids.append(_row(child_code(comm["code"], i + 1), comm["code"], Level.GRID,
                              f"第{i + 1}网格", g_pop, point))
    return towns + comms + grids


def _township_code(county: str, index: int) -> str:
    try:
        return child_code(county, index)
    except ValueError:
        # 东莞 441900 and the like are county rows with a city-shaped code (see
        # region_import); child_code only knows code shapes, the stored level is county.
        return f"{county}{index:03d}"
