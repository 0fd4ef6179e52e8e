"""The composite score and ranking (DOMAIN.md §6), on plain counts."""
from dataclasses import replace

import pytest

from dashboard.domain.kpis import KpiCounts, compute_kpis
from dashboard.domain.ranking import (
    ScoreWeights,
    board_size,
    competition_ranks,
    rank_children,
    score,
)


def counts(on_time=90, sat=97, n=1000, closure=95, sign=99, overdue=5, reopen=1, cards=(0, 0)):
    """Counts with the given percentages over n cases."""
    return KpiCounts(intake=n, closed=closure * n // 100, due=n,
                     closed_on_time=on_time * n // 100, dispatches=n, signs_due=n,
                     signed_in_time=sign * n // 100, rated=n, satisfied=sat * n // 100,
                     open=n, overdue_open=overdue * n // 100, reopened=reopen * n // 100,
                     yellow_cards=cards[0], red_cards=cards[1])


def test_perfect_region_scores_the_full_weights():
    s = score(counts(on_time=100, sat=100, closure=100, sign=100, overdue=0, reopen=0))
    assert s.total == 100.0
    assert s.card_penalty == 0


def test_sub_scores_follow_the_documented_curves():
    s = score(counts(on_time=90, sat=97, closure=95, sign=99, overdue=5, reopen=1))
    assert s.sub("on_time").points == pytest.approx((90 - 75) * 30 / 25)     # 18
    assert s.sub("satisfaction").points == pytest.approx(30 - 0.6 * (98 - 97))  # 29.4
    assert s.sub("closure").points == pytest.approx(15 * 0.95)
    assert s.sub("timely_sign").points == pytest.approx(10 * 0.99)
    assert s.sub("not_overdue").points == pytest.approx(10 * 0.95)
    assert s.sub("not_reopened").points == pytest.approx(5 * 0.99)
    assert s.total == pytest.approx(18 + 29.4 + 14.25 + 9.9 + 9.5 + 4.95)


def test_satisfaction_has_a_floor_and_on_time_below_75_scores_nothing():
    s = score(counts(on_time=70, sat=50))
    assert s.sub("on_time").points == 0
    assert s.sub("satisfaction").points == 15


def test_ties_share_a_rank():
    assert competition_ranks({"a": 90, "b": 95, "c": 90, "d": 80}) == {
        "b": 1, "a": 2, "c": 2, "d": 4}


def test_thin_samples_are_flagged_and_scored_at_the_parents_rate():
    parent = counts(sat=96)
    thin = KpiCounts(intake=10, closed=10, due=10, closed_on_time=10, rated=10, satisfied=10,
                     dispatches=10, signed_in_time=10, signs_due=10)
    s = score(thin, fallback=compute_kpis(parent))
    assert s.sub("satisfaction").thin
    assert s.sub("satisfaction").points == pytest.approx(30 - 0.6 * 2)  # parent's 96%
    assert not s.ranked  # every rate thin: not ranked on noise


def test_rank_children_orders_marks_boards_and_rank_change():
    kids = {f"32{i:02d}00": counts(on_time=80 + i, sat=95) for i in range(1, 13)}
    kids["321300"] = KpiCounts(intake=5, rated=3, satisfied=3)  # too few cases
    prev = {code: counts(on_time=95 - i, sat=95) for i, code in enumerate(sorted(kids))}
    ranked = rank_children(kids, sum(kids.values(), KpiCounts()), previous=prev)
    assert [r.code for r in ranked[:3]] == ["321200", "321100", "321000"]
    assert [r.rank for r in ranked[:12]] == list(range(1, 13))
    assert ranked[-1].code == "321300" and ranked[-1].rank is None
    # 12 ranked: a third is 4 on each board, the middle four on neither.
    assert [r.board for r in ranked[:4]] == ["red"] * 4
    assert [r.board for r in ranked[8:12]] == ["black"] * 4
    assert [r.board for r in ranked[4:8]] == [None] * 4
    # 321200 was 12th of 13 before (scores descend with i) and is 1st now.
    assert ranked[0].previous_rank == 12 and ranked[0].rank_change == 11
    assert ranked[-1].rank_change is None


