"""Password hashing (argon2id, argon2-cffi) and generated one-time passwords.

argon2-cffi's PasswordHasher defaults follow RFC 9106's low-memory profile (argon2id,
t=3, 64 MiB, p=4) and move with new releases: `needs_rehash` tells a login to store the
hash again under the current parameters. The hash is a PHC string carrying its own salt
and parameters, so there is nothing else to store.
"""
from __future__ import annotations

import secrets
import string
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dashboard.domain.accounts import password_problems

_hasher = PasswordHasher()

# Read aloud or typed from a printout by an operator: no 0/O, 1/l/I.
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_DIGITS = "23456789"
_SYMBOLS = "@#%+=?!-"
GENERATED_LENGTH = 16


def _off_loop(fn, *args):
    """`fn(*args)` in one of gevent's native threads when gevent has patched the process
    (a gunicorn gevent worker), else here. argon2 costs ~100 ms of CPU by design, and in a
    request's greenlet it held the worker's loop for all of it: every live feed and wall
    of that worker waited (the 50 leaders' logins of bench.province_scale held it 32
    times in a minute, 100–300 ms each; docs/benchmarks.md). argon2-cffi releases the GIL
    while it hashes, so the loop serves the others meanwhile."""
    try:
        from gevent import get_hub, monkey
    except ImportError:
        return fn(*args)
    if not monkey.is_module_patched("threading"):
        return fn(*args)
    return get_hub().threadpool.apply(fn, args)


def hash_password(password: str) -> str:
    return _off_loop(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` is the one `password_hash` was made from; False for a wrong
    password and for a damaged or foreign hash alike (never raises for either)."""
    try:
        return _off_loop(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def generate_password(length: int = GENERATED_LENGTH) -> str:
    """A random password from `secrets` that the policy accepts: one character of each
    class, the rest from all of them, shuffled."""
    classes = (_LOWER, _UPPER, _DIGITS, _SYMBOLS)
    if length < len(classes):
        raise ValueError(f"a generated password has at least {len(classes)} characters")
    chars = [secrets.choice(c) for c in classes]
    everything = "".join(classes)
    chars += [secrets.choice(everything) for _ in range(length - len(classes))]
    secrets.SystemRandom().shuffle(chars)
    password = "".join(chars)
    if password_problems(password):     # cannot happen by construction; never hand one out
        raise RuntimeError("a generated password failed the password policy")
    return password


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(32))


def burn_verification_time(password: str) -> None:
    """Verify against a hash of nothing anyone knows: a login naming no account then takes
    as long to refuse as a wrong password, and does not tell which usernames exist."""
    verify_password(_dummy_hash(), password)
