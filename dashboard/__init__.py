"""gridwatch: the command-center dashboard for grid-based social governance.

`create_app(settings)` is the application factory; nothing runs at import time, and the
domain modules (states, kpis, ...) import without pulling in Dash.
"""


def create_app(settings=None):
    # Deferred: `import dashboard.domain...` must not load Dash, Flask and every page.
    from dashboard.app.factory import create_app as _create_app
    return _create_app(settings)


__all__ = ["create_app"]
