"""An interactive picture in one self-contained HTML file: pan, zoom, search, details.

The file holds the picture (the same SVG as `-o x.svg`, groups of repeated
parts included, without the hover texts: the side panel shows more), every
unit's data, and the little script that drives them: it loads nothing at view
time, so it works offline and by e-mail.

The SVG travels as the text of a script element and is parsed as XML when the
page opens: Chromium's XML parser takes the 10,000-unit picture in half the
time its HTML parser does. Zoomed far out, where no text could be read, the
text is not drawn, which keeps panning and zooming quick at that size.

- Pan by dragging or with the arrow keys; zoom with the wheel, a trackpad
  pinch or `+` `-`; `0` or the Fit button shows everything.
- The search box finds a serial number (exactly, or else ignoring case),
  whether it has a box of its own or sits in a group: the box is centred and
  gets the CSS class `match`. `genealogy.html#search=SN` does it on load.
- Clicking a box shows its unit's attributes in the side panel, or a group's
  units.
"""

from __future__ import annotations

import re

import networkx as nx
import orjson

from tracegraph.errors import ExportError
from tracegraph.escape import xml_attribute, xml_text
from tracegraph.picture.graphviz import draw
from tracegraph.picture.options import PictureOptions

_SVG_START = re.compile(rb"<svg\b")
_HOVER = re.compile(rb'(<g id="a_[^"]+"><a) xlink:title="[^"]*"')

STYLE = """
:root { font: 14px/1.4 Helvetica, Arial, sans-serif; color: #1a1a1a; }
body { margin: 0; display: grid; grid-template: auto 1fr / 1fr 22rem; height: 100vh; }
header { grid-column: 1 / 3; display: flex; gap: .6rem; align-items: center;
  padding: .5rem .8rem; border-bottom: 1px solid #ccc; background: #f6f6f6; }
header h1 { font-size: 1rem; margin: 0 1rem 0 0; font-weight: 600; }
header input { font: inherit; padding: .25rem .4rem; width: 16rem; }
header button { font: inherit; padding: .2rem .6rem; }
#status { color: #555; }
#status.missing { color: #b03a2e; font-weight: 600; }
#viewport { overflow: hidden; cursor: grab; touch-action: none; background: #fff; }
#viewport.dragging { cursor: grabbing; }
#viewport:focus { outline: 2px solid #1f3a93; outline-offset: -2px; }
#viewport svg { width: 100%; height: 100%; display: block; }
#panel { border-left: 1px solid #ccc; overflow: auto; padding: .6rem .8rem; background: #fafafa; }
#panel h2 { font-size: 1rem; margin: .2rem 0 .6rem; word-break: break-all; }
#panel table { border-collapse: collapse; width: 100%; }
#panel th { text-align: left; font-weight: normal; color: #555; padding: .1rem .5rem .1rem 0;
  vertical-align: top; white-space: nowrap; }
#panel td { word-break: break-all; padding: .1rem 0; }
#panel ol { padding-left: 1.4rem; margin: 0; }
#panel li.match { font-weight: 700; }
g.node { cursor: pointer; }
svg.far text { display: none; }
g.node.match > g > a > path, g.node.match > g > a > polygon {
  stroke: #ff6f00; stroke-width: 5px; }
g.node.match text { font-weight: 700; }
"""

