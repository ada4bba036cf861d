"""What changed between two genealogies: the one definition every diff output uses.

Pure functions over two genealogy graphs (`graph.build_graph`), OLD and NEW,
and what each side is (`Side`: a snapshot, or the store as of a time). The
kinds of change:

- `added`: a unit in NEW only; `removed`: a unit in OLD only;
- `moved`: a unit in both whose parent differs (gained or lost one too);
- `replaced`: under one parent, a unit of a part number left and another unit
  of the same part number arrived (the rework swap), listed once;
- `changed`: an attribute of a unit in both differs (`COMPARED_FIELDS`).

A unit is listed under at most one of added, removed and moved, and under
none of them when a replacement names it; attribute changes are listed
whatever else happened to the unit. Every list is sorted, so the same two
genealogies give the same `Diff`, and the same bytes in every output.

A unit's parent is its predecessor in that side's graph: the caller hands in
graphs that hold the parent of every compared unit (`tracing.diff_async` does).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

KINDS = ("added", "removed", "moved", "replaced", "changed")
WHOLE = "every unit"  # what a side's `asked` says when the whole of both sides is compared
# The attributes whose change is reported, in this order. The run fields
# (`RUN_FIELDS`) are compared only when both sides know them: a unit read in
# list form carries no `outcome` (no `created_during`), one read in full may
# carry no `last_run_*`, and neither is a change of the unit.
COMPARED_FIELDS = (
    "part_number",
    "revision",
    "batch",
    "sample",
    "status",
    "outcome",
    "last_run_outcome",
    "last_run_at",
)
RUN_FIELDS = frozenset({"outcome", "last_run_outcome", "last_run_at"})


@dataclass(frozen=True)
class SeenBetween:
    """When a change was first seen: after the sync at `after`, by the sync at `at`.

    Only a store knows this; a diff of two snapshots leaves it out. `after` is
    "" when the change was there at the first sync of the window.
    """

    after: str
    at: str

    def as_dict(self) -> dict[str, str]:
        return {"after": self.after, "at": self.at}


@dataclass(frozen=True)
class Side:
    """Where one side's genealogy came from: the provenance every output carries."""

    name: str  # the snapshot file as given, or the store (without credentials)
    kind: str = "snapshot"  # snapshot | store | api
    source: str = ""  # the API URL the data came from (never the key)
    captured_at: str = ""  # a snapshot's capture time, or the store's sync time
    as_of: str = ""  # the store's --as-of, "" for a snapshot
    asked: str = ""  # what was compared: "unit EB-0042", "every unit"
    scope: str = "tree"
    depth: int | None = None
    units: int = 0  # units of this side's genealogy
    warnings: tuple[str, ...] = ()  # this side's data warnings

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "captured_at": self.captured_at,
        }
        if self.as_of:
            data["as_of"] = self.as_of
        data.update(
            asked=self.asked,
            scope=self.scope,
            depth=self.depth,
            units=self.units,
            warnings=list(self.warnings),
        )
        return data


@dataclass(frozen=True, order=True)
class Added:
    serial: str
    parent: str | None
    first_seen: SeenBetween | None = dataclasses.field(default=None, compare=False)
    kind = "added"


@dataclass(frozen=True, order=True)
class Removed:
    serial: str
    parent: str | None
    first_seen: SeenBetween | None = dataclasses.field(default=None, compare=False)
    kind = "removed"


@dataclass(frozen=True, order=True)
class Moved:
    serial: str
    from_parent: str | None
    to_parent: str | None
    first_seen: SeenBetween | None = dataclasses.field(default=None, compare=False)
    kind = "moved"


@dataclass(frozen=True, order=True)
class Replaced:
    parent: str
    part_number: str
    removed: str
    added: str
    first_seen: SeenBetween | None = dataclasses.field(default=None, compare=False)
    kind = "replaced"


@dataclass(frozen=True, order=True)
class Changed:
    serial: str
    field: str
    old: str
    new: str
    first_seen: SeenBetween | None = dataclasses.field(default=None, compare=False)
    kind = "changed"


Change = Added | Removed | Moved | Replaced | Changed
# The store's answer to "between which syncs was this change first seen?".
FirstSeen = Callable[[Change], SeenBetween | None]


def change_data(change: Change) -> dict[str, object]:
    """One change as the JSON export writes it (its `first_seen` only when known)."""
    data: dict[str, Any] = {
        f.name: getattr(change, f.name) for f in dataclasses.fields(change) if f.compare
    }
    if change.first_seen is not None:
        data["first_seen"] = change.first_seen.as_dict()
    return data


