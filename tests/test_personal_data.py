"""Personal information never leaves the server in clear (issue 13 part 5): a browsing
session of a leader and of a staff member on the seeded province drives every page,
every callback, both exports and the walls (their callbacks and the live feed), and no
response holds a seeded mobile number or a reporter's full name, except the one answer
that shows a case in full to staff, which is audited in the same request. A leader's
forged request to unmask is refused (403) and audited as refused."""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from dashboard.domain import catalog, text
from dashboard.domain.personal import mask_name, mask_phone
from data_sources.audit_store import AuditStore
from data_sources.database import make_engine
from data_sources.schema import case, region
from data_sources.stream_events import decode_entry, encode_event
from simulator.personal import _TEXT
from tests.forgery import dependencies, forged_body, good_value, seeded_app
from tests.logins import (
    SAME_SITE,
    enrol_client,
    login,
    make_account,
    route,
    sign_in,
    text_of,
    wall_config,
)

ROOT = "320000"
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    """The province's app on the seeded database (its cases carry the simulator's personal
    information), a leader and a staff session of the province, and the seeded people."""
    url = seeded_env.env["GRIDWATCH_DATABASE_URL"]
    with seeded_app(seeded_env, redis_url, ROOT) as (app, engine, _tree):
        sessions = {}
        for role in ("leader", "staff"):
            name, password = make_account(url, role, (ROOT,))
            client = app.server.test_client()
            assert login(client, name, password).status_code == 302
            sessions[role] = (name, client)
        yield app, engine, sessions


@pytest.fixture(scope="module")
def people(site):
    """Every seeded mobile and the reporters' names worth looking for: a two-character
    name that is also a word of the screens (a place, a label, a description) would be
    found where no person is."""
    _app, engine, _ = site
    with engine.connect() as conn:
        rows = conn.execute(sa.select(case.c.reporter_name, case.c.reporter_phone)
                            .where(case.c.reporter_phone.is_not(None))).all()
        places = [n for (n,) in conn.execute(sa.select(region.c.name))]
    background = "\n".join([*places, *(zh for zh, _ in text.ENTRIES.values()),
                            *(a + b for pairs in _TEXT.values() for a, b in pairs),
                            *catalog.CATEGORY_EN, *catalog.SOURCES])
    phones = {p for _, p in rows}
    names = {n for n, _ in rows if n not in background}
    assert len(phones) > 1000 and len(names) > 500, (len(phones), len(names))
    return phones, names


def clear_values(body: str, phones: set[str], names: set[str]) -> list[str]:
    """The seeded phones and full names a response body holds in clear."""
    found = [p for p in MOBILE.findall(body) if p in phones]
    for run in HAN_RUN.findall(body):
        for size in (2, 3, 4):
            found += [run[i:i + size] for i in range(len(run) - size + 1)
                      if run[i:i + size] in names]
    return found


def cases_with_people(engine, limit: int = 8) -> list[dict]:
    """Cases that have a reporter, a few of them with a mobile in their description."""
    with engine.connect() as conn:
        plain = conn.execute(sa.select(case).where(case.c.reporter_phone.is_not(None))
                             .order_by(case.c.id.desc()).limit(limit)).all()
        spelled = conn.execute(sa.select(case).where(case.c.description.like("%联系电话1%"))
                               .order_by(case.c.id).limit(limit)).all()
    return [dict(r._mapping) for r in [*plain, *spelled]]


def last_audit_id(engine) -> int:
    rows = AuditStore(engine).page(limit=1)
    return rows[0].id if rows else 0


def post(client, body):
    return client.post("/_dash-update-component", data=json.dumps(body),
                       content_type="application/json", headers=SAME_SITE)


def unmask_body(app, case_id: int) -> dict:
    dep = next(d for d in dependencies(app) if d["output"] == "case-personal.children")
    return forged_body(dep, {("case-unmask", "n_clicks"): 1, ("url", "pathname"): f"/case/{case_id}",
                       ("url", "search"): ""}, "case-unmask.n_clicks")


class LiveFeed:
    """The walls' live feed (/wall/live) read for a while in a thread of its own (a
    streamed response keeps its request context in its thread), from the stream's start."""

    def __init__(self, app, database_url: str, seconds: float = 8.0, messages: int = 300):
        self.text, self.app = "", app
        # The feed is a wall device's: a client enrolled as the province's wall.
        self.client = app.server.test_client()
        enrol_client(self.client, database_url)
        self._thread = threading.Thread(target=self._run, args=(seconds, messages), daemon=True)
        self._thread.start()

    def _run(self, seconds: float, messages: int) -> None:
        resp = self.client.get(f"/wall/live?region={ROOT}&from=0-1", buffered=False)
        deadline = time.monotonic() + seconds
        try:
            for chunk in resp.response:
                self.text += chunk.decode() if isinstance(chunk, bytes) else chunk
                if time.monotonic() > deadline or self.text.count("event: case") >= messages:
                    break
        finally:
            resp.close()

    def read(self) -> str:
        self._thread.join(timeout=30)
        return self.text


