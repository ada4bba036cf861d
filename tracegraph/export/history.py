"""A unit's history from a store (`history.History`): text, JSON, CSV and EPCIS events.

Every output lists the same events in the same order (the history's time
order) and names the store, the API it read and the unit, so that the same
store gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import networkx as nx

from tracegraph._version import __version__
from tracegraph.escape import terminal_text
from tracegraph.export.csv import csv_text
from tracegraph.export.epcis import DEFAULT_EPC_URI, links_graph, to_epcis
from tracegraph.history import History

MARKS = {"added": "+", "removed": "\u2212"}
CSV_COLUMNS = ("sync", "at", "action", "parent", "child")


def history_text(history: History) -> str:
    """A heading, then one line per event: sync, time, mark, parent → child."""
    first, last = history.syncs[0], history.syncs[-1]
    lines = [
        terminal_text(f"History of unit {history.unit} in store {history.store}"),
        terminal_text(
            f"  source {history.source or 'unknown'} · syncs {first[0]} ({first[1]}) "
            f"to {last[0]} ({last[1]})"
        ),
        "",
    ]
    added = sum(1 for e in history.events if e.action == "added")
    removed = len(history.events) - added
    lines.append(f"{added} link{'s' * (added != 1)} added · {removed} removed")
    if history.events:
        lines.append("")
    for event in history.events:
        lines.append(
            terminal_text(
                f"sync {event.sync}  {event.at}  {MARKS[event.action]} "
                f"{event.parent} → {event.child}"
            )
        )
    return "\n".join(lines) + "\n"


def history_json(history: History) -> str:
    return json.dumps(history.as_dict(), indent=2, ensure_ascii=False) + "\n"


def history_csv(history: History) -> str:
    return csv_text(
        CSV_COLUMNS,
        [(e.sync, e.at, e.action, e.parent, e.child) for e in history.events],
    )


def history_graph(history: History) -> nx.DiGraph:
    """Every unit the history names, with what names it in EPCIS; no links (they are events)."""
    named = {s for e in history.events for s in (e.parent, e.child)} | {history.unit}
    return links_graph(
        named,
        history.units,
        seeds=history.unit,
        scope="history",
        source=history.source,
        captured_at=history.syncs[-1][1],
        generated_at=history.syncs[-1][1],
        tool_version=__version__,
    )


def history_epcis(history: History, epc_uri: str = DEFAULT_EPC_URI) -> bytes:
    """The history as EPCIS events: ADD (`assembling`) per arrival, DELETE (`removing`)
    per removal, at the time of the sync that saw it, in time order."""
    links = {
        action: [(e.parent, e.child, e.at) for e in history.events if e.action == action]
        for action in ("added", "removed")
    }
    return to_epcis(history_graph(history), epc_uri, links["removed"], links["added"])


HISTORY_FORMATS: dict[str, Callable[[History, str], bytes]] = {
    "txt": lambda history, epc_uri: history_text(history).encode("utf-8"),
    "json": lambda history, epc_uri: history_json(history).encode("utf-8"),
    "csv": lambda history, epc_uri: history_csv(history).encode("utf-8"),
    "epcis": history_epcis,
}
