"""A malformed stream against the real app: more than 10,000 bad entries (impossible dates,
duplicates of real entries, huge values, wrong types and encodings, unknown types and
grids, missing fields, ...) written to a real Redis stream between the real events of
the simulator, read by two apps (two workers) through /wall/live.

Every real event reaches every page exactly once and in order, including a page that
resumes from before the bad entries; every bad entry is counted once, by reason, in
/healthz and on /status; and /wall still renders its ticker.

    .venv/bin/python -m pytest tests/test_stream_corpus.py -q -s   # -s prints the tally
"""
from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

from dashboard import create_app
from dashboard.app.settings import Settings
from data_sources.database import CaseDatabase
from data_sources.redis_stream import EventStream
from data_sources.regions import RegionTree, import_region
from simulator.seed import seed_history
from simulator.world import World
from tests.live import operator_headers, stop_app_threads
from tests.logins import SAME_SITE, WALL_COOKIE, login, make_account, wall_device, wall_token
from tests.test_app import _route

SEED = 20261202
# The real events: two days of the simulator's history ending here (a fixed time, so the
# corpus is the same on every run; its entry IDs are the time of writing, later).
HISTORY_END = datetime(2026, 11, 23, 18, 0, tzinfo=timezone(timedelta(hours=8)))
N_BAD = 10_800
PREFIX_REAL = 20     # real events before the bad ones: the resuming pages start after them
TAIL_REAL = 40       # real events at the end, among the wall's newest entries


# -- the corpus --------------------------------------------------------------------------
def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds")


def _later(text: str, delta: timedelta) -> str:
    return _iso(datetime.fromisoformat(text) + delta)


def _drop(name):
    return lambda b, rng, now: {k: v for k, v in b.items() if k != name}


def _set(**values):
    return lambda b, rng, now: b | values


