"""The composite score and the ranking of a region's children (DOMAIN.md §6).

Pure functions over KpiCounts. The wall, /kpi and /region all rank with `rank_children`,
so a city is in the same place on every screen.

Model choices (DOMAIN.md marks the default composite as a model):
- 重复投诉率 is not in the data contract; the 重办率 (reopened ÷ closed) stands in for it,
  since a reopened case is the complaint coming back.
- The card penalty grows with the rate of cards issued in the window over the cases due
  in it (DOMAIN.md §6): `max_card_penalty × min(1, (黄牌 + 2 × 红牌) ÷ (card_rate_full ×
  due))`. Cards are those *issued* in the window, not the open cases flagged now: the
  old count (open 黄牌/红牌 per 10k of caseload) sat at its cap for every city.
- A sub-rate whose denominator is below `min_sample` is not scored on noise: it takes the
  parent region's rate (so it neither lifts nor sinks the child) and is flagged. A child
  where every scored rate is short of samples is not ranked at all (未排名).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace

from dashboard.domain.kpis import KpiCounts, Kpis, Rate, compute_kpis, without_open

# name -> (中文, English)
SUB_SCORES = {
    "timely_sign": ("及时签收率", "Timely sign-off"),
    "on_time": ("按期办结率", "On-time closure"),
    "satisfaction": ("满意率", "Satisfaction"),
    "closure": ("办结率", "Closure rate"),
    "not_overdue": ("非超期占比", "Open not overdue"),
    "not_reopened": ("非重办率", "Not reopened"),
}


@dataclass(frozen=True)
class ScoreWeights:
    """Points of each sub-score (they sum to 100 by default) and the card penalties."""
    timely_sign: float = 10
    on_time: float = 30
    satisfaction: float = 30
    closure: float = 15
    not_overdue: float = 10
    not_reopened: float = 5
    yellow_card: float = 1.0   # a 黄牌 issued in the window counts once
    red_card: float = 2.0      # a 红牌 twice
    card_rate_full: float = 0.20  # weighted cards per due case at which the penalty is full
    max_card_penalty: float = 10.0
    min_sample: int = 30       # a rate over fewer cases than this is not ranked on
    # Shape of the two curved sub-scores (percent): 按期 scores from 75% up, 满意 loses
    # 0.6 points per point below 98% with a floor of half its weight.
    on_time_floor: float = 75.0
    satisfaction_target: float = 98.0
    satisfaction_slope: float = 0.6

    @property
    def total(self) -> float:
        return sum(getattr(self, n) for n in SUB_SCORES)

    @classmethod
    def from_json(cls, text: str | None) -> "ScoreWeights":
        """Weights from configuration (GRIDWATCH_SCORE_WEIGHTS), e.g. '{"on_time": 40}'.

        Unknown names or non-numbers raise ValueError naming the offender.
        """
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"score weights are not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("score weights must be a JSON object")
        known = {f.name: f.type for f in fields(cls)}
        changes = {}
        for key, value in data.items():
            if key not in known:
                raise ValueError(f"unknown score weight {key!r}; known: {', '.join(known)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"score weight {key!r} must be a number >= 0, got {value!r}")
            changes[key] = int(value) if key == "min_sample" else float(value)
        return replace(cls(), **changes)


@dataclass(frozen=True)
class SubScore:
    name: str
    points: float
    max_points: float
    rate: Rate
    thin: bool  # denominator below min_sample: scored at the parent's rate


@dataclass(frozen=True)
class Score:
    total: float
    subs: tuple[SubScore, ...]
    card_penalty: float
    ranked: bool  # False when every scored rate is short of samples

    def sub(self, name: str) -> SubScore:
        return next(s for s in self.subs if s.name == name)


@dataclass(frozen=True)
class Ranked:
    code: str
    score: Score
    kpis: Kpis
    rank: int | None            # None: 未排名 (too few cases)
    previous_rank: int | None = None
    board: str | None = None    # "red" (红榜, best) / "black" (黑榜, worst) / None

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (+2 = up two), None if not comparable."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


def _sub_rates(k: Kpis) -> dict[str, Rate]:
    open_now = k.open
    return {
        "timely_sign": k.timely_sign,
        "on_time": k.on_time,
        "satisfaction": k.satisfaction,
        "closure": k.closure,
        "not_overdue": Rate(open_now - k.overdue_open, open_now),
        "not_reopened": Rate(k.reopen.denominator - k.reopen.numerator, k.reopen.denominator),
    }


def _points(name: str, fraction: float, w: ScoreWeights) -> float:
    weight = getattr(w, name)
    pct = fraction * 100
    if name == "on_time":
        span = 100 - w.on_time_floor
        return min(weight, max(0.0, pct - w.on_time_floor) * weight / span) if span > 0 else 0.0
    if name == "satisfaction":
        return min(weight, max(weight / 2, weight - w.satisfaction_slope * (w.satisfaction_target - pct)))
    return weight * fraction


def score(counts: KpiCounts, weights: ScoreWeights = ScoreWeights(),
          fallback: Kpis | None = None) -> Score:
    """The composite score of one region; `fallback` (the parent's KPIs) stands in for
    rates with too few cases. Without a fallback a thin rate scores half its weight."""
    k = compute_kpis(counts)
    rates = _sub_rates(k)
    parent = _sub_rates(fallback) if fallback is not None else {}
    subs, any_thick = [], False
    for name in SUB_SCORES:
        r = rates[name]
        thin = r.denominator < weights.min_sample
        any_thick |= not thin and getattr(weights, name) > 0
        if thin:
            p = parent.get(name)
            pts = (_points(name, p.value, weights) if p is not None and p.has_data
                   else getattr(weights, name) / 2)
        else:
            pts = _points(name, r.value, weights)
        subs.append(SubScore(name, round(pts, 2), getattr(weights, name), r, thin))
    penalty = round(card_penalty(counts, weights), 2)
    total = round(sum(s.points for s in subs) - penalty, 2)
    return Score(total, tuple(subs), penalty, any_thick)


def card_penalty(counts: KpiCounts, weights: ScoreWeights = ScoreWeights()) -> float:
    """`max × min(1, (黄牌 + 2 × 红牌 issued in the window) ÷ (0.20 × cases due in it))`
    (DOMAIN.md §6), with the weights of `weights`. Cards with nothing due are the full
    penalty (the rate is unbounded); no cards, none."""
    cards = weights.yellow_card * counts.yellow_issued + weights.red_card * counts.red_issued
    if cards <= 0:
        return 0.0
    full = weights.card_rate_full * counts.due
    share = 1.0 if full <= 0 else min(1.0, cards / full)
    return weights.max_card_penalty * share


def competition_ranks(scores: dict[str, float]) -> dict[str, int]:
    """1-2-2-4 ranking, highest first: equal scores share a rank (同分不分先后)."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    ranks, prev, prev_rank = {}, None, 0
    for i, (code, s) in enumerate(ordered, start=1):
        if s != prev:
            prev_rank, prev = i, s
        ranks[code] = prev_rank
    return ranks


def board_size(n_ranked: int) -> int:
    """Size of the 红榜 and of the 黑榜: 5 each (榆林), never more than a third of the
    ranked children each (DOMAIN.md §6), so the middle of a short list is on neither:
    of 6 ranked districts, the 3rd and 4th are on no board."""
    return min(5, n_ranked // 3)


def rank_children(children: dict[str, KpiCounts], parent: KpiCounts,
                  weights: ScoreWeights = ScoreWeights(),
                  previous: dict[str, KpiCounts] | None = None) -> list[Ranked]:
    """Children ranked by composite score, best first; unranked ones last by code.

    `previous` holds the same children's counts for the previous period; its ranking
    (on what was settled in it: see `settled`) gives each child's rank change.
    """
    parent_kpis = compute_kpis(parent)
    scored = {code: score(c, weights, parent_kpis) for code, c in children.items()}
    ranks = competition_ranks({c: s.total for c, s in scored.items() if s.ranked})
    prev_ranks: dict[str, int] = {}
    if previous:
        previous = {code: without_open(k) for code, k in previous.items()}
        prev_parent = KpiCounts.total(previous.values())
        prev_kpis = compute_kpis(prev_parent)
        prev_scores = {c: score(k, weights, prev_kpis) for c, k in previous.items()}
        prev_ranks = competition_ranks({c: s.total for c, s in prev_scores.items() if s.ranked})
    n = board_size(len(ranks))
    ordered_ranked = sorted(ranks, key=lambda c: (ranks[c], c))
    red = set(ordered_ranked[:n])
    black = set(ordered_ranked[len(ordered_ranked) - n:]) if n else set()
    out = []
    for code in ordered_ranked + sorted(c for c in scored if c not in ranks):
        out.append(Ranked(code=code, score=scored[code], kpis=compute_kpis(children[code]),
                          rank=ranks.get(code), previous_rank=prev_ranks.get(code),
                          board="red" if code in red else "black" if code in black else None))
    return out