@dataclass(frozen=True)
class Diff:
    """The changes from OLD to NEW, each list sorted."""

    old: Side
    new: Side
    added: tuple[Added, ...] = ()
    removed: tuple[Removed, ...] = ()
    moved: tuple[Moved, ...] = ()
    replaced: tuple[Replaced, ...] = ()
    changed: tuple[Changed, ...] = ()
    compared: int = 0  # units in the comparison (in either side's genealogy)
    warnings: tuple[str, ...] = ()  # about the comparison itself (two API URLs)
    # The two sides' genealogies as asked, from which pictures are drawn (`graph`).
    genealogies: tuple[nx.DiGraph, nx.DiGraph] | None = field(
        default=None, compare=False, repr=False
    )

    @functools.cached_property
    def graph(self) -> nx.DiGraph | None:
        """NEW's genealogy with every change marked, OLD's departed units where they were
        (`mark_changes`); made when first asked for, as only pictures need it."""
        if self.genealogies is None:
            return None
        return mark_changes(*self.genealogies, self)

    def of_kind(self, kind: str) -> tuple[Change, ...]:
        found: tuple[Change, ...] = getattr(self, kind)
        return found

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(self.of_kind(kind)) for kind in KINDS}

    @property
    def anything_changed(self) -> bool:
        return any(self.counts.values())

    @property
    def changes(self) -> tuple[Change, ...]:
        """Every change, kind by kind in `KINDS` order."""
        return tuple(change for kind in KINDS for change in self.of_kind(kind))


def parent_of(graph: nx.DiGraph, serial: str) -> str | None:
    """A unit's parent in a genealogy graph (the first, sorted, if the data names two)."""
    if serial not in graph:
        return None
    parents = sorted(graph.predecessors(serial))
    return parents[0] if parents else None


def widened(graph: nx.DiGraph, around: nx.DiGraph) -> nx.DiGraph:
    """`graph` with the units and links of `around` too; `graph`'s own attributes win."""
    both: nx.DiGraph = nx.compose(around, graph)
    return both