# (kind, reason, event type the base must have or None, make(base, rng, now) -> fields)
BAD_KINDS = [
    ("ts 9999-12-31", "bad_time", None, _set(ts="9999-12-31T23:59:59Z")),
    ("ts 0001-01-01", "bad_time", None, _set(ts="0001-01-01T00:00:00Z")),
    ("ts year 2100 (+08:00)", "bad_time", None, _set(ts="2100-01-01T00:00:00+08:00")),
    ("ts 1999 in UTC", "bad_time", None, _set(ts="2000-01-01T07:59:59+08:00")),
    ("ts a day after its ID", "bad_time", None,
     lambda b, rng, now: b | {"ts": _iso(now + timedelta(days=1))}),
    ("ts ten years after its ID", "bad_time", None,
     lambda b, rng, now: b | {"ts": _iso(now + timedelta(days=3650))}),
    ("ts 30 February", "bad_time", None, _set(ts="2026-02-30T10:00:00+08:00")),
    ("ts offset +23:59", "bad_time", None, _set(ts="2026-11-23T09:15:02+23:59")),
    ("ts without offset", "bad_time", None, _set(ts="2026-11-23T09:15:02")),
    ("ts epoch seconds", "bad_time", None, _set(ts="1764662400")),
    ("deadline 9999", "bad_time", "REGISTERED", _set(deadline="9999-12-31T23:59:59Z")),
    ("sign_deadline two years on", "bad_time", "REGISTERED",
     lambda b, rng, now: b | {"sign_deadline": _later(b["ts"], timedelta(days=730))}),
    ("case_id not a number", "bad_value", None, _set(case_id="abc")),
    ("case_id 0", "bad_value", None, _set(case_id="0")),
    ("case_id negative", "bad_value", None, _set(case_id="-5")),
    ("case_id 2^53", "bad_value", None, _set(case_id=str(2**53))),
    ("case_id 18 nines", "bad_value", None, _set(case_id="9" * 18)),
    ("case_id 30 digits", "bad_value", None, _set(case_id="9" * 30)),
    ("seq 40000", "bad_value", None, _set(seq="40000")),
    ("seq 1.5", "bad_value", None, _set(seq="1.5")),
    ("seq 1e3", "bad_value", None, _set(seq="1e3")),
    ("state unknown", "bad_value", None, _set(state="DONE")),
    ("grid not digits", "bad_value", None, _set(grid="32010200100100X")),
    ("grid fullwidth digits", "bad_value", None, _set(grid="３２０１０２００１００１００３")),
    ("case_no 100 chars", "bad_value", "REPORTED", _set(case_no="N" * 100)),
    ("case_no with newline", "bad_value", "REPORTED", _set(case_no="JS-1\n<b>")),
    ("subcategory 40 chars", "bad_value", "REPORTED", _set(subcategory="纠" * 40)),
    ("category unknown", "bad_value", "REPORTED", _set(category="天气")),
    ("urgency unknown", "bad_value", "REPORTED", _set(urgency="特急")),
    ("note 300 chars", "bad_value", None, _set(note="x" * 300)),
    ("note control char", "bad_value", None, _set(note="bell\x07")),
    ("org not a code", "bad_value", "DISPATCHED", _set(org="abc")),
    ("level unknown", "bad_value", "DISPATCHED", _set(level="省")),
    ("late not 0/1", "bad_value", "ACCEPTED", _set(late="yes")),
    ("missing ts", "missing_field", None, _drop("ts")),
    ("missing grid", "missing_field", None, _drop("grid")),
    ("missing state", "missing_field", None, _drop("state")),
    ("missing case_id", "missing_field", None, _drop("case_id")),
    ("missing v", "missing_field", None, _drop("v")),
    ("missing type", "missing_field", None, _drop("type")),
    ("empty seq", "missing_field", None, _set(seq="")),
    ("REPORTED without urgency", "missing_field", "REPORTED", _drop("urgency")),
    ("REGISTERED without deadline", "missing_field", "REGISTERED", _drop("deadline")),
    ("version 2", "unknown_version", None, _set(v="2")),
    ("version 1.0", "unknown_version", None, _set(v="1.0")),
    ("type TELEPORTED", "unknown_type", None, _set(type="TELEPORTED")),
    ("type lower case", "unknown_type", None, _set(type="reported")),
    ("grid in Beijing", "unknown_grid", None, _set(grid="110101001001001")),
    ("grid not in the tree", "unknown_grid", None, _set(grid="320102999999999")),
    ("note 3,000 bytes", "oversized", None, _set(note="长" * 1000)),
    ("70 extra fields", "oversized", None,
     lambda b, rng, now: b | {f"x{i}": "y" for i in range(70)}),
    ("unknown field 9,000 bytes", "oversized", None, _set(trace="z" * 9000)),
    ("grid not UTF-8", "bad_encoding", None, _set(grid=b"\xff" * 15)),
    ("ts not UTF-8", "bad_encoding", None, _set(ts=b"2026-11-23T09:15:02\xff+08:00")),
    ("state cut UTF-8", "bad_encoding", None, _set(state=b"\xe4\xb8")),
]
DUPLICATE = ("duplicate of a recent real entry", "duplicate")


def build_corpus(real: list[dict], now: datetime):
    """[(fields, kind, reason | None)] in write order, deterministic for SEED."""
    rng = random.Random(SEED)
    by_type: dict[str, list[dict]] = {}
    for fields in real:
        by_type.setdefault(fields["type"], []).append(fields)
    kinds = [k for k in BAD_KINDS if k[2] is None or k[2] in by_type]
    assert len(kinds) == len(BAD_KINDS), "every kind needs a real event of its type"

    def bad(recent: list[dict]):
        if rng.random() < 0.12:
            return recent[-1 - rng.randrange(min(20, len(recent)))], DUPLICATE[0], "duplicate"
        kind, reason, etype, make = rng.choice(kinds)
        base = rng.choice(by_type[etype]) if etype else rng.choice(real)
        return make(dict(base), rng, now), kind, reason

    body, tail = real[PREFIX_REAL:-TAIL_REAL], real[-TAIL_REAL:]
    items = [(f, "real", None) for f in real[:PREFIX_REAL]]
    recent = list(real[:PREFIX_REAL])
    per_real = (N_BAD - 3 * TAIL_REAL) / len(body)
    written_bad = 0
    for i, fields in enumerate(body):
        items.append((fields, "real", None))
        recent.append(fields)
        target = int(per_real * (i + 1))
        while written_bad < target:
            items.append(bad(recent))
            written_bad += 1
    # The tail: each real event followed by its own duplicate, the probe's 9999 entry and
    # one more bad entry, so the wall's newest 400 entries are mostly bad.
    for fields in tail:
        items.append((fields, "real", None))
        items.append((fields, DUPLICATE[0], "duplicate"))
        items.append((dict(fields) | {"ts": "9999-12-31T23:59:59Z"}, "ts 9999-12-31", "bad_time"))
        recent.append(fields)
        items.append(bad(recent))
    return items


