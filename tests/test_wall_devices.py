"""Wall devices (docs/security.md, "Wall devices"): the rules (dashboard/domain/walls.py),
the store and `gridwatch walls` with their audit rows, and the real app (Flask's test
client, the seeded database, real Redis): the token exchange, the device's regions and
privacy as the wall's only scope, revocation within one refresh, a rotation's overlap
and the --allow networks (an injected clock), and a wall that outlives the idle timeout.
"""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard.app.cli import main
from dashboard.app.wall_gate import DeviceDirectory, DevicesUnavailable
from dashboard.domain.audit import Action, Actor
from dashboard.domain.walls import (
    Refusal,
    WallDevice,
    address_allowed,
    hash_token,
    new_token,
    parse_networks,
    plausible_token,
)
from data_sources.database import make_engine
from data_sources.schema import audit_log, region
from data_sources.schema import wall_device as device_table
from data_sources.wall_device_store import WallDeviceError, WallDeviceStore
from tests.fakes import ROWS
from tests.live import seeded_app
from tests.logins import (
    SAME_SITE,
    WALL_COOKIE,
    enrol_client,
    login,
    make_account,
    route,
    text_of,
    wall_config,
    wall_device,
    wall_token,
)
from tests.test_login import Clock
from tests.test_wall_without_browser import post

OPERATOR = Actor.cli("tester")
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc)


# -- the rules ---------------------------------------------------------------------------
def _device(**kw) -> WallDevice:
    token_hash = hash_token("a" * 43)
    return WallDevice(**{"id": 1, "name": "主屏", "region_code": "320100", "privacy": False,
                         "allow": (), "token_hash": token_hash, "previous_hash": None,
                         "previous_until": None, "created_at": NOW, **kw})


def test_a_token_is_long_random_and_only_its_hash_is_compared():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 43 and plausible_token(t) for t in tokens)
    assert hash_token("x") == "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    device = _device()
    assert device.refusal(hash_token("a" * 43), "10.0.0.1", NOW) is None
    assert device.refusal(hash_token("b" * 43), "10.0.0.1", NOW) == Refusal.UNKNOWN
    for bad in ("", "short", "a" * 200, "a b" * 10, "令牌" * 20, None, 123):
        assert not plausible_token(bad)


def test_a_rotated_token_works_until_its_overlap_ends_and_a_revoked_device_never():
    old, new = hash_token("o" * 43), hash_token("n" * 43)
    device = _device(token_hash=new, previous_hash=old, previous_until=NOW + timedelta(hours=2))
    assert device.refusal(old, None, NOW + timedelta(hours=1, minutes=59)) is None
    assert device.refusal(old, None, NOW + timedelta(hours=2)) == Refusal.EXPIRED
    assert device.refusal(new, None, NOW + timedelta(days=400)) is None
    revoked = _device(token_hash=new, revoked_at=NOW)
    assert revoked.refusal(new, None, NOW) == Refusal.REVOKED


def test_allowed_networks():
    assert parse_networks(["10.1.0.0/16", " 10.1.0.0/16", "192.168.1.7", "2001:db8::/32"]) == (
        "10.1.0.0/16", "192.168.1.7/32", "2001:db8::/32")
    for bad in ("10.1.2.3/16", "10.1.0.0/33", "example.org", ""):
        with pytest.raises(ValueError):
            parse_networks([bad])
    nets = ("10.1.0.0/16", "2001:db8::/32")
    assert address_allowed(nets, "10.1.200.3") and address_allowed(nets, "::ffff:10.1.0.9")
    assert address_allowed(nets, "2001:db8::1")
    assert not address_allowed(nets, "10.2.0.1") and not address_allowed(nets, "unknown")
    assert not address_allowed(nets, None) and address_allowed((), "anything")
    device = _device(allow=("10.1.0.0/16",))
    assert device.refusal(device.token_hash, "10.9.0.1", NOW) == Refusal.ADDRESS


