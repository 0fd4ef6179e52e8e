"""/audit on the real app (Flask's test client, the seeded database, real Redis): the
auditor filters, pages (by key: each row once while rows are appended) and exports (the
CSV's rows are the table's, and the export is audited); the chain's verification resumes
where it stopped and names a row changed in the database; every other role gets 403 and
no row, and the auditor gets 403 on every other page."""
from __future__ import annotations

import csv
import html
import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from dashboard.domain.audit import Actor, AuditEntry, Result
from data_sources.audit_chain_check import ChainChecks
from data_sources.audit_store import AuditStore
from data_sources.schema import audit_log
from tests.logins import SAME_SITE, route, text_of
from tests.work_site import client_as, csrf_of, seeded_app


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    with seeded_app(seeded_env, redis_url) as s:
        yield s


@pytest.fixture(scope="module")
def auditor(site):
    return client_as(site, "auditor")[0]


def probe_rows(engine, n: int, at=None, **entry) -> tuple[str, list[int]]:
    """`n` rows of a new actor of its own (ids, oldest first)."""
    actor = entry.pop("actor", None) or f"probe-{uuid.uuid4().hex[:8]}"
    store = AuditStore(engine, clock=(lambda: at) if at else AuditStore(engine).clock)
    ids = [store.append(AuditEntry(Actor(actor, None, "10.0.0.1"), entry.get("action", "export"),
                                   entry.get("result", Result.OK), target=f"t{i}",
                                   detail={"n": i, "text": "含\"引号\",逗号"})).id
           for i in range(n)]
    return actor, ids


def table(page_html: str) -> list[dict[str, str]]:
    rows = []
    for tr in re.findall(r'<tr data-id="\d+"[^>]*>(.*?)</tr>', page_html):
        rows.append({k: html.unescape(v) for k, v in
                     re.findall(r'<td class="gw-audit-(\w+)">(.*?)</td>', tr)})
    return rows


def link(page_html: str, ident: str) -> str | None:
    m = re.search(rf'<a [^>]*href="([^"]+)" id="{ident}"', page_html)
    return html.unescape(m.group(1)) if m else None


def all_pages(client, first: str, between=None) -> list[dict]:
    """Every row, following the 'older' links from `first`; `between()` runs before each
    next page (appending rows meanwhile)."""
    rows, url = [], first
    while url:
        page = client.get(url).get_data(as_text=True)
        rows += table(page)
        url = link(page, "page-older")
        if between and url:
            between()
    return rows


