"""What a crawl learns about units, kept in one place for every way of crawling.

`Ledger` is the record keeper both crawlers share (`crawl._Crawl`, unit by
unit, and `walk_up._WalkUp`, a level at a time in bulk): it keys each record
by the serial the API spells, remembers which serials stand for another
(case variants), which units are missing and why, and the warnings. What a
crawl returns is a `Genealogy`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tracegraph.errors import ApiError, NotFoundError, RefusedError
from tracegraph.source import LIST_CHILDREN_CAP, Record, mend_text


class Scope(str, enum.Enum):
    """Which relatives of the seeds a crawl follows."""

    TREE = "tree"  # the whole genealogy tree: parents and children of every unit reached
    LINEAGE = "lineage"  # ancestors and descendants of the seeds only
    UP = "up"  # ancestors only (where-used)
    DOWN = "down"  # descendants only (as-built)


@dataclass(frozen=True)
class Progress:
    """How far a crawl has come, for a progress line."""

    fetched: int
    in_flight: int
    queued: int
    requests: int = 0  # lookups sent so far (one bulk lookup counts once)


@dataclass(repr=False)
class Genealogy:
    """What a crawl found: unit records, units that answered 404, and how they were reached."""

    units: dict[str, Record]
    missing: dict[str, Record]  # serial -> the reference that named it ({} for a seed)
    seeds: tuple[str, ...]
    depths: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    source_url: str = ""
    captured_at: str = ""  # when the source is a snapshot: when it was recorded
    max_depth: int | None = None  # the crawl's --depth
    scope: Scope = Scope.TREE
    requests: int = 0
    # Units known only in the list endpoint's form with `children` cut at 10.
    partial: frozenset[str] = frozenset()
    # Serials as referenced or typed -> as the API spells them (case).
    aliases: dict[str, str] = field(default_factory=dict)
    # Units known only in the list endpoint's form (no `created_during`).
    listed: frozenset[str] = frozenset()
    # The latest run of each unit read in list form (`last_run`; None: no run).
    last_runs: dict[str, Record | None] = field(default_factory=dict)
    # Where a store's answer comes from (`store`, `store_sync`, `store_as_of`).
    provenance: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # asyncio formats the result of a finished task with repr(): keep it short.
        return (
            f"Genealogy({len(self.units)} units, {len(self.missing)} missing, "
            f"{len(self.warnings)} warnings, scope={self.scope.value})"
        )


def reference_serial(reference: object) -> str | None:
    """The serial number in a parent/child reference, or None when there is none."""
    if isinstance(reference, dict):
        serial = reference.get("serial_number")
        if isinstance(serial, str) and serial:
            return serial
    return None


def unit_references(unit: Record) -> tuple[Record | None, list[Record]]:
    """A unit's parent reference and child references, tolerating odd shapes."""
    parent = unit.get("parent")
    children = unit.get("children") or []
    return (
        parent if reference_serial(parent) else None,
        [c for c in children if reference_serial(c)] if isinstance(children, list) else [],
    )


