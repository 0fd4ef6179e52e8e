"""Region scope: the one argument every data access takes.

A user or a wall is bound to a root region; any code it asks for is checked to lie inside
that root before a query is built, so a forged request can never widen what it sees.
"""
from __future__ import annotations

from dataclasses import dataclass

from dashboard.domain.hierarchy import Level, is_valid_code


class OutOfScope(PermissionError):
    pass


@dataclass(frozen=True)
class RegionScope:
    code: str
    level: Level

    @classmethod
    def of(cls, region) -> "RegionScope":
        """The scope of a region node (anything with `code` and `level`)."""
        return cls(region.code, Level(region.level))

    @property
    def column(self) -> str:
        return self.level.column

    @property
    def child_level(self) -> Level | None:
        return Level(self.level + 1) if self.level < Level.GRID else None


def narrow(root: RegionScope, requested_code: str, tree) -> RegionScope:
    """The scope for `requested_code` if it lies inside `root`; OutOfScope otherwise.

    `tree` is a data_sources.regions.RegionTree (anything with get() and contains()).
    """
    # Anything a browser sent may be here: check its shape before any lookup, so a list
    # or a 100 KiB string is refused as cheaply as an unknown code.
    if not is_valid_code(requested_code):
        raise OutOfScope(f"not a region code: {str(requested_code)[:40]!r}")
    region = tree.get(requested_code)
    if region is None or not tree.contains(root.code, requested_code):
        raise OutOfScope(f"region {requested_code[:40]!r} is outside scope {root.code}")
    return RegionScope.of(region)
