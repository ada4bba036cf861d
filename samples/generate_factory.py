#!/usr/bin/env python3
"""Generate ``factory.json``: a tracegraph snapshot of a made-up drone factory.

The snapshot follows DESIGN.md section 5: every unit body is what
``GET /v2/units/{serial}`` would return and every batch body what
``GET /v2/batches/{number}`` would return, in the shapes of the official SDK
models ``tofupilot.v2.models.UnitGetResponse`` and ``BatchGetResponse``.

The factory (four genealogy levels, 205 units, 12 batches)::

    DRN-X1 Survey drone rev B   = FC-1000 + BAT-220 + 4 x MOT-90
    DRN-X2 Cargo drone rev A    = FC-1000 + 2 x BAT-220 + 4 x MOT-90
    FC-1000 flight controller   = PCBA-200 main board + PSU-300 power board
    PCBA-200 main board         = MCU-32 + REG-5 + 4 x CAP-10
    PSU-300 power board         = REG-5 + 2 x CAP-10
    MOT-90 motor                = ESC-40 speed controller
    ESC-40 speed controller     = CAP-10
    BAT-220 battery pack        = 4 x CELL-18650

The recall story: capacitor lot ``CAP-2407`` reached four drones through
different paths (main board, power board, motor speed controller), the spare
golden flight controller ``FC-1000-0007`` (never built into a drone), and
three capacitors are still loose in stock. Lot ``CAP-2408`` was used
everywhere else, so several drones hold capacitors of both lots.

The output is deterministic: one seeded ``random.Random``, timestamps derived
from fixed dates, ids derived with ``uuid5``. Running the script twice gives
identical bytes.

Usage: ``python samples/generate_factory.py [OUTPUT]`` (default: factory.json
next to this script). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SEED = 20241104
SOURCE = "https://www.tofupilot.app/api"
CAPTURED_AT = "2026-11-20T09:00:00Z"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://example.invalid/tracegraph/drone-factory")

UTC = timezone.utc  # datetime.UTC needs Python 3.11
SHIFT_START, SHIFT_END = 8, 17  # working hours, UTC
SATURDAY = 5
Json = dict[str, Any]
Metadata = dict[str, str | float | bool]


def uid(kind: str, *names: str) -> str:
    """A stable UUID for an object of some kind, derived from its names."""
    return str(uuid.uuid5(NAMESPACE, "/".join((kind, *names))))


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, as the API writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: int) -> str:
    """ISO 8601 duration: 42 -> PT42S, 192 -> PT3M12S, 3720 -> PT1H2M."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs or text == "PT":
        text += f"{secs}S"
    return text


# --------------------------------------------------------------------------
# Catalogue: parts, and how (where, by whom, with which test) each is made.


@dataclass(frozen=True)
class Part:
    number: str
    name: str
    revision: str

    def body(self) -> Json:
        return {
            "id": uid("part", self.number),
            "number": self.number,
            "name": self.name,
            "revision": {
                "id": uid("revision", self.number, self.revision),
                "number": self.revision,
            },
        }


@dataclass(frozen=True)
class Stage:
    station: str
    users: tuple[str, ...]
    procedure: str
    seconds: int  # typical duration of the run that creates the unit
    start: datetime  # when the first unit of this part is made
    spacing: int  # typical minutes between two units of this part


def day(month: int, dom: int) -> datetime:
    return datetime(2024, month, dom, SHIFT_START, 0, tzinfo=UTC)


PARTS: dict[str, Part] = {
    p.number: p
    for p in (
        Part("DRN-X1", "Survey drone", "B"),
        Part("DRN-X2", "Cargo drone", "A"),
        Part("FC-1000", "Flight controller", "C"),
        Part("BAT-220", "Battery pack 4S 220 Wh", "A"),
        Part("MOT-90", "Brushless motor 900 kV", "B"),
        Part("PCBA-200", "Main board", "D"),
        Part("PSU-300", "Power board", "B"),
        Part("ESC-40", "Electronic speed controller 40 A", "A"),
        Part("MCU-32", "Microcontroller 32-bit", "A"),
        Part("REG-5", "Voltage regulator 5 V", "A"),
        Part("CAP-10", "Capacitor 10 uF 25 V", "A"),
        Part("CELL-18650", "Li-ion cell 18650", "A"),
        # The inverter plant (--inverters).
        Part("INV-5K", "Solar inverter 5 kW", "C"),
        Part("CTL-200", "Control board", "B"),
        Part("PWR-300", "Power stage board", "A"),
        Part("CAP-100N", "Capacitor 100 nF 50 V", "A"),
        Part("RES-10K", "Resistor 10 kOhm", "A"),
        Part("MOSFET-60", "MOSFET 60 V 80 A", "A"),
        Part("DIODE-S", "Schottky diode 45 V", "A"),
        Part("CAP-470U", "Capacitor 470 uF 400 V", "B"),
        Part("RES-1K", "Resistor 1 kOhm 2 W", "A"),
    )
}

