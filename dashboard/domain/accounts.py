"""Who may see what: roles, their permissions, the password policy and an account's scope
(等保 2.0 三级: identification, least privilege, separation of duties).

Four roles, each with a fixed set of permissions. The 审计管理员 reads the audit trail and
nothing else; the 系统管理员 manages accounts and walls but can neither read nor change
the audit trail, and cannot take over an auditor's account (三员分立). Leaders and staff
see data only inside the regions their account is bound to; an account bound to none
sees nothing (default deny).

Pure: no framework, no database. Hashing is data_sources/passwords.py, storage
data_sources/account_store.py.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum

from dashboard.domain.hierarchy import is_valid_code
from dashboard.domain.scope import OutOfScope, RegionScope, narrow


class Role(StrEnum):
    ADMIN = "admin"        # 系统管理员
    AUDITOR = "auditor"    # 审计管理员
    LEADER = "leader"      # 领导
    STAFF = "staff"        # 工作人员

    @property
    def zh(self) -> str:
        return ROLE_ZH[self]

    def label(self, lang: str) -> str:
        return self.zh if lang != "en" else self.value


ROLE_ZH = {
    Role.ADMIN: "系统管理员",
    Role.AUDITOR: "审计管理员",
    Role.LEADER: "领导",
    Role.STAFF: "工作人员",
}


class Permission(StrEnum):
    VIEW_KPI = "view_kpi"                  # /kpi
    VIEW_REGION = "view_region"            # /region's statistics
    VIEW_CASES = "view_cases"              # the case lists behind a number
    VIEW_CASE = "view_case"                # /case: one case's timeline
    EXPORT = "export"                      # CSV / Excel (audited)
    UNMASK_PERSONAL = "unmask_personal"    # reporter, phone, address in clear (audited)
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_WALLS = "manage_walls"          # wall devices: add, revoke
    MANAGE_SETTINGS = "manage_settings"
    READ_AUDIT = "read_audit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Administers the system, sees no case data: an admin who must also look at the data
    # gets a leader or staff account of their own, so that what they see is scoped.
    Role.ADMIN: frozenset({Permission.MANAGE_ACCOUNTS, Permission.MANAGE_WALLS,
                           Permission.MANAGE_SETTINGS}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.LEADER: frozenset({Permission.VIEW_KPI, Permission.VIEW_REGION, Permission.EXPORT}),
    # Staff work the cases (call reporters back), hence the personal data, always audited.
    Role.STAFF: frozenset({Permission.VIEW_REGION, Permission.VIEW_CASES, Permission.VIEW_CASE,
                           Permission.EXPORT, Permission.UNMASK_PERSONAL}),
}

# Whose accounts each role may manage from the web. An auditor's account is managed from
# the shell only: an admin able to reset it could read the audit trail as the auditor.
MANAGEABLE: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.LEADER, Role.STAFF}),
    Role.AUDITOR: frozenset(),
    Role.LEADER: frozenset(),
    Role.STAFF: frozenset(),
}


class NotPermitted(PermissionError):
    """The account's role does not allow what was asked (answered 403)."""


def require(account: "Account | None", permission: Permission) -> "Account":
    """The account when it may do `permission`; NotPermitted otherwise (also for no one)."""
    if account is None or not account.can(permission):
        raise NotPermitted(f"not permitted: {permission}")
    return account


