"""Gunicorn entry point: `gunicorn 'dashboard.wsgi:build()'` (settings from the environment)."""
from dashboard.settings import Settings


def build():
    from dashboard.app import create_app
    return create_app(Settings.from_env()).server