SCRIPT = r"""
(() => {
  const data = JSON.parse(document.getElementById("genealogy-data").textContent);
  const viewport = document.getElementById("viewport");
  const source = document.getElementById("picture");
  const parsed = new DOMParser().parseFromString(source.textContent, "image/svg+xml");
  const svg = document.adoptNode(parsed.documentElement);
  source.remove();
  viewport.append(svg);
  const panel = document.getElementById("panel");
  const status = document.getElementById("status");
  const input = document.getElementById("search");
  const boxOf = new Map();
  const folded = new Map();
  for (const [box, serials] of Object.entries(data.boxes)) {
    for (const serial of serials) {
      boxOf.set(serial, box);
      if (!folded.has(serial.toLowerCase())) folded.set(serial.toLowerCase(), serial);
    }
  }
  const base = svg.viewBox.baseVal;
  const full = { x: base.x, y: base.y, w: base.width, h: base.height };
  let view = { ...full };
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const show = () => {
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    // Under a quarter of a pixel a point, 11 pt text is under 3 px: not drawn.
    svg.classList.toggle("far", viewport.clientWidth / view.w < 0.25);
  };
  const fit = () => { view = { ...full }; show(); };
  const toSvg = (x, y) => {
    const point = svg.createSVGPoint();
    point.x = x; point.y = y;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  };
  const zoom = (factor, at) => {
    const w = Math.min(Math.max(view.w * factor, full.w / 2000), full.w * 4);
    const k = w / view.w;
    view = { x: at.x - (at.x - view.x) * k, y: at.y - (at.y - view.y) * k, w, h: view.h * k };
    show();
  };
  const centre = () => ({ x: view.x + view.w / 2, y: view.y + view.h / 2 });
  const pan = (dx, dy) => { view.x += dx; view.y += dy; show(); };

  viewport.addEventListener("wheel", (event) => {
    event.preventDefault();
    if (event.shiftKey) {
      const scale = view.w / viewport.clientWidth;
      pan((event.deltaX || event.deltaY) * scale, 0);
      return;
    }
    const speed = event.ctrlKey ? 0.01 : 0.0015;  // a trackpad pinch arrives as ctrl+wheel
    zoom(Math.exp(event.deltaY * speed), toSvg(event.clientX, event.clientY));
  }, { passive: false });

  let drag = null;
  viewport.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, moved: false };
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    viewport.classList.add("dragging");
    const start = toSvg(drag.x, drag.y), now = toSvg(event.clientX, event.clientY);
    pan(start.x - now.x, start.y - now.y);
    drag.x = event.clientX; drag.y = event.clientY;
  });
  viewport.addEventListener("pointerup", (event) => {
    viewport.classList.remove("dragging");
    const wasDrag = drag && drag.moved;
    drag = null;
    if (!wasDrag) {
      const node = event.target.closest && event.target.closest("g.node");
      if (node) details(node.id);
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.target === input) return;
    const step = 0.15;
    const keys = {
      ArrowLeft: () => pan(-view.w * step, 0), ArrowRight: () => pan(view.w * step, 0),
      ArrowUp: () => pan(0, -view.h * step), ArrowDown: () => pan(0, view.h * step),
      "+": () => zoom(1 / 1.25, centre()), "=": () => zoom(1 / 1.25, centre()),
      "-": () => zoom(1.25, centre()), "0": fit,
    };
    if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
  });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1 / 1.25, centre()));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(1.25, centre()));

  const cell = (text) => {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  };
  function table(attributes) {
    const element = document.createElement("table");
    for (const name of Object.keys(attributes).sort()) {
      const row = document.createElement("tr");
      const th = document.createElement("th");
      th.textContent = name;
      row.append(th, cell(String(attributes[name])));
      element.append(row);
    }
    return element;
  }
  function details(box, serial) {
    const serials = data.boxes[box] || [];
    const heading = document.createElement("h2");
    panel.replaceChildren(heading);
    if (serials.length === 1 && !data.groups[box]) {
      heading.textContent = serials[0];
      panel.append(table(data.units[serials[0]] || {}));
      return;
    }
    heading.textContent = data.groups[box] || `${serials.length} units`;
    const list = document.createElement("ol");
    for (const member of serials) {
      const item = document.createElement("li");
      const unit = data.units[member] || {};
      item.textContent = [member, unit.batch, unit.outcome].filter(Boolean).join(" · ");
      if (member === serial) item.className = "match";
      list.append(item);
    }
    panel.append(list);
    if (serial) {
      const one = document.createElement("h2");
      one.textContent = serial;
      panel.append(one, table(data.units[serial] || {}));
    }
  }
  function search(text) {
    for (const element of svg.querySelectorAll(".match")) element.classList.remove("match");
    const wanted = text.trim();
    if (!wanted) { status.textContent = ""; status.className = ""; return false; }
    const serial = boxOf.has(wanted) ? wanted : folded.get(wanted.toLowerCase());
    const element = serial && svg.getElementById(boxOf.get(serial));
    if (!element) {
      status.textContent = `${wanted}: not found`;
      status.className = "missing";
      return false;
    }
    element.classList.add("match");
    const box = element.getBoundingClientRect();
    const a = toSvg(box.left, box.top), b = toSvg(box.right, box.bottom);
    const w = Math.min(full.w, Math.max((b.x - a.x) * 6, full.w / 40, 400));
    const h = w * (viewport.clientHeight / Math.max(viewport.clientWidth, 1));
    view = { x: (a.x + b.x) / 2 - w / 2, y: (a.y + b.y) / 2 - h / 2, w, h };
    show();
    const group = data.groups[element.id];
    status.textContent = group ? `${serial}: one of ${group}` : `${serial}: found`;
    status.className = "";
    details(element.id, serial);
    return true;
  }
  document.getElementById("find").addEventListener("submit", (event) => {
    event.preventDefault();
    search(input.value);
  });
  const fromHash = () => {
    const found = /(?:^#|&)search=([^&]*)/.exec(location.hash);
    if (found) {
      input.value = decodeURIComponent(found[1].replace(/\+/g, " "));
      search(input.value);
    }
  };
  window.addEventListener("hashchange", fromHash);
  fit();
  fromHash();
  document.body.dataset.ready = "true";
})();
"""


