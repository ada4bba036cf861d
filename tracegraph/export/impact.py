"""The recall impact report: terminal summary, CSV and JSON."""

from __future__ import annotations

import json

from tracegraph.escape import join_items, join_paths, terminal_text
from tracegraph.export.csv import csv_text
from tracegraph.impact import AffectedUnit, ImpactReport

IMPACT_COLUMNS = (
    "top_serial",
    "top_part_number",
    "top_revision",
    "top_part_name",
    "top_batch",
    "top_created_at",
    "top_outcome",
    "top_status",
    "suspect_count",
    "suspects",
    "paths",
)
SUMMARY_LIST_LIMIT = 50


def _fields(unit: AffectedUnit) -> dict[str, object]:
    """The top-level unit's own columns."""
    a = unit.attributes
    return {
        "top_serial": unit.serial,
        "top_part_number": a.get("part_number", ""),
        "top_revision": a.get("revision", ""),
        "top_part_name": a.get("part_name", ""),
        "top_batch": a.get("batch", ""),
        "top_created_at": a.get("created_at", ""),
        "top_outcome": a.get("outcome", ""),
        "top_status": a.get("status", ""),
        "suspect_count": len(unit.suspects),
    }


def affected_fields(unit: AffectedUnit) -> dict[str, object]:
    """One affected top-level unit as a table row: lists joined by `;` and `>`, escaped."""
    return {**_fields(unit), "suspects": join_items(unit.suspects), "paths": join_paths(unit.paths)}


def impact_csv(report: ImpactReport) -> str:
    """One row per affected top-level unit, sorted by serial (UTF-8 with BOM, quoted)."""
    rows = [[affected_fields(unit)[c] for c in IMPACT_COLUMNS] for unit in report.affected]
    return csv_text(IMPACT_COLUMNS, rows)


def impact_data(report: ImpactReport) -> dict[str, object]:
    """The report as plain data: summary, affected top-level units, loose suspects."""
    return {
        "summary": {
            "asked": report.asked,
            "source": report.source,
            "generated_at": report.generated_at,
            "suspect_count": len(report.suspects),
            "affected_count": len(report.affected),
            "loose_count": len(report.loose),
            "missing_suspects": list(report.missing),
            "by_part": [
                {
                    "part_number": p.part_number,
                    "revision": p.revision,
                    "part_name": p.part_name,
                    "affected_units": p.units,
                    "suspect_units": p.suspects,
                }
                for p in report.by_part
            ],
            "warnings": list(report.warnings),
        },
        "affected": [
            {**_fields(u), "suspects": list(u.suspects), "paths": [list(p) for p in u.paths]}
            for u in report.affected
        ],
        "loose": list(report.loose),
    }


def impact_json(report: ImpactReport) -> str:
    return json.dumps(impact_data(report), indent=2, ensure_ascii=False) + "\n"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def impact_summary(report: ImpactReport, where_used: bool = False) -> str:
    """What a recall coordinator reads first, on the terminal.

    `where_used` (`impact -v`) adds every suspect's path up to its top-level
    unit: `CAP-10-0001 → PCBA-200-0001 → FC-1000-0001 → DRN-X1-0001`.
    """
    lines = [
        terminal_text(f"Recall impact of {report.asked}"),
        terminal_text(f"source {report.source or 'unknown'} · generated {report.generated_at}"),
        "",
        f"Suspect units found:       {len(report.suspects)}",
        f"Top-level units affected:  {len(report.affected)}"
        + (
            f" (holding {_plural(sum(len(u.suspects) for u in report.affected), 'suspect unit')})"
            if report.affected
            else ""
        ),
        f"Loose suspect units:       {len(report.loose)}"
        + (" (built into nothing: quarantine them)" if report.loose else ""),
    ]
    if report.missing:
        lines.append(f"Suspects unknown (404):    {len(report.missing)}")
    lines += _by_part(report)
    if report.affected:
        lines += ["", "Affected top-level units:"]
        for unit in report.affected[:SUMMARY_LIST_LIMIT]:
            suspects = ", ".join(unit.suspects[:5]) + (" …" if len(unit.suspects) > 5 else "")
            lines.append(
                terminal_text(
                    f"  {unit.serial}  ({_plural(len(unit.suspects), 'suspect')}: {suspects})"
                )
            )
        if len(report.affected) > SUMMARY_LIST_LIMIT:
            lines.append(
                f"  … and {len(report.affected) - SUMMARY_LIST_LIMIT} more (see -o impact.csv)"
            )
    if report.loose:
        lines += ["", "Loose suspect units (quarantine):"]
        shown = report.loose[:SUMMARY_LIST_LIMIT]
        lines += [terminal_text(f"  {serial}") for serial in shown]
        if len(report.loose) > SUMMARY_LIST_LIMIT:
            lines.append(
                f"  … and {len(report.loose) - SUMMARY_LIST_LIMIT} more (see -o impact.json)"
            )
    if report.missing:
        lines += ["", "Suspect serials the API does not know (404):"]
        lines += [terminal_text(f"  {serial}") for serial in report.missing]
    if where_used:
        lines += _where_used(report)
    return "\n".join(lines) + "\n"


def _by_part(report: ImpactReport) -> list[str]:
    if not report.by_part:
        return []
    lines = ["", "Affected top-level units by part:"]
    width = max(len(f"{p.part_number} rev {p.revision}") for p in report.by_part)
    for p in report.by_part:
        part = terminal_text(f"{p.part_number} rev {p.revision}")
        lines.append(
            f"  {part:<{width}}  {terminal_text(p.part_name)}: "
            f"{_plural(p.units, 'unit')}, {_plural(p.suspects, 'suspect')} inside"
        )
    return lines


def _where_used(report: ImpactReport) -> list[str]:
    """Every suspect's path up to its top-level unit, suspect first."""
    if not report.affected:
        return []
    paths = sorted(path[::-1] for unit in report.affected for path in unit.paths)
    lines = ["", "Where used (suspect → … → top-level unit):"]
    return lines + ["  " + " → ".join(map(terminal_text, path)) for path in paths]
