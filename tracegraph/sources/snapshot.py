"""Snapshot files: the raw API responses a crawl used, for offline re-rendering.

`SnapshotSource` serves a snapshot as a Source; `RecordingSource` wraps any
Source and keeps every response that passed through it, so that
`--save-snapshot` records exactly what the crawl saw.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from tracegraph.errors import NotFoundError, RefusedError, SnapshotError
from tracegraph.heap import collector_paused
from tracegraph.source import (
    LIST_CHILDREN_CAP,
    LONE_SURROGATE,
    SURROGATE_ESCAPE,
    BatchFilters,
    Record,
    Source,
    UnitFilters,
    captured_at,
    full_record_at_hand,
    generated_at,
    parse_iso,
    text_is_sound,
)

FORMAT = "tracegraph-snapshot"
LIST_PAGE = 100  # units a page of the list endpoint holds
VERSION = 1


_SCALARS = (str, int, float, bool, type(None))


class _SharedObjects:
    """A JSON object hook that hands out one object for every repeat of a small object.

    A snapshot repeats the same part, revision, batch, user, station and
    procedure objects thousands of times; sharing them (nothing changes them)
    takes a 100,000-unit snapshot from about 780 MB to about 410 MB while it
    loads. References to units (they hold a serial number) are unique: not
    worth a look-up.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[object, ...], dict[str, object]] = {}

    def __call__(self, pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len(pairs) > 4:
            return dict(pairs)
        key: list[object] = []
        for name, value in pairs:
            if name == "serial_number":
                return dict(pairs)
            if value.__class__ is dict:
                key.append((name, id(value)))  # a shared object already
            elif isinstance(value, _SCALARS):
                key.append((name, value))
            else:
                return dict(pairs)
        found = self.seen.get(tuple(key))
        if found is None:
            found = self.seen[tuple(key)] = dict(pairs)
        return found


def load_snapshot(path: str | Path) -> Record:
    """Read and check a snapshot file; `SnapshotError` says what is wrong."""
    return _load(path)[0]


def _load(path: str | Path) -> tuple[Record, bool]:
    """The checked snapshot, and whether its text is sound (no lone surrogate escape)."""
    try:
        # utf-8-sig: a byte order mark, as some Windows editors write, is read past.
        with open(path, encoding="utf-8-sig") as stream:
            text = stream.read()
    except OSError as error:
        raise SnapshotError(f"cannot read snapshot {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"snapshot {str(path)!r} is not UTF-8 text") from None
    try:
        with collector_paused():
            data = json.loads(text, object_pairs_hook=_SharedObjects())
    except json.JSONDecodeError as error:
        raise SnapshotError(
            f"snapshot {str(path)!r} is not valid JSON (line {error.lineno}: {error.msg})"
        ) from None
    except RecursionError:
        raise SnapshotError(f"snapshot {str(path)!r} nests JSON too deeply to read") from None
    return check_snapshot(data, str(path)), SURROGATE_ESCAPE.search(text) is None


def check_snapshot(data: Any, name: str = "snapshot") -> Record:
    """Validate the envelope of a snapshot (DESIGN §5) and return it."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f'{name!r} is not a tracegraph snapshot (no "format": "{FORMAT}")')
    version = data.get("version")
    if type(version) is not int or version != VERSION:  # `true` == 1 in Python, not here
        raise SnapshotError(
            f"{name!r} is snapshot version {json.dumps(version)[:40]}; "
            f"this tracegraph reads {VERSION}"
        )
    for key in ("units", "batches", "unit_list"):
        if not isinstance(data.get(key, {}), dict):
            raise SnapshotError(f'{name!r}: "{key}" must be an object keyed by identifier')
        for identifier, body in data.get(key, {}).items():
            if not isinstance(body, dict):
                raise SnapshotError(f"{name!r}: {key}[{identifier!r}] is not an object")
    refused = data.get("refused", {})
    if not isinstance(refused, dict) or not all(isinstance(r, str) for r in refused.values()):
        raise SnapshotError(f'{name!r}: "refused" must map serial numbers to the reasons given')
    missing = data.get("missing", [])
    if not isinstance(missing, list) or not all(isinstance(s, str) for s in missing):
        raise SnapshotError(f'{name!r}: "missing" must be a list of serial numbers')
    if not isinstance(data.get("source", ""), str):
        raise SnapshotError(f'{name!r}: "source" must be a URL string')
    return data


def unit_summary(unit: Record) -> Record:
    """The list-endpoint form of a `GET /v2/units/{serial}` body (as far as it can be told)."""

    def reference(record: object) -> Record | None:
        if not isinstance(record, dict):
            return None
        return {"id": record.get("id", ""), "serial_number": record.get("serial_number", "")}

    children = unit.get("children")
    kept = (
        *("id", "serial_number", "created_at", "sample", "part", "batch", "metadata"),
        *("created_by_user", "created_by_station"),
    )
    summary: Record = {key: unit[key] for key in kept if key in unit}
    summary["parent"] = reference(unit.get("parent"))
    summary["children"] = [
        r for r in map(reference, children if isinstance(children, list) else []) if r
    ][:LIST_CHILDREN_CAP]
    return summary


def batch_summary(batch: Record) -> Record:
    """The list-endpoint form of a `GET /v2/batches/{number}` body."""
    summary = {
        "id": batch.get("id", ""),
        "number": batch.get("number", ""),
        "created_at": batch.get("created_at", ""),
        "unit_count": len(batch["units"]) if isinstance(batch.get("units"), list) else 0,
    }
    for key in ("created_by_user", "created_by_station"):
        if key in batch:
            summary[key] = batch[key]
    return summary


def _number_matches(number: str, filters: BatchFilters) -> bool:
    if filters.numbers and number.casefold() not in {n.casefold() for n in filters.numbers}:
        return False
    return not filters.search or filters.search.casefold() in number.casefold()


def _time_matches(created_at: object, filters: BatchFilters) -> bool:
    if not (filters.created_after or filters.created_before):
        return True
    try:
        created = parse_iso(str(created_at))
    except ValueError:
        return False
    if filters.created_after and created < filters.created_after:
        return False
    return not (filters.created_before and created > filters.created_before)


def _holds_part(units: object, filters: BatchFilters) -> bool:
    """Whether one unit carries a wanted part number and revision together."""
    if not (filters.part_numbers or filters.revision_numbers):
        return True
    for unit in units if isinstance(units, list) else []:
        part = unit.get("part") if isinstance(unit, dict) else None
        part = part if isinstance(part, dict) else {}
        revision_record = part.get("revision")
        revision = revision_record.get("number") if isinstance(revision_record, dict) else None
        if filters.part_numbers and part.get("number") not in filters.part_numbers:
            continue
        if filters.revision_numbers and revision not in filters.revision_numbers:
            continue
        return True
    return False


def batch_matches(batch: Record, filters: BatchFilters) -> bool:
    """Whether a batch body passes the list endpoint's filters."""
    return (
        _number_matches(str(batch.get("number", "")), filters)
        and _time_matches(batch.get("created_at", ""), filters)
        and _holds_part(batch.get("units"), filters)
    )


class SnapshotSource:
    """Serves a snapshot's recorded responses as a Source (absent means 404)."""

    def __init__(
        self, snapshot: Record, name: str = "snapshot", *, text_is_sound: bool = False
    ) -> None:
        self._snapshot = check_snapshot(snapshot, name)
        # Known to hold no lone surrogate, so a crawl need not look for them.
        self.text_is_sound = text_is_sound
        self._name = name
        self._units: dict[str, Record] = snapshot.get("units", {})
        self._unit_list: dict[str, Record] = snapshot.get("unit_list", {})
        self._unit_list_folded = {s.casefold(): body for s, body in self._unit_list.items()}
        self._batches: dict[str, Record] = snapshot.get("batches", {})
        self._units_folded = {serial.casefold(): body for serial, body in self._units.items()}
        self._batches_folded = {number.casefold(): body for number, body in self._batches.items()}
        self._refused: dict[str, str] = snapshot.get("refused", {})
        self._refused_folded = {s.casefold(): reason for s, reason in self._refused.items()}

    @classmethod
    def from_file(cls, path: str | Path) -> SnapshotSource:
        snapshot, sound = _load(path)
        return cls(snapshot, str(path), text_is_sound=sound)

    async def __aenter__(self) -> SnapshotSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    @property
    def url(self) -> str:
        return str(self._snapshot.get("source", ""))

    @property
    def captured_at(self) -> str:
        return str(self._snapshot.get("captured_at", ""))

    def unit_serials(self) -> tuple[str, ...]:
        """Every unit the snapshot holds, in full or in list form, sorted: the whole of it,
        for `diff`. An optional capability (not in the `Source` interface), as a store may have.
        """
        return tuple(sorted(self._units.keys() | self._unit_list.keys()))

    async def get_unit(self, serial: str) -> Record:
        return self.unit_now(serial)

    def unit_now(self, serial: str) -> Record:
        """`get_unit` without the event loop: a snapshot answers at once."""
        body = self._units.get(serial) or self._units_folded.get(serial.casefold())
        if body is not None:
            return body
        if serial in self._unit_list or serial.casefold() in self._unit_list_folded:
            raise SnapshotError(
                f"snapshot {self._name} holds only the list form of unit {serial!r} (recorded "
                "by a crawl in pages); replay the command that recorded it, or crawl again"
            )
        reason = self._refused.get(serial) or self._refused_folded.get(serial.casefold())
        if reason is not None:
            raise RefusedError("unit", serial, reason)
        raise NotFoundError("unit", serial, f"snapshot {self._name}")

    def full_record_at_hand(self, serial: str) -> Record | None:
        """The full record of a unit when the snapshot holds it (free: no request).

        Not part of the `Source` interface: a crawl that finds it takes the
        full record of every unit it reads in list form, as the crawl that
        recorded the snapshot fetched it, or as an older snapshot holds it.
        """
        return self._units.get(serial) or self._units_folded.get(serial.casefold())

    async def find_units(self, serials: Sequence[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for serial in serials:
            listed = self._unit_list.get(serial) or self._unit_list_folded.get(serial.casefold())
            if listed is not None:
                found[serial] = listed
                continue
            body = self._units.get(serial) or self._units_folded.get(serial.casefold())
            if body is not None:
                found[serial] = unit_summary(body)
        return found

    async def get_batch(self, number: str) -> Record:
        body = self._batches.get(number) or self._batches_folded.get(number.casefold())
        if body is None:
            raise NotFoundError("batch", number, f"snapshot {self._name}")
        return body

    async def list_units(self, filters: UnitFilters) -> AsyncIterator[list[Record]]:
        """The snapshot's units in list form, oldest first, a page of 100 at a time."""
        chosen = sorted(
            (body for body in self._units.values() if filters.matches(body)),
            key=lambda body: (str(body.get("created_at", "")), str(body.get("serial_number"))),
        )
        for start in range(0, len(chosen), LIST_PAGE):
            yield [
                self._unit_list.get(str(body.get("serial_number"))) or unit_summary(body)
                for body in chosen[start : start + LIST_PAGE]
            ]

    async def list_batches(self, filters: BatchFilters) -> AsyncIterator[Record]:
        for number in sorted(self._batches):
            batch = self._batches[number]
            if batch_matches(batch, filters):
                yield batch_summary(batch)


class RecordingSource:
    """Wraps a Source and records every response the crawl used."""

    def __init__(self, inner: Source) -> None:
        self._inner = inner
        # A live crawl being recorded is the snapshot's capture: its pictures say
        # when, as the snapshot's replays will.
        self._captured_at = captured_at(inner) or generated_at()
        self.units: dict[str, Record] = {}
        self.unit_list: dict[str, Record] = {}
        self.batches: dict[str, Record] = {}
        self.missing: set[str] = set()
        self.refused: dict[str, str] = {}  # serial -> the reason the API gave (400, 414, 422)

    @property
    def url(self) -> str:
        return self._inner.url

    @property
    def captured_at(self) -> str:
        return self._captured_at

    @property
    def text_is_sound(self) -> bool:
        return text_is_sound(self._inner)

    async def get_unit(self, serial: str) -> Record:
        try:
            body = await self._inner.get_unit(serial)
        except NotFoundError:
            self.missing.add(serial)
            raise
        except RefusedError as error:
            self.refused[serial] = error.reason
            raise
        self.units[serial] = body
        return body

    def full_record_at_hand(self, serial: str) -> Record | None:
        """The inner source's full record at no cost, when it has one (recorded as used)."""
        at_hand = full_record_at_hand(self._inner, serial)
        if at_hand is not None:
            self.units[serial] = at_hand
        return at_hand

    async def find_units(self, serials: Sequence[str]) -> dict[str, Record]:
        found = await self._inner.find_units(serials)
        self.unit_list.update(found)
        self.missing.update(s for s in serials if s not in found)
        return found

    async def get_batch(self, number: str) -> Record:
        body = await self._inner.get_batch(number)
        self.batches[str(body.get("number", number))] = body
        return body

    def list_batches(self, filters: BatchFilters) -> AsyncIterator[Record]:
        return self._inner.list_batches(filters)

    def snapshot(self, captured_at: str) -> Record:
        """The recorded responses in the snapshot format of DESIGN §5.

        Units found through the list endpoint go under `unit_list` (their list
        form), and the units the API refused under `refused` with its reason:
        additions to DESIGN §5 that older readers ignore.
        """
        snapshot: Record = {
            "format": FORMAT,
            "version": VERSION,
            "source": self.url,
            "captured_at": captured_at,
            "units": dict(sorted(self.units.items())),
            "batches": dict(sorted(self.batches.items())),
            "missing": sorted(
                self.missing - set(self.units) - set(self.unit_list) - set(self.refused)
            ),
        }
        if self.refused:  # an addition to DESIGN §5, like `unit_list`
            snapshot["refused"] = dict(sorted(self.refused.items()))
        if self.unit_list:
            snapshot["unit_list"] = dict(sorted(self.unit_list.items()))
        return snapshot


def dump_snapshot(snapshot: Record) -> str:
    """Snapshot JSON text: sorted keys, stable bytes for the same responses.

    A lone surrogate the API sent (no Unicode text, see `source.mend_text`) is
    kept as the JSON escape it came as, so that a replay mends and warns alike.
    """
    text = json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    return LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
