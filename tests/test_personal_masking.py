"""The masking rules of personal information (dashboard/domain/personal.py), case by case:
pure functions, no app."""
from __future__ import annotations

import pytest

from dashboard.domain.personal import (
    mask_address,
    mask_description,
    mask_name,
    mask_phone,
    personal_of,
    round_point,
)


@pytest.mark.parametrize("name, masked", [
    ("张伟", "张*"), ("王秀英", "王**"), ("欧阳娜娜", "欧阳**"), ("欧阳娜", "欧阳*"),
    ("司马懿", "司马*"), ("诸葛孔明", "诸葛**"),
    ("欧阳", "欧*"),            # two characters: a surname and a given name, not a 复姓 alone
    ("张", "*"), ("", ""), ("  李四  ", "李*"), ("张先生", "张**"),
    ("阿不都热合曼", "阿*****"), ("John Smith", "J*********"), (None, None),
])
def test_names_keep_the_surname_only(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("phone, masked", [
    ("13812341234", "138****1234"), ("138-1234-5678", "138****5678"),
    ("+86 139 0000 8888", "139****8888"), ("8615912345678", "159****5678"),
    ("025-84561234", "025-****1234"), ("02584561234", "025-****1234"),
    ("0512-6521234", "0512-***1234"), ("0512-65212345", "0512-****2345"),
    ("010-12345678", "010-****5678"),
    ("12345", "*****"), ("110", "***"), ("", ""), ("无", ""), (None, None),
    ("6521234", "***1234"),     # a local number without its area code
])
def test_phones_keep_the_head_and_the_last_four(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("address, masked", [
    ("南京市玄武区梅园新村街道成贤街社区中山路12号3栋402室", "南京市玄武区梅园新村街道成贤街社区****"),
    ("南京市溧水区小集镇黄湾村5组49号", "南京市溧水区小集镇黄湾村****"),
    ("苏州市姑苏区平江街道平江新村社区新村路5号", "苏州市姑苏区平江街道平江新村社区****"),
    ("徐州市鼓楼区丰财街道下洪村村口小卖部", "徐州市鼓楼区丰财街道下洪村****"),
    ("常州市天宁区红梅街道红梅新村居委会12幢", "常州市天宁区红梅街道红梅新村居委会****"),
    ("无锡市梁溪区崇安寺街道人民路88号", "无锡市梁溪区崇安寺街道****"),       # no community
    ("江阴市周庄镇华宏路3号", "江阴市周庄镇****"),
    ("镇江市京口区阳光小区5栋", "镇江市京口区****"),                         # 小区 is no county
    ("中山路12号", "****"), ("", ""), (None, None),
    ("南京市玄武区梅园新村街道成贤街社区", "南京市玄武区梅园新村街道成贤街社区"),  # nothing finer
])
def test_addresses_stop_at_the_community(address, masked):
    assert mask_address(address) == masked


def test_descriptions_lose_numbers_and_the_reporters_name():
    text = ("王秀英反映中山路路灯损坏。来电人要求回电，联系电话13812341234，或0512-65212345；"
            "身份证号32010219900101123X，旧号码320102199001011234。案件编号202611200000012345。")
    masked = mask_description(text, "王秀英")
    assert "13812341234" not in masked and "138****1234" in masked
    assert "65212345" not in masked and "0512-****2345" in masked
    assert "32010219900101123X" not in masked and "32**************3X" in masked
    assert "320102199001011234" not in masked
    assert "王秀英" not in masked and "王**反映" in masked
    # A case number is 18 digits too but no identity number (its 7th-14th digits are no
    # birth date) ... it is masked anyway: a description shows no 18-digit run in clear.
    assert "202611200000012345" not in masked
    assert mask_description(None) is None
    assert mask_description("路面塌陷，影响通行。", "张") == "路面塌陷，影响通行。"


def test_points_round_to_about_a_kilometre():
    assert round_point(118.796877, 32.060255) == (118.8, 32.06)
    assert round_point(118.794, None) == (None, None)


def test_a_row_masks_every_field_and_clear_shows_them():
    row = {"description": "电话13812341234", "address": "南京市玄武区玄武门街道百子亭社区北京东路1号",
           "reporter_name": "欧阳娜娜", "reporter_phone": "13812341234",
           "lon": 118.796877, "lat": 32.060255}
    masked = personal_of(row)
    assert (masked.description, masked.address, masked.reporter_name, masked.reporter_phone,
            masked.lon, masked.lat, masked.masked) == (
        "电话138****1234", "南京市玄武区玄武门街道百子亭社区****", "欧阳**", "138****1234",
        118.8, 32.06, True)
    clear = personal_of(row, clear=True)
    assert clear.reporter_name == "欧阳娜娜" and clear.lon == 118.796877 and not clear.masked
    old = personal_of({"id": 1})            # a case from before migration 0008
    assert not old.any and old.reporter_name is None
