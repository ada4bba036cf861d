"""How a genealogy is drawn: the options every picture exporter reads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tracegraph.errors import ExportError

DEFAULT_LAYOUT_TIMEOUT = 600.0  # seconds; dot's layout time grows much faster than linearly


COLLAPSE = ("auto", "none", "siblings")
LAYOUTS = ("auto", "dot", "tree")


@dataclass(frozen=True)
class ExportOptions:
    """Options of the pictures (SVG, PNG, PDF, HTML, Mermaid, text); data formats ignore them.

    `collapse`: `auto` folds repeated parts into `N ×` groups when a picture
    would not fit a page otherwise, `siblings` always, `none` never.
    `layout`: `dot` (Graphviz), `tree` (linear time, for big genealogies) or
    `auto` (`dot` up to a size, `tree` above). `layout_timeout`: seconds
    Graphviz may take.
    """

    collapse: str = "auto"
    layout: str = "auto"
    layout_timeout: float = DEFAULT_LAYOUT_TIMEOUT

    def __post_init__(self) -> None:
        if self.collapse not in COLLAPSE:
            raise ExportError(
                f"collapse must be one of {', '.join(COLLAPSE)}, not {self.collapse!r}"
            )
        if self.layout not in LAYOUTS:
            raise ExportError(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if not self.layout_timeout > 0:
            raise ExportError("layout_timeout must be a positive number of seconds")

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
