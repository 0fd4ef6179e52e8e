"""The audit chain's verification as the web shows it: resumed from where it stopped.

`gridwatch audit verify` checks the whole chain at once: at millions of rows that takes
minutes, too long for a page. /audit instead keeps a verification in progress in Redis (a
pass): how far it got (the last row checked and its hash), since when, and its verdict.
Each look at the page checks at most `step` more rows, from that row's hash onwards, so a
pass reaches the newest row within a few looks and afterwards costs only the rows
appended since. Before going on it reads the last checked row again: when that row was
changed or removed since, the pass says so.

What a resumed pass cannot see is a row before its last checked one changed in place
afterwards; starting a new pass (the page's button) checks everything from the anchor
again. The record lives in Redis: it is a convenience for the screen, not evidence (the
evidence is the chain itself, and the head kept outside the database: docs/security.md).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from dashboard.domain import audit
from dashboard.domain.audit import Verdict
from data_sources.audit_store import AuditStore

STEP = 20_000       # rows per look: ~0.3 s of reading and hashing


@dataclass(frozen=True)
class ChainCheck:
    verdict: Verdict
    started: datetime        # when this pass began at the anchor
    checked: datetime        # when it last went on
    complete: bool           # it reached the newest row at `checked`


class ChainChecks:
    def __init__(self, store, client, prefix: str, step: int = STEP):
        self._store = store          # a callable: the app's AuditStore (made lazily)
        self._client = client        # a callable: the app's Redis client
        self.key = f"{prefix}audit:chain-check"
        self.step = step

    @property
    def store(self) -> AuditStore:
        return self._store()

    def last(self) -> ChainCheck | None:
        raw = self._client().get(self.key)
        if raw is None:
            return None
        try:
            r = json.loads(raw)
            return ChainCheck(Verdict(**r["verdict"]), datetime.fromisoformat(r["started"]),
                              datetime.fromisoformat(r["checked"]), bool(r["complete"]))
        except (ValueError, KeyError, TypeError):
            return None     # a record this version cannot read: start again

    def advance(self, now: datetime, restart: bool = False) -> ChainCheck:
        """Go on with the pass (a new one from the anchor when there is none or when
        `restart`), at most `step` rows; a broken pass stays broken until restarted."""
        last = None if restart else self.last()
        if last is None:
            base, started = self._from_anchor(), now
        else:
            if not last.verdict.intact:
                return last
            base, started = self._still_there(last.verdict), last.started
            if base is None:        # pruned past the pass: a new one from the new anchor
                base, started = self._from_anchor(), now
        if base.intact:
            more = self.store.verify_after(base.last_id, base.head, self.step)
            check = ChainCheck(audit.resume(base, more), started, now, more.rows < self.step)
        else:
            check = ChainCheck(base, started, now, True)
        self._client().set(self.key, json.dumps({
            "verdict": asdict(check.verdict), "started": check.started.isoformat(),
            "checked": check.checked.isoformat(), "complete": check.complete}))
        return check

    def _from_anchor(self) -> Verdict:
        anchor = self.store.anchor()
        if anchor is None:
            return Verdict(0, None, None, audit.GENESIS)
        return Verdict(0, None, anchor.last_id, anchor.last_hash)

    def _still_there(self, verdict: Verdict) -> Verdict | None:
        """The pass's verdict when its last checked row is still as it was checked; a
        broken verdict naming it when it is not; None when it was pruned since."""
        if verdict.rows == 0 or verdict.last_id is None:
            return verdict
        stored = self.store.hash_at(verdict.last_id)
        if stored == verdict.head:
            return verdict
        if stored is None:
            anchor = self.store.anchor()
            if anchor is not None and anchor.last_id >= verdict.last_id:
                return None
            why = "it was checked before and is gone now: rows were deleted"
        else:
            why = "it was checked before and its hash has changed since: the row was rewritten"
        return Verdict(verdict.rows, verdict.first_id, verdict.last_id, verdict.head,
                       verdict.last_id, why)
