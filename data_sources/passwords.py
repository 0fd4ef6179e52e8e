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
from data_sources.off_loop import releasing_gil

_hasher = PasswordHasher()

# Read aloud or typed from a printout by an operator: no 0/O, 1/l/I.
_LOWER = "".join(c for c in string.ascii_lowercase if c not in "lo")
_UPPER = "".join(c for c in string.ascii_uppercase if c not in "IO")
_DIGITS = "23456789"
_SYMBOLS = "@#%+=?!-"
GENERATED_LENGTH = 16


# In a gevent worker, off the loop: argon2 held it 100-300 ms a login, 32 times in a
# minute as the bench's 50 leaders logged in (docs/benchmarks.md).
def hash_password(password: str) -> str:
    return releasing_gil(_hasher.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` is the one `password_hash` was made from; False for a wrong
    password and for a damaged or foreign hash alike (never raises for either)."""
    try:
        return releasing_gil(_hasher.verify, password_hash, password)
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
