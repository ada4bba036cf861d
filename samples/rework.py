#!/usr/bin/env python3
"""The drone factory after a field return of DRN-X1-0001: the sample of `tracegraph diff`.

Reads ``factory.json`` and writes the same factory as the API answers two
weeks later (every body edited as the API would show it, both ends of each
link), after this rework of the survey drone DRN-X1-0001:

- its battery pack BAT-220-0001 came out (kept loose, in quarantine) and a
  new pack BAT-220-0900, with four new cells, went in;
- the capacitor CAP-10-0009 of the recalled lot CAP-2407 on its power board
  was replaced by CAP-10-0900 of lot CAP-2409;
- its flight controller FC-1000-0001 was reflashed to revision D.

Usage: ``python samples/rework.py [FACTORY] OUTPUT``. Deterministic, standard library only.
"""

from __future__ import annotations

import argparse
import copy
import json
import uuid
from pathlib import Path
from typing import Any

CAPTURED_AT = "2026-12-04T09:00:00Z"
REWORKED_AT = "2026-12-02T10:30:00Z"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://example.invalid/tracegraph/drone-rework")
Json = dict[str, Any]


def uid(*names: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(names)))


def reference(body: Json) -> Json:
    return {"id": body["id"], "part": body["part"], "serial_number": body["serial_number"]}


def detach(units: dict[str, Json], serial: str) -> None:
    """Take a unit out of its parent: both the parent field and the parent's children."""
    body = units[serial]
    parent = body.get("parent")
    if parent:
        holder = units[parent["serial_number"]]
        holder["children"] = [c for c in holder["children"] if c["serial_number"] != serial]
    body["parent"] = None


def attach(units: dict[str, Json], serial: str, parent: str) -> None:
    body = units[serial]
    body["parent"] = reference(units[parent])
    children = [*units[parent]["children"], reference(body)]
    units[parent]["children"] = sorted(children, key=lambda c: c["serial_number"])


def new_unit(units: dict[str, Json], like: str, serial: str, batch: str) -> None:
    """A unit made like another one (same part), in another batch, made at the rework."""
    body = copy.deepcopy(units[like])
    body.update(id=uid("unit", serial), serial_number=serial, parent=None, children=[])
    body.update(created_at=REWORKED_AT, batch={"id": uid("batch", batch), "number": batch})
    run = body.get("created_during")
    if run:
        run.update(id=uid("run", serial), created_at=REWORKED_AT, started_at=REWORKED_AT,
                   ended_at=REWORKED_AT)  # fmt: skip
    units[serial] = body


def rework(snapshot: Json) -> Json:
    after = copy.deepcopy(snapshot)
    units: dict[str, Json] = after["units"]
    detach(units, "BAT-220-0001")
    new_unit(units, "BAT-220-0001", "BAT-220-0900", "BAT-B7")
    attach(units, "BAT-220-0900", "DRN-X1-0001")
    for n in range(4):
        cell = f"CELL-18650-{900 + n:04}"
        new_unit(units, "CELL-18650-0001", cell, "CELL-B8")
        attach(units, cell, "BAT-220-0900")
    detach(units, "CAP-10-0009")
    new_unit(units, "CAP-10-0009", "CAP-10-0900", "CAP-2409")
    attach(units, "CAP-10-0900", "PSU-300-0001")
    controller = units["FC-1000-0001"]
    controller["part"] = {**controller["part"], "revision": {"id": uid("rev", "FC-1000", "D"),
                                                            "number": "D"}}  # fmt: skip
    # Every reference to the controller names its part as the API shows it now.
    units["DRN-X1-0001"]["children"] = [
        reference(controller) if c["serial_number"] == "FC-1000-0001" else c
        for c in units["DRN-X1-0001"]["children"]
    ]
    for child in controller["children"]:
        units[child["serial_number"]]["parent"] = reference(controller)
    after["captured_at"] = CAPTURED_AT
    return after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="+", metavar="[FACTORY] OUTPUT")
    args = parser.parse_args()
    factory = (
        Path(__file__).with_name("factory.json") if len(args.paths) == 1 else Path(args.paths[0])
    )
    snapshot = json.loads(factory.read_text(encoding="utf-8"))
    Path(args.paths[-1]).write_text(json.dumps(rework(snapshot), indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
