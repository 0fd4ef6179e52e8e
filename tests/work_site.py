"""The real app on the seeded installation (Jiangsu) for the work pages' tests (/admin,
/audit): Flask's test client, real Redis and the seeded database, a logged-in client per
role, and the CSRF token a page's forms carry."""
from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

from dashboard import create_app
from dashboard.app.settings import Settings
from data_sources.database import make_engine
from tests.forgery import stop_and_forget
from tests.logins import login, login_with_code, make_account, make_totp_account


@contextmanager
def seeded_app(seeded_env, redis_url):
    """(app, engine, database URL) with Redis keys of its own."""
    env = seeded_env.env
    prefix = f"gwtest:{uuid.uuid4().hex[:12]}:"
    app = create_app(Settings(data_dir=seeded_env.data_dir, redis_url=redis_url,
                              database_url=env["GRIDWATCH_DATABASE_URL"], key_prefix=prefix,
                              stream_key=env["GRIDWATCH_STREAM_KEY"], region="320000"))
    engine = make_engine(env["GRIDWATCH_DATABASE_URL"])
    try:
        yield app, engine, env["GRIDWATCH_DATABASE_URL"]
    finally:
        engine.dispose()
        stop_and_forget(app, redis_url, prefix)


def client_as(site, role: str, regions=None):
    """(a test client logged in as a new account of `role`, its username)."""
    app, _engine, url = site
    client = app.server.test_client()
    if role in ("admin", "auditor"):
        name, password, secret = make_totp_account(url, role)
        assert login_with_code(client, name, password, secret).status_code == 302
    else:
        name, password = make_account(url, role, regions or ("320000",))
        assert login(client, name, password).status_code == 302
    return client, name


def csrf_of(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)
