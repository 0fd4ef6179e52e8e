"""The TOTP keys sealed in the database (SM4-GCM, data_sources/secret_box.py): what a copy
of the database shows, what opens and what does not, the installation's key file, and a
key stored in clear by an older gridwatch sealed when it is read."""
from __future__ import annotations

import os
import stat
import threading

import pytest
import sqlalchemy as sa

from dashboard.domain import second_factor
from dashboard.domain.audit import Actor
from data_sources.account_store import AccountStore
from data_sources.schema import account
from data_sources.secret_box import KEY_FILE, PREFIX, SecretBox, SecretError, is_sealed

KEY = bytes(range(16))
OPERATOR = Actor.cli("tests")


def test_a_sealed_value_opens_only_with_its_key_and_in_its_place():
    box = SecretBox(KEY)
    sealed = box.seal("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "totp:7")
    assert sealed.startswith(PREFIX) and "JBSWY3DP" not in sealed and is_sealed(sealed)
    assert box.open(sealed, "totp:7") == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    assert box.seal("x", "totp:7") != box.seal("x", "totp:7")         # a fresh nonce each time
    with pytest.raises(SecretError):
        box.open(sealed, "totp:8")                                    # another account's row
    with pytest.raises(SecretError):
        SecretBox(bytes(16)).open(sealed, "totp:7")                   # another key
    body = sealed[len(PREFIX):]
    flipped = PREFIX + body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    for broken in (flipped, sealed[:-4], PREFIX, PREFIX + "!!", "JBSWY3DPEHPK3PXP"):
        with pytest.raises(SecretError):
            box.open(broken, "totp:7")
    assert len(sealed) <= 255                                          # the column's width


def test_the_installation_key_file_is_made_once_and_private(tmp_path):
    boxes = []
    threads = [threading.Thread(target=lambda: boxes.append(
        SecretBox.for_installation(None, tmp_path))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(boxes) == 8                                            # none failed
    sealed = boxes[0].seal("secret", "c")
    assert all(b.open(sealed, "c") == "secret" for b in boxes)       # all agree on one key
    assert [p.name for p in (tmp_path / KEY_FILE).parent.iterdir()] == ["data.key"]
    path = tmp_path / KEY_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert SecretBox.for_installation(None, tmp_path).open(sealed, "c") == "secret"
    configured = SecretBox.for_installation(KEY.hex(), tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()                      # a configured key: no file
    with pytest.raises(SecretError):
        configured.open(sealed, "c")
    for bad in ("abc", "zz" * 16, KEY.hex() + "00"):
        with pytest.raises(ValueError, match="GRIDWATCH_DATA_KEY|16 bytes"):
            SecretBox.for_installation(bad, tmp_path)


def _stored(engine, username: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(account.c.totp_secret)
                            .where(account.c.username == username)).scalar()


def test_the_database_holds_only_sealed_totp_keys(migrated_engine):
    store = AccountStore(migrated_engine, box=SecretBox(KEY))
    found, _ = store.create("boss", "admin", (), by=OPERATOR)
    secret = second_factor.new_secret()
    store.set_totp_secret("boss", secret, by=OPERATOR)
    raw = _stored(migrated_engine, "boss")
    assert is_sealed(raw) and secret not in raw
    assert store.totp_secret(found.id) == secret
    # The store of another installation (another key), or one without a key, reads nothing.
    with pytest.raises(SecretError):
        AccountStore(migrated_engine, box=SecretBox(bytes(16))).totp_secret(found.id)
    with pytest.raises(SecretError):
        AccountStore(migrated_engine).totp_secret(found.id)
    # A sealed key copied into another account's row does not open there.
    other, _ = store.create("other", "auditor", (), by=OPERATOR)
    with migrated_engine.begin() as conn:
        conn.execute(account.update().where(account.c.id == other.id).values(totp_secret=raw))
    with pytest.raises(SecretError):
        store.totp_secret(other.id)
    store.set_totp_secret("boss", None, by=OPERATOR)
    assert _stored(migrated_engine, "boss") is None and store.totp_secret(found.id) is None


def test_a_key_stored_in_clear_is_sealed_when_read(migrated_engine):
    store = AccountStore(migrated_engine, box=SecretBox(KEY))
    found, _ = store.create("early", "auditor", (), by=OPERATOR)
    secret = second_factor.new_secret()
    with migrated_engine.begin() as conn:        # as gridwatch stored it before revision 0009
        conn.execute(account.update().where(account.c.id == found.id).values(totp_secret=secret))
    assert store.totp_secret(found.id) == secret
    raw = _stored(migrated_engine, "early")
    assert is_sealed(raw) and secret not in raw
    assert store.totp_secret(found.id) == secret
