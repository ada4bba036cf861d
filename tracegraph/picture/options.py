"""How a genealogy is drawn: the options every picture reads."""

from __future__ import annotations

from dataclasses import dataclass

from tracegraph.errors import ExportError

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
class PictureOptions:
    """Options of the pictures (SVG, PNG, PDF, HTML); `PictureOptions` adds the formats' own.

    `collapse`: `auto` folds repeated parts into `N ×` groups when a picture
    would not fit a page otherwise, `siblings` always, `none` never.
    `layout`: `dot` (Graphviz), `tree` (linear time, for big genealogies) or
    `auto` (`dot` up to a size, `tree` above). `layout_timeout`: seconds
    Graphviz may take. `legend`: the key of colours and marks. `title`:
    replaces the heading of the title block. `color_by`: what the fill
    colours stand for. `rankdir`: `TB` (top down) or `LR` (left to right).
    `page`: the paper PDF and PNG are fitted to (`A4`, `A3-landscape`...);
    None: as big as the picture.
    """

    collapse: str = "auto"
    layout: str = "auto"
    layout_timeout: float = DEFAULT_LAYOUT_TIMEOUT
    legend: bool = True
    title: str = ""
    color_by: str = "part"
    rankdir: str = "TB"
    page: str | None = None

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
