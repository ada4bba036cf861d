"""How a genealogy is drawn: the options every picture exporter reads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tracegraph.errors import ExportError

DEFAULT_LAYOUT_TIMEOUT = 600.0  # seconds; dot's layout time grows much faster than linearly


@dataclass(frozen=True)
class ExportOptions:
    """Options of the pictures (SVG, PNG, PDF, DOT, Mermaid, text); data formats ignore them."""

    layout_timeout: float = DEFAULT_LAYOUT_TIMEOUT

    @classmethod
    def of(cls, **options: Any) -> ExportOptions:
        """Options from keyword arguments; an unknown name is an `ExportError`."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ExportError(
                f"unknown export option {unknown[0]!r}; choose from {', '.join(sorted(known))}"
            )
        return cls(**options)
