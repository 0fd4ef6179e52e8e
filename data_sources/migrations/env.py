"""Alembic's environment for gridwatch (run by Alembic, never imported by gridwatch).

gridwatch configures Alembic in code (data_sources/migrate.py): the connection, engine or
URL to migrate comes in `config.attributes`. Used from the plain `alembic` command with an
ini file of your own, `sqlalchemy.url` there (or GRIDWATCH_DATABASE_URL) names the database.
"""
from __future__ import annotations

import os

from alembic import context

from data_sources.database import make_engine
from data_sources.migrate import context_options
from data_sources.schema import metadata

config = context.config


def _url() -> str:
    url = (config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
           or os.environ.get("GRIDWATCH_DATABASE_URL"))
    if not url:
        raise RuntimeError("no database to migrate: pass a connection or a URL "
                           "(GRIDWATCH_DATABASE_URL)")
    return url


def run_offline() -> None:
    """`--sql`: write the DDL instead of running it (for a DBA to review)."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True,
                      **context_options())
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, **context_options())
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # gridwatch's own transaction (migrate.upgrade)
        _run(connection)
        return
    engine = config.attributes.get("engine")
    owned = engine is None
    if owned:
        engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        if owned:
            engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
