"""The wall's drawing parts: view-model sections turned into components (bars, lists, the
ranking table, the legend, the source badges). The panels (layouts/wall_panels.py) and the
layout (layouts/wall.py) are built from these."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dash import html

from dashboard.domain.catalog import CATEGORY_EN, RESOLUTION_LEVEL_EN, SOURCE_EN, in_language
from dashboard.domain.colours import legend_swatches
from dashboard.domain.hierarchy import PLACE_SUFFIXES
from dashboard.domain.kpis import percent_text
from dashboard.domain.metrics import WALL_MAP
from dashboard.domain.ranking import board_size
from dashboard.domain.states import state_label
from dashboard.domain.text import t, time_left
from dashboard.views.wall.ticker import mask_case_no

LEVEL_SHADES = ("#4575b4", "#74a9cf", "#a6cee3", "#d9e8f5", "#f6c453")  # 网格 → 市
UNASSIGNED_SHADE = "#8e7cc3"   # 未分级: cases waiting for intake or dispatch


def _fmt_rate(v, digits: int = 2) -> str:
    return "—" if v is None else f"{v:.{digits}f}%"


def kpi_texts(k: dict | None, lang: str, target: float) -> tuple[dict, dict]:
    if not k:
        return {}, {}
    values = {"intake": f"{k['intake']:,}", "closed": f"{k['closed']:,}", "open": f"{k['open']:,}",
              "overdue_open": f"{k['overdue_open']:,}", "cards": f"{k['yellow']:,}/{k['red']:,}",
              # The strip says "无数据" as /kpi does (a rate over no cases, e.g. just after
              # midnight); the narrow table cells below keep "—".
              **{key: percent_text(k[key], lang) for key in ("closure", "on_time", "satisfaction")}}
    # The target is drawn in the satisfaction panel; a card has room for one short line.
    subs = {"satisfaction": t("wall.kpi.rated", lang, n=f"{k['rated']:,}")}
    return values, subs


def mix_lists(mix: dict | None, lang: str, top: int = 8) -> list:
    if not mix:
        return [html.Div(t("wall.waiting", lang), className="gw-w-muted")]
    cols = []
    english = {"source": SOURCE_EN, "category": CATEGORY_EN}
    for key in ("source", "category"):
        counts = {in_language(k, english[key], lang): n for k, n in (mix.get(key) or {}).items()}
        total = sum(counts.values()) or 1
        items = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        rows = [html.Div(className="gw-w-bar", children=[
            html.Span(name, className="gw-w-bar-name"),
            html.Span(f"{n:,}", className="gw-w-bar-value"),
            html.Div(className="gw-w-bar-track", children=html.Div(
                className="gw-w-bar-fill", style={"width": f"{n * 100 / total:.1f}%"}))])
            for name, n in items] or [html.Div(t("wall.none", lang), className="gw-w-muted")]
        cols.append(html.Div(className="gw-w-mixcol", children=[
            html.H3(t(f"wall.mix.{key}", lang)), *rows]))
    return cols


def dispatch_bars(section: dict | None, lang: str) -> list:
    """Open cases per workflow step as stacked bars by the level holding them."""
    if not section:
        return [html.Div(t("wall.waiting", lang), className="gw-w-muted")]
    states = section["states"]
    top = max([s["count"] for s in states] + [1])
    levels = list(next(iter(states))["levels"]) if states else []
    shades = dict(zip([lvl for lvl in levels if lvl], LEVEL_SHADES)) | {"": UNASSIGNED_SHADE}
    names = {lvl: in_language(lvl, RESOLUTION_LEVEL_EN, lang) if lvl
             else t("wall.dispatch.no_level", lang) for lvl in levels}
    key = html.Div(className="gw-w-key", children=[
        html.Span([html.I(style={"background": shades[lvl]}), names[lvl]]) for lvl in levels])
    rows = []
    for s in states:
        segs = [html.I(style={"width": f"{n * 100 / top:.2f}%", "background": shades[lvl]},
                       title=f"{names[lvl]} {n:,}")
                for lvl, n in s["levels"].items() if n]
        rows.append(html.Div(className="gw-w-drow", **{"data-state": s["state"]}, children=[
            html.Span(state_label(s["state"], lang), className="gw-w-dlabel"),
            html.Div(segs, className="gw-w-dbar"),
            html.Span(f"{s['count']:,}", className="gw-w-dcount")]))
    return [key, *rows]


def funnel_bars(section: dict | None, lang: str) -> list:
    """Where this month's cases were settled, bottom of the hierarchy first."""
    if not section:
        return [html.Div(t("wall.waiting", lang), className="gw-w-muted")]
    levels = section["levels"]
    total = sum(x["count"] for x in levels) or 1
    top = max([x["count"] for x in levels] + [1])
    return [html.Div(className="gw-w-frow", children=[
        html.Span(in_language(x["level"], RESOLUTION_LEVEL_EN, lang), className="gw-w-dlabel"),
        html.Div(html.I(style={"width": f"{x['count'] * 100 / top:.2f}%",
                               "background": LEVEL_SHADES[i]}), className="gw-w-fbar"),
        html.Span(f"{x['count']:,} · {x['count'] * 100 / total:.1f}%", className="gw-w-dcount")])
        for i, x in enumerate(levels)]