def test_the_auditor_filters_by_actor_action_result_and_time(site, auditor):
    _app, engine, _ = site
    now = datetime.now(timezone.utc).replace(microsecond=0)
    actor, _ = probe_rows(engine, 2, at=now - timedelta(hours=3))
    probe_rows(engine, 1, at=now - timedelta(hours=1), actor=actor, result=Result.DENIED,
               action="login_failed")
    page = auditor.get(f"/audit?actor={actor}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    rows = table(page.get_data(as_text=True))
    assert [r["action"] for r in rows] == ["登录失败", "导出", "导出"]       # newest first
    assert {r["actor"] for r in rows} == {actor} and rows[0]["result"] == "拒绝"
    only = table(auditor.get(f"/audit?actor={actor}&action=export").get_data(as_text=True))
    assert [r["target"] for r in only] == ["t1", "t0"]
    denied = table(auditor.get(f"/audit?actor={actor}&result=denied").get_data(as_text=True))
    assert [r["action"] for r in denied] == ["登录失败"]
    # China time: the two older rows lie between 4 and 2 hours ago.
    cn = timezone(timedelta(hours=8))
    since = (now - timedelta(hours=4)).astimezone(cn).strftime("%Y-%m-%dT%H:%M")
    until = (now - timedelta(hours=2)).astimezone(cn).strftime("%Y-%m-%d %H:%M")
    timed = table(auditor.get("/audit", query_string={"actor": actor, "from": since,
                                                      "to": until}).get_data(as_text=True))
    assert [r["target"] for r in timed] == ["t1", "t0"]
    assert timed[0]["at"] == (now - timedelta(hours=3)).astimezone(cn).strftime("%Y-%m-%d %H:%M:%S")
    english = auditor.get(f"/audit?actor={actor}&lang=en").get_data(as_text=True)
    assert [r["action"] for r in table(english)] == ["login_failed", "export", "export"]
    bad = auditor.get(f"/audit?actor={actor}&action=drop_table&before=abc").get_data(as_text=True)
    assert "未知的操作" in bad and len(table(bad)) == 3


def test_keyset_pages_return_each_row_once_while_rows_are_appended(site, auditor):
    _app, engine, _ = site
    actor, ids = probe_rows(engine, 130)
    appended = []
    seen = all_pages(auditor, f"/audit?actor={actor}",
                     between=lambda: appended.extend(probe_rows(engine, 7, actor=actor)[1]))
    assert len(appended) == 14                             # 3 pages, rows added twice
    got = [int(r["id"]) for r in seen]
    assert len(got) == len(set(got)) == 130 and set(got) == set(ids)
    assert got == sorted(got, reverse=True)
    # The newest page shows the appended rows; "newer" from an older page goes back.
    first = auditor.get(f"/audit?actor={actor}").get_data(as_text=True)
    assert int(table(first)[0]["id"]) == appended[-1]
    second = auditor.get(link(first, "page-older")).get_data(as_text=True)
    back = auditor.get(link(second, "page-newer")).get_data(as_text=True)
    assert table(back) == table(first)
    assert link(first, "page-newer") is None and link(first, "page-newest") is None


def test_the_export_holds_the_tables_rows_and_is_audited(site, auditor):
    _app, engine, _ = site
    actor, ids = probe_rows(engine, 75)
    first = auditor.get(f"/audit?actor={actor}&action=export").get_data(as_text=True)
    shown = all_pages(auditor, f"/audit?actor={actor}&action=export")
    probe_rows(engine, 5, actor=actor)                     # after the page was drawn
    resp = auditor.get(link(first, "audit-export"))
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Type"].startswith("text/csv")
    raw = resp.get_data()
    assert raw.startswith("\ufeff".encode("utf-8"))
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0] == ["编号", "时间", "操作者", "来源地址", "操作", "对象", "区域", "结果", "详情"]
    keys = ["id", "at", "actor", "address", "action", "target", "scope", "result", "detail"]
    assert [dict(zip(keys, r)) for r in lines[1:]] == shown
    assert len(shown) == 75 and '"text":"含\\"引号\\",逗号"' in lines[1][8]
    mine = next(r for r in AuditStore(engine).page(limit=20, action="export")
                if r.detail_data.get("filter", {}).get("actor") == actor)
    assert mine.actor_id is not None and mine.detail_data["rows"] == 75
    assert mine.detail_data["filter"] == {"actor": actor, "action": "export"}
    assert mine.target == f"audit-{mine.detail_data['upto_id']}.csv"


@pytest.mark.parametrize("role", ["admin", "leader", "staff"])
def test_every_other_role_gets_403_and_no_row(site, role):
    _app, engine, _ = site
    actor, _ = probe_rows(engine, 1)
    client, _ = client_as(site, role)
    for path in (f"/audit?actor={actor}", f"/audit/export?actor={actor}"):
        resp = client.get(path)
        text = resp.get_data(as_text=True)
        assert resp.status_code == 403 and "无权访问" in text and actor not in text
    assert client.post("/audit/verify", data={}, headers=SAME_SITE).status_code == 403
    assert 'href="/audit"' not in client.get("/account").get_data(as_text=True)


def test_the_auditor_gets_403_on_every_other_page(site, auditor):
    resp = auditor.get("/admin")
    assert resp.status_code == 403 and "无权访问" in resp.get_data(as_text=True)
    assert "account-table" not in resp.get_data(as_text=True)
    for path in ("/kpi", "/region/320000", "/case/1", "/status"):
        answer = text_of(route(auditor, path))
        assert '"forbidden"' in answer and "无权访问" in answer and "320100" not in answer
    account = auditor.get("/account").get_data(as_text=True)
    assert 'href="/audit"' in account and 'href="/admin"' not in account


