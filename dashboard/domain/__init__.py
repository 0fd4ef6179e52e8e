"""The domain: gridwatch's rules and types as pure functions over plain data.

No I/O here and no framework: nothing in this package imports Dash, Flask, plotly,
SQLAlchemy or Redis (import-linter checks it). Data sources implement the Protocols of
`stores.py`; views, caches and the app build on top.
"""
