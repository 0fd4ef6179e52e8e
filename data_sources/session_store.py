"""Login sessions in Redis: one key per session, under the installation's key prefix.

The browser's cookie holds a random id (256 bits from `secrets`); the key is the sha256 of
that id, so whoever can read Redis (a dump, a replica) finds no cookie to replay. The
record is JSON; its times come from the caller's clock and are checked by the caller
(dashboard/domain/sessions.py), the key's TTL only clears what nobody asks for any more.
Every worker and instance reads the same sessions: logging out, or an account change
that ends a session, takes effect everywhere at once.
"""
from __future__ import annotations

import hashlib
import json
import secrets

from dashboard.domain.sessions import Session, Stage

# Redis keeps a record a little past the time it is good for: the clock the caller checks
# against decides, the TTL only removes leftovers.
TTL_MARGIN_SECONDS = 60


class SessionStore:
    def __init__(self, client, prefix: str):
        self._client = client          # a callable: the app's Redis client (made lazily)
        self.prefix = prefix

    def _key(self, session_id: str) -> str:
        digest = hashlib.sha256(session_id.encode("utf-8", "replace")).hexdigest()
        return f"{self.prefix}session:{digest}"

    def create(self, session: Session, ttl: float) -> str:
        """Store a new session under a new random id; returns the id (for the cookie)."""
        session_id = secrets.token_urlsafe(32)
        self.save(session_id, session, ttl)
        return session_id

    def save(self, session_id: str, session: Session, ttl: float) -> None:
        record = {"account_id": session.account_id, "username": session.username,
                  "created": session.created, "seen": session.seen,
                  "stage": session.stage.value, "password_stamp": session.password_stamp,
                  "second_factor": session.second_factor,
                  "pending_secret": session.pending_secret, "csrf": session.csrf}
        self._client().set(self._key(session_id), json.dumps(record),
                           ex=max(1, int(ttl) + TTL_MARGIN_SECONDS))

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = self._client().get(self._key(session_id))
        if raw is None:
            return None
        try:
            r = json.loads(raw)
            return Session(account_id=int(r["account_id"]), username=str(r["username"]),
                           created=float(r["created"]), seen=float(r["seen"]),
                           stage=Stage(r["stage"]), password_stamp=str(r["password_stamp"]),
                           second_factor=bool(r.get("second_factor")),
                           pending_secret=r.get("pending_secret"), csrf=r.get("csrf"))
        except (ValueError, KeyError, TypeError):
            return None     # a record this version cannot read is no session

    def delete(self, session_id: str | None) -> None:
        if session_id and len(session_id) <= 100:
            self._client().delete(self._key(session_id))
