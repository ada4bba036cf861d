"""GS1 EPCIS 2.0 JSON-LD: the genealogy as events a supply-chain partner's system reads.

One `AssociationEvent` (action ADD, bizStep `assembling`) per parent and its
children, one `ObjectEvent` (bizStep `inspecting`, disposition `conformant` or
`non_conformant`) per unit with a known test outcome, and, for links that
were removed (from a store's history or a diff), one `AssociationEvent`
(action DELETE, bizStep `removing`: CBV's "an object is taken out of a
composite object") per parent and moment. Units are named by URIs made from
a template (`--epc-uri`); part and batch numbers ride in the `tg:` extension
the `@context` declares. Event ids are name-based UUIDs of the event's
content: the same data gives the same document, byte for byte.
"""

from __future__ import annotations

import json
import re
import string
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NamedTuple
from urllib.parse import quote

import networkx as nx
import orjson

from tracegraph.errors import ExportError
from tracegraph.graph import NODE_ATTRIBUTES, shown_outcome
from tracegraph.source import parse_iso

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
NAMESPACE = "urn:tracegraph:epcis:"  # the `tg:` prefix: needs no domain of anyone's
DEFAULT_EPC_URI = "urn:tracegraph:unit:{serial}"
# Fields a template may name: the graph's node attributes, and `serial` for short.
EPC_URI_FIELDS = (*NODE_ATTRIBUTES, "serial")
EVENT_IDS = uuid.uuid5(uuid.NAMESPACE_URL, NAMESPACE)
DISPOSITIONS = {"PASS": "conformant", "FAIL": "non_conformant"}
# When neither the units nor the graph say when (no created_at, no generated_at).
UNKNOWN_TIME = (datetime(1970, 1, 1, tzinfo=timezone.utc), "1970-01-01T00:00:00.000Z", "+00:00")

# RFC 3986 `URI` (absolute, with an optional fragment), as GS1's schema checks `format: uri`.
_PCHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})"
_AUTHORITY = (
    r"(?:(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@)?"
    r"(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)"
    r"(?::[0-9]*)?"
)
ABSOLUTE_URI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+.\-]*:"
    rf"(?://{_AUTHORITY}(?:/{_PCHAR}*)*|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?|(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
    rf"(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?",
    re.ASCII,
)


class RemovedLink(NamedTuple):
    """A parent -> child link that existed and was taken apart at `time` (ISO 8601)."""

    parent: str
    child: str
    time: str


@dataclass(frozen=True)
class EpcUriTemplate:
    """`https://id.example.com/{part_number}/{serial}`: a unit's URI from its attributes.

    Every field is percent-encoded (RFC 3986, UTF-8), so any serial makes a URI.
    """

    template: str
    fields: tuple[str, ...]

    @classmethod
    def parse(cls, template: str) -> EpcUriTemplate:
        """The template, or an `ExportError` for a field that is no attribute of a unit."""
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError as error:
            raise ExportError(f"--epc-uri {template!r} is not a template: {error}") from None
        fields = []
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in EPC_URI_FIELDS or spec or conversion:
                shown = "{" + name + (f"!{conversion}" if conversion else "")
                shown += (f":{spec}" if spec else "") + "}"
                raise ExportError(
                    f"--epc-uri names an unknown field {shown}; use "
                    + ", ".join("{" + f + "}" for f in sorted(set(EPC_URI_FIELDS)))
                )
            fields.append(name)
        return cls(template, tuple(fields))

    def uri(self, serial: str, attributes: Mapping[str, object], *, known: bool = True) -> str:
        """The unit's URI; an `ExportError` naming the unit when it is not an absolute URI.

        A unit the graph does not hold (`known` False: named only by a removed
        link) has its serial and nothing else.
        """
        values: dict[str, str] = {}
        for name in self.fields:
            if name in ("serial", "serial_number"):
                value: object = serial
            elif not known:
                raise ExportError(
                    f"--epc-uri needs {{{name}}}, which unit {serial!r} (named only by a "
                    "removed link) does not have; use a template of {serial} alone"
                )
            else:
                value = attributes.get(name, "")
            values[name] = quote(str(value), safe="", errors="surrogatepass")
        made = self.template.format(**values)
        if not ABSOLUTE_URI.fullmatch(made):
            raise ExportError(
                f"--epc-uri {self.template!r} does not make an absolute URI for unit "
                f"{serial!r}: {made!r}"
            )
        return made


