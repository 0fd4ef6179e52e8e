"""Accounts in the database (gw_account, gw_account_region).

Every change is written to the audit trail in the same transaction, under the actor the
caller names: the change and its record commit together or not at all. There is no
default password: a new account, and one whose password was reset, gets a random one-time
password (data_sources/passwords.py) that must be changed at the first login.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from dashboard.domain.accounts import (
    Account,
    PasswordProblem,
    Role,
    normalize_username,
    password_problems,
)
from dashboard.domain.audit import Action, Actor, AuditEntry
from dashboard.domain.hierarchy import is_valid_code
from data_sources.audit_store import AuditStore
from data_sources.passwords import (
    burn_verification_time,
    generate_password,
    hash_password,
    needs_rehash,
    verify_password,
)
from data_sources.schema import account, account_region, utcnow
from data_sources.secret_box import SecretBox, SecretError, is_sealed


class AccountError(ValueError):
    """A change refused, with a message for the person who asked."""


class UnknownAccount(AccountError):
    pass


class UsernameTaken(AccountError):
    pass


class WeakPassword(AccountError):
    def __init__(self, problems: list[PasswordProblem]):
        super().__init__("password refused: " + "; ".join(p.en for p in problems))
        self.problems = problems


class AccountStore:
    def __init__(self, engine: sa.Engine, audit: AuditStore | None = None, clock=utcnow,
                 box: SecretBox | None = None):
        """`box` seals the TOTP keys (data_sources/secret_box.py); a store without one
        manages everything but second factors."""
        self.engine = engine
        self.audit = audit or AuditStore(engine, clock)
        self.clock = clock
        self.box = box

    # -- reading -----------------------------------------------------------------------
    def get(self, username: str) -> Account | None:
        try:
            name = normalize_username(username)
        except ValueError:
            return None
        with self.engine.connect() as conn:
            return _get(conn, name)

    def by_id(self, account_id: int) -> Account | None:
        """The account a session belongs to, as it is now (a session checks it on every
        request: disabled, or its password reset since, ends the session)."""
        with self.engine.connect() as conn:
            name = conn.execute(sa.select(account.c.username)
                                .where(account.c.id == int(account_id))).scalar()
            return _get(conn, name) if name is not None else None

    def totp_secret(self, account_id: int) -> str | None:
        """The account's TOTP key in clear (None: no second factor). A key stored in clear
        by an older gridwatch is sealed now, in place."""
        with self.engine.connect() as conn:
            stored = conn.execute(sa.select(account.c.totp_secret)
                                  .where(account.c.id == int(account_id))).scalar()
        if stored is None:
            return None
        box = self._box()
        if is_sealed(stored):
            return box.open(stored, _totp_context(account_id))
        with self.engine.begin() as conn:
            conn.execute(account.update().where(account.c.id == int(account_id))
                         .where(account.c.totp_secret == stored)
                         .values(totp_secret=box.seal(stored, _totp_context(account_id))))
        return stored

    def _box(self) -> SecretBox:
        if self.box is None:
            raise SecretError("no data key: this store cannot read or write second factors")
        return self.box

    def list_accounts(self) -> list[Account]:
        with self.engine.connect() as conn:
            regions: dict[int, list[str]] = {}
            for account_id, code in conn.execute(
                    sa.select(account_region.c.account_id, account_region.c.region_code)):
                regions.setdefault(account_id, []).append(code)
            rows = conn.execute(sa.select(account).order_by(account.c.username)).all()
        return [_account(r, regions.get(r.id, ())) for r in rows]

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account when `password` is its password and it is not disabled, else None
        (the caller audits the attempt: it knows where it came from). Stores the hash
        again when argon2's parameters have moved on since it was made."""
        try:
            name = normalize_username(username)
        except ValueError:
            name = ""       # matches no account, and is refused like an unknown one
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(account.c.id, account.c.password_hash)
                               .where(account.c.username == name)).first()
        if row is None:
            burn_verification_time(password)
            return None
        if not verify_password(row.password_hash, password):
            return None
        if needs_rehash(row.password_hash):
            with self.engine.begin() as conn:
                conn.execute(account.update().where(account.c.id == row.id)
                             .values(password_hash=hash_password(password)))
        found = self.get(name)
        return found if found is not None and not found.disabled else None

    # -- changes -----------------------------------------------------------------------
    def create(self, username: str, role: Role | str, regions: Iterable[str] = (),
               display_name: str | None = None, *, by: Actor,
               must_change: bool = True) -> tuple[Account, str]:
        """A new account and its one-time password (to hand to its owner, once).
        `must_change=False` only for the demo's accounts, whose passwords it prints."""
        name = normalize_username(username)
        role = _role(role)
        codes = _codes(regions)
        display = (display_name or "").strip()[:64] or name
        password = generate_password()
        now = self.clock()
        with self.audit.writing() as conn:
            if _get(conn, name) is not None:
                raise UsernameTaken(f"an account named {name!r} exists already")
            account_id = conn.execute(account.insert().values(
                username=name, display_name=display, role=role.value,
                password_hash=hash_password(password), password_changed_at=now,
                must_change_password=must_change, totp_secret=None, disabled=False,
                created_at=now,
                updated_at=now)).inserted_primary_key[0]
            _bind(conn, account_id, codes)
            self.audit.append_in(conn, AuditEntry(
                by, Action.ACCOUNT_CREATED, target=name, scope=",".join(codes) or None,
                detail={"role": role.value, "regions": list(codes), "display_name": display}))
            created = _get(conn, name)
        return created, password

    def set_disabled(self, username: str, disabled: bool, *, by: Actor) -> Account:
        action = Action.ACCOUNT_DISABLED if disabled else Action.ACCOUNT_ENABLED
        with self.audit.writing() as conn:
            found = self._require(conn, username)
            conn.execute(account.update().where(account.c.id == found.id)
                         .values(disabled=disabled, updated_at=self.clock()))
            self.audit.append_in(conn, AuditEntry(
                by, action, target=found.username,
                detail={"was": "disabled" if found.disabled else "enabled"}))
            return _get(conn, found.username)

    def reset_password(self, username: str, *, by: Actor, must_change: bool = True) -> str:
        """A new one-time password for the account, which must change it at its next
        login; returned to hand to its owner, never stored or logged in clear.
        `must_change=False` only for the demo's accounts."""
        password = generate_password()
        now = self.clock()
        with self.audit.writing() as conn:
            found = self._require(conn, username)
            conn.execute(account.update().where(account.c.id == found.id).values(
                password_hash=hash_password(password), password_changed_at=now,
                must_change_password=must_change, updated_at=now))
            self.audit.append_in(conn, AuditEntry(by, Action.PASSWORD_RESET,
                                                  target=found.username))
        return password

    def change_password(self, username: str, new_password: str, *, by: Actor) -> Account:
        """Set a password its owner chose: checked against the policy and the current
        one; it no longer has to be changed, and its age starts now."""
        with self.audit.writing() as conn:
            found = self._require(conn, username)
            problems = password_problems(new_password, found.username)
            current = conn.execute(sa.select(account.c.password_hash)
                                   .where(account.c.id == found.id)).scalar_one()
            if not problems and verify_password(current, new_password):
                problems = [PasswordProblem.REUSED]
            if problems:
                raise WeakPassword(problems)
            now = self.clock()
            conn.execute(account.update().where(account.c.id == found.id).values(
                password_hash=hash_password(new_password), password_changed_at=now,
                must_change_password=False, updated_at=now))
            self.audit.append_in(conn, AuditEntry(by, Action.PASSWORD_CHANGED,
                                                  target=found.username))
            return _get(conn, found.username)

    def set_totp_secret(self, username: str, secret: str | None, *, by: Actor) -> Account:
        """Enrol the account's second factor (the secret its app was given), audited; the
        secret itself is never written to the trail."""
        with self.audit.writing() as conn:
            found = self._require(conn, username)
            sealed = None if secret is None else \
                self._box().seal(secret, _totp_context(found.id))
            conn.execute(account.update().where(account.c.id == found.id)
                         .values(totp_secret=sealed, updated_at=self.clock()))
            self.audit.append_in(conn, AuditEntry(
                by, Action.TOTP_ENROLLED, target=found.username,
                detail={"had_one": found.has_totp, "removed": secret is None}))
            return _get(conn, found.username)

    def bind_regions(self, username: str, regions: Iterable[str], *, by: Actor) -> Account:
        """Replace the regions the account sees (none: it sees nothing)."""
        codes = _codes(regions)
        with self.audit.writing() as conn:
            found = self._require(conn, username)
            conn.execute(account_region.delete()
                         .where(account_region.c.account_id == found.id))
            _bind(conn, found.id, codes)
            conn.execute(account.update().where(account.c.id == found.id)
                         .values(updated_at=self.clock()))
            self.audit.append_in(conn, AuditEntry(
                by, Action.REGIONS_CHANGED, target=found.username,
                scope=",".join(codes) or None,
                detail={"before": list(found.regions), "after": list(codes)}))
            return _get(conn, found.username)

    def _require(self, conn: sa.Connection, username: str) -> Account:
        try:
            name = normalize_username(username)
        except ValueError as exc:
            raise UnknownAccount(str(exc)) from None
        found = _get(conn, name)
        if found is None:
            raise UnknownAccount(f"no account named {name!r}")
        return found


