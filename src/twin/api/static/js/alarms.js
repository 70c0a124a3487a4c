// Alarm list: severity, asset, plain-language reason (the detector's own text beneath), time; acknowledge and
// shelve. The API has no acknowledge/shelve route yet, so both are kept in this browser (localStorage): they
// hide or mark alarms for this operator only, and say so on the page.
"use strict";

import { get } from "./api.js";
import { esc, otherTime, time } from "./fmt.js";

const $ = (s) => document.querySelector(s);
const KEY = "twin-alarm-actions";
const SEVERITY = { high: 3, medium: 2, low: 1 };

function actions() {
  try { return JSON.parse(localStorage.getItem(KEY) || "{}"); } catch (e) { return {}; }
}

function save(a) {
  localStorage.setItem(KEY, JSON.stringify(a));
}

const PLAIN = [
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
  const act = actions();
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
      `<td>${esc(a.state)}${acked && a.state !== "acknowledged" ? `<div class="machine">acknowledged here ${esc(time(s.ackAt))}</div>` : ""}` +
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

export function setupAlarms(rerender) {
  document.querySelector("#view-alarms").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-do]");
    if (!b) return;
    const id = b.closest("tr").dataset.alarm;
    const act = actions();
    const s = (act[id] = act[id] || {});
    if (b.dataset.do === "ack") s.ackAt = Date.now();
    if (b.dataset.do === "shelve") s.shelvedUntil = Date.now() + Number(b.dataset.h) * 3600e3;
    if (b.dataset.do === "unshelve") delete s.shelvedUntil;
    save(act);
    rerender();
  });
}
