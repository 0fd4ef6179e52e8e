"""View model of /kpi: the scope's KPIs against target, the previous period and the same
period last year, the trend, and the ranking of its children (DOMAIN.md §5, §6).

`kpi_rows` and `ranking_rows` are pure functions over counts; `build` fetches the counts
and calls them. The CSV / Excel export writes `ranking_rows`, so the file holds exactly
what the table shows.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dashboard.cache.page_memo import direct
from dashboard.domain import metrics
from dashboard.domain.kpis import KpiCounts, compute_kpis
from dashboard.domain.ranking import SUB_SCORES, Ranked, ScoreWeights, rank_children
from dashboard.domain.stores import CaseStore
from dashboard.domain.text import t
from dashboard.views import url_state
from dashboard.views.common import (
    RegionRef,
    as_of,
    breadcrumb,
    counts_by_child,
    filling_note,
    resolve_scope,
    trend_series,
)


def _has_data(c: KpiCounts) -> bool:
    return c.intake > 0 or c.closed > 0


def kpi_rows(current: KpiCounts, previous: KpiCounts, last_year: KpiCounts,
             lang: str, satisfaction_target: float, complete: bool = True) -> list[dict]:
    """`complete`: False while days of the current period are still being filled
    (CaseStore.complete): its windowed figures are not known yet and show "—"."""
    now_k, prev_k, ly_k = compute_kpis(current), compute_kpis(previous), compute_kpis(last_year)
    table = metrics.with_targets(satisfaction_target)
    no = metrics.UNKNOWN
    rows = []
    for key, m in table.items():
        v, shown = metrics.shown(now_k, key, lang, complete)
        pv = metrics.value(prev_k, key) if _has_data(previous) and not m.now_only else None
        lv = metrics.value(ly_k, key) if _has_data(last_year) and not m.now_only else None
        target = no if m.target is None else (f"≥{m.target:g}%" if m.higher_is_better
                                              else f"≤{m.target:g}%")
        den = metrics.denominator(now_k, key) if metrics.known(key, complete) else None
        rows.append({
            "key": key, "label": m.label(lang), "value": v,
            "display": shown,
            "denominator": den, "target": target, "met": metrics.meets_target(m, v),
            "previous": metrics.display(prev_k, key, lang) if pv is not None else no,
            "last_year": metrics.display(ly_k, key, lang) if lv is not None else no,
            "trend": metrics.trend(m, v, pv),
        })
    return rows


POINTS = {name: name + "_pts" for name in SUB_SCORES}  # a sub-score's column, beside its rate
RANKING_COLUMNS = ("rank", "change", "name", "code", "score", *POINTS.values(), "card_penalty",
                   "board", "thin", "on_time", "satisfaction", "rated", "closure",
                   "intake", "intake_per_10k")
RATE_COLUMNS = ("on_time", "satisfaction", "closure")  # sub-scores whose rate has a column


def ranking_headers(lang: str) -> dict[str, str]:
    """Each ranking column's heading (`kpi.head.<column>`; a sub-score's, `kpi.head.points`)."""
    points = {col: t("kpi.head.points", lang, name=sub_score_name(name, lang))
              for name, col in POINTS.items()}
    return {col: points.get(col) or t(f"kpi.head.{col}", lang) for col in RANKING_COLUMNS}


def sub_score_name(name: str, lang: str) -> str:
    """A sub-score's name (ranking.SUB_SCORES) in `lang`."""
    zh, en = SUB_SCORES[name]
    return en if lang == "en" else zh


def change_text(r: Ranked, lang: str, compared: bool = True) -> str:
    if r.rank is None or not compared:
        return "—"
    if r.previous_rank is None:
        return t("kpi.change.new", lang)
    d = r.rank_change
    return "→0" if d == 0 else (f"↑{d}" if d > 0 else f"↓{-d}")


def ranking_rows(ranked: list[Ranked], names: dict[str, str], populations: dict[str, int],
                 lang: str, compared: bool = True) -> list[dict]:
    """`compared`: False when there was no previous period to rank (no "new" everywhere)."""
    unranked = t("kpi.unranked", lang)
    board = {b: t(f"kpi.board.{b}", lang) for b in ("red", "black")}
    rows = []
    for r in ranked:
        k = r.kpis
        pop = populations.get(r.code) or 0
        row = {"rank": r.rank if r.rank is not None else unranked, "change": change_text(r, lang, compared),
               # An unranked child (every sub-rate too thin) has no score: its points (and
               # card penalty) would be the parent's rates, and read as a place in the ranking.
               "name": names.get(r.code, r.code), "code": r.code,
               "score": r.score.total if r.rank is not None else None,
               "card_penalty": r.score.card_penalty if r.rank is not None else None, "board": board.get(r.board, ""),
               "thin": t("kpi.thin_sep", lang).join(sub_score_name(s.name, lang)
                                                     for s in r.score.subs if s.thin),
               "on_time": k.on_time.display(lang), "satisfaction": k.satisfaction.display(lang),
               "rated": k.rated, "closure": k.closure.display(lang), "intake": k.intake,
               "intake_per_10k": round(k.intake * 10_000 / pop, 2) if pop else None}
        # The columns drawn as thin (greyed): a thin sub-score's points and, where the table
        # shows it, its rate (a 100.00% 按期 from 12 due cases is not a 100% worth ranking).
        row["thin_marks"] = {}
        for s in r.score.subs:
            row[POINTS[s.name]] = s.points if r.rank is not None else None
            if s.thin:
                row["thin_marks"].update({POINTS[s.name]: True,
                                          **({s.name: True} if s.name in RATE_COLUMNS else {})})
        rows.append(row)
    return rows


