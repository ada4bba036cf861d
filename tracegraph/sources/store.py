"""The genealogy store: a workspace's units and links over time, in SQLite or PostgreSQL.

`tracegraph sync` fills it (`tracegraph.syncing`); `--store` reads it. Nothing is
overwritten: each unit's attributes and each parent -> child link is a row
valid from the sync that first saw it to the sync that no longer did
(`valid_to`, NULL while current). Each sync is one transaction and one row of
`syncs`, so a killed sync leaves the last complete one standing. The schema
carries its version and migrates forward; a newer one is refused.

All SQL lives here, in the subset both engines run (parameters written `?`,
given to psycopg as `%s`); `sqlite3` and `psycopg` are imported nowhere else.
Reading, the store is a `Source` as of one sync, plus `prefetch`, which reads
a seed's whole scope with one `WITH RECURSIVE` query so that the crawl that
follows is answered from memory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from tracegraph.errors import NotFoundError, StoreError
from tracegraph.source import (
    LIST_CHILDREN_CAP,
    BatchFilters,
    Record,
    iso_utc,
    parse_iso,
)

SCHEMA_VERSION = 1
# Attribute columns of a unit version, in this order everywhere (rows are tuples).
UNIT_FIELDS = (
    "unit_id",
    "part_number",
    "part_name",
    "revision",
    "batch",
    "created_at",
    "station",
    "created_by",
    "sample",
    "outcome",
    "procedure",
    "last_run_outcome",
    "last_run_at",
    "last_run_procedure",
    "full_record",
)
UnitRow = tuple[str, ...]  # UNIT_FIELDS' values; full_record is "1" or "0"

# Migrations as data: version -> the statements that reach it from the one before.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "CREATE TABLE tracegraph_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE syncs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            source TEXT NOT NULL,
            filters TEXT NOT NULL,
            seen INTEGER NOT NULL,
            added INTEGER NOT NULL,
            changed INTEGER NOT NULL,
            gone INTEGER NOT NULL,
            links_changed INTEGER NOT NULL,
            requests INTEGER NOT NULL,
            seconds REAL NOT NULL
        )""",
        """CREATE TABLE units (
            serial TEXT NOT NULL,
            valid_from INTEGER NOT NULL REFERENCES syncs (id),
            valid_to INTEGER REFERENCES syncs (id),
            folded TEXT NOT NULL,
            """
        + ",\n            ".join(f"{name} TEXT NOT NULL" for name in UNIT_FIELDS)
        + """,
            PRIMARY KEY (serial, valid_from)
        )""",
        "CREATE INDEX units_folded ON units (folded, valid_from)",
        "CREATE INDEX units_current ON units (serial) WHERE valid_to IS NULL",
        """CREATE TABLE links (
            child TEXT NOT NULL,
            valid_from INTEGER NOT NULL REFERENCES syncs (id),
            valid_to INTEGER REFERENCES syncs (id),
            parent TEXT NOT NULL,
            PRIMARY KEY (child, valid_from)
        )""",
        "CREATE INDEX links_parent ON links (parent, valid_from)",
        "CREATE INDEX units_batch ON units (batch)",
    ),
}

# Rows valid at sync :at (the same two parameters every time).
VALID = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"


def display_target(target: str) -> str:
    """The store as it may be printed and recorded: a PostgreSQL URL without its password."""
    if not is_postgres(target):
        return target
    parts = urlsplit(target)
    host = parts.hostname or ""
    if parts.username:
        host = f"{parts.username}@{host}"
    try:
        port = parts.port
    except ValueError:
        raise StoreError(
            f"{urlunsplit((parts.scheme, host, parts.path, '', ''))} is not a PostgreSQL URL "
            "with a valid port"
        ) from None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _without_password(text: str, target: str) -> str:
    """`text` with the store's password taken out, as typed and as percent-decoded."""
    password = urlsplit(target).password
    for secret in {password, unquote(password)} if password else ():
        text = text.replace(secret, "***")
    return text


