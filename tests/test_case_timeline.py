"""The /case timeline says each transition as a person would (issue 11 item 7), in
Chinese and English, and the English page names states, events and vocabularies in
English (item 8); nothing the upstream system sent is dropped."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest

from dashboard.views.case import describe

Z = ZoneInfo("Asia/Shanghai")
NAMES = {"320505001001": "金色社区", "320505001001001": "金色社区第1网格"}


def name_of(code):
    return NAMES.get(code, code or "")


@pytest.mark.parametrize("event,detail,zh,en", [
    ("REGISTERED", {"deadline": "2026-11-19T00:01:34.177785+08:00",
                    "sign_deadline": "2026-11-13T00:01:34.177785+08:00"},
     "签收时限 11-13 00:01；办结时限 11-19 00:01", "sign by 11-13 00:01; settle by 11-19 00:01"),
    ("DISPATCHED", {"level": "网格", "org": "320505001001001"},
     "派至 网格 金色社区第1网格", "dispatched to grid 金色社区第1网格"),
    ("ESCALATED", {"level": "村社", "org": "320505001001"},
     "上报至 村社 金色社区", "escalated to community 金色社区"),
    ("ACCEPTED", {"late": True}, "超时签收", "signed late"),
    ("ACCEPTED", {"late": False}, "按时签收", "signed in time"),
    ("CLOSED", {"resolution_level": "村社"}, "村社办结", "settled at community level"),
    ("RATED", {"rating": "基本满意"}, "评价：基本满意", "rated: fairly satisfied"),
    ("SUPERVISED", {"supervision": "黄牌"}, "督办：黄牌", "supervision: yellow card"),
    ("EXTENDED", {"deadline": "2026-11-24T02:34:43.269456+08:00"}, "延期至 11-24 02:34",
     "deadline moved to 11-24 02:34"),
    ("REPORTED", {"case_no": "202611120000000001", "category": "城市管理",
                  "subcategory": "占道经营", "source": "12345热线", "urgency": "一般"},
     "12345热线 上报 · 城市管理 / 占道经营 · 一般", "reported via "),
])
def test_each_transition_reads_as_a_sentence(event, detail, zh, en):
    assert describe(event, detail, "zh", Z, name_of) == zh
    english = describe(event, detail, "en", Z, name_of)
    assert english.startswith(en) and not any("\u4e00" <= ch <= "\u9fff" for ch in
                                              english.replace("金色社区第1网格", "")
                                              .replace("金色社区", ""))
    # No raw field dump, no ISO timestamps, no Python booleans.
    for raw in ("deadline:", "late:", "level:", "org:", "+08:00", "True", "False"):
        assert raw not in describe(event, detail, "zh", Z, name_of)


def test_a_field_it_does_not_know_is_still_shown():
    assert describe("RETURNED", {"reason": "不属本级"}, "zh", Z, name_of) == "reason: 不属本级"


def test_the_english_case_page_names_everything_in_english(seeded_case_page):
    page_en, page_zh = seeded_case_page
    for word in ("Urban management", "Street vending", "12345 hotline", "normal", "community",
                 "Reported"):
        assert word in page_en, word
    for code in ("IN_PROGRESS", "REPORTED\"", "占道经营", "12345热线", "村社"):
        assert code not in page_en, code
    assert "城市管理 / 占道经营" in page_zh


@pytest.fixture
def seeded_case_page():
    from callbacks import case as case_page
    from dashboard.app.context import AppContext, Lazy
    from dashboard.app.settings import Settings
    from tests.fakes import CASE, FakeCaseStore, small_tree, viewer
    tree = small_tree()
    ctx = AppContext(settings=Settings(region="320000"), runtime=None, tree=Lazy(lambda: tree),
                     cache=None, cases=FakeCaseStore(tree, {}, cases={42: CASE}), viewer=viewer)

    def text(lang):
        page = case_page.render(ctx, {"case_id": "42"}, {"lang": lang})
        return json.dumps(page.to_plotly_json(), ensure_ascii=False, default=str)
    return text("en"), text("zh")


def test_the_english_region_page_names_vocabularies_in_english():
    from callbacks import region as region_page
    from dashboard.app.context import AppContext, Lazy
    from dashboard.app.settings import Settings
    from tests.fakes import CASE, FakeCaseStore, small_tree, viewer
    tree = small_tree()
    ctx = AppContext(settings=Settings(region="320000", page_cache_seconds=0), runtime=None,
                     tree=Lazy(lambda: tree), cache=None,
                     cases=FakeCaseStore(tree, {}, cases={42: CASE}), viewer=viewer)
    page = region_page.render(ctx, {"code": "320505"}, {"basis": "open", "lang": "en"})
    text = json.dumps(page.to_plotly_json(), ensure_ascii=False, default=str)
    for word in ("Urban management / Street vending", "12345 hotline", "in progress"):
        assert word in text, word
    for raw in ("城市管理 / 占道经营", "处置中", "'label': '城市管理'", "'label': '12345热线'"):
        assert raw not in text, raw
