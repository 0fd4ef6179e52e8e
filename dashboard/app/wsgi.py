"""Gunicorn entry point: `gunicorn 'dashboard.app.wsgi:build()'` (settings from the environment)."""
from dashboard.app.factory import create_app
from dashboard.app.settings import Settings


def build():
    return create_app(Settings.from_env()).server
