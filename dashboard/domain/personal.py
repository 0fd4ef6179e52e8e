"""Personal information on a case (个人信息保护): which fields hold it and how each is
masked before it leaves the server.

Pure functions: a masked value never carries more than the rule lets through, whatever
the input looks like (a name in Latin letters, a landline, an address with no community,
a description with numbers in it). None stays None: old rows have no personal data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# The case table's columns that hold personal information (docs/data-contract.md). The
# walls' queries never select them; every other view that shows a case masks them.
PERSONAL_COLUMNS = ("description", "address", "reporter_name", "reporter_phone", "lon", "lat")

# Compound surnames (复姓) kept whole: 欧阳娜娜 is 欧阳**, not 欧***. The common ones; a
# rarer one is masked as if its second character were the given name (one more star).
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文",
    "司徒", "夏侯", "轩辕", "令狐", "钟离", "闻人", "澹台", "呼延", "端木", "南宫", "万俟",
    "独孤", "申屠", "太史", "西门", "公冶", "东郭", "百里", "濮阳"))

STAR = "*"
# ~1 km: 0.01° is 1.1 km of latitude, and 0.94 km of longitude at 32°N (Jiangsu).
POINT_DECIMALS = 2


def mask_name(name: str | None) -> str | None:
    """The surname and one star per other character: 张* , 张** , 欧阳** ."""
    if name is None:
        return None
    name = name.strip()
    if not name:
        return ""
    if len(name) == 1:
        return STAR
    keep = 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1
    # A name in Latin letters ("John Smith"): its initial only, stars for the rest, so
    # that the length of each part does not tell it either.
    return name[:keep] + STAR * (len(name) - keep)


_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str | None:
    """138****1234 for a mobile (a +86 prefix dropped); a landline keeps its area code
    and last four digits (025-****5678); anything shorter than 7 digits is all stars."""
    if phone is None:
        return None
    digits = "".join(_DIGITS.findall(phone))
    if digits.startswith("86") and len(digits) == 13 and digits[2] == "1":
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1":
        return digits[:3] + STAR * 4 + digits[-4:]
    if len(digits) < 7:
        return STAR * len(digits) if digits else ""
    if digits[0] == "0" and len(digits) >= 10:
        # 0 + a 2-digit (010, 025) or 3-digit (0512) area code: 10-11 and 12 digits in all.
        area = 3 if digits[1] in "12" else 4
        if len(digits) - area in (7, 8):
            return f"{digits[:area]}-" + STAR * (len(digits) - area - 4) + digits[-4:]
    return STAR * (len(digits) - 4) + digits[-4:]


# Where each level ends in an address, read in order: the county (区, 县, a county-level
# 市), then the township (街道, 镇, 乡) after it, then the community (村, 社区, 居委会) after
# that, each at its last mention that is not part of a longer word (小区 is no county,
# 镇江市 starts with no township, 新村街道 and 新村路 are no community, 村口 is no village).
_COUNTY = re.compile(r"(?<=.)(?<![小园景校社超菜夜集门城股闹])(?:区|县|市)")
_TOWNSHIP = re.compile(r"(?<=.)(?:街道|镇|乡)(?!街道|路|街|巷|大道|江|村|区)")
_COMMUNITY = re.compile(r"(?<=.)(?:社区|居委会|村委会|村)(?!街道|路|街|巷|大道|镇|乡|口|里)")
CUT = "****"


def _last_end(pattern: re.Pattern, text: str, start: int) -> int | None:
    end = None
    for m in pattern.finditer(text, start):
        end = m.end()
    return end


def mask_address(address: str | None) -> str | None:
    """The address down to its community (村, 社区, 居委会) and nothing finer. Without a
    community, down to the township, else the county; with none of these, nothing."""
    if address is None:
        return None
    address = address.strip()
    county = _last_end(_COUNTY, address, 0)
    township = _last_end(_TOWNSHIP, address, county or 0)
    community = _last_end(_COMMUNITY, address, township or county or 0)
    end = community or township or county
    if end is None:
        return CUT if address else ""
    return address[:end] + (CUT if end < len(address) else "")


# A resident identity number: 17 digits and a check digit or X, not inside a longer run.
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])0\d{2,3}-?\d{7,8}(?![0-9])")


def mask_id_card(number: str) -> str:
    return number[:2] + STAR * (len(number) - 4) + number[-2:]


def mask_description(text: str | None, reporter_name: str | None = None) -> str | None:
    """The description with identity numbers, mobile and landline numbers masked, and the
    reporter's name where it appears in it."""
    if text is None:
        return None
    text = _ID_CARD.sub(lambda m: mask_id_card(m.group()), text)
    text = _MOBILE.sub(lambda m: mask_phone(m.group()), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m.group()), text)
    name = (reporter_name or "").strip()
    if len(name) >= 2:
        text = text.replace(name, mask_name(name))
    return text


def round_point(lon: float | None, lat: float | None) -> tuple[float | None, float | None]:
    """A point to ~1 km (two decimals of a degree); None when either part is missing."""
    if lon is None or lat is None:
        return None, None
    return round(float(lon), POINT_DECIMALS), round(float(lat), POINT_DECIMALS)


@dataclass(frozen=True)
class Personal:
    """A case's personal fields as a view shows them: masked, or clear."""
    description: str | None
    address: str | None
    reporter_name: str | None
    reporter_phone: str | None
    lon: float | None
    lat: float | None
    masked: bool

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.description, self.address, self.reporter_name,
                                           self.reporter_phone, self.lon, self.lat))


def personal_of(row: dict, clear: bool = False) -> Personal:
    """The personal fields of a case row (a missing column reads as None: a row of a view
    that did not select them), masked unless `clear`."""
    name, lon, lat = row.get("reporter_name"), row.get("lon"), row.get("lat")
    if clear:
        return Personal(row.get("description"), row.get("address"), name,
                        row.get("reporter_phone"), lon, lat, masked=False)
    lon, lat = round_point(lon, lat)
    return Personal(mask_description(row.get("description"), name),
                    mask_address(row.get("address")), mask_name(name),
                    mask_phone(row.get("reporter_phone")), lon, lat, masked=True)
