"""Small factories built in code, so a test knows the truth by construction.

Bodies have the shape of the TofuPilot API v2 (checked against the official
SDK's models in test_contract.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BASE_TIME = "2024-07-01T08:00:00Z"

# Serial numbers that break naive DOT, SVG, GraphML, Mermaid, CSV or spreadsheet
# writers. Outside TofuPilot's documented charset, but older or self-hosted data
# holds such things, and every format must keep them exact (or say how not).
HOSTILE_SERIALS = [
    "node",
    "EDGE",
    "graph",
    "strict",
    "digraph",
    "subgraph",
    "foo:bar",
    "http://x",
    "B:7:n",
    'say "hi"',
    'a"b',
    "C:\\new",
    "trail\\",
    "\\",
    'back\\"slash',
    "<h>",
    "<b>bold</b>",
    "x<y",
    "a>b",
    "a->b",
    "x&y;",
    "&amp;",
    "tab\there",
    "two words",
    "SN 01",
    "SN/01",
    "semi;colon",
    "a;b>c\\d",
    "{brace}",
    "-1",
    "0123",
    "1E5",
    "TRUE",
    "=ROOT",
    "2024-01-02",
    "1/2",
    "1.5",
    "né-ünït",
    "émoji-🔋",
    "{a}[b];c=d",
    "x:SN_2001",
    "line\nbreak",
    "esc\\\nnl",
    "cr\rlf",
    "]",
    "a¶ßb",
    "ﬂ°amp",
    "$$x$$",
    "style:#1;",
    "x#35;y",
    "'quote",
]
# Part names that Mermaid, Graphviz or a spreadsheet would read as something else.
HOSTILE_NAMES = [
    "Hairstyle dryer (model:2)",
    "Resistor $$10k$$",
    "classDef:x#1; style:#1;",
    "] bracket first",
    "a¶ßb ﬂ°amp¶ß",
    "C:\\new\\n",
    "=SUM(A1)",
    "x" * 300,
]


@dataclass
class _UnitSpec:
    serial: str
    part: str
    revision: str
    name: str
    parent: str | None
    batch: str | None
    outcome: str
    created_at: str


def _part(number: str, revision: str, name: str) -> dict[str, Any]:
    return {
        "id": f"part-{number}",
        "number": number,
        "name": name,
        "revision": {"id": f"rev-{number}-{revision}", "number": revision},
    }


@dataclass
class Factory:
    """Units and batches; `snapshot()` turns them into consistent API bodies."""

    source: str = "https://factory.example/api"
    specs: dict[str, _UnitSpec] = field(default_factory=dict)

    def unit(
        self,
        serial: str,
        part: str = "PART",
        *,
        parent: str | None = None,
        batch: str | None = None,
        revision: str = "A",
        name: str | None = None,
        outcome: str = "PASS",
        created_at: str = BASE_TIME,
    ) -> Factory:
        self.specs[serial] = _UnitSpec(
            serial, part, revision, name or f"{part} name", parent, batch, outcome, created_at
        )
        return self

    def chain(self, serials: list[str], part: str = "PART") -> Factory:
        """Units each built into the one before it."""
        for parent, serial in zip([None, *serials], serials, strict=False):
            self.unit(serial, part, parent=parent)
        return self

    def reference(self, serial: str) -> dict[str, Any]:
        spec = self.specs[serial]
        return {
            "id": f"unit-{serial}",
            "serial_number": serial,
            "part": _part(spec.part, spec.revision, spec.name),
        }

    def children_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for serial, spec in sorted(self.specs.items()):
            if spec.parent:
                index.setdefault(spec.parent, []).append(serial)
        return index

    def body(
        self, serial: str, children_index: dict[str, list[str]] | None = None
    ) -> dict[str, Any]:
        spec = self.specs[serial]
        index = children_index if children_index is not None else self.children_index()
        children = index.get(serial, [])
        return {
            "id": f"unit-{serial}",
            "serial_number": serial,
            "created_at": spec.created_at,
            "sample": None,
            "part": _part(spec.part, spec.revision, spec.name),
            "parent": self.reference(spec.parent) if spec.parent else None,
            "children": [self.reference(c) for c in children],
            "batch": {"id": f"batch-{spec.batch}", "number": spec.batch} if spec.batch else None,
            "created_by_user": {"id": "user-1", "name": "Ada Operator"},
            "created_by_station": {"id": "station-1", "name": "Line-1"},
            "created_during": {
                "id": f"run-{serial}",
                "created_at": spec.created_at,
                "started_at": spec.created_at,
                "ended_at": spec.created_at,
                "duration": "PT30S",
                "outcome": spec.outcome,
                "procedure": {"id": "proc-1", "name": "Final test"},
            },
            "attachments": [],
            "metadata": {},
        }

    def batch_body(self, number: str, members: list[str] | None = None) -> dict[str, Any]:
        if members is None:
            members = sorted(s for s, c in self.specs.items() if c.batch == number)
        return {
            "id": f"batch-{number}",
            "number": number,
            "created_at": min(self.specs[s].created_at for s in members),
            "created_by_user": {"id": "user-1", "name": "Ada Operator"},
            "created_by_station": {"id": "station-1", "name": "Line-1"},
            "units": [
                {
                    "id": f"unit-{s}",
                    "serial_number": s,
                    "created_at": self.specs[s].created_at,
                    "part": _part(self.specs[s].part, self.specs[s].revision, self.specs[s].name),
                }
                for s in members
            ],
        }

    def snapshot(self) -> dict[str, Any]:
        index = self.children_index()
        members: dict[str, list[str]] = {}
        for serial, spec in sorted(self.specs.items()):
            if spec.batch:
                members.setdefault(spec.batch, []).append(serial)
        return {
            "format": "tracegraph-snapshot",
            "version": 1,
            "source": self.source,
            "captured_at": "2026-11-20T09:00:00Z",
            "units": {s: self.body(s, index) for s in sorted(self.specs)},
            "batches": {b: self.batch_body(b, m) for b, m in sorted(members.items())},
            "missing": [],
        }


def drone_factory() -> Factory:
    """Two drones sharing a capacitor batch, a loose capacitor and a spare board.

    DRN-1 > FC-1 > PCB-1 > CAP-1, CAP-2 (batch C1), RES-1 (batch R1)
    DRN-2 > FC-2 > PCB-2 > CAP-3 (batch C1), CAP-4 (batch C2)
    PCB-3 (spare, no parent) > CAP-5 (batch C2)
    CAP-6 (batch C1) loose, in stock
    """
    f = Factory()
    for n in (1, 2):
        f.unit(f"DRN-{n}", "DRN", batch="D1", name="Drone")
        f.unit(f"FC-{n}", "FC", parent=f"DRN-{n}", name="Flight controller")
        f.unit(f"PCB-{n}", "PCB", parent=f"FC-{n}", batch="P1", name="Main board")
    f.unit("PCB-3", "PCB", batch="P1", name="Main board")
    f.unit("CAP-1", "CAP", parent="PCB-1", batch="C1", name="Capacitor")
    f.unit("CAP-2", "CAP", parent="PCB-1", batch="C1", name="Capacitor")
    f.unit("RES-1", "RES", parent="PCB-1", batch="R1", name="Resistor")
    f.unit("CAP-3", "CAP", parent="PCB-2", batch="C1", name="Capacitor")
    f.unit("CAP-4", "CAP", parent="PCB-2", batch="C2", revision="B", name="Capacitor")
    f.unit("CAP-5", "CAP", parent="PCB-3", batch="C2", revision="B", name="Capacitor")
    f.unit("CAP-6", "CAP", batch="C1", name="Capacitor")
    return f


def bike_factory(bikes: int = 3) -> Factory:
    """E-bikes > battery pack > 2 modules > 5 cells each; every cell of batch CELL-2407.

    Three bikes hold the batch's 30 cells, four levels below the bikes' tops.
    """
    f = Factory()
    for b in range(1, bikes + 1):
        bike, pack = f"BIKE-{b}", f"PACK-{b}"
        f.unit(bike, "BIKE", batch="BIKE-24", name="E-bike")
        f.unit(pack, "PACK", parent=bike, batch="PACK-24", name="Battery pack")
        for m in range(1, 3):
            module = f"MOD-{b}{m}"
            f.unit(module, "MOD", parent=pack, batch="MOD-24", name="Module")
            for c in range(1, 6):
                f.unit(f"CELL-{b}{m}{c}", "CELL", parent=module, batch="CELL-2407", name="Cell")
    return f