def _change(change) -> html.Span:
    if change is None:
        return html.Span("—", className="gw-w-chg")
    if change > 0:
        return html.Span(f"↑{change}", className="gw-w-chg gw-up")
    if change < 0:
        return html.Span(f"↓{-change}", className="gw-w-chg gw-down")
    return html.Span("–", className="gw-w-chg")


def ranking_table(ranking: dict | None, lang: str, target: float) -> list:
    if not ranking:
        return [html.Div(t("wall.waiting", lang), className="gw-w-muted")]
    rows = ranking["rows"]
    if not rows:
        return [html.Div(t("wall.none", lang), className="gw-w-muted")]
    head = html.Tr([html.Th(t(f"wall.ranking.{c}", lang)) for c in
                    ("rank", "change", "name", "score", "lost", "on_time", "sat", "overdue")])
    body = []
    for r in rows:
        board = r.get("board")
        badge = (html.Span(t("wall.ranking.red", lang), className="gw-badge gw-badge-red")
                 if board == "red" else
                 html.Span(t("wall.ranking.black", lang), className="gw-badge gw-badge-black")
                 if board == "black" else
                 html.Span(t("wall.ranking.unranked", lang), className="gw-badge gw-badge-over")
                 if r["rank"] is None else None)
        subs = r.get("subs") or {}
        unranked = r["rank"] is None

        def rate_cell(key: str, sub: str, coloured: bool):
            # A rate drawn from too few cases is marked thin wherever it shows (the score
            # used the parent's rate for it).
            v = r.get(key)
            if (subs.get(sub) or {}).get("thin"):
                return html.Td(t("wall.ranking.thin", lang, n=ranking["min_sample"]),
                               className="gw-thin", title=_fmt_rate(v, 1))
            cls = ("gw-good" if v is not None and v >= target else "gw-bad") if coloured else ""
            return html.Td(_fmt_rate(v, 1), className=cls)
        # The sub-score that cost the most points: why this child is where it is. An
        # unranked child has no score to explain.
        lost_name, lost = max(((n, s["max"] - s["points"]) for n, s in subs.items()
                               if not s.get("thin")), key=lambda kv: kv[1], default=(None, 0))
        body.append(html.Tr(className=f"gw-rank-row gw-board-{board or 'none'}",
                            **{"data-code": r["code"]}, children=[
            html.Td(str(r["rank"]) if not unranked else "—", className="gw-w-rank",
                    title=None if not unranked else t("wall.ranking.unranked", lang)),
            html.Td(_change(r.get("change"))),
            html.Td([short_name(r["name"]), badge] if badge else short_name(r["name"]),
                    className="gw-w-rname"),
            html.Td("—" if unranked else f"{r['score']:.1f}", className="gw-w-score"),
            html.Td(f"{t('wall.lost.' + lost_name, lang)}−{lost:.1f}"
                    if lost_name and lost >= 0.05 and not unranked else "—",
                    className="gw-w-lost"),
            rate_cell("on_time", "on_time", False),
            rate_cell("satisfaction", "satisfaction", True),
            html.Td(f"{r.get('overdue_open', 0):,}"),
        ]))
    n = board_size(sum(1 for r in rows if r["rank"] is not None))
    note = html.Div(t("wall.ranking.note" if n else "wall.ranking.note_no_board", lang, n=n,
                      m=ranking["min_sample"]), className="gw-w-note")
    return [html.Table(className="gw-w-table", children=[html.Thead(head), html.Tbody(body)]), note]