def is_postgres(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class SyncRecord:
    """One row of `syncs`: what a sync read and wrote."""

    id: int
    started_at: str
    finished_at: str
    source: str
    filters: str
    seen: int
    added: int
    changed: int
    gone: int
    links_changed: int
    requests: int
    seconds: float


@dataclass(frozen=True)
class UnitVersion:
    """One row of `units`: a unit's attributes from sync `valid_from` to `valid_to` (excluded)."""

    serial: str
    valid_from: int
    valid_to: int | None  # None: still current
    row: UnitRow


@dataclass(frozen=True)
class LinkVersion:
    """One row of `links`: `child` under `parent` from sync `valid_from` to `valid_to`."""

    child: str
    parent: str
    valid_from: int
    valid_to: int | None


@dataclass(frozen=True)
class Observation:
    """What a sync read: each unit's attributes and parent, keyed by serial."""

    units: dict[str, UnitRow]
    parents: dict[str, str]  # child serial -> parent serial
    # Which stored units the sync speaks for, by their fields: those it did not see are
    # gone (None: every unit, a sync of the whole workspace).
    covers: Callable[[dict[str, str]], bool] | None = None


@dataclass(frozen=True)
class Change:
    """One thing a sync changed, for the summary and the tests."""

    kind: str  # added, changed, gone, linked, unlinked
    serial: str


class Store:
    """One connection to a store; SQLite for a path, PostgreSQL for a `postgresql://` URL."""

    def __init__(self, target: str, connection: Any, engine: str) -> None:
        self.target = display_target(target)
        self._connection = connection
        self.engine = engine

    @classmethod
    def open(cls, target: str, *, create: bool) -> Store:
        """Open (with `create`, make) the store at `target`, its schema checked and migrated."""
        if is_postgres(target):
            store = cls(target, _connect_postgres(target), "postgresql")
        else:
            store = cls(target, _connect_sqlite(target, create), "sqlite")
        try:
            store._migrate(create)
        except BaseException:
            store.close()
            raise
        return store

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- SQL -----------------------------------------------------------------

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.engine == "postgresql" else statement

    def _rows(self, statement: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._connection.execute(self._sql(statement), tuple(parameters))
            return list(cursor.fetchall())
        except Exception as error:
            raise self._failed("read", error) from None

    def _execute(self, statement: str, parameters: Sequence[Any] = ()) -> None:
        try:
            self._connection.execute(self._sql(statement), tuple(parameters))
        except Exception as error:
            raise self._failed("write", error) from None

    def _many(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            if self.engine == "postgresql":
                with self._connection.cursor() as cursor:
                    cursor.executemany(self._sql(statement), list(rows))
            else:
                self._connection.executemany(statement, rows)
        except Exception as error:
            raise self._failed("write", error) from None

    def _failed(self, doing: str, error: Exception) -> StoreError:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        if "locked" in reason or "busy" in reason:
            reason += " (another sync is writing; it waited 10 minutes)"
        return StoreError(f"cannot {doing} store {self.target}: {reason}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction that holds the store's write lock: a second sync waits for it."""
        if self.engine == "postgresql":
            try:
                with self._connection.transaction():
                    self._execute("SELECT pg_advisory_xact_lock(7305413)")
                    yield
            except StoreError:
                raise
            except Exception as error:
                raise self._failed("write", error) from None
            return
        self._execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(Exception):
                self._connection.execute("ROLLBACK")
            raise
        self._execute("COMMIT")

    # -- schema ----------------------------------------------------------------

    def _version(self) -> int | None:
        if self.engine == "postgresql":
            # A scan of the catalog, not to_regclass: its cache may still say "absent"
            # after another sync created the table while this one waited for the lock.
            found = bool(
                self._rows(
                    "SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'tracegraph_meta' "
                    "AND schemaname = current_schema()"
                )
            )
        else:
            found = bool(self._rows("SELECT 1 FROM sqlite_master WHERE name = 'tracegraph_meta'"))
        if not found:
            return None
        rows = self._rows("SELECT value FROM tracegraph_meta WHERE name = 'schema_version'")
        return int(rows[0][0]) if rows else None

    def _migrate(self, create: bool) -> None:
        version = self._version()
        if version is None and not create:
            raise StoreError(
                f"{self.target} is not a tracegraph store; fill it with tracegraph sync"
            )
        if version is not None and version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.target} has schema version {version}, written by a newer "
                f"tracegraph; this one reads up to version {SCHEMA_VERSION}: upgrade tracegraph"
            )
        if version == SCHEMA_VERSION:
            return
        with self._transaction():
            version = self._version() or 0  # another process may have migrated meanwhile
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[step]:
                    self._execute(statement)
            self._execute("DELETE FROM tracegraph_meta WHERE name = 'schema_version'")
            self._execute(
                "INSERT INTO tracegraph_meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    # -- syncs -----------------------------------------------------------------

    def syncs(self) -> list[SyncRecord]:
        rows = self._rows(
            "SELECT id, started_at, finished_at, source, filters, seen, added, changed, gone, "
            "links_changed, requests, seconds FROM syncs ORDER BY id"
        )
        return [SyncRecord(*row) for row in rows]

    def sync_as_of(self, moment: datetime | None, option: str = "--as-of") -> SyncRecord:
        """The last complete sync at `moment` (None: the latest); `option` names it in errors."""
        syncs = self.syncs()
        if not syncs:
            raise StoreError(f"store {self.target} holds no sync yet; run tracegraph sync")
        if moment is None:
            return syncs[-1]
        at = [s for s in syncs if parse_iso(s.finished_at) <= moment]
        if not at:
            raise StoreError(
                f"{option} {iso_utc(moment)} is before store {self.target} starts: its first "
                f"sync finished at {syncs[0].finished_at}"
            )
        return at[-1]

    def record_sync(
        self,
        observation: Observation,
        *,
        started_at: str,
        finished_at: str,
        source: str,
        filters: str,
        requests: int,
        seconds: float,
    ) -> tuple[SyncRecord, list[Change]]:
        """Write what a sync saw as one transaction; only what changed gets rows."""
        with self._transaction():
            rows = self._rows("SELECT COALESCE(MAX(id), 0) FROM syncs")
            sync = int(rows[0][0]) + 1
            current = {
                str(row[0]): tuple(str(v) for v in row[1:])
                for row in self._rows(
                    "SELECT serial, "
                    + ", ".join(UNIT_FIELDS)
                    + " FROM units WHERE valid_to IS NULL"
                )
            }
            parents = {
                str(child): str(parent)
                for child, parent in self._rows(
                    "SELECT child, parent FROM links WHERE valid_to IS NULL"
                )
            }
            changes = _changes(current, parents, observation)
            kinds = [c.kind for c in changes]
            record = SyncRecord(
                id=sync,
                started_at=started_at,
                finished_at=finished_at,
                source=source,
                filters=filters,
                seen=len(observation.units),
                added=kinds.count("added"),
                changed=kinds.count("changed"),
                gone=kinds.count("gone"),
                links_changed=kinds.count("linked") + kinds.count("unlinked"),
                requests=requests,
                seconds=round(seconds, 3),
            )
            # The sync's row goes first: the versions refer to it.
            self._insert_sync(record)
            self._write_changes(sync, observation, changes)
        self._analyse()
        return record, changes

    def _analyse(self) -> None:
        """Fresh planner statistics after a write: without them PostgreSQL scans whole tables
        for a genealogy's few rows (a product of a 100k store took 0.9 s instead of 0.3 s)."""
        self._execute("ANALYZE units" if self.engine == "sqlite" else "ANALYZE units, links")
        if self.engine == "sqlite":
            self._execute("ANALYZE links")

    def _insert_sync(self, record: SyncRecord) -> None:
        fields = dataclasses.fields(SyncRecord)
        self._execute(
            f"INSERT INTO syncs ({', '.join(f.name for f in fields)}) "
            f"VALUES ({', '.join('?' for _ in fields)})",
            dataclasses.astuple(record),
        )

    def _write_changes(self, sync: int, observation: Observation, changes: list[Change]) -> None:
        """The rows a sync's changes need: old versions closed, new ones added."""
        close_units = [(sync, c.serial) for c in changes if c.kind in ("changed", "gone")]
        add_units = [
            (c.serial, sync, c.serial.casefold(), *observation.units[c.serial])
            for c in changes
            if c.kind in ("added", "changed")
        ]
        close_links = [(sync, c.serial) for c in changes if c.kind == "unlinked"]
        add_links = [
            (c.serial, sync, observation.parents[c.serial]) for c in changes if c.kind == "linked"
        ]
        self._many(
            "UPDATE units SET valid_to = ? WHERE serial = ? AND valid_to IS NULL", close_units
        )
        columns = ", ".join(("serial", "valid_from", "folded", *UNIT_FIELDS))
        marks = ", ".join("?" for _ in range(3 + len(UNIT_FIELDS)))
        self._insert(f"INSERT INTO units ({columns}) VALUES ({marks})", "units", columns, add_units)
        self._many(
            "UPDATE links SET valid_to = ? WHERE child = ? AND valid_to IS NULL", close_links
        )
        self._insert(
            "INSERT INTO links (child, valid_from, parent) VALUES (?, ?, ?)",
            "links",
            "child, valid_from, parent",
            add_links,
        )

    def _insert(
        self, statement: str, table: str, columns: str, rows: list[tuple[Any, ...]]
    ) -> None:
        """Bulk insert: COPY on PostgreSQL (an order of magnitude faster), executemany on SQLite."""
        if not rows:
            return
        if self.engine != "postgresql":
            self._many(statement, rows)
            return
        try:
            with (
                self._connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        except Exception as error:
            raise self._failed("write", error) from None

    # -- reading ---------------------------------------------------------------

    def units(self, serials: Iterable[str], at: int) -> dict[str, tuple[str, UnitRow]]:
        """Units valid at sync `at`, by folded serial: (serial as spelled, attributes)."""
        folded = sorted({s.casefold() for s in serials})
        found: dict[str, tuple[str, UnitRow]] = {}
        for chunk, marks in _in_chunks(folded):
            for row in self._rows(
                "SELECT folded, serial, " + ", ".join(UNIT_FIELDS) + " FROM units "
                f"WHERE folded IN ({marks}) AND {VALID}",
                (*chunk, at, at),
            ):
                found[str(row[0])] = (str(row[1]), tuple(str(v) for v in row[2:]))
        return found

    def links_of(
        self, serials: Iterable[str], at: int
    ) -> tuple[dict[str, str], dict[str, list[str]]]:
        """The parent of each of `serials` and the children of each, at sync `at`."""
        wanted = sorted(set(serials))
        parent_of: dict[str, str] = {}
        children: dict[str, set[str]] = {}
        for chunk, marks in _in_chunks(wanted):
            # Two queries, each on its own index (an OR of both keeps PostgreSQL from either).
            for column in ("child", "parent"):
                for child, parent in self._rows(
                    f"SELECT child, parent FROM links WHERE {column} IN ({marks}) AND {VALID}",
                    (*chunk, at, at),
                ):
                    parent_of[str(child)] = str(parent)
                    children.setdefault(str(parent), set()).add(str(child))
        return parent_of, {parent: sorted(listed) for parent, listed in children.items()}

    def scope(
        self, seeds: Sequence[str], up: bool, down: bool, at: int, depth: int | None = None
    ) -> set[str]:
        """Serials reachable from `seeds` at sync `at`: ancestors, descendants, or both
        (the descendants of the seeds and of their ancestors), within `depth` links."""
        spelled = {spelling for spelling, _ in self.units(seeds, at).values()}
        found = set(spelled)
        if up and spelled:
            found |= self._walk(sorted(spelled), "up", at, depth)
        if down and found:
            below = None if depth is None else depth * (2 if up else 1)
            found |= self._walk(sorted(found), "down", at, below)
        return found

    def _walk(self, starts: Sequence[str], way: str, at: int, depth: int | None) -> set[str]:
        """One `WITH RECURSIVE` walk over the links valid at `at`, up or down.

        `UNION` (not `UNION ALL`) keeps each row once, so a cycle in the data ends
        the walk; with `depth`, each row carries its distance and stops there.
        """
        if len(starts) > 500:  # a whole store's units: no engine takes that many parameters
            chunks = (chunk for chunk, _ in _in_chunks(starts))
            return set().union(*(self._walk(chunk, way, at, depth) for chunk in chunks))
        near, far = ("child", "parent") if way == "up" else ("parent", "child")
        marks = ", ".join("?" for _ in starts)
        links_valid = "links." + VALID.replace("valid_to", "links.valid_to", 2)
        if depth is None:
            statement = f"""WITH RECURSIVE walk(serial) AS (
                SELECT serial FROM units WHERE serial IN ({marks}) AND {VALID}
                UNION
                SELECT links.{far} FROM links JOIN walk ON links.{near} = walk.serial
                WHERE {links_valid}
            ) SELECT serial FROM walk"""
            parameters: tuple[Any, ...] = (*starts, at, at, at, at)
        else:
            statement = f"""WITH RECURSIVE walk(serial, depth) AS (
                SELECT serial, 0 FROM units WHERE serial IN ({marks}) AND {VALID}
                UNION
                SELECT links.{far}, walk.depth + 1 FROM links
                JOIN walk ON links.{near} = walk.serial
                WHERE {links_valid} AND walk.depth < ?
            ) SELECT serial FROM walk"""
            parameters = (*starts, at, at, at, at, depth)
        return {str(row[0]) for row in self._rows(statement, parameters)}

    def history(self, serials: Iterable[str]) -> list[tuple[str, str, int, int | None]]:
        """Every link that touched `serials`, in any sync: (parent, child, from, to)."""
        wanted = sorted(set(serials))
        found: list[tuple[str, str, int, int | None]] = []
        for chunk, marks in _in_chunks(wanted):
            found += [
                (str(parent), str(child), int(valid_from), None if to is None else int(to))
                for child, parent, valid_from, to in self._rows(
                    "SELECT child, parent, valid_from, valid_to FROM links "
                    f"WHERE child IN ({marks}) OR parent IN ({marks})",
                    (*chunk, *chunk),
                )
            ]
        return sorted(set(found), key=lambda link: (link[2], link[0], link[1]))

    def unit_serials(self, at: int) -> list[str]:
        """Every unit valid at sync `at`, by serial."""
        rows = self._rows(f"SELECT serial FROM units WHERE {VALID} ORDER BY serial", (at, at))
        return [str(row[0]) for row in rows]

    def versions(
        self, serials: Iterable[str], first: int, last: int
    ) -> tuple[list[UnitVersion], list[LinkVersion]]:
        """The unit and parent-link versions of `serials` valid at a sync of `first`..`last`."""
        wanted = sorted(set(serials))
        units: list[UnitVersion] = []
        links: list[LinkVersion] = []
        window = "valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)"
        for chunk, marks in _in_chunks(wanted):
            for row in self._rows(
                "SELECT serial, valid_from, valid_to, " + ", ".join(UNIT_FIELDS) + " FROM units "
                f"WHERE serial IN ({marks}) AND {window}",
                (*chunk, last, first),
            ):
                units.append(
                    UnitVersion(
                        str(row[0]),
                        int(row[1]),
                        None if row[2] is None else int(row[2]),
                        tuple(str(v) for v in row[3:]),
                    )
                )
            for child, parent, valid_from, valid_to in self._rows(
                "SELECT child, parent, valid_from, valid_to FROM links "
                f"WHERE child IN ({marks}) AND {window}",
                (*chunk, last, first),
            ):
                links.append(
                    LinkVersion(
                        str(child),
                        str(parent),
                        int(valid_from),
                        None if valid_to is None else int(valid_to),
                    )
                )
        return units, links

    def batch_members(self, number: str, at: int) -> list[tuple[str, UnitRow]]:
        """The units of a batch at sync `at`, its number compared ignoring case as the API does.

        The case is folded in Python, not by SQL's LOWER: SQLite's folds ASCII only,
        PostgreSQL's all of Unicode, and both engines must answer alike.
        """
        spellings = sorted(
            {
                str(batch)
                for (batch,) in self._rows("SELECT DISTINCT batch FROM units WHERE batch <> ''")
                if str(batch).casefold() == number.casefold()
            }
        )
        if not spellings:
            return []
        marks = ", ".join("?" for _ in spellings)
        rows = self._rows(
            "SELECT serial, " + ", ".join(UNIT_FIELDS) + f" FROM units WHERE {VALID}"
            f" AND batch IN ({marks}) ORDER BY serial",
            (at, at, *spellings),
        )
        return [(str(row[0]), tuple(str(v) for v in row[1:])) for row in rows]

    def batches(self, at: int) -> list[tuple[str, str, int]]:
        """Every batch at sync `at`: number, earliest unit's created_at, unit count."""
        rows = self._rows(
            f"SELECT batch, MIN(created_at), COUNT(*) FROM units WHERE {VALID} AND batch <> '' "
            "GROUP BY batch ORDER BY batch",
            (at, at),
        )
        return [(str(b), str(c), int(n)) for b, c, n in rows]

    def parts_of_batches(self, at: int) -> dict[str, set[tuple[str, str]]]:
        rows = self._rows(
            f"SELECT DISTINCT batch, part_number, revision FROM units WHERE {VALID} "
            "AND batch <> ''",
            (at, at),
        )
        found: dict[str, set[tuple[str, str]]] = {}
        for batch, part, revision in rows:
            found.setdefault(str(batch), set()).add((str(part), str(revision)))
        return found

    def current_fields(self) -> dict[str, dict[str, str]]:
        """Each current unit's fields that filters select by (a sync checks what it did not see)."""
        names = ("part_number", "revision", "batch", "created_at")
        rows = self._rows(f"SELECT serial, {', '.join(names)} FROM units WHERE valid_to IS NULL")
        return {str(row[0]): dict(zip(names, map(str, row[1:]), strict=True)) for row in rows}

    def creating_runs(self) -> dict[str, tuple[str, str]]:
        """The creating run (outcome, procedure) of each current unit read in full once."""
        rows = self._rows(
            "SELECT serial, outcome, procedure FROM units "
            "WHERE valid_to IS NULL AND full_record = '1'"
        )
        return {str(serial): (str(outcome), str(procedure)) for serial, outcome, procedure in rows}

    def size_bytes(self) -> int:
        """The store's size on disk (SQLite file and WAL) or in the database (PostgreSQL)."""
        if self.engine == "postgresql":
            return int(self._rows("SELECT pg_database_size(current_database())")[0][0])
        path = self.target
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))

    def bulk_load(
        self,
        sync: SyncRecord,
        units: Iterable[tuple[str, UnitRow]],
        links: Iterable[tuple[str, str]],
    ) -> None:
        """Write a first sync straight into an empty store (benchmarks of a big store)."""
        with self._transaction():
            self._insert_sync(sync)
            columns = ", ".join(("serial", "valid_from", "folded", *UNIT_FIELDS))
            marks = ", ".join("?" for _ in range(3 + len(UNIT_FIELDS)))
            self._insert(
                f"INSERT INTO units ({columns}) VALUES ({marks})",
                "units",
                columns,
                [(s, sync.id, s.casefold(), *row) for s, row in units],
            )
            self._insert(
                "INSERT INTO links (child, valid_from, parent) VALUES (?, ?, ?)",
                "links",
                "child, valid_from, parent",
                [(child, sync.id, parent) for child, parent in links],
            )
        self._analyse()


def _in_chunks(values: Sequence[str], size: int = 500) -> Iterator[tuple[Sequence[str], str]]:
    """`values` in chunks an `IN (...)` list can hold on both engines, with their `?` marks.

    SQLite takes at most 32,766 parameters in a statement, PostgreSQL 65,535.
    """
    for start in range(0, len(values), size):
        chunk = values[start : start + size]
        yield chunk, ", ".join("?" for _ in chunk)


def _changes(
    current: dict[str, UnitRow], parents: dict[str, str], observation: Observation
) -> list[Change]:
    """What differs between the store's current rows and what a sync saw."""
    changes: list[Change] = []
    seen = observation.units
    for serial in sorted(seen):
        before = current.get(serial)
        if before is None:
            changes.append(Change("added", serial))
        elif before != seen[serial]:
            changes.append(Change("changed", serial))
    covered = observation.covers
    for serial in sorted(current.keys() - seen.keys()):
        if covered is None or covered(dict(zip(UNIT_FIELDS, current[serial], strict=True))):
            changes.append(Change("gone", serial))
    gone = {c.serial for c in changes if c.kind == "gone"}
    for child in sorted(parents.keys() | observation.parents.keys()):
        old, new = parents.get(child), observation.parents.get(child)
        if child not in seen and child not in gone:
            continue  # a unit this sync did not look at keeps its link
        if old == new:
            continue
        if old is not None:
            changes.append(Change("unlinked", child))
        if new is not None:
            changes.append(Change("linked", child))
    return changes


def _connect_sqlite(path: str, create: bool) -> sqlite3.Connection:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(f"cannot open store {path}: the folder {folder} does not exist")
    if not create and not os.path.exists(path):
        raise StoreError(
            f"there is no store at {path}; fill one with tracegraph sync --store {path}"
        )
    try:
        # Autocommit: transactions are opened explicitly (`BEGIN IMMEDIATE`), never implicitly.
        connection = sqlite3.connect(path, isolation_level=None, timeout=600)
        connection.execute("PRAGMA journal_mode=WAL")  # readers read while a sync writes
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=600000")
    except sqlite3.Error as error:
        raise StoreError(f"cannot open store {path}: {error}") from None
    return connection


def _connect_postgres(url: str) -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a PostgreSQL store needs psycopg: pip install 'tracegraph[postgres]'"
        ) from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0].removeprefix("connection failed: ") if lines else type(error).__name__
        reason = _without_password(reason, url)
        raise StoreError(
            f"cannot connect to PostgreSQL store {display_target(url)}: {reason}"
        ) from None


