"""Fixed vocabularies of the field (DOMAIN.md §4): categories, sources, urgency, levels.

Shares marked (model) in DOMAIN.md are simulation weights, not published facts.

The values are data (the case table and the stream carry them in Chinese); each
vocabulary has an English name for every value (`*_EN`), which `in_language` picks for
an English screen.
"""
from __future__ import annotations

CATEGORIES: dict[str, tuple[str, ...]] = {
    "矛盾纠纷": ("婚姻家庭邻里纠纷", "劳资纠纷", "物业管理", "征地拆迁", "土地山林权属", "医患纠纷", "村务管理"),
    "治安隐患": ("盗窃", "赌博", "公共安全"),
    "安全隐患": ("消防安全", "安全生产", "食品卫生"),
    "城市管理": ("私搭乱建", "暴露垃圾", "占道经营", "道路不洁", "机动车乱停放", "路面塌陷"),
    "环境保护": ("环境污染", "噪声扰民", "工地扬尘"),
    "民生服务": ("社保服务", "医疗服务", "就业服务", "住房服务", "证件办理", "公共事业"),
    "特殊人群服务管理": ("刑释人员", "社区矫正", "吸毒人员", "严重精神障碍患者", "重点青少年"),
    "信访诉求": ("信访诉求",),
    "社情民意": ("社情民意",),
    "政策咨询": ("政策咨询",),
    "突发事件报告": ("突发事件报告",),
    "其他": ("其他",),
}
# (model) share of intake per level-1 category.
CATEGORY_WEIGHTS = {
    "城市管理": 0.24, "矛盾纠纷": 0.16, "民生服务": 0.15, "安全隐患": 0.09, "环境保护": 0.09,
    "治安隐患": 0.05, "社情民意": 0.06, "政策咨询": 0.05, "信访诉求": 0.03,
    "特殊人群服务管理": 0.03, "突发事件报告": 0.01, "其他": 0.04,
}

# (model) DOMAIN.md §4 source mix.
SOURCES = {
    "网格员巡查上报": 0.45, "12345热线": 0.30, "群众APP/小程序": 0.08, "110非警务联动": 0.05,
    "视频AI/物联感知": 0.05, "部门推送/数字城管": 0.05, "信访": 0.02,
}
URGENT = "紧急"  # the urgency the screens mark
URGENCIES = {URGENT: 0.05, "较急": 0.15, "一般": 0.80}

# Resolution levels, bottom to top, as the funnel shows them.
RESOLUTION_LEVELS = ("网格", "村社", "镇街", "县区", "市")
# (model) DOMAIN.md §4: grid 55–70%, community 15–25%, township 10–15%, county 3–8%, city ≤1%.
RESOLUTION_WEIGHTS = (0.62, 0.20, 0.12, 0.055, 0.005)

RATINGS = ("满意", "基本满意", "不满意")
SUPERVISION_LEVELS = ("催办", "黄牌", "红牌")  # index+1 is the case's supervision_level
TIME_STATUS = ("正常", "将到期", "已超期")   # of an open case (deadlines.time_status)
# Of a settled case: closed by its deadline, closed after it, rejected at intake.
SETTLED_STATUS = ("按期办结", "超期办结", "不予受理")

CATEGORY_EN = {  # level-1 categories and their subcategories
    "矛盾纠纷": "Disputes", "婚姻家庭邻里纠纷": "Family and neighbour disputes",
    "劳资纠纷": "Labour disputes", "物业管理": "Property management",
    "征地拆迁": "Land requisition and demolition", "土地山林权属": "Land and forest rights",
    "医患纠纷": "Doctor–patient disputes", "村务管理": "Village affairs",
    "治安隐患": "Public order risks", "盗窃": "Theft", "赌博": "Gambling",
    "公共安全": "Public security",
    "安全隐患": "Safety hazards", "消防安全": "Fire safety", "安全生产": "Work safety",
    "食品卫生": "Food hygiene",
    "城市管理": "Urban management", "私搭乱建": "Illegal building", "暴露垃圾": "Exposed rubbish",
    "占道经营": "Street vending", "道路不洁": "Dirty roads", "机动车乱停放": "Illegal parking",
    "路面塌陷": "Road subsidence",
    "环境保护": "Environment", "环境污染": "Pollution", "噪声扰民": "Noise",
    "工地扬尘": "Construction dust",
    "民生服务": "Public services", "社保服务": "Social insurance", "医疗服务": "Medical services",
    "就业服务": "Employment services", "住房服务": "Housing services",
    "证件办理": "ID documents", "公共事业": "Utilities",
    "特殊人群服务管理": "Special groups", "刑释人员": "Released prisoners",
    "社区矫正": "Community corrections", "吸毒人员": "Drug users",
    "严重精神障碍患者": "Severe mental illness", "重点青少年": "At-risk youth",
    "信访诉求": "Petitions", "社情民意": "Public opinion", "政策咨询": "Policy enquiries",
    "突发事件报告": "Emergency reports", "其他": "Other",
}
SOURCE_EN = {
    "网格员巡查上报": "Grid worker patrol", "12345热线": "12345 hotline",
    "群众APP/小程序": "Residents' app", "110非警务联动": "110 non-police referral",
    "视频AI/物联感知": "Video AI / IoT sensors", "部门推送/数字城管": "Departments / digital city",
    "信访": "Petition office",
}
URGENCY_EN = {"紧急": "urgent", "较急": "pressing", "一般": "normal"}
RESOLUTION_LEVEL_EN = {"网格": "grid", "村社": "community", "镇街": "township", "县区": "county",
                       "市": "city"}
RATING_EN = {"满意": "satisfied", "基本满意": "fairly satisfied", "不满意": "dissatisfied"}
SUPERVISION_EN = {"催办": "reminder", "黄牌": "yellow card", "红牌": "red card"}
TIME_STATUS_EN = {"正常": "on track", "将到期": "due soon", "已超期": "overdue",
                  "按期办结": "closed on time", "超期办结": "closed late", "不予受理": "rejected"}


def in_language(value: str, english: dict[str, str], lang: str) -> str:
    """A vocabulary value as an English screen names it (`english`: one of the `*_EN`
    tables); as stored (Chinese) otherwise, and for a value the table does not know."""
    return english.get(value, value) if lang == "en" else value
