// Alarm list: severity, asset, plain-language reason (the detector's own text beneath), time; acknowledge and
// shelve through /v1/alarms/{id}/acknowledge and /shelve (shared by every operator). On a server without those
// routes both are kept in this browser (localStorage) for this operator only, and the page says so.
"use strict";

import { ApiError, get, headers, optional, post } from "./api.js";
import { esc, otherTime, time } from "./fmt.js";

const $ = (s) => document.querySelector(s);
const KEY = "twin-alarm-actions";
const SEVERITY = { high: 3, medium: 2, low: 1 };

let serverSide = null; // null: not yet known; true: the API keeps the actions; false: this browser does

function local() {
  try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
}

// {id: {ackAt, ackBy, shelvedUntil}} in ms, from the server or this browser
async function actions() {
  const served = await optional("/v1/alarms/actions");
  serverSide = served !== null;
  if (!serverSide) return local();
  const out = {};
  for (const [id, a] of Object.entries(served.actions)) {
    out[id] = { ackAt: a.acknowledged_at ? Date.parse(a.acknowledged_at) : null, ackBy: a.acknowledged_by,
      shelvedUntil: a.shelved_until ? Date.parse(a.shelved_until) : null };
  }
  return out;
}

async function act(id, what, hours) {
  const path = `/v1/alarms/${encodeURIComponent(id)}`;
  if (serverSide) {
    if (what === "ack") return post(`${path}/acknowledge`, {});
    if (what === "shelve") return post(`${path}/shelve?hours=${hours}`, {});
    const r = await fetch(`${path}/shelve`, { method: "DELETE", headers: headers() });
    if (!r.ok) throw new ApiError(r.status, r.statusText);
    return r.json();
  }
  const a = local();
  const s = (a[id] = a[id] || {});
  if (what === "ack") s.ackAt = Date.now();
  if (what === "shelve") s.shelvedUntil = Date.now() + hours * 3600e3;
  if (what === "unshelve") delete s.shelvedUntil;
  localStorage.setItem(KEY, JSON.stringify(a));
  return s;
}

const PLAIN = [
  [/PLC holds|no read-back/i, "A setpoint written to the pot controller did not take effect: it kept another value or did not answer"],
  [/anode effect/i, "Anode effect: the cell voltage has jumped because the bath ran short of alumina"],
  [/diverge|NIS/i, "The cell's measurements no longer match what the model expects; check the sensors and the cell"],
  [/stuck|not chang|frozen value/i, "A sensor reading has stopped changing"],
  [/feeder/i, "An alumina feeder may be blocked: the cell is taking less alumina than it is fed"],
  [/anode/i, "Possible anode problem (uneven current or a spike)"],
  [/superheat/i, "Superheat outside its operating band"],
  [/sensor|fault|quality/i, "A sensor reports bad or missing values"],
  [/stale|no data/i, "No fresh data from this cell"],
];

export function plain(reason) {
  for (const [re, text] of PLAIN) if (re.test(reason || "")) return text;
  return reason || "alarm";
}

export async function renderAlarms(showCleared) {
  const { alarms } = await get("/v1/alarms");
  const act = await actions();
  document.querySelector("#alarm-where").textContent = serverSide
    ? "Acknowledge and shelve are kept by the server and shared by every operator (they need a key with the run scope)."
    : "Acknowledge and shelve are kept in this browser only (this server has no acknowledge route).";
  const now = Date.now();
  const shelved = [], shown = [];
  for (const a of alarms) {
    const s = act[a.id] || {};
    if (s.shelvedUntil && s.shelvedUntil > now) shelved.push(a);
    else if (showCleared || a.state !== "cleared") shown.push(a);
  }
  const rank = (a) => (a.state === "active" ? 10 : 0) + (SEVERITY[a.severity] || 0) - (act[a.id] && act[a.id].ackAt ? 5 : 0);
  shown.sort((x, y) => rank(y) - rank(x) || Date.parse(y.since) - Date.parse(x.since));
  const row = (a, isShelved) => {
    const s = act[a.id] || {};
    const acked = a.state === "acknowledged" || Boolean(s.ackAt);
    const line = (a.asset || "").match(/^cell:(\d+)-/);
    const assetLink = a.asset && a.asset.startsWith("cell:") ? `#/cell/${a.asset.slice(5)}` : line ? `#/potline/${line[1]}` :
      a.asset && a.asset.startsWith("potline:") ? `#/potline/${a.asset.slice(8)}` : null;
    return `<tr class="sev-${esc(a.severity)} st-${esc(a.state)}${acked ? " acked" : ""}" data-alarm="${esc(a.id)}">` +
      `<td><span class="sev">${esc(a.severity)}</span></td>` +
      `<td>${assetLink ? `<a href="${assetLink}">${esc(a.asset)}</a>` : esc(a.asset)}</td>` +
      `<td><div class="plain">${esc(plain(a.reason))}</div><div class="machine">${esc(a.reason)}</div></td>` +
      `<td title="${esc(otherTime(a.since))}">${esc(time(a.since))}</td>` +
      `<td>${esc(a.state)}${acked && a.state !== "acknowledged" ? `<div class="machine">acknowledged ${s.ackBy ? "by key " + esc(s.ackBy) : "in this browser"} ${esc(time(s.ackAt))}</div>` : ""}` +
      `${isShelved ? `<div class="machine">shelved until ${esc(time(s.shelvedUntil))}</div>` : ""}</td>` +
      `<td class="act">${isShelved ? `<button type="button" data-do="unshelve">unshelve</button>` :
        `${acked || a.state === "cleared" ? "" : `<button type="button" data-do="ack">acknowledge</button>`}` +
        `<button type="button" data-do="shelve" data-h="1">shelve 1 h</button><button type="button" data-do="shelve" data-h="8">shelve 8 h</button>`}</td></tr>`;
  };
  $("#alarm-rows").innerHTML = shown.length ? shown.map((a) => row(a, false)).join("")
    : `<tr><td colspan="6" class="muted">no ${showCleared ? "" : "active "}alarms</td></tr>`;
  $("#alarm-shelved").innerHTML = shelved.map((a) => row(a, true)).join("");
  $("#alarm-shelved-count").textContent = String(shelved.length);
  const active = alarms.filter((a) => a.state === "active").length;
  const badge = $("#nav-alarm-count");
  badge.textContent = active ? String(active) : "";
  badge.hidden = !active;
}

export function setupAlarms(rerender, report) {
  document.querySelector("#view-alarms").addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-do]");
    if (!b) return;
    try {
      await act(b.closest("tr").dataset.alarm, b.dataset.do, Number(b.dataset.h));
    } catch (e) {
      report(e);
    }
    rerender();
  });
}
