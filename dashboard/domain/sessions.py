"""Login sessions: the steps of a login, when a session ends, and which requests count as
the person's own activity (等保 2.0 三级: 身份鉴别, 登录失败处理, 超时自动退出).

A session belongs to one account. It is complete (Stage.OK) only once every step the
account needs is done: its second factor when it has one, a new password when it must
change it, a second factor enrolled when its role requires one. Until then it opens
nothing but the page of its next step.

A session ends after IDLE without the person doing anything, and at the latest ABSOLUTE
after the login. What the pages do by themselves (a dcc.Interval's tick, a refresh) is
not the person's activity: a screen left open on /status must not keep its session alive.

Pure: no framework, no storage. The sessions live in Redis (data_sources/session_store.py);
dashboard/app/auth.py applies these rules to requests.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from dashboard.domain.accounts import Account, Permission, Role, password_expired


class Stage(StrEnum):
    TOTP = "totp"            # the password was right; the second factor is asked next
    PASSWORD = "password"    # a new password must be set (first login, reset, expired)
    ENROL = "enrol"          # the role requires a second factor and the account has none
    OK = "ok"                # logged in


# Roles whose accounts must have a second factor: they manage accounts or read the audit
# trail (三员); leaders and staff may add one.
TOTP_REQUIRED = frozenset({Role.ADMIN, Role.AUDITOR})


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class Session:
    """What the server keeps about a session; the browser holds only its random id."""
    account_id: int
    username: str
    created: float              # epoch seconds of the login
    seen: float                 # epoch seconds of the person's last activity
    stage: Stage
    # The account's password time when the session began: a reset or a change made
    # elsewhere moves it, which ends this session.
    password_stamp: str
    second_factor: bool = False           # verified (or enrolled) in this session
    pending_secret: str | None = None     # a TOTP secret shown for enrolment, not yet confirmed
    # The token the session's forms carry (/admin, /audit): a form posted without it is
    # refused, whatever its Origin says (dashboard/app/csrf.py).
    csrf: str | None = None

    def with_(self, **changes) -> Session:
        return replace(self, **changes)


def password_stamp(account: Account) -> str:
    return account.password_changed_at.isoformat()


def totp_required(role: Role | str) -> bool:
    return Role(role) in TOTP_REQUIRED


def next_stage(account: Account, now: datetime, second_factor: bool) -> Stage:
    """The step a session of `account` is at. The second factor comes first, when the
    account has one: nothing about the account changes before it is verified."""
    if account.has_totp and not second_factor:
        return Stage.TOTP
    if account.must_change_password or password_expired(account.password_changed_at, now):
        return Stage.PASSWORD
    if totp_required(account.role) and not account.has_totp:
        return Stage.ENROL
    return Stage.OK


def end_reason(session: Session, now: float, rules: SessionRules) -> str | None:
    """Why the session is over at `now` ("idle" or "absolute"), None while it is not."""
    if now - session.created >= rules.absolute.total_seconds():
        return "absolute"
    if now - session.seen >= rules.idle.total_seconds():
        return "idle"
    return None


def remaining(session: Session, now: float, rules: SessionRules) -> float:
    """Seconds until the session ends unless the person does something."""
    return max(0.0, min(session.created + rules.absolute.total_seconds(),
                        session.seen + rules.idle.total_seconds()) - now)


def still_valid(session: Session, account: Account | None) -> bool:
    """Whether the account still stands behind the session: not gone, not disabled, and
    its password not reset or changed since the login."""
    return (account is not None and not account.disabled
            and account.id == session.account_id
            and password_stamp(account) == session.password_stamp)


# A Dash callback request names the properties whose change triggered it (changedPropIds,
# "component.property"). A dcc.Interval's tick changes n_intervals: that is the page
# refreshing itself. An empty list is a callback's first call after the page drew it,
# which the navigation that drew the page already counted.
AUTOMATIC_PROPS = frozenset({"n_intervals"})


def is_activity(changed_prop_ids: Iterable[str]) -> bool:
    """Whether a callback request is the person's doing (a click, a choice, a navigation)
    rather than the page's own timer."""
    props = [str(p).rsplit(".", 1)[-1] for p in changed_prop_ids]
    return any(p not in AUTOMATIC_PROPS for p in props)


def safe_next(path: str | None) -> str | None:
    """A path on this site to return to after the login; None for anything that could
    lead elsewhere (//host, a scheme, a backslash) or back into the login."""
    if not path or not isinstance(path, str) or len(path) > 2000:
        return None
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        return None
    if any(ord(c) < 32 for c in path):
        return None
    if path.split("?", 1)[0] in ("/login", "/logout"):
        return None
    return path


# Where each kind of account lands after its login: the first page its permissions open
# (admins on the accounts, auditors on the audit trail).
def landing(account: Account) -> str:
    if account.can(Permission.VIEW_KPI):
        return "/kpi"
    if account.can(Permission.VIEW_REGION) and account.regions:
        return f"/region/{account.regions[0]}"
    pages = work_pages(account)
    return pages[0][1] if pages else "/account"


# The pages of the roles without case data, each with the permission that opens it and
# its name in the text catalogue: the user menus list those an account may open.
WORK_PAGES = ((Permission.MANAGE_ACCOUNTS, "page.user.admin", "/admin"),
              (Permission.READ_AUDIT, "page.user.audit", "/audit"))


def work_pages(account: Account) -> list[tuple[str, str]]:
    """(catalogue key, path) of the work pages (/admin, /audit) the account may open."""
    return [(key, path) for permission, key, path in WORK_PAGES if account.can(permission)]


def roots_in(account: Account, known: Callable[[str], bool]) -> tuple[str, ...]:
    """The account's regions this installation knows (`known(code)`: in its region tree),
    in order: the first is where its pages open when no region is asked for."""
    scope = account.scope
    return tuple(code for code in account.regions if code in scope and known(code))
