// The collection map on a <canvas>: points coloured by group, hover, click, pan and zoom,
// and overlays (the current query with its hits, a point with its nearest neighbours).
// Hit-testing uses a uniform grid over the map, so hovering stays instant at 100k points.

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#8c6d31", "#843c39", "#7b4173",
  "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#9c9ede", "#e7ba52", "#d6616b",
  "#6baed6", "#fd8d3c", "#74c476", "#9e9ac8", "#969696", "#cedb9c", "#e7969c", "#de9ed6",
  "#a55194", "#b5cf6b", "#bd9e39", "#5254a3", "#6b6ecf", "#e7cb94", "#c7c7c7", "#17becf",
];
const NONE = "#c8c8c8";
const GRID = 64;
const PAD = 24;

export function colourOf(code) {
  return code < 0 ? NONE : PALETTE[code % PALETTE.length];
}

export class MapView {
  constructor(canvas, tooltip, legend, { onClick, onHover } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.tooltip = tooltip;
    this.legend = legend;
    this.onClick = onClick || (() => {});
    this.onHover = onHover || (() => {});
    this.data = null;
    this.groups = null;
    this.hidden = new Set();
    this.query = null; // {xy, hits: [{id, xy}]}
    this.selection = null; // {id, xy, neighbours: [{id, xy}]}
    this.view = { cx: 0.5, cy: 0.5, zoom: 1 };
    this.hover = -1;
    this.pending = false;
    this._listen();
    new ResizeObserver(() => this.redraw()).observe(canvas.parentElement);
  }

  setData(data) {
    this.data = data;
    this.hidden.clear();
    this.query = null;
    this.selection = null;
    this.hover = -1;
    this._index();
  }

  // colour by "cluster" or a metadata field of data.fields
  setColour(name) {
    const groups = name === "cluster" ? this.data.clusters : this.data.fields[name];
    const members = groups.names.map(() => []);
    const none = [];
    groups.codes.forEach((c, i) => (c < 0 ? none : members[c]).push(i));
    this.groups = { name, names: groups.names, codes: groups.codes, members, none };
    this.hidden.clear();
    this._legend();
    this.redraw();
  }

  setQuery(query) {
    this.query = query;
    this.redraw();
  }

  setSelection(selection) {
    this.selection = selection;
    this.redraw();
  }

  pointCount() {
    return this.data ? this.data.ids.length : 0;
  }

  indexOf(id) {
    return this.rowOf ? this.rowOf.get(id) ?? -1 : -1;
  }

  xyOf(row) {
    return [this.data.x[row], this.data.y[row]];
  }

  // --- geometry ---------------------------------------------------------------------------
  _scale() {
    const { width, height } = this.size;
    return (Math.min(width, height) - 2 * PAD) * this.view.zoom;
  }

  toScreen(x, y) {
    const s = this._scale();
    return [this.size.width / 2 + (x - this.view.cx) * s, this.size.height / 2 - (y - this.view.cy) * s];
  }

  toData(px, py) {
    const s = this._scale();
    return [this.view.cx + (px - this.size.width / 2) / s, this.view.cy - (py - this.size.height / 2) / s];
  }

  screenOf(row) {
    return this.toScreen(this.data.x[row], this.data.y[row]);
  }

  _index() {
    const { x, y, ids } = this.data;
    this.rowOf = new Map(ids.map((id, i) => [id, i]));
    const cells = Array.from({ length: GRID * GRID }, () => []);
    for (let i = 0; i < x.length; i++) {
      cells[this._cell(x[i], y[i])].push(i);
    }
    this.cells = cells;
  }

  _cell(x, y) {
    const cx = Math.min(GRID - 1, Math.max(0, Math.floor(x * GRID)));
    const cy = Math.min(GRID - 1, Math.max(0, Math.floor(y * GRID)));
    return cy * GRID + cx;
  }

  // the visible point nearest to screen position (px, py) within radius pixels, or -1
  nearest(px, py, radius = 8) {
    if (!this.data) return -1;
    const [x, y] = this.toData(px, py);
    const r = radius / this._scale();
    const lo = (v) => Math.max(0, Math.floor((v - r) * GRID));
    const hi = (v) => Math.min(GRID - 1, Math.floor((v + r) * GRID));
    let best = -1;
    let bestD = r * r;
    for (let gy = lo(y); gy <= hi(y); gy++) {
      for (let gx = lo(x); gx <= hi(x); gx++) {
        for (const i of this.cells[gy * GRID + gx]) {
          if (this._isHidden(i)) continue;
          const dx = this.data.x[i] - x;
          const dy = this.data.y[i] - y;
          const d = dx * dx + dy * dy;
          if (d <= bestD) {
            bestD = d;
            best = i;
          }
        }
      }
    }
    return best;
  }