# -- the store as a Source -------------------------------------------------------


def unit_record(
    serial: str, row: UnitRow, parent: str | None, children: Sequence[str], *, full: bool
) -> Record:
    """A unit in the API's shape, as the crawler reads it (list form, or full with its run)."""
    fields = dict(zip(UNIT_FIELDS, row, strict=True))

    def named(key: str) -> Record | None:
        return {"id": "", "name": fields[key]} if fields[key] else None

    record: Record = {
        "id": fields["unit_id"],
        "serial_number": serial,
        "created_at": fields["created_at"],
        "sample": fields["sample"] or None,
        "part": {
            "id": "",
            "number": fields["part_number"],
            "name": fields["part_name"],
            "revision": {"id": "", "number": fields["revision"]},
        },
        "batch": {"id": "", "number": fields["batch"]} if fields["batch"] else None,
        "parent": {"id": "", "serial_number": parent} if parent else None,
        "children": [
            {"id": "", "serial_number": child}
            for child in (children if full else children[:LIST_CHILDREN_CAP])
        ],
        "created_by_user": named("created_by"),
        "created_by_station": named("station"),
    }
    if full:
        record["created_during"] = (
            {
                "id": "",
                "outcome": fields["outcome"],
                "procedure": {"id": "", "name": fields["procedure"]}
                if fields["procedure"]
                else None,
            }
            if fields["outcome"] or fields["procedure"]
            else None
        )
    else:
        record["last_run"] = (
            {
                "id": "",
                "outcome": fields["last_run_outcome"],
                "started_at": fields["last_run_at"],
                "procedure": {"id": "", "name": fields["last_run_procedure"]}
                if fields["last_run_procedure"]
                else None,
            }
            if fields["last_run_outcome"] or fields["last_run_at"]
            else None
        )
    return record