def test_no_response_holds_a_phone_or_a_name_in_clear(site, people):
    app, engine, sessions = site
    phones, names = people
    chosen = cases_with_people(engine)
    some = chosen[0]
    city, county, township = some["city_code"], some["county_code"], some["township_code"]
    today = datetime.now(timezone.utc).date()
    window = f"?period=custom&from={today - timedelta(days=25)}&to={today}"
    paths = ["/", "/wall", "/kpi", f"/kpi?region={city}", "/status", f"/region/{ROOT}",
             f"/region/{city}{window}", f"/region/{county}?basis=open",
             f"/region/{township}{window}", f"/region/{some['grid_code']}{window}",
             f"/region/{township}?basis=overdue",
             *(f"/case/{c['id']}" for c in chosen), f"/case/{some['id']}?lang=en"]
    answers: list[tuple[str, str, str]] = []    # (role, what, body)
    deps = dependencies(app)
    wall_cfg = wall_config(next(iter(sessions.values()))[1])
    for role, (_name, client) in sessions.items():
        for path in paths:
            pathname, _, search = path.partition("?")
            resp = route(client, pathname, "?" + search if search else "")
            assert resp.status_code == 200, (role, path, resp.status_code)
            answers.append((role, path, text_of(resp)))
        for url in ("/login", "/account", "/_dash-layout", "/healthz", "/status"):
            answers.append((role, url, client.get(url).get_data(as_text=True)))
        # Every callback with real values, on a case's page, a region's and the wall's.
        for dep in deps:
            specs = dep["inputs"] + dep["state"]
            for pathname, search in (("/wall", ""), (f"/region/{township}", window),
                                     (f"/case/{some['id']}", "")):
                values = {(s["id"], s["property"]): good_value(s["id"], s["property"], wall_cfg)
                          for s in specs}
                values.update({("url", "pathname"): pathname, ("url", "search"): search,
                               ("wall-region", "data"): ROOT,
                               ("wall-config", "data"): wall_cfg,
                               ("case-grid", "cellClicked"): {"rowId": str(some["id"])},
                               ("children-grid", "cellClicked"): {"rowId": county}})
                first = dep["inputs"][0]
                resp = post(client, forged_body(dep, values, f"{first['id']}.{first['property']}"))
                assert resp.status_code < 500, (dep["output"], resp.status_code)
                answers.append((role, f"{dep['output'][:50]} on {pathname}", text_of(resp)))
    # The walls' live feed, as a wall device reads it.
    answers.append(("wall", "/wall/live", LiveFeed(app, engine.url.render_as_string(
        hide_password=False)).read()))

    leaks = [(role, what, clear_values(body, phones, names)[:3]) for role, what, body in answers]
    # The one exception: staff pressing 显示完整信息 on a case's page (audited: below). The
    # scan finds it, so it would find any other.
    shown = [leak for leak in leaks if leak[0] == "staff" and leak[1].startswith(
        "case-personal.children on /case/")]
    assert shown and all(leak[2] for leak in shown)
    leaks = [leak for leak in leaks if leak[2] and leak not in shown]
    assert leaks == [], leaks[:5]
    # The scan saw personal information, masked: staff's case pages, lists and exports.
    staff = "\n".join(body for role, _, body in answers if role == "staff")
    assert mask_phone(some["reporter_phone"]) in staff
    assert mask_name(some["reporter_name"]) in staff
    assert "cases-" in staff and re.search(r"1[3-9][0-9]\*{4}[0-9]{4}", staff)
    live = next(body for role, _, body in answers if role == "wall")
    assert live.count("event: case") > 10


def test_case_page_and_lists_are_masked_for_leader_and_staff(site):
    app, engine, sessions = site
    some = cases_with_people(engine)[-1]            # a description that spells a mobile
    phone = re.search(r"1[3-9][0-9]{9}", some["description"]).group()
    _, staff = sessions["staff"]
    page = text_of(route(staff, f"/case/{some['id']}"))
    assert mask_name(some["reporter_name"]) in page and mask_phone(some["reporter_phone"]) in page
    assert mask_phone(phone) in page and phone not in page
    assert some["reporter_name"] not in page and some["address"] not in page
    assert "case-unmask" in page and "显示完整信息" in page
    assert f"{some['lon']:.6f}" not in page and f"{some['lon']:.2f}" in page
    # A leader has no /case (and no case list): the page says so and holds nothing.
    _, leader = sessions["leader"]
    page = text_of(route(leader, f"/case/{some['id']}"))
    assert "case-unmask" not in page and mask_phone(some["reporter_phone"]) not in page
    day = some["reported_at"].astimezone(ZoneInfo("Asia/Shanghai")).date()
    listing = text_of(route(staff, f"/region/{some['grid_code']}",
                            f"?basis=reported&period=custom&from={day}&to={day}"))
    assert mask_phone(some["reporter_phone"]) in listing and some["reporter_phone"] not in listing
    assert mask_name(some["reporter_name"]) in listing


