// The genealogy viewer: draws the units Python placed on one canvas, and only what is on screen.
// Data: gzip-compressed columns (picture/viewer_data.py); nothing is loaded from anywhere.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const status = $("status");
  const say = (text, missing = false) => {
    status.textContent = text;
    status.className = missing ? "missing" : "";
  };

  async function load() {
    const text = $("genealogy-data").textContent.trim();
    let bytes;
    if (Uint8Array.fromBase64) {
      bytes = Uint8Array.fromBase64(text);
    } else {
      const binary = atob(text);
      bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    }
    const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    const buffer = await new Response(inflated).arrayBuffer();
    const headLength = new DataView(buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headLength)));
    if (header.format !== 1) throw new Error(`unknown data format ${header.format}`);
    const kinds = { f32: Float32Array, i32: Int32Array, u8: Uint8Array };
    const columns = {};
    for (const [name, type, offset, length] of header.columns) {
      columns[name] = new kinds[type](buffer, 4 + headLength + offset, length);
    }
    return { header, columns };
  }

  function start({ header, columns }) {
    const strings = header.strings;
    const n = header.units;
    const { x: X, y: Y, w: W, h: H, parent, end, routeStart, routes, fill, flags } = columns;
    const { serial: serialOf, lineStart, lineText, lineStyle, border } = columns;
    const across = header.rankdir === "LR";
    const [PW, PH] = header.size.map((v) => Math.max(v, 1));
    const palette = header.palette;
    const colours = header.colours;
    const styles = header.lineStyles.map((text) => {
      const [size, bold, colour] = text.split(" ");
      return { size: Number(size), bold: bold === "1", colour: colour || "#1a1a1a" };
    });
    const MISSING = 1, SEED = 2, TOP_LEVEL = 4, DEPARTED = 8;
    const serial = (u) => strings[serialOf[u]];

    // Folded groups: one band over the place its members take.
    const groups = header.groups;
    const groupOf = new Int32Array(n).fill(-1);
    for (let g = 0; g < groups.length; g += 1) {
      const group = groups[g];
      let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
      for (const m of group.members) {
        groupOf[m] = g;
        left = Math.min(left, X[m] - W[m] / 2); right = Math.max(right, X[m] + W[m] / 2);
        top = Math.min(top, Y[m] - H[m] / 2); bottom = Math.max(bottom, Y[m] + H[m] / 2);
      }
      Object.assign(group, {
        folded: true, x: (left + right) / 2, y: (top + bottom) / 2,
        w: right - left, h: bottom - top,
      });
    }
    const items = n + groups.length;  // item ids: units 0..n-1, then groups
    const lastChild = new Int32Array(n).fill(-1);
    for (let u = 0; u < n; u += 1) if (parent[u] >= 0) lastChild[parent[u]] = u;

    // A grid of cells, each listing the units whose centre it holds.
    let maxW = 0, maxH = 0;
    for (let u = 0; u < n; u += 1) { maxW = Math.max(maxW, W[u]); maxH = Math.max(maxH, H[u]); }
    const cell = Math.max(64, Math.sqrt((PW * PH) / Math.max(n, 1) * 16));
    const cols = Math.max(1, Math.ceil(PW / cell)), rows = Math.max(1, Math.ceil(PH / cell));
    const cellOf = (x, y) => {
      const c = Math.min(cols - 1, Math.max(0, Math.floor(x / cell)));
      const r = Math.min(rows - 1, Math.max(0, Math.floor(y / cell)));
      return r * cols + c;
    };
    const cellStart = new Int32Array(cols * rows + 1);
    for (let u = 0; u < n; u += 1) cellStart[cellOf(X[u], Y[u]) + 1] += 1;
    for (let i = 0; i < cols * rows; i += 1) cellStart[i + 1] += cellStart[i];
    const cellUnits = new Int32Array(n);
    const filled = cellStart.slice(0, cols * rows);
    for (let u = 0; u < n; u += 1) cellUnits[filled[cellOf(X[u], Y[u])]++] = u;
    const marginX = maxW / 2 + 40, marginY = maxH / 2 + 40;

    // What is shown: collapsed subtrees are hidden, folded groups drawn as one band.
    const hidden = new Uint8Array(n);
    const collapsed = new Set();
    const refreshHidden = () => {
      hidden.fill(0);
      for (const u of collapsed) hidden.fill(1, u + 1, end[u]);
      changed();
    };
    const itemOf = (u) => {
      if (hidden[u]) return -1;
      const g = groupOf[u];
      return g >= 0 && groups[g].folded ? n + g : u;
    };
    const box = (id) => (id < n ? [X[id], Y[id], W[id], H[id]]
      : [groups[id - n].x, groups[id - n].y, groups[id - n].w, groups[id - n].h]);
    const firstUnit = (id) => (id < n ? id : groups[id - n].members[0]);
    const hasChildren = (u) => end[u] > u + 1;

    const stamp = new Uint32Array(items);
    let pass = 0;
    const found = new Int32Array(items);
    function collect(left, top, right, bottom) {
      pass += 1;
      let count = 0;
      const c0 = Math.max(0, Math.floor((left - marginX) / cell));
      const c1 = Math.min(cols - 1, Math.floor((right + marginX) / cell));
      const r0 = Math.max(0, Math.floor((top - marginY) / cell));
      const r1 = Math.min(rows - 1, Math.floor((bottom + marginY) / cell));
      for (let r = r0; r <= r1; r += 1) {
        for (let c = c0; c <= c1; c += 1) {
          const at = r * cols + c;
          for (let i = cellStart[at]; i < cellStart[at + 1]; i += 1) {
            const id = itemOf(cellUnits[i]);
            if (id < 0 || stamp[id] === pass) continue;
            const [x, y, w, h] = box(id);
            if (x + w / 2 < left || x - w / 2 > right || y + h / 2 < top || y - h / 2 > bottom) {
              continue;
            }
            stamp[id] = pass;
            found[count++] = id;
          }
        }
      }
      return count;
    }

    // --- painting: the same code for the screen, the tiles, the overview and the PNG ---
    const dpr = () => window.devicePixelRatio || 1;
    const READABLE = 6;  // css pixels: smaller text is not drawn
    function anchor(id, bottom) {
      const [x, y, w, h] = box(id);
      if (across) return bottom ? [x + w / 2, y] : [x - w / 2, y];
      return bottom ? [x, y + h / 2] : [x, y - h / 2];
    }
    function edge(ctx, child) {  // the line into `child` (an item) from its parent's item
      const u = firstUnit(child);
      const p = parent[u];
      if (p < 0) return;
      const from = itemOf(p);
      if (from < 0) return;
      if (child < n && from < n) {
        const a = routeStart[u], b = routeStart[u + 1];
        ctx.moveTo(routes[2 * a], routes[2 * a + 1]);
        for (let i = a + 1; i < b; i += 1) ctx.lineTo(routes[2 * i], routes[2 * i + 1]);
      } else {
        const [x0, y0] = anchor(from, true), [x1, y1] = anchor(child, false);
        ctx.moveTo(x0, y0);
        ctx.lineTo(x1, y1);
      }
    }
    const sorted = new Int32Array(items);
    function paint(ctx, left, top, right, bottom, k) {
      const count = collect(left, top, right, bottom);
      const css = k / dpr();
      const px = 1 / k;  // one device pixel, in points
      if (css * 28 >= 2) {  // edges, when the gap between levels is a couple of pixels
        ctx.beginPath();
        for (let i = 0; i < count; i += 1) {
          const id = found[i];
          edge(ctx, id);
          if (id < n && hasChildren(id) && !collapsed.has(id)) {
            const first = itemOf(id + 1), last = itemOf(lastChild[id]);
            if (first >= 0) edge(ctx, first);
            if (last >= 0 && last !== first) edge(ctx, last);
          }
        }
        for (const [p, c] of header.extraEdges) {
          const a = itemOf(p), b = itemOf(c);
          if (a < 0 || b < 0 || (stamp[a] !== pass && stamp[b] !== pass)) continue;
          const [x0, y0] = anchor(a, true), [x1, y1] = anchor(b, false);
          ctx.moveTo(x0, y0);
          ctx.lineTo(x1, y1);
        }
        ctx.strokeStyle = colours.edge;
        ctx.lineWidth = Math.max(1, px);
        ctx.stroke();
      }
      // Boxes, one path per fill colour.
      const fillOf = (id) => (id < n ? ((flags[id] & MISSING) ? -1 : fill[id]) : groups[id - n].fill);
      const byFill = new Map();
      for (let i = 0; i < count; i += 1) {
        const f = fillOf(found[i]);
        byFill.set(f, (byFill.get(f) || 0) + 1);
      }
      let at = 0;
      const starts = new Map();
      for (const [f, c] of byFill) { starts.set(f, at); at += c; }
      for (let i = 0; i < count; i += 1) {
        const f = fillOf(found[i]);
        const s = starts.get(f);
        sorted[s] = found[i];
        starts.set(f, s + 1);
      }
      const rounded = css >= 0.25 && ctx.roundRect;
      const outlined = css * 36 >= 4;
      const least = css < DIRECT ? px : 0;  // far out, a box is at least a pixel
      at = 0;
      for (const [f, c] of byFill) {
        ctx.beginPath();
        for (let i = at; i < at + c; i += 1) {
          const id = sorted[i];
          const [x, y, w, h] = box(id);
          if (id >= n && outlined) ctx.rect(x - w / 2 + 3, y - h / 2 - 3, w, h);  // a stack
          const ww = Math.max(w, least), hh = Math.max(h, least);
          if (rounded && id < n) ctx.roundRect(x - ww / 2, y - hh / 2, ww, hh, 4);
          else ctx.rect(x - ww / 2, y - hh / 2, ww, hh);
        }
        ctx.fillStyle = f < 0 ? "#ffffff" : palette[f];
        ctx.fill();
        if (outlined) {
          ctx.strokeStyle = colours.border;
          ctx.lineWidth = Math.max(1, px);
          ctx.stroke();
        }
        at += c;
      }
      if (!outlined) return;
      for (let i = 0; i < count; i += 1) {  // the marks: missing, a diff's change, seed, top-level
        const id = found[i];
        const changed = id < n && palette[border[id]];
        if (id >= n || !(changed || (flags[id] & (MISSING | SEED | TOP_LEVEL | DEPARTED)))) continue;
        const [x, y, w, h] = box(id);
        ctx.beginPath();
        if (changed || (flags[id] & DEPARTED)) {
          if (flags[id] & DEPARTED) ctx.setLineDash([5, 2]);
          ctx.strokeStyle = changed || "#8c8c8c";
          ctx.lineWidth = Math.max(changed ? 2.5 : 1.2, px);
          ctx.rect(x - w / 2, y - h / 2, w, h);
          ctx.stroke();
          ctx.setLineDash([]);
        } else if (flags[id] & MISSING) {
          ctx.setLineDash([4, 3]);
          ctx.strokeStyle = "#7f7f7f";
          ctx.lineWidth = Math.max(1.2, px);
          ctx.rect(x - w / 2, y - h / 2, w, h);
          ctx.stroke();
          ctx.setLineDash([]);
        } else if (flags[id] & TOP_LEVEL) {
          ctx.strokeStyle = colours.topLevel;
          ctx.lineWidth = Math.max(2, px);
          ctx.rect(x - w / 2, y - h / 2, w, h);
          ctx.rect(x - w / 2 - 3, y - h / 2 - 3, w + 6, h + 6);
          ctx.stroke();
        } else {
          ctx.strokeStyle = colours.seed;
          ctx.lineWidth = Math.max(3, px);
          ctx.rect(x - w / 2, y - h / 2, w, h);
          ctx.stroke();
        }
      }
      if (css >= HANDLES) handles(ctx, count, css);
      if (css * 11 >= READABLE) text(ctx, count, css);
    }
    function lines(id) {
      if (id < n) {
        const out = [];
        for (let i = lineStart[id]; i < lineStart[id + 1]; i += 1) {
          out.push([strings[lineText[i]], styles[lineStyle[i]]]);
        }
        return out;
      }
      return groups[id - n].lines.map(([t, s]) => [strings[t], styles[s]]);
    }
    function text(ctx, count, css) {
      ctx.textAlign = "center";
      ctx.textBaseline = "alphabetic";
      let font = "";
      for (let i = 0; i < count; i += 1) {
        const id = found[i];
        const [x, y, w, h] = box(id);
        const all = lines(id);
        let scale = 1;  // a folded group's band is big: its text grows with it, up to 3 times
        if (id >= n) {
          let need = 0;
          for (const [, s] of all) need += s.size * 1.2;
          scale = Math.max(1, Math.min(3, h / (need * 1.6), w / 160));
        }
        const shown = all.filter(([, s]) => s.size * scale * css >= READABLE);
        let height = 0;
        for (const [, s] of shown) height += s.size * scale * 1.2;
        let top = y - height / 2;
        for (const [t, s] of shown) {
          const size = s.size * scale;
          const wanted = `${s.bold ? "bold " : ""}${size}px Helvetica, Arial, sans-serif`;
          if (wanted !== font) { ctx.font = wanted; font = wanted; }
          ctx.fillStyle = (id < n && (flags[id] & MISSING) && !s.bold) ? "#555555" : s.colour;
          ctx.fillText(t, x, top + size * 0.95);
          top += size * 1.2;
        }
      }
    }
    // The handle under a unit with children, in css pixels whatever the zoom.
    const HANDLES = 0.3;  // css pixels a point: handles from here in
    // Under a collapsed unit the room is free; under an open one the links run there.
    const handleRadius = (u, css) => (collapsed.has(u)
      ? Math.min(8, Math.max(5, 6 * css)) / css : Math.min(7, Math.max(5, 6 * css) / css));
    const handleAt = (u, css) => {
      const [x, y] = anchor(u, true);
      const r = handleRadius(u, css) + 1;
      return across ? [x + r, y] : [x, y + r];
    };
    function handles(ctx, count, css) {  // − or + under a unit with children
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      for (let i = 0; i < count; i += 1) {
        const u = found[i];
        if (u >= n || !hasChildren(u)) continue;
        const [x, y] = handleAt(u, css);
        const closed = collapsed.has(u);
        const r = handleRadius(u, css);
        ctx.beginPath();
        ctx.arc(x, y, r, 0, 2 * Math.PI);
        ctx.fillStyle = closed ? "#1f3a93" : "#ffffff";
        ctx.fill();
        ctx.strokeStyle = "#1f3a93";
        ctx.lineWidth = 1 / css;
        ctx.stroke();
        ctx.font = `bold ${1.6 * r}px Helvetica, Arial, sans-serif`;
        ctx.fillStyle = closed ? "#ffffff" : "#1f3a93";
        ctx.fillText(closed ? "+" : "−", x, y + 0.1 * r);
        if (closed) {
          ctx.font = `${11 / css}px Helvetica, Arial, sans-serif`;
          ctx.textAlign = across ? "left" : "center";
          ctx.fillStyle = "#1f3a93";
          const label = `${(end[u] - u - 1).toLocaleString("en")} hidden`;
          ctx.fillText(label, across ? x + 2 * r : x, across ? y : y + 2.4 * r);
          ctx.textAlign = "center";
        }
      }
    }

    // --- the screen: direct painting near, cached tiles in between, the overview far ---
    const viewport = $("viewport");
    const canvas = $("picture");
    const screen = canvas.getContext("2d");
    const view = { x: 0, y: 0, k: 1 };
    const DIRECT = 0.3;  // css pixels a point: nearer than this, paint directly
    const TILE = 512;
    let tiles = new Map();
    let overview = null, overviewK = 0;
    let pending = false, ready = false;
    const schedule = () => {
      if (!pending) { pending = true; requestAnimationFrame(render); }
    };
    function changed() {
      tiles = new Map();
      overview = null;
      schedule();
    }
    function makeOverview() {
      // As sharp as the whole picture on screen (and no sharper than the direct view).
      overviewK = Math.min(fitK() * dpr(), DIRECT * dpr() / 2);
      const o = document.createElement("canvas");
      o.width = Math.max(1, Math.ceil(PW * overviewK));
      o.height = Math.max(1, Math.ceil(PH * overviewK));
      const ctx = o.getContext("2d");
      ctx.setTransform(overviewK, 0, 0, overviewK, 0, 0);
      paint(ctx, 0, 0, PW, PH, overviewK);
      overview = o;
    }
    function tile(level, tx, ty) {
      const key = `${level}:${tx}:${ty}`;
      let t = tiles.get(key);
      if (t) { tiles.delete(key); tiles.set(key, t); return t; }  // most recent last
      if (performance.now() > deadline) return null;
      const k = 2 ** level;
      t = document.createElement("canvas");
      t.width = TILE; t.height = TILE;
      const ctx = t.getContext("2d");
      ctx.setTransform(k, 0, 0, k, -tx * TILE, -ty * TILE);
      const size = TILE / k;
      paint(ctx, tx * size, ty * size, (tx + 1) * size, (ty + 1) * size, k);
      tiles.set(key, t);
      if (tiles.size > 240) tiles.delete(tiles.keys().next().value);
      return t;
    }
    let deadline = 0;
    function render() {
      pending = false;
      const ratio = dpr();
      const width = viewport.clientWidth, height = viewport.clientHeight;
      if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(height * ratio);
      }
      if (!overview) makeOverview();
      const k = view.k * ratio;
      screen.setTransform(1, 0, 0, 1, 0, 0);
      screen.fillStyle = "#ffffff";
      screen.fillRect(0, 0, canvas.width, canvas.height);
      const left = view.x, top = view.y;
      const right = left + width / view.k, bottom = top + height / view.k;
      let again = false;
      if (view.k >= DIRECT) {
        screen.setTransform(k, 0, 0, k, -left * k, -top * k);
        paint(screen, left, top, right, bottom, k);
      } else if (k <= overviewK * 1.001) {
        screen.imageSmoothingEnabled = true;
        screen.drawImage(overview, -left * k, -top * k, overview.width / overviewK * k,
          overview.height / overviewK * k);
      } else {
        const level = Math.ceil(Math.log2(k));
        const tk = 2 ** level, size = TILE / tk;
        deadline = performance.now() + 6;  // tiles drawn a frame; the rest from the overview
        screen.imageSmoothingEnabled = true;
        for (let ty = Math.floor(top / size); ty * size < bottom; ty += 1) {
          for (let tx = Math.floor(left / size); tx * size < right; tx += 1) {
            const dx = (tx * size - left) * k, dy = (ty * size - top) * k, ds = size * k;
            if (tx * size > PW || ty * size > PH || tx < 0 || ty < 0) continue;
            const t = tile(level, tx, ty);
            if (t) {
              screen.drawImage(t, dx, dy, ds, ds);
            } else {
              again = true;
              const o = overviewK;
              screen.drawImage(overview, tx * size * o, ty * size * o, size * o, size * o,
                dx, dy, ds, ds);
            }
          }
        }
      }
      screen.setTransform(k, 0, 0, k, -left * k, -top * k);
      highlights(screen, k);
      minimap();
      if (again) schedule();
      if (!ready) { ready = true; }
    }
    function outline(ctx, id, colour, pixels, k) {
      const [x, y, w, h] = box(id);
      const least = 6 / k;
      ctx.strokeStyle = colour;
      ctx.lineWidth = pixels / k;
      ctx.strokeRect(x - Math.max(w, least) / 2, y - Math.max(h, least) / 2,
        Math.max(w, least), Math.max(h, least));
    }
    function highlights(ctx, k) {
      if (selected >= 0) {
        ctx.beginPath();
        for (let u = selected; parent[u] >= 0; u = parent[u]) {
          const id = itemOf(u);
          if (id >= 0) edge(ctx, id);
        }
        ctx.strokeStyle = "#ff6f00";
        ctx.lineWidth = 3 / k;
        ctx.stroke();
        for (let u = parent[selected]; u >= 0; u = parent[u]) {
          const id = itemOf(u);
          if (id >= 0) outline(ctx, id, "#ff6f00", 2, k);
        }
        const id = itemOf(selected);
        if (id >= 0) outline(ctx, id, "#ff6f00", 4, k);
      }
      const shown = Math.min(matches.length, 20000);
      for (let i = 0; i < shown; i += 1) {
        const id = itemOf(matches[i]);
        if (id >= 0) outline(ctx, id, i === current ? "#d50000" : "#ff6f00", i === current ? 5 : 2, k);
      }
    }

    // --- the minimap, with the viewport marked ---
    const mini = $("minimap");
    const MINI = [200, 120];
    const miniK = Math.min(MINI[0] / PW, MINI[1] / PH);
    mini.width = Math.max(40, Math.round(PW * miniK));
    mini.height = Math.max(12, Math.round(PH * miniK));
    const miniCtx = mini.getContext("2d");
    function minimap() {
      miniCtx.setTransform(1, 0, 0, 1, 0, 0);
      miniCtx.fillStyle = "#ffffff";
      miniCtx.fillRect(0, 0, mini.width, mini.height);
      miniCtx.drawImage(overview, 0, 0, PW * miniK, PH * miniK);
      const w = viewport.clientWidth / view.k, h = viewport.clientHeight / view.k;
      miniCtx.strokeStyle = "#d50000";
      miniCtx.lineWidth = 1.5;
      miniCtx.strokeRect(view.x * miniK, view.y * miniK, Math.max(3, w * miniK),
        Math.max(3, h * miniK));
    }
    let miniDrag = false;
    const miniMove = (event) => {
      const r = mini.getBoundingClientRect();
      const wx = (event.clientX - r.left) / miniK, wy = (event.clientY - r.top) / miniK;
      view.x = wx - viewport.clientWidth / 2 / view.k;
      view.y = wy - viewport.clientHeight / 2 / view.k;
      schedule();
    };
    mini.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      miniDrag = true;
      try { mini.setPointerCapture(event.pointerId); } catch { /* a synthetic pointer */ }
      miniMove(event);
    });
    mini.addEventListener("pointermove", (event) => { if (miniDrag) miniMove(event); });
    mini.addEventListener("pointerup", (event) => { event.stopPropagation(); miniDrag = false; });

    // --- moving about ---
    const fitK = () => Math.min(viewport.clientWidth / PW, viewport.clientHeight / PH) * 0.96;
    const limits = () => [Math.min(fitK() / 2, 0.5), 8];
    function fit() {
      view.k = fitK();
      view.x = PW / 2 - viewport.clientWidth / 2 / view.k;
      view.y = PH / 2 - viewport.clientHeight / 2 / view.k;
      schedule();
    }
    function zoom(factor, cx, cy) {  // cx, cy: css pixels in the viewport
      const [low, high] = limits();
      const k = Math.min(high, Math.max(low, view.k * factor));
      const wx = view.x + cx / view.k, wy = view.y + cy / view.k;
      view.k = k;
      view.x = wx - cx / k;
      view.y = wy - cy / k;
      schedule();
    }
    const middle = () => [viewport.clientWidth / 2, viewport.clientHeight / 2];
    const pan = (dx, dy) => { view.x += dx / view.k; view.y += dy / view.k; schedule(); };
    function centreOn(id, least) {  // near enough to read it, the whole box on screen
      const [x, y, w, h] = box(id);
      const whole = 0.9 * Math.min(viewport.clientWidth / w, viewport.clientHeight / h);
      view.k = Math.min(limits()[1], whole, Math.max(view.k, least));
      view.x = x - viewport.clientWidth / 2 / view.k;
      view.y = y - viewport.clientHeight / 2 / view.k;
      schedule();
    }
    viewport.addEventListener("wheel", (event) => {
      event.preventDefault();
      const r = viewport.getBoundingClientRect();
      if (event.shiftKey) { pan(event.deltaX || event.deltaY, 0); return; }
      const speed = event.ctrlKey ? 0.01 : 0.0015;  // a trackpad pinch arrives as ctrl+wheel
      zoom(Math.exp(-event.deltaY * speed), event.clientX - r.left, event.clientY - r.top);
    }, { passive: false });
    let drag = null;
    viewport.addEventListener("pointerdown", (event) => {
      if (event.target !== canvas) return;
      drag = { x: event.clientX, y: event.clientY, moved: false };
      try { viewport.setPointerCapture(event.pointerId); } catch { /* a synthetic pointer */ }
    });
    viewport.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      viewport.classList.add("dragging");
      pan(-dx, -dy);
      drag.x = event.clientX; drag.y = event.clientY;
    });
    viewport.addEventListener("pointerup", (event) => {
      viewport.classList.remove("dragging");
      const wasDrag = drag && drag.moved;
      const began = drag;
      drag = null;
      if (began && !wasDrag) click(event);
    });
    viewport.addEventListener("dblclick", (event) => {
      const hit = hitAt(event);
      if (hit.item >= 0 && hit.item < n && hasChildren(hit.item)) toggle(hit.item);
    });
    const input = $("search");
    document.addEventListener("keydown", (event) => {
      if (event.target === input || event.target.tagName === "SELECT") return;
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const [cx, cy] = middle();
      const step = 0.15;
      const keys = {
        ArrowLeft: () => pan(-viewport.clientWidth * step, 0),
        ArrowRight: () => pan(viewport.clientWidth * step, 0),
        ArrowUp: () => pan(0, -viewport.clientHeight * step),
        ArrowDown: () => pan(0, viewport.clientHeight * step),
        "+": () => zoom(1.25, cx, cy), "=": () => zoom(1.25, cx, cy),
        "-": () => zoom(1 / 1.25, cx, cy), "0": fit,
        n: () => step1(1), N: () => step1(-1),
        Escape: () => select(-1),
      };
      if (keys[event.key]) { event.preventDefault(); keys[event.key](); }
    });
    $("fit").addEventListener("click", fit);
    $("zoom-in").addEventListener("click", () => zoom(1.25, ...middle()));
    $("zoom-out").addEventListener("click", () => zoom(1 / 1.25, ...middle()));
    window.addEventListener("resize", changed);  // a new overview, as sharp as the new size

    // --- what is under the pointer ---
    function hitAt(event) {
      const r = viewport.getBoundingClientRect();
      const wx = view.x + (event.clientX - r.left) / view.k;
      const wy = view.y + (event.clientY - r.top) / view.k;
      const reach = 12 / view.k;
      const count = collect(wx - reach, wy - reach, wx + reach, wy + reach);
      let item = -1, handle = -1;
      for (let i = 0; i < count; i += 1) {
        const id = found[i];
        const [x, y, w, h] = box(id);
        if (Math.abs(wx - x) <= w / 2 && Math.abs(wy - y) <= h / 2) item = id;
        if (id < n && hasChildren(id) && view.k >= HANDLES) {
          const [hx, hy] = handleAt(id, view.k);
          if (Math.hypot(wx - hx, wy - hy) <= handleRadius(id, view.k) + 2 / view.k) handle = id;
        }
      }
      return { item, handle };
    }
    function click(event) {
      const hit = hitAt(event);
      if (hit.handle >= 0) { toggle(hit.handle); return; }
      if (hit.item < 0) return;
      if (hit.item >= n) { unfold(hit.item - n); return; }
      select(hit.item);
    }
    function toggle(u) {
      if (collapsed.has(u)) collapsed.delete(u); else collapsed.add(u);
      refreshHidden();
      if (selected >= 0) details(selected);
    }
    function unfold(g, serialShown = -1) {
      groups[g].folded = false;
      changed();
      groupDetails(g, serialShown);
    }
    function fold(g) {
      groups[g].folded = true;
      changed();
      groupDetails(g);
    }
    function reveal(u) {  // every collapsed unit above `u` opened
      let opened = false;
      for (let a = parent[u]; a >= 0; a = parent[a]) if (collapsed.delete(a)) opened = true;
      if (opened) refreshHidden();
    }

    // --- the side panel ---
    const panel = $("details");
    const element = (tag, text, className) => {
      const e = document.createElement(tag);
      if (text !== undefined) e.textContent = text;
      if (className) e.className = className;
      return e;
    };
    const attribute = (u, name) => {
      const column = columns[`attribute:${name}`];
      return column && column[u] >= 0 ? strings[column[u]] : undefined;
    };
    function table(u) {
      const t = element("table");
      for (const name of header.attributes) {
        const value = attribute(u, name);
        if (value === undefined) continue;
        const row = element("tr");
        row.append(element("th", name), element("td", value));
        t.append(row);
      }
      return t;
    }
    const button = (text, action) => {
      const b = element("button", text);
      b.type = "button";
      b.addEventListener("click", action);
      return b;
    };
    let selected = -1;
    function select(u) {
      selected = u;
      if (u < 0) { panel.replaceChildren(element("p", "Click a box for its details.")); }
      else details(u);
      schedule();
    }
    function details(u) {
      const path = [];
      for (let a = u; a >= 0; a = parent[a]) path.push(serial(a));
      panel.replaceChildren(element("h2", serial(u)), table(u));
      panel.append(element("h3", "Path to the top-level unit"),
        element("p", path.reverse().join(" → "), "path"));
      if (hasChildren(u)) {
        const below = (end[u] - u - 1).toLocaleString("en");
        panel.append(collapsed.has(u)
          ? button(`Expand the subtree (${below} units)`, () => toggle(u))
          : button(`Collapse the subtree (${below} units)`, () => toggle(u)));
      }
      const g = groupOf[u];
      if (g >= 0 && !groups[g].folded) {
        panel.append(button(`Fold ${strings[groups[g].heading]} again`, () => fold(g)));
      }
    }
    function groupDetails(g, member = -1) {
      const group = groups[g];
      const heading = strings[group.heading];
      panel.replaceChildren(element("h2", heading));
      const list = element("ol");
      for (const m of group.members.slice(0, 5000)) {
        const text = [serial(m), attribute(m, "batch"), attribute(m, "outcome")]
          .filter(Boolean).join(" · ");
        list.append(element("li", text, m === member ? "match" : undefined));
      }
      panel.append(list);
      panel.append(group.folded
        ? button(`Unfold the ${group.members.length} units`, () => unfold(g))
        : button(`Fold ${heading} again`, () => fold(g)));
      if (member >= 0) panel.append(element("h2", serial(member)), table(member));
    }
    const legend = $("key");
    for (const [colour, text] of header.key) {
      const entry = element("div", undefined, "entry");
      const swatch = element("span", undefined, "swatch");
      swatch.style.background = colour;
      entry.append(swatch, element("span", text));
      legend.append(entry);
    }
    if (!header.key.length) $("legend").hidden = true;

    // --- search: exact, then ignoring case, then prefix, then substring ---
    const exact = new Map();
    for (let u = 0; u < n; u += 1) if (!exact.has(serial(u))) exact.set(serial(u), u);
    let lower = null;
    const lowered = () => {
      if (!lower) {
        lower = new Array(n);
        for (let u = 0; u < n; u += 1) lower[u] = serial(u).toLowerCase();
      }
      return lower;
    };
    let matches = [], current = -1, asked = "";
    function find(text) {
      const wanted = text.trim();
      if (!wanted) return [[], ""];
      if (exact.has(wanted)) return [[exact.get(wanted)], "exact"];
      const all = lowered(), folded = wanted.toLowerCase();
      for (const [kind, test] of [["ignoring case", (s) => s === folded],
        ["prefix", (s) => s.startsWith(folded)], ["substring", (s) => s.includes(folded)]]) {
        const out = [];
        for (let u = 0; u < n; u += 1) if (test(all[u])) out.push(u);
        if (out.length) return [out, kind];
      }
      return [[], ""];
    }
    function search(text) {
      const [found_, kind] = find(text);
      matches = found_;
      asked = text.trim();
      current = -1;
      if (!asked) { say(""); schedule(); return false; }
      if (!matches.length) { say(`${asked}: not found`, true); schedule(); return false; }
      show(0, kind);
      return true;
    }
    function show(i, kind = "") {
      current = (i + matches.length) % matches.length;
      const u = matches[current];
      reveal(u);
      const g = groupOf[u];
      const many = matches.length > 1
        ? `${asked}: ${matches.length.toLocaleString("en")} matches (${kind || "found"}), ` +
          `${current + 1} of ${matches.length.toLocaleString("en")}: `
        : "";
      if (g >= 0 && groups[g].folded) {
        say(`${many}${serial(u)}: one of ${strings[groups[g].heading]}`);
        selected = -1;
        groupDetails(g, u);
        centreOn(n + g, 0.8);
      } else {
        say(`${many}${serial(u)}: found`);
        select(u);
        centreOn(u, 0.8);
      }
    }
    function step1(direction) {
      if (matches.length) show(current + direction);
    }
    $("find").addEventListener("submit", (event) => {
      event.preventDefault();
      search(input.value);
    });
    function showUnit(text) {  // #unit=SN: that one unit, unfolded and selected
      const wanted = text.trim();
      const u = exact.has(wanted) ? exact.get(wanted) : find(wanted)[1] === "ignoring case"
        ? find(wanted)[0][0] : -1;
      matches = u >= 0 ? [u] : [];
      current = u >= 0 ? 0 : -1;
      if (u < 0) { say(`${wanted}: not found`, true); schedule(); return; }
      reveal(u);
      if (groupOf[u] >= 0 && groups[groupOf[u]].folded) {
        groups[groupOf[u]].folded = false;
        changed();
      }
      say(`${serial(u)}: found`);
      select(u);
      centreOn(u, 1);
    }
    function fromHash() {
      const value = (name) => {
        const m = new RegExp(`(?:^#|&)${name}=([^&]*)`).exec(location.hash);
        return m ? decodeURIComponent(m[1].replace(/\+/g, " ")) : null;
      };
      const unit = value("unit"), wanted = value("search");
      if (unit !== null) { input.value = unit; showUnit(unit); }
      else if (wanted !== null) { input.value = wanted; search(wanted); }
    }
    window.addEventListener("hashchange", fromHash);

    // --- the view as a PNG, drawn in tiles and written here: no canvas size limit applies ---
    const CRC = new Uint32Array(256).map((_, i) => {
      let c = i;
      for (let j = 0; j < 8; j += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      return c >>> 0;
    });
    function chunk(type, data) {
      const out = new Uint8Array(12 + data.length);
      const view_ = new DataView(out.buffer);
      view_.setUint32(0, data.length);
      for (let i = 0; i < 4; i += 1) out[4 + i] = type.charCodeAt(i);
      out.set(data, 8);
      let c = 0xffffffff;
      for (let i = 4; i < 8 + data.length; i += 1) c = CRC[(c ^ out[i]) & 0xff] ^ (c >>> 8);
      view_.setUint32(8 + data.length, (c ^ 0xffffffff) >>> 0);
      return out;
    }
    async function png(scale) {
      const width = Math.round(viewport.clientWidth * scale);
      const height = Math.round(viewport.clientHeight * scale);
      const k = view.k * scale;
      const PIECE = 2048;  // pixels a side of each piece drawn
      const deflate = new CompressionStream("deflate");
      const writer = deflate.writable.getWriter();
      const compressed = new Response(deflate.readable).arrayBuffer();
      const piece = document.createElement("canvas");
      for (let top = 0; top < height; top += PIECE) {
        const rows = Math.min(PIECE, height - top);
        const raw = new Uint8Array(rows * (width * 4 + 1));  // each row: filter 0, RGBA
        for (let left = 0; left < width; left += PIECE) {
          const across_ = Math.min(PIECE, width - left);
          piece.width = across_; piece.height = rows;
          const ctx = piece.getContext("2d", { willReadFrequently: true });
          ctx.fillStyle = "#ffffff";
          ctx.fillRect(0, 0, across_, rows);
          const x0 = view.x + left / k, y0 = view.y + top / k;
          ctx.setTransform(k, 0, 0, k, -x0 * k, -y0 * k);
          paint(ctx, x0, y0, x0 + across_ / k, y0 + rows / k, k);
          highlights(ctx, k);
          const pixels = ctx.getImageData(0, 0, across_, rows).data;
          for (let r = 0; r < rows; r += 1) {
            raw.set(pixels.subarray(r * across_ * 4, (r + 1) * across_ * 4),
              r * (width * 4 + 1) + 1 + left * 4);
          }
        }
        await writer.write(raw);
      }
      await writer.close();
      const head = new Uint8Array(13);
      const h = new DataView(head.buffer);
      h.setUint32(0, width); h.setUint32(4, height);
      head.set([8, 6, 0, 0, 0], 8);  // 8 bits, RGBA, deflate, no filter method, no interlace
      const signature = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
      const blob = new Blob([signature, chunk("IHDR", head),
        chunk("IDAT", new Uint8Array(await compressed)), chunk("IEND", new Uint8Array(0))],
      { type: "image/png" });
      const link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = `genealogy-view${scale > 1 ? `@${scale}x` : ""}.png`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      say(`Saved ${link.download} (${width} × ${height} px)`);
    }
    $("save-png").addEventListener("click", () => {
      png(Number($("png-scale").value) || 1).catch((error) => say(`PNG: ${error.message}`, true));
    });

    // What tests and scripts may ask the page: where a unit is drawn, what is shown.
    window.tracegraphViewer = {
      units: n,
      view: () => ({ ...view }),
      matches: () => matches.map(serial),
      selected: () => (selected >= 0 ? serial(selected) : null),
      screenBox(text) {  // the box showing the unit (its group's, if folded), in client pixels
        const u = exact.get(text);
        if (u === undefined) return null;
        const id = itemOf(u);
        if (id < 0) return null;
        const [x, y, w, h] = box(id);
        const r = viewport.getBoundingClientRect();
        return { x: r.left + (x - w / 2 - view.x) * view.k, y: r.top + (y - h / 2 - view.y) * view.k,
          width: w * view.k, height: h * view.k, group: id >= n };
      },
      handle(text) {  // where the collapse handle under a unit is, in client pixels
        const u = exact.get(text);
        const [x, y] = handleAt(u, view.k);
        const r = viewport.getBoundingClientRect();
        return { x: r.left + (x - view.x) * view.k, y: r.top + (y - view.y) * view.k };
      },
      shown(text) { const u = exact.get(text); return u !== undefined && itemOf(u) >= 0; },
    };
    fit();
    fromHash();
    requestAnimationFrame(() => {
      if (pending) render();
      document.body.dataset.ready = "true";
    });
  }

  load().then(start).catch((error) => {
    say(`The genealogy could not be read: ${error.message}`, true);
    document.body.dataset.ready = "error";
  });
})();