class StoreSource:
    """The store as a `Source`, answering as of one sync (`--as-of`), read only."""

    def __init__(self, store: Store, sync: SyncRecord, as_of: str = "") -> None:
        self.store = store
        self.sync = sync
        self.as_of = as_of  # the time asked for ("" for the latest)
        self._cache: dict[str, tuple[str, UnitRow]] = {}  # folded serial -> row
        self._parents: dict[str, str] = {}
        self._children: dict[str, list[str]] = {}
        self._linked: set[str] = set()  # serials whose links are in the cache

    kind = "store"

    @property
    def name(self) -> str:
        return self.store.target

    def unit_serials(self) -> tuple[str, ...]:
        """Every unit the store held at this sync (a diff of the whole store)."""
        return tuple(self.store.unit_serials(self.sync.id))

    @property
    def url(self) -> str:
        """The API the sync read (never a key: the store holds none)."""
        return self.sync.source

    @property
    def captured_at(self) -> str:
        return self.sync.finished_at

    @property
    def provenance(self) -> dict[str, str]:
        """What the graph records about the store (graph attributes `store_*`)."""
        return {
            "store": self.store.target,
            "store_sync": f"{self.sync.id} of {self.sync.finished_at}",
            **({"store_as_of": self.as_of} if self.as_of else {}),
        }

    async def __aenter__(self) -> StoreSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.store.close()

    def _load(self, serials: Iterable[str]) -> None:
        wanted = {s.casefold() for s in serials} - self._cache.keys()
        if wanted:
            self._cache.update(self.store.units(wanted, self.sync.id))
        spelled = [self._cache[f][0] for f in {s.casefold() for s in serials} if f in self._cache]
        unlinked = [s for s in spelled if s not in self._linked]
        if unlinked:
            parents, children = self.store.links_of(unlinked, self.sync.id)
            for serial in unlinked:
                self._linked.add(serial)
                self._children.setdefault(serial, [])
            self._parents.update(parents)
            for parent, listed in children.items():
                self._children[parent] = sorted({*self._children.get(parent, ()), *listed})

    def _record(self, serial: str, *, full: bool) -> Record | None:
        found = self._cache.get(serial.casefold())
        if found is None:
            return None
        spelled, row = found
        return unit_record(
            spelled,
            row,
            self._parents.get(spelled),
            self._children.get(spelled, []),
            full=full and row[-1] == "1",
        )

    async def prefetch(self, seeds: Sequence[str], scope: str, depth: int | None) -> None:
        """Read the whole scope of `seeds` with recursive queries, ahead of the crawl."""
        if depth == 0:  # the seeds alone (a whole side of a diff: every unit, in chunks)
            self._load(seeds)
            return
        up = scope in ("tree", "lineage", "up")
        down = scope in ("tree", "lineage", "down")
        at = self.sync.id
        if scope == "lineage":
            serials = self.store.scope(seeds, True, False, at, depth)
            serials |= self.store.scope(seeds, False, True, at, depth)
        else:
            serials = self.store.scope(seeds, up, down, at, depth)
        self._load([*serials, *seeds])

    async def get_unit(self, serial: str) -> Record:
        self._load([serial])
        record = self._record(serial, full=True)
        if record is None:
            raise NotFoundError("unit", serial, f"store {self.store.target}")
        return record

    async def find_units(self, serials: Sequence[str]) -> dict[str, Record]:
        self._load(serials)
        found: dict[str, Record] = {}
        for serial in serials:
            record = self._record(serial, full=False)
            if record is not None:
                found[serial] = record
        # The children of what was found, for the crawl's next level, in one query.
        self._load([c["serial_number"] for r in found.values() for c in r["children"]])
        return found

    async def get_batch(self, number: str) -> Record:
        members = self.store.batch_members(number, self.sync.id)
        if not members:
            raise NotFoundError("batch", number, f"store {self.store.target}")
        spelled = members[0][1][UNIT_FIELDS.index("batch")]
        for serial, row in members:
            self._cache.setdefault(serial.casefold(), (serial, row))
        return {
            "id": "",
            "number": spelled,
            "created_at": min(row[UNIT_FIELDS.index("created_at")] for _, row in members),
            "units": [
                {
                    "id": row[0],
                    "serial_number": serial,
                    "created_at": row[UNIT_FIELDS.index("created_at")],
                    "part": {"number": row[1], "name": row[2], "revision": {"number": row[3]}},
                }
                for serial, row in members
            ],
        }

    async def list_batches(self, filters: BatchFilters) -> AsyncIterator[Record]:
        parts = self.store.parts_of_batches(self.sync.id)
        for number, created_at, count in self.store.batches(self.sync.id):
            if not _batch_selected(number, created_at, parts.get(number, set()), filters):
                continue
            yield {"id": "", "number": number, "created_at": created_at, "unit_count": count}


def _batch_selected(
    number: str, created_at: str, parts: set[tuple[str, str]], filters: BatchFilters
) -> bool:
    folded = number.casefold()
    if filters.numbers and folded not in {n.casefold() for n in filters.numbers}:
        return False
    if filters.search and filters.search.casefold() not in folded:
        return False
    if filters.part_numbers and not any(
        p.casefold() in {x.casefold() for x in filters.part_numbers} for p, _ in parts
    ):
        return False
    if filters.revision_numbers and not any(
        r.casefold() in {x.casefold() for x in filters.revision_numbers} for _, r in parts
    ):
        return False
    try:
        moment = parse_iso(created_at)
    except ValueError:
        return not (filters.created_after or filters.created_before)
    if filters.created_after and moment < _aware(filters.created_after):
        return False
    return not (filters.created_before and moment > _aware(filters.created_before))


def _aware(moment: datetime) -> datetime:
    return parse_iso(iso_utc(moment))


def filters_text(filters: dict[str, Any]) -> str:
    """The filters of a sync as stored: canonical JSON."""
    return json.dumps(filters, sort_keys=True, separators=(",", ":"))
