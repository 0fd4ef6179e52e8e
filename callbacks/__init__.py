"""Callbacks of each page: each asks one function for a view model and renders it."""
