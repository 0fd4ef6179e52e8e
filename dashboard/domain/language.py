"""The language of a page: Simplified Chinese by default, English on request."""
from __future__ import annotations

LANGS = ("zh", "en")


def language(requested: object, default: str = "zh") -> str:
    """`requested` when it names a language gridwatch speaks (`?lang=en`, `?lang=zh`);
    otherwise the installation's default (GRIDWATCH_LANG)."""
    return requested if isinstance(requested, str) and requested in LANGS else default
