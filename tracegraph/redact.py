"""Redaction: keyed tokens instead of serial numbers, unit ids, user and station names.

One transformation of the genealogy graph, made before any export, so that
every format (and the titles, warnings and EPCIS URIs made from the graph)
shows tokens by construction. A token is `R-` and 13 base32 characters of
HMAC-SHA256(key, value): the same value gets the same token in every run
and format with the same key, another key gives other tokens, and nothing of
the value (no prefix, no length) can be read from it. Only the key's owner
can tell which token is which serial, through the map (`--redact-map`).
Part numbers (and batch numbers, unless asked) are kept: a partner needs them.
"""

from __future__ import annotations

import ast
import base64
import hmac
import re
from collections.abc import Iterable, Sequence

import networkx as nx

from tracegraph.errors import TracegraphError
from tracegraph.genealogy import Genealogy, reference_serial, unit_references
from tracegraph.heap import collector_paused

MIN_KEY_BYTES = 16
TOKEN_PREFIX = "R-"
TOKEN_CHARACTERS = 13  # 65 bits: no two of a billion values share a token, in practice
# Node attribute -> the kind of value it holds (the map's first column).
REDACTED_ATTRIBUTES = {
    "serial_number": "serial",
    "unit_id": "unit id",
    "created_by": "user",
    "station": "station",
}
_DOMAIN = b"tracegraph redaction v1\x00"
TOKEN = re.compile(r"R-[A-Z2-7]{13}")
# A Python repr of a string, as warnings quote identifiers: 'SN-1', "it's".
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")


