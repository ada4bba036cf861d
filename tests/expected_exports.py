"""Exact text of every exporter for one small genealogy (reviewed by hand)."""

from __future__ import annotations

EXPECTED_DOT = """\
digraph genealogy {
  graph [rankdir=TB, labelloc=t, labeljust=l, fontname="Helvetica", fontsize=14, nodesep=0.2, ranksep=0.45, label=<<B>Genealogy of unit FC-1</B><BR/><FONT POINT-SIZE="10">scope tree · 4 units (1 missing) · 1 warning · source https://factory.example/api · generated 2026-11-18T11:06:40Z</FONT>>];
  node [shape=box, fontname="Helvetica", fontsize=11, color="#4d4d4d", margin="0.10,0.05"];
  edge [color="#666666", arrowsize=0.6];
  "CAP-1" [label=<<B>CAP-1</B><BR/>CAP rev A<BR/><FONT POINT-SIZE="9">Capacitor</FONT><BR/><FONT POINT-SIZE="9" COLOR="#b03a2e">FAIL</FONT>>, style="rounded,filled", fillcolor="#e0e0e0", tooltip="CAP-1\\nCAP rev A Capacitor\\nbatch: C1\\ncreated: 2024-07-01T08:00:00Z\\nstation: Line-1\\nby: Ada Operator\\noutcome: FAIL\\nprocedure: Final test"];
  "CAP-9" [label=<<B>CAP-9</B><BR/><FONT COLOR="#7f7f7f">missing (404)</FONT>>, style="rounded,dashed", fillcolor="#ffffff", fontcolor="#555555", tooltip="CAP-9\\nmissing: the API answers 404"];
  "DRN-1" [label=<<B>DRN-1</B><BR/>DRN rev A<BR/><FONT POINT-SIZE="9">Drone</FONT>>, style="rounded,filled", fillcolor="#cfe2f3", tooltip="DRN-1\\nDRN rev A Drone\\nbatch: D1\\ncreated: 2024-07-01T08:00:00Z\\nstation: Line-1\\nby: Ada Operator\\noutcome: PASS\\nprocedure: Final test"];
  "FC-1" [label=<<B>FC-1</B><BR/>FC rev C<BR/><FONT POINT-SIZE="9">Flight controller</FONT>>, style="rounded,filled", fillcolor="#d0e0e3", color="#b03a2e", penwidth=3, tooltip="FC-1\\nFC rev C Flight controller\\ncreated: 2024-07-01T08:00:00Z\\nstation: Line-1\\nby: Ada Operator\\noutcome: PASS\\nprocedure: Final test"];
  "DRN-1" -> "FC-1";
  "FC-1" -> "CAP-1";
  "FC-1" -> "CAP-9";
}
"""

EXPECTED_TEXT = """\
Genealogy of unit FC-1
scope tree · 4 units (1 missing) · 1 warning · source https://factory.example/api · generated 2026-11-18T11:06:40Z · * marks a seed

DRN-1  DRN rev A  Drone  [batch D1]
└── FC-1  FC rev C  Flight controller  *
    ├── CAP-1  CAP rev A  Capacitor  [batch C1]  [FAIL]
    └── CAP-9  (missing)

1 warning(s):
  ! unit 'CAP-9' is referenced by 'FC-1' but does not exist (404)
"""

