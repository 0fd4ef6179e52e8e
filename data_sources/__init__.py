"""Data sources, one module each, behind one small interface (see base.py).

The rest of the app asks `open_source(name, settings)` and never imports a driver
(SQLAlchemy dialects, redis-py) itself, the way Redash's query runners are registered.
"""
from data_sources.base import DataSource, open_source, register, registered_names

__all__ = ["DataSource", "open_source", "register", "registered_names"]