def canonical(data: object) -> str:
    """Compact JSON with sorted keys: the name an event's UUID is made from."""
    try:
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except orjson.JSONEncodeError:  # a lone surrogate, in a graph built by hand
        return json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def event_time(text: object) -> tuple[datetime, str, str] | None:
    """A time from the data as (instant, RFC 3339 text, zone offset), or None if it is none."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        moment = parse_iso(text)
    except ValueError:
        return None
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if not -14 * 60 <= minutes <= 14 * 60:
        return None
    sign = "-" if minutes < 0 else "+"
    zone = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    shown = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.astimezone(timezone.utc), shown, zone


class _Events:
    """The events of one document, each with its sort key."""

    def __init__(self, graph: nx.DiGraph, template: EpcUriTemplate) -> None:
        self.graph = graph
        self.template = template
        self.uris: dict[str, str] = {}
        self.owners: dict[str, str] = {}
        self.times: dict[str, tuple[datetime, str, str] | None] = {}
        self.made: list[tuple[tuple[datetime, int, str], dict[str, Any]]] = []
        fallback = graph.graph.get("captured_at") or graph.graph.get("generated_at")
        self.fallback = event_time(fallback) or UNKNOWN_TIME

    def uri(self, serial: str) -> str:
        if serial not in self.uris:
            known = serial in self.graph
            attributes = self.graph.nodes[serial] if known else {}
            made = self.template.uri(serial, attributes, known=known)
            other = self.owners.setdefault(made, serial)
            if other != serial:
                raise ExportError(
                    f"--epc-uri {self.template.template!r} gives units {other!r} and "
                    f"{serial!r} the same URI {made!r}; include {{serial}}"
                )
            self.uris[serial] = made
        return self.uris[serial]

    def unit_facts(self, serials: Iterable[str]) -> list[dict[str, str]]:
        """Part, revision and batch of each unit (and whether it is missing): `tg:units`."""
        facts = []
        for serial in serials:
            attributes = self.graph.nodes[serial] if serial in self.graph else {}
            fact = {"@id": self.uri(serial)}
            for key, name in (
                ("part_number", "tg:partNumber"),
                ("revision", "tg:revision"),
                ("batch", "tg:batchNumber"),
            ):
                if attributes.get(key):
                    fact[name] = str(attributes[key])
            if attributes.get("status") == "missing":
                fact["tg:status"] = "missing"  # named by a unit, but the API has no such unit
            facts.append(fact)
        return facts

    def created(self, serial: str) -> tuple[datetime, str, str] | None:
        if serial not in self.times:
            self.times[serial] = event_time(self.graph.nodes[serial].get("created_at"))
        return self.times[serial]

    def when(self, serials: Iterable[str]) -> tuple[datetime, str, str]:
        """The latest `created_at` among the units: the assembly cannot be older."""
        known = [t for t in map(self.created, serials) if t is not None]
        return max(known, key=lambda t: t[0]) if known else self.fallback

    def add(
        self, rank: int, key: str, moment: tuple[datetime, str, str], event: dict[str, Any]
    ) -> None:
        """Keep an event; its id is a name-based UUID of everything else it says."""
        body = {"type": event["type"], "eventTime": moment[1], "eventTimeZoneOffset": moment[2]}
        body.update(event)
        identified = {"eventID": f"urn:uuid:{uuid.uuid5(EVENT_IDS, canonical(body))}", **body}
        self.made.append(((moment[0], rank, key), identified))

    def assemblies(self) -> None:
        for parent in sorted(self.graph):
            children = sorted(self.graph.successors(parent))
            if not children:
                continue
            self.add(
                0,
                parent,
                self.when([parent, *children]),
                {
                    "type": "AssociationEvent",
                    "parentID": self.uri(parent),
                    "childEPCs": [self.uri(c) for c in children],
                    "action": "ADD",
                    "bizStep": "assembling",
                    "tg:units": self.unit_facts([parent, *children]),
                },
            )

    def inspections(self) -> None:
        for serial in sorted(self.graph):
            attributes = self.graph.nodes[serial]
            # The run the pictures show too: the creating run of a unit read in
            # full, else the latest run of its list form (at that run's start).
            outcome, run = shown_outcome(attributes)
            if run == "latest":
                moment = event_time(attributes.get("last_run_at")) or self.when([serial])
                procedure = str(attributes.get("last_run_procedure", ""))
            else:
                moment, procedure = self.when([serial]), str(attributes.get("procedure", ""))
            if outcome not in DISPOSITIONS:
                continue  # no test, or one that ended without a verdict (ERROR, ABORTED…)
            event: dict[str, Any] = {
                "type": "ObjectEvent",
                "epcList": [self.uri(serial)],
                "action": "OBSERVE",
                "bizStep": "inspecting",
                "disposition": DISPOSITIONS[outcome],
                "tg:units": self.unit_facts([serial]),
                "tg:outcome": outcome,
                "tg:run": run,
            }
            if procedure:
                event["tg:procedure"] = procedure
            self.add(1, serial, moment, event)

    def links(self, links: Iterable[Sequence[str]], action: str) -> None:
        """DELETE (`removing`) or ADD (`assembling`) events: one per parent and moment.

        At one moment a removal comes before an arrival (rank 2, then 3), and
        both after what the graph's own links and tests say.
        """
        grouped: dict[tuple[str, str], set[str]] = {}
        for parent, child, time in (RemovedLink._make(link) for link in links):
            grouped.setdefault((parent, time), set()).add(child)
        what = "removed" if action == "DELETE" else "added"
        for (parent, time), children in sorted(grouped.items()):
            moment = event_time(time)
            if moment is None:
                raise ExportError(
                    f"the {what} links of unit {parent!r} have no ISO 8601 time ({time!r})"
                )
            ordered = sorted(children)
            self.add(
                2 if action == "DELETE" else 3,
                parent,
                moment,
                {
                    "type": "AssociationEvent",
                    "parentID": self.uri(parent),
                    "childEPCs": [self.uri(c) for c in ordered],
                    "action": action,
                    "bizStep": "removing" if action == "DELETE" else "assembling",
                    "tg:units": self.unit_facts([parent, *ordered]),
                },
            )

    def in_time_order(self) -> list[dict[str, Any]]:
        return [event for _, event in sorted(self.made, key=lambda made: made[0])]


def epcis_document(
    graph: nx.DiGraph,
    epc_uri: str = DEFAULT_EPC_URI,
    removed: Iterable[Sequence[str]] = (),
    added: Iterable[Sequence[str]] = (),
) -> dict[str, Any]:
    """The EPCISDocument as plain data (see the module's docstring).

    `added` are `(parent, child, time)` links that arrived at `time` (a
    store's history), ADD events beside those of the graph's own links.
    """
    events = _Events(graph, EpcUriTemplate.parse(epc_uri))
    events.assemblies()
    events.inspections()
    events.links(removed, "DELETE")
    events.links(added, "ADD")
    created = event_time(graph.graph.get("generated_at")) or events.fallback
    info = graph.graph
    genealogy = {
        f"tg:{name}": str(info[key])
        for key, name in (("seeds", "genealogyOf"), ("scope", "scope"), ("source", "source"))
        if info.get(key)
    }
    return {
        "@context": [EPCIS_CONTEXT, {"tg": NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created[1],
        "tg:genealogy": {**genealogy, "tg:tool": f"tracegraph {info.get('tool_version', '')}"},
        "epcisBody": {"eventList": events.in_time_order()},
    }


# What a unit carries into a document of links alone: what names it, never a test
# outcome (so no ObjectEvents).
NAMING_FIELDS = ("unit_id", "part_number", "part_name", "revision", "batch", "created_at",
                 "station", "created_by")  # fmt: skip


def links_graph(
    units: Iterable[str], known: Mapping[str, Mapping[str, Any]], **about: str
) -> nx.DiGraph:
    """The units of a document of added and removed links, without links of their own.

    Each unit has what names it (`NAMING_FIELDS`) from `known`; a unit `known`
    lacks is `missing`. `about` are graph attributes (`seeds`, `scope`,
    `source`, `captured_at`, `generated_at`, `tool_version`).
    """
    graph = nx.DiGraph(**about)
    for serial in sorted(set(units)):
        fields = known.get(serial)
        graph.add_node(
            serial,
            serial_number=serial,
            **{k: str((fields or {}).get(k, "") or "") for k in NAMING_FIELDS},
            status=str((fields or {}).get("status", "ok")) if fields is not None else "missing",
        )
    return graph


def to_epcis(
    graph: nx.DiGraph,
    epc_uri: str = DEFAULT_EPC_URI,
    removed: Iterable[Sequence[str]] = (),
    added: Iterable[Sequence[str]] = (),
) -> bytes:
    """The genealogy as an EPCIS 2.0 JSON-LD EPCISDocument (UTF-8 JSON, keys in a fixed order).

    `epc_uri` makes each unit's URI (`EpcUriTemplate`); `removed` are
    `RemovedLink`s (or `(parent, child, time)` tuples), which become DELETE
    events in time order; `added`, links that arrived at a time, ADD events.
    """
    document = epcis_document(graph, epc_uri, removed, added)
    try:  # orjson's indented output is the standard library's (see `json.to_json`), faster
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONEncodeError:
        # A lone surrogate (crawls mend them, a graph built by hand may hold one): escaped.
        return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode("ascii")
