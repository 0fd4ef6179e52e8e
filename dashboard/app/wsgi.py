"""Gunicorn entry point: `gunicorn 'dashboard.app.wsgi:build()'` (settings from the environment)."""
from dashboard.app import collector, logs, loop_watch
from dashboard.app.factory import create_app
from dashboard.app.settings import Settings


def build():
    logs.configure()
    settings = Settings.from_env()
    server = create_app(settings).server
    collector.settle(settings.gc_young)
    loop_watch.install(settings.loop_watch_ms)
    return server
