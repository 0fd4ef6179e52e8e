"""View model of /region/<code>: breadcrumb, children coloured by one KPI (a map where
they have boundaries), their KPI table, the trend, breakdowns and one page of the cases
behind the numbers. Plain data; layouts/region.py draws it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard.cache.page_memo import direct
from dashboard.domain import metrics
from dashboard.domain.case_query import MAX_OFFSET, PAGE_SIZE, CaseQuery
from dashboard.domain.catalog import (
    CATEGORY_EN,
    RATING_EN,
    RESOLUTION_LEVEL_EN,
    SOURCE_EN,
    SUPERVISION_EN,
    SUPERVISION_LEVELS,
    URGENCY_EN,
    in_language,
)
from dashboard.domain.hierarchy import Level
from dashboard.domain.kpis import compute_kpis
from dashboard.domain.personal import mask_address, mask_name, mask_phone
from dashboard.domain.states import state_label
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

TABLE_METRICS = ("intake", "closed", "open", "overdue_open", "closure", "on_time",
                 "satisfaction", "timely_sign")
# The intake breakdowns, each titled `region.breakdown.<dim>`.
BREAKDOWNS = ("category", "source", "resolution_level")
BREAKDOWN_EN = {"category": CATEGORY_EN, "source": SOURCE_EN,
                "resolution_level": RESOLUTION_LEVEL_EN}


def supervision(level: int | None) -> str:
    """The highest card raised on a case ("" for none), as the case list shows it."""
    return SUPERVISION_LEVELS[level - 1] if level and 0 < level <= len(SUPERVISION_LEVELS) else ""


def child_rows(children: dict, names: dict[str, str], lang: str,
               complete: bool = True) -> list[dict]:
    rows = []
    for code, counts in children.items():
        k = compute_kpis(counts)
        row = {"code": code, "name": names.get(code, code)}
        for key in metrics.KEYS:
            row[key], row[key + "_text"] = metrics.shown(k, key, lang, complete)
        rows.append(row)
    return rows


def case_rows(rows: list[dict], tree, tz: str, lang: str) -> list[dict]:
    z = ZoneInfo(tz)
    fmt = lambda t: t.astimezone(z).strftime("%Y-%m-%d %H:%M") if t else ""  # noqa: E731
    out = []
    for r in rows:
        grid = tree.get(r["grid_code"])
        out.append({
            "id": str(r["id"]), "case_no": r["case_no"],
            "grid": grid.name if grid else r["grid_code"],
            "category": f"{in_language(r['category'], CATEGORY_EN, lang)} / "
                        f"{in_language(r['subcategory'], CATEGORY_EN, lang)}",
            "source": in_language(r["source"], SOURCE_EN, lang),
            "urgency": in_language(r["urgency"], URGENCY_EN, lang),
            "state": state_label(r["state"], lang),
            "reported_at": fmt(r["reported_at"]), "closed_at": fmt(r["closed_at"]),
            "deadline": fmt(r["deadline"]),
            "supervision": in_language(supervision(r["supervision_level"]), SUPERVISION_EN, lang),
            "rating": in_language(r["rating"], RATING_EN, lang) if r["rating"] else "",
            # Masked for every role: a list and its export never carry them in clear.
            "reporter_name": mask_name(r.get("reporter_name")) or "",
            "reporter_phone": mask_phone(r.get("reporter_phone")) or "",
            "address": mask_address(r.get("address")) or ""})
    return out


def summary_notice(details_from, lang: str) -> str:
    """What the case list says when its window starts on an aggregate-only day."""
    return t("region.summary_only", lang, day=details_from.isoformat()) if details_from else ""


def map_features(tree, code: str) -> list[dict]:
    """The children's boundaries (province, city and county have them); [] below."""
    return tree.boundary_features(code)["features"]


# The case list's columns, headed `region.col.<key>`; the table and the CSV export show these.
CASE_COLUMNS = ("case_no", "reported_at", "grid", "category", "source", "urgency", "state",
                "deadline", "closed_at", "supervision", "rating", "reporter_name",
                "reporter_phone", "address")


def case_query(state: url_state.PageState, page: int | None = None) -> CaseQuery:
    """The case list the page's filters, sort and page ask for."""
    return CaseQuery(basis=state.basis, filters=tuple(sorted(state.filters.items())),
                     sort=state.sort, page=state.page if page is None else page)


@dataclass(frozen=True)
class MetricRef:
    key: str
    label: str
    kind: str
    higher_is_better: bool | None