class _Collect:
    """Takes the simulator's stream output instead of a Redis stream."""

    def append_history(self, timed):
        self.entries = [fields for _, fields in timed]
        return len(timed)


# -- reading the live feed ---------------------------------------------------------------
class Page:
    """One browser's EventSource on /wall/live, read through Flask's test client in a
    thread of its own (a streamed response keeps its request context in its thread)."""

    def __init__(self, app, after: str, token: str):
        self.app, self.after, self.token = app, after, token   # token: its wall device's
        self.rows: list[dict] = []
        self.statuses: list[dict] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._opened.wait(30), "the live feed did not answer"
        if self.error:
            raise self.error

    def _run(self):
        try:
            client = self.app.server.test_client()
            client.set_cookie(WALL_COOKIE, self.token)
            resp = client.get(f"/wall/live?from={self.after}", buffered=False)
            assert resp.status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            self.error = exc
            self._opened.set()
            return
        self._opened.set()  # subscribed: the route subscribes before it answers
        buf = ""
        try:
            for chunk in resp.response:
                buf += chunk.decode() if isinstance(chunk, bytes) else chunk
                while "\n\n" in buf:
                    message, buf = buf.split("\n\n", 1)
                    fields = dict(line.split(": ", 1) for line in message.splitlines()
                                  if ": " in line)
                    if fields.get("event") == "case":
                        self.rows.append(json.loads(fields["data"]))
                    elif fields.get("event") == "status":
                        self.statuses.append(json.loads(fields["data"]))
                if self._stop.is_set():
                    break
        except BaseException as exc:  # noqa: BLE001
            self.error = exc
        finally:
            resp.close()  # in this thread: the feed unsubscribes

    def read_until(self, entry_id: str, timeout: float = 40.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread.is_alive() and \
                not any(r["id"] == entry_id for r in list(self.rows)):
            time.sleep(0.05)
        if self.error:
            raise self.error
        return list(self.rows)

    def stop(self):
        self._stop.set()  # ends at the next message: a heartbeat comes every 5 s

    def join(self):
        self._thread.join(timeout=10)


def _status_page(app) -> str:
    """What /status shows, through Dash's real callback endpoint."""
    outs = [("status-region", "children"), ("status-clock", "children"),
            ("status-kpis", "children"), ("status-sources", "children"),
            ("status-events", "children")]
    body = {"output": ".." + "...".join(f"{i}.{p}" for i, p in outs) + "..",
            "outputs": [{"id": i, "property": p} for i, p in outs],
            "inputs": [{"id": "status-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "url", "property": "search", "value": ""}],
            "changedPropIds": ["status-tick.n_intervals"]}
    client = app.server.test_client()     # a staff account of the province looks
    settings = app.server.config["GRIDWATCH_SETTINGS"]
    assert login(client, *make_account(settings.database_url, "staff")).status_code == 302
    resp = client.post("/_dash-update-component", json=body, headers=SAME_SITE)
    assert resp.status_code == 200
    return json.dumps(resp.get_json(), ensure_ascii=False)


def test_malformed_corpus_never_stops_the_live_feed(tmp_path, redis_url, key_prefix,
                                                    redis_client):  # cleans the keys
    started = time.monotonic()
    db_url = f"sqlite:///{tmp_path / 'gw.db'}"
    db = CaseDatabase(db_url)
    db.init_schema()
    import_region(db.engine, "320000", tmp_path / "geo")
    now = datetime.now(timezone.utc)
    sink = _Collect()
    world = World.from_tree(RegionTree.load(db.engine, "320000"), "320000", seed=SEED)
    seed_history(db, sink, world, days=2, scale=0.004, seed=SEED, tz="Asia/Shanghai",
                 now=min(HISTORY_END, now - timedelta(hours=1)), stream_hours=48,
                 progress=False)
    db.close()
    real = sink.entries
    items = build_corpus(real, now)
    expected_counts = Counter(reason for _, _, reason in items if reason)
    assert sum(expected_counts.values()) >= 10_000

    settings = Settings(data_dir=tmp_path, database_url=db_url, redis_url=redis_url,
                        stream_key=key_prefix + "events", key_prefix=key_prefix,
                        health_token="corpus-operator-token")
    apps = [create_app(settings), create_app(settings)]   # two workers
    hubs = [app.server.extensions["gridwatch_stream_hub"] for app in apps]
    token = wall_token(wall_device(db_url, "320000"))     # the province's wall device
    stream = EventStream(redis_client, settings.stream_key)
    pages = []
    try:
        ids = stream.append_many([f for f, _, _ in items[:PREFIX_REAL]])
        before_bad = ids[-1]
        # A page on each worker, open before the bad entries arrive: their readers run.
        live = [Page(app, before_bad, token) for app in apps]
        pages += live
        ids += stream.append_many([f for f, _, _ in items[PREFIX_REAL:]])
        assert len(ids) == len(items)
        real_ids = [i for i, (_, kind, _) in zip(ids, items) if kind == "real"]
        expected = real_ids[PREFIX_REAL:]
        last = expected[-1]

        # (a) every real event once, in order, on both workers ...
        for page in live:
            assert [r["id"] for r in page.read_until(last)] == expected
        # ... to a page resuming from before every bad entry (its backlog is older than
        # the readers' duplicate windows, so it judges duplicates itself) ...
        hubs[0].backlog_max = len(items)   # this is not the long-outage test
        assert hubs[0]._verdicts(before_bad, ids[-1]) is None   # the page judges
        resumed = Page(apps[0], before_bad, token)
        pages.append(resumed)
        assert [r["id"] for r in resumed.read_until(last)] == expected
        # ... and to one resuming among the newest entries (the reader's own verdicts):
        # the duplicate right after its resume point is a copy of an entry it has shown.
        near_from = real_ids[-TAIL_REAL]
        assert hubs[1]._verdicts(near_from, ids[-1]) is not None  # the reader's verdicts
        near = Page(apps[1], near_from, token)
        pages.append(near)
        assert [r["id"] for r in near.read_until(last)] == real_ids[-TAIL_REAL + 1:]
        for page in pages:
            assert all(s.get("status") != "down" for s in page.statuses), page.statuses
        delivered = {i: len(p.rows) for i, p in enumerate(pages)}

        # (b) the counts by reason are what the corpus holds: each entry once, although
        # two workers read all of it and two pages re-read it.
        health = apps[1].server.test_client().get(
            "/healthz", headers=operator_headers(settings.health_token)).get_json()
        skipped = health["stream"]["skipped"]
        assert Counter(skipped["by_reason"]) == expected_counts
        assert skipped["total"] == sum(expected_counts.values())
        assert skipped["checked_to"] == ids[-1]
        status = _status_page(apps[0])
        assert "跳过条目" in status and f"共 {skipped['total']:,} 条" in status
        assert f"时间异常 {expected_counts['bad_time']:,}" in status
        assert f"重复 {expected_counts['duplicate']:,}" in status

        # (c) the wall renders, its ticker the newest real events, each once.
        wall = apps[0].server.test_client()
        wall.set_cookie(WALL_COOKIE, token)
        page = _route(wall, "/wall")
        assert "wall-waiting" not in page and "error-page" not in page
        shown = re.findall(r'"data-id": "([0-9]+-[0-9]+)"', page)
        assert shown == real_ids[::-1][:24]

        elapsed = time.monotonic() - started
        kinds = Counter(kind for _, kind, _ in items)
        print(f"\ncorpus: {len(items):,} entries = {kinds['real']:,} real + "
              f"{sum(expected_counts.values()):,} bad in {len(kinds) - 1} kinds")
        for reason, n in sorted(expected_counts.items()):
            print(f"  {reason:<14} {n:>6,}")
        for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print(f"    {n:>5,}  {kind}")
        print(f"delivered rows per page: {delivered}; healthz skipped: {skipped}")
        print(f"test time {elapsed:.1f} s")
    finally:
        for page in pages:
            page.stop()
        for page in pages:
            page.join()
        for app in apps:
            stop_app_threads(app)
        for hub in hubs:
            if hub._thread is not None:
                hub._thread.join(timeout=10)
