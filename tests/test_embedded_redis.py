"""The embedded Redis server: lifecycle, persistence, and no orphans after SIGKILL."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from data_sources.embedded_redis import EmbeddedRedis
from data_sources.redis_client import make_client

ROOT = Path(__file__).resolve().parent.parent


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_gone(pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.05)
    return gone(pid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_start_use_stop(tmp_path):
    server = EmbeddedRedis(tmp_path / "r")
    server.start()
    pid, sock = server.pid, server.socket_path
    try:
        assert server.url == f"unix://{sock}" and sock.is_socket()
        client = make_client(server.url)
        assert client.ping()
        first = client.xadd("s", {"a": "1"})
        assert client.xread({"s": "0-0"}) == [[b"s", [(first, {b"a": b"1"})]]]
        client.close()
        assert server.start() is server and server.pid == pid  # already running: no-op
    finally:
        server.stop()
    assert wait_gone(pid) and not os.path.exists(f"/proc/{pid}")
    assert not sock.exists()
    server.stop()  # idempotent


def test_stream_survives_restart(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        client = make_client(server.url)
        ids = [client.xadd("gridwatch:events", {"n": str(i)}) for i in range(50)]
        client.close()
    with EmbeddedRedis(tmp_path) as server:
        client = make_client(server.url)
        rows = client.xrange("gridwatch:events")
        client.close()
    assert [r[0] for r in rows] == ids


def test_tcp_port_on_loopback(tmp_path):
    port = free_port()
    with EmbeddedRedis(tmp_path, port=port) as server:
        assert server.url == f"redis://127.0.0.1:{port}"
        client = make_client(server.url)
        assert client.ping()
        client.close()
        listening = {c.laddr for c in psutil.Process(server.pid).net_connections("tcp")
                     if c.status == psutil.CONN_LISTEN}
        assert listening == {("127.0.0.1", port)}


def test_long_data_dir_uses_short_socket(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with EmbeddedRedis(deep) as server:
        sock = server.socket_path
        assert len(os.fsencode(sock)) < 100 and not str(sock).startswith(str(deep))
        client = make_client(server.url)
        assert client.ping()
        client.close()
    assert not sock.parent.exists()
    assert (deep / "appendonly.aof").exists()


def test_second_server_on_same_dir_refused(tmp_path):
    with EmbeddedRedis(tmp_path):
        with pytest.raises(RuntimeError, match="in use"):
            EmbeddedRedis(tmp_path).start()


def test_failed_start_reports_log_and_cleans_up(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = EmbeddedRedis(tmp_path, port=busy.getsockname()[1])
        with pytest.raises(RuntimeError, match="exited") as info:
            server.start()
    assert "Address already in use" in str(info.value) or "bind" in str(info.value)
    assert server.pid is None
    with EmbeddedRedis(tmp_path):  # the lock was released
        pass


OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from data_sources.embedded_redis import EmbeddedRedis
    from data_sources.redis_client import make_client
    server = EmbeddedRedis(Path(sys.argv[1])).start()
    client = make_client(server.url)
    client.xadd("s", {"written": "before the kill"})
    print(server.pid, flush=True)
    time.sleep(60)
""")


def test_sigkill_of_owner_stops_server(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", OWNER, str(tmp_path)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    server_pid = None
    try:
        line = owner.stdout.readline()
        assert line.strip().isdigit(), f"owner printed {line!r}"
        server_pid = int(line)
        assert psutil.Process(server_pid).ppid() == owner.pid
        owner.send_signal(signal.SIGKILL)
        owner.wait(5)
        assert wait_gone(server_pid, 5), "redis-server outlived its SIGKILLed owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        owner.stdout.close()
        if server_pid is not None and not gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)  # don't leave an orphan when the test fails
    # It got SIGTERM, not SIGKILL: the AOF was flushed and the lock released.
    with EmbeddedRedis(tmp_path) as server:
        client = make_client(server.url)
        assert client.xlen("s") == 1
        client.close()


def test_stop_again_leaves_a_later_server_alone(tmp_path):
    first = EmbeddedRedis(tmp_path).start()
    first.stop()
    with pytest.raises(RuntimeError, match="not started"):
        first.url  # noqa: B018
    with EmbeddedRedis(tmp_path) as second:
        first.stop()
        assert second.socket_path.exists()
        client = make_client(second.url)
        assert client.ping()
        client.close()