def _totp_context(account_id: int) -> str:
    return f"totp:{int(account_id)}"


def _get(conn: sa.Connection, username: str) -> Account | None:
    row = conn.execute(sa.select(account).where(account.c.username == username)).first()
    if row is None:
        return None
    codes = conn.execute(sa.select(account_region.c.region_code)
                         .where(account_region.c.account_id == row.id)).scalars().all()
    return _account(row, codes)


def _account(row, codes: Iterable[str]) -> Account:
    return Account(id=row.id, username=row.username, display_name=row.display_name,
                   role=Role(row.role), regions=tuple(sorted(codes)),
                   disabled=bool(row.disabled),
                   must_change_password=bool(row.must_change_password),
                   password_changed_at=row.password_changed_at, created_at=row.created_at,
                   updated_at=row.updated_at, has_totp=row.totp_secret is not None)


def _bind(conn: sa.Connection, account_id: int, codes: tuple[str, ...]) -> None:
    if codes:
        conn.execute(account_region.insert(),
                     [{"account_id": account_id, "region_code": c} for c in codes])


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"no role {str(role)[:20]!r}: one of "
                           f"{', '.join(r.value for r in Role)}") from None


def _codes(regions: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(sorted({str(c).strip() for c in regions}))
    bad = [c for c in codes if not is_valid_code(c)]
    if bad:
        raise AccountError(f"not a region code: {', '.join(repr(c[:20]) for c in bad)}")
    return codes