def test_without_a_session_audit_goes_to_the_login(site):
    app, _engine, _ = site
    resp = app.server.test_client().get("/audit/export")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next=")


def test_the_chain_check_shows_a_changed_row_and_restarts_with_the_token(site, auditor):
    _app, engine, _ = site
    page = auditor.get("/audit").get_data(as_text=True)
    assert 'data-intact="true"' in page
    _actor, ids = probe_rows(engine, 3)
    with engine.begin() as conn:
        original = conn.execute(sa.select(audit_log.c.detail)
                                .where(audit_log.c.id == ids[1])).scalar()
        conn.execute(audit_log.update().where(audit_log.c.id == ids[1]).values(detail="{}"))
    try:
        assert auditor.post("/audit/verify", data={}, headers=SAME_SITE).status_code == 403
        token = csrf_of(page)
        resp = auditor.post("/audit/verify", data={"csrf": token}, headers=SAME_SITE)
        assert resp.status_code == 302
        broken = auditor.get("/audit").get_data(as_text=True)
        assert 'data-intact="false"' in broken and f"编号 {ids[1]} 的记录处断开" in broken
    finally:
        with engine.begin() as conn:
            conn.execute(audit_log.update().where(audit_log.c.id == ids[1])
                         .values(detail=original))
    auditor.post("/audit/verify", data={"csrf": token}, headers=SAME_SITE)
    assert 'data-intact="true"' in auditor.get("/audit").get_data(as_text=True)


# -- the resumed verification, on its own ---------------------------------------------------
def test_a_resumed_check_goes_on_from_its_last_row_and_sees_it_changed(migrated_engine,
                                                                       redis_client, key_prefix):
    store = AuditStore(migrated_engine)
    checks = ChainChecks(lambda: store, lambda: redis_client, key_prefix, step=4)
    now = datetime.now(timezone.utc)
    for i in range(10):
        store.append(AuditEntry(Actor.cli("tests"), "export", target=f"r{i}"))
    steps = [checks.advance(now) for _ in range(3)]
    assert [(c.verdict.rows, c.complete) for c in steps] == [(4, False), (8, False), (10, True)]
    assert steps[-1].verdict.head == store.verify().head
    store.append(AuditEntry(Actor.cli("tests"), "export", target="r10"))
    assert checks.advance(now).verdict.rows == 11                 # only the new row
    assert checks.last().verdict.last_id == store.newest_id()

    # The last checked row rewritten since: named, and the pass stays broken.
    last = store.newest_id()
    real = store.hash_at(last)
    set_row(migrated_engine, last, hash="0" * 64)
    broken = checks.advance(now)
    assert broken.verdict.broken_id == last and "changed" in broken.verdict.reason
    assert checks.advance(now).verdict.broken_id == last
    set_row(migrated_engine, last, hash=real)
    assert checks.advance(now).verdict.broken_id == last          # until a new pass
    again = [checks.advance(now, restart=True), checks.advance(now), checks.advance(now)]
    assert again[-1].verdict.intact and (again[-1].verdict.rows, again[-1].complete) == (11, True)

    # A row before the last checked one changed in place: a resumed pass cannot see it,
    # a new pass names it.
    early = store.page(limit=11)[-3].id
    set_row(migrated_engine, early, detail='{"x":1}')
    assert checks.advance(now).verdict.intact
    assert checks.advance(now, restart=True).verdict.broken_id == early
    set_row(migrated_engine, early, detail="{}")

    # The newest rows cut off: the last checked row is gone.
    checks.advance(now, restart=True)
    while not checks.advance(now).complete:
        pass
    with migrated_engine.begin() as conn:
        conn.execute(audit_log.delete().where(audit_log.c.id == last))
    gone = checks.advance(now)
    assert gone.verdict.broken_id == last and "gone" in gone.verdict.reason


def set_row(engine, row_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(audit_log.update().where(audit_log.c.id == row_id).values(**values))
