// Time-series charts on uPlot (vendored): UTC or local plant time axis, units on the y axis, gaps drawn as gaps,
// and a range picker (last hour, shift, day, week, custom) that chooses raw points or bucket averages.
/* global uPlot */
"use strict";

import { get } from "./api.js";
import { describe, esc, parseWall, time, zone } from "./fmt.js";

export const RANGES = { hour: 3600e3, shift: 8 * 3600e3, day: 86400e3, week: 7 * 86400e3 };
export const RAW_MAX_MS = RANGES.hour; // up to an hour: raw samples; longer: bucket averages
const COLOURS = ["#1f6fb2", "#e07b00", "#2a9d55", "#b53b8f", "#6b5b3e"];

// A range picker bound to a container; calls onChange({start, end, label}) in ms.
export function rangePicker(root, onChange, initial = "hour") {
  root.classList.add("range");
  root.innerHTML =
    Object.keys(RANGES).map((k) => `<button type="button" data-range="${k}">last ${k}</button>`).join("") +
    `<button type="button" data-range="custom">custom</button>` +
    `<span class="custom" hidden><input type="datetime-local" step="1" class="from" aria-label="from">` +
    `<span>to</span><input type="datetime-local" step="1" class="to" aria-label="to">` +
    `<button type="button" class="apply">show</button></span>`;
  const custom = root.querySelector(".custom");
  let current = initial;
  const fire = () => {
    root.querySelectorAll("button[data-range]").forEach((b) => b.classList.toggle("on", b.dataset.range === current));
    if (current === "custom") return;
    const end = Date.now();
    onChange({ start: end - RANGES[current], end, label: `last ${current}` });
  };
  root.addEventListener("click", (ev) => {
    const b = ev.target.closest("button");
    if (!b) return;
    if (b.dataset.range) {
      current = b.dataset.range;
      custom.hidden = current !== "custom";
      fire();
    } else if (b.classList.contains("apply")) {
      // custom times are read in the clock the page shows (UTC or the plant's local time)
      const read = (el) => parseWall(el.value);
      const start = read(custom.querySelector(".from")), end = read(custom.querySelector(".to"));
      if (Number.isFinite(start) && Number.isFinite(end) && end > start) {
        onChange({ start, end, label: `${time(start)} – ${time(end)}` });
      }
    }
  });
  return { refresh: fire, get current() { return current; } };
}

// Insert a null between two points further apart than `gapMs` so the line breaks there.
export function withGaps(xs, ys, gapMs) {
  const ox = [], oy = [];
  for (let i = 0; i < xs.length; i++) {
    if (i > 0 && xs[i] - xs[i - 1] > gapMs) { ox.push((xs[i] + xs[i - 1]) / 2); oy.push(null); }
    ox.push(xs[i]);
    oy.push(ys[i] ?? null);
  }
  return [ox, oy];
}

function spacing(xs) {
  const d = [];
  for (let i = 1; i < xs.length; i++) d.push(xs[i] - xs[i - 1]);
  return median(d);
}

function median(a) {
  if (!a.length) return 0;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
}

// Gap threshold: three typical spacings (or the bucket width for averages).
export function gapFor(xs, bucketMs) {
  return 3 * Math.max(bucketMs || 0, spacing(xs));
}

// KPI history of one scope: raw for short ranges, else averages into ~width/2 buckets.
export async function kpiSeries(scope, names, range, width) {
  const raw = range.end - range.start <= RAW_MAX_MS;
  const q = new URLSearchParams({ start: new Date(range.start).toISOString(), end: new Date(range.end).toISOString() });
  names.forEach((n) => q.append("names", n));
  if (!raw) q.set("max_points", String(Math.max(50, Math.floor(width / 2))));
  let h;
  try {
    h = await get(`/v1/kpis/${encodeURIComponent(scope)}/history?${q}`);
  } catch (e) { // 404: none of these KPIs exists for this scope (e.g. the ledge of a live-twin cell): no series
    if (e.status !== 404) throw e;
    h = { series: {} };
  }
  let bucketMs = raw ? 0 : (range.end - range.start) / Math.max(50, Math.floor(width / 2));
  const out = {};
  for (const n of names) {
    const s = h.series && h.series[n];
    if (!s) { out[n] = { xs: [], ys: [] }; continue; }
    // rows of {ts, value} or parallel arrays {ts: [], value: []}
    const rows = Array.isArray(s) ? s : s.ts.map((t, i) => ({ ts: t, value: s.value[i] }));
    out[n] = { xs: rows.map((r) => Date.parse(r.ts ?? r.time)), ys: rows.map((r) => r.value) };
    // the store rounds the bucket width; the answer's own spacing says what it chose
    if (!raw) bucketMs = Math.max(bucketMs, spacing(out[n].xs));
  }
  return { series: out, raw, bucketMs };
}

// One tag: recorded values for short ranges (first page), time-weighted bucket averages for long ones.
export async function tagSeries(tag, range, width) {
  const raw = range.end - range.start <= RAW_MAX_MS;
  const q = new URLSearchParams({ start: new Date(range.start).toISOString(), end: new Date(range.end).toISOString() });
  const path = `/v1/tags/${tag.split("/").map(encodeURIComponent).join("/")}`;
  if (raw) {
    q.set("limit", "5000");
    const r = await get(`${path}/recorded?${q}`);
    const pts = r.points.filter((p) => p.quality === undefined || p.quality === "good" || p.quality === 192 || typeof p.quality !== "string" || p.quality.startsWith("good"));
    return { xs: pts.map((p) => Date.parse(p.ts ?? p.time)), ys: pts.map((p) => p.value), raw, bucketMs: 0, truncated: r.truncated };
  }
  q.set("max_points", String(Math.max(50, Math.floor(width / 2))));
  q.append("agg", "avg");
  const r = await get(`${path}/aggregate?${q}`);
  return {
    xs: r.buckets.map((b) => Date.parse(b.ts ?? b.time)), ys: r.buckets.map((b) => b.avg), raw,
    bucketMs: (r.bucket_s || 0) * 1000, source: r.source,
  };
}

