"""The audit trail's rules: what a row says, how rows chain, how a chain is checked
(等保 2.0 三级: 安全审计).

Each row stores the hash of the row before it and its own hash: sha256 over a canonical
serialization of its fields and that previous hash. Changing a field of a stored row, or
deleting, inserting or reordering rows, breaks the chain at that row, and `verify` names
it. The first row chains from GENESIS, or, once old rows were pruned, from the hash of the
last pruned row (the anchor).

A chain without a secret proves the rows are as written only up to its newest row: whoever
can rewrite the table can also recompute every later hash, or cut the newest rows off.
Keep the head `verify` reports somewhere the database's users cannot write (docs/security.md).

Pure: no framework, no database; data_sources/audit_store.py stores and streams the rows.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum

# The hash every chain starts from when nothing was pruned.
GENESIS = "0" * 64
# Names the serialization below; a new one gets a new name and verify reads both.
FORMAT = "gw-audit-1"
RETENTION_DAYS = 180     # 等保 三级 / 网络安全法 第二十一条: logs kept at least six months


class Action(StrEnum):
    LOGIN_OK = "login_ok"
    LOGIN_FAILED = "login_failed"
    LOCKOUT = "lockout"
    LOGOUT = "logout"
    CASE_VIEWED = "case_viewed"
    EXPORT = "export"
    UNMASK = "unmask"
    ACCOUNT_CREATED = "account_created"
    ACCOUNT_DISABLED = "account_disabled"
    ACCOUNT_ENABLED = "account_enabled"
    REGIONS_CHANGED = "regions_changed"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    TOTP_ENROLLED = "totp_enrolled"
    WALL_ADDED = "wall_added"
    WALL_REVOKED = "wall_revoked"
    WALL_ROTATED = "wall_rotated"
    SETTINGS_CHANGED = "settings_changed"
    AUDIT_PRUNED = "audit_pruned"

    @property
    def zh(self) -> str:
        return ACTION_ZH[self]

    def label(self, lang: str) -> str:
        """What a screen calls it: the Chinese name, or the code itself in English."""
        return self.value if lang == "en" else self.zh


ACTION_ZH = {
    Action.LOGIN_OK: "登录成功",
    Action.LOGIN_FAILED: "登录失败",
    Action.LOCKOUT: "账号锁定",
    Action.LOGOUT: "退出登录",
    Action.CASE_VIEWED: "查看案件",
    Action.EXPORT: "导出",
    Action.UNMASK: "查看个人信息",
    Action.ACCOUNT_CREATED: "创建账号",
    Action.ACCOUNT_DISABLED: "停用账号",
    Action.ACCOUNT_ENABLED: "启用账号",
    Action.REGIONS_CHANGED: "变更账号区域",
    Action.PASSWORD_RESET: "重置密码",
    Action.PASSWORD_CHANGED: "修改密码",
    Action.TOTP_ENROLLED: "绑定动态口令",
    Action.WALL_ADDED: "添加大屏",
    Action.WALL_REVOKED: "吊销大屏",
    Action.WALL_ROTATED: "更换大屏令牌",
    Action.SETTINGS_CHANGED: "修改设置",
    Action.AUDIT_PRUNED: "清理过期审计记录",
}


class Result(StrEnum):
    OK = "ok"
    DENIED = "denied"      # refused: no permission, out of scope, wrong password
    FAILED = "failed"      # tried and could not (an error)

    def label(self, lang: str) -> str:
        return self.value if lang == "en" else RESULT_ZH[self]


RESULT_ZH = {Result.OK: "成功", Result.DENIED: "拒绝", Result.FAILED: "失败"}


def label_of(vocabulary: type[Action] | type[Result], value: str, lang: str) -> str:
    """A stored action's or result's name on screen; a value this version does not know
    (written by a newer one) shows as it is stored."""
    try:
        return vocabulary(value).label(lang)
    except ValueError:
        return value


@dataclass(frozen=True)
class Actor:
    """Who did it and from where: an account (its username and id), a wall device
    ("wall:<id>"), the shell ("cli:<OS user>")."""
    name: str
    account_id: int | None = None
    address: str | None = None

    @classmethod
    def account(cls, account_id: int, username: str, address: str | None) -> Actor:
        return cls(username, account_id, address)

    @classmethod
    def wall(cls, device_id: str, address: str | None) -> Actor:
        return cls(f"wall:{device_id}", None, address)

    @classmethod
    def cli(cls, os_user: str, address: str | None = "local") -> Actor:
        return cls(f"cli:{os_user}", None, address)


@dataclass(frozen=True)
class AuditEntry:
    """What to append; the store gives it its time, id and hashes."""
    actor: Actor
    action: Action | str
    result: Result | str = Result.OK
    target: str | None = None
    scope: str | None = None
    detail: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class AuditRow:
    """A stored row, as the hash covers it (detail is the stored JSON text)."""
    id: int
    at: datetime
    actor: str
    actor_id: int | None
    address: str | None
    action: str
    target: str | None
    scope: str | None
    result: str
    detail: str
    prev_hash: str
    hash: str

    @property
    def detail_data(self) -> dict:
        return json.loads(self.detail) if self.detail else {}


def detail_text(detail: Mapping | None) -> str:
    """The stored form of a row's detail: JSON with sorted keys and no spaces. The hash
    covers this text as stored, so reformatting it is a change too."""
    return json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)


def timestamp(at: datetime) -> str:
    """UTC to the microsecond, what SQLite and PostgreSQL both keep exactly."""
    if at.tzinfo is None:
        raise ValueError("audit times are aware datetimes")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(at: datetime, actor: str, actor_id: int | None, address: str | None,
              action: str, target: str | None, scope: str | None, result: str,
              detail: str, prev_hash: str) -> bytes:
    """The bytes a row's hash is taken over: a JSON array in a fixed order (its quoting
    keeps "a","b|c" apart from "a|b","c"), UTF-8. The id is not in it: ids are the
    database's, and the previous hash already fixes the row's place in the chain."""
    fields = [FORMAT, timestamp(at), actor, actor_id, address, str(action), target, scope,
              str(result), detail, prev_hash]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def row_hash(at: datetime, actor: str, actor_id: int | None, address: str | None,
             action: str, target: str | None, scope: str | None, result: str, detail: str,
             prev_hash: str) -> str:
    return hashlib.sha256(canonical(at, actor, actor_id, address, action, target, scope,
                                    result, detail, prev_hash)).hexdigest()


def hash_of(row: AuditRow) -> str:
    """What `row.hash` must be for the row's fields as stored."""
    return row_hash(row.at, row.actor, row.actor_id, row.address, row.action, row.target,
                    row.scope, row.result, row.detail, row.prev_hash)


