"""The simulated territory: counties with their population, their city's profile and
their grids, flattened into arrays so a day's arrivals are drawn in a few numpy calls.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dashboard.domain.hierarchy import Level
from simulator.calibration import CityProfile, city_profile


@dataclass
class County:
    code: str
    city_code: str
    population: int
    profile: CityProfile
    grids: tuple[str, ...]
    _tree: object = None
    _codes: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def tree(self):
        """The region tree the county's grids come from (names and points of a case's
        place: simulator/personal.py)."""
        return self._tree

    def codes_for(self, index: int) -> dict:
        """The six code columns of the index-th grid (resolved on its first pick, then kept:
        a backfill picks each grid many times). Shared between calls: do not mutate it."""
        codes = self._codes.get(index)
        if codes is None:
            codes = self._codes[index] = self._tree.case_codes_for_grid(self.grids[index])
        return codes


@dataclass
class World:
    counties: list[County]

    @property
    def populations(self) -> np.ndarray:
        return np.array([c.population for c in self.counties], dtype=float)

    @property
    def intake_rates(self) -> np.ndarray:
        """Expected cases per county per day at scale 1 on a weekday."""
        return np.array([c.population / 1000 * c.profile.intake_per_1000
                         for c in self.counties])

    @classmethod
    def from_tree(cls, tree, root_code: str, seed: int = 0) -> "World":
        counties: list[County] = []
        for county in _counties_under(tree, root_code):
            ancestors = tree.ancestors(county.code)
            city = next((a for a in ancestors if a.level == Level.CITY), county)
            grids = tuple(tree.grids_under(county.code))
            if not grids:
                continue
            counties.append(County(county.code, city.code, int(county.population),
                                   city_profile(city.code, seed), grids, tree))
        if not counties:
            raise ValueError(f"region {root_code} has no grids: run `gridwatch regions import`")
        return cls(counties)


def _counties_under(tree, code: str):
    region = tree.get(code)
    if region is None:
        raise ValueError(f"unknown region {code}")
    if region.level == Level.COUNTY:
        return [region]
    if region.level > Level.COUNTY:
        raise ValueError("the simulator runs a county or a larger region")
    out = []
    for child in tree.children(code):
        out.extend(_counties_under(tree, child.code))
    return out
