"""Background work of a worker process: one daemon thread, started on demand, stoppable.

The caches and warmers start their thread on a worker's first request (building an app
starts nothing), and tests and shutdown stop it: `ensure_started` is idempotent while it
runs, `stop` asks it to end at its next wait, `join` waits for it. The work is a function
of the stop event; it may also return by itself (a warmer with nothing left to warm) and
is started again by the next `ensure_started`.
"""
from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    def __init__(self, name: str, work: Callable[[threading.Event], None]):
        self.name, self._work = name, work
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.stopping = threading.Event()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def ensure_started(self) -> None:
        if self.alive or self.stopping.is_set():
            return
        with self._lock:
            if not self.alive and not self.stopping.is_set():
                self._thread = threading.Thread(target=self._work, args=(self.stopping,),
                                                daemon=True, name=self.name)
                self._thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it is not running (any more)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return not self.alive