@dataclass(frozen=True)
class CaseListPage:
    rows: list[dict]                # case_rows: the grid's rows, in the page's language
    total: int
    capped: bool                    # the count stopped at its cap
    page: int
    pages: int
    page_size: int
    max_offset: int
    notice: str = ""                # the window reaches days with summaries only (no cases)


@dataclass(frozen=True)
class RegionView:
    region: RegionRef
    level: int
    level_label: str
    breadcrumb: list[dict]          # root → region: {code, name}
    period_label: str
    metric: MetricRef               # what the map and bars are coloured by
    summary: list[dict]             # {key, label, display} per TABLE_METRICS
    child_level: int | None
    children: list[dict]            # child_rows: the table's rows
    features: list[dict]            # the children's boundaries; [] below a city
    trend: dict
    breakdowns: dict[str, dict]     # dimension -> {title, counts}
    cases: CaseListPage | None      # None: the viewer may not see case lists
    as_of: dict                     # the time of the oldest figure shown (common.as_of)
    complete: bool = True           # False: days of the window still being filled, its
    #                                 windowed figures "—" (CaseStore.complete)
    filling: str = ""               # what the page says meanwhile (common.filling_note)


def build(cases: CaseStore, tree, settings, code: str, state: url_state.PageState, now: datetime,
          memo=direct, roots: tuple[str, ...] | None = None, with_cases: bool = True) -> RegionView:
    """`roots`: the regions the viewer may see (the installation's root when None);
    `with_cases`: whether the viewer may see the case list (no query for one who may not)."""
    scope = resolve_scope(tree, roots if roots is not None else settings.region, code)
    tz = settings.timezone
    w = url_state.window(state, now, tz)
    region = tree.get(scope.code)
    kids = tree.children(scope.code)
    # `complete`: False while days of the window are still being filled: its windowed
    # figures are not known yet (the counts read none of those days).
    children, total, complete = counts_by_child(cases, tree, scope, w, now, memo)
    metric = metrics.BY_KEY.get(state.metric, metrics.BY_KEY["on_time"])
    k = compute_kpis(total)
    page = cases.case_page(scope, w, now, case_query(state)) if with_cases else None
    # A window still being filled has no breakdowns yet (those days' are not there).
    counts = memo("breakdowns", scope, w, lambda: cases.breakdowns(
        scope, w, tuple(BREAKDOWNS))) if complete else {dim: {} for dim in BREAKDOWNS}
    lang = state.lang
    return RegionView(
        region=RegionRef(region.code, region.name), level=int(region.level),
        level_label=Level(region.level).label(lang),
        breadcrumb=breadcrumb(tree, scope.code),
        period_label=url_state.label(state, w, tz, now),
        metric=MetricRef(metric.key, metric.label(lang), metric.kind, metric.higher_is_better),
        summary=[{"key": key, "label": metrics.BY_KEY[key].label(lang),
                  "display": metrics.shown(k, key, lang, complete)[1]}
                 for key in TABLE_METRICS],
        child_level=None if scope.child_level is None else int(scope.child_level),
        children=child_rows(children, {r.code: r.name for r in kids}, lang, complete),
        features=map_features(tree, scope.code) if scope.level <= Level.CITY else [],
        trend=trend_series(cases, scope, w, now, tz, lang, memo),
        breakdowns={dim: {"title": t(f"region.breakdown.{dim}", lang),
                          "counts": {in_language(k, BREAKDOWN_EN[dim], lang): n
                                     for k, n in counts[dim].items()}}
                    for dim in BREAKDOWNS},
        cases=CaseListPage(case_rows(page.rows, tree, tz, lang), page.total, page.capped,
                           page.page, page.pages, PAGE_SIZE, MAX_OFFSET,
                           notice=summary_notice(page.details_from, lang)) if page else None,
        as_of=as_of(memo, now, tz),
        complete=complete,
        filling=filling_note(cases, complete, "region.filling", lang),
    )

def export_rows(cases: CaseStore, tree, settings, code: str, state: url_state.PageState,
                now: datetime, roots: tuple[str, ...] | None = None
                ) -> tuple[list[tuple[str, str]], list[dict]]:
    """(columns, rows) of the case list's CSV export: the list the page shows, in its
    order, up to the count cap. BadInput for a region outside the roots (the viewer's
    regions; the installation's root when None)."""
    scope = resolve_scope(tree, roots if roots is not None else settings.region, code)
    w = url_state.window(state, now, settings.timezone)
    raw = cases.case_export(scope, w, now, case_query(state))
    table = case_rows(raw, tree, settings.timezone, state.lang)
    for shown, row in zip(table, raw):
        shown["id"] = row["id"]
    cols = [(k, state.t(f"region.col.{k}")) for k in ("id", *CASE_COLUMNS)]
    return cols, table
