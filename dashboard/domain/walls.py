"""Wall devices: the kiosk screens of command centers, each enrolled with a long random
token and bound to one region (docs/security.md, "Wall devices").

The rules, without a framework or a database: how a token is made and stored (only its
SHA-256), when a presented token matches a device (its current token, or the previous one
until the end of a rotation's overlap), which client addresses a device accepts, and what
a request made with it may see (`WallAccess`). data_sources/wall_device_store.py keeps the
devices; dashboard/app/wall_gate.py applies these rules to requests.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode

TOKEN_BYTES = 32            # secrets.token_urlsafe(32): 43 characters, 256 bits
TOKEN_MAX_CHARS = 128       # anything longer in a URL or cookie is not a token
SEEN_EVERY = timedelta(minutes=1)     # last seen time and address: written at most this often
DEFAULT_OVERLAP_HOURS = 24.0          # `walls rotate`: how long the old token keeps working
MAX_OVERLAP_HOURS = 24.0 * 30
NAME_MAX = 80


class WallInputError(ValueError):
    """A value a wall device cannot have: which `field` (name, allow, overlap) and the
    value at fault, so that a page can say it in its own language."""

    def __init__(self, message: str, field: str, value: str = ""):
        super().__init__(message)
        self.field = field
        self.value = value


class DeviceState(StrEnum):
    """What /admin and `walls list` say of a device."""
    ACTIVE = "active"           # 在用
    REVOKED = "revoked"         # 已停用
    ROTATING = "rotating"       # 令牌更换中: the replaced token works until previous_until


def wall_url(base_url: str, token: str) -> str:
    """The URL a kiosk opens once (`base_url`: where kiosks reach gridwatch)."""
    return f"{base_url.rstrip('/')}/wall?{urlencode({'token': token})}"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (hex). A token is 256 random bits, so a fast
    hash is enough: there is nothing to guess from it."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def plausible_token(value: object) -> bool:
    """A value worth hashing and looking up: a string of token_urlsafe's alphabet of a
    sane length (a forged 100 KiB cookie costs nothing)."""
    return isinstance(value, str) and 20 <= len(value) <= TOKEN_MAX_CHARS and all(
        c.isascii() and (c.isalnum() or c in "-_") for c in value)


class Refusal(StrEnum):
    """Why a device may show nothing now (the 已停用 page says which, in words)."""
    UNKNOWN = "unknown"         # no device has this token (never had, or a typo)
    REVOKED = "revoked"         # `walls revoke`
    EXPIRED = "expired"         # a token replaced by `walls rotate`, past its overlap
    ADDRESS = "address"         # the client's address lies outside the device's --allow


@dataclass(frozen=True)
class WallDevice:
    id: int
    name: str
    region_code: str
    privacy: bool
    allow: tuple[str, ...]              # networks (CIDR); empty: any address
    token_hash: str
    previous_hash: str | None
    previous_until: datetime | None     # the previous token works until then
    created_at: datetime
    revoked_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_seen_address: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def token_state(self, token_hash: str, now: datetime) -> Refusal | None:
        """None when `token_hash` is this device's token (its current one, or the one a
        rotation replaced, until the overlap ends); why not otherwise."""
        if hmac.compare_digest(self.token_hash, token_hash):
            return None
        if self.previous_hash and hmac.compare_digest(self.previous_hash, token_hash):
            if self.previous_until is not None and now < self.previous_until:
                return None
            return Refusal.EXPIRED
        return Refusal.UNKNOWN

    def refusal(self, token_hash: str, address: str | None, now: datetime) -> Refusal | None:
        """None when a request with this token from this address may show the wall."""
        if self.revoked:
            return Refusal.REVOKED
        state = self.token_state(token_hash, now)
        if state is not None:
            return state
        if not address_allowed(self.allow, address):
            return Refusal.ADDRESS
        return None

    def state(self, now: datetime) -> DeviceState:
        if self.revoked:
            return DeviceState.REVOKED
        if self.previous_until is not None and now < self.previous_until:
            return DeviceState.ROTATING
        return DeviceState.ACTIVE

    def seen_due(self, now: datetime) -> bool:
        return self.last_seen_at is None or now - self.last_seen_at >= SEEN_EVERY


def parse_networks(values: Iterable[str]) -> tuple[str, ...]:
    """The --allow networks in their canonical spelling (10.1.0.0/16, 2001:db8::/32; a
    single address becomes a /32 or /128); ValueError naming the first one that is not a
    network (host bits set included: 10.1.2.3/16 is more likely a mistake than meant)."""
    out = []
    for value in values:
        text = str(value).strip()
        try:
            out.append(str(ipaddress.ip_network(text, strict=True)))
        except ValueError:
            raise WallInputError(f"not a network: {text[:60]!r} (e.g. 10.1.0.0/16)", "allow",
                                 text[:60]) from None
    return tuple(dict.fromkeys(out))


def address_allowed(allow: Iterable[str], address: str | None) -> bool:
    """Whether a client address lies in one of the networks; any address when there are
    none. An address that cannot be read never lies in one."""
    networks = [ipaddress.ip_network(n) for n in allow]
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped      # ::ffff:10.1.2.3 behind a dual-stack listener
    return any(ip.version == n.version and ip in n for n in networks)


def check_overlap_hours(hours: float) -> float:
    if not (0 <= hours <= MAX_OVERLAP_HOURS):
        raise WallInputError(f"the overlap must be between 0 and {MAX_OVERLAP_HOURS:g} hours",
                             "overlap", f"{hours:g}")
    return float(hours)


def check_name(name: str) -> str:
    text = " ".join(str(name).split())
    if not text:
        raise WallInputError("a wall device needs a name (e.g. 南京市指挥中心 主屏)", "name")
    if len(text) > NAME_MAX:
        raise WallInputError(f"a wall device's name has at most {NAME_MAX} characters", "name",
                             text[:NAME_MAX])
    return text


@dataclass(frozen=True)
class WallAccess:
    """What a wall request may show: the regions it may open (the first where it opens),
    whether personal details are hidden, and who it is (a device, or a person's account).
    `refusal` set: a device that may show nothing now (the 已停用 page)."""
    roots: tuple[str, ...]
    privacy: bool = False
    device: WallDevice | None = None
    account_id: int | None = None
    refusal: Refusal | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None and bool(self.roots)

    @property
    def home(self) -> str | None:
        return self.roots[0] if self.roots else None

    @classmethod
    def of_device(cls, device: WallDevice, refusal: Refusal | None) -> WallAccess:
        return cls(roots=(device.region_code,) if refusal is None else (),
                   privacy=device.privacy, device=device, refusal=refusal)