# -- the store and the commands ------------------------------------------------------------
@pytest.fixture
def engine(migrated_engine):
    with migrated_engine.begin() as conn:
        conn.execute(region.insert(), [
            {"code": c, "parent_code": p, "level": int(lv), "name": n, "population": pop,
             "lon": lon, "lat": lat} for c, (p, lv, n, pop, lon, lat) in ROWS.items()])
    return migrated_engine


@pytest.fixture
def cli(database_url, tmp_path, engine):
    runner = CliRunner()
    args = ["--data-dir", str(tmp_path / "data"), "--database-url", database_url,
            "--region", "320000"]
    return lambda *command: runner.invoke(main, [*args, *command])


def _audit(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            sa.select(audit_log.c.actor, audit_log.c.action, audit_log.c.target,
                      audit_log.c.scope, audit_log.c.detail).order_by(audit_log.c.id))]


def _url(output: str) -> str:
    found = re.findall(r"wall URL: (\S+)", output)
    assert len(found) == 1, output
    return found[0]


def test_walls_commands_add_list_rotate_revoke_each_audited(cli, engine):
    added = cli("walls", "add", "--region", "320100", "--name", "南京市指挥中心 主屏",
                "--privacy", "--allow", "10.1.0.0/16", "--allow", "10.2.0.0/16",
                "--base-url", "https://gw.example.gov.cn/")
    assert added.exit_code == 0, added.output
    url = _url(added.output)
    assert url.startswith("https://gw.example.gov.cn/wall?token=")
    token = wall_token(url)
    assert plausible_token(token) and len(token) >= 43
    with engine.connect() as conn:
        stored = conn.execute(sa.select(device_table)).one()
    assert stored.token_hash == hash_token(token) and token not in json.dumps(
        [str(v) for v in stored])
    assert (stored.region_code, stored.privacy, stored.allow) == (
        "320100", True, "10.1.0.0/16 10.2.0.0/16")

    listed = cli("walls", "list").output
    assert "南京市指挥中心 主屏" in listed and "320100" in listed and "never" in listed
    assert "10.1.0.0/16 10.2.0.0/16" in listed and token not in listed

    rotated = cli("walls", "rotate", str(stored.id), "--overlap-hours", "2")
    assert rotated.exit_code == 0, rotated.output
    new = wall_token(_url(rotated.output))
    assert new != token and "the old one works until" in rotated.output
    assert "old token until" in cli("walls", "list").output

    revoked = cli("walls", "revoke", str(stored.id))
    assert revoked.exit_code == 0 and "已停用" in revoked.output
    again = cli("walls", "revoke", str(stored.id))
    assert again.exit_code == 1 and "revoked already" in again.output
    assert cli("walls", "rotate", str(stored.id)).exit_code == 1
    assert cli("walls", "revoke", "999").exit_code == 1

    rows = [r for r in _audit(engine) if r[1].startswith("wall_")]
    assert [r[1] for r in rows] == [Action.WALL_ADDED, Action.WALL_ROTATED, Action.WALL_REVOKED]
    assert all(r[0].startswith("cli:") and r[2] == f"wall:{stored.id}" and r[3] == "320100"
               for r in rows)
    assert json.loads(rows[0][4])["allow"] == ["10.1.0.0/16", "10.2.0.0/16"]
    assert json.loads(rows[1][4])["overlap_hours"] == 2.0
    assert all(token not in r[4] and new not in r[4] for r in rows)
    assert Action.WALL_ROTATED.zh == "更换大屏令牌"


def test_walls_add_refuses_what_it_cannot_use(cli, engine):
    for args, words in ((["--region", "330100"], "not in the region tree"),
                        (["--region", "32x"], "not a region code"),
                        (["--region", "320100", "--allow", "10.1.2.3/16"], "not a network"),
                        (["--region", "320100", "--name", " "], "needs a name")):
        named = args if "--name" in args else [*args, "--name", "主屏"]
        out = cli("walls", "add", *named)
        assert out.exit_code != 0 and words in out.output, out.output
        assert "Traceback" not in out.output
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(device_table)).scalar() == 0
    assert "no wall devices yet" in cli("walls", "list").output