IQC = ("IQC-Bench-1", ("Dana Kowalski", "Chen Wei"), "Incoming inspection")

STAGES: dict[str, Stage] = {
    "CAP-10": Stage(*IQC, 35, day(7, 8), 9),
    "MCU-32": Stage(*IQC, 50, day(7, 15), 14),
    "REG-5": Stage(*IQC, 40, day(7, 22), 11),
    "CELL-18650": Stage("Cell-Sorter-1", ("Chen Wei",), "Cell grading", 95, day(8, 19), 7),
    "PCBA-200": Stage(
        "SMT-Line-1", ("Alice Martin", "Bilal Haddad"), "PCBA functional test", 140, day(9, 2), 45
    ),
    "PSU-300": Stage("SMT-Line-2", ("Bilal Haddad",), "Power board load test", 210, day(9, 9), 40),
    "ESC-40": Stage(
        "SMT-Line-2", ("Bilal Haddad", "Alice Martin"), "ESC calibration", 75, day(9, 16), 20
    ),
    "MOT-90": Stage("Motor-Cell-1", ("Eva Lindqvist",), "Motor run-in", 300, day(9, 30), 25),
    "BAT-220": Stage(
        "Battery-Line-1", ("Chen Wei", "Eva Lindqvist"), "Pack formation", 1800, day(10, 7), 60
    ),
    "FC-1000": Stage("FC-Test-1", ("Alice Martin",), "FC integration test", 420, day(10, 14), 70),
    "DRN-X1": Stage(
        "Final-Assembly-2",
        ("Farid Benali", "Eva Lindqvist"),
        "Final flight test",
        960,
        day(11, 4),
        150,
    ),
    "DRN-X2": Stage(
        "Final-Assembly-2", ("Farid Benali",), "Final flight test", 1260, day(12, 2), 180
    ),
    # The inverter plant: components in September, boards in October, inverters in November.
    "CAP-100N": Stage(*IQC, 20, day(9, 2), 2),
    "RES-10K": Stage(*IQC, 20, day(9, 2), 4),
    "MOSFET-60": Stage(*IQC, 30, day(9, 2), 4),
    "DIODE-S": Stage(*IQC, 25, day(9, 2), 4),
    "CAP-470U": Stage(*IQC, 30, day(9, 2), 4),
    "RES-1K": Stage(*IQC, 20, day(9, 2), 4),
    "CTL-200": Stage("SMT-Line-3", ("Grace Okafor",), "Control board test", 180, day(10, 7), 60),
    "PWR-300": Stage("SMT-Line-3", ("Grace Okafor",), "Power stage burn-in", 900, day(10, 7), 60),
    "INV-5K": Stage(
        "Inverter-Line-1",
        ("Hugo Moreau", "Ines Duarte"),
        "Grid-tie end-of-line test",
        1500,
        day(11, 11),
        90,
    ),
}

# Runs that created a unit but failed (the unit was reworked or kept aside).
FAILED = {"PCBA-200-0003", "MOT-90-0010", "CAP-10-0017", "CAP-100N-0123"}
# Reference samples kept on the test bench.
GOLDEN = {"FC-1000-0007", "PCBA-200-0007"}


# --------------------------------------------------------------------------
# Units