def test_board_never_overlaps_and_takes_at_most_a_third():
    assert board_size(15) == 5 and board_size(13) == 4 and board_size(6) == 2
    assert board_size(4) == 1 and board_size(2) == 0
    # 6 ranked districts: the 4th is on no board (it was on the 黑榜 with boards of 3).
    six = {f"3205{i:02d}": counts(on_time=95 - 2 * i) for i in range(6)}
    ranked = rank_children(six, sum(six.values(), KpiCounts()))
    assert [r.board for r in ranked] == ["red", "red", None, None, "black", "black"]


def test_weights_from_configuration():
    w = ScoreWeights.from_json('{"on_time": 40, "min_sample": 50}')
    assert w.on_time == 40 and w.min_sample == 50 and w.total == 110
    with pytest.raises(ValueError, match="unknown score weight 'speed'"):
        ScoreWeights.from_json('{"speed": 1}')
    with pytest.raises(ValueError, match="must be a number"):
        ScoreWeights.from_json('{"on_time": "x"}')
    with pytest.raises(ValueError, match="not valid JSON"):
        ScoreWeights.from_json("{on_time: 1}")
    heavy = score(counts(on_time=100), w).sub("on_time")
    assert heavy.max_points == 40 and heavy.points == 40


def test_settings_reject_bad_weights_at_start():
    from dashboard.app.settings import Settings
    with pytest.raises(ValueError, match="unknown score weight"):
        Settings.from_env({"GRIDWATCH_SCORE_WEIGHTS": '{"nope": 1}'})
    s = Settings.from_env({"GRIDWATCH_SCORE_WEIGHTS": '{"closure": 20}'})
    assert s.weights.closure == 20


def test_previous_ranking_ignores_todays_open_cases():
    """The previous period is ranked on what was settled in it: the cases open today (and
    their cards) say nothing about how it ended."""
    now = {"A": counts(on_time=90), "B": counts(on_time=90)}
    before = {"A": counts(on_time=90, overdue=40, cards=(500, 200)), "B": counts(on_time=90)}
    ranked = {r.code: r for r in rank_children(now, sum(now.values(), KpiCounts()),
                                               previous=before)}
    assert ranked["A"].previous_rank == ranked["B"].previous_rank == 1
    # What was settled in the period still counts.
    before["A"] = counts(on_time=80)
    ranked = {r.code: r for r in rank_children(now, sum(now.values(), KpiCounts()),
                                               previous=before)}
    assert (ranked["A"].previous_rank, ranked["B"].previous_rank) == (2, 1)
    assert ranked["A"].rank_change == 1 and ranked["B"].rank_change == 0


def issued(n=1000, yellow=0, red=0, **kw):
    return replace(counts(n=n, **kw), yellow_issued=yellow, red_issued=red)


def test_card_penalty_grows_with_the_rate_of_cards_issued_over_cases_due():
    # DOMAIN.md §6: 10 × min(1, (黄牌 + 2 × 红牌 issued in the window) ÷ (0.20 × due)).
    assert score(issued()).card_penalty == 0
    assert score(issued(yellow=10, red=5)).card_penalty == pytest.approx(10 * 20 / 200)  # 1.0
    assert score(issued(yellow=60, red=20)).card_penalty == pytest.approx(10 * 100 / 200)  # 5
    assert score(issued(yellow=150, red=50)).card_penalty == 10                # capped
    base = score(issued()).total
    assert score(issued(yellow=60, red=20)).total == pytest.approx(base - 5)
    # The open cases flagged now are the KPI strip's, not the penalty's.
    assert score(counts(cards=(500, 500))).card_penalty == 0


def test_card_penalty_weights_are_configurable():
    w = ScoreWeights.from_json('{"card_rate_full": 0.1, "red_card": 3, "max_card_penalty": 8}')
    assert score(issued(yellow=10, red=5), w).card_penalty == pytest.approx(8 * 25 / 100)


def test_card_penalty_separates_regions_by_their_card_rate():
    kids = {"a": issued(yellow=10, red=2), "b": issued(yellow=40, red=10),
            "c": issued(yellow=80, red=40)}
    ranked = {r.code: r for r in rank_children(kids, sum(kids.values(), KpiCounts()))}
    assert [ranked[c].score.card_penalty for c in "abc"] == [0.7, 3.0, 8.0]
    assert [ranked[c].rank for c in "abc"] == [1, 2, 3]