def test_staff_unmask_one_case_and_it_is_audited_in_the_same_request(site):
    app, engine, sessions = site
    some, other = cases_with_people(engine)[:2]
    name, staff = sessions["staff"]
    before = last_audit_id(engine)
    resp = post(staff, unmask_body(app, some["id"]))
    assert resp.status_code == 200
    body = text_of(resp)
    assert some["reporter_phone"] in body and some["reporter_name"] in body
    assert some["address"] in body and f"{some['lon']:.6f}" in body
    assert other["reporter_phone"] not in body                # that case only
    rows = [r for r in AuditStore(engine).page(limit=20, target=f"case:{some['id']}")
            if r.id > before]
    assert [(r.action, r.actor, r.result, r.scope) for r in rows] == [("unmask", name, "ok", ROOT)]
    assert json.loads(rows[0].detail)["case_no"] == some["case_no"]
    # A case outside the account's regions is an unknown case: refused, audited, nothing.
    nanjing = make_account(engine.url.render_as_string(hide_password=False), "staff",
                           ("320100",))
    client = app.server.test_client()
    assert login(client, *nanjing).status_code == 302
    elsewhere = next(c for c in cases_with_people(engine, 200) if c["city_code"] != "320100")
    resp = post(client, unmask_body(app, elsewhere["id"]))
    assert resp.status_code == 400 and elsewhere["reporter_phone"] not in text_of(resp)
    denied = [r for r in AuditStore(engine).page(limit=20, target=f"case:{elsewhere['id']}")
              if r.actor == nanjing[0]]
    assert [(r.action, r.result, r.scope) for r in denied] == [("unmask", "denied", "320100")]


def test_a_case_shown_is_audited_and_an_unknown_one_is_not(site):
    app, engine, sessions = site
    some = cases_with_people(engine)[3]
    name, staff = sessions["staff"]
    before = last_audit_id(engine)
    assert route(staff, f"/case/{some['id']}").status_code == 200
    assert route(staff, "/case/999999999").status_code == 200           # "未找到该案件"
    rows = [r for r in AuditStore(engine).page(limit=20) if r.id > before]
    assert [(r.action, r.actor, r.target, r.scope, r.result) for r in rows] == [
        ("case_viewed", name, f"case:{some['id']}", ROOT, "ok")]
    assert json.loads(rows[0].detail)["case_no"] == some["case_no"]


def test_a_leaders_forged_unmask_is_refused_and_audited(site):
    app, engine, sessions = site
    some = cases_with_people(engine)[0]
    name, leader = sessions["leader"]
    before = last_audit_id(engine)
    resp = post(leader, unmask_body(app, some["id"]))
    assert resp.status_code == 403 and some["reporter_phone"] not in text_of(resp)
    rows = [r for r in AuditStore(engine).page(limit=20, target=f"case:{some['id']}")
            if r.id > before]
    assert [(r.action, r.result, json.loads(r.detail)["reason"]) for r in rows] == \
        [("unmask", "denied", "permission")]


def test_personal_fields_an_upstream_puts_in_the_stream_never_reach_a_wall():
    # The contract keeps personal information in the case table only; an upstream that
    # adds it to its stream entries anyway gets it ignored, like any unknown field: the
    # decoded event (what the ticker, the live board and /wall/live use) does not hold it.
    at = datetime(2026, 11, 23, 1, 15, tzinfo=timezone.utc)
    fields = encode_event("REPORTED", case_id=7, seq=1, ts=at, grid="320102001001003",
                          state="REPORTED", case_no="JS1", category="城市管理",
                          subcategory="占道经营", source="12345热线", urgency="一般")
    extra = {"reporter_name": "欧阳娜娜", "reporter_phone": "13812341234",
             "address": "南京市玄武区玄武门街道百子亭社区北京东路1号", "description": "电话13812341234"}
    event = decode_entry(f"{int(at.timestamp() * 1000)}-0", {**fields, **extra})
    assert event.case_id == 7
    assert "13812341234" not in repr(event) and "欧阳娜娜" not in repr(event)


def test_staff_show_a_case_in_full_in_a_browser(page, live_server):
    engine = make_engine(live_server.env["GRIDWATCH_DATABASE_URL"])
    try:
        some = cases_with_people(engine)[0]
    finally:
        engine.dispose()
    sign_in(page, live_server, "staff")
    page.goto(f"{live_server.url}/case/{some['id']}")
    page.wait_for_selector("#case-personal-fields")
    shown = page.inner_text("#case-personal")
    assert mask_phone(some["reporter_phone"]) in shown and some["reporter_phone"] not in shown
    page.click("#case-unmask")
    page.wait_for_selector(f'#case-personal >> text="{some["reporter_phone"]}"')
    shown = page.inner_text("#case-personal")
    assert some["reporter_name"] in shown and some["address"] in shown
    assert page.locator("#case-unmask").count() == 0        # once shown, nothing to press