@dataclass(frozen=True)
class KpiView:
    region: RegionRef
    breadcrumb: list[dict]          # root → region: {code, name}
    period_label: str
    previous_label: str
    last_year_label: str
    kpis: list[dict]                # kpi_rows: one row per metric
    trend: dict                     # common.trend_series
    ranking: list[dict]             # ranking_rows: the table and its export, row for row
    child_level: int | None         # None: a grid has no children to rank
    weights: dict[str, float]       # sub-score -> points
    card_rule: dict[str, float]     # yellow, red (weights), full (% of due), cap (points)
    min_sample: int
    as_of: dict                     # the time of the oldest figure shown (common.as_of)
    complete: bool = True           # False: days of the period still being filled, no
    #                                 figures or ranking yet (CaseStore.complete)
    filling: str = ""               # what the page says meanwhile (common.filling_note)
    # The period is complete, but its 上期 or 去年同期 still has days being filled: those
    # columns show "—" (never the filled part's figures) and the page says why.
    compare_filling: str = ""


def build(cases: CaseStore, tree, settings, state: url_state.PageState, now: datetime,
          memo=direct, roots: tuple[str, ...] | None = None) -> KpiView:
    """`roots`: the regions the viewer may see (their account's; the first is where the
    page opens), the installation's root when None (warm-ups, benchmarks)."""
    roots = roots if roots is not None else (settings.region,)
    code = state.region or (roots[0] if roots else settings.region)
    scope = resolve_scope(tree, roots, code)
    tz = settings.timezone
    w = url_state.window(state, now, tz)
    prev_w = url_state.previous_window(w, state, now, tz)
    ly_w = url_state.last_year_window(w, now)
    # `complete`: False while days of the period are still being filled (aggregate-only
    # history): no figures yet. It comes with the counts, from the same computation.
    children, total, complete = counts_by_child(cases, tree, scope, w, now, memo)
    # Past periods: their open-now figures are neither shown (metrics' now_only) nor ranked.
    prev_children, prev_total, prev_complete = counts_by_child(
        cases, tree, scope, prev_w, prev_w.end, memo, settled=True)
    _, ly_total, ly_complete = counts_by_child(cases, tree, scope, ly_w, ly_w.end, memo,
                                               settled=True)
    weights: ScoreWeights = settings.weights
    # Without cases in the previous period there is no previous ranking to compare with
    # (its open-now counts alone would rank the children on noise).
    previous = prev_children if _has_data(prev_total) else None
    ranked = rank_children(children, total, weights, previous=previous) \
        if children and complete else []
    region = tree.get(scope.code)
    kids = tree.children(scope.code)
    return KpiView(
        region=RegionRef(region.code, region.name),
        breadcrumb=breadcrumb(tree, scope.code),
        period_label=url_state.label(state, w, tz, now),
        previous_label=url_state.span(prev_w, tz),
        last_year_label=url_state.span(ly_w, tz),
        kpis=kpi_rows(total, prev_total, ly_total, state.lang, settings.satisfaction_target,
                      complete),
        trend=trend_series(cases, scope, w, now, tz, state.lang, memo),
        ranking=ranking_rows(ranked, {r.code: r.name for r in kids},
                             {r.code: r.population for r in kids}, state.lang,
                             compared=previous is not None),
        child_level=None if scope.child_level is None else int(scope.child_level),
        weights={name: getattr(weights, name) for name in SUB_SCORES},
        card_rule={"yellow": weights.yellow_card, "red": weights.red_card,
                   "full": weights.card_rate_full * 100, "cap": weights.max_card_penalty},
        min_sample=weights.min_sample,
        as_of=as_of(memo, now, tz),
        complete=complete,
        filling=filling_note(cases, complete, "kpi.filling", state.lang),
        compare_filling=filling_note(cases, not complete or (prev_complete and ly_complete),
                                     "kpi.filling_compare", state.lang),
    )