EXPECTED_JSON = """\
{
  "directed": true,
  "multigraph": false,
  "graph": {
    "generated_at": "2026-11-18T11:06:40Z",
    "scope": "tree",
    "seeds": "unit FC-1",
    "source": "https://factory.example/api",
    "tool": "tracegraph",
    "tool_version": "0.1.0"
  },
  "nodes": [
    {
      "id": "CAP-1",
      "batch": "C1",
      "created_at": "2024-07-01T08:00:00Z",
      "created_by": "Ada Operator",
      "depth": 1,
      "outcome": "FAIL",
      "part_name": "Capacitor",
      "part_number": "CAP",
      "procedure": "Final test",
      "revision": "A",
      "sample": "",
      "seed": false,
      "serial_number": "CAP-1",
      "station": "Line-1",
      "status": "ok",
      "unit_id": "unit-CAP-1"
    },
    {
      "id": "CAP-9",
      "batch": "",
      "created_at": "",
      "created_by": "",
      "depth": 1,
      "outcome": "",
      "part_name": "",
      "part_number": "",
      "procedure": "",
      "revision": "",
      "sample": "",
      "seed": false,
      "serial_number": "CAP-9",
      "station": "",
      "status": "missing",
      "unit_id": "u-x"
    },
    {
      "id": "DRN-1",
      "batch": "D1",
      "created_at": "2024-07-01T08:00:00Z",
      "created_by": "Ada Operator",
      "depth": 1,
      "outcome": "PASS",
      "part_name": "Drone",
      "part_number": "DRN",
      "procedure": "Final test",
      "revision": "A",
      "sample": "",
      "seed": false,
      "serial_number": "DRN-1",
      "station": "Line-1",
      "status": "ok",
      "unit_id": "unit-DRN-1"
    },
    {
      "id": "FC-1",
      "batch": "",
      "created_at": "2024-07-01T08:00:00Z",
      "created_by": "Ada Operator",
      "depth": 0,
      "outcome": "PASS",
      "part_name": "Flight controller",
      "part_number": "FC",
      "procedure": "Final test",
      "revision": "C",
      "sample": "",
      "seed": true,
      "serial_number": "FC-1",
      "station": "Line-1",
      "status": "ok",
      "unit_id": "unit-FC-1"
    }
  ],
  "edges": [
    {
      "source": "DRN-1",
      "target": "FC-1",
      "relation": "contains"
    },
    {
      "source": "FC-1",
      "target": "CAP-1",
      "relation": "contains"
    },
    {
      "source": "FC-1",
      "target": "CAP-9",
      "relation": "contains"
    }
  ],
  "warnings": [
    "unit 'CAP-9' is referenced by 'FC-1' but does not exist (404)"
  ]
}
"""

