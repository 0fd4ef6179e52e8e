"""Wall devices applied to requests: the token exchange, the device cookie, and what a
wall request may show (docs/security.md, "Wall devices").

- **Exchange.** A wall URL carries its device's token (`/wall?token=…`, printed by
  `gridwatch walls add`). Opening it sets the device cookie (the token itself: HttpOnly,
  SameSite=Strict, Secure over https, 400 days) and redirects to the same page without the
  token, so the address bar, the history, Referer headers and proxy logs after it do not
  keep it. That answer is `no-store` and `no-referrer`; the token is never logged.
- **Every wall request** (the page, its callbacks, the live feed) takes its regions and
  privacy from the device (`WallAccess`), or, without a device cookie, from the logged-in
  account (a leader's or staff member's regions). Nothing the browser sends widens them.
- **Cheap.** A province's 1,345 walls refresh every 5 s on 2 workers: each worker asks the
  devices' version (one row) at most every half refresh interval and reads the devices
  again only when it changed (`DeviceDirectory`; every add, revoke and rotate writes a new
  version), so a revoke shows within one refresh at a cost that does not grow with the
  devices, revoked ones included; the last seen time and address are written at most
  once a minute per device, a worker's sightings together every 10 s.
- A device is never logged out by idleness: it has no session. It is read-only: it opens
  the wall and its live feed, nothing else.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import Response, g, redirect, request

from dashboard.app.auth import COOKIE, Auth, address
from dashboard.domain.language import language
from dashboard.domain.sessions import end_reason, roots_in
from dashboard.domain.walls import (
    SEEN_EVERY,
    Refusal,
    WallAccess,
    WallDevice,
    hash_token,
    plausible_token,
)
from data_sources.wall_device_store import WallDeviceStore
from layouts import wall_notice

log = logging.getLogger(__name__)
DEVICE_COOKIE = "gw_wall"
# Browsers cap a cookie's lifetime at 400 days; a wall reloads every night and the cookie
# is set again at each exchange only, so the longest allowed.
COOKIE_DAYS = 400
SEEN_FLUSH_SECONDS = 10.0      # later sightings of the devices: written together
MISS_RELOAD_SECONDS = 1.0     # an unknown token asks the version at most this often
# All devices are read again at least this often whatever the version says: a change
# written around the store (by hand, in SQL) is seen within it.
FULL_RELOAD_SECONDS = 300.0


class DevicesUnavailable(RuntimeError):
    """The devices cannot be read (the database is down) and none were read before."""


class DeviceDirectory:
    """This worker's copy of every device, by token hash (current and previous). The
    devices' version is asked at most every `fresh_seconds` (a token it does not know
    asks it again at most once a second), and the devices are read again when it changed,
    or after `full_seconds`. The database down: the last copy serves."""

    def __init__(self, store, fresh_seconds: float, full_seconds: float = FULL_RELOAD_SECONDS):
        self._store = store             # WallDeviceStore, or a callable building it
        self.fresh_seconds, self.full_seconds = fresh_seconds, full_seconds
        self._by_hash: dict[str, WallDevice] | None = None
        self._loaded = float("-inf")    # when the version was last asked
        self._read = float("-inf")      # when the devices were last read
        self._version: str | None = None
        self.reads = 0                  # how many times the devices were read (tests)
        self._lock = threading.Lock()

    @property
    def store(self) -> WallDeviceStore:
        if not isinstance(self._store, WallDeviceStore):
            self._store = self._store()
        return self._store

    def find(self, token_hash: str) -> WallDevice | None:
        if time.monotonic() - self._loaded >= self.fresh_seconds:
            self._reload(self.fresh_seconds)
        found = (self._by_hash or {}).get(token_hash)
        if found is None and self._reload(MISS_RELOAD_SECONDS):
            found = self._by_hash.get(token_hash)
        return found

    def remember(self, device: WallDevice) -> None:
        """A device just read from the database (a token exchanged): known from now on in
        this worker, without waiting for the next read."""
        with self._lock:
            by_hash = dict(self._by_hash or {})
            by_hash[device.token_hash] = device
            if device.previous_hash:
                by_hash[device.previous_hash] = device
            self._by_hash = by_hash

    def _reload(self, older_than: float) -> bool:
        with self._lock:
            if time.monotonic() - self._loaded < older_than:
                return self._by_hash is not None      # another request just read it
            try:
                version = self.store.version()
                if self._by_hash is not None and version == self._version \
                        and time.monotonic() - self._read < self.full_seconds:
                    self._loaded = time.monotonic()
                    return True
                devices = self.store.list_devices()
            except Exception as exc:  # noqa: BLE001 - keep the last copy
                if self._by_hash is None:
                    raise DevicesUnavailable(str(exc)[:200]) from exc
                log.warning("wall devices not read again (%s: %s): the last copy serves",
                            type(exc).__name__, str(exc)[:200])
                self._loaded = time.monotonic()
                return True
            by_hash = {}
            for d in devices:
                by_hash[d.token_hash] = d
                if d.previous_hash:
                    by_hash.setdefault(d.previous_hash, d)
            # The version asked before the devices: a change in between is read again
            # at the next ask, never missed.
            self._by_hash, self._version = by_hash, version
            self._loaded = self._read = time.monotonic()
            self.reads += 1
            return True


class WallGate:
    def __init__(self, settings, store, auth: Auth, known, clock=None):
        """`store`: the WallDeviceStore or a callable building it; `known(code)`: whether
        the installation's region tree holds a code; `clock`: None follows `auth.clock`
        (tests move one clock across an idle timeout and a rotation's overlap)."""
        self.settings = settings
        self.auth = auth
        self.known = known
        self.clock = clock
        # Half a refresh: a revoke reaches every worker before a screen's next refresh.
        self.directory = DeviceDirectory(store, max(settings.refresh_seconds / 2, 0.5))
        self._seen: dict[int, float] = {}     # device id -> when this worker wrote it
        # Sightings not written yet: later ones together every SEEN_FLUSH_SECONDS, first
        # ones (`_firsts`) at once unless a write is under way (`_writing`).
        self._pending: dict[int, tuple[str | None, datetime]] = {}
        self._firsts = 0
        self._writing = False
        self._flushed = time.monotonic()
        self._pending_lock = threading.Lock()

    def _known(self, code: str) -> bool:
        try:
            return self.known(code)
        except Exception:  # noqa: BLE001 - no tree yet: the wall's page waits for it
            return True

    def now(self) -> datetime:
        return (self.clock or self.auth.clock)()

    # -- what a request may show ---------------------------------------------------------
    def access(self) -> WallAccess | None:
        """The request's wall access (read once per request): its device's, allowed or
        refused; else the logged-in account's; None with neither. DevicesUnavailable when
        a device cookie cannot be checked."""
        if "gridwatch_wall" not in g:
            g.gridwatch_wall = self._access()
        return g.gridwatch_wall

    def _access(self) -> WallAccess | None:
        token = request.cookies.get(DEVICE_COOKIE)
        device = self.device_access(token) if token is not None else None
        if device is not None and device.allowed:
            return device
        try:
            account = self.account_access()
        except Exception:  # noqa: BLE001 - sessions unreadable (Redis down)
            if device is None:
                raise
            account = None      # a refused device still gets its 已停用 page
        # A refused device cookie in a person's logged-in browser does not hide their wall.
        return account if account is not None else device

    def device_access(self, token: str, fresh: bool = False) -> WallAccess:
        if not plausible_token(token):
            return WallAccess((), refusal=Refusal.UNKNOWN)
        digest = hash_token(token)
        if fresh:
            device = self.directory.store.by_token_hash(digest)
            if device is not None:
                self.directory.remember(device)
        else:
            device = self.directory.find(digest)
        if device is None:
            return WallAccess((), refusal=Refusal.UNKNOWN)
        now = self.now()
        refusal = device.refusal(digest, address(), now)
        if refusal is None and not self._known(device.region_code):
            refusal = Refusal.UNKNOWN     # a region the installation no longer has
        if refusal is None:
            self._saw(device, now)
        return WallAccess.of_device(device, refusal)

    def account_access(self) -> WallAccess | None:
        """A leader's or staff member's regions (admins and auditors see none)."""
        cur = self.auth.current()
        if cur is None or not cur.complete:
            return None
        roots = roots_in(cur.account, self._known)
        return WallAccess(roots, account_id=cur.account.id)

    def still_allowed(self, access: WallAccess) -> bool:
        """Checked again while a live feed stays open (every few seconds): a revoked
        device, a token past its overlap, or a person's session that ended stops it."""
        try:
            if access.device is not None:
                token = request.cookies.get(DEVICE_COOKIE)
                if not plausible_token(token):
                    return False
                digest = hash_token(token)
                device = self.directory.find(digest)
                return device is not None and device.refusal(digest, address(),
                                                             self.now()) is None
            session = self.auth.sessions.get(request.cookies.get(COOKIE))
            return session is not None and not end_reason(
                session, self.now().timestamp(), self.auth.rules)
        except Exception as exc:  # noqa: BLE001 - cannot check: the feed ends, it reconnects
            log.info("wall feed not checked again: %s", exc)
            return False

    def _saw(self, device: WallDevice, now: datetime) -> None:
        """The last seen time and address, at most once a minute per device (in this
        worker; the UPDATE itself skips a row another worker wrote meanwhile). A device's
        first sighting in this worker is written at once (whoever just set up a screen
        sees it come), unless a write of this worker is under way: then with the next,
        together with every sighting that came meanwhile. A province's start sees 1,345
        first sightings at once, and an UPDATE each took every connection of the worker's
        pool while the walls' refreshes waited for one (bench.province_scale). The later
        sightings of every device are written together, one statement every
        SEEN_FLUSH_SECONDS (a province's 1,345 walls were ~22 UPDATEs a second, 3.4% of a
        worker). Checked at every request of any device, so that none waits for its own
        next one."""
        mono = time.monotonic()
        with self._pending_lock:
            last = self._seen.get(device.id)
            if last is None or mono - last >= SEEN_EVERY.total_seconds():
                self._seen[device.id] = mono
                self._pending[device.id] = (address(), now)
                self._firsts += last is None
            if not self._pending or self._writing or (
                    not self._firsts and mono - self._flushed < SEEN_FLUSH_SECONDS):
                return
            pending, self._pending, self._firsts = self._pending, {}, 0
            self._flushed, self._writing = mono, True
        rows = [(i, where, at) for i, (where, at) in pending.items()]
        try:
            self._write_seen(lambda store: store.seen_many(rows), len(rows))
        finally:
            with self._pending_lock:
                self._writing = False

    def _write_seen(self, write, n: int) -> None:
        try:
            write(self.directory.store)
        except Exception as exc:  # noqa: BLE001 - never refuses the wall
            log.info("last seen of %d wall devices not written: %s", n, exc)

    # -- the page ------------------------------------------------------------------------
    def exchange(self, token: str) -> Response:
        """The wall URL opened with its token: the device cookie and a redirect to the
        same page without the token; a token that is no good gets the 已停用 page."""
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
        try:
            access = self.device_access(token, fresh=True)
        except Exception as exc:  # noqa: BLE001 - the database down: try again shortly
            log.warning("wall token not checked: %s: %s", type(exc).__name__, str(exc)[:200])
            lang = language(request.args.get("lang"), self.settings.lang)
            return Response(wall_notice.connecting(lang), status=503, mimetype="text/html",
                            headers={"Cache-Control": "no-store", "Retry-After": "10",
                                     "Referrer-Policy": "no-referrer"})
        if not access.allowed:
            resp = self.disabled(access)
        else:
            target = request.path + ("?" + urlencode(query) if query else "")
            resp = redirect(target, code=303)
            resp.set_cookie(DEVICE_COOKIE, token, max_age=int(timedelta(days=COOKIE_DAYS)
                                                                .total_seconds()),
                            path="/", httponly=True, samesite="Strict",
                            secure=request.is_secure or self.settings.secure_cookies)
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    def disabled(self, access: WallAccess) -> Response:
        lang = language(request.args.get("lang"), self.settings.lang)
        name = access.device.name if access.device is not None else None
        return Response(wall_notice.disabled(lang, access.refusal or Refusal.UNKNOWN, name),
                        status=403, mimetype="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
