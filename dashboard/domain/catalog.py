"""Fixed vocabularies of the field (DOMAIN.md §4): categories, sources, urgency, levels.

Shares marked (model) in DOMAIN.md are simulation weights, not published facts.
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
URGENCIES = {"紧急": 0.05, "较急": 0.15, "一般": 0.80}

# Resolution levels, bottom to top, as the funnel shows them.
RESOLUTION_LEVELS = ("网格", "村社", "镇街", "县区", "市")
# (model) DOMAIN.md §4: grid 55–70%, community 15–25%, township 10–15%, county 3–8%, city ≤1%.
RESOLUTION_WEIGHTS = (0.62, 0.20, 0.12, 0.055, 0.005)

RATINGS = ("满意", "基本满意", "不满意")
SUPERVISION_LEVELS = ("催办", "黄牌", "红牌")  # index+1 is the case's supervision_level
TIME_STATUS = ("正常", "将到期", "已超期")
