"""Every word the wall shows, in Chinese (default) and English (`?lang=en`)."""
from __future__ import annotations

TEXT = {
    "zh": {
        "title": "网格化社会治理指挥中心", "kpi.intake": "今日受理", "kpi.closed": "今日办结",
        "kpi.open": "在办", "kpi.overdue_open": "超期在办", "kpi.cards": "督办 黄牌/红牌",
        "kpi.closure": "办结率", "kpi.on_time": "按期办结率", "kpi.satisfaction": "满意率",
        "rated": "评价 {n} 件", "target": "目标{t}%", "unit.case": "件",
        "p.dispatch": "派单状态 · 在办环节与层级", "p.funnel": "处置层级 · 本月办结",
        "p.mix": "今日来源 · 类别", "p.source": "来源", "p.category": "类别",
        "p.map": "辖区态势 · {metric}", "p.ranking": "综合排名 · 本月", "p.overdue": "督办 · 超期",
        "p.ticker": "实时事件", "p.hourly": "24小时受理与办结 · 今日/昨日",
        "p.sat": "满意率 · 本月(柱) 今日(◆) 目标(虚线)",
        "r.rank": "名次", "r.change": "变化", "r.name": "地区", "r.score": "得分",
        "r.lost": "主要失分", "sub.timely_sign": "签收", "sub.on_time": "按期",
        "sub.satisfaction": "满意", "sub.closure": "办结", "sub.not_overdue": "超期",
        "sub.not_reopened": "重办",
        "r.on_time": "按期", "r.sat": "满意", "r.overdue": "超期", "r.red": "红榜",
        "r.black": "黑榜", "r.unranked": "样本不足", "r.thin": "样本<{n}",
        "r.note": "红榜前{n}·黑榜后{n} · 评价少于{m}件的满意率不参与排名",
        "t.no": "编号", "t.time": "时间", "t.place": "网格", "t.category": "类别",
        "t.step": "当前环节", "t.left": "剩余时限",
        "left.over": "超{d}", "left.in": "剩{d}", "left.done": "已办结",
        "o.red": "红牌", "o.yellow": "黄牌", "o.overdue": "超期",
        "src.database": "数据库", "src.redis": "Redis", "src.stream": "事件流",
        "st.up": "正常", "st.live": "实时", "st.down": "中断", "st.lagging": "滞后",
        "st.empty": "无事件", "st.starting": "连接中", "st.stale": "数据延迟",
        "since": "自 {t}", "waiting": "等待数据…", "no_data": "无数据", "none": "暂无",
        "details": "详情", "legend.none": "无数据",
        "day": "天", "hour": "小时", "minute": "分",
        "h.y_in": "昨日受理", "h.y_out": "昨日办结", "h.t_in": "今日受理", "h.t_out": "今日办结",
        "t.empty": "暂无新事件，等待推送…",
    },
    "en": {
        "title": "Grid Governance Command Center", "kpi.intake": "Intake today",
        "kpi.closed": "Closed today", "kpi.open": "Open", "kpi.overdue_open": "Overdue open",
        "kpi.cards": "Yellow / red cards", "kpi.closure": "Closure rate",
        "kpi.on_time": "On-time rate", "kpi.satisfaction": "Satisfaction",
        "rated": "{n} rated", "target": "target {t}%", "unit.case": "",
        "p.dispatch": "Open cases by step and level",
        "p.funnel": "Settled at level · month", "p.mix": "Sources · categories today",
        "p.source": "Source", "p.category": "Category", "p.map": "Region · {metric}",
        "p.ranking": "Ranking · this month", "p.overdue": "Supervised · overdue",
        "p.ticker": "Live cases", "p.hourly": "Intake and closures by hour",
        "p.sat": "Satisfaction · month ▮ today ◆ target ┄",
        "r.rank": "#", "r.change": "Δ", "r.name": "Region", "r.score": "Score",
        "r.lost": "Most lost", "sub.timely_sign": "sign", "sub.on_time": "on time",
        "sub.satisfaction": "satisf.", "sub.closure": "closure", "sub.not_overdue": "overdue",
        "sub.not_reopened": "reopen",
        "r.on_time": "On time", "r.sat": "Satisf.", "r.overdue": "Overdue", "r.red": "Top",
        "r.black": "Bottom", "r.unranked": "too few", "r.thin": "<{n} rated",
        "r.note": "Top {n} / bottom {n} · satisfaction from fewer than {m} ratings is not ranked",
        "t.no": "No.", "t.time": "Time", "t.place": "Grid", "t.category": "Category",
        "t.step": "Step", "t.left": "Time left",
        "left.over": "{d} over", "left.in": "{d} left", "left.done": "closed",
        "o.red": "Red", "o.yellow": "Yellow", "o.overdue": "Overdue",
        "src.database": "Database", "src.redis": "Redis", "src.stream": "Stream",
        "st.up": "up", "st.live": "live", "st.down": "down", "st.lagging": "lagging",
        "st.empty": "empty", "st.starting": "connecting", "st.stale": "stale",
        "since": "since {t}", "waiting": "waiting for data…", "no_data": "no data",
        "none": "none", "details": "Details", "legend.none": "no data",
        "day": "d", "hour": "h", "minute": "m",
        "h.y_in": "intake yesterday", "h.y_out": "closed yesterday", "h.t_in": "intake today",
        "h.t_out": "closed today", "t.empty": "No new cases yet, waiting for the feed…",
    },
}


def t(lang: str, key: str, **kw) -> str:
    table = TEXT.get(lang, TEXT["zh"])
    return table.get(key, TEXT["zh"].get(key, key)).format(**kw)


def duration(seconds: float, lang: str = "zh") -> str:
    """3天4小时 / 5小时12分 / 18分: the two largest units, whole numbers."""
    s = int(abs(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    day, hour, minute = t(lang, "day"), t(lang, "hour"), t(lang, "minute")
    if d:
        return f"{d}{day}{h}{hour}"
    if h:
        return f"{h}{hour}{m}{minute}"
    return f"{m}{minute}"


def time_left(seconds: float | None, lang: str = "zh", settled: bool = False) -> tuple[str, str]:
    """Text and class (over / near / ok / done / none) of a remaining time."""
    if settled:
        return t(lang, "left.done"), "done"
    if seconds is None:
        return "—", "none"  # not registered yet: no deadline
    if seconds < 0:
        return t(lang, "left.over", d=duration(seconds, lang)), "over"
    return t(lang, "left.in", d=duration(seconds, lang)), "near" if seconds < 4 * 3600 else "ok"
