// One time format (ISO-8601, in UTC or in the plant's local time), number formats, and human labels with units
// beside the machine names.
"use strict";

export const clock = { mode: localStorage.getItem("twin-time-mode") || "utc", tz: null };

export function setTimeMode(mode) {
  clock.mode = mode === "local" ? "local" : "utc";
  localStorage.setItem("twin-time-mode", clock.mode);
}

export function zone() {
  return clock.mode === "utc" ? "UTC" : clock.tz || Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function parts(ms, tz) {
  const f = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23", timeZoneName: "longOffset",
  });
  const p = Object.fromEntries(f.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const off = p.timeZoneName === "GMT" ? "Z" : p.timeZoneName.replace("GMT", "");
  return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}:${p.second}`, off };
}

// ISO-8601 with the offset: 2026-03-01T12:00:05Z (UTC) or 2026-03-01T13:00:05+01:00 (local plant time).
export function time(value, mode = clock.mode) {
  const ms = typeof value === "number" ? value : Date.parse(value);
  if (!Number.isFinite(ms)) return "–";
  const p = parts(ms, mode === "utc" ? "UTC" : zone());
  return `${p.date}T${p.time}${mode === "utc" ? "Z" : p.off}`;
}

// A wall-clock time typed in the page's clock ("2026-03-01T13:00:05", as a datetime-local input gives it) → ms.
export function parseWall(text, mode = clock.mode) {
  const guess = Date.parse(`${text}Z`);
  if (!Number.isFinite(guess) || mode === "utc") return guess;
  const offsetAt = (ms) => {
    const p = parts(ms, zone());
    return Date.parse(`${p.date}T${p.time}Z`) - Math.floor(ms / 1000) * 1000;
  };
  const first = guess - offsetAt(guess);
  return guess - offsetAt(first); // twice: right across a daylight-saving change
}

// The other clock, for tooltips.
export function otherTime(value) {
  return time(value, clock.mode === "utc" ? "local" : "utc");
}

export function num(v, digits = 2) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return "–";
  return Number(v).toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

// machine name → [human label, unit, digits]
const KNOWN = {
  power_MW: ["plant power", "MW", 1],
  potlines_power_MW: ["potline power", "MW", 1],
  metal_t_per_day: ["metal production", "t/day", 1],
  specific_energy_kWh_per_t: ["specific energy", "kWh/t", 0],
  grid_MW: ["grid import", "MW", 1],
  alarms_active: ["active alarms", "", 0],
  line_current_kA: ["line current", "kA", 1],
  current_efficiency: ["current efficiency", "%", 2],
  anode_effects_per_day: ["anode effects", "per day", 2],
  anode_effects_active: ["cells in anode effect", "", 0],
  cells_stale: ["cells without fresh data", "", 0],
  voltage_V: ["cell voltage", "V", 3],
  voltage_mean_V: ["mean cell voltage", "V", 3],
  voltage_model_V: ["model cell voltage", "V", 3],
  cell_voltage_V: ["cell voltage", "V", 3],
  alumina_wtpct: ["estimated alumina", "wt%", 2],
  alumina_mean_wtpct: ["mean estimated alumina", "wt%", 2],
  alumina_std_wtpct: ["alumina uncertainty (1σ)", "wt%", 2],
  superheat_degC: ["superheat", "K", 1],
  superheat_K: ["superheat", "K", 1],
  superheat_mean_K: ["mean superheat", "K", 1],
  acd_cm: ["anode-cathode distance", "cm", 2],
  acd_mean_cm: ["mean anode-cathode distance", "cm", 2],
  temperature_degC: ["estimated bath temperature", "°C", 1],
  bath_temp_measured_degC: ["measured bath temperature", "°C", 1],
  ledge_cm: ["side ledge", "cm", 1],
  metal_height_cm: ["metal height", "cm", 1],
  pseudo_resistance_uohm: ["pseudo-resistance", "µΩ", 3],
  resistance_slope_nohm_per_min: ["resistance slope", "nΩ/min", 2],
  feed_efficiency: ["feed efficiency", "", 3],
  nis: ["model consistency (NIS)", "", 2],
  metal_t: ["metal produced", "t", 1],
  energy_MWh: ["energy", "MWh", 0],
  anode_effects: ["anode effects", "", 0],
  cost_per_h: ["energy cost", "per h", 0],
  co2_t_per_h: ["CO₂ emissions", "t/h", 2],
};

const SUFFIX = [
  ["_kWh_per_t", "kWh/t"], ["_t_per_day", "t/day"], ["_per_day", "per day"], ["_wtpct", "wt%"], ["_degC", "°C"],
  ["_MWh", "MWh"], ["_MW", "MW"], ["_kA", "kA"], ["_kW", "kW"], ["_mV", "mV"], ["_V", "V"], ["_cm", "cm"],
  ["_K", "K"], ["_kg", "kg"], ["_t", "t"], ["_h", "h"], ["_s", "s"], ["_pct", "%"], ["_mHz", "mHz"], ["_Hz", "Hz"],
];

export function describe(name, unitFromServer) {
  if (KNOWN[name]) {
    const [label, unit, digits] = KNOWN[name];
    return { name, label, unit: unitFromServer ?? unit, digits };
  }
  for (const [suffix, unit] of SUFFIX) {
    if (name.endsWith(suffix)) {
      return { name, label: name.slice(0, -suffix.length).replaceAll("_", " "), unit: unitFromServer ?? unit, digits: 2 };
    }
  }
  return { name, label: name.replaceAll("_", " "), unit: unitFromServer ?? "", digits: 3 };
}

// current_efficiency is a fraction in the API; shown in %.
export function scaled(name, v) {
  return name === "current_efficiency" && Number.isFinite(v) && v <= 1.0 ? 100 * v : v;
}

export function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// A tile: human label, value with unit, machine name below.
export function tile(name, value, unit) {
  const d = describe(name, unit);
  const v = scaled(name, value);
  return `<div class="tile" data-kpi="${esc(name)}"><div class="label">${esc(d.label)}</div>` +
    `<div class="value">${num(v, d.digits)} <span class="unit">${esc(d.unit)}</span></div>` +
    `<div class="machine">${esc(name)}</div></div>`;
}
