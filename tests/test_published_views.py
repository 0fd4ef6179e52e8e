"""The live views one builder publishes for every worker (dashboard/cache/published.py),
on a real Redis: the builder's lease, the regions the workers watch, the models and their
counters."""
import time

from dashboard.cache.published import Published


def _published(redis_client, key_prefix, name="wall-live") -> Published:
    return Published(lambda: redis_client, key_prefix, name, keep_seconds=60)


def test_one_worker_holds_the_lease_until_it_stops_renewing_it(redis_client, key_prefix):
    a, b = _published(redis_client, key_prefix), _published(redis_client, key_prefix)
    assert a.lead("worker-a", 0.4)
    assert not b.lead("worker-b", 0.4)          # held by a
    for _ in range(3):                          # a renews it past its first expiry
        time.sleep(0.2)
        assert a.lead("worker-a", 0.4)
        assert not b.lead("worker-b", 0.4)
    assert a.leader() == "worker-a"
    time.sleep(0.5)                             # a is gone: its lease runs out
    assert b.lead("worker-b", 0.4)
    assert not a.lead("worker-a", 0.4)          # and a, back, does not take it back
    assert b.leader() == "worker-b"


def test_the_builder_sees_what_any_worker_still_watches(redis_client, key_prefix):
    a, b = _published(redis_client, key_prefix), _published(redis_client, key_prefix)
    now = time.time()
    a.watch({"320100": now - 10, "320200": now - 10})      # given up 10 s ago ...
    a.watch({"320100": now + 15})                           # ... but one asked for again
    b.watch({"320583": now + 60, "320100": now + 5})        # another worker's, slower pace
    assert sorted(a.watched(now)) == ["320100", "320583"]
    # What was given up is gone from Redis, not only from the answer.
    assert redis_client.zcard(a.watch_key) == 2
    assert a.watched(now + 30) == ["320583"]                # each worker's own time counts
    b.watch({})                                             # nothing to say: no command
    assert b.watched(now + 30) == ["320583"]


def test_models_are_published_as_json_and_counted(redis_client, key_prefix):
    a, b = _published(redis_client, key_prefix), _published(redis_client, key_prefix)
    models = {f"32{i:04d}": {"region": f"32{i:04d}", "computed_at": "2026-12-04T08:00:00",
                               "sections": {"kpis": {"intake": i, "name": "南京"}}}
              for i in range(450)}              # more than one pipelined chunk
    a.put(models, {"now": "2026-12-04T08:00:00+00:00", "streams": {}})
    a.put({"320100": models["320100"]})           # a region asked between ticks: no record
    assert b.get("320105") == (models["320105"],
                               {"now": "2026-12-04T08:00:00+00:00", "streams": {}})
    assert b.get("320449")[0]["sections"]["kpis"]["intake"] == 449
    assert b.get("329999") == (None, {"now": "2026-12-04T08:00:00+00:00", "streams": {}})
    assert int(redis_client.get(f"{key_prefix}computed:wall-live:320100")) == 2
    assert int(redis_client.get(f"{key_prefix}computed:wall-live:320101")) == 1
    a.put({"320101": {"retired": True}}, counted=[])       # published, not computed
    assert b.get("320101")[0] == {"retired": True}
    assert int(redis_client.get(f"{key_prefix}computed:wall-live:320101")) == 1
    assert 0 < redis_client.ttl(a.models_key) <= 60
    # Another view's models are its own.
    assert _published(redis_client, key_prefix, "other").get("320105") == (None, {})


def test_regions_asked_for_reach_the_builder_once_each_and_at_once(redis_client, key_prefix):
    a, builder = _published(redis_client, key_prefix), _published(redis_client, key_prefix)
    started = time.monotonic()
    assert builder.asked(0.2) == []                         # nothing: waits, no longer
    assert 0.15 <= time.monotonic() - started < 1.5
    for region in ("320583", "320100", "320583"):
        a.ask(region)
    started = time.monotonic()
    assert builder.asked(1.5) == ["320583", "320100"]        # in order, once each
    assert time.monotonic() - started < 0.5                 # without waiting
    assert builder.asked(0.05) == []                        # taken


def test_a_builder_waiting_between_ticks_never_outwaits_its_own_socket(redis_client, key_prefix):
    # Between two 5 s ticks the builder waits for regions asked for; a BLPOP as long as
    # the client's socket timeout (2 s) answered just after the client gave up on it.
    builder = _published(redis_client, key_prefix)
    for _ in range(3):
        started = time.monotonic()
        assert builder.asked(4.9) == []
        assert time.monotonic() - started < 2.0
