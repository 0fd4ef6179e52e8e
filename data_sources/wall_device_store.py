"""Wall devices in the database (gw_wall_device): add, list, revoke, rotate, and the last
seen time and address.

Every change is written to the audit trail in the same transaction, under the actor the
caller names (as account changes are: data_sources/account_store.py). A token is returned
once, to be printed in the wall's URL; only its SHA-256 is stored.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from dashboard.domain.audit import Action, Actor, AuditEntry
from dashboard.domain.hierarchy import is_valid_code
from dashboard.domain.walls import (
    SEEN_EVERY,
    WallDevice,
    WallInputError,
    check_name,
    check_overlap_hours,
    hash_token,
    new_token,
    parse_networks,
)
from data_sources.audit_store import AuditStore
from data_sources.schema import meta, region, utcnow, wall_device

# gw_meta's key for the devices' version: a new value with every change (add, revoke,
# rotate), in the change's transaction, so that a worker's copy of the devices
# (app/wall_gate.DeviceDirectory) is read again when, and only when, it changed.
VERSION_KEY = "walls.version"


class WallDeviceError(ValueError):
    """A change refused, with a message for the person who asked (the shell prints it)
    and why (`reason`: name, region, allow, overlap, unknown, revoked; `value`: what was
    at fault), for a page that says it in its own words."""

    def __init__(self, message: str, reason: str, value: str = ""):
        super().__init__(message)
        self.reason = reason
        self.value = value


class WallDeviceStore:
    def __init__(self, engine: sa.Engine, audit: AuditStore | None = None, clock=utcnow):
        self.engine = engine
        self.audit = audit or AuditStore(engine, clock)
        self.clock = clock

    # -- reading -----------------------------------------------------------------------
    def list_devices(self) -> list[WallDevice]:
        with self.engine.connect() as conn:
            return [_device(r) for r in conn.execute(
                sa.select(wall_device).order_by(wall_device.c.id))]

    def device_page(self, now: datetime, text: str = "", state: str = "", offset: int = 0,
                    limit: int = 50) -> tuple[list[WallDevice], dict[str, int]]:
        """The devices whose name holds `text`, whose region code starts with it, or
        whose region or a region above it has a name holding it ("苏州" finds every wall
        under 苏州市), in `state` (DeviceState's values, "" any, as of `now`), those in
        use first and the newest first (as /admin lists them), `limit` from `offset`; and
        how many match `text` in each state. One page, so that /admin does not draw a
        province's walls at once."""
        c = wall_device.c
        # WallDevice.state's rule, asked of the database so that a page is one LIMIT.
        is_state = sa.case((c.revoked_at.is_not(None), "revoked"),
                           (c.previous_until > now, "rotating"), else_="active")
        where = [sa.or_(c.name.contains(text, autoescape=True),
                        c.region_code.startswith(text, autoescape=True),
                        _region_named(c.region_code, text))] if text else []
        with self.engine.connect() as conn:
            counts = {s: n for s, n in conn.execute(
                sa.select(is_state, sa.func.count()).where(*where).group_by(is_state))}
            rows = conn.execute(
                sa.select(wall_device).where(*where, *([is_state == state] if state else []))
                .order_by(sa.case((c.revoked_at.is_(None), 0), else_=1), c.id.desc())
                .offset(offset).limit(limit))
            return [_device(r) for r in rows], counts

    def get(self, device_id: int) -> WallDevice | None:
        with self.engine.connect() as conn:
            return _get(conn, device_id)

    def by_name(self, name: str) -> WallDevice | None:
        """The newest device not revoked with this name (the demo reuses its own)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(wall_device)
                               .where(wall_device.c.name == check_name(name),
                                      wall_device.c.revoked_at.is_(None))
                               .order_by(wall_device.c.id.desc()).limit(1)).first()
        return _device(row) if row is not None else None

    def by_token_hash(self, token_hash: str) -> WallDevice | None:
        """The device whose current or previous token has this hash (whether it is still
        good is the domain's to say: WallDevice.refusal)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(wall_device).where(sa.or_(
                wall_device.c.token_hash == token_hash,
                wall_device.c.previous_hash == token_hash))
                .order_by(wall_device.c.id.desc()).limit(1)).first()
        return _device(row) if row is not None else None

    def version(self) -> str | None:
        """The devices' version (None before the first change): one row by its key."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(meta.c.value)
                                .where(meta.c.key == VERSION_KEY)).scalar()

    # -- changes -----------------------------------------------------------------------
    def add(self, name: str, region_code: str, *, by: Actor, privacy: bool = False,
            allow: Iterable[str] = ()) -> tuple[WallDevice, str]:
        """A new device and its token (to print in its URL, once)."""
        name = _checked(check_name, name)
        code = str(region_code).strip()
        if not is_valid_code(code):
            raise WallDeviceError(f"not a region code: {code[:20]!r}", "region", code[:20])
        networks = _checked(parse_networks, allow)
        token = new_token()
        now = self.clock()
        with self.audit.writing() as conn:
            device_id = conn.execute(wall_device.insert().values(
                name=name, region_code=code, privacy=bool(privacy),
                allow=" ".join(networks) or None, token_hash=hash_token(token),
                created_at=now)).inserted_primary_key[0]
            bump_version(conn)
            self.audit.append_in(conn, AuditEntry(
                by, Action.WALL_ADDED, target=f"wall:{device_id}", scope=code,
                detail={"name": name, "privacy": bool(privacy), "allow": list(networks)}))
            return _get(conn, device_id), token

    def revoke(self, device_id: int, *, by: Actor) -> WallDevice:
        """The device shows 已停用 from its next refresh on; for good (a new screen gets a
        new device)."""
        with self.audit.writing() as conn:
            found = _require(conn, device_id)
            if found.revoked:
                raise WallDeviceError(f"wall device {found.id} was revoked already "
                                      f"({found.revoked_at:%Y-%m-%d %H:%M} UTC)", "revoked")
            conn.execute(wall_device.update().where(wall_device.c.id == found.id)
                         .values(revoked_at=self.clock()))
            bump_version(conn)
            self.audit.append_in(conn, AuditEntry(
                by, Action.WALL_REVOKED, target=f"wall:{found.id}", scope=found.region_code,
                detail={"name": found.name}))
            return _get(conn, found.id)

    def rotate(self, device_id: int, overlap_hours: float, *,
               by: Actor) -> tuple[WallDevice, str]:
        """A new token for the device; the current one keeps working for `overlap_hours`
        (the screen can be given the new URL meanwhile), a token replaced before that
        stops at once."""
        hours = _checked(check_overlap_hours, overlap_hours)
        token = new_token()
        now = self.clock()
        until = now + timedelta(hours=hours)
        with self.audit.writing() as conn:
            found = _require(conn, device_id)
            if found.revoked:
                raise WallDeviceError(f"wall device {found.id} is revoked: add a new one",
                                      "revoked")
            conn.execute(wall_device.update().where(wall_device.c.id == found.id).values(
                token_hash=hash_token(token), previous_hash=found.token_hash,
                previous_until=until))
            bump_version(conn)
            self.audit.append_in(conn, AuditEntry(
                by, Action.WALL_ROTATED, target=f"wall:{found.id}", scope=found.region_code,
                detail={"name": found.name, "overlap_hours": hours,
                        "previous_until": until.isoformat()}))
            return _get(conn, found.id), token

    def seen(self, device_id: int, address: str | None, at: datetime | None = None) -> bool:
        """Record that the device showed the wall, from `address`: at most once a minute
        whichever worker asks (the UPDATE itself says whether the last record is older).
        True when it was written."""
        with self.engine.begin() as conn:
            return conn.execute(_SEEN, _seen_row(device_id, address,
                                                 at or self.clock())).rowcount > 0

    def seen_many(self, seen: Iterable[tuple[int, str | None, datetime]]) -> None:
        """`seen` for many (device id, address, time) in one statement, in the devices'
        order: two workers writing overlapping sets in their own orders deadlocked
        (PostgreSQL took one transaction back, and its sightings with it)."""
        rows = [_seen_row(*s) for s in sorted(seen, key=lambda s: s[0])]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(_SEEN, rows)


_SEEN = (wall_device.update()
         .where(wall_device.c.id == sa.bindparam("device"),
                sa.or_(wall_device.c.last_seen_at.is_(None),
                       wall_device.c.last_seen_at <= sa.bindparam("before")))
         .values(last_seen_at=sa.bindparam("at"), last_seen_address=sa.bindparam("address")))


def _seen_row(device_id: int, address: str | None, at: datetime) -> dict:
    return {"device": int(device_id), "before": at - SEEN_EVERY, "at": at,
            "address": (address or "")[:64] or None}


def bump_version(conn) -> None:
    """A new version of the devices, written with the change it stands for."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(meta).values(key=VERSION_KEY, value=uuid.uuid4().hex)
    conn.execute(insert.on_conflict_do_update(index_elements=[meta.c.key],
                                              set_={"value": insert.excluded.value}))