def _changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The compared attributes that differ; only `status` when either side is missing
    (a missing unit's other attributes are not known, only referenced)."""
    missing = old.get("status") == "missing" or new.get("status") == "missing"
    names = ("status",) if missing else COMPARED_FIELDS
    found = []
    for name in names:
        before, after = str(old.get(name, "")), str(new.get(name, ""))
        if name in RUN_FIELDS and not (before and after):
            continue
        if before != after:
            found.append((name, before, after))
    return found


def _replacements(
    old: nx.DiGraph, new: nx.DiGraph, units: Collection[str]
) -> tuple[list[Replaced], set[str]]:
    """Swaps under one parent, paired by part number in serial order; the units they name."""
    left: dict[tuple[str, str], list[str]] = defaultdict(list)
    arrived: dict[tuple[str, str], list[str]] = defaultdict(list)
    for serial in sorted(units):
        before = parent_of(old, serial)
        after = parent_of(new, serial)
        if before == after:
            continue
        if before is not None:
            left[(before, str(old.nodes[serial].get("part_number", "")))].append(serial)
        if after is not None:
            arrived[(after, str(new.nodes[serial].get("part_number", "")))].append(serial)
    found: list[Replaced] = []
    named: set[str] = set()
    for key in sorted(left.keys() & arrived.keys()):
        for gone, came in zip(left[key], arrived[key], strict=False):
            found.append(Replaced(key[0], key[1], gone, came))
            named.update((gone, came))
    return found, named


def compare(
    old: nx.DiGraph,
    new: nx.DiGraph,
    old_side: Side,
    new_side: Side,
    *,
    units: Collection[str] | None = None,
    first_seen: FirstSeen | None = None,
    warnings: Collection[str] = (),
) -> Diff:
    """The changes from `old` to `new` among `units` (default: every unit of either).

    Units of the graphs outside `units` only name parents. `first_seen`, a
    store's lookup, dates each change; without it (snapshots) none is dated.
    """
    compared = set(units) if units is not None else set(old) | set(new)
    replaced, named = _replacements(old, new, compared)
    added: list[Added] = []
    removed: list[Removed] = []
    moved: list[Moved] = []
    changed: list[Changed] = []
    for serial in sorted(compared):
        in_old, in_new = serial in old, serial in new
        if in_old and in_new:
            before, after = parent_of(old, serial), parent_of(new, serial)
            if before != after and serial not in named:
                moved.append(Moved(serial, before, after))
            for name, was, now in _changed_fields(old.nodes[serial], new.nodes[serial]):
                changed.append(Changed(serial, name, was, now))
        elif in_new and serial not in named:
            added.append(Added(serial, parent_of(new, serial)))
        elif in_old and serial not in named:
            removed.append(Removed(serial, parent_of(old, serial)))
    order = {name: i for i, name in enumerate(COMPARED_FIELDS)}
    changed.sort(key=lambda c: (c.serial, order.get(c.field, len(order)), c.field))

    def dated(found: list[Any]) -> tuple[Any, ...]:
        if first_seen is None:
            return tuple(found)
        return tuple(dataclasses.replace(c, first_seen=first_seen(c)) for c in found)

    return Diff(
        old=old_side,
        new=new_side,
        added=dated(added),
        removed=dated(removed),
        moved=dated(moved),
        replaced=dated(sorted(replaced)),
        changed=dated(changed),
        compared=len(compared),
        warnings=tuple(warnings),
    )


def _notes(diff: Diff) -> dict[str, tuple[str, str]]:
    """Each unit a structural change names: its kind, and what the picture says of it."""
    notes: dict[str, tuple[str, str]] = {}
    for added in diff.added:
        notes[added.serial] = ("added", "ADDED")
    for removed in diff.removed:
        notes[removed.serial] = ("removed", "REMOVED")
    for moved in diff.moved:
        notes[moved.serial] = ("moved", f"MOVED from {moved.from_parent or 'no parent'}")
    for swap in diff.replaced:
        notes[swap.added] = ("replaced", f"REPLACES {swap.removed}")
        notes.setdefault(swap.removed, ("replaced", f"REPLACED by {swap.added}"))
    return notes


def _field_lines(diff: Diff) -> dict[str, list[str]]:
    """Each changed unit's changes, one `field old → new` line each."""
    lines: dict[str, list[str]] = defaultdict(list)
    for change in diff.changed:
        lines[change.serial].append(f"{change.field} {change.old or '∅'} → {change.new or '∅'}")
    return lines


def _add_departed(marked: nx.DiGraph, old: nx.DiGraph, diff: Diff, notes: Notes) -> None:
    """OLD's units that NEW's genealogy lacks, back where they were, dashed.

    Removed, moved or swapped away, or gone along with their parent (no change of their own).
    """
    departed = [s for s in sorted(old) if s not in marked]
    moved_to = {m.serial: m.to_parent for m in diff.moved}
    for serial in departed:
        kind, note = notes.get(serial, ("", ""))
        if kind == "moved":
            to = moved_to[serial]
            note = f"MOVED to {to}" if to else "MOVED out, no parent now"
        marked.add_node(serial, **old.nodes[serial])
        marked.nodes[serial].update(change=kind, change_note=note, seed=False, departed=True)
    for serial in departed:
        parent = parent_of(old, serial)
        if parent is not None and parent in marked:
            marked.add_edge(parent, serial, relation="contains", change="departed")


Notes = dict[str, tuple[str, str]]


def mark_changes(old: nx.DiGraph, new: nx.DiGraph, diff: Diff) -> nx.DiGraph:
    """NEW's genealogy for a picture: every change marked, OLD's departed units where they were.

    `old` and `new` are the two sides' genealogies as asked (not the graphs
    widened with parents for `compare`). Every unit gets `change` (`added`,
    `removed`, `moved`, `replaced`, `changed` or ""), `change_note` (what the
    picture says: `MOVED from PACK-1`), `change_fields` (`revision A → B`, a
    line each) and `departed`: a unit of OLD's genealogy that NEW's lacks,
    with OLD's attributes, linked to its OLD parent by an edge whose `change`
    is `departed`.
    """
    marked = new.copy()
    marked.graph.update(
        analysis="diff",
        diff_old_name=diff.old.name,
        diff_new_name=diff.new.name,
        diff_old=side_text(diff.old),
        diff_new=side_text(diff.new),
        diff_counts=" · ".join(f"{n} {kind}" for kind, n in diff.counts.items()),
    )
    for serial in marked:
        marked.nodes[serial].update(change="", change_note="", departed=False)
    notes = _notes(diff)
    _add_departed(marked, old, diff, notes)
    for serial, (kind, note) in notes.items():
        if serial in marked and not marked.nodes[serial]["departed"]:
            marked.nodes[serial].update(change=kind, change_note=note)
    fields = _field_lines(diff)
    for serial in marked:
        attributes = marked.nodes[serial]
        lines = fields.get(serial, [])
        if lines and not attributes["change"]:
            attributes["change"] = "changed"
        attributes["change_fields"] = "\n".join(lines)
    return marked


def side_text(side: Side) -> str:
    """One line naming a side: `old.json (snapshot of http://…, captured …)`."""
    what = f"{side.kind} {side.name}"
    facts = [f"source {side.source or 'unknown'}"]
    if side.captured_at:
        facts.append(("synced " if side.kind == "store" else "captured ") + side.captured_at)
    if side.as_of:
        facts.append(f"as of {side.as_of}")
    return f"{what} · " + " · ".join(facts)
