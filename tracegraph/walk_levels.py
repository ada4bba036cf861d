"""The way down (and the whole tree) in bulk: a level at a time through the list endpoint.

`GET /v2/units?serial_numbers=` answers up to 100 units a request, each with
its parent and its first 10 children, so a level of a genealogy costs one
request per 100 units instead of one per unit. A unit that lists fewer than
10 children lists them all; only a unit that lists 10 or more may hide some,
and it alone is fetched in full (`GET /v2/units/{serial}`). A serial the
list does not return is asked for on its own before it counts as missing.

Levels go breadth-first from the seeds, so each unit is reached first at its
least depth and read once; `full_records` fetches every unit in full as well,
for the run that created it (`created_during`), which the list form lacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence

from tracegraph.errors import CrawlLimitError, NotFoundError, RefusedError
from tracegraph.genealogy import Ledger, Progress, reference_serial, unit_references
from tracegraph.source import LIST_CHILDREN_CAP, Record, Source, full_record_at_hand

PAGE = 100  # serials a list request holds


def too_many(max_units: int) -> CrawlLimitError:
    return CrawlLimitError(
        f"the genealogy grows past --max-units {max_units} units; "
        "narrow it with --scope or --depth, or raise --max-units"
    )


def pages(count: int) -> int:
    """List requests for `count` serials (the count the progress line and figures give)."""
    return -(-count // PAGE)


async def read_level(
    source: Source,
    ledger: Ledger,
    serials: Sequence[str],
    slots: asyncio.Semaphore,
    *,
    full_records: bool = False,
    children_needed: bool = True,
) -> None:
    """Records for `serials` into `ledger`: in pages, then in full where the page may hide.

    In full: a unit whose list form names 10 children or more (the list cuts
    them at 10) when `children_needed`, every unit with `full_records`, and a
    serial the list did not return (a 404 there makes it missing, or an error
    for a typed seed).
    """
    wanted = [
        s for s in dict.fromkeys(serials) if s not in ledger.units and s not in ledger.missing
    ]
    found: dict[str, Record] = {}
    if wanted:
        ledger.requests += pages(len(wanted))
        found = await source.find_units(wanted)
    for serial, record in ledger.listed(wanted, found):
        canonical = ledger.record(serial, record, full=False)
        at_hand = full_record_at_hand(source, serial) if canonical is not None else None
        if at_hand is not None:
            ledger.record(serial, at_hand, full=True)
    singles = [s for s in wanted if s not in found]
    deeper = [
        serial
        for serial in dict.fromkeys(ledger.canonical(s) for s in serials)
        if serial in ledger.units
        and serial not in ledger.full
        and (
            full_records
            or (
                children_needed
                and len(unit_references(ledger.units[serial])[1]) >= LIST_CHILDREN_CAP
            )
        )
    ]

    async def fetch(serial: str) -> Record | NotFoundError | RefusedError:
        async with slots:
            ledger.requests += 1
            try:
                return await source.get_unit(serial)
            except (NotFoundError, RefusedError) as error:
                return error

    one_by_one = [*singles, *deeper]
    answers = await asyncio.gather(*map(fetch, one_by_one))
    for serial, answer in zip(one_by_one, answers, strict=True):
        if isinstance(answer, dict):
            ledger.record(serial, answer, full=True)
        elif serial in singles:
            ledger.not_found(serial, answer)
        # else: the list form stays; the unit is there, its full record is not


class LevelWalk:
    """The seeds and their descendants (and, for the tree, their ancestors), level by level."""

    def __init__(
        self,
        source: Source,
        ledger: Ledger,
        *,
        upward: bool,
        max_depth: int | None,
        max_units: int,
        concurrency: int,
        on_progress: Callable[[Progress], None] | None,
        full_records: bool = False,
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.upward = upward  # the tree: parents of every unit reached too
        self.max_depth = max_depth
        self.max_units = max_units
        self.full_records = full_records
        self.on_progress = on_progress
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.depths: dict[str, int] = {}
        self._reached: dict[str, str] = {}  # casefolded serial -> the spelling reached

    def _reach(self, serial: str, depth: int) -> bool:
        """Note `serial` at `depth` unless it was reached before (in any case)."""
        serial = self.ledger.canonical(serial)
        if serial in self.depths or serial.casefold() in self._reached:
            return False
        if len(self.depths) >= self.max_units:
            raise too_many(self.max_units)
        self.depths[serial] = depth
        self._reached[serial.casefold()] = serial
        return True

    async def run(self, seeds: Iterable[str]) -> None:
        level = [s for s in dict.fromkeys(seeds) if self._reach(s, 0)]
        while level:
            await read_level(
                self.source, self.ledger, level, self.slots, full_records=self.full_records
            )
            self._settle(level)
            level = self._next(level)
            self._report(len(level))

    def _settle(self, level: Sequence[str]) -> None:
        """Key depths by the serial the API spells (a seed typed in another case)."""
        for asked in level:
            serial = self.ledger.canonical(asked)
            if serial != asked and asked in self.depths:
                depth = self.depths.pop(asked)
                self.depths[serial] = min(depth, self.depths.get(serial, depth))
                self._reached[serial.casefold()] = serial

    def _next(self, level: Sequence[str]) -> list[str]:
        upper: list[str] = []
        for asked in level:
            serial = self.ledger.canonical(asked)
            record = self.ledger.units.get(serial)
            depth = self.depths.get(serial)
            if record is None or depth is None:
                continue  # missing
            if self.max_depth is not None and depth >= self.max_depth:
                continue
            parent, children = unit_references(record)
            references = [*children, *([parent] if self.upward and parent else [])]
            for reference in references:
                relative = reference_serial(reference) or ""
                self.ledger.named(self.ledger.canonical(relative), serial, reference)
                if self._reach(relative, depth + 1):
                    upper.append(self.ledger.canonical(relative))
        return upper

    def _report(self, queued: int) -> None:
        if self.on_progress is not None:
            found = len(self.ledger.units) + len(self.ledger.missing)
            self.on_progress(Progress(found, 0, queued, self.ledger.requests))
