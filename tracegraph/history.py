"""A unit's genealogy as maintained: every link of it as it came and went, sync by sync.

A store keeps each parent -> child link with the syncs between which it was
seen (`valid_from`, `valid_to`). The history of a unit is every link that was
part of its genealogy (its whole tree) at some sync, each as an arrival at
the sync that first saw it and, when it is gone, a removal at the sync that
no longer did, in time order: at one sync, removals before arrivals (a
rework swap reads as the old part out, the new part in), then by parent and
child. `read_history` reads it from an open store; the rest is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tracegraph.errors import NotFoundError

if TYPE_CHECKING:  # sqlite3 and psycopg belong to the store module; here it only names types
    from tracegraph.sources.store import Store, SyncRecord, UnitRow

FORMAT, VERSION = "tracegraph-history", 1
ACTIONS = ("removed", "added")  # their order at one sync


@dataclass(frozen=True, order=True)
class LinkEvent:
    """A link of the genealogy arriving (`added`) or taken apart (`removed`) at a sync."""

    sync: int
    order: int  # ACTIONS.index(action): removals first at one sync
    parent: str
    child: str
    action: str = field(compare=False)
    at: str = field(compare=False)  # the sync's finish time, ISO 8601

    def as_dict(self) -> dict[str, object]:
        return {
            "sync": self.sync,
            "at": self.at,
            "action": self.action,
            "parent": self.parent,
            "child": self.child,
        }


@dataclass(frozen=True)
class History:
    """The as-maintained record of one unit's genealogy."""

    unit: str
    store: str  # the store, without credentials
    source: str  # the API the last sync read
    syncs: tuple[tuple[int, str], ...]  # every sync of the store: id, finish time
    events: tuple[LinkEvent, ...]
    # Each unit the genealogy held at some sync: its attributes (`UNIT_FIELDS`) as last seen.
    units: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        """The JSON shape (`format` tracegraph-history, version 1)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "unit": self.unit,
            "store": self.store,
            "source": self.source,
            "syncs": [{"sync": sync, "at": at} for sync, at in self.syncs],
            "events": [event.as_dict() for event in self.events],
        }


def link_events(
    links: Iterable[tuple[str, str, int, int | None]],
    trees: Mapping[int, set[str]],
    times: Mapping[int, str],
) -> tuple[LinkEvent, ...]:
    """The events of the links (parent, child, from, to) that were in the genealogy.

    A link belongs when, at some sync it was valid at, its child was in the
    genealogy's tree (`trees`: sync -> its units).
    """
    events: list[LinkEvent] = []
    for parent, child, valid_from, valid_to in set(links):
        valid = [s for s in trees if s >= valid_from and (valid_to is None or s < valid_to)]
        if not any(child in trees[s] for s in valid):
            continue
        events.append(LinkEvent(valid_from, 1, parent, child, "added", times[valid_from]))
        if valid_to is not None:
            events.append(LinkEvent(valid_to, 0, parent, child, "removed", times[valid_to]))
    return tuple(sorted(events))


def read_history(store: Store, serial: str) -> History:
    """The history of `serial`'s genealogy in an open store (`NotFoundError`: never held)."""
    from tracegraph.sources.store import UNIT_FIELDS  # sqlite3, psycopg: only there

    syncs: Sequence[SyncRecord] = store.syncs()
    trees: dict[int, set[str]] = {}
    tree: set[str] = set()
    for index, sync in enumerate(syncs):
        # The tree can only change at a sync that added units or changed links.
        if index == 0 or sync.added or sync.gone or sync.links_changed:
            tree = store.scope([serial], True, True, sync.id)
        trees[sync.id] = tree
    members = set().union(*trees.values()) if trees else set()
    if not members:
        raise NotFoundError("unit", serial, f"store {store.target}")
    spelled = next(s for s in members if s.casefold() == serial.casefold())
    units: dict[str, UnitRow] = {}
    for sync in reversed(syncs):  # each unit as the last sync that held it saw it
        wanted = members - units.keys()
        if not wanted:
            break
        units.update(dict(store.units(wanted, sync.id).values()))
    times = {sync.id: sync.finished_at for sync in syncs}
    return History(
        unit=spelled,
        store=store.target,
        source=syncs[-1].source,
        syncs=tuple((sync.id, sync.finished_at) for sync in syncs),
        events=link_events(store.history(members), trees, times),
        units={s: dict(zip(UNIT_FIELDS, row, strict=True)) for s, row in sorted(units.items())},
    )
