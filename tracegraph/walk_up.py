"""The way up in bulk: ancestors a level at a time through the list endpoint.

`GET /v2/units?serial_numbers=` answers up to 100 units a request, each
naming its parent, so walking up from many units (a suspect batch, a batch of
cells) costs one request per level instead of one per unit. A serial the list
does not return is asked for on its own before it counts as missing; serials
the user typed are read in bulk too.

The list form carries no `created_during`, so the units read only that way
keep `outcome` and `procedure` (the creating run) empty and carry the latest
run instead (`last_run_*`); the top-level unit above each seed, the
one a where-used answer and a recall report show, is then fetched in full
(and, for a top that does not exist, the unit that names it, for the part it
names).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from tracegraph.errors import NotFoundError, RefusedError, SnapshotError
from tracegraph.genealogy import Ledger, Progress, reference_serial, unit_references
from tracegraph.source import Record, Source
from tracegraph.walk_levels import read_level, too_many


class WalkUp:
    """The seeds and all their ancestors, a level at a time, into a `Ledger`."""

    def __init__(
        self,
        source: Source,
        ledger: Ledger,
        max_depth: int | None,
        max_units: int,
        concurrency: int,
        on_progress: Callable[[Progress], None] | None,
        full_records: bool = False,
    ) -> None:
        self.source = source
        self.full_records = full_records
        self.ledger = ledger
        self.max_depth = max_depth
        self.max_units = max_units
        self.on_progress = on_progress
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.depths: dict[str, int] = {}

    async def run(self, seeds: Iterable[str]) -> None:
        level = []
        for seed in seeds:
            serial = self.ledger.canonical(seed)
            if serial not in self.depths:
                self.depths[serial] = 0
                level.append(serial)
        while level:
            if len(self.depths) > self.max_units:
                raise too_many(self.max_units)
            await self._look_up([s for s in level if s not in self.ledger.units])
            level = self._parents(level)
            self._report(len(level))
        await self._complete_tops(seeds)
        self._report(0)

    def _report(self, queued: int) -> None:
        if self.on_progress is not None:
            found = len(self.ledger.units) + len(self.ledger.missing)
            self.on_progress(Progress(found, 0, queued, self.ledger.requests))

    async def _fetch_one(self, serial: str) -> Record | NotFoundError | RefusedError | None:
        """The full record of a top; None when a snapshot holds only its list form.

        A snapshot recorded by a crawl in pages of another scope read the top in
        list form only: the list form stays, as it would for a top whose full
        record the API refused.
        """
        async with self.slots:
            self.ledger.requests += 1
            try:
                return await self.source.get_unit(serial)
            except (NotFoundError, RefusedError) as error:
                return error
            except SnapshotError:
                return None

    async def _look_up(self, serials: Sequence[str]) -> None:
        """Records for a level: in bulk, then one by one for what the list did not return."""
        if serials:
            await read_level(
                self.source,
                self.ledger,
                serials,
                self.slots,
                full_records=self.full_records,
                children_needed=False,
            )
            for asked in serials:
                self._keep(asked)

    def _keep(self, asked: str) -> None:
        """Key the depth of `asked` by the serial the API spells (a case variant)."""
        canonical = self.ledger.canonical(asked)
        if canonical != asked and asked in self.depths:
            depth = self.depths.pop(asked)
            self.depths[canonical] = min(depth, self.depths.get(canonical, depth))

    def _parents(self, level: Iterable[str]) -> list[str]:
        """The next level up: parents not reached yet, within the depth limit."""
        upper = []
        for asked in level:
            serial = self.ledger.canonical(asked)
            record = self.ledger.units.get(serial)
            depth = self.depths.get(serial)
            if record is None or depth is None:
                continue  # missing
            if self.max_depth is not None and depth >= self.max_depth:
                continue
            reference = unit_references(record)[0]
            parent = reference_serial(reference)
            if reference is None or parent is None:
                continue
            if self.ledger.canonical(parent) not in self.depths:
                self.depths[parent] = depth + 1
                self.ledger.named(parent, serial, reference)
                upper.append(parent)
        return upper

    async def _complete_tops(self, seeds: Iterable[str]) -> None:
        """Fetch in full the top-level units above the seeds (and the namers of missing tops)."""
        ledger = self.ledger
        known: dict[str, frozenset[str]] = {}  # unit -> its tops, for every unit a walk passed
        tops = {top for seed in seeds for top in self._tops(ledger.canonical(seed), known)}
        # A seed with no parent and no children is loose: its list form is enough.
        loose = {s for s in tops if self.depths.get(s) == 0 and not self._has_children(s)}
        wanted = sorted(s for s in tops - loose if s in ledger.units and s not in ledger.full)
        missing_tops = [s for s in tops if s in ledger.missing and s in ledger.referrers]
        namers = sorted({ledger.referrers[s] for s in missing_tops} - ledger.full)
        asked = [*wanted, *namers]
        answers = await asyncio.gather(*map(self._fetch_one, asked))
        for serial, answer in zip(asked, answers, strict=True):
            if not isinstance(answer, dict):
                continue  # the list form stays: the unit is there, its full record is not
            ledger.record(serial, answer, full=True)
            reference = answer.get("parent")
            named = ledger.canonical(reference_serial(reference) or "")
            if named in ledger.missing and isinstance(reference, dict):
                ledger.missing[named] = reference

    def _has_children(self, serial: str) -> bool:
        record = self.ledger.units.get(serial)
        return record is not None and bool(unit_references(record)[1])

    def _tops(self, serial: str, known: dict[str, frozenset[str]]) -> frozenset[str]:
        """Where following parents ends: the top unit, or every unit of a cycle.

        Every unit a walk passes learns its answer, so the seeds of one long
        chain (a batch of nested units) cost one walk, not one each.
        """
        units, path, on_path = self.ledger.units, [serial], {serial}
        found: frozenset[str] | None = None
        while found is None and path[-1] in units:
            if path[-1] in known:
                found = known[path.pop()]
                break
            parent = reference_serial(units[path[-1]].get("parent"))
            if not parent:
                break
            parent = self.ledger.canonical(parent)
            if parent in on_path:
                found = frozenset(path[path.index(parent) :])
                break
            path.append(parent)
            on_path.add(parent)
        if found is None:
            found = known.get(path[-1], frozenset({path[-1]}))
        known.update(dict.fromkeys(path, found))
        return found
