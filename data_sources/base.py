"""The interface every data source implements, and the registry of them by name."""
from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import ClassVar

_REGISTRY: dict[str, type["DataSource"]] = {}
# Modules that register sources; imported on first lookup so importing the package is free.
_SOURCE_MODULES = ("data_sources.database", "data_sources.redis_source")


class DataSource(ABC):
    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_settings(cls, settings) -> "DataSource": ...

    @abstractmethod
    def health(self) -> dict:
        """{"status": "up" | "down" | ..., ...}; never raises for an unreachable source."""

    def close(self) -> None:  # noqa: B027 - optional for sources that hold nothing
        pass


def register(name: str):
    def deco(cls: type[DataSource]) -> type[DataSource]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def _load_all() -> None:
    for module in _SOURCE_MODULES:
        importlib.import_module(module)


def registered_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def open_source(name: str, settings) -> DataSource:
    _load_all()
    try:
        cls = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no data source named {name!r}; have {sorted(_REGISTRY)}") from None
    return cls.from_settings(settings)
