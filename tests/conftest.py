"""Shared fixtures: real Redis and real databases, each test with keys it owns.

Redis: GRIDWATCH_TEST_REDIS_URL (CI: the local server) or else an embedded server the
session starts and stops. PostgreSQL: GRIDWATCH_TEST_PG_URL, or the local server's
`test` database when it answers; tests marked `postgres` skip when neither is reachable
outside CI, and fail inside CI (CI=true) so a broken service is never silently skipped.
"""
from __future__ import annotations

import os
import uuid

import pytest

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    url = os.environ.get("GRIDWATCH_TEST_REDIS_URL")
    if url:
        yield url
        return
    from data_sources.embedded_redis import EmbeddedRedis
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def key_prefix():
    """A prefix no other test (or other user of the shared server) owns."""
    return f"gwtest:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def redis_client(redis_url, key_prefix):
    from data_sources.redis_client import make_client
    client = make_client(redis_url)
    yield client
    # Delete only what this test created.
    keys = list(client.scan_iter(match=key_prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _pg_url_or_skip() -> str:
    url = os.environ.get("GRIDWATCH_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        import sqlalchemy as sa
        eng = sa.create_engine(url)
        with eng.connect() as conn:
            conn.exec_driver_sql("select 1")
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable at {url}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
    return url


@pytest.fixture
def pg_schema_url():
    """A PostgreSQL URL whose search_path is a fresh schema this test owns and drops."""
    import sqlalchemy as sa
    base = _pg_url_or_skip()
    schema = f"gwtest_{uuid.uuid4().hex[:10]}"
    eng = sa.create_engine(base)
    with eng.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        yield url
    finally:
        with eng.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        eng.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Each database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gw.db'}"
    else:
        yield request.getfixturevalue("pg_schema_url")
