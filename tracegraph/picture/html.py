"""An interactive picture in one self-contained HTML file: a canvas viewer for big genealogies.

Python places every unit with the tree layout (`viewer_data.py`); the page
draws those boxes on a canvas, only the ones on screen and their text only
where it can be read, from cached tiles when zoomed out and from one
overview image when further out still. It loads nothing at view time (its
Content-Security-Policy forbids it), so it works offline and by e-mail.

- Pan by dragging or with the arrow keys; zoom with the wheel, a trackpad
  pinch or `+` `-`; `0` or the Fit button shows everything; the minimap
  shows where the view is, and a click on it goes there.
- The search box finds serial numbers: exactly, else ignoring case, else by
  prefix, else as a substring; it says how many matched, and `n` / `N` go
  to the next or previous one. `#search=SN` searches on load, `#unit=SN`
  selects that unit (unfolding its group).
- Clicking a unit shows its attributes and its path to the top-level unit;
  the handle under a unit with children (or a double click) collapses or
  expands its subtree; clicking a folded group (`40 × CAP-100N rev A`)
  unfolds it into its members, in the place they take.
- "Save view as PNG" writes what is on screen, at 1× or 2×, drawn in pieces
  and encoded in the page, so no canvas size limit applies.
"""

from __future__ import annotations

import base64
from importlib import resources

import networkx as nx

from tracegraph.escape import xml_attribute, xml_text
from tracegraph.picture import style
from tracegraph.picture.options import PictureOptions
from tracegraph.picture.viewer_data import viewer_data

_HERE = resources.files("tracegraph.picture")
POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:"
)


def _asset(name: str) -> str:
    return (_HERE / name).read_text(encoding="utf-8")


def to_html(graph: nx.DiGraph, options: PictureOptions | None = None) -> bytes:
    """The genealogy in a self-contained page that pans, zooms, searches and folds."""
    options = options or PictureOptions()
    data = base64.b64encode(viewer_data(graph, options))
    version = xml_attribute(str(graph.graph.get("tool_version", "")))
    title = xml_text(style.title_block(graph, options.title)[0])
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="tracegraph {version}">\n'
        f"<title>{title}</title>\n<style>{_asset('viewer.css')}</style>\n</head>\n<body>\n"
        f'<header><h1>{title}</h1>\n<form id="find" role="search">'
        '<input id="search" type="search" placeholder="Serial number" aria-label="Serial number" '
        'autocomplete="off"> <button type="submit">Find</button></form>\n'
        '<span id="status" role="status" aria-live="polite"></span>\n'
        '<button id="zoom-in" type="button" aria-label="Zoom in">+</button>'
        '<button id="zoom-out" type="button" aria-label="Zoom out">&minus;</button>'
        '<button id="fit" type="button">Fit</button>\n'
        '<select id="png-scale" aria-label="PNG resolution"><option value="1">1×</option>'
        '<option value="2">2×</option></select>'
        '<button id="save-png" type="button">Save view as PNG</button></header>\n'
        '<main id="viewport" tabindex="0" aria-label="Genealogy picture">'
        '<canvas id="picture"></canvas><canvas id="minimap" aria-label="Minimap"></canvas></main>\n'
        '<aside id="panel"><div id="details" aria-live="polite">'
        "<p>Click a box for its details.</p></div>\n"
        '<section id="legend"><h3>Key</h3><div id="key"></div></section></aside>\n'
        '<script type="application/octet-stream" id="genealogy-data">'
    ).encode()
    tail = f"</script>\n<script>{_asset('viewer.js')}</script>\n</body>\n</html>\n".encode()
    return page + data + tail