EXPECTED_GRAPHML = """\
<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">
  <key id="d24" for="edge" attr.name="relation" attr.type="string" />
  <key id="d23" for="node" attr.name="unit_id" attr.type="string" />
  <key id="d22" for="node" attr.name="status" attr.type="string" />
  <key id="d21" for="node" attr.name="station" attr.type="string" />
  <key id="d20" for="node" attr.name="serial_number" attr.type="string" />
  <key id="d19" for="node" attr.name="seed" attr.type="boolean" />
  <key id="d18" for="node" attr.name="sample" attr.type="string" />
  <key id="d17" for="node" attr.name="revision" attr.type="string" />
  <key id="d16" for="node" attr.name="procedure" attr.type="string" />
  <key id="d15" for="node" attr.name="part_number" attr.type="string" />
  <key id="d14" for="node" attr.name="part_name" attr.type="string" />
  <key id="d13" for="node" attr.name="outcome" attr.type="string" />
  <key id="d12" for="node" attr.name="depth" attr.type="long" />
  <key id="d11" for="node" attr.name="created_by" attr.type="string" />
  <key id="d10" for="node" attr.name="created_at" attr.type="string" />
  <key id="d9" for="node" attr.name="batch" attr.type="string" />
  <key id="d8" for="node" attr.name="name" attr.type="string" />
  <key id="d7" for="node" attr.name="label" attr.type="string" />
  <key id="d6" for="graph" attr.name="warnings" attr.type="string" />
  <key id="d5" for="graph" attr.name="tool_version" attr.type="string" />
  <key id="d4" for="graph" attr.name="tool" attr.type="string" />
  <key id="d3" for="graph" attr.name="source" attr.type="string" />
  <key id="d2" for="graph" attr.name="seeds" attr.type="string" />
  <key id="d1" for="graph" attr.name="scope" attr.type="string" />
  <key id="d0" for="graph" attr.name="generated_at" attr.type="string" />
  <graph edgedefault="directed">
    <node id="CAP-1">
      <data key="d7">CAP-1</data>
      <data key="d8">CAP-1</data>
      <data key="d9">C1</data>
      <data key="d10">2024-07-01T08:00:00Z</data>
      <data key="d11">Ada Operator</data>
      <data key="d12">1</data>
      <data key="d13">FAIL</data>
      <data key="d14">Capacitor</data>
      <data key="d15">CAP</data>
      <data key="d16">Final test</data>
      <data key="d17">A</data>
      <data key="d18" />
      <data key="d19">false</data>
      <data key="d20">CAP-1</data>
      <data key="d21">Line-1</data>
      <data key="d22">ok</data>
      <data key="d23">unit-CAP-1</data>
    </node>
    <node id="CAP-9">
      <data key="d7">CAP-9</data>
      <data key="d8">CAP-9</data>
      <data key="d9" />
      <data key="d10" />
      <data key="d11" />
      <data key="d12">1</data>
      <data key="d13" />
      <data key="d14" />
      <data key="d15" />
      <data key="d16" />
      <data key="d17" />
      <data key="d18" />
      <data key="d19">false</data>
      <data key="d20">CAP-9</data>
      <data key="d21" />
      <data key="d22">missing</data>
      <data key="d23">u-x</data>
    </node>
    <node id="DRN-1">
      <data key="d7">DRN-1</data>
      <data key="d8">DRN-1</data>
      <data key="d9">D1</data>
      <data key="d10">2024-07-01T08:00:00Z</data>
      <data key="d11">Ada Operator</data>
      <data key="d12">1</data>
      <data key="d13">PASS</data>
      <data key="d14">Drone</data>
      <data key="d15">DRN</data>
      <data key="d16">Final test</data>
      <data key="d17">A</data>
      <data key="d18" />
      <data key="d19">false</data>
      <data key="d20">DRN-1</data>
      <data key="d21">Line-1</data>
      <data key="d22">ok</data>
      <data key="d23">unit-DRN-1</data>
    </node>
    <node id="FC-1">
      <data key="d7">FC-1</data>
      <data key="d8">FC-1</data>
      <data key="d9" />
      <data key="d10">2024-07-01T08:00:00Z</data>
      <data key="d11">Ada Operator</data>
      <data key="d12">0</data>
      <data key="d13">PASS</data>
      <data key="d14">Flight controller</data>
      <data key="d15">FC</data>
      <data key="d16">Final test</data>
      <data key="d17">C</data>
      <data key="d18" />
      <data key="d19">true</data>
      <data key="d20">FC-1</data>
      <data key="d21">Line-1</data>
      <data key="d22">ok</data>
      <data key="d23">unit-FC-1</data>
    </node>
    <edge source="DRN-1" target="FC-1">
      <data key="d24">contains</data>
    </edge>
    <edge source="FC-1" target="CAP-1">
      <data key="d24">contains</data>
    </edge>
    <edge source="FC-1" target="CAP-9">
      <data key="d24">contains</data>
    </edge>
    <data key="d0">2026-11-18T11:06:40Z</data>
    <data key="d1">tree</data>
    <data key="d2">unit FC-1</data>
    <data key="d3">https://factory.example/api</data>
    <data key="d4">tracegraph</data>
    <data key="d5">0.1.0</data>
    <data key="d6">unit 'CAP-9' is referenced by 'FC-1' but does not exist (404)</data>
  </graph>
</graphml>
"""

EXPECTED_MERMAID = """\
---
title: "Genealogy of unit FC-1"
---
flowchart TD
  %% scope tree · 4 units (1 missing) · 1 warning · source https://factory.example/api · generated 2026-11-18T11:06:40Z
  u0["<b>CAP-1</b><br/>CAP rev A<br/>Capacitor"]
  u1["<b>CAP-9</b><br/>missing (404)"]
  u2["<b>DRN-1</b><br/>DRN rev A<br/>Drone"]
  u3["<b>FC-1</b><br/>FC rev C<br/>Flight controller"]
  u2 --> u3
  u3 --> u0
  u3 --> u1
  classDef part0 fill:#ffffff,stroke:#4d4d4d
  class u1 part0
  classDef part1 fill:#e0e0e0,stroke:#4d4d4d
  class u0 part1
  classDef part2 fill:#cfe2f3,stroke:#4d4d4d
  class u2 part2
  classDef part3 fill:#d0e0e3,stroke:#4d4d4d
  class u3 part3
  classDef seed stroke:#b03a2e,stroke-width:3px
  class u3 seed
  classDef missing stroke-dasharray:5 5
  class u1 missing
"""
