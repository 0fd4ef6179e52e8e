"""Gunicorn entry point: `gunicorn 'dashboard.app.wsgi:build()'` (settings from the environment)."""
from dashboard.app.settings import Settings


def build():
    from dashboard.app.factory import create_app
    return create_app(Settings.from_env()).server
