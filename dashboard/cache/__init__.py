"""Sharing computed views between viewers, workers and instances (Redis through
flask-caching, with an in-process fallback). Knows no page: lifetimes and bounds are
passed in, built from the settings by the app."""