def short_name(name: str) -> str:
    """南京市 → 南京, 玄武区 → 玄武 (keeps 2 characters at least): wall labels are short."""
    for suffix in PLACE_SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def overdue_rows(section: dict | None, lang: str, privacy: bool,
                 limit: int = 12) -> list[tuple[str, str, str, str, str, str]] | None:
    """What the overdue panel shows, row by row: (badge, case number, place, category,
    time left, its class); None before the section exists. Plain text, so that the
    panel's mark follows what is on screen: the time left moves every tick, its text
    once a minute at most."""
    if not section:
        return None
    at = datetime.fromisoformat(section["as_of"])
    seen, rows = set(), []
    for row in section.get("urgent", []) + section.get("oldest", []):
        if row["id"] in seen:
            continue
        seen.add(row["id"])
        rows.append(row)
    out = []
    for r in rows[:limit]:
        sup = r.get("supervision", 0)
        badge = "red" if sup >= 3 else "yellow" if sup == 2 else "over"  # `wall.badge.<badge>`
        deadline = r.get("deadline_at")
        left, cls = time_left((datetime.fromisoformat(deadline) - at).total_seconds()
                              if deadline else None, lang)
        case_no = r["case_no"]
        place = r["community"] if privacy else f"{r['community']} {r['grid']}"
        if privacy:
            case_no = mask_case_no(case_no)
        out.append((badge, case_no, place, in_language(r["category"], CATEGORY_EN, lang),
                    left, cls))
    return out


def overdue_list(rows: list[tuple] | None, lang: str) -> list:
    """The overdue panel from overdue_rows()."""
    if rows is None:
        return [html.Div(t("wall.waiting", lang), className="gw-w-muted")]
    if not rows:
        return [html.Div(t("wall.none", lang), className="gw-w-muted")]
    return [html.Div(className="gw-w-orow", children=[
        html.Span(t(f"wall.badge.{badge}", lang), className=f"gw-badge gw-badge-{badge}"),
        html.Span(case_no, className="gw-w-ocase"),
        html.Span(place, className="gw-w-oplace"),
        html.Span(category, className="gw-w-ocat"),
        html.Span(left, className=f"gw-w-oleft gw-left-{cls}"),
    ]) for badge, case_no, place, category, left, cls in rows]


def ticker_rows(rows: list[dict]) -> list:
    """Initial ticker rows (newest first); assets/wall.js adds live ones the same way."""
    return [html.Div(className=f"gw-w-trow gw-urg-{'high' if r.get('urgent') else 'n'}",
                     **{"data-id": r["id"]}, children=[
        html.Span(r["time"], className="gw-w-tc gw-w-tc-time"),
        html.Span(r["case_no"], className="gw-w-tc gw-w-tc-no"),
        html.Span(r["place"], className="gw-w-tc gw-w-tc-place"),
        html.Span(r["category"], className="gw-w-tc gw-w-tc-category"),
        html.Span(r["step"], className="gw-w-tc gw-w-tc-step"),
        html.Span(r["left"], className=f"gw-w-tc gw-w-tc-left gw-left-{r['left_class']}"),
    ]) for r in rows]


def legend(metric_key: str, labels: list[str]) -> list:
    """The map's five swatches with their ranges (`labels`: colours()'s, bad to good)."""
    metric = WALL_MAP[metric_key]
    return [html.Span(className="gw-w-swatch", children=[html.I(style={"background": c}),
                                                         html.Span(lbl)])
            for c, lbl in zip(legend_swatches(metric), labels)]


def freshness_badges(sources: dict, lang: str, zone: ZoneInfo) -> list[tuple[str, str, str]]:
    """(source, state, text) of each source badge: name, state and, when down, since when.
    Plain tuples, so that a tick can tell whether the screen shows them already."""
    out = []
    for name in ("database", "redis", "stream"):
        s = sources.get(name) or {"status": "starting"}
        status = s.get("status") or "starting"
        text = f"{t('wall.source.' + name, lang)} {t('wall.status.' + status, lang)}"
        if status == "down" and s.get("since"):
            since = datetime.fromisoformat(s["since"]).astimezone(zone).strftime("%H:%M:%S")
            text += " · " + t("wall.since", lang, t=since)
        out.append((name, status, text))
    return out


def freshness(badges: list[tuple[str, str, str]]) -> list:
    return [html.Span(text, className=f"gw-fresh gw-fresh-{status}", id=f"wall-fresh-{name}",
                      **{"data-status": status}) for name, status, text in badges]