def _checked(check, value):
    try:
        return check(value)
    except WallInputError as exc:
        raise WallDeviceError(str(exc), exc.field, exc.value) from None


def _require(conn: sa.Connection, device_id: int) -> WallDevice:
    found = _get(conn, device_id)
    if found is None:
        raise WallDeviceError(f"no wall device {device_id} (`gridwatch walls list`)", "unknown")
    return found


def _get(conn: sa.Connection, device_id: int) -> WallDevice | None:
    try:
        key = int(device_id)
    except (TypeError, ValueError):
        return None
    row = conn.execute(sa.select(wall_device).where(wall_device.c.id == key)).first()
    return _device(row) if row is not None else None


def _region_named(code, text: str):
    """The device's region, or one above it, has a name holding `text`: the region table
    looked up by the codes of the region and its ancestors, each cut from the code in
    SQL as dashboard.domain.hierarchy.ancestor_code cuts it in Python (a province's and a
    city's code are their digits padded with zeros; the store tests check every level)."""
    above = [sa.func.substr(code, 1, 2).concat("0000"), sa.func.substr(code, 1, 4).concat("00")]
    above += [sa.func.substr(code, 1, n) for n in (6, 9, 12)]
    return sa.exists().where(region.c.name.contains(text, autoescape=True),
                             region.c.code.in_([code, *above]))


def _device(row) -> WallDevice:
    return WallDevice(id=row.id, name=row.name, region_code=row.region_code,
                      privacy=bool(row.privacy), allow=tuple((row.allow or "").split()),
                      token_hash=row.token_hash, previous_hash=row.previous_hash,
                      previous_until=row.previous_until, created_at=row.created_at,
                      revoked_at=row.revoked_at, last_seen_at=row.last_seen_at,
                      last_seen_address=row.last_seen_address)
