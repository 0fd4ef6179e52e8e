"""How gridwatch's processes log: one format, INFO and up (DEBUG with -v).

The CLI configures it for its own commands, and `dashboard/app/wsgi.py` for each web
worker: gunicorn starts those in a process of its own, where nothing had configured the
root logger, so only warnings reached the log (Python's last-resort handler) and every
INFO line of the served app was lost — the refused Origins, CSRF tokens and rate limits
of docs/security.md among them.
"""
from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(verbose: bool = False) -> None:
    """Once per process; a process whose root logger has a handler already is left as it
    is (a test runner's capture, a host application's own setup)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=FORMAT)
    # Alembic says "Context impl ..." for every connection it looks at; gridwatch prints
    # what a migration did. -v shows Alembic's own lines.
    logging.getLogger("alembic").setLevel(logging.DEBUG if verbose else logging.WARNING)