class Redactor:
    """Turns a genealogy's identifiers into keyed tokens, and remembers which it made.

    `batches`: batch numbers too (`--redact-batches`). The key is never shown
    (not in `repr`, not in any output).
    """

    def __init__(self, key: bytes, *, batches: bool = False) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise TracegraphError(
                f"the redaction key has {len(key)} bytes; it needs at least {MIN_KEY_BYTES} "
                "(for example: openssl rand -hex 32)"
            )
        self._key = key
        self.batches = batches
        self.tokens: dict[str, str] = {}  # value -> token
        self.kinds: dict[str, set[str]] = {}  # value -> what it was: serial, unit id, user...
        self._values: dict[str, str] = {}  # token -> value, to catch a collision
        self._table: dict[str, str] | None = None  # text -> replacement, for `text`

    def __repr__(self) -> str:
        return f"Redactor(batches={self.batches}, {len(self.tokens)} tokens)"

    def token(self, value: str, kind: str = "serial") -> str:
        """The value's token; empty text stays empty."""
        if not value:
            return value
        self.kinds.setdefault(value, set()).add(kind)
        known = self.tokens.get(value)
        if known is not None:
            return known
        digest = hmac.digest(self._key, _DOMAIN + value.encode("utf-8", "surrogatepass"), "sha256")
        # The first 10 bytes are 16 base32 characters, of which the token keeps 13 (65 bits).
        made = TOKEN_PREFIX + base64.b32encode(digest[:10]).decode("ascii")[:TOKEN_CHARACTERS]
        if self._values.setdefault(made, value) != value:
            raise TracegraphError("two identifiers got the same redaction token; use another key")
        self.tokens[value] = made
        self._table = None
        return made

    def learn(self, genealogy: Genealogy) -> None:
        """Give every identifier the crawl saw a token, also those outside the graph
        (a reference beyond --depth, a case variant), so that no warning names one."""
        records = [*genealogy.units.items(), *genealogy.missing.items()]
        for serial, record in records:
            self.token(serial)
            parent, children = unit_references(record)
            for reference in [record, parent, *children]:
                self.token(reference_serial(reference) or "")
                if isinstance(reference, dict) and isinstance(reference.get("id"), str):
                    self.token(reference["id"], "unit id")
            for field, key, kind in (
                ("created_by_user", "name", "user"),
                ("created_by_station", "name", "station"),
                *([("batch", "number", "batch")] if self.batches else []),
            ):
                holder = record.get(field) if isinstance(record, dict) else None
                if isinstance(holder, dict) and isinstance(holder.get(key), str):
                    self.token(holder[key], kind)
        for alias, serial in genealogy.aliases.items():
            self.token(alias)
            self.token(serial)

    def text(self, text: str) -> str:
        """`text` with every identifier that has a token replaced by it, quoted
        (`'SN-1'`, as warnings write serials) or bare (`unit SN-1, SN-2` in titles)."""
        table = self._replacements()
        lengths = sorted({len(k) for k in table}, reverse=True)
        out: list[str] = []
        i = 0
        while i < len(text):
            for length in lengths:
                found = text[i : i + length]
                if found in table and _standalone(text, i, found):
                    out.append(table[found])
                    i += len(found)
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def quoted(self, text: str, kept: set[str]) -> str:
        """`text` with every quoted identifier left a token: a warning may name a unit
        the crawl kept no record of (the other unit an API answered with)."""

        def swap(found: re.Match[str]) -> str:
            try:
                value = ast.literal_eval(found.group())
            except (ValueError, SyntaxError):
                return found.group()
            if not isinstance(value, str) or not value or TOKEN.fullmatch(value) or value in kept:
                return found.group()
            return repr(self.token(value))

        return _QUOTED.sub(swap, text)

    def _replacements(self) -> dict[str, str]:
        if self._table is None:
            table = {value: token for value, token in self.tokens.items()}
            table.update({repr(value): repr(token) for value, token in self.tokens.items()})
            self._table = table
        return self._table

    def redact_graph(self, graph: nx.DiGraph, genealogy: Genealogy | None = None) -> nx.DiGraph:
        """A copy of the genealogy graph with tokens for its identifiers: the same
        structure, attributes and counts; seeds and warnings rewritten."""
        with collector_paused():  # hundreds of thousands of short-lived strings and dicts
            return self._redacted(graph, genealogy)

    def _redacted(self, graph: nx.DiGraph, genealogy: Genealogy | None) -> nx.DiGraph:
        if genealogy is not None:
            self.learn(genealogy)
        renamed = {serial: self.token(serial) for serial in graph}
        nodes = []
        for serial, attributes in graph.nodes(data=True):
            changed = dict(attributes)
            for name, kind in REDACTED_ATTRIBUTES.items():
                if isinstance(changed.get(name), str):
                    changed[name] = self.token(changed[name], kind)
            if self.batches and isinstance(changed.get("batch"), str):
                changed["batch"] = self.token(changed["batch"], "batch")
            nodes.append((renamed[serial], changed))
        redacted = nx.DiGraph()
        redacted.graph.update(graph.graph)
        redacted.graph["seeds"] = self.text(str(graph.graph.get("seeds", "")))
        kept = {str(a.get("part_number", "")) for a in graph.nodes.values()}
        if not self.batches:
            kept |= {str(a.get("batch", "")) for a in graph.nodes.values()}
        redacted.graph["warnings"] = sorted(
            {self.quoted(self.text(w), kept) for w in graph.graph.get("warnings", ())}
        )
        redacted.graph["redacted"] = "serials, unit ids, users, stations" + (
            ", batches" if self.batches else ""
        )
        redacted.add_nodes_from(sorted(nodes, key=lambda node: node[0]))
        redacted.add_edges_from(
            sorted((renamed[p], renamed[c], dict(data)) for p, c, data in graph.edges(data=True))
        )
        return redacted

    def redact_links(self, links: Iterable[Sequence[str]]) -> list[tuple[str, str, str]]:
        """Removed links (`(parent, child, time)`, for EPCIS DELETE events) with tokens."""
        return [(self.token(parent), self.token(child), time) for parent, child, time in links]

    def map_rows(self) -> list[tuple[str, str, str]]:
        """(kind, value, token) for every token made, sorted: the owner's key to the tokens."""
        return sorted(
            (kind, value, token)
            for value, token in self.tokens.items()
            for kind in sorted(self.kinds[value])
        )


def _standalone(text: str, at: int, found: str) -> bool:
    """Whether `found` at `at` is a whole word where it starts or ends with a letter or digit:
    the serial `a` is not the `a` of `has`."""
    before = text[at - 1] if at else ""
    after = text[at + len(found) : at + len(found) + 1]
    if found[0].isalnum() and before.isalnum():
        return False
    return not (found[-1].isalnum() and after.isalnum())
