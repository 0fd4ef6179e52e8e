"""What the /kpi and /region view models share: turning a requested code into a scope
(with a message a user can read when it cannot be), the trend series, and counts per
child with the children that had no cases filled in."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from dashboard.cache.page_memo import direct
from dashboard.domain.hierarchy import is_valid_code
from dashboard.domain.kpis import KpiCounts
from dashboard.domain.periods import Window
from dashboard.domain.scope import OutOfScope, RegionScope, narrow
from dashboard.domain.stores import CaseStore
from dashboard.domain.text import t
from dashboard.views.url_state import BadInput


@dataclass(frozen=True)
class RegionRef:
    code: str
    name: str


def resolve_scope(tree, roots: str | Sequence[str], code: str) -> RegionScope:
    """The scope of `code` when it lies in (or below) one of `roots`: the installation's
    root, or the regions the viewer's account is bound to. A region outside them reads
    exactly as one that does not exist (no hint that it does)."""
    roots = (roots,) if isinstance(roots, str) else tuple(roots)
    if not is_valid_code(code):
        shown = str(code)[:40]
        raise BadInput("bad-region", shown=shown)
    known = [r for r in (tree.get(c) for c in roots) if r is not None]
    for root in known:
        try:
            return narrow(RegionScope.of(root), code, tree)
        except OutOfScope:
            continue
    home = known[0] if known else None
    raise BadInput("unknown-region", code=code, root_name=home.name if home else "—",
                   root_code=home.code if home else "—")


def as_of(memo, now: datetime, tz: str) -> dict:
    """When the page's figures were computed: the oldest shared aggregate it shows, or
    `now` when all were computed for this page."""
    at = getattr(memo, "as_of", None)
    zone = ZoneInfo(tz)
    when = datetime.fromtimestamp(at, zone) if at is not None else now.astimezone(zone)
    return {"text": when.strftime("%H:%M:%S"), "iso": when.isoformat()}


def breadcrumb(tree, code: str) -> list[dict]:
    return [{"code": r.code, "name": r.name, "level": int(r.level)} for r in tree.ancestors(code)]


class ChildCounts(NamedTuple):
    children: dict[str, KpiCounts]
    total: KpiCounts
    complete: bool      # CaseStore.complete(window) read just before the counts


def counts_by_child(cases: CaseStore, tree, scope: RegionScope, window: Window, now: datetime,
                    memo=direct, settled: bool = False) -> ChildCounts:
    """(children's counts, the scope's own, whether the window's days were all there) from
    one grouped aggregation: every case of the scope carries its child's code, so the
    children sum to the parent. The completeness is shared with the counts it was read
    for: a page shown from a copy counted while days were still being filled must say so,
    not show that copy's zeros as figures once the filling has ended. `settled`: a past
    period's, without open-now figures (CaseStore.kpi_counts_by), which /kpi neither shows
    nor ranks for 上期 and 去年同期: not counting them spares a scan of the open cases
    each (~50 ms at a province of 10M, docs/benchmarks.md)."""
    # Open-now counts depend on `now`: a past period read as of its end (the previous
    # period of /kpi) and the same period read as of now (/kpi?period=last_month) differ.
    at = ("end" if now == window.end else "now") + ("-settled" if settled else "")
    # Read before the counts: a filling that ends between the two leaves it False. The
    # names differ from the entries that held the counts alone, which a shared cache may
    # still hold for a few minutes after an upgrade.
    if scope.child_level is None:
        complete, total = memo(f"known-counts@{at}", scope, window, lambda: (
            cases.complete(window), cases.kpi_counts(scope, window, now, settled=settled)))
        return ChildCounts({}, total, complete)
    complete, by = memo(f"known-counts-by-child@{at}", scope, window, lambda: (
        cases.complete(window),
        cases.kpi_counts_by(scope, window, now, by_child=True, settled=settled)))
    children = {code: by.get(code, KpiCounts()) for code in tree.child_codes(scope.code)}
    # Cases filed under a code the tree no longer lists still count for the parent.
    total = KpiCounts.total(by.values())
    return ChildCounts(children, total, complete)


def filling_note(cases: CaseStore, complete: bool, key: str, lang: str) -> str:
    """What a page says while its period's days are still being filled (CaseStore.complete
    False): text `key`, with how far the fill has got when the store knows; "" otherwise."""
    if complete:
        return ""
    filled = cases.history_filled()
    progress = t("page.filling_progress", lang, done=filled[0], total=filled[1]) \
        if filled and filled[1] else ""
    return t(key, lang, progress=progress)


def trend_series(cases: CaseStore, scope: RegionScope, window: Window, now: datetime, tz: str,
                 lang: str, memo=direct) -> dict:
    """Intake and closures per hour for a one-day window, per local day otherwise (from the
    daily aggregates where they are kept); the running part of the window ends at `now`."""
    z = ZoneInfo(tz)
    start = window.start.astimezone(z)
    if window.end - window.start <= timedelta(days=1):
        reported, closed = memo("hourly", scope, window, lambda: (
            cases.hourly(scope, window, "reported_at"),
            cases.hourly(scope, window, "closed_at")))
        x = [f"{(start + timedelta(hours=h)).hour:02d}:00" for h in range(len(reported))]
        elapsed = -(-(min(now, window.end) - window.start).total_seconds() // 3600)
        unit = "page.unit.hour"
    else:
        reported, closed = memo("daily", scope, window, lambda: (
            cases.daily(scope, window, tz, "reported_at"),
            cases.daily(scope, window, tz, "closed_at")))
        x = [(start + timedelta(days=d)).date().isoformat() for d in range(len(reported))]
        elapsed = sum(1 for d in x if datetime.fromisoformat(d).replace(tzinfo=z)
                      < min(now, window.end))
        unit = "page.unit.day"
    buckets = min(len(x), max(0, int(elapsed))) if now < window.end else len(x)
    return {"x": x[:buckets], "intake": reported[:buckets], "closed": closed[:buckets],
            "unit": t(unit, lang)}