@dataclass
class Unit:
    serial: str
    part: Part
    created_at: datetime
    batch: str | None
    stage: Stage
    user: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    sample: str | None
    metadata: Metadata
    parent: Unit | None = None
    children: list[Unit] = field(default_factory=list)

    def ref(self) -> Json:
        return {
            "id": uid("unit", self.serial),
            "serial_number": self.serial,
            "part": self.part.body(),
        }

    def body(self) -> Json:
        procedure = self.stage.procedure
        return {
            "id": uid("unit", self.serial),
            "serial_number": self.serial,
            "created_at": iso(self.created_at),
            "sample": self.sample,
            "part": self.part.body(),
            "parent": self.parent.ref() if self.parent else None,
            "children": [c.ref() for c in self.children],
            "batch": None
            if self.batch is None
            else {
                "id": uid("batch", self.batch),
                "number": self.batch,
            },
            "created_by_user": {"id": uid("user", self.user), "name": self.user},
            "created_by_station": {
                "id": uid("station", self.stage.station),
                "name": self.stage.station,
            },
            "created_during": {
                "id": uid("run", self.serial),
                "created_at": iso(self.created_at),
                "started_at": iso(self.started_at),
                "ended_at": iso(self.ended_at),
                "duration": iso_duration(int((self.ended_at - self.started_at).total_seconds())),
                "outcome": self.outcome,
                "procedure": {"id": uid("procedure", procedure), "name": procedure},
            },
            "attachments": [],
            "metadata": dict(self.metadata),
        }


