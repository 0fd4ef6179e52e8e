"""Every word gridwatch shows on screen, in Simplified Chinese (the default) and English
(`?lang=en`): one catalogue for the wall, the pages, the status page and the error pages.

An entry is a stable English key and its (中文, English) pair, side by side. The key's
prefix names where the word appears: `wall.`, `kpi.`, `region.`, `case.`, `status.`,
`page.` (what every leaders' / staff page shares), `error.` (error pages and bad-input
messages, `error.<code>` for a BadInput's code) and `common.` (words several screens
share). A `{name}` in an entry is filled by `t(key, lang, name=...)`.

Vocabularies that are data keep their pairs where they are defined: workflow states and
events (states.py), levels (hierarchy.py), categories, sources, urgencies, resolution
levels, ratings, supervision and time status (catalog.py), metric names (metrics.py) and
sub-scores (ranking.py). Place names are never translated.

Pure: no framework imports. The module refuses to load with a word missing a language.
"""
from __future__ import annotations

LANGS = ("zh", "en")


def _group(prefix: str, entries: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    return {f"{prefix}.{key}": pair for key, pair in entries.items()}


ENTRIES: dict[str, tuple[str, str]] = {
    # -- the wall (layouts/wall*.py, callbacks/wall.py) --------------------------------
    **_group("wall", {
        "title": ("网格化社会治理指挥中心", "Grid Governance Command Center"),
        "kpi.intake": ("今日受理", "Intake today"),
        "kpi.closed": ("今日办结", "Closed today"),
        "kpi.open": ("在办", "Open"),
        "kpi.overdue_open": ("超期在办", "Overdue open"),
        "kpi.cards": ("督办 黄牌/红牌", "Yellow / red cards"),
        "kpi.closure": ("办结率", "Closure rate"),
        "kpi.on_time": ("按期办结率", "On-time rate"),
        "kpi.satisfaction": ("满意率", "Satisfaction"),
        "kpi.rated": ("评价 {n} 件", "{n} rated"),
        # Panel titles: `wall.panel.<key>` of each Panel in layouts/wall_panels.py.
        "panel.dispatch": ("派单状态 · 在办环节与层级", "Open cases by step and level"),
        "panel.funnel": ("处置层级 · 本月办结", "Settled at level · month"),
        "panel.mix": ("今日来源 · 类别", "Sources · categories today"),
        "panel.map": ("辖区态势 · {metric}", "Region · {metric}"),
        "panel.ranking": ("综合排名 · 本月", "Ranking · this month"),
        "panel.overdue": ("督办 · 超期", "Supervised · overdue"),
        "panel.ticker": ("实时事件", "Live cases"),
        "panel.hourly": ("24小时受理与办结 · 今日/昨日", "Intake and closures by hour"),
        "panel.sat": ("满意率 · 本月(柱) 今日(◆) 目标(虚线)",
                      "Satisfaction · month ▮ today ◆ target ┄"),
        "mix.source": ("来源", "Source"),
        "mix.category": ("类别", "Category"),
        "ranking.rank": ("名次", "#"),
        "ranking.change": ("变化", "Δ"),
        "ranking.name": ("地区", "Region"),
        "ranking.score": ("得分", "Score"),
        "ranking.lost": ("主要失分", "Most lost"),
        "ranking.on_time": ("按期", "On time"),
        "ranking.sat": ("满意", "Satisf."),
        "ranking.overdue": ("超期", "Overdue"),
        "ranking.red": ("红榜", "Top"),
        "ranking.black": ("黑榜", "Bottom"),
        "ranking.unranked": ("样本不足", "too few"),
        "ranking.thin": ("样本<{n}", "<{n} rated"),
        "ranking.note": ("红榜前{n}·黑榜后{n} · 评价少于{m}件的满意率不参与排名",
                         "Top {n} / bottom {n} · satisfaction from fewer than {m} ratings "
                         "is not ranked"),
        # The sub-score that cost a child the most points (ranking.SUB_SCORES' names).
        "lost.timely_sign": ("签收", "sign"),
        "lost.on_time": ("按期", "on time"),
        "lost.satisfaction": ("满意", "satisf."),
        "lost.closure": ("办结", "closure"),
        "lost.not_overdue": ("超期", "overdue"),
        "lost.not_reopened": ("重办", "reopen"),
        "ticker.no": ("编号", "No."),
        "ticker.time": ("时间", "Time"),
        "ticker.place": ("网格", "Grid"),
        "ticker.category": ("类别", "Category"),
        "ticker.step": ("当前环节", "Step"),
        "ticker.left": ("剩余时限", "Time left"),
        "ticker.empty": ("暂无新事件，等待推送…", "No new cases yet, waiting for the feed…"),
        "ticker.supervised": ("督办·{level}", "supervised · {level}"),
        "left.over": ("超{d}", "{d} over"),
        "left.in": ("剩{d}", "{d} left"),
        "left.done": ("已办结", "closed"),
        "unit.day": ("天", "d"),
        "unit.hour": ("小时", "h"),
        "unit.minute": ("分", "m"),
        # The badge of a supervised or overdue case (`wall.badge.<kind>`).
        "badge.red": ("红牌", "Red"),
        "badge.yellow": ("黄牌", "Yellow"),
        "badge.over": ("超期", "Overdue"),
        "source.database": ("数据库", "Database"),
        "source.redis": ("Redis", "Redis"),
        "source.stream": ("事件流", "Stream"),
        "status.up": ("正常", "up"),
        "status.live": ("实时", "live"),
        "status.down": ("中断", "down"),
        "status.lagging": ("滞后", "lagging"),
        "status.empty": ("无事件", "empty"),
        "status.starting": ("连接中", "connecting"),
        "since": ("自 {t}", "since {t}"),
        # Shown by assets/wall.js (layouts/wall.SCRIPT_WORDS).
        "feed": ("实时推送 {status}", "Live feed {status}"),
        "stale": ("数据延迟 {s} 秒", "data {s} s old"),
        "waiting": ("等待数据…", "waiting for data…"),
        "none": ("暂无", "none"),
        "details": ("详情 ›", "Details ›"),
        "hourly.y_in": ("昨日受理", "intake yesterday"),
        "hourly.y_out": ("昨日办结", "closed yesterday"),
        "hourly.t_in": ("今日受理", "intake today"),
        "hourly.t_out": ("今日办结", "closed today"),
        "hourly.tick": ("{h}时", "{h}h"),
        "sat.month": ("本月", "month"),
        "sat.today": ("今日", "today"),
        "connecting": ("正在连接数据库……恢复后大屏将自动显示，无需操作。",
                       "Connecting to the database… the wall appears by itself when it answers."),
    }),
    # -- words several screens share ---------------------------------------------------
    **_group("common", {
        "no_data": ("无数据", "no data"),
        "hours": ("{v} 小时", "{v} h"),
    }),
}


def problems(entries: dict[str, tuple[str, str]]) -> list[str]:
    """What is wrong with a catalogue: a key without a word in each language."""
    out = []
    for key, pair in entries.items():
        if not (isinstance(pair, tuple) and len(pair) == len(LANGS)):
            out.append(f"{key}: expected a ({', '.join(LANGS)}) pair")
        elif not all(isinstance(word, str) and word.strip() for word in pair):
            out.append(f"{key}: a language has no word")
    return out


_PROBLEMS = problems(ENTRIES)
if _PROBLEMS:
    raise ValueError("text catalogue: " + "; ".join(_PROBLEMS))

TEXT: dict[str, dict[str, str]] = {
    lang: {key: pair[i] for key, pair in ENTRIES.items()} for i, lang in enumerate(LANGS)}


def t(key: str, lang: str, **fmt) -> str:
    """The word for `key` in `lang` (Chinese for a language gridwatch does not speak),
    with `{name}` filled from `fmt`. An unknown key shows itself rather than failing a
    screen; tests/test_text_catalogue.py checks that every key the code asks for exists."""
    table = TEXT.get(lang, TEXT["zh"])
    word = table.get(key)
    if word is None:
        return key
    return word.format(**fmt) if fmt else word


def duration(seconds: float, lang: str = "zh") -> str:
    """3天4小时 / 5小时12分 / 18分: the two largest units, whole numbers."""
    s = int(abs(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    day, hour, minute = (t(f"wall.unit.{u}", lang) for u in ("day", "hour", "minute"))
    if d:
        return f"{d}{day}{h}{hour}"
    if h:
        return f"{h}{hour}{m}{minute}"
    return f"{m}{minute}"


def time_left(seconds: float | None, lang: str = "zh", settled: bool = False) -> tuple[str, str]:
    """Text and class (over / near / ok / done / none) of a remaining time."""
    if settled:
        return t("wall.left.done", lang), "done"
    if seconds is None:
        return "—", "none"  # not registered yet: no deadline
    if seconds < 0:
        return t("wall.left.over", lang, d=duration(seconds, lang)), "over"
    return t("wall.left.in", lang, d=duration(seconds, lang)), "near" if seconds < 4 * 3600 else "ok"