  _isHidden(row) {
    return this.groups !== null && this.hidden.has(this.groups.codes[row]);
  }

  // --- view changes -----------------------------------------------------------------------
  zoomAt(px, py, factor) {
    const [x, y] = this.toData(px, py);
    this.view.zoom = Math.min(200, Math.max(0.5, this.view.zoom * factor));
    const [nx, ny] = this.toData(px, py);
    this.view.cx += x - nx;
    this.view.cy += y - ny;
    this.redraw();
  }

  pan(dxPixels, dyPixels) {
    const s = this._scale();
    this.view.cx -= dxPixels / s;
    this.view.cy += dyPixels / s;
    this.redraw();
  }

  reset() {
    this.view = { cx: 0.5, cy: 0.5, zoom: 1 };
    this.redraw();
  }

  // --- drawing ----------------------------------------------------------------------------
  redraw() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this._draw();
    });
  }

  _draw() {
    const box = this.canvas.parentElement.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    this.size = { width: box.width, height: box.height };
    if (this.canvas.width !== Math.round(box.width * ratio)) {
      this.canvas.width = Math.round(box.width * ratio);
    }
    if (this.canvas.height !== Math.round(box.height * ratio)) {
      this.canvas.height = Math.round(box.height * ratio);
    }
    const ctx = this.ctx;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, box.width, box.height);
    if (!this.data || !this.groups) return;
    const n = this.data.ids.length;
    const dim = this.query || this.selection;
    const base = n > 20000 ? 2 : n > 3000 ? 3 : 5;
    const size = Math.max(2, Math.min(9, base * Math.sqrt(this.view.zoom)));
    ctx.globalAlpha = dim ? 0.45 : 0.85;
    this._points(this.groups.none, NONE, size);
    this.groups.members.forEach((rows, code) => {
      if (!this.hidden.has(code)) this._points(rows, colourOf(code), size);
    });
    ctx.globalAlpha = 1;
    if (this.groups.name === "cluster") this._clusterLabels();
    if (this.selection) this._selection();
    if (this.query) this._query();
    if (this.hover >= 0) this._ring(...this.screenOf(this.hover), size + 3, "#111", 2);
  }

  _points(rows, colour, size) {
    const ctx = this.ctx;
    const { x, y } = this.data;
    const s = this._scale();
    const ox = this.size.width / 2 - this.view.cx * s;
    const oy = this.size.height / 2 + this.view.cy * s;
    const h = size / 2;
    ctx.fillStyle = colour;
    for (const i of rows) {
      ctx.fillRect(ox + x[i] * s - h, oy - y[i] * s - h, size, size);
    }
  }

  _clusterLabels() {
    const ctx = this.ctx;
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.lineJoin = "round";
    this.groups.members.forEach((rows, code) => {
      if (rows.length === 0 || this.hidden.has(code)) return;
      const xs = rows.map((i) => this.data.x[i]).sort((a, b) => a - b);
      const ys = rows.map((i) => this.data.y[i]).sort((a, b) => a - b);
      const [px, py] = this.toScreen(xs[xs.length >> 1], ys[ys.length >> 1]);
      const label = this.groups.names[code];
      ctx.lineWidth = 4;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.strokeText(label, px, py);
      ctx.fillStyle = "#222";
      ctx.fillText(label, px, py);
    });
  }

  _ring(px, py, r, colour, width) {
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.arc(px, py, r, 0, 2 * Math.PI);
    ctx.lineWidth = width;
    ctx.strokeStyle = colour;
    ctx.stroke();
  }

  _dot(px, py, r, fill) {
    const ctx = this.ctx;
    ctx.beginPath();
    ctx.arc(px, py, r, 0, 2 * Math.PI);
    ctx.fillStyle = fill;
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#111";
    ctx.stroke();
  }

  _lines(from, points, colour) {
    const ctx = this.ctx;
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const p of points) {
      ctx.moveTo(...from);
      ctx.lineTo(...this.toScreen(...p.xy));
    }
    ctx.stroke();
  }

  _numbered(points, fill) {
    const ctx = this.ctx;
    points.forEach((p, rank) => {
      const [px, py] = this.toScreen(...p.xy);
      this._dot(px, py, 6, fill);
      if (rank < 20) {
        ctx.font = "600 11px system-ui, sans-serif";
        ctx.textAlign = "left";
        ctx.lineWidth = 3;
        ctx.strokeStyle = "#fff";
        ctx.strokeText(String(rank + 1), px + 8, py - 6);
        ctx.fillStyle = "#111";
        ctx.fillText(String(rank + 1), px + 8, py - 6);
      }
    });
  }

  _query() {
    const { xy, hits } = this.query;
    const hitFill = "#ffd400";
    if (xy) this._lines(this.toScreen(...xy), hits, "rgba(0,0,0,0.45)");
    this._numbered(hits, hitFill);
    if (xy) this._star(...this.toScreen(...xy));
  }

  _selection() {
    const { xy, neighbours } = this.selection;
    const from = this.toScreen(...xy);
    this._lines(from, neighbours, "rgba(200,0,90,0.55)");
    this._numbered(neighbours, "#ff4fa3");
    this._ring(...from, 9, "#c8005a", 3);
  }

  _star(px, py) {
    const ctx = this.ctx;
    ctx.beginPath();
    for (let i = 0; i < 10; i++) {
      const r = i % 2 ? 5 : 12;
      const a = (Math.PI / 5) * i - Math.PI / 2;
      ctx.lineTo(px + r * Math.cos(a), py + r * Math.sin(a));
    }
    ctx.closePath();
    ctx.fillStyle = "#111";
    ctx.fill();
    ctx.lineWidth = 2;
    ctx.strokeStyle = "#fff";
    ctx.stroke();
  }

  // --- legend and tooltip -----------------------------------------------------------------
  _legend() {
    this.legend.replaceChildren();
    this.groups.names.forEach((name, code) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.title = "Show or hide this group";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colourOf(code);
      const label = document.createElement("span");
      label.textContent = `${name} (${this.groups.members[code].length})`;
      button.append(swatch, label);
      button.addEventListener("click", () => {
        if (this.hidden.has(code)) this.hidden.delete(code);
        else this.hidden.add(code);
        item.classList.toggle("off", this.hidden.has(code));
        this.redraw();
      });
      item.append(button);
      this.legend.append(item);
    });
  }

  _showTooltip(row, px, py) {
    const tip = this.tooltip;
    if (row < 0) {
      tip.hidden = true;
      return;
    }
    const group = this.groups.codes[row];
    tip.replaceChildren();
    const head = document.createElement("div");
    head.className = "tip-head";
    head.textContent = `${this.data.ids[row]}${group >= 0 ? " · " + this.groups.names[group] : ""}`;
    const body = document.createElement("div");
    body.textContent = this.data.snippets[row];
    tip.append(head, body);
    tip.hidden = false;
    const box = this.canvas.parentElement.getBoundingClientRect();
    const left = Math.min(px + 14, box.width - tip.offsetWidth - 4);
    const top = py + 14 + tip.offsetHeight > box.height ? py - tip.offsetHeight - 10 : py + 14;
    tip.style.left = `${Math.max(4, left)}px`;
    tip.style.top = `${Math.max(4, top)}px`;
  }

  // --- input ------------------------------------------------------------------------------
  _listen() {
    const canvas = this.canvas;
    let drag = null;
    const local = (e) => {
      const r = canvas.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    canvas.addEventListener("mousedown", (e) => {
      drag = { start: local(e), last: local(e), moved: false };
    });
    window.addEventListener("mouseup", (e) => {
      if (!drag) return;
      const wasDrag = drag.moved;
      drag = null;
      if (!wasDrag && e.target === canvas) {
        const row = this.nearest(...local(e));
        if (row >= 0) this.onClick(row);
      }
    });
    canvas.addEventListener("mousemove", (e) => {
      const [px, py] = local(e);
      if (drag) {
        const [sx, sy] = drag.start;
        if (Math.abs(px - sx) + Math.abs(py - sy) > 4) drag.moved = true;
        if (drag.moved) {
          this.pan(px - drag.last[0], py - drag.last[1]);
          drag.last = [px, py];
          return;
        }
      }
      const row = this.nearest(px, py);
      if (row !== this.hover) {
        this.hover = row;
        this.onHover(row);
        this.redraw();
      }
      this._showTooltip(row, px, py);
    });
    canvas.addEventListener("mouseleave", () => {
      this.hover = -1;
      this.tooltip.hidden = true;
      this.redraw();
    });
    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.zoomAt(...local(e), Math.exp(-e.deltaY * 0.0015));
      },
      { passive: false },
    );
    canvas.addEventListener("keydown", (e) => {
      const step = 40;
      const moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) this.pan(...moves[e.key]);
      else if (e.key === "+" || e.key === "=") this.zoomAt(this.size.width / 2, this.size.height / 2, 1.25);
      else if (e.key === "-") this.zoomAt(this.size.width / 2, this.size.height / 2, 0.8);
      else if (e.key === "0") this.reset();
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
  }
}