def _shape(value: object) -> str:
    """What a JSON value is, in words (never the value: it may be long or hostile)."""
    if isinstance(value, dict):
        return "an object with no serial_number"
    names = {str: "a string", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return names.get(type(value), "something else")


def link_faults(serial: str, unit: Record) -> list[str]:
    """Warnings for `parent` and `children` fields that name no unit (empty when they are sound).

    `unit_references` reads such fields as no link; the person must hear that
    a link may have been lost.
    """
    faults = []
    parent = unit.get("parent")
    if parent is not None and reference_serial(parent) is None:
        faults.append(
            f"unit {serial!r} has a `parent` field that names no unit ({_shape(parent)}); "
            "it is read as no parent"
        )
    children = unit.get("children")
    if children is not None and not isinstance(children, list):
        faults.append(
            f"unit {serial!r} has a `children` field that is not a list ({_shape(children)}); "
            "it is read as no children"
        )
    elif children:
        bad = [_shape(c) for c in children if reference_serial(c) is None]
        if bad:
            faults.append(
                f"unit {serial!r} has {len(bad)} `children` "
                + ("entry" if len(bad) == 1 else "entries")
                + f" that name no unit ({', '.join(sorted(set(bad)))}); left out"
            )
    return faults


def unsound_text_warning(holder: str) -> str:
    """The warning for text that `source.mend_text` mended, held by a unit or batch."""
    return (
        f"{holder} holds text that is not Unicode (a lone surrogate escape such as "
        "\\ud800 in the API's JSON); it is shown as U+FFFD"
    )


def same_serial(one: str, other: str) -> bool:
    """Whether the API takes two spellings for one serial: it compares them ignoring case."""
    return one.casefold() == other.casefold()


def missing_warning(serial: str, referrer: str | None, error: NotFoundError | RefusedError) -> str:
    """The warning for a unit that is named somewhere but cannot be had."""
    where = f"referenced by {referrer!r}" if referrer else "listed in a batch"
    if isinstance(error, RefusedError):
        return f"unit {serial!r} is {where} but the API refuses it ({error.reason})"
    return f"unit {serial!r} is {where} but does not exist (404)"


class Ledger:
    """Everything a crawl has learnt so far, whichever way it crawls."""

    def __init__(self, required: Iterable[str] = (), *, mend: bool = True) -> None:
        self.units: dict[str, Record] = {}
        self.full: set[str] = set()  # units whose record is the full `GET /v2/units/{serial}`
        self.missing: dict[str, Record] = {}
        self.aliases: dict[str, str] = {}
        self.folded: dict[str, str] = {}  # casefolded serial -> the unit or missing unit's spelling
        self.warnings: list[str] = []
        self._warned: set[str] = set()  # the warnings above, for a look-up in constant time
        self.references: dict[str, Record] = {}
        self.referrers: dict[str, str] = {}
        self.required = set(required)
        self.last_runs: dict[str, Record | None] = {}  # from list records: see `Genealogy`
        self.requests = 0
        self.mend = mend  # False when the source is known to hold no lone surrogate

    def canonical(self, serial: str) -> str:
        """The serial as the API spells it, once a record (or a 404) has told.

        A reference may spell a serial in another case (`brd-1` for `BRD-1`);
        the API compares serials ignoring case, and so does the ledger.
        """
        known = self.aliases.get(serial)
        if known is None and serial not in self.units and serial not in self.missing:
            known = self.folded.get(serial.casefold())
        return known or serial

    def named(self, serial: str, referrer: str, reference: Record) -> None:
        """Note the first unit that names `serial`, and how (for warnings and missing units)."""
        self.references.setdefault(serial, reference)
        self.referrers.setdefault(serial, referrer)

    def record(self, asked: str, body: Record, *, full: bool) -> str | None:
        """Keep a unit's record under the serial the API spells; return that serial.

        A full record replaces a list one; a list record never replaces a full one.
        An answer for another unit than asked (not a case variant) is set aside
        with a warning, and None is returned: the unit asked for stays missing.
        """
        if self.mend:
            body, mended = mend_text(body)
            if mended:
                self._warn(unsound_text_warning(f"unit {reference_serial(body) or asked!r}"))
        canonical = reference_serial(body) or asked
        if canonical != asked:
            if not same_serial(canonical, asked):
                self._swapped(asked, canonical)
                return None
            self.aliases[asked] = canonical
        if not full and "last_run" in body:
            run = body["last_run"]
            self.last_runs[canonical] = run if isinstance(run, dict) else None
        if full or canonical not in self.full:
            self.units[canonical] = body
            self.folded.setdefault(canonical.casefold(), canonical)
            for fault in link_faults(canonical, body):
                self._warn(fault)
        if full:
            self.full.add(canonical)
        return canonical

    def listed(
        self, asked: Iterable[str], found: dict[str, Record]
    ) -> Iterator[tuple[str, Record]]:
        """The list records `found` for serials `asked`; any other record is set aside.

        A page of the list endpoint that holds a unit nobody asked for is
        treated like a swapped answer: a warning, and the record is not used.
        """
        wanted = set(asked)
        for serial, record in found.items():
            if serial in wanted:
                yield serial, record
            else:
                self._warn(
                    f"the API's unit list answered with unit {serial!r}, which was not "
                    "asked for; that record is set aside"
                )

    def _warn(self, warning: str) -> None:
        if warning not in self._warned:  # a unit recorded twice (list, then full) warns once
            self._warned.add(warning)
            self.warnings.append(warning)

    def _swapped(self, asked: str, answered: str) -> None:
        message = (
            f"the API answered the request for unit {asked!r} "
            f"with the record of another unit, {answered!r}"
        )
        if asked in self.required:
            raise ApiError(message + "; tracegraph does not take one unit for another")
        self._warn(message + f"; that record is set aside and {asked!r} kept as missing")
        if asked not in self.units:
            self._missing(asked)

    def _missing(self, serial: str) -> None:
        self.missing[serial] = self.references.get(serial, {})
        self.folded.setdefault(serial.casefold(), serial)

    def not_found(self, serial: str, error: NotFoundError | RefusedError) -> None:
        """A unit that cannot be had: an error for a typed seed, a missing unit otherwise."""
        if serial in self.required:
            raise error
        self._missing(serial)
        self._warn(missing_warning(serial, self.referrers.get(serial), error))

    def genealogy(
        self,
        seeds: Iterable[str],
        depths: dict[str, int],
        scope: Scope,
        source_url: str,
        captured_at: str = "",
        max_depth: int | None = None,
    ) -> Genealogy:
        """What was learnt, as the crawl's answer."""
        listed = frozenset(s for s in self.units if s not in self.full)
        partial = frozenset(
            s for s in listed if len(unit_references(self.units[s])[1]) >= LIST_CHILDREN_CAP
        )
        return Genealogy(
            units=self.units,
            missing=self.missing,
            seeds=tuple(dict.fromkeys(self.canonical(s) for s in seeds)),
            depths={s: d for s, d in depths.items() if s in self.units or s in self.missing},
            warnings=self.warnings,
            source_url=source_url,
            scope=scope,
            requests=self.requests,
            partial=partial,
            aliases=self.aliases,
            listed=listed,
            last_runs=self.last_runs,
            captured_at=captured_at,
            max_depth=max_depth,
        )
