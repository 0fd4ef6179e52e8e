"""The real app on the seeded installation (Jiangsu) for the work pages' tests (/admin,
/audit): Flask's test client, real Redis and the seeded database, a logged-in client per
role, and the CSRF token a page's forms carry."""
from __future__ import annotations

import re
from contextlib import contextmanager

from tests import forgery
from tests.logins import login, login_with_code, make_account, make_totp_account


@contextmanager
def seeded_app(seeded_env, redis_url):
    """(app, engine, database URL): the province's app with Redis keys of its own."""
    with forgery.seeded_app(seeded_env, redis_url, "320000") as (app, engine, _tree):
        yield app, engine, seeded_env.env["GRIDWATCH_DATABASE_URL"]


def client_as(site, role: str, regions=None):
    """(a test client logged in as a new account of `role`, its username)."""
    app, _engine, url = site
    client = app.server.test_client()
    if role in ("admin", "auditor"):
        name, password, secret = make_totp_account(
            url, app.server.config["GRIDWATCH_SETTINGS"].data_dir, role)
        assert login_with_code(client, name, password, secret).status_code == 302
    else:
        name, password = make_account(url, role, regions or ("320000",))
        assert login(client, name, password).status_code == 302
    return client, name


def csrf_of(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)