class Factory:
    """Makes units part by part, each part on its own clock and serial counter."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.units: dict[str, Unit] = {}
        self.count: dict[str, int] = {}
        self.clock: dict[str, datetime] = {}
        self.start: dict[str, datetime] = {}

    def start_lot(self, number: str, when: datetime) -> None:
        """The next units of this part are made from ``when`` on."""
        self.clock.pop(number, None)
        self.start[number] = when

    def _next_time(self, number: str) -> datetime:
        stage = STAGES[number]
        if number not in self.clock:
            start = self.start.get(number, stage.start)
            moment = start + timedelta(minutes=self.rng.randint(5, 40))
        else:
            step = stage.spacing * self.rng.uniform(0.6, 1.4)
            moment = self.clock[number] + timedelta(minutes=step)
            if moment.hour >= SHIFT_END:  # shift over: next working morning
                moment = (moment + timedelta(days=1)).replace(
                    hour=SHIFT_START, minute=0
                ) + timedelta(minutes=self.rng.randint(5, 40))
            while moment.weekday() >= SATURDAY:
                moment += timedelta(days=1)
        moment = moment.replace(microsecond=0) + timedelta(seconds=self.rng.randint(0, 59))
        self.clock[number] = moment
        return moment

    def make(
        self,
        number: str,
        batch: str | None,
        children: list[Unit] | tuple[()] = (),
        metadata: Metadata | None = None,
    ) -> Unit:
        part, stage = PARTS[number], STAGES[number]
        self.count[number] = self.count.get(number, 0) + 1
        serial = f"{number}-{self.count[number]:04d}"
        created_at = self._next_time(number)
        ended_at = created_at - timedelta(seconds=self.rng.randint(1, 6))
        seconds = max(5, round(stage.seconds * self.rng.uniform(0.8, 1.25)))
        unit = Unit(
            serial=serial,
            part=part,
            created_at=created_at,
            batch=batch,
            stage=stage,
            user=self.rng.choice(stage.users),
            started_at=ended_at - timedelta(seconds=seconds),
            ended_at=ended_at,
            outcome="FAIL" if serial in FAILED else "PASS",
            sample="golden" if serial in GOLDEN else None,
            metadata=metadata or {},
        )
        for child in children:
            if child.parent is not None:
                raise ValueError(f"{child.serial} is already inside {child.parent.serial}")
            if not child.created_at < created_at:
                raise ValueError(f"{child.serial} is not older than {serial}")
            child.parent = unit
        unit.children = sorted(children, key=lambda c: c.serial)
        self.units[serial] = unit
        return unit

    def measure(self, mean: float, spread: float, digits: int = 2) -> float:
        return round(self.rng.gauss(mean, spread), digits)


# --------------------------------------------------------------------------
# The build plan

# Capacitor lot of each board of flight controller i (1..7): (main, power).
FC_CAP_LOTS = {
    1: ("CAP-2407", "CAP-2407"),
    2: ("CAP-2407", "CAP-2408"),
    3: ("CAP-2408", "CAP-2407"),
    4: ("CAP-2408", "CAP-2408"),
    5: ("CAP-2408", "CAP-2408"),
    6: ("CAP-2408", "CAP-2408"),
    7: ("CAP-2408", "CAP-2407"),  # the spare golden controller
}
ESC_WITH_CAP_2407 = 22  # the second motor of DRN-X2-0002
# Capacitor lots: how many capacitors, and when they went through inspection.
CAP_LOTS = {"CAP-2407": (18, day(7, 8)), "CAP-2408": (51, day(8, 12))}
LOOSE_CAP_2407 = 3


def build(seed: int = SEED) -> Factory:
    f = Factory(seed)

    # Components, received lot by lot through incoming inspection.
    caps: dict[str, deque[Unit]] = {}
    for lot, (size, arrival) in CAP_LOTS.items():
        f.start_lot("CAP-10", arrival)
        caps[lot] = deque(
            f.make("CAP-10", lot, metadata={"capacitance_uF": f.measure(10.0, 0.15)})
            for _ in range(size)
        )

    def take(lot: str, n: int) -> list[Unit]:
        return [caps[lot].popleft() for _ in range(n)]

    mcus = deque(f.make("MCU-32", "MCU-2406", metadata={"silicon_rev": "B1"}) for _ in range(7))
    regs = deque(f.make("REG-5", None) for _ in range(14))
    cells = deque(
        f.make(
            "CELL-18650",
            "CELL-B7",
            metadata={
                "capacity_mAh": f.measure(3000, 25, 0),
                "internal_resistance_mOhm": f.measure(22, 1.2, 1),
            },
        )
        for _ in range(32)
    )

    # Boards.
    mains = [
        f.make("PCBA-200", "PCBA-B12", [mcus.popleft(), regs.popleft(), *take(lots[0], 4)])
        for lots in FC_CAP_LOTS.values()
    ]
    powers = [
        f.make("PSU-300", "PSU-B4", [regs.popleft(), *take(lots[1], 2)])
        for lots in FC_CAP_LOTS.values()
    ]
    escs = deque(
        f.make(
            "ESC-40",
            "ESC-B5",
            take("CAP-2407" if i == ESC_WITH_CAP_2407 else "CAP-2408", 1),
            metadata={"firmware": "blheli-32.9"},
        )
        for i in range(1, 25)
    )

    # Sub-assemblies.
    motors = deque(
        f.make("MOT-90", "MOT-B2", [escs.popleft()], metadata={"kv_measured": f.measure(900, 6, 0)})
        for _ in range(24)
    )
    packs = deque(
        f.make(
            "BAT-220",
            "BAT-B6",
            [cells.popleft() for _ in range(4)],
            metadata={"capacity_Wh": f.measure(221, 1.5, 1)},
        )
        for _ in range(8)
    )
    controllers = deque(
        f.make("FC-1000", "FC-B3", [main, power], metadata={"firmware": "fc-2.3.1"})
        for main, power in zip(mains, powers, strict=True)
    )

    # Finished products; FC-1000-0007 stays on the shelf as the golden spare.
    for _ in range(4):
        f.make(
            "DRN-X1",
            "DRN-2411",
            [controllers.popleft(), packs.popleft(), *(motors.popleft() for _ in range(4))],
            metadata={"firmware": "px4-1.14.3", "payload": "multispectral camera"},
        )
    for _ in range(2):
        f.make(
            "DRN-X2",
            "DRN-2412",
            [
                controllers.popleft(),
                packs.popleft(),
                packs.popleft(),
                *(motors.popleft() for _ in range(4)),
            ],
            metadata={"firmware": "px4-1.14.3", "max_payload_kg": 5.0, "winch_fitted": True},
        )

    leftovers = {lot: len(pool) for lot, pool in caps.items()}
    if leftovers != {"CAP-2407": LOOSE_CAP_2407, "CAP-2408": 0}:
        raise AssertionError(f"unexpected loose capacitors: {leftovers}")
    if mcus or regs or cells or escs or motors or packs or len(controllers) != 1:
        raise AssertionError("the build plan does not use up its parts")
    return f


# The inverter plant: one batch of 12 inverters, 972 units in all (the big case).
INVERTERS = 12
CTL_PARTS = {"CAP-100N": 40, "RES-10K": 12}
PWR_PARTS = {"MOSFET-60": 8, "DIODE-S": 6, "CAP-470U": 8, "RES-1K": 4}
# Capacitor lots on the control boards: most boards from one lot; board 5 mixes two.
C100_LOTS = {"C100-2409": 460, "C100-2410": 20}


def build_inverters(seed: int = SEED) -> Factory:
    f = Factory(seed + 1)
    lots: dict[str, deque[Unit]] = {}
    for lot, size in C100_LOTS.items():
        lots[lot] = deque(f.make("CAP-100N", lot) for _ in range(size))
    pools: dict[str, deque[Unit]] = {
        number: deque(
            f.make(number, f"{number.split('-')[0]}-B9") for _ in range(count * INVERTERS)
        )
        for number, count in [*list(CTL_PARTS.items())[1:], *PWR_PARTS.items()]
    }

    def capacitors(board: int) -> list[Unit]:
        if board == 5:  # ran out of lot C100-2409 half-way
            return [lots["C100-2409"].popleft() for _ in range(20)] + [
                lots["C100-2410"].popleft() for _ in range(20)
            ]
        return [lots["C100-2409"].popleft() for _ in range(40)]

    controls = [
        f.make(
            "CTL-200",
            "CTL-B2",
            [*capacitors(i), *(pools["RES-10K"].popleft() for _ in range(CTL_PARTS["RES-10K"]))],
            metadata={"firmware": "ctl-4.2.0"},
        )
        for i in range(1, INVERTERS + 1)
    ]
    powers = [
        f.make(
            "PWR-300",
            "PWR-B2",
            [pools[number].popleft() for number, count in PWR_PARTS.items() for _ in range(count)],
        )
        for _ in range(INVERTERS)
    ]
    for control, power in zip(controls, powers, strict=True):
        f.make(
            "INV-5K",
            "INV-2410",
            [control, power],
            metadata={"rated_power_W": 5000, "efficiency_pct": f.measure(97.4, 0.1)},
        )
    if any(lots.values()) or any(pools.values()):
        raise AssertionError("the inverter build plan does not use up its parts")
    return f


# --------------------------------------------------------------------------
# Snapshot


def batch_bodies(units: dict[str, Unit]) -> dict[str, Json]:
    members: dict[str, list[Unit]] = {}
    for unit in units.values():
        if unit.batch is not None:
            members.setdefault(unit.batch, []).append(unit)
    bodies: dict[str, Json] = {}
    for number, group in sorted(members.items()):
        first = min(group, key=lambda u: u.created_at)
        bodies[number] = {
            "id": uid("batch", number),
            "number": number,
            "created_at": iso(first.created_at - timedelta(minutes=30)),
            "created_by_user": {"id": uid("user", first.user), "name": first.user},
            "created_by_station": {
                "id": uid("station", first.stage.station),
                "name": first.stage.station,
            },
            "units": [
                {
                    "id": uid("unit", u.serial),
                    "serial_number": u.serial,
                    "created_at": iso(u.created_at),
                    "part": u.part.body(),
                }
                for u in sorted(group, key=lambda u: u.serial)
            ],
        }
    return bodies


def levels(units: dict[str, Unit]) -> int:
    """Number of genealogy levels: 1 + the longest top-down path."""

    def height(unit: Unit) -> int:
        return 1 + max((height(c) for c in unit.children), default=0)

    return max(height(u) for u in units.values() if u.parent is None)


def snapshot(factory: Factory) -> Json:
    units = factory.units
    return {
        "format": "tracegraph-snapshot",
        "version": 1,
        "source": SOURCE,
        "captured_at": CAPTURED_AT,
        "units": {serial: units[serial].body() for serial in sorted(units)},
        "batches": batch_bodies(units),
        "missing": [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output",
        nargs="?",
        type=Path,
        default=Path(__file__).resolve().parent / "factory.json",
        help="where to write the snapshot (default: factory.json next to this script)",
    )
    parser.add_argument(
        "--inverters",
        action="store_true",
        help="write the inverter plant instead: batch INV-2410, 12 inverters, 972 units "
        "(the big-genealogy sample; not kept in the repository, 2 MB)",
    )
    args = parser.parse_args(argv)
    factory = build_inverters() if args.inverters else build()
    data = snapshot(factory)
    text = json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    args.output.write_bytes(text.encode("utf-8"))
    top = [u for u in factory.units.values() if u.parent is None]
    products = [u for u in top if u.part.number.startswith(("DRN-", "INV-"))]
    print(
        f"{args.output}: {len(factory.units)} units, {len(data['batches'])} batches, "
        f"{len(top)} top-level units ({len(products)} finished products), "
        f"{levels(factory.units)} levels"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
