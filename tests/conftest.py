"""Shared fixtures: real Redis and real databases, each test with keys it owns.

Redis: GRIDWATCH_TEST_REDIS_URL (CI: the local server) or else an embedded server the
session starts and stops. PostgreSQL: GRIDWATCH_TEST_PG_URL, or the local server's
`test` database when it answers; tests marked `postgres` skip when neither is reachable
outside CI, and fail inside CI (CI=true) so a broken service is never silently skipped.
"""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

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


@contextmanager
def own_pg_schema():
    """A PostgreSQL URL whose search_path is a fresh schema the caller owns; dropped after."""
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


@contextmanager
def module_database(request, tmp_path_factory):
    """The database URL of a fixture parametrized "sqlite" / "postgres": a fresh SQLite
    file, or a PostgreSQL schema of its own that is dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'gw.db'}"
    else:
        with own_pg_schema() as url:
            yield url


@pytest.fixture
def pg_schema_url():
    """A PostgreSQL URL whose search_path is a fresh schema this test owns and drops."""
    with own_pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """Each database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gw.db'}"
    else:
        yield request.getfixturevalue("pg_schema_url")


@pytest.fixture
def migrated_engine(database_url):
    """An engine on `database_url`'s database, migrated to the head revision."""
    # Imported here: conftest is loaded before the tests that need no database.
    from data_sources import migrate
    from data_sources.database import make_engine
    eng = make_engine(database_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


# -- the real app in a browser ------------------------------------------------------------
def _browser_database_url(tmp_path_factory) -> tuple[str, object]:
    """PostgreSQL (a schema this session owns) when it answers, else SQLite."""
    import sqlalchemy as sa
    base = os.environ.get("GRIDWATCH_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        eng = sa.create_engine(base)
        with eng.connect() as conn:
            conn.exec_driver_sql("select 1")
    except Exception:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        return f"sqlite:///{tmp_path_factory.mktemp('browserdb') / 'gw.db'}", None
    schema = f"gwbrowser_{uuid.uuid4().hex[:10]}"
    with eng.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in base else "?"

    def drop():
        with eng.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        eng.dispose()
    return f"{base}{sep}options=-csearch_path%3D{schema}", drop


@pytest.fixture(scope="session")
def seeded_env(tmp_path_factory, redis_url):
    """A seeded installation (Jiangsu, 21 days at scale 0.01, stream written) shared by the
    browser tests; each server started on it uses its own keys for its cache."""
    from tests.live import Deployment, make_env
    data_dir = tmp_path_factory.mktemp("gridwatch")
    db_url, drop = _browser_database_url(tmp_path_factory)
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    env = make_env(data_dir, db_url, redis_url, prefix, GRIDWATCH_REFRESH_SECONDS="2")
    dep = Deployment(env=env, data_dir=data_dir)
    dep.cli("db", "init")
    dep.cli("seed", "--days", "21", "--scale", "0.01", "--stream-hours", "6")
    # The province's wall device: browser tests open the wall with its cookie
    # (tests.logins.enter_wall), as a kiosk does once its wall URL was opened.
    from tests.logins import wall_device, wall_token
    dep.wall_token = wall_token(wall_device(db_url, "320000", name="测试大屏 江苏省"))
    try:
        yield dep
    finally:
        from data_sources.redis_client import make_client
        client = make_client(redis_url)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        if drop:
            drop()


@pytest.fixture(scope="session")
def live_server(seeded_env):
    """`gridwatch serve` (2 gevent workers) on the seeded installation, with a leader and
    a staff account of the province (`accounts`: role -> (username, password); log a page
    in with tests.logins.sign_in)."""
    from tests.logins import make_account
    if not hasattr(seeded_env, "accounts"):
        seeded_env.accounts = {role: make_account(seeded_env.env["GRIDWATCH_DATABASE_URL"], role)
                               for role in ("leader", "staff")}
    seeded_env.start()
    try:
        yield seeded_env
    finally:
        seeded_env.stop()


@pytest.fixture(scope="session")
def browser():
    from tests.live import chromium_path
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium not found: .ci/run installs Debian's chromium")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, live_server):
    """A 1920×1080 page on the live server that fails the test on a console error or a
    request outside the origin."""
    from tests.live import PageWatch
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(30_000)
    watch = PageWatch(p, live_server.url)
    yield p
    context.close()
    assert watch.foreign == [], f"requests outside the origin: {watch.foreign}"
    assert watch.errors == [], f"console errors: {watch.errors}"


@pytest.fixture(scope="module")
def case_id(live_server):
    """The seeded case with the longest timeline."""
    import sqlalchemy as sa

    from data_sources.database import make_engine
    from data_sources.schema import case_event
    engine = make_engine(live_server.env["GRIDWATCH_DATABASE_URL"])
    with engine.connect() as conn:
        cid = conn.execute(sa.select(case_event.c.case_id).group_by(case_event.c.case_id)
                           .order_by(sa.func.count().desc(), case_event.c.case_id)
                           .limit(1)).scalar()
    engine.dispose()
    return cid
