"""The engine of a SQL store: given, or a callable that returns it once the app's
runtime has connected (a worker may start while the database is down)."""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa


class LazyEngine:
    def __init__(self, engine: sa.Engine | Callable[[], sa.Engine]):
        self._engine = engine

    @property
    def engine(self) -> sa.Engine:
        return self._engine if isinstance(self._engine, sa.Engine) else self._engine()