def test_last_seen_is_written_at_most_once_a_minute(engine):
    store = WallDeviceStore(engine)
    device, _token = store.add("主屏", "320100", by=OPERATOR)
    assert store.seen(device.id, "10.1.0.5", NOW)
    assert not store.seen(device.id, "10.1.0.6", NOW + timedelta(seconds=59))
    assert store.seen(device.id, "10.1.0.7", NOW + timedelta(seconds=60))
    seen = store.get(device.id)
    assert seen.last_seen_at == NOW + timedelta(seconds=60) and seen.last_seen_address == "10.1.0.7"
    with pytest.raises(WallDeviceError):
        store.rotate(device.id, 24 * 365, by=OPERATOR)
    # Many at once, by the same rule: the one written 30 s ago is left as it is.
    other, _ = store.add("副屏", "320200", by=OPERATOR)
    later = NOW + timedelta(seconds=90)
    store.seen_many([(device.id, "10.1.0.8", later), (other.id, "10.2.0.1", later)])
    assert store.get(device.id).last_seen_address == "10.1.0.7"
    assert (store.get(other.id).last_seen_at, store.get(other.id).last_seen_address) == \
        (later, "10.2.0.1")


def test_two_workers_writing_the_same_sightings_never_deadlock(engine):
    # Each worker writes the sightings it saw in one transaction; in their own orders two
    # of them deadlocked (seen in bench.province_scale: 198 sightings lost).
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's row locks")
    import threading
    store = WallDeviceStore(engine)
    ids = [store.add(f"屏{i}", "320100", by=OPERATOR)[0].id for i in range(150)]
    errors: list[Exception] = []

    def write(order, offset):
        try:
            for r in range(6):          # each round due again (a minute apart and more)
                at = NOW + timedelta(minutes=2 * r, seconds=offset)
                store.seen_many([(i, f"10.0.0.{offset}", at) for i in order])
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)
    threads = [threading.Thread(target=write, args=(ids, 1)),
               threading.Thread(target=write, args=(ids[::-1], 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert all(store.get(i).last_seen_at >= NOW + timedelta(minutes=10) for i in ids[::30])


def test_a_page_of_devices_by_name_or_code_and_state_in_the_order_admin_lists_them(engine):
    # /admin draws a page of a province's 1,345 walls, not all of them: the page and the
    # counts by state are the store's, with the state as DeviceState gives it at `now`.
    store = WallDeviceStore(engine)
    made = [store.add(f"南京 {i} 号屏" if i % 2 else f"苏州 {i}%_", "320100" if i % 2 else "320500",
                      by=OPERATOR)[0] for i in range(1, 13)]
    store.revoke(made[0].id, by=OPERATOR)
    store.rotate(made[1].id, 2, by=OPERATOR)
    now = datetime.now(timezone.utc)
    states = {d.id: d.state(now).value for d in (store.get(m.id) for m in made)}
    everything, counts = store.device_page(now, limit=100)
    assert [d.id for d in everything] == \
        sorted((m.id for m in made), key=lambda i: (states[i] == "revoked", -i))
    assert counts == {"active": 10, "rotating": 1, "revoked": 1}
    first, _ = store.device_page(now, offset=0, limit=5)
    rest, _ = store.device_page(now, offset=5, limit=100)
    assert [d.id for d in first + rest] == [d.id for d in everything]
    south, counts = store.device_page(now, "苏州")
    assert {d.id for d in south} == {m.id for m in made if m.region_code == "320500"}
    assert counts == {"active": 5, "rotating": 1}
    assert {d.id for d in store.device_page(now, "3201")[0]} == \
        {m.id for m in made if m.region_code == "320100"}
    # The text is matched as typed: % and _ are no wildcards.
    assert {d.region_code for d in store.device_page(now, "%_")[0]} == {"320500"}
    assert store.device_page(now, "%")[0] and not store.device_page(now, "%%")[0]
    rotating, _ = store.device_page(now, state="rotating")
    assert [d.id for d in rotating] == [made[1].id]
    assert [d.id for d in store.device_page(now, state="revoked")[0]] == [made[0].id]
    # Once the overlap has ended, the rotated device is in use again.
    later = now + timedelta(hours=3)
    assert store.device_page(later)[1] == {"active": 11, "revoked": 1}


def test_a_page_of_devices_by_the_name_of_their_region_or_a_region_above(engine):
    # An administrator types the place, not its code: "苏州" finds the walls of 苏州市
    # and of every region under it, whatever the devices are called.
    store = WallDeviceStore(engine)
    city = store.add("一号屏", "320500", by=OPERATOR)[0]
    township = store.add("二号屏", "320505001", by=OPERATOR)[0]
    community = store.add("三号屏", "320102001001", by=OPERATOR)[0]
    grid = store.add("四号屏", "320102001001001", by=OPERATOR)[0]
    province = store.add("五号屏", "320000", by=OPERATOR)[0]
    now = datetime.now(timezone.utc)

    def found(text):
        devices, counts = store.device_page(now, text)
        assert sum(counts.values()) == len(devices)
        return {d.id for d in devices}
    assert found("苏州") == {city.id, township.id}
    assert found("虎丘区") == found("狮山街道") == {township.id}
    assert found("玄武") == {community.id, grid.id}          # 玄武区 and 玄武门街道
    assert found("湖滨社区第1网格") == {grid.id}
    assert found("江苏") == {city.id, township.id, community.id, grid.id, province.id}
    assert found("一号") == {city.id} and found("上海") == set()
    store.revoke(township.id, by=OPERATOR)
    assert store.device_page(now, "苏州", state="revoked")[0][0].id == township.id


def test_a_worker_keeps_its_copy_of_the_devices_while_the_database_is_down(engine):
    store = WallDeviceStore(engine)
    device, token = store.add("主屏", "320100", by=OPERATOR)
    directory = DeviceDirectory(store, fresh_seconds=0)     # read again at every lookup
    assert directory.find(hash_token(token)).id == device.id
    down = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    store.engine = down
    assert directory.find(hash_token(token)).id == device.id        # the last copy
    assert directory.find(hash_token(new_token())) is None
    with pytest.raises(DevicesUnavailable):                         # never read: no copy
        DeviceDirectory(WallDeviceStore(down), fresh_seconds=0).find(hash_token(token))
    down.dispose()


def test_a_worker_reads_the_devices_again_only_when_a_change_gave_them_a_new_version(engine):
    store = WallDeviceStore(engine)
    first, token = store.add("主屏", "320100", by=OPERATOR)
    directory = DeviceDirectory(store, fresh_seconds=0)     # the version asked every lookup
    assert directory.find(hash_token(token)).id == first.id and directory.reads == 1
    for _ in range(5):                                      # nothing changed: one row asked
        assert directory.find(hash_token(token)).id == first.id
    assert directory.find(hash_token(new_token())) is None  # nor for an unknown token
    assert directory.reads == 1
    other = WallDeviceStore(engine)                          # another worker's changes
    second, token2 = other.add("副屏", "320200", by=OPERATOR)
    assert directory.find(hash_token(token2)).id == second.id and directory.reads == 2
    other.revoke(first.id, by=OPERATOR)
    assert directory.find(hash_token(token)).revoked and directory.reads == 3
    _, token3 = other.rotate(second.id, 0, by=OPERATOR)
    assert directory.find(hash_token(token3)).id == second.id and directory.reads == 4
    # A change written around the store is read within full_seconds.
    with engine.begin() as conn:
        conn.execute(device_table.update().where(device_table.c.id == second.id)
                     .values(name="改名"))
    assert directory.find(hash_token(token3)).name == "副屏"
    directory.full_seconds = 0
    assert directory.find(hash_token(token3)).name == "改名" and directory.reads == 5


# -- the real app ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(seeded_env, redis_url):
    """The province's app on the seeded database (refreshing every second, so a device
    lookup is kept half a second), with Redis keys of its own."""
    url = seeded_env.env["GRIDWATCH_DATABASE_URL"]
    with seeded_app(seeded_env, redis_url, refresh_seconds=1) as (app, _prefix):
        engine = make_engine(url)
        try:
            yield app, engine, url
        finally:
            engine.dispose()


@pytest.fixture
def clock(site):
    auth = site[0].server.extensions["gridwatch_auth"]
    before, auth.clock = auth.clock, Clock()
    yield auth.clock
    auth.clock = before


def refresh(client, app, region, cfg, changed="wall-tick.n_intervals"):
    """The wall's refresh callback as the page posts it (its tick, or a region change)."""
    return post(app, "wall-kpi-data.data", {("wall-tick", "n_intervals"): 3,
                                            ("wall-region", "data"): region,
                                            ("wall-config", "data"): cfg,
                                            ("wall-marks", "data"): None}, changed,
                client=client, headers=SAME_SITE)


def _wait_past_lookup(app) -> None:
    """A device is looked up again once this worker's copy is older than half a refresh."""
    time.sleep(app.server.extensions["gridwatch_walls"].directory.fresh_seconds + 0.1)


def test_the_token_is_exchanged_for_a_device_cookie_and_leaves_the_url(site):
    app, _engine, url = site
    path = wall_device(url, "320500", name="苏州市指挥中心 主屏")
    token = wall_token(path)
    client = app.server.test_client()
    resp = client.get(path + "&lang=en&rotate=30")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/wall?lang=en&rotate=30"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{WALL_COOKIE}={token};") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Max-Age=" in cookie and "Secure" not in cookie
    page = client.get("/wall?lang=en")
    assert page.status_code == 200 and token not in page.get_data(as_text=True)
    cfg = wall_config(client)
    assert cfg["region"] == "320500" and cfg["root"] == "320500"
    # Over https the cookie is Secure.
    secure = app.server.test_client().get(path, base_url="https://localhost")
    assert "Secure" in secure.headers["Set-Cookie"]


def test_a_workers_later_sightings_of_its_walls_are_written_together(site):
    app, engine, url = site
    gate = app.server.extensions["gridwatch_walls"]
    client = app.server.test_client()
    token = enrol_client(client, url, "320500", name="苏州市指挥中心 批量")
    store = WallDeviceStore(engine)
    device = store.by_token_hash(hash_token(token))
    first = device.last_seen_at
    assert first is not None                    # the first sighting: written at once
    with engine.begin() as conn:                # as if a minute had passed
        conn.execute(device_table.update().where(device_table.c.id == device.id)
                     .values(last_seen_at=first - timedelta(minutes=2)))
    gate._seen[device.id] -= 61
    gate._flushed = time.monotonic()
    assert refresh(client, app, "320500", wall_config(client)).status_code == 200
    assert device.id in gate._pending           # seen, not written yet
    assert store.get(device.id).last_seen_at == first - timedelta(minutes=2)
    gate._flushed -= 11                         # the next sighting of any device writes all
    gate._seen[device.id] -= 61
    assert refresh(client, app, "320500", wall_config(client)).status_code == 200
    assert not gate._pending and store.get(device.id).last_seen_at > first - timedelta(minutes=2)


def test_first_sightings_that_come_during_a_write_are_written_with_the_next(site):
    # A province's start sees 1,345 first sightings at once: one UPDATE each took every
    # connection of a worker's pool. One write at a time; what came meanwhile goes with
    # the next request's (of any device).
    app, engine, url = site
    gate = app.server.extensions["gridwatch_walls"]
    store = WallDeviceStore(engine)
    first_client, other = app.server.test_client(), app.server.test_client()
    enrol_client(other, url, "320500", name="苏州市指挥中心 早到")
    gate._writing = True                        # another request's write under way
    token = enrol_client(first_client, url, "320500", name="苏州市指挥中心 同时")
    device = store.by_token_hash(hash_token(token))
    assert device.last_seen_at is None and device.id in gate._pending
    gate._writing = False
    assert refresh(other, app, "320500", wall_config(other)).status_code == 200
    assert store.get(device.id).last_seen_at is not None and not gate._pending


def test_no_device_and_no_session_is_sent_to_login(site):
    app, _engine, _url = site
    client = app.server.test_client()
    resp = client.get("/wall")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?next=%2Fwall"
    assert route(client, "/wall").status_code == 401
    assert refresh(client, app, "320000", {"region": "320000"}).status_code == 401
    assert client.get("/wall/live?region=320000").status_code == 401
    bad = client.get("/wall?token=" + new_token())
    assert bad.status_code == 403 and "已停用" in text_of(bad) and "Set-Cookie" not in bad.headers
    assert bad.headers["Cache-Control"] == "no-store"


def test_a_revoked_device_gets_the_disabled_page_and_no_data_within_a_refresh(site):
    app, engine, url = site
    client = app.server.test_client()
    token = enrol_client(client, url, "320500", name="苏州市指挥中心 副屏")
    cfg = wall_config(client)
    live = refresh(client, app, "320500", cfg)
    assert live.status_code == 200 and "苏州市" in text_of(live)
    # The feed is read in a thread of its own: a streamed response keeps its request
    # context pushed in the thread that reads it.
    opened, ended, first, rest = threading.Event(), threading.Event(), [], []

    def read_feed():
        feed = client.get("/wall/live?region=320500", buffered=False)
        try:
            first.append((feed.status_code, next(iter(feed.response))))
            opened.set()
            for chunk in feed.response:
                rest.append(chunk)
            ended.set()
        finally:
            feed.close()
    threading.Thread(target=read_feed, daemon=True).start()
    assert opened.wait(15) and first[0][0] == 200 and first[0][1].startswith(b"retry:")
    device = WallDeviceStore(engine).by_token_hash(hash_token(token))
    assert device.last_seen_at is not None and device.last_seen_address == "127.0.0.1"

    WallDeviceStore(engine).revoke(device.id, by=OPERATOR)
    _wait_past_lookup(app)
    gone = refresh(client, app, "320500", cfg)
    assert gone.status_code == 403 and gone.get_json() == {"error": "wall disabled"}
    assert "苏州" not in text_of(gone)
    assert route(client, "/wall").status_code == 403
    page = client.get("/wall")
    assert page.status_code == 403 and "已停用" in text_of(page)
    assert "苏州市指挥中心 副屏" in text_of(page) and "管理员" in text_of(page)
    assert client.get("/wall/live?region=320500").status_code == 403
    # The feed that was open ends by itself (checked at each message, a heartbeat at most
    # 5 s apart).
    assert ended.wait(15), "a revoked device's open feed kept streaming"
    # ... saying so last: the page loads again at once (assets/wall.js), which shows
    # 已停用, though its panels come by frame and no refresh is due for a minute.
    assert rest and rest[-1].startswith(b"event: disabled\n")


def test_an_old_token_works_until_the_overlap_ends(site, clock):
    app, engine, url = site
    old_client = app.server.test_client()
    old = enrol_client(old_client, url, "320500")
    cfg = wall_config(old_client)
    store = WallDeviceStore(engine)
    device = store.by_token_hash(hash_token(old))
    _rotated, new = store.rotate(device.id, 2, by=OPERATOR)
    _wait_past_lookup(app)
    new_client = app.server.test_client()
    assert new_client.get("/wall?token=" + new).status_code == 303
    clock.advance(hours=1, minutes=59)
    assert refresh(old_client, app, "320500", cfg).status_code == 200
    clock.advance(minutes=2)
    assert refresh(old_client, app, "320500", cfg).status_code == 403
    page = old_client.get("/wall")
    assert page.status_code == 403 and "令牌已更换" in text_of(page)
    assert refresh(new_client, app, "320500", cfg).status_code == 200
    # The old URL itself no longer sets a cookie.
    assert app.server.test_client().get("/wall?token=" + old).status_code == 403


def test_a_device_is_refused_from_outside_its_networks(site):
    app, _engine, url = site
    path = wall_device(url, "320500", allow=("10.9.0.0/16",))
    here = app.server.test_client()       # 127.0.0.1
    refused = here.get(path)
    assert refused.status_code == 403 and "网络地址" in text_of(refused)
    inside = app.server.test_client()
    inside.environ_base["REMOTE_ADDR"] = "10.9.3.4"
    assert inside.get(path).status_code == 303
    cfg = wall_config(inside)
    assert refresh(inside, app, "320500", cfg).status_code == 200
    inside.environ_base["REMOTE_ADDR"] = "10.10.0.1"     # the same cookie from elsewhere
    assert refresh(inside, app, "320500", cfg).status_code == 403


def test_a_device_reaches_the_wall_and_nothing_else(site):
    app, _engine, url = site
    client = app.server.test_client()
    enrol_client(client, url, "320000")
    for path in ("/kpi", "/region/320500", "/case/1", "/status", "/account"):
        resp = client.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), path
    for path in ("/kpi", "/region/320500", "/case/1", "/status"):
        assert route(client, path, headers=SAME_SITE).status_code == 401, path
    deps = client.get("/_dash-dependencies").get_json()
    others = [d for d in deps if not d.get("clientside_function")
              and not all(i["id"].startswith("wall-") for i in d["inputs"])
              and d["output"] != "page.children"]
    assert len(others) >= 5
    for dep in others:
        body = {"output": dep["output"], "outputs": [], "changedPropIds": [],
                "inputs": [{"id": i["id"], "property": i["property"], "value": None}
                           for i in dep["inputs"]],
                "state": [{"id": s["id"], "property": s["property"], "value": None}
                          for s in dep["state"]]}
        resp = client.post("/_dash-update-component", json=body, headers=SAME_SITE)
        assert resp.status_code == 401, dep["output"]


def test_a_wall_asking_outside_its_device_gets_nothing_of_it(site):
    app, _engine, url = site
    client = app.server.test_client()
    enrol_client(client, url, "320500", privacy=True)
    cfg = wall_config(client)
    assert cfg["privacy"] is True
    # The URL asks for 南京 (and no privacy): 苏州's wall, privacy kept.
    page = text_of(route(client, "/wall", "?region=320100&privacy=0"))
    assert "苏州市 · " in page and "南京" not in page
    for code in ("320100", "320000", "320102001"):
        resp = refresh(client, app, code, {**cfg, "region": code}, "wall-region.data")
        assert resp.status_code == 400 and "南京" not in text_of(resp), code
    # A forged store without privacy: still hidden, as the device says.
    inside = refresh(client, app, "320505", {**cfg, "privacy": False}, "wall-region.data")
    assert inside.status_code == 200
    assert "虎丘" in text_of(inside)
    # The live feed asked for 南京 follows 苏州 (read in a thread: a streamed response
    # keeps its request context in the thread that reads it).
    hub = app.server.extensions["gridwatch_stream_hub"]
    opened, done = threading.Event(), threading.Event()

    def read_feed():
        feed = client.get("/wall/live?region=320100&privacy=0", buffered=False)
        try:
            assert feed.status_code == 200 and next(iter(feed.response)).startswith(b"retry:")
            opened.set()
            done.wait(15)
        finally:
            feed.close()
    reader = threading.Thread(target=read_feed, daemon=True)
    reader.start()
    try:
        assert opened.wait(15)
        assert {sub.region for sub in list(hub._subs)} == {"320500"}
    finally:
        done.set()
        reader.join(15)


def test_a_wall_left_open_across_the_idle_timeout_stays_live(site, clock):
    app, _engine, url = site
    wall = app.server.test_client()
    enrol_client(wall, url, "320500")
    cfg = wall_config(wall)
    person = app.server.test_client()
    assert login(person, *make_account(url, "leader", ("320500",))).status_code == 302
    person_cfg = wall_config(person)
    assert person_cfg["region"] == "320500"
    for _ in range(5):                       # 20 minutes of refreshes, nobody touching
        clock.advance(minutes=4)
        assert refresh(wall, app, "320500", cfg).status_code == 200
    assert refresh(person, app, "320500", person_cfg).status_code == 401   # idle: ended
    assert refresh(wall, app, "320500", cfg).status_code == 200


def test_a_leader_opens_the_wall_of_their_own_regions_only(site):
    app, _engine, url = site
    client = app.server.test_client()
    assert login(client, *make_account(url, "staff", ("320500",))).status_code == 302
    assert client.get("/wall").status_code == 200
    page = text_of(route(client, "/wall", "?region=320100"))
    assert "苏州市 · " in page and "南京" not in page
    cfg = wall_config(client)
    assert refresh(client, app, "320100", {**cfg, "region": "320100"},
                   "wall-region.data").status_code == 400
