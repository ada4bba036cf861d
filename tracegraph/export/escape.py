"""Where `tracegraph.escape` lived before pictures got their own package.

The README has named `tracegraph.export.escape.csv_value`, `split_items`,
`serial_from_graphml_id` and `dot_id` for scripts to use, so they still
import from here; the module itself is `tracegraph.escape`, below both
`export/` and `picture/`.
"""

from __future__ import annotations

from tracegraph.escape import (
    PATH_SEPARATOR,
    csv_cell,
    csv_value,
    dot_html,
    dot_id,
    dot_string,
    dot_tooltip_line,
    escape_item,
    graphml_id,
    graphml_serial,
    join_items,
    join_paths,
    mermaid_label,
    mermaid_text,
    mermaid_title_is_plain,
    serial_from_graphml_id,
    split_items,
    split_paths,
    terminal_text,
    xml_attribute,
    xml_chars,
    xml_text,
    yaml_string,
)

__all__ = [
    "PATH_SEPARATOR",
    "csv_cell",
    "csv_value",
    "dot_html",
    "dot_id",
    "dot_string",
    "dot_tooltip_line",
    "escape_item",
    "graphml_id",
    "graphml_serial",
    "join_items",
    "join_paths",
    "mermaid_label",
    "mermaid_text",
    "mermaid_title_is_plain",
    "serial_from_graphml_id",
    "split_items",
    "split_paths",
    "terminal_text",
    "xml_attribute",
    "xml_chars",
    "xml_text",
    "yaml_string",
]
