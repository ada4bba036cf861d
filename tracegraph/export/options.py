"""The options of every exporter: the pictures' (`picture/options.py`) and the formats' own."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracegraph.errors import ExportError
from tracegraph.export.epcis import DEFAULT_EPC_URI, EpcUriTemplate
from tracegraph.picture.options import (
    COLLAPSE,
    COLOR_BY,
    DEFAULT_LAYOUT_TIMEOUT,
    LAYOUTS,
    PAGES,
    PAPER,
    RANKDIRS,
    PictureOptions,
    page_size,
)

# The pictures' options and names, where they have always been imported from.
__all__ = [
    "COLLAPSE",
    "COLOR_BY",
    "DEFAULT_LAYOUT_TIMEOUT",
    "LAYOUTS",
    "PAGES",
    "PAPER",
    "RANKDIRS",
    "ExportOptions",
    "PictureOptions",
    "page_size",
]


@dataclass(frozen=True)
class ExportOptions(PictureOptions):
    """The pictures' options, and the formats' own; each format reads what it needs.

    `colour`: ANSI colours in the text tree. EPCIS: `epc_uri`, the template
    of each unit's URI (`--epc-uri`), and `removed_links`, `(parent, child,
    time)` links taken apart (from a store's history or a diff), written as
    DELETE events. The rest: `PictureOptions`.
    """

    colour: bool = False
    epc_uri: str = DEFAULT_EPC_URI
    removed_links: Sequence[Sequence[str]] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        EpcUriTemplate.parse(self.epc_uri)
        links = tuple(tuple(link) for link in self.removed_links)
        if any(len(link) != 3 or not all(isinstance(v, str) for v in link) for link in links):
            raise ExportError("removed_links must be (parent, child, time) triples of text")
        object.__setattr__(self, "removed_links", links)  # frozen, and hashable

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
