"""The second factor: time-based one-time passwords (TOTP, RFC 6238: 6 digits, 30 s), as
any authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP, 阿里云 app)
reads them from a secret or its otpauth:// URI.

A code is accepted for the current 30-second step and the one before or after it (clocks
drift). The step it matched is returned, so that the caller can refuse the same code a
second time (data_sources/login_limits.py keeps the last step used per account).

Pure (pyotp is plain computation): no framework, no storage.
"""
from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
ISSUER = "gridwatch"


def new_secret() -> str:
    """A random base32 secret of 160 bits (RFC 4226's recommendation), from `secrets`."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str = ISSUER) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, as it is typed into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (now's, or one step either side), None when
    it is none of them."""
    code = "".join(str(code or "").split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    step = int(now.timestamp() // STEP_SECONDS)
    found = None
    for s in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        # Every candidate compared, in constant time: how long a refusal takes says nothing.
        if hmac.compare_digest(totp.at(s * STEP_SECONDS), code):
            found = s
    return found


def code_at(secret: str, now: datetime) -> str:
    """The code an app shows at `now` (the demo prints how to get it; tests log in)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(now)
