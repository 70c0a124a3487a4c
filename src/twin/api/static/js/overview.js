// Plant overview: KPI tiles for the plant and every potline, the power balance (units, renewables, grid, potlines)
// with cost and CO2 now where the service reports them, and a KPI trend with a range picker.
"use strict";

import { get } from "./api.js";
import { describe, esc, num, tile } from "./fmt.js";
import { draw, kpiSeries, rangePicker, sourceNote } from "./chart.js";

const $ = (s) => document.querySelector(s);
let picker = null;
let range = null;
let loading = 0; // only the latest request draws (answers may arrive out of order)

export function renderKpis(snap) {
  const scopes = snap.scopes || {};
  const plant = scopes.plant || {};
  $("#plant-tiles").innerHTML = Object.entries(plant).map(([k, v]) => tile(k, v)).join("") ||
    `<div class="empty">no plant KPIs yet</div>`;
  const lines = Object.keys(scopes).filter((s) => s.startsWith("potline:")).sort();
  $("#potline-cards").innerHTML = lines.map((s) => {
    const n = s.slice(8);
    return `<a class="card" href="#/potline/${esc(n)}" data-potline="${esc(n)}"><h3>Potline ${esc(n)}</h3>` +
      `<div class="tiles small">${Object.entries(scopes[s]).map(([k, v]) => tile(k, v)).join("")}</div></a>`;
  }).join("") || `<div class="empty">no potlines reported yet</div>`;
  const sel = $("#trend-kpi");
  const want = Object.keys(plant).concat(lines.flatMap((s) => Object.keys(scopes[s]).map((k) => `${s}|${k}`)));
  if (sel.options.length !== want.length) {
    const keep = sel.value;
    sel.innerHTML = want.map((w) => {
      const [scope, name] = w.includes("|") ? w.split("|") : ["plant", w];
      const d = describe(name);
      return `<option value="${esc(scope)}|${esc(name)}">${esc(scope)} · ${esc(d.label)}${d.unit ? ` (${esc(d.unit)})` : ""}</option>`;
    }).join("");
    if (keep && want.some((w) => (w.includes("|") ? w : `plant|${w}`) === keep)) sel.value = keep;
    if (!keep) loadTrend();
  }
}

export function renderPower(p) {
  const units = Object.entries(p.units_MW || {});
  const renew = units.filter(([u]) => /renew|solar|wind|hydro/i.test(u));
  const thermal = units.filter(([u]) => !/renew|solar|wind|hydro/i.test(u));
  const max = Math.max(1, p.generation_MW + Math.max(p.grid_MW, 0), p.load_MW);
  const row = (label, v, cls, machine) =>
    `<div class="bar-row" data-row="${esc(machine)}"><span class="lbl">${esc(label)}<small>${esc(machine)}</small></span>` +
    `<div class="bar-track"><div class="bar ${cls}" style="width:${(100 * Math.abs(v)) / max}%"></div></div>` +
    `<span class="num">${num(v, 1)} MW</span></div>`;
  $("#power-balance").innerHTML =
    `<h4>supply</h4>` +
    thermal.map(([u, v]) => row(`unit ${u}`, v, "unit", `units_MW.${u}`)).join("") +
    renew.map(([u, v]) => row(`renewables ${u === "renewables" ? "" : u}`.trim(), v, "renew", `units_MW.${u}`)).join("") +
    row(p.grid_MW >= 0 ? "grid import" : "grid export", p.grid_MW, "grid", "grid_MW") +
    `<h4>load</h4>` +
    Object.entries(p.potlines_MW || {}).map(([l, v]) => row(`potline ${l}`, v, "load", `potlines_MW.${l}`)).join("") +
    `<div class="bar-row total"><span class="lbl">balance<small>imbalance_MW</small></span>` +
    `<span class="muted">generation ${num(p.generation_MW, 1)} + grid ${num(p.grid_MW, 1)} − load ${num(p.load_MW, 1)}</span>` +
    `<span class="num">${num(p.imbalance_MW, 1)} MW</span></div>`;
}

// Cost and CO2 now: from the plant KPIs if the service reports them.
export function renderCostCo2(snap) {
  const plant = (snap.scopes && snap.scopes.plant) || {};
  const pick = (re) => Object.entries(plant).filter(([k]) => re.test(k));
  const found = pick(/cost|tariff|price/i).concat(pick(/co2|carbon|emission/i));
  $("#cost-co2").innerHTML = found.length ? found.map(([k, v]) => tile(k, v)).join("")
    : `<div class="empty">cost and CO₂ are not reported by this service (no cost/CO₂ KPI in /v1/kpis)</div>`;
}

export async function loadTrend() {
  const sel = $("#trend-kpi");
  if (!sel.value || !range) return;
  const [scope, name] = sel.value.split("|");
  const holder = $("#trend");
  const width = holder.clientWidth || 600;
  const mine = ++loading;
  try {
    const res = await kpiSeries(scope, [name], range, width);
    if (mine !== loading) return;
    const d = describe(name);
    const s = res.series[name];
    const ys = name === "current_efficiency" ? s.ys.map((v) => (v == null ? v : 100 * v)) : s.ys;
    const counting = /alarms_active|anode_effects_active|cells_stale/.test(name);
    draw(holder, [{ name, unit: d.unit, xs: s.xs, ys, step: counting }], { range, bucketMs: res.bucketMs });
    $("#trend-note").textContent = `${scope} · ${d.label} (${name}) · ${range.label} · ${sourceNote(res.raw, res.bucketMs)}` +
      (counting && !res.raw ? " (a count averaged over each bucket: the mean number at a time)" : "");
  } catch (e) {
    if (mine === loading) holder.innerHTML = `<div class="empty">${esc(e.message)}</div>`;
  }
}

export function setupOverview() {
  picker = rangePicker($("#trend-range"), (r) => { range = r; loadTrend(); }, "hour");
  $("#trend-kpi").addEventListener("change", loadTrend);
  picker.refresh();
}

export function refreshTrendRange() {
  if (picker && picker.current !== "custom") picker.refresh();
}

export async function pollOverview() {
  renderPower(await get("/v1/power"));
}
