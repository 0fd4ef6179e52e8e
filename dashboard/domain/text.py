"""Every word gridwatch shows on screen, in Simplified Chinese (the default) and English
(`?lang=en`): one catalogue for the wall, the pages, the status page and the error pages.

An entry is a stable English key and its (中文, English) pair, side by side. The key's
prefix names where the word appears: `wall.`, `kpi.`, `region.`, `case.`, `status.`,
`page.` (what every leaders' / staff page shares), `auth.` (login, password, second
factor, account pages), `admin.` (/admin: accounts), `audit.` (/audit: the trail), `error.` (error pages and bad-input
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
        "panel.sat": ("满意率 · 本月(柱) 今日(◆) 目标(虚线) 灰:样本不足",
                      "Satisfaction · month ▮ today ◆ target ┄ grey: thin"),
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
        "ranking.black": ("黑榜", "Low"),
        "ranking.unranked": ("样本不足", "too few"),
        "ranking.thin": ("样本<{n}", "<{n} cases"),
        "ranking.note": ("红榜前{n}·黑榜后{n} · 分项样本少于{m}件按上级比率计分，全部不足不排名",
                         "Top {n} / bottom {n} · a rate from fewer than {m} cases scores at "
                         "the parent's rate; all too few: unranked"),
        "ranking.note_no_board": ("不足3个排名，不设红黑榜 · 分项样本少于{m}件按上级比率计分",
                                  "Fewer than 3 ranked: no boards · a rate from fewer than "
                                  "{m} cases scores at the parent's rate"),
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
        "details": ("详情", "Details"),
        "hourly.y_in": ("昨日受理", "intake yesterday"),
        "hourly.y_out": ("昨日办结", "closed yesterday"),
        "hourly.t_in": ("今日受理", "intake today"),
        "hourly.t_out": ("今日办结", "closed today"),
        "hourly.tick": ("{h}时", "{h}h"),
        "data_time": ("数据时间", "Data time"),
        # Beside the legend's last entry: short enough to fit there at 16:9.
        "hourly.partial": ("本小时按{m}分钟折算", "hour scaled from {m} min"),
        "dispatch.no_level": ("未分级", "none yet"),
        "sat.month": ("本月", "month"),
        "sat.today": ("今日", "today"),
        "map.no_data": ("无数据", "n/a"),   # a map label: no wider than the Chinese
        "sat.thin": ("（样本不足：{n} 件评价）", "(thin sample: {n} ratings)"),
        "disabled.title": ("已停用", "Disabled"),
        "disabled.revoked": ("这块大屏已停用。", "This wall screen has been disabled."),
        "disabled.expired": ("这块大屏的访问令牌已更换，旧链接已失效。",
                             "This wall screen's access token was replaced: its old link no "
                             "longer works."),
        "disabled.address": ("这块大屏不允许从当前网络地址访问。",
                             "This wall screen may not be opened from this network address."),
        "disabled.unknown": ("这个大屏链接无效或已停用。",
                             "This wall link is not valid, or was disabled."),
        "disabled.call": ("请联系系统管理员重新开通。",
                          "Please call the system administrator to enable it again."),
        "disabled.device": ("大屏：{name}", "Screen: {name}"),
        "connecting": ("正在连接数据库……恢复后大屏将自动显示，无需操作。",
                       "Connecting to the database… the wall appears by itself when it answers."),
    }),
    # -- what every leaders' / staff page shares (layouts/page_parts.py, views/common.py)
    **_group("page", {
        # Each language's name in itself: the switch shows the other one's.
        "lang_name": ("中文", "English"),
        # How far the history fill has got (CaseStore.history_filled), in a filling note.
        "filling_progress": ("（已完成 {done}/{total} 天）", " ({done} of {total} days done)"),
        # A page's query refused for now (dashboard/app/rate_limits.py, shown by pages.js).
        "rate_limited": ("查询过于频繁，请 {seconds} 秒后再试。",
                         "Too many queries: try again in {seconds} s."),
        # The user menu of every page (layouts/page_parts.user_menu).
        "user.who": ("{name}（{role}）", "{name} ({role})"),
        "user.regions": ("区域：", "Regions:"),
        "user.account": ("我的账号", "My account"),
        "user.logout": ("退出登录", "Log out"),
        "user.admin": ("账号管理", "Accounts"),
        "user.audit": ("审计记录", "Audit trail"),
        "period.today": ("今日", "Today"),
        "period.this_week": ("本周", "This week"),
        "period.this_month": ("本月", "This month"),
        "period.last_month": ("上月", "Last month"),
        "period.custom": ("自定义", "Custom range"),
        "period_label": ("{name}（{span}）", "{name} ({span})"),
        "start_date": ("开始日期", "start"),
        "month_format": ("YYYY年M月", "MMMM YYYY"),   # the date picker's month captions
        "end_date": ("结束日期", "end"),
        "as_of": ("数据时间 {t}", "Data as of {t}"),
        "trend": ("趋势", "Trend"),
        "trend_title": ("受理与办结（按{unit}）", "Intake and closures per {unit}"),
        "unit.hour": ("小时", "hour"),
        "unit.day": ("日", "day"),
        "intake": ("受理", "intake"),
        "closed": ("办结", "closed"),
        "export_csv": ("导出 CSV", "Export CSV"),
    }),
    # -- /kpi (layouts/kpi.py, views/kpi.py) -------------------------------------------
    **_group("kpi", {
        "title": ("{region} · 考核指标", "{region} · KPIs"),
        "to_region": ("区域统计", "Region statistics"),
        "indicators": ("指标", "Indicators"),
        "col.indicator": ("指标", "Indicator"),
        "col.current": ("本期", "This period"),
        "col.target": ("目标", "Target"),
        "col.previous": ("上期", "Previous"),
        "col.last_year": ("去年同期", "Last year"),
        "col.trend": ("趋势", "Trend"),
        "denominator": ("（{n}）", " ({n})"),
        "trend.better": ("▲ 向好", "▲ better"),
        "trend.worse": ("▼ 变差", "▼ worse"),
        "trend.same": ("＝ 持平", "= same"),
        "trend.up": ("↑ 上升", "↑ up"),
        "trend.down": ("↓ 下降", "↓ down"),
        "ranking_title": ("{level}排名（综合得分）", "Ranking of {level} regions (composite score)"),
        "ranking_note": ("权重：{weights}；督办扣分 = {cap} × 期内（{yellow}×黄牌 + {red}×红牌）÷（{full}% × 应办件），"
                         "至多 {cap} 分。样本少于 {min_sample} 件的分项按上级"
                         "比率计分，以灰色斜体显示并列入“样本不足”。点击一行查看其下级排名。",
                         "Weights: {weights}; card penalty = {cap} × ({yellow} × yellow + {red} × red cards "
                         "issued) ÷ ({full}% of cases due), at most {cap}. A rate drawn from "
                         "fewer than {min_sample} cases scores at the parent's rate, is "
                         "greyed in italics and listed under Thin sample. Click a row to rank its children."),
        "weights_sep": ("，", ", "),
        "filling": ("本期有些日期的历史汇总数据仍在回填{progress}，回填完成前不显示本期指标和排名。",
                    "Some days of this period are still being filled in from the history "
                    "kept as daily summaries{progress}: its figures and ranking show once "
                    "they are."),
        "filling_compare": ("上期或去年同期有些日期的历史汇总数据仍在回填{progress}，回填完成前"
                            "这两列显示为“—”。",
                            "Some days of the previous period or of the same period last "
                            "year are still being filled in{progress}: those columns show "
                            "“—” until they are."),
        "export_xlsx": ("导出 Excel", "Export Excel"),
        "score_chart": ("综合得分", "Composite score"),
        # The ranking's columns (views/kpi.RANKING_COLUMNS); a sub-score's is `points`.
        "head.rank": ("排名", "Rank"),
        "head.change": ("名次变化", "Change"),
        "head.name": ("地区", "Region"),
        "head.code": ("代码", "Code"),
        "head.score": ("综合得分", "Score"),
        "head.points": ("{name}得分", "{name} pts"),
        "head.card_penalty": ("督办扣分", "Card penalty"),
        "head.board": ("红黑榜", "Board"),
        "head.thin": ("样本不足", "Thin sample"),
        "head.on_time": ("按期办结率", "On-time"),
        "head.satisfaction": ("满意率", "Satisfaction"),
        "head.rated": ("评价数", "Rated"),
        "head.closure": ("办结率", "Closure"),
        "head.intake": ("受理量", "Intake"),
        "head.intake_per_10k": ("每万人受理", "Intake per 10k"),
        "change.new": ("新", "new"),
        "unranked": ("未排名", "unranked"),
        "board.red": ("红榜", "red"),
        "board.black": ("黑榜", "black"),
        "thin_sep": ("、", ", "),
    }),
    # -- /region (layouts/region.py, views/region.py) ----------------------------------
    **_group("region", {
        "to_kpi": ("考核指标", "KPIs"),
        "to_wall": ("指挥大屏", "Wall"),
        "children": ("下级（{level}）", "Children"),
        "coloured_by": ("下级按「{metric}」着色", "Children coloured by {metric}"),
        "colour_by": ("着色指标", "Colour by"),
        "click_hint": ("点击表格行或地图进入下一级", "Click a row or the map to go down a level"),
        "children_name": ("地区", "Region"),
        "breakdown.category": ("事件类别", "Category"),
        "breakdown.source": ("来源", "Source"),
        "breakdown.resolution_level": ("办结层级", "Resolved at"),
        "intake_by.category": ("本期受理按事件类别", "Intake by category"),
        "intake_by.source": ("本期受理按来源", "Intake by source"),
        "intake_by.resolution_level": ("本期受理按办结层级", "Intake by resolved at"),
        "not_closed": ("未办结", "not closed"),
        "no_intake": ("本期无受理", "no cases in this period"),
        # The window touches days of the history still being filled (CaseStore.complete).
        "filling": ("历史数据补齐中：本期有些日期的汇总数据仍在回填{progress}，回填完成前本期的"
                    "受理、办结等指标显示为“—”，分项和地图不着色。在办、超期在办为当前数，照常显示。",
                    "History being filled in: some days of this period are still being filled "
                    "from the daily summaries{progress}; until they are, the period's figures "
                    "show “—” and the breakdowns and map stay blank. Open and overdue-open "
                    "counts are of now and show as usual."),
        "filling_short": ("历史数据补齐中", "being filled in"),
        "cases": ("案件", "Cases"),
        "basis": ("范围", "Cases"),
        "sort": ("排序", "Sort"),
        "all": ("全部", "all"),
        "filter.state": ("环节", "State"),
        "filter.category": ("类别", "Category"),
        "filter.source": ("来源", "Source"),
        "filter.urgency": ("紧急程度", "Urgency"),
        "sort.reported_desc": ("上报时间 ↓", "reported ↓"),
        "sort.reported_asc": ("上报时间 ↑", "reported ↑"),
        "sort.closed_desc": ("结案时间 ↓", "closed ↓"),
        "sort.closed_asc": ("结案时间 ↑", "closed ↑"),
        "sort.deadline_asc": ("办理时限 ↑", "deadline ↑"),
        "sort.deadline_desc": ("办理时限 ↓", "deadline ↓"),
        "total": ("共 {total} 件", "{total} cases"),
        "capped": ("（超过 {total} 件时不再精确计数，请用筛选缩小范围）",
                   " (counting stops at {total}; narrow the filters)"),
        "paging_stops": ("；最多可翻至第 {pages} 页", "; paging stops at page {pages}"),
        # The window reaches back into days kept as daily summaries only (no cases).
        "summary_only": ("{day} 以前仅有汇总数据（按日统计），没有案件明细；本列表只含 {day} 起的案件",
                         "Before {day} only daily summaries are kept, no cases: this list "
                         "holds the cases from {day} on"),
        "previous": ("上一页", "Previous"),
        "next": ("下一页", "Next"),
        "page": ("第 {page} / {pages} 页", "page {page} / {pages}"),
        # The case list's columns (views/region.CASE_COLUMNS), also the CSV export's.
        "col.id": ("ID", "ID"),
        "col.case_no": ("编号", "Case no."),
        "col.reported_at": ("上报时间", "Reported"),
        "col.grid": ("网格", "Grid"),
        "col.category": ("类别", "Category"),
        "col.source": ("来源", "Source"),
        "col.urgency": ("紧急", "Urgency"),
        "col.state": ("当前环节", "State"),
        "col.deadline": ("办理时限", "Deadline"),
        "col.closed_at": ("结案时间", "Closed"),
        "col.supervision": ("督办", "Supervision"),
        "col.rating": ("评价", "Rating"),
        "col.reporter_name": ("上报人", "Reporter"),
        "col.reporter_phone": ("联系电话", "Phone"),
        "col.address": ("事发地址", "Address"),
    }),
    # -- /case (layouts/case.py, views/case.py) ----------------------------------------
    **_group("case", {
        "title": ("案件 {case_no}", "Case {case_no}"),
        "back": ("返回所在网格", "Back to its grid"),
        "info": ("案件信息", "Case"),
        "timeline": ("办理过程（{n} 个环节）", "Timeline ({n} steps)"),
        "col.seq": ("序号", "#"),
        "col.at": ("时间", "Time"),
        "col.event": ("事件", "Event"),
        "col.state": ("之后环节", "State after"),
        "col.level": ("层级", "Level"),
        "col.org": ("办理机构", "Org"),
        "col.org_code": ("机构代码", "Org code"),
        "col.detail": ("内容", "Detail"),
        "detail_sep": ("；", "; "),
        # What each transition says, as a person writes it (`case.detail.<key>`).
        "detail.reported": ("{source} 上报 · {category} / {subcategory} · {urgency}",
                            "reported via {source} · {category} / {subcategory} · {urgency}"),
        "detail.limits": ("签收时限 {sign}；办结时限 {deadline}",
                          "sign by {sign}; settle by {deadline}"),
        "detail.dispatched": ("派至 {level} {org}", "dispatched to {level} {org}"),
        "detail.escalated": ("上报至 {level} {org}", "escalated to {level} {org}"),
        "detail.signed_late": ("超时签收", "signed late"),
        "detail.signed": ("按时签收", "signed in time"),
        "detail.settled_at": ("{level}办结", "settled at {level} level"),
        "detail.rated": ("评价：{rating}", "rated: {rating}"),
        "detail.supervised": ("督办：{supervision}", "supervision: {supervision}"),
        "detail.extended": ("延期至 {deadline}", "deadline moved to {deadline}"),
        # Personal information (views/case.PERSONAL_FIELDS), masked unless unmasked.
        "personal": ("上报人与事发信息", "Reporter and place"),
        "personal.description": ("事件描述", "Description"),
        "personal.address": ("事发地址", "Address"),
        "personal.reporter_name": ("上报人", "Reporter"),
        "personal.reporter_phone": ("联系电话", "Phone"),
        "personal.point": ("事发位置", "Location"),
        "personal.masked": ("个人信息已脱敏显示", "Personal information is masked"),
        "personal.clear": ("完整信息：本次查看已记入审计日志", "Shown in full: this viewing is in the audit trail"),
        "personal.none": ("上游系统未提供个人信息", "The upstream system sent no personal information"),
        "unmask": ("显示完整信息", "Show in full"),
        "field.category": ("类别", "Category"),
        "field.source": ("来源", "Source"),
        "field.urgency": ("紧急程度", "Urgency"),
        "field.state": ("当前环节", "State"),
        "field.reported_at": ("上报时间", "Reported"),
        "field.sign_deadline": ("签收时限", "Sign-off limit"),
        "field.deadline": ("办理时限", "Deadline"),
        "field.time_status": ("时限状态", "Time status"),
        "field.closed_at": ("结案时间", "Closed"),
        "field.handler_level": ("当前办理层级", "Held at"),
        "field.resolution_level": ("办结层级", "Resolved at"),
        "field.supervision": ("督办", "Supervision"),
        "field.rating": ("评价", "Rating"),
        "field.counts": ("派单 / 退回 / 返工 / 重办", "Dispatches / returns / rework / reopen"),
        "no_supervision": ("无", "none"),
        "not_rated": ("未评价", "not rated"),
    }),
    # -- /status (layouts/status.py, callbacks/status.py) ------------------------------
    **_group("status", {
        "title": ("网格化社会治理 · 运行状态", "Grid governance · status"),
        "sources": ("数据源", "Sources"),
        "events": ("最新事件", "Latest events"),
        "kpi.intake": ("今日受理", "Intake today"),
        "kpi.closed": ("今日办结", "Closed today"),
        "kpi.open": ("在办", "Open"),
        "kpi.overdue_open": ("超期在办", "Overdue open"),
        "kpi.cards": ("督办 黄/红", "Cards yellow / red"),
        "kpi.closure": ("办结率", "Closure rate"),
        "kpi.on_time": ("按期办结率", "On-time rate"),
        "kpi.satisfaction": ("满意率", "Satisfaction"),
        "rated": ("{rate}（{n}件评价）", "{rate} ({n} rated)"),
        "no_database": ("数据库不可用，暂无指标", "The database is unavailable: no figures"),
        "source.database": ("数据库", "Database"),
        "source.redis": ("Redis", "Redis"),
        "source.stream": ("事件流", "Stream"),
        "source.skipped": ("跳过条目", "Skipped entries"),
        "cases": ("{n} 件", "{n} cases"),
        "stream_detail": ("{n} 条，最新 {lag} 秒前", "{n} entries, newest {lag} s ago"),
        "skipped_total": ("共 {n} 条", "{n} in all"),
        "skipped_detail": ("：{detail}", ": {detail}"),
        "skipped_sep": ("，", ", "),
        "skipped_since": ("（自 {since} 起）", " (since {since})"),
        "state.up": ("正常", "up"),
        "state.down": ("中断", "down"),
        "state.live": ("实时", "live"),
        "state.lagging": ("滞后", "lagging"),
        "state.empty": ("无数据", "no data"),
        "state.ok": ("正常", "ok"),
        "state.degraded": ("部分异常", "degraded"),
        "state.skipping": ("有跳过", "skipping"),
        "state.unknown": ("未知", "unknown"),
        # Why a stream entry was skipped (data_sources.stream_skips.SKIP_REASONS).
        "skip.unknown_version": ("版本未知", "unknown version"),
        "skip.unknown_type": ("类型未知", "unknown type"),
        "skip.missing_field": ("缺少字段", "missing field"),
        "skip.bad_time": ("时间异常", "bad time"),
        "skip.bad_value": ("取值异常", "bad value"),
        "skip.unknown_grid": ("网格未知", "unknown grid"),
        "skip.oversized": ("超长", "oversized"),
        "skip.bad_encoding": ("编码错误", "bad encoding"),
        "skip.duplicate": ("重复", "duplicate"),
        "no_events": ("暂无事件", "No events yet"),
        "col.time": ("时间", "Time"),
        "col.event": ("事件", "Event"),
        "col.case": ("编号", "Case"),
        "col.grid": ("网格", "Grid"),
        "col.state": ("当前环节", "State"),
    }),
    # -- error pages and bad-input messages (layouts/errors.py, BadInput) --------------
    **_group("error", {
        "cannot_show": ("无法显示该页面", "Cannot show this page"),
        "back": ("返回", "Back"),
        "back_home": ("返回首页", "Back to the start page"),
        "forbidden.title": ("无权访问", "Not allowed"),
        "forbidden.message": ("您的账号角色不能打开此页面。", "Your account's role cannot open this page."),
        "to_account": ("查看我的账号", "Go to my account"),
        "page_failed.title": ("页面暂时无法显示", "This page could not be shown"),
        "page_failed.message": ("数据源暂无响应，请稍后重试。",
                                "The data source did not answer. Try again shortly."),
        "not_found.title": ("页面不存在", "Page not found"),
        "not_found.message": ("没有地址为 {path} 的页面。", "There is no page at {path}."),
        # The server's own error answers (dashboard/app/error_responses.py): no internals.
        "server.title": ("服务器暂时无法处理该请求", "The server could not handle this request"),
        "server.message": ("请稍后重试；若问题持续，请联系系统管理员。",
                           "Try again shortly; if it goes on, tell the system administrator."),
        "method.title": ("不支持的请求", "Request not supported"),
        "method.message": ("此地址不接受这种请求。", "This address does not take this request."),
        # `error.<code>`: the message of a BadInput with that code.
        "bad-region": ("区划代码格式不正确：{shown}（应为 6、9、12 或 15 位数字）",
                       "Malformed region code: {shown} (expected 6, 9, 12 or 15 digits)"),
        "unknown-region": ("未找到区划 {code}，或它不在本系统（{root_name}）的范围内",
                           "Region {code} was not found or lies outside this system's scope "
                           "({root_code})"),
        "bad-case-id": ("案件编号格式不正确：{shown}（应为正整数）",
                        "Malformed case id: {shown} (expected a positive integer)"),
        "unknown-case": ("案件 {case_id} 不存在，或不在本系统范围内",
                         "Case {case_id} does not exist or lies outside this system's scope"),
        "bad-date": ("日期格式不正确：{name}={shown}（应为 YYYY-MM-DD，如 2026-11-01）",
                     "Malformed date: {name}={shown} (expected YYYY-MM-DD, e.g. 2026-11-01)"),
        "date-out-of-range": ("日期超出可查询范围：{name}={shown}（{first} 至 {last}）",
                              "Date out of range: {name}={shown} ({first} to {last})"),
        "bad-period": ("未知的统计周期：{period}", "Unknown period: {period}"),
        "bad-range": ("自定义时段需要开始和结束日期（from 与 to）",
                      "A custom range needs both a start and an end date (from and to)"),
        "range-reversed": ("结束日期 {end} 早于开始日期 {start}",
                           "The end date {end} is before the start date {start}"),
        "range-too-long": ("自定义时段最长 {days} 天", "A custom range spans at most {days} days"),
    }),
    # -- words several screens share ---------------------------------------------------
    # -- login, password, second factor, account (layouts/auth_pages.py) ---------------
    **_group("auth", {
        "login.title": ("登录", "Log in"),
        "login.username": ("用户名", "Username"),
        "login.password": ("密码", "Password"),
        "login.submit": ("登录", "Log in"),
        "login.failed": ("用户名或密码不正确。", "Wrong username or password."),
        "login.locked": ("登录失败次数过多，账号或本机地址已锁定，请 {minutes} 分钟后再试。",
                         "Too many failed logins: locked, try again in {minutes} minutes."),
        "login.ended": ("会话已结束，请重新登录。", "Your session has ended: please log in again."),
        "login.logged_out": ("您已退出登录。", "You have logged out."),
        "login.unavailable": ("登录服务暂不可用，请稍后再试。",
                              "Logging in is not available right now: try again later."),
        "login.wall_note": ("大屏使用管理员开通的大屏链接，无需登录；已登录的领导和工作人员也可",
                            "Wall screens open with the link an administrator enrolled them "
                            "with, no login; leaders and staff can also"),
        "login.to_wall": ("打开大屏", "open the wall"),
        "totp.title": ("动态口令验证", "One-time code"),
        "totp.prompt": ("请输入身份验证器应用中显示的 6 位动态口令。",
                        "Enter the 6-digit code your authenticator app shows."),
        "totp.code": ("动态口令", "Code"),
        "totp.submit": ("验证", "Verify"),
        "totp.failed": ("动态口令不正确或已使用过。", "Wrong code, or one already used."),
        "enrol.title": ("绑定动态口令", "Set up a one-time code"),
        "enrol.required": ("您的账号角色必须使用动态口令（双因素认证）。",
                           "Your account's role requires a one-time code (two-factor login)."),
        "enrol.optional": ("启用后，每次登录除密码外还需输入动态口令。",
                           "Once set up, every login asks for a code besides the password."),
        "enrol.steps": ("在身份验证器应用中扫描二维码，或手动添加下面的密钥（基于时间，6 位，30 秒），然后输入应用显示的口令。",
                        "Scan the QR code with an authenticator app, or add the key below by "
                        "hand (time-based, 6 digits, 30 s), then enter the code it shows."),
        "enrol.secret": ("密钥", "Key"),
        "enrol.uri": ("otpauth 地址", "otpauth URI"),
        "enrol.submit": ("确认绑定", "Confirm"),
        "enrol.done": ("已启用动态口令。", "One-time codes are on."),
        "password.title": ("修改密码", "Change password"),
        "password.forced": ("首次登录或密码已重置，请先设置新密码。",
                            "First login or password reset: set a new password first."),
        "password.expired": ("密码已超过 {days} 天未修改，请设置新密码。",
                             "Your password is over {days} days old: set a new one."),
        "password.current": ("当前密码", "Current password"),
        "password.new": ("新密码", "New password"),
        "password.repeat": ("再次输入新密码", "New password again"),
        "password.submit": ("保存", "Save"),
        "password.rules": ("至少 8 个字符，包含小写字母、大写字母、数字、符号中的至少 3 类，且不能与用户名相同。",
                           "At least 8 characters with 3 of: lower case, upper case, digit, "
                           "symbol; not the username."),
        "password.wrong_current": ("当前密码不正确。", "The current password is wrong."),
        "password.mismatch": ("两次输入的新密码不一致。", "The new passwords differ."),
        "password.changed": ("密码已修改。", "Password changed."),
        "account.title": ("我的账号", "My account"),
        "account.username": ("用户名", "Username"),
        "account.name": ("姓名", "Name"),
        "account.role": ("角色", "Role"),
        "account.regions": ("区域", "Regions"),
        "account.none": ("无", "none"),
        "account.sep": ("、", ", "),
        "account.totp": ("动态口令", "One-time code"),
        "account.totp_on": ("已启用", "on"),
        "account.totp_off": ("未启用", "off"),
        "account.pages": ("可以打开的页面", "Pages you can open"),
        "account.page.kpi": ("领导 KPI", "KPI review"),
        "account.page.region": ("区域统计与下钻", "Region statistics"),
        "account.page.status": ("运行状态", "Status"),
        "account.page.wall": ("大屏", "The wall"),
        "account.admin_note": ("系统管理员不查看业务数据，在“账号管理”中管理账号（审计管理员账号只能在服务器命令行管理）。",
                               "Administrators see no case data; they manage accounts on the "
                               "Accounts page (an auditor's account from the server's shell "
                               "only)."),
        "account.auditor_note": ("审计管理员只查看审计记录：在“审计记录”中查询、导出并校验审计链。",
                                 "Auditors read the audit trail only: search, export and "
                                 "verify it on the Audit trail page."),
        "account.change_password": ("修改密码", "Change password"),
        "account.enrol": ("启用动态口令", "Set up a one-time code"),
    }),
    # -- /admin: accounts (layouts/admin_pages.py, dashboard/app/admin_routes.py) -------
    **_group("admin", {
        "title": ("账号管理", "Accounts"),
        "accounts": ("账号", "Accounts"),
        "col.username": ("用户名", "Username"),
        "col.name": ("姓名", "Name"),
        "col.role": ("角色", "Role"),
        "col.regions": ("区域", "Regions"),
        "col.state": ("状态", "State"),
        "col.password": ("密码", "Password"),
        "col.totp": ("动态口令", "One-time code"),
        "state.enabled": ("启用", "enabled"),
        "state.disabled": ("已停用", "disabled"),
        "must_change": ("须修改", "must change"),
        "days": ("{days} 天", "{days} d"),
        "expired": ("已过期", "expired"),
        "yes": ("已绑定", "on"),
        "no": ("未绑定", "off"),
        "none": ("无", "none"),
        "manage": ("管理", "Manage"),
        "shell_only": ("仅限命令行", "shell only"),
        "region_unknown": ("{code}（不在区划树中）", "{code} (not in the region tree)"),
        "add.title": ("新建账号", "New account"),
        "add.username": ("用户名（字母、数字、. _ -）", "Username (letters, digits, . _ -)"),
        "add.name": ("姓名", "Name"),
        "add.role": ("角色", "Role"),
        "add.submit": ("创建账号", "Create account"),
        "regions.pick": ("区域（可多选；账号可查看所选区域及其下级）",
                         "Regions (one or more; the account sees each and everything below)"),
        "regions.more": ("乡镇及以下的区划代码（可多个，用逗号或空格分隔）",
                         "Codes of townships or below (several: commas or spaces)"),
        "regions.shape_only": ("区划树尚未导入，仅按格式校验区划代码。",
                               "The region tree is not imported: codes are checked by their shape only."),
        "regions.title": ("区域", "Regions"),
        "regions.submit": ("保存区域", "Save regions"),
        "state.title": ("启用 / 停用", "Enable / disable"),
        "disable": ("停用账号", "Disable account"),
        "enable": ("启用账号", "Enable account"),
        "disable.note": ("停用后该账号无法登录，其会话立即结束；账号与审计记录保留。",
                         "A disabled account cannot log in and its sessions end at once; the "
                         "account and its audit trail are kept."),
        "reset.title": ("重置密码", "Reset password"),
        "reset.note": ("生成新的一次性密码，该账号下次登录时必须修改；其会话立即结束。",
                       "Makes a new one-time password, to be changed at the next login; the "
                       "account's sessions end at once."),
        "reset.submit": ("重置密码", "Reset password"),
        "account.title": ("账号 {username}", "Account {username}"),
        "back": ("返回账号列表", "Back to the accounts"),
        "auditor_note": ("审计管理员账号只能在服务器命令行管理（三员分立）。",
                         "An auditor's account is managed from the server's shell only "
                         "(separation of duties)."),
        "self_note": ("不能停用自己的账号。", "You cannot disable your own account."),
        "password.created": ("已创建账号 {username}（{role}）。", "Created {username} ({role})."),
        "password.reset": ("已重置 {username} 的密码。", "The password of {username} was reset."),
        "password.once": ("一次性密码（仅显示这一次，请当面交给本人；首次登录时必须修改）：",
                          "One-time password (shown only now: hand it over in person; it must "
                          "be changed at the first login):"),
        "done.disabled": ("已停用账号。", "The account was disabled."),
        "done.enabled": ("已启用账号。", "The account was enabled."),
        "done.regions": ("已保存区域。", "The regions were saved."),
        "error.username": ("用户名须为 2 至 64 个字符：字母、数字、. _ -，以字母或数字开头。",
                           "A username has 2-64 characters: letters, digits, '.', '_' or '-', "
                           "starting with a letter or digit."),
        "error.taken": ("用户名 {username} 已存在。", "An account named {username} exists already."),
        "error.role": ("不能创建或管理该角色的账号。", "You cannot create or manage accounts of that role."),
        "error.needs_region": ("领导和工作人员账号至少需要一个区域。",
                               "Leaders and staff need at least one region."),
        "error.malformed": ("区划代码格式不正确：{codes}", "Not region codes: {codes}"),
        "error.outside": ("不在本系统区划树中的区划：{codes}", "Not in this system's region tree: {codes}"),
        "error.unknown": ("没有名为 {username} 的账号。", "There is no account named {username}."),
        "error.csrf": ("表单已过期，请重新打开页面后再提交。",
                       "This form has expired: open the page again and resubmit."),
        # -- wall devices (layouts/admin_walls.py, dashboard/app/admin_walls.py)
        "walls.title": ("大屏设备", "Wall devices"),
        "walls.col.id": ("编号", "Id"),
        "walls.col.name": ("名称", "Name"),
        "walls.col.region": ("区域", "Region"),
        "walls.col.privacy": ("隐私模式", "Privacy"),
        "walls.col.allow": ("允许的网络", "Allowed networks"),
        "walls.col.created": ("登记时间", "Enrolled"),
        "walls.col.state": ("状态", "State"),
        "walls.col.seen": ("最近在线", "Last seen"),
        "walls.state.active": ("在用", "in use"),
        "walls.state.revoked": ("已停用", "revoked"),
        "walls.state.rotating": ("令牌更换中", "token being replaced"),
        "walls.until": ("旧令牌有效至 {at}", "old token works until {at}"),
        "walls.since": ("停用于 {at}", "since {at}"),
        "walls.never": ("从未连接", "never"),
        "walls.seen": ("{at}，来自 {address}", "{at} from {address}"),
        "walls.on": ("开启", "on"),
        "walls.off": ("关闭", "off"),
        "walls.any": ("任意地址", "any address"),
        "walls.empty": ("尚未登记大屏设备。", "No wall devices yet."),
        "walls.revoked_group": ("已停用的设备（{n}）", "Revoked devices ({n})"),
        "walls.times": ("时间为 {tz}。", "Times in {tz}."),
        "walls.filter.text": ("名称、地区或区划代码", "Name, region or code"),
        "walls.filter.state": ("状态", "State"),
        "walls.filter.any": ("全部", "any"),
        "walls.filter.submit": ("筛选", "Filter"),
        "walls.filter.clear": ("清除筛选", "Clear"),
        "walls.filter.none": ("没有符合条件的大屏设备。", "No wall devices match."),
        "walls.pages": ("共 {total} 台，第 {page}/{pages} 页", "{total} devices, page {page} of {pages}"),
        "walls.prev": ("上一页", "Previous"),
        "walls.next": ("下一页", "Next"),
        "walls.add.title": ("登记大屏设备", "Enrol a wall device"),
        "walls.add.name": ("名称（屏幕所在位置，如 XX 指挥中心 主屏）",
                           "Name (where the screen hangs)"),
        "walls.add.region": ("区域（大屏显示该区域及其下级）",
                             "Region (the wall shows it and everything below)"),
        "walls.add.pick": ("请选择", "pick one"),
        "walls.add.code": ("或填写区划代码（乡镇及以下）", "or type a region code (townships and below)"),
        "walls.add.allow": ("允许的网络（可多个，用逗号或空格分隔，如 10.1.0.0/16；留空为任意地址）",
                            "Allowed networks (several: commas or spaces, e.g. 10.1.0.0/16; "
                            "empty: any address)"),
        "walls.add.privacy": ("隐私模式（始终隐藏个人信息，案件编号打码）",
                              "Privacy (personal details always hidden, case numbers masked)"),
        "walls.add.submit": ("登记大屏设备", "Enrol wall device"),
        "walls.device": ("大屏设备 {name}", "Wall device {name}"),
        "walls.rotate.title": ("更换令牌", "Replace the token"),
        "walls.rotate.note": ("生成新的大屏地址；当前令牌在下列时长内仍可使用，在此期间把新地址在大屏上打开一次即可无缝切换。之前被更换的旧令牌立即失效。",
                              "Makes a new wall URL; the current token keeps working for the "
                              "hours below, so the screen can be given the new URL without a "
                              "gap. A token replaced before stops at once."),
        "walls.rotate.hours": ("当前令牌继续有效的小时数（0 至 720）",
                               "Hours the current token keeps working (0 to 720)"),
        "walls.rotate.submit": ("更换令牌", "Replace token"),
        "walls.revoke.title": ("停用", "Revoke"),
        "walls.revoke.note": ("停用后，该大屏从下一次刷新起显示“已停用”页面，且不能恢复（新的屏幕请重新登记）。",
                              "Once revoked, the screen shows the disabled page from its next "
                              "refresh on, for good (a new screen gets a new device)."),
        "walls.revoke.open": ("停用该大屏设备", "Revoke this device"),
        "walls.revoke.confirm": ("确定停用大屏设备 {name}？", "Revoke the wall device {name}?"),
        "walls.revoke.submit": ("确定停用", "Revoke"),
        "walls.revoke.cancel": ("取消", "Cancel"),
        "walls.done.revoked": ("已停用大屏设备 {name}。", "The wall device {name} was revoked."),
        "walls.url.added": ("已登记大屏设备 {name}（{region}）。",
                            "Enrolled the wall device {name} ({region})."),
        "walls.url.rotated": ("已为大屏设备 {name} 更换令牌；旧令牌有效至 {until}。",
                              "New token for the wall device {name}; the old one works until "
                              "{until}."),
        "walls.url.once": ("大屏地址（仅显示这一次）：在大屏的浏览器中打开一次，令牌即转为设备凭据并从地址栏消失。",
                           "Wall URL (shown only now): open it once in the wall's browser; "
                           "the token becomes a device cookie and leaves the address bar."),
        "walls.error.name": ("大屏设备须有名称，最多 80 个字符。",
                             "A wall device needs a name of at most 80 characters."),
        "walls.error.region": ("请选择或填写一个区域。", "Pick or type one region."),
        "walls.error.allow": ("不是网络地址：{value}（如 10.1.0.0/16）",
                              "Not a network: {value} (e.g. 10.1.0.0/16)"),
        "walls.error.overlap": ("继续有效的时长须在 0 至 720 小时之间。",
                                "The overlap must be between 0 and 720 hours."),
        "walls.error.unknown": ("没有编号为 {id} 的大屏设备。", "There is no wall device {id}."),
        "walls.error.revoked": ("该大屏设备已停用。", "This wall device is revoked."),
    }),
    # -- /audit: the audit trail (layouts/audit_pages.py, dashboard/app/audit_routes.py)
    **_group("audit", {
        "title": ("审计记录", "Audit trail"),
        "col.id": ("编号", "Id"),
        "col.at": ("时间", "Time"),
        "col.actor": ("操作者", "Actor"),
        "col.address": ("来源地址", "Address"),
        "col.action": ("操作", "Action"),
        "col.target": ("对象", "Target"),
        "col.scope": ("区域", "Scope"),
        "col.result": ("结果", "Result"),
        "col.detail": ("详情", "Detail"),
        "filter.from": ("开始时间", "From"),
        "filter.to": ("结束时间", "To"),
        "filter.actor": ("操作者（用户名）", "Actor (username)"),
        "filter.action": ("操作", "Action"),
        "filter.result": ("结果", "Result"),
        "filter.any": ("全部", "any"),
        "filter.submit": ("筛选", "Filter"),
        "filter.clear": ("清除筛选", "Clear"),
        "export": ("导出 CSV", "Export CSV"),
        "newest": ("最新", "Newest"),
        "newer": ("较新", "Newer"),
        "older": ("较早", "Older"),
        "empty": ("没有符合条件的记录。", "No rows match."),
        "times": ("时间为 {tz}。", "Times in {tz}."),
        "chain.title": ("审计链校验", "Chain verification"),
        "chain.intact": ("审计链完整：已校验 {rows} 条记录（编号 {first} 至 {last}）。",
                         "Chain intact: {rows} rows checked (ids {first}-{last})."),
        "chain.empty": ("审计链完整：尚无记录。", "Chain intact: no rows yet."),
        "chain.partial": ("校验进行中：尚有更新的记录未校验，刷新页面继续。",
                          "In progress: newer rows are still to check; reload to go on."),
        "chain.broken": ("审计链在编号 {id} 的记录处断开：", "Chain broken at row {id}:"),
        "chain.when": ("本轮校验开始于 {started}，最近一次校验于 {checked}。",
                       "This pass began {started}; last checked {checked}."),
        "chain.how": ("每次打开本页会从上次校验到的记录继续校验新增记录；“从头校验”会从第一条记录起重新校验整条链。服务器上的 gridwatch audit verify 一次校验整条链。",
                      "Each visit goes on from the last row checked to the newest; 'Verify "
                      "from the start' checks the whole chain again. gridwatch audit verify "
                      "on the server checks it all at once."),
        "chain.restart": ("从头校验", "Verify from the start"),
        "error.time": ("时间格式不正确（应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM），已忽略。",
                       "Malformed time (YYYY-MM-DD or YYYY-MM-DD HH:MM): ignored."),
        "error.action": ("未知的操作，已忽略。", "Unknown action: ignored."),
        "error.result": ("未知的结果，已忽略。", "Unknown result: ignored."),
        "error.page": ("页码参数不正确，已从最新记录显示。", "Malformed page: showing the newest rows."),
        "error.range": ("结束时间早于开始时间，已忽略时间范围。",
                        "The end is before the start: the time range was ignored."),
    }),
    **_group("common", {
        "app_title": ("gridwatch 指挥中心", "gridwatch Command Center"),  # the browser tab
        "no_data": ("无数据", "no data"),
        "loading": ("加载中…", "Loading…"),
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