def _json_for_html(value: object) -> str:
    """JSON that an HTML script element holds as it is (no `</script>` can end it)."""
    text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def to_html(graph: nx.DiGraph, options: PictureOptions | None = None) -> bytes:
    """The genealogy's picture in a self-contained page that pans, zooms and searches."""
    svg, drawing = draw(graph, "svg", options or PictureOptions())
    start = _SVG_START.search(svg)  # the <svg> element, without Graphviz's XML prolog
    picture = _HOVER.sub(rb"\1", svg[start.start() :] if start else svg)
    if b"</script" in picture.lower():  # it cannot be: every < in a text is escaped
        raise ExportError("the picture holds '</script' and cannot go into an HTML page")
    version = xml_attribute(str(graph.graph.get("tool_version", "")))
    units = {
        serial: {k: v for k, v in attributes.items() if isinstance(v, (str, int, float, bool))}
        for serial, attributes in graph.nodes(data=True)
    }
    groups = {box: drawing.titles[box].split(": ", 1)[0] for box in drawing.tooltips}
    data = {"units": units, "boxes": drawing.members, "groups": groups}
    title = xml_text(drawing.title)
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="tracegraph {version}">\n'
        f"<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header><h1>{title}</h1>\n<form id="find" role="search">'
        '<input id="search" type="search" placeholder="Serial number" aria-label="Serial number" '
        'autocomplete="off"> <button type="submit">Find</button></form>\n'
        '<span id="status" role="status"></span>\n'
        '<button id="zoom-in" type="button" aria-label="Zoom in">+</button>'
        '<button id="zoom-out" type="button" aria-label="Zoom out">&minus;</button>'
        '<button id="fit" type="button">Fit</button></header>\n'
        '<main id="viewport" tabindex="0" aria-label="Genealogy picture">\n'
        '<script type="image/svg+xml" id="picture">'
    ).encode()
    tail = (
        '</script></main>\n<aside id="panel" aria-live="polite">'
        "<p>Click a box for its details.</p></aside>\n"
        f'<script type="application/json" id="genealogy-data">{_json_for_html(data)}</script>\n'
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    ).encode()
    return page + picture + tail
