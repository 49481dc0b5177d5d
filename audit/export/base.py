"""The exporter interface and the registry keyed by format name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from audit.errors import AuditError
from audit.signer import Signer


class UnknownExportFormat(AuditError):
    code = "invalid_input"


class Exporter(ABC):
    """One lineage file format: a name, a media type, and the one method that matters."""

    media_type: ClassVar[str] = "application/json"
    # A signed format needs the adapter-signing key (`export`'s `key`); the others ignore it.
    signed: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def name(cls) -> str:
        """The format name users pass as `--format`."""

    @abstractmethod
    def export(self, lineage: dict[str, Any], *, key: Signer | None = None) -> bytes:
        """Render a lineage (as built by `audit.lineage.build_lineage`) as this format's bytes."""


class ExportersFactory:
    """Name -> exporter class; new formats register themselves, nothing else changes."""

    def __init__(self) -> None:
        self._exporters: dict[str, type[Exporter]] = {}

    def register(self, exporter: type[Exporter]) -> type[Exporter]:
        name = exporter.name()
        if name in self._exporters and self._exporters[name] is not exporter:
            raise ValueError(f"export format {name!r} is already registered")
        self._exporters[name] = exporter
        return exporter

    def get(self, name: str) -> Exporter:
        try:
            return self._exporters[name]()
        except KeyError:
            raise UnknownExportFormat(
                f"unknown export format {name!r}: choose one of {', '.join(self.names())}"
            ) from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._exporters)


_FACTORY = ExportersFactory()


def register_exporter(exporter: type[Exporter]) -> type[Exporter]:
    """Register an exporter class under its `name()`; usable as a class decorator."""
    return _FACTORY.register(exporter)


def get_exporter(name: str) -> Exporter:
    """The exporter for a format name; raises UnknownExportFormat naming the valid choices."""
    return _FACTORY.get(name)


def export_formats() -> tuple[str, ...]:
    """Every registered format name, in registration order."""
    return _FACTORY.names()
