"""Simulation parameters calibrated on DOMAIN.md §4–§7. Everything here is (model).

Each city gets a stable performance profile from its code and the seed, so that the same
cities lead and trail run after run and rankings mean something.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dashboard.domain.catalog import CATEGORIES, CATEGORY_WEIGHTS, SOURCES, URGENCIES

# Intake per 1,000 residents per day (DOMAIN.md §7: 0.6–1.5).
BASE_INTAKE_PER_1000 = 1.0
WEEKEND_FACTOR = 0.75
# Hourly shape: peaks 09–11 and 14–17, night floor ≈15% of peak.
HOURLY_PROFILE = np.array([
    0.15, 0.15, 0.15, 0.15, 0.15, 0.18, 0.30, 0.55, 0.85, 1.00, 1.00, 0.90,
    0.60, 0.70, 0.95, 1.00, 1.00, 0.90, 0.65, 0.50, 0.40, 0.30, 0.22, 0.17])
HOURLY_SHARE = HOURLY_PROFILE / HOURLY_PROFILE.sum()

# Levels a registered case is dispatched to, bottom to top. Combined with the self-resolved
# share this gives DOMAIN.md §4's resolution shares (grid 55–70%, community 15–25% ...).
DISPATCH_LEVEL_WEIGHTS = np.array([0.40, 0.31, 0.19, 0.09, 0.01])
SELF_RESOLVE_BY_SOURCE = {"网格员巡查上报": 0.62, "视频AI/物联感知": 0.25}
SELF_RESOLVE_OTHER = 0.12
REJECT_SHARE = 0.02
CALLBACK_MEDIAN_MINUTES = 180  # 回访 a few hours after closure (most within the day)
CALLBACK_SIGMA = 0.8           # of the log of that delay
ESCALATE_SHARE = 0.03
SUSPEND_SHARE = 0.01
REWORK_SHARE = 0.03
EXTEND_SHARE = 0.30            # of cases about to miss their deadline
REOPEN_SHARE = 0.25            # of 不满意 ratings


def _unit(code: str, salt: str, seed: int) -> float:
    """A stable number in [0, 1) from a region code (never Python's salted hash())."""
    return (zlib.crc32(f"{seed}:{salt}:{code}".encode()) & 0xFFFFFFFF) / 2**32


@dataclass(frozen=True)
class CityProfile:
    """A city's parameters; the derived ones are worked out once per city (the planner
    reads several for every case)."""
    code: str
    quality: float            # −1 (struggling) … +1 (exemplary)
    intake_per_1000: float

    @cached_property
    def satisfaction(self) -> float:
        return 0.970 + 0.016 * self.quality          # ≈ 95.4% … 98.6%

    @cached_property
    def callback_share(self) -> float:
        # 回访率: leaders are held to ≥90%; well-run cities call back almost every case.
        return 0.935 + 0.035 * self.quality         # ≈ 90.0% … 97.0%

    @cached_property
    def fast_share(self) -> float:
        return 0.42 + 0.07 * self.quality           # handled the same day

    @cached_property
    def slow_median_workdays(self) -> float:
        return 2.0 * (1 - 0.18 * self.quality)

    @cached_property
    def slow_sigma(self) -> float:
        return 0.90 - 0.10 * self.quality

    @cached_property
    def return_share(self) -> float:
        return 0.015 - 0.008 * self.quality

    @cached_property
    def sign_median_minutes(self) -> float:
        return 40 * (1 - 0.35 * self.quality)


def city_profile(code: str, seed: int = 0) -> CityProfile:
    quality = 2 * _unit(code, "quality", seed) - 1
    intake = BASE_INTAKE_PER_1000 * (0.75 + 0.5 * _unit(code, "intake", seed))
    return CityProfile(code, quality, intake)


class Vocab:
    """Categorical draws as index arrays, so a batch of cases draws in one numpy call."""

    def __init__(self):
        self.categories = list(CATEGORY_WEIGHTS)
        w = np.array([CATEGORY_WEIGHTS[k] for k in self.categories])
        self.category_p = w / w.sum()
        self.sources = list(SOURCES)
        w = np.array(list(SOURCES.values()))
        self.source_p = w / w.sum()
        self.urgencies = list(URGENCIES)
        w = np.array(list(URGENCIES.values()))
        self.urgency_p = w / w.sum()
        self.subcategories = {k: CATEGORIES[k] for k in self.categories}

    def draw(self, rng: np.random.Generator, n: int) -> list[tuple[str, str, str, str]]:
        cats = rng.choice(len(self.categories), size=n, p=self.category_p)
        srcs = rng.choice(len(self.sources), size=n, p=self.source_p)
        urgs = rng.choice(len(self.urgencies), size=n, p=self.urgency_p)
        subs = rng.random(n)
        out = []
        for ci, si, ui, su in zip(cats, srcs, urgs, subs):
            cat = self.categories[ci]
            options = self.subcategories[cat]
            out.append((cat, options[int(su * len(options))], self.sources[si],
                        self.urgencies[ui]))
        return out
