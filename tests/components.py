"""Walking a Dash layout in tests without a browser."""
from __future__ import annotations

from dash.development.base_component import Component


def walk(node):
    """Every component of a layout (a component, or a list of them), depth first."""
    if isinstance(node, Component):
        yield node
        yield from walk(getattr(node, "children", None))
    elif isinstance(node, (list, tuple)):
        for child in node:
            yield from walk(child)
