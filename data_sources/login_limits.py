"""Failed logins, lockouts and used second-factor codes, in Redis (shared by every worker
and instance), under the installation's key prefix.

Failures are counted per account and per client address in a sorted set scored by the
caller's clock: those older than the window drop out. The failure that reaches the limit
locks the account (or the address) until a fixed time, and the count starts again. The
caller's clock decides, so a test can cross the lockout without sleeping; key TTLs only
clear leftovers.

Why not Flask-Limiter (maintained, 4.1 in 2025): it limits requests in a window, while a
lockout counts only failures, starts at the failure that reaches the limit (which must be
audited there, with its address), and is lifted a fixed time later; its storage reads the
time itself, so the rule could not be tested across 15 minutes without waiting them.
"""
from __future__ import annotations

import hashlib
import secrets

TTL_MARGIN_SECONDS = 60


class LoginLimits:
    def __init__(self, client, prefix: str):
        self._client = client          # a callable: the app's Redis client
        self.prefix = prefix

    def _key(self, what: str, kind: str, name: str) -> str:
        # Hashed: a typed username or an address may be anything, and a key must stay short.
        digest = hashlib.sha256(str(name).encode("utf-8", "replace")).hexdigest()[:32]
        return f"{self.prefix}login:{what}:{kind}:{digest}"

    def locked_until(self, kind: str, name: str, now: float) -> float | None:
        raw = self._client().get(self._key("lock", kind, name))
        if raw is None:
            return None
        until = float(raw)
        return until if until > now else None

    def failure(self, kind: str, name: str, now: float, attempts: int,
                window: float) -> float | None:
        """Count one failure; returns the time the lock ends when this failure locks."""
        key = self._key("fail", kind, name)
        pipe = self._client().pipeline()
        pipe.zadd(key, {secrets.token_hex(8): now})
        pipe.zremrangebyscore(key, "-inf", now - window)
        pipe.zcard(key)
        pipe.expire(key, int(window) + TTL_MARGIN_SECONDS)
        count = pipe.execute()[2]
        if count < attempts:
            return None
        until = now + window
        pipe = self._client().pipeline()
        pipe.set(self._key("lock", kind, name), repr(until), ex=int(window) + TTL_MARGIN_SECONDS)
        pipe.delete(key)
        pipe.execute()
        return until

    def clear_failures(self, kind: str, name: str) -> None:
        self._client().delete(self._key("fail", kind, name))

    def claim_totp_step(self, account_id: int, step: int, keep: float = 300) -> bool:
        """True the first time a code of `step` (or a later one) is used for the account;
        False for a code of a step already used: a code seen over a shoulder or in a log
        cannot log in again."""
        key = f"{self.prefix}login:totp-step:{int(account_id)}"
        client = self._client()
        # Compare and set in one step, so two requests with the same code cannot both pass.
        script = ("local last = tonumber(redis.call('GET', KEYS[1]) or '-1') "
                  "if tonumber(ARGV[1]) <= last then return 0 end "
                  "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1")
        return bool(client.eval(script, 1, key, int(step), int(keep)))