def permissions(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[Role(role)]


def can_manage(manager: Role, target: Role) -> bool:
    return Role(target) in MANAGEABLE[Role(manager)]


def manageable_roles(manager: Role) -> list[Role]:
    """The roles `manager` may create and manage, in the order a form offers them."""
    return [r for r in (Role.STAFF, Role.LEADER, Role.ADMIN, Role.AUDITOR)
            if can_manage(manager, r)]


# Roles that see case data: an account of one bound to no region would see nothing, so
# creating one without a region is refused (the shell's and the web's forms alike).
SCOPED_ROLES = frozenset({Role.LEADER, Role.STAFF})


def needs_region(role: Role | str) -> bool:
    return Role(role) in SCOPED_ROLES


@dataclass(frozen=True)
class RegionCheck:
    """What is wrong with region codes asked for an account: malformed ones, and ones
    outside the installation's region tree."""
    malformed: tuple[str, ...] = ()
    outside: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.malformed and not self.outside


def check_regions(codes: Iterable[str], tree=None) -> RegionCheck:
    """Each code must be a region code and, when a tree is given (None: the region tree
    is not imported, checked by shape only), lie inside its root. `tree` has `root` and
    contains() (data_sources.regions.RegionTree)."""
    codes = [str(c) for c in codes]
    malformed = tuple(c for c in codes if not is_valid_code(c))
    if malformed or tree is None:
        return RegionCheck(malformed)
    return RegionCheck((), tuple(c for c in codes if not tree.contains(tree.root, c)))


# -- usernames -------------------------------------------------------------------------
# ASCII logins, stored lower case: no two accounts that look alike (Ｚhang / zhang), and
# no ':' so that an account never reads as "cli:…" or "wall:…" in the audit trail.
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def normalize_username(username: str) -> str:
    """The stored form of a username; ValueError when it is not one."""
    name = unicodedata.normalize("NFKC", str(username)).strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValueError(f"username {str(username)[:70]!r} must be 2-64 characters: letters, "
                         "digits, '.', '_' or '-', starting with a letter or digit")
    return name


# -- passwords -------------------------------------------------------------------------
MIN_LENGTH = 8
MAX_LENGTH = 128        # past this a password is a way to make the server hash megabytes
MIN_CLASSES = 3         # of lower case, upper case, digit, symbol
MAX_AGE_DAYS = 90


class PasswordProblem(Enum):
    """Why a password is refused: a stable code and what the screen says, in both languages."""
    TOO_SHORT = ("too_short", f"至少 {MIN_LENGTH} 个字符", f"at least {MIN_LENGTH} characters")
    TOO_LONG = ("too_long", f"不超过 {MAX_LENGTH} 个字符", f"at most {MAX_LENGTH} characters")
    FEW_CLASSES = ("few_classes", f"需包含小写字母、大写字母、数字、符号中的至少 {MIN_CLASSES} 类",
                   f"at least {MIN_CLASSES} of: lower case, upper case, digit, symbol")
    SAME_AS_USERNAME = ("same_as_username", "不能与用户名相同", "must not be the username")
    REUSED = ("reused", "不能与当前密码相同", "must differ from the current password")

    def __init__(self, code: str, zh: str, en: str):
        self.code, self.zh, self.en = code, zh, en

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


def character_classes(password: str) -> int:
    """How many of the four classes a password uses. A symbol is anything that is not a
    letter with a case or a digit: punctuation, a space, a 汉字."""
    lower = upper = digit = symbol = False
    for c in password:
        if c.islower():
            lower = True
        elif c.isupper():
            upper = True
        elif c.isdigit():
            digit = True
        else:
            symbol = True
    return lower + upper + digit + symbol


def password_problems(password: str, username: str | None = None) -> list[PasswordProblem]:
    """Everything wrong with `password` (empty: acceptable), in the order to show them."""
    out = []
    if len(password) < MIN_LENGTH:
        out.append(PasswordProblem.TOO_SHORT)
    if len(password) > MAX_LENGTH:
        out.append(PasswordProblem.TOO_LONG)
    if character_classes(password) < MIN_CLASSES:
        out.append(PasswordProblem.FEW_CLASSES)
    if username and password.strip().casefold() == username.strip().casefold():
        out.append(PasswordProblem.SAME_AS_USERNAME)
    return out


def password_expired(changed_at: datetime | None, now: datetime,
                     max_age_days: int = MAX_AGE_DAYS) -> bool:
    """True when the password was set more than max_age_days ago (or never)."""
    if changed_at is None:
        return True
    return now - changed_at > timedelta(days=max_age_days)


def password_age(changed_at: datetime, now: datetime) -> tuple[int, bool]:
    """The password's age in whole days, and whether it has expired (what the account
    lists show, in the shell and on /admin)."""
    return (now - changed_at).days, password_expired(changed_at, now)


# -- accounts and their scope ------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    regions: tuple[str, ...]          # the region codes it is bound to, sorted
    disabled: bool
    must_change_password: bool
    password_changed_at: datetime
    created_at: datetime
    updated_at: datetime
    has_totp: bool = False

    def can(self, permission: Permission | str) -> bool:
        return not self.disabled and permission in ROLE_PERMISSIONS[self.role]

    @property
    def scope(self) -> frozenset[str]:
        return scope_codes(self.regions, self.disabled)


def scope_codes(bound: Iterable[str], disabled: bool = False) -> frozenset[str]:
    """The region codes an account sees below: the ones it is bound to, none when it is
    bound to none or disabled (default deny)."""
    if disabled:
        return frozenset()
    return frozenset(code for code in bound if is_valid_code(code))


def sees(scope: Iterable[str], code: str, tree) -> bool:
    """Whether a region lies in (or below) one of the scope's codes. `tree` has contains()
    (data_sources.regions.RegionTree)."""
    return any(tree.contains(root, code) for root in scope)


def narrow_for(scope: Iterable[str], requested_code: str, tree) -> RegionScope:
    """The RegionScope for `requested_code` when it lies inside one of the account's
    regions; OutOfScope otherwise, also for an empty scope."""
    for root in sorted(scope):
        region = tree.get(root)
        if region is None:
            continue
        try:
            return narrow(RegionScope.of(region), requested_code, tree)
        except OutOfScope:
            continue
    raise OutOfScope(f"region {str(requested_code)[:40]!r} is outside the account's regions")
