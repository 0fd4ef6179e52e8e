"""Secrets kept encrypted in the database: the accounts' TOTP keys (鉴别数据, 等保 2.0 三级
8.1.4.8 b: their confidentiality in storage by cryptography).

SM4 in GCM mode (GB/T 32907, the 国密 block cipher that a 密评 review expects; OpenSSL's,
through `cryptography`, kept by the PyCA), a 128-bit key kept outside the database:

- `GRIDWATCH_DATA_KEY` (32 hex digits), from the deployment's secret store; or else
- a key file in the data directory (`keys/data.key`, mode 0600), made on first use: what a
  demo or a one-machine install needs. A copy of the database alone then reads nothing.

Each sealed value is bound to its place (`context`, e.g. "totp:42" for account 42): a
sealed key copied into another account's row does not open there.
"""
from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "sm4gcm1:"
KEY_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_FILE = Path("keys") / "data.key"


class SecretError(ValueError):
    """A sealed value that does not open: another key, another place, or altered."""


class SecretBox:
    def __init__(self, key: bytes):
        if len(key) != KEY_BYTES:
            raise ValueError(f"the data key must be {KEY_BYTES} bytes ({KEY_BYTES * 2} hex digits)")
        self._key = key

    @classmethod
    def for_installation(cls, data_key: str | None, data_dir: Path) -> "SecretBox":
        """The installation's box: the configured key, or the data directory's key file
        (made now if there is none; several workers starting at once agree on one)."""
        if data_key:
            try:
                return cls(binascii.unhexlify(data_key.strip()))
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"GRIDWATCH_DATA_KEY: {KEY_BYTES * 2} hex digits expected "
                                 f"({exc})") from None
        path = Path(data_dir) / KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not path.exists():
            # Written whole under another name, then linked into place: a worker that loses
            # the race reads the winner's complete key, never a half-written file.
            draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(KEY_BYTES) + "\n")
            try:
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return cls(binascii.unhexlify(path.read_text().strip()))

    def seal(self, plain: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        enc = Cipher(algorithms.SM4(self._key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(context.encode())
        body = enc.update(plain.encode()) + enc.finalize()
        return PREFIX + base64.urlsafe_b64encode(nonce + body + enc.tag).decode().rstrip("=")

    def open(self, sealed: str, context: str) -> str:
        if not is_sealed(sealed):
            raise SecretError("not a sealed value")
        text = sealed[len(PREFIX):]
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise SecretError("not a sealed value") from None
        if len(raw) < NONCE_BYTES + TAG_BYTES:
            raise SecretError("too short")
        nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
        dec = Cipher(algorithms.SM4(self._key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(context.encode())
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag:
            raise SecretError("does not open with this key here") from None


def is_sealed(value: str | None) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)