function fmtBucket(ms) {
  if (!ms) return "";
  const s = ms / 1000;
  return s < 120 ? `${Math.round(s)} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

// The note under a chart saying what is drawn.
export function sourceNote(raw, bucketMs) {
  return raw ? "raw samples" : `bucket averages (one point per ~${fmtBucket(bucketMs)})`;
}

// Draw (or redraw) a time chart. series: [{name, unit, xs, ys, label?, step?}], all in ms; x axis in the page clock.
export function draw(holder, series, { range, height = 220, bucketMs = 0, limits = [] } = {}) {
  if (holder._plot) { holder._plot.destroy(); holder._plot = null; }
  holder.innerHTML = "";
  const withData = series.filter((s) => s.xs.length);
  if (!withData.length) {
    holder.innerHTML = `<div class="empty">no data in this range</div>`;
    return null;
  }
  // one shared x: the union of all series' times (ms → s for uPlot)
  const lines = withData.map((s) => withGaps(s.xs, s.ys, gapFor(s.xs, bucketMs)));
  const xsAll = [...new Set(lines.flatMap(([x]) => x))].sort((a, b) => a - b);
  const idx = new Map(xsAll.map((x, i) => [x, i]));
  const ys = lines.map(([x, y]) => {
    const col = new Array(xsAll.length).fill(undefined);
    x.forEach((t, i) => { col[idx.get(t)] = y[i]; });
    return col; // undefined: no sample at this x (joined across), null: a gap (broken line)
  });
  const units = [...new Set(withData.map((s) => s.unit || ""))];
  const tz = zone();
  const width = Math.max(200, holder.clientWidth || 600);
  // scale with the page's font size (it grows on a wall screen) and the window's height
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 14;
  const font = `${Math.round(rem * 0.8)}px system-ui, sans-serif`;
  const labelFont = `600 ${Math.round(rem * 0.8)}px system-ui, sans-serif`;
  height = Math.max(height, Math.round(Math.min(window.innerHeight * 0.3, width * 0.4)));
  const opts = {
    width, height,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), tz === "UTC" ? "Etc/UTC" : tz),
    scales: { x: { time: true, min: range ? range.start / 1e3 : undefined, max: range ? range.end / 1e3 : undefined } },
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    axes: [
      { label: `time (${tz === "UTC" ? "UTC" : "local, " + tz})`, stroke: "#55606b", grid: { stroke: "#eef1f4" },
        values: isoTicks, size: rem * 3.2, font, labelFont, labelSize: rem * 1.4 },
      { label: units.join(", "), stroke: "#55606b", grid: { stroke: "#eef1f4" }, size: rem * 4.5, font, labelFont, labelSize: rem * 1.4 },
    ],
    series: [
      { value: (u, v) => (v == null ? "–" : time(v * 1e3)) },
      ...withData.map((s, i) => {
        const d = describe(s.name, s.unit);
        return {
          label: `${s.label || d.label} (${s.unit ?? d.unit})`,
          stroke: s.colour || COLOURS[i % COLOURS.length],
          width: (s.width || 1.5) * Math.max(1, rem / 16),
          dash: s.dash,
          spanGaps: false,
          paths: s.step ? uPlot.paths.stepped({ align: 1 }) : undefined,
          points: { show: s.xs.length < 60 },
          value: (u, v) => (v == null ? "–" : `${Number(v).toLocaleString("en-GB", { maximumFractionDigits: d.digits })} ${s.unit ?? d.unit}`),
        };
      }),
    ],
    hooks: limits.length ? { drawClear: [(u) => shadeLimits(u, limits)] } : {},
  };
  // uPlot draws a gap at null and joins over undefined (another series' sample time)
  const data = [xsAll.map((x) => x / 1e3), ...ys];
  holder._plot = new uPlot(opts, data, holder);
  if (!holder._resize) { // follow the panel's width (window resized, wall screen)
    holder._resize = new ResizeObserver(() => {
      const p = holder._plot;
      if (p && Math.abs(p.width - holder.clientWidth) > 4) p.setSize({ width: holder.clientWidth, height: p.height });
    });
    holder._resize.observe(holder);
  }
  return holder._plot;
}

// Tick labels in the page's one time format: HH:MM, with the ISO date under the first tick of each day.
function isoTicks(u, splits) {
  let day = null;
  return splits.map((s) => {
    const iso = time(s * 1e3);
    const label = iso.slice(11, 16);
    if (iso.slice(0, 10) === day) return label;
    day = iso.slice(0, 10);
    return `${label}\n${day}`;
  });
}

// Shade the band between the ok limits of a signal on the chart background.
function shadeLimits(u, limits) {
  const ctx = u.ctx;
  for (const { low, high, colour } of limits) {
    const top = u.bbox.top, bottom = u.bbox.top + u.bbox.height;
    const clamp = (y) => Math.min(bottom, Math.max(top, y));
    const y0 = clamp(u.valToPos(high ?? u.scales.y.max, "y", true)), y1 = clamp(u.valToPos(low ?? u.scales.y.min, "y", true));
    ctx.fillStyle = colour || "rgba(42,157,85,0.08)";
    ctx.fillRect(u.bbox.left, Math.min(y0, y1), u.bbox.width, Math.abs(y1 - y0));
  }
}

export function caption(el, text) {
  el.innerHTML = esc(text);
}
