"""What a page module declares: its path, how it renders, its callbacks and its warm-ups.

Every module in callbacks/ (one per page) has `page(ctx, ...) -> Page`; the app factory
collects them, registers their callbacks, gives their warm-ups to the app's one warmer
and routes paths to them. A page needs a logged-in account unless it is marked public, and
the account's role must allow its `permission` (dashboard/domain/accounts.py). A page holds no module-level state: everything it keeps lives
in the closures `page()` builds, so two apps in one process never share it.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.cache.warmer import Job
from dashboard.domain.accounts import Permission


def _nothing(_app) -> None:
    return None


@dataclass(frozen=True)
class Page:
    path: str                                   # a regex the whole URL path must match
    render: Callable[[re.Match, dict], object]  # (path match, query) -> components
    register: Callable[[object], None] = _nothing   # adds the page's callbacks to the app
    warmups: tuple[Job, ...] = field(default=())    # work the app's warmer does for it
    # Who may open it: a logged-in account with this permission (None: any logged-in
    # account). A page marked public (the wall) is shown without a login to a wall device,
    # and takes its scope from the device or the account (dashboard/app/wall_gate.py).
    permission: Permission | None = None
    public: bool = False
