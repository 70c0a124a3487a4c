// Advice view (#/advice): GET /v1/advice drawn as it is served. Per pot with advice: the cell (linked to its page),
// each advice item with its action and reason, and the forward check (without vs with the advice, over the
// advisor's horizon) as numbers with units; the pots at anode-effect risk with probability and horizon; "as of"
// in the page's time format. A server without an advisor (404) or not ready (503) gets a plain sentence.
"use strict";

import { get } from "./api.js";
import { clock, esc, num, otherTime, time } from "./fmt.js";

const $ = (s) => document.querySelector(s);

// advice kind → what the operator is asked to do, in plain words
const KIND = {
  alf3: ["AlF3 dose", "the bath chemistry: more AlF3 lowers the liquidus, so the pot runs cooler"],
  resistance_target: ["resistance target change", "the pot's heat input: its regulator holds this resistance"],
  feed: ["feeder check", "alumina that is fed but does not reach the bath"],
};

// forecast field → [label, unit, digits]
const FORECAST = [
  ["temperature_degC", "bath temperature at the end", "°C", 1],
  ["superheat_K", "superheat at the end", "K", 1],
  ["alumina_min_wtpct", "lowest alumina", "wt%", 2],
  ["anode_effects", "anode effects", "", 0],
  ["voltage_mean_V", "mean cell voltage", "V", 3],
  ["alf3_wtpct", "excess AlF3 at the end", "wt%", 2],
];

let shown = null; // the answer and clock last drawn: the page polls every 3 s and redraws only on a change

function cellLink(cell) {
  return `<a class="cell-link" href="#/cell/${encodeURIComponent(cell)}" data-cell="${esc(cell)}">cell ${esc(cell)}</a>`;
}

function item(a) {
  const [label, about] = KIND[a.kind] || [a.kind, ""];
  return `<li data-kind="${esc(a.kind)}"><span class="kind">${esc(label)}:</span> <strong class="action">${esc(a.action)}</strong>` +
    `<div class="reason">why: ${esc(a.reason)}</div>${about ? `<div class="muted">acts on ${esc(about)}</div>` : ""}</li>`;
}

function forecast(f, horizonH) {
  if (!f || !f.without || !f.with) return `<p class="muted">no forward check for this pot</p>`;
  const rows = FORECAST.filter(([k]) => k in f.without || k in f.with).map(([k, label, unit, digits]) => {
    const a = f.without[k], b = f.with[k];
    const d = Number.isFinite(a) && Number.isFinite(b) ? b - a : null;
    const sign = d !== null && d > 0 ? "+" : "";
    return `<tr data-field="${esc(k)}"><td>${esc(label)}${unit ? ` (${esc(unit)})` : ""}</td>` +
      `<td class="num without">${num(a, digits)}</td><td class="num with">${num(b, digits)}</td>` +
      `<td class="num">${d === null ? "–" : sign + num(d, digits)}</td></tr>`;
  }).join("");
  const verdict = f.improves ? `<span class="up">the check says the advice helps</span>`
    : `<span class="down">the check does not show the advice helping</span>`;
  return `<table class="forecast"><thead><tr><th>forward check, ${num(horizonH, 1)} h</th><th class="num">without advice</th>` +
    `<th class="num">with advice</th><th class="num">change</th></tr></thead><tbody>${rows}</tbody></table>` +
    `<div class="verdict">${verdict}</div>`;
}

function pot(p, horizonH) {
  const e = p.estimate || {};
  const now = `estimated now: ${num(e.temperature_degC, 1)} ± ${num(e.temperature_std_degC, 1)} °C, superheat ` +
    `${num(e.superheat_K, 1)} K, alumina ${num(e.alumina_wtpct, 2)} ± ${num(e.alumina_std_wtpct, 3)} wt%, feeder delivery ` +
    `${num(100 * e.feed_efficiency, 0)} %`;
  return `<div class="advice-pot" data-cell="${esc(p.cell)}"><h3>${cellLink(p.cell)} <small class="muted">potline ${esc(p.potline)}</small></h3>` +
    `<div class="muted">${esc(now)}</div><ul class="advice-items">${p.advice.map(item).join("")}</ul>` +
    `${forecast(p.forecast, horizonH)}</div>`;
}

function risk(r) {
  const within = r.horizon_s >= 120 ? `${num(r.horizon_s / 60, 0)} min` : `${num(r.horizon_s, 0)} s`;
  return `<tr data-cell="${esc(r.cell)}"><td>${cellLink(r.cell)}</td><td class="num prob">${num(100 * r.probability, 0)} %</td>` +
    `<td class="num horizon">within ${within}</td>` +
    `<td class="num alumina">${num(r.alumina_wtpct, 2)} ± ${num(r.alumina_std_wtpct, 3)} wt%</td></tr>`;
}

function message(text) {
  $("#advice-msg").textContent = text;
  $("#advice-msg").hidden = false;
  $("#advice-body").hidden = true;
  shown = null;
}

export async function renderAdvice() {
  let body;
  try {
    body = await get("/v1/advice");
  } catch (e) {
    if (e.status === 404) return message("This server gives no per-pot advice: it has no advisor over a live twin (GET /v1/advice answers 404).");
    if (e.status === 503) return message(`Advice is not available just now; the page tries again every few seconds. (${e.detail})`);
    throw e;
  }
  const key = JSON.stringify(body) + clock.mode + clock.tz;
  if (key === shown) return;
  shown = key;
  $("#advice-msg").hidden = true;
  $("#advice-body").hidden = false;
  const asOf = $("#advice-asof");
  asOf.textContent = `as of ${time(body.as_of)} · ${body.pots_checked} pots checked · forward check over ${num(body.horizon_h, 1)} h`;
  asOf.title = otherTime(body.as_of);
  const pots = body.pots || [];
  $("#advice-pots").innerHTML = pots.length ? pots.map((p) => pot(p, body.horizon_h)).join("")
    : `<p class="empty" id="advice-empty">All ${body.pots_checked} pots are within their rules: no advice.</p>`;
  const risks = body.ae_risk || [];
  $("#advice-risk").innerHTML = risks.length
    ? `<table class="risk"><thead><tr><th>cell</th><th class="num">probability</th><th class="num">horizon</th>` +
      `<th class="num">estimated alumina</th></tr></thead><tbody>${risks.map(risk).join("")}</tbody></table>`
    : `<p class="empty">No pot at risk of an anode effect.</p>`;
}
