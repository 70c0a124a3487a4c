// Potline view laid out as the potline: the cells in two rows (the line runs down one side of the potroom and back
// up the other), each coloured against the technology's FIXED operating band for the chosen signal, with a
// legend; click a cell for its page.
"use strict";

import { get } from "./api.js";
import { describe, esc, num, tile } from "./fmt.js";

const $ = (s) => document.querySelector(s);
export const SIGNALS = ["voltage_V", "alumina_wtpct", "superheat_degC", "bath_temp_measured_degC", "ledge_cm"];

// Zone of a value in a band: "alarm-low" | "warn-low" | "ok" | "warn-high" | "alarm-high" | "none"
export function zoneOf(v, band) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "none";
  if (!band) return "unrated";
  if (band.alarm_low !== null && v < band.alarm_low) return "alarm-low";
  if (band.alarm_high !== null && v >= band.alarm_high) return "alarm-high";
  if (band.ok_low !== null && v < band.ok_low) return "warn-low";
  if (band.ok_high !== null && v > band.ok_high) return "warn-high";
  return "ok";
}

const ZONE_TEXT = {
  "alarm-low": "below alarm limit", "warn-low": "below operating band", ok: "inside operating band",
  "warn-high": "above operating band", "alarm-high": "at or above alarm limit", none: "no value or stale", unrated: "no limits known",
};

export function legend(signal, band) {
  const d = describe(signal, band && band.unit);
  if (!band) {
    return `<div class="legend"><b>${esc(d.label)} (${esc(d.unit)})</b>: no fixed limits are known for this signal ` +
      `on this service (GET /v1/dashboard); cells are shown uncoloured.</div>`;
  }
  const f = (v) => (v === null ? null : `${num(v, 3)} ${esc(d.unit)}`);
  const items = [
    ["alarm-low", band.alarm_low !== null ? `&lt; ${f(band.alarm_low)}` : null],
    ["warn-low", band.ok_low !== null ? `${band.alarm_low !== null ? f(band.alarm_low) + " – " : "&lt; "}${f(band.ok_low)}` : null],
    ["ok", `${f(band.ok_low) ?? "…"} – ${f(band.ok_high) ?? "…"}`],
    ["warn-high", band.ok_high !== null ? `${f(band.ok_high)}${band.alarm_high !== null && band.alarm_high !== band.ok_high ? " – " + f(band.alarm_high) : " +"}` : null],
    ["alarm-high", band.alarm_high !== null ? `≥ ${f(band.alarm_high)}` : null],
    ["none", ""],
  ].filter(([, t]) => t !== null);
  return `<div class="legend"><b>${esc(d.label)} (${esc(d.unit)})</b> against fixed limits: ` +
    items.map(([z, t]) => `<span class="key"><i class="swatch z-${z}"></i>${ZONE_TEXT[z]} ${t}</span>`).join("") +
    `<div class="source">limits: ${esc(band.source)}</div></div>`;
}

// rows of pots: first half left to right, second half right to left (the return side)
export function layout(ids) {
  const half = Math.ceil(ids.length / 2);
  return [ids.slice(0, half), ids.slice(half).reverse()];
}

export async function renderPotline(line, signal, info, kpis) {
  const data = await get(`/v1/potlines/${encodeURIComponent(line)}/cells`);
  const ids = Object.keys(data.cells).sort();
  const band = info.limits[signal];
  const d = describe(signal, band && band.unit);
  const counts = {};
  const cell = (id) => {
    const c = data.cells[id];
    const v = c[signal];
    const z = c.anode_effect && signal === "voltage_V" ? "alarm-high" : c.stale ? "none" : zoneOf(v, band);
    counts[z] = (counts[z] || 0) + 1;
    const tip = `Cell ${id}: ${d.label} ${num(v, d.digits)} ${d.unit} (${ZONE_TEXT[z]})` + (c.anode_effect ? " · ANODE EFFECT" : "") +
      (c.stale ? " · stale" : "");
    return `<a class="pot z-${z}${c.anode_effect ? " ae" : ""}" href="#/cell/${esc(id)}" data-cell="${esc(id)}" data-zone="${z}" title="${esc(tip)}">` +
      `<span class="id">${esc(id.split("-")[1] || id)}</span><span class="v">${Number.isFinite(v) ? v.toFixed(Math.min(d.digits, 2)) : "–"}</span></a>`;
  };
  const [a, b] = layout(ids);
  // a plant-size line (hundreds of pots): small squares in wrapped rows per side, values in the tooltip
  $("#potrows").classList.toggle("dense", ids.length > 60);
  $("#potrows").innerHTML =
    `<div class="potrow" data-side="A"><span class="side">side A →</span>${a.map(cell).join("")}</div>` +
    `<div class="potrow" data-side="B"><span class="side">← side B</span>${b.map(cell).join("")}</div>`;
  $("#pot-legend").innerHTML = legend(signal, band);
  const ae = ids.filter((id) => data.cells[id].anode_effect);
  $("#pot-summary").innerHTML = `${ids.length} cells · ` +
    Object.entries(counts).map(([z, n]) => `${n} ${ZONE_TEXT[z]}`).join(" · ") +
    (ae.length ? ` · <b class="bad">anode effect: ${ae.map(esc).join(", ")}</b>` : " · no anode effects");
  const scope = kpis && kpis.scopes && kpis.scopes[`potline:${line}`];
  $("#pot-kpis").innerHTML = scope ? Object.entries(scope).map(([k, v]) => tile(k, v)).join("") : "";
}

export function signalOptions(sel, info) {
  sel.innerHTML = SIGNALS.map((s) => {
    const band = info.limits[s];
    const d = describe(s, band && band.unit);
    return `<option value="${s}">${esc(d.label)} (${esc(d.unit)})${band ? "" : " – no limits"}</option>`;
  }).join("");
}
