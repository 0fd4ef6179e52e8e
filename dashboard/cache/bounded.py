"""An in-process mapping that keeps at most `maxsize` entries, dropping the least recently
used: for per-worker memos whose keys grow with the regions watched (a province has
1,345 walls) and must not grow without end over weeks of uptime."""
from __future__ import annotations

from collections import OrderedDict


class Bounded(OrderedDict):
    def __init__(self, maxsize: int):
        super().__init__()
        self.maxsize = maxsize

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)
