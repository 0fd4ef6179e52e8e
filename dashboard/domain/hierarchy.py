"""The administrative hierarchy: levels and the shape of their codes (DOMAIN.md §2).

Pure functions over strings. The parent of a region is stored in the region table
(some county-level cities sit directly under a province), so code arithmetic here is
only used to validate shapes and to derive lower-level codes the generator makes.
"""
from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    PROVINCE = 0
    CITY = 1
    COUNTY = 2
    TOWNSHIP = 3
    COMMUNITY = 4
    GRID = 5

    @property
    def column(self) -> str:
        """Name of the case-table column holding this level's code."""
        return f"{self.name.lower()}_code"

    def label(self, lang: str) -> str:
        """What the screen calls this level in `lang`."""
        return (LEVEL_EN if lang == "en" else LEVEL_ZH)[self]

    @property
    def code_length(self) -> int:
        return CODE_LENGTH[self]


LEVEL_ZH = {
    Level.PROVINCE: "省",
    Level.CITY: "市",
    Level.COUNTY: "县(市、区)",
    Level.TOWNSHIP: "乡镇(街道)",
    Level.COMMUNITY: "村(社区)",
    Level.GRID: "网格",
}
LEVEL_EN = {level: level.name.lower() for level in Level}
# The suffixes that name a place's kind (南京市, 玄武区, 狮山街道), which short labels drop.
PLACE_SUFFIXES = ("市", "区", "县", "街道", "镇", "乡", "社区", "村")
CODE_LENGTH = {
    Level.PROVINCE: 6, Level.CITY: 6, Level.COUNTY: 6,
    Level.TOWNSHIP: 9, Level.COMMUNITY: 12, Level.GRID: 15,
}
# Case columns, top to bottom; a case row carries the code of every ancestor of its grid.
CODE_COLUMNS = tuple(level.column for level in Level)


def level_of(code: str) -> Level:
    """The level a code's shape implies. Raises ValueError for a malformed code."""
    # ASCII only: str.isdigit() also takes '２' and '²', which int() reads as another code.
    if not isinstance(code, str) or not (code.isascii() and code.isdigit()):
        raise ValueError(f"region code must be digits, got {code!r}")
    n = len(code)
    if n == 6:
        if code.endswith("0000"):
            return Level.PROVINCE
        if code.endswith("00"):
            return Level.CITY
        return Level.COUNTY
    by_length = {9: Level.TOWNSHIP, 12: Level.COMMUNITY, 15: Level.GRID}
    if n in by_length:
        return by_length[n]
    raise ValueError(f"region code {code!r} has {n} digits; expected 6, 9, 12 or 15")


def is_valid_code(code: str) -> bool:
    try:
        level_of(code)
    except ValueError:
        return False
    return True


def ancestor_code(code: str, level: Level) -> str:
    """The code of `code`'s ancestor (or itself) at `level`, read from the code alone:
    320505001001003 at CITY is 320500. Raises ValueError for a malformed code or a level
    below the code's own."""
    own = level_of(code)
    if level > own:
        raise ValueError(f"{code} is a {own.name.lower()}: it has no {level.name.lower()}")
    if level == Level.PROVINCE:
        return code[:2] + "0000"
    if level == Level.CITY:
        return code[:4] + "00"
    return code[:CODE_LENGTH[level]]


def child_code(parent: str, index: int) -> str:
    """Code of the index-th (1-based) generated child of a county, township or community."""
    level = level_of(parent)
    if level == Level.COUNTY:
        return f"{parent}{index:03d}"
    if level in (Level.TOWNSHIP, Level.COMMUNITY):
        return f"{parent}{index:03d}"
    raise ValueError(f"children of a {level.name.lower()} are not generated from its code")