@dataclass(frozen=True)
class Verdict:
    rows: int                         # rows checked (up to and including a broken one)
    first_id: int | None
    last_id: int | None
    head: str                         # hash of the last good row (the anchor if none)
    broken_id: int | None = None      # the first row that does not check
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def describe(self) -> str:
        if self.intact:
            span = f" (ids {self.first_id}-{self.last_id})" if self.rows else ""
            return f"{self.rows:,} rows, chain intact{span}; head {self.head}"
        return f"chain broken at row {self.broken_id}: {self.reason}"


def resume(before: Verdict, after: Verdict) -> Verdict:
    """A verdict over a run of rows checked in two parts: `after` checked the rows that
    follow `before`'s last row, from its head."""
    first = before.first_id if before.first_id is not None else after.first_id
    return Verdict(before.rows + after.rows, first,
                   after.last_id if after.last_id is not None else before.last_id,
                   after.head, after.broken_id, after.reason)


def verify(rows: Iterable[AuditRow], anchor_hash: str = GENESIS,
           after_id: int | None = None) -> Verdict:
    """Check rows given in id order, one at a time (an iterator of millions is fine):
    each row's hash must be that of its fields, and its prev_hash the hash of the row
    before it (`anchor_hash` for the first; every id above `after_id`, the last pruned)."""
    count, first_id, last_id, expected = 0, None, after_id, anchor_hash
    for row in rows:
        count += 1
        if first_id is None:
            first_id = row.id
        broken = _check(row, expected, last_id)
        if broken:
            return Verdict(count, first_id, last_id, expected, row.id, broken)
        expected, last_id = row.hash, row.id
    return Verdict(count, first_id, last_id, expected)


def _check(row: AuditRow, expected_prev: str, last_id: int | None) -> str | None:
    if last_id is not None and row.id <= last_id:
        return f"out of order: id {row.id} after id {last_id}"
    if hash_of(row) != row.hash:
        return "its fields do not match its hash: the row was changed"
    if row.prev_hash != expected_prev:
        before = f"row {last_id}" if last_id is not None else "the chain's anchor"
        # Ids can skip on their own (PostgreSQL's sequences after a rollback): a hint only.
        gap = (f" (ids jump from {last_id} to {row.id})"
               if last_id is not None and row.id != last_id + 1 else "")
        return (f"its previous hash is not that of {before}{gap}: a row before it was "
                "deleted, inserted or rewritten")
    return None
