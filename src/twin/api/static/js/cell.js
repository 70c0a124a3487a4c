// Cell page: current values with units, trends of voltage, estimated alumina, superheat and ledge (with the fixed
// band shaded), and the cell's events and alarms.
"use strict";

import { get, optional } from "./api.js";
import { describe, esc, num, otherTime, time } from "./fmt.js";
import { draw, kpiSeries, sourceNote, tagSeries } from "./chart.js";
import { zoneOf } from "./potline.js";

const $ = (s) => document.querySelector(s);
const SHOWN = ["voltage_V", "alumina_wtpct", "superheat_degC", "ledge_cm", "temperature_degC", "bath_temp_measured_degC",
  "acd_cm", "line_current_kA", "metal_height_cm", "nis"];
const TRENDS = [
  { id: "voltage", signal: "voltage_V", tag: "cell_voltage_V", kpi: "voltage_V" },
  { id: "alumina", signal: "alumina_wtpct", kpi: "alumina_wtpct" },
  { id: "superheat", signal: "superheat_degC", kpi: "superheat_K", alt: "superheat_degC" },
  { id: "ledge", signal: "ledge_cm", kpi: "ledge_cm" },
];

export async function renderCell(id, info, range) {
  const line = id.split("-")[0];
  $("#cell-title").textContent = `Cell ${id}`;
  $("#cell-back").setAttribute("href", `#/potline/${line}`);
  const data = await get(`/v1/potlines/${encodeURIComponent(line)}/cells`);
  const c = data.cells[id];
  if (!c) {
    $("#cell-now").innerHTML = `<div class="empty">cell ${esc(id)} is not in potline ${esc(line)}'s live state</div>`;
    return;
  }
  $("#cell-now").innerHTML = SHOWN.filter((k) => k in c).map((k) => {
    const band = info.limits[k];
    const d = describe(k, band && band.unit);
    const z = zoneOf(c[k], band);
    const sd = k === "alumina_wtpct" && c.alumina_std_wtpct != null ? ` ± ${num(c.alumina_std_wtpct, 2)}` : "";
    return `<div class="tile z-${z}" data-kpi="${k}"><div class="label">${esc(d.label)}</div>` +
      `<div class="value">${num(c[k], d.digits)}${sd} <span class="unit">${esc(d.unit)}</span></div>` +
      `<div class="machine">${esc(k)}</div></div>`;
  }).join("") + (c.anode_effect ? `<div class="tile z-alarm-high"><div class="label">anode effect</div><div class="value">now</div></div>` : "") +
    ("ledge_cm" in c ? "" : `<div class="tile z-none"><div class="label">side ledge</div><div class="value">–</div>` +
      `<div class="machine">not estimated by the live twin</div></div>`);
  await Promise.all(TRENDS.map((t) => trend(id, t, info, range)));
  await events(id);
}

async function trend(id, t, info, range) {
  const holder = $(`#cell-${t.id}`);
  const note = $(`#cell-${t.id}-note`);
  const band = info.limits[t.signal];
  const d = describe(t.signal, band && band.unit);
  const width = holder.clientWidth || 500;
  let xs = [], ys = [], raw = true, bucketMs = 0, from = "";
  try {
    if (t.tag) {
      const s = await tagSeries(`cell:${id}/${t.tag}`, range, width);
      ({ xs, ys, raw, bucketMs } = s);
      from = `tag cell:${id}/${t.tag}`;
    }
  } catch (e) { /* tag not recorded here: fall back to the KPI history */ }
  if (!xs.length) {
    const names = t.alt ? [t.kpi, t.alt] : [t.kpi];
    const res = await kpiSeries(`cell:${id}`, names, range, width);
    const s = res.series[t.kpi].xs.length ? res.series[t.kpi] : res.series[t.alt || t.kpi];
    ({ xs, ys } = s);
    raw = res.raw; bucketMs = res.bucketMs;
    from = `KPI history cell:${id}`;
  }
  const limits = band ? [{ low: band.ok_low, high: band.ok_high }] : [];
  draw(holder, [{ name: t.signal, unit: d.unit, xs, ys }], { range, height: 180, bucketMs, limits });
  note.textContent = xs.length ? `${from} · ${range.label} · ${sourceNote(raw, bucketMs)}` +
    (band ? ` · shaded: operating band ${num(band.ok_low ?? NaN, 3)}–${num(band.ok_high ?? NaN, 3)} ${d.unit}` : "")
    : `${d.label}: nothing recorded for this cell in ${range.label}` + (t.signal === "ledge_cm" ? " (the live twin does not estimate the ledge)" : "");
}

async function events(id) {
  const asset = `cell:${id}`;
  const ev = await optional(`/v1/events?asset=${encodeURIComponent(asset)}&limit=50`);
  const al = await get(`/v1/alarms?asset=${encodeURIComponent(asset)}`);
  const rows = [];
  const listed = ev === null ? [] : Array.isArray(ev) ? ev : ev.events || ev.items || ev.data || [];
  for (const e of Array.isArray(listed) ? listed : []) {
    if (!e || typeof e !== "object") continue;
    const attrs = Object.entries(e.attributes || {}).map(([k, v]) => `${describe(k).label} ${num(v, 2)} ${describe(k).unit}`).join(", ");
    rows.push({ start: e.start ?? e.time, end: e.end ?? e.timeEnd, what: `${e.kind || e.title || "event"}${attrs ? ": " + attrs : ""}` });
  }
  for (const a of al.alarms) rows.push({ start: a.since, end: null, what: `alarm (${a.severity}, ${a.state}): ${a.reason}` });
  rows.sort((x, y) => Date.parse(y.start) - Date.parse(x.start));
  $("#cell-events").innerHTML = (ev === null ? `<tr><td colspan="3" class="muted">event frames: not served by this version (GET /v1/events answered 404); alarms only</td></tr>` : "") +
    (rows.length ? rows.map((r) => `<tr><td title="${esc(otherTime(r.start))}">${esc(time(r.start))}</td>` +
      `<td>${r.end ? esc(time(r.end)) : "–"}</td><td>${esc(r.what)}</td></tr>`).join("")
      : `<tr><td colspan="3" class="muted">no events or alarms for this cell</td></tr>`);
}
