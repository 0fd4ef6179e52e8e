"""Login sessions applied to requests: which session a request carries, whether it still
stands, starting, advancing and ending one, and the lockout after failed logins.

The rules are dashboard/domain/sessions.py; the sessions and the failure counters live in
Redis (data_sources/session_store.py, login_limits.py), the accounts and the audit trail in
the database. The clock is an attribute, so tests can move it across the idle timeout,
the absolute lifetime or a lockout without sleeping.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import g, request

from dashboard.app.settings import Settings
from dashboard.domain.accounts import Account, normalize_username
from dashboard.domain.audit import Action, Actor, AuditEntry, Result
from dashboard.domain.sessions import (
    Session,
    SessionRules,
    Stage,
    end_reason,
    next_stage,
    password_stamp,
    remaining,
    still_valid,
)
from data_sources.account_store import AccountStore
from data_sources.login_limits import LoginLimits
from data_sources.session_store import SessionStore

COOKIE = "gw_session"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Current:
    """The session a request carries, checked: its id, record and account as they are now."""
    session_id: str
    session: Session
    account: Account
    # When the request found the session standing (epoch seconds): its activity is dated
    # then, not when it is answered, or a session would outlive the check that let it in.
    checked_at: float | None = None

    @property
    def complete(self) -> bool:
        return self.session.stage == Stage.OK


class Auth:
    def __init__(self, settings: Settings, accounts, sessions: SessionStore,
                 limits: LoginLimits, clock=utcnow):
        """`accounts`: the AccountStore, or a callable that builds it on first use (the
        app's database is not opened by building the app)."""
        self.settings = settings
        self._accounts = accounts
        self.sessions = sessions
        self.limits = limits
        self.clock = clock
        self.rules = SessionRules(idle=timedelta(minutes=settings.session_idle_minutes),
                                  absolute=timedelta(hours=settings.session_hours))

    @property
    def accounts(self) -> AccountStore:
        if not isinstance(self._accounts, AccountStore):
            self._accounts = self._accounts()
        return self._accounts

    # -- the request's session ---------------------------------------------------------
    def current(self) -> Current | None:
        """The request's session while it stands (read once per request); an expired one,
        or one whose account was disabled or had its password reset since, is deleted."""
        if "gridwatch_session" not in g:
            g.gridwatch_session = self._load(request.cookies.get(COOKIE))
        return g.gridwatch_session

    def viewer(self) -> Account | None:
        """The logged-in account of the request (a complete session), else None."""
        cur = self.current() if request else None
        return cur.account if cur is not None and cur.complete else None

    def _load(self, session_id: str | None) -> Current | None:
        session = self.sessions.get(session_id)
        if session is None:
            return None
        now = self.clock()
        if end_reason(session, now.timestamp(), self.rules):
            self.sessions.delete(session_id)
            return None
        account = self.accounts.by_id(session.account_id)
        if not still_valid(session, account):
            self.sessions.delete(session_id)
            return None
        # Derived again on every request: a password that expires during a session sends
        # it to the change page at once.
        stage = next_stage(account, now, session.second_factor)
        return Current(session_id, session.with_(stage=stage), account, now.timestamp())

    def touch(self, cur: Current) -> None:
        """The person did something: the idle time starts again (never past the absolute
        lifetime)."""
        seen = cur.checked_at if cur.checked_at is not None else self.clock().timestamp()
        session = cur.session.with_(seen=seen)
        self.sessions.save(cur.session_id, session, remaining(session, session.seen, self.rules))

    # -- starting, advancing, ending -----------------------------------------------------
    def start(self, account: Account, second_factor: bool, replaces: str | None) -> Current:
        """A new session for `account` under a new id (the one the browser had before,
        if any, is deleted: an id planted before the login is worth nothing after it)."""
        if replaces:
            self.sessions.delete(replaces)
        now = self.clock()
        session = Session(account_id=account.id, username=account.username,
                          created=now.timestamp(), seen=now.timestamp(),
                          stage=next_stage(account, now, second_factor),
                          password_stamp=password_stamp(account), second_factor=second_factor)
        return self._store_new(session, account)

    def advance(self, cur: Current, account: Account | None = None, **changes) -> Current:
        """The session after a step (second factor, new password, enrolment), under a new
        id, keeping its login time: the step changes what the session may do."""
        account = account or cur.account
        now = self.clock()
        session = cur.session.with_(seen=now.timestamp(), password_stamp=password_stamp(account),
                                    **changes)
        session = session.with_(stage=next_stage(account, now, session.second_factor))
        self.sessions.delete(cur.session_id)
        return self._store_new(session, account)

    def keep(self, cur: Current, **changes) -> Current:
        """The same session with a change kept in it (a secret shown for enrolment)."""
        session = cur.session.with_(**changes)
        self.sessions.save(cur.session_id, session,
                           remaining(session, self.clock().timestamp(), self.rules))
        return Current(cur.session_id, session, cur.account)

    def _store_new(self, session: Session, account: Account) -> Current:
        session_id = self.sessions.create(session, remaining(session, session.seen, self.rules))
        cur = Current(session_id, session, account)
        g.gridwatch_session = cur
        return cur

    def end(self, session_id: str | None) -> None:
        self.sessions.delete(session_id)
        g.gridwatch_session = None

    # -- lockout -----------------------------------------------------------------------
    def locked_until(self, username: str, address: str) -> float | None:
        now = self.clock().timestamp()
        until = [u for u in (self.limits.locked_until("account", lock_name(username), now),
                             self.limits.locked_until("address", address, now)) if u]
        return max(until) if until else None

    def failed(self, username: str, address: str, account: Account | None,
               reason: str) -> float | None:
        """Record a failed login (audited with its address); when it reaches the limit,
        the lockout it starts is audited too. Returns the end of a lockout it started."""
        now = self.clock().timestamp()
        window = self.settings.lockout_minutes * 60
        actor = actor_of(account, address, username)
        self.accounts.audit.append(AuditEntry(
            actor, Action.LOGIN_FAILED, Result.DENIED, target=lock_name(username)[:64],
            detail={"reason": reason}))
        locked = None
        for kind, name in (("account", lock_name(username)), ("address", address)):
            until = self.limits.failure(kind, name, now, self.settings.lockout_attempts, window)
            if until is not None:
                locked = max(locked or 0, until)
                self.accounts.audit.append(AuditEntry(
                    actor, Action.LOCKOUT, Result.DENIED,
                    target=(lock_name(username) if kind == "account" else address)[:64],
                    detail={"kind": kind, "attempts": self.settings.lockout_attempts,
                            "minutes": self.settings.lockout_minutes,
                            "until": datetime.fromtimestamp(until, timezone.utc).isoformat()}))
        return locked

    def succeeded(self, account: Account, address: str, **detail) -> None:
        """The login's factors are all verified: audited, and the account's failures
        forgotten (the address's are not: one good login does not clear a guesser's)."""
        self.limits.clear_failures("account", account.username)
        self.accounts.audit.append(AuditEntry(actor_of(account, address), Action.LOGIN_OK,
                                              target=account.username, detail=detail))

    def record(self, action: Action, target: str, scope: str | None, detail: dict,
               result: Result = Result.OK) -> None:
        """Audit what the logged-in viewer did (an export, an unmasking), with their
        address."""
        account = self.viewer()
        if account is not None:
            self.accounts.audit.append(AuditEntry(actor_of(account, address()), action,
                                                  result=result, target=target, scope=scope,
                                                  detail=detail))


def address() -> str:
    """The client's address as this server sees it (behind a proxy: the proxy's, unless
    the deployment passes the client's on; docs/security.md)."""
    return request.remote_addr or "unknown"


def lock_name(username: str) -> str:
    """The name failures are counted under: the stored form of a username, or what was
    typed when it is not one (an unknown name is locked like a known one, so a lockout
    says nothing about which accounts exist)."""
    try:
        return normalize_username(username)
    except ValueError:
        return str(username)[:128]


def actor_of(account: Account | None, addr: str, typed: str | None = None) -> Actor:
    if account is not None:
        return Actor.account(account.id, account.username, addr)
    # No account by that name: "-" is no username (they start with a letter or digit).
    return Actor("-", None, addr)
