"""What /admin shows: the accounts as rows, and the region tree an account's regions are
picked from. Pure: accounts and the region tree in, values out."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from dashboard.domain.accounts import Account, can_manage, check_regions, password_age
from dashboard.domain.hierarchy import Level
from dashboard.domain.text import t

# The picker lists the tree down to the counties (Jiangsu: 109 regions); a township or
# anything below is typed as its code, checked against the tree on the server.
PICKER_DEEPEST = Level.COUNTY


@dataclass(frozen=True)
class AccountRow:
    username: str
    name: str
    role: str
    regions: list[str]          # "南京市 320100" each
    disabled: bool
    must_change: bool
    password_days: int
    password_expired: bool
    totp: bool
    manageable: bool            # the viewing admin may change it here


@dataclass(frozen=True)
class PickerRegion:
    code: str
    name: str
    depth: int                  # 0: the installation's root
    children: list[PickerRegion]


def region_label(code: str, tree, lang: str) -> str:
    """A bound region as the pages name it: its name and code, or the code and a note
    when the installation's tree does not hold it (`tree` None: not imported)."""
    region = tree.get(code) if tree is not None else None
    if region is None:
        return t("admin.region_unknown", lang, code=code)
    return f"{region.name} {code}"


def account_rows(accounts: list[Account], manager: Account, tree, lang: str,
                 now: datetime) -> list[AccountRow]:
    rows = []
    for a in accounts:
        days, expired = password_age(a.password_changed_at, now)
        rows.append(AccountRow(a.username, a.display_name, a.role.label(lang),
                               [region_label(c, tree, lang) for c in a.regions], a.disabled,
                               a.must_change_password, days, expired, a.has_totp,
                               can_manage(manager.role, a.role)))
    return rows


def picker(tree) -> PickerRegion | None:
    """The installation's regions down to PICKER_DEEPEST (None: no tree imported)."""
    if tree is None:
        return None

    def node(code: str, depth: int) -> PickerRegion:
        region = tree.get(code)
        kids = [node(c.code, depth + 1) for c in tree.children(code)
                if c.level <= PICKER_DEEPEST] if region.level < PICKER_DEEPEST else []
        return PickerRegion(code, region.name, depth, kids)
    return node(tree.root, 0)


def in_picker(root: PickerRegion | None) -> set[str]:
    """Every code the picker offers (the rest of an account's codes go in the text field)."""
    out, stack = set(), [root] if root else []
    while stack:
        r = stack.pop()
        out.add(r.code)
        stack.extend(r.children)
    return out


def split_codes(text: str) -> list[str]:
    """Codes typed in a field: separated by spaces, commas or semicolons, ASCII or
    full-width, or the enumeration comma (re reads the escapes)."""
    return [c for c in re.split(r"[\s,;\uff0c\u3001\uff1b]+", text) if c][:200]


def region_errors(codes: list[str], tree, lang: str, needed: bool) -> list[str]:
    """What is wrong with the region codes a form asks for, in words: none when `needed`,
    malformed ones, ones outside the installation's tree (`check_regions`, the rule the
    shell's `users add` and `walls add` apply; `tree` None: by shape only)."""
    if needed and not codes:
        return [t("admin.error.needs_region", lang)]
    check = check_regions(codes, tree)
    errors = []
    if check.malformed:
        errors.append(t("admin.error.malformed", lang, codes=", ".join(check.malformed)))
    if check.outside:
        errors.append(t("admin.error.outside", lang, codes=", ".join(check.outside)))
    return errors
