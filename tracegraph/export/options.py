"""How a genealogy is drawn: the options every picture exporter reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracegraph.errors import ExportError
from tracegraph.export.epcis import DEFAULT_EPC_URI, EpcUriTemplate

DEFAULT_LAYOUT_TIMEOUT = 600.0  # seconds; dot's layout time grows much faster than linearly


COLLAPSE = ("auto", "none", "siblings")
LAYOUTS = ("auto", "dot", "tree")
COLOR_BY = ("part", "batch", "outcome", "none")
RANKDIRS = ("TB", "LR")
# Paper sizes in points, portrait; `-landscape` turns them.
PAPER = {
    "A4": (595.28, 841.89),
    "A3": (841.89, 1190.55),
    "letter": (612.0, 792.0),
    "tabloid": (792.0, 1224.0),
}
PAGES = tuple(name for paper in PAPER for name in (paper, f"{paper}-landscape"))


def page_size(page: str) -> tuple[float, float]:
    """Width and height in points of a `--page` name (`A4`, `letter-landscape`...)."""
    paper, _, turn = page.partition("-")
    width, height = PAPER[paper]
    return (height, width) if turn else (width, height)


@dataclass(frozen=True)
class ExportOptions:
    """Options of the pictures (SVG, PNG, PDF, HTML, Mermaid, text); data formats ignore them.

    `collapse`: `auto` folds repeated parts into `N ×` groups when a picture
    would not fit a page otherwise, `siblings` always, `none` never.
    `layout`: `dot` (Graphviz), `tree` (linear time, for big genealogies) or
    `auto` (`dot` up to a size, `tree` above). `layout_timeout`: seconds
    Graphviz may take. `legend`: the key of colours and marks. `title`:
    replaces the heading of the title block. `color_by`: what the fill
    colours stand for. `rankdir`: `TB` (top down) or `LR` (left to right).
    `page`: the paper PDF and PNG are fitted to (`A4`, `A3-landscape`...);
    None: as big as the picture. `colour`: ANSI colours in the text tree.
    EPCIS: `epc_uri`, the template of each unit's URI (`--epc-uri`), and
    `removed_links`, `(parent, child, time)` links taken apart (from a store's
    history or a diff), written as DELETE events.
    """

    collapse: str = "auto"
    layout: str = "auto"
    layout_timeout: float = DEFAULT_LAYOUT_TIMEOUT
    legend: bool = True
    title: str = ""
    color_by: str = "part"
    rankdir: str = "TB"
    page: str | None = None
    colour: bool = False
    epc_uri: str = DEFAULT_EPC_URI
    removed_links: Sequence[Sequence[str]] = ()

    def __post_init__(self) -> None:
        if self.collapse not in COLLAPSE:
            raise ExportError(
                f"collapse must be one of {', '.join(COLLAPSE)}, not {self.collapse!r}"
            )
        if self.layout not in LAYOUTS:
            raise ExportError(f"layout must be one of {', '.join(LAYOUTS)}, not {self.layout!r}")
        if not self.layout_timeout > 0:
            raise ExportError("layout_timeout must be a positive number of seconds")
        for name, value, allowed in (
            ("color_by", self.color_by, COLOR_BY),
            ("rankdir", self.rankdir, RANKDIRS),
        ):
            if value not in allowed:
                raise ExportError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        if self.page is not None and self.page not in PAGES:
            raise ExportError(f"page must be one of {', '.join(PAGES)}, not {self.page!r}")
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
