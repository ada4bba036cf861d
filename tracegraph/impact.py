"""Recall impact: from suspect units up to the top-level units that contain them.

Pure functions over a genealogy graph crawled upward (`Scope.UP`) from the
suspect units: which top-level units hold a suspect, through which path, and
which suspects are built into nothing yet (loose, to quarantine).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import networkx as nx

from tracegraph.graph import top_level


@dataclass(frozen=True)
class AffectedUnit:
    """A top-level unit with suspect units inside."""

    serial: str
    attributes: dict[str, object]
    suspects: tuple[str, ...]  # sorted
    paths: tuple[tuple[str, ...], ...]  # one per suspect, top-level unit first


@dataclass(frozen=True)
class PartImpact:
    """How many top-level units of one part number and revision are affected."""

    part_number: str
    revision: str
    part_name: str
    units: int
    suspects: int


@dataclass(frozen=True)
class ImpactReport:
    """The answer to "where did the suspect units go?"."""

    asked: str  # what was asked, e.g. "batch CAP-2407"
    source: str
    generated_at: str
    suspects: tuple[str, ...]  # every suspect unit found, sorted
    affected: tuple[AffectedUnit, ...]  # sorted by serial
    loose: tuple[str, ...]  # suspects with no parent: built into nothing
    missing: tuple[str, ...]  # suspects the API does not know (404)
    warnings: tuple[str, ...] = field(default=())
    # The attributes of every suspect, for reports that list them one by one.
    units: dict[str, dict[str, object]] = field(default_factory=dict)
    # The genealogy with suspect, top-level and loose marks, for pictures.
    graph: nx.DiGraph | None = field(default=None, compare=False, repr=False)

    @property
    def by_part(self) -> tuple[PartImpact, ...]:
        """Affected top-level units grouped by part number and revision."""
        units: Counter[tuple[str, str, str]] = Counter()
        suspects: Counter[tuple[str, str, str]] = Counter()
        for unit in self.affected:
            attributes = unit.attributes
            key = (
                str(attributes.get("part_number", "")),
                str(attributes.get("revision", "")),
                str(attributes.get("part_name", "")),
            )
            units[key] += 1
            suspects[key] += len(unit.suspects)
        return tuple(
            PartImpact(*key, units=units[key], suspects=suspects[key]) for key in sorted(units)
        )

    @property
    def reached_a_top_level_unit(self) -> bool:
        return bool(self.affected)


def analyse_impact(
    graph: nx.DiGraph,
    suspects: Iterable[str],
    asked: str,
    assemblies: Collection[str] = (),
) -> ImpactReport:
    """Trace every suspect unit up to its top-level unit.

    A suspect with no parent is loose (in stock, built into nothing) unless it
    is an assembly itself (`assemblies`: units the API lists children for),
    such as a finished product from a suspect batch: that is an affected
    top-level unit, holding itself.
    """
    found = sorted(set(suspects) & set(graph))
    missing = tuple(s for s in found if graph.nodes[s].get("status") == "missing")
    held: dict[str, list[tuple[str, ...]]] = {}
    loose: list[str] = []
    for suspect in found:
        if suspect in missing:
            continue
        top, path = top_level(graph, suspect)
        if top == suspect and suspect not in assemblies:
            loose.append(suspect)
        else:
            held.setdefault(top, []).append(tuple(path))
    affected = tuple(
        AffectedUnit(
            serial=top,
            attributes=dict(graph.nodes[top]),
            suspects=tuple(sorted(path[-1] for path in paths)),
            paths=tuple(sorted(paths, key=lambda p: p[-1])),
        )
        for top, paths in sorted(held.items())
    )
    return ImpactReport(
        asked=asked,
        source=str(graph.graph.get("source", "")),
        generated_at=str(graph.graph.get("generated_at", "")),
        suspects=tuple(s for s in found if s not in missing),
        affected=affected,
        loose=tuple(loose),
        missing=missing,
        warnings=tuple(graph.graph.get("warnings", ())),
        units={serial: dict(graph.nodes[serial]) for serial in found},
    )


def mark_impact(graph: nx.DiGraph, report: ImpactReport) -> nx.DiGraph:
    """A copy of the graph with `suspect`, `top_level` and `loose` marks for every exporter."""
    marked = graph.copy()
    marked.graph["analysis"] = "recall impact"
    suspects = set(report.suspects) | set(report.missing)
    tops = {unit.serial for unit in report.affected}
    loose = set(report.loose)
    for serial in marked:
        marked.nodes[serial]["suspect"] = serial in suspects
        marked.nodes[serial]["top_level"] = serial in tops
        marked.nodes[serial]["loose"] = serial in loose
    return marked
