// Smelter Twin dashboard: views chosen by the URL hash (#/, #/potline/1, #/cell/1-017, #/alarms, #/whatif,
// #/advice);
// KPIs follow the SSE stream, the rest polls every few seconds with If-None-Match (unchanged answers cost a 304).
"use strict";

import { get, optional, session, setKey, stream } from "./api.js";
import { clock, esc, num, otherTime, setTimeMode, time } from "./fmt.js";
import { rangePicker } from "./chart.js";
import { loadTrend, pollOverview, refreshTrendRange, renderCostCo2, renderKpis, setupOverview } from "./overview.js";
import { renderPotline, signalOptions } from "./potline.js";
import { renderCell } from "./cell.js";
import { renderAlarms, setupAlarms } from "./alarms.js";
import { renderJobs, setupWhatIf } from "./whatif.js";
import { renderAdvice } from "./advice.js";

const $ = (s) => document.querySelector(s);
const page = { info: { speed: 1, timezone: null, technology: null, limits: {} }, kpis: null, asOf: null, view: "overview",
  arg: null, cellRange: null, showCleared: false, selectedJob: null };

function setStatus(text, cls) {
  const el = $("#status");
  el.textContent = text;
  el.className = "status " + (cls || "");
}

function report(e) {
  setStatus(e.status === 401 || e.status === 403 ? "enter an API key with the read scope" : "error: " + e.message, "err");
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  const view = { "": "overview", potline: "potline", cell: "cell", alarms: "alarms", whatif: "whatif", advice: "advice" }[parts[0]] || "overview";
  page.view = view;
  page.arg = parts[1] ? decodeURIComponent(parts[1]) : null;
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== `view-${view}`; });
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("on", a.dataset.view === view));
  refresh(true);
}

function showClock() {
  $("#time-mode").querySelectorAll("button").forEach((b) => b.classList.toggle("on", b.dataset.mode === clock.mode));
  if (page.asOf) {
    setStatus(`live · as of ${time(page.asOf)}`, "ok");
    $("#status").title = otherTime(page.asOf);
  }
}

function onKpis(snap) {
  page.kpis = snap;
  page.asOf = snap.as_of;
  showClock();
  if (page.view === "overview") { renderKpis(snap); renderCostCo2(snap); }
}

function liveCurrent() {
  const scopes = (page.kpis && page.kpis.scopes) || {};
  const lines = Object.keys(scopes).filter((s) => s.startsWith("potline:"));
  return lines.length ? scopes[lines[0]].line_current_kA : null;
}

async function potlineChoices() {
  const p = await get("/v1/power");
  const fromPower = Object.keys(p.potlines_MW || {});
  const fromKpis = Object.keys((page.kpis && page.kpis.scopes) || {}).filter((s) => s.startsWith("potline:")).map((s) => s.slice(8));
  return [...new Set(fromPower.concat(fromKpis))].sort();
}

async function refresh(full) {
  try {
    if (page.view === "overview") {
      await pollOverview();
      if (page.kpis) { renderKpis(page.kpis); renderCostCo2(page.kpis); }
    } else if (page.view === "potline") {
      const lines = await potlineChoices();
      const sel = $("#pot-line");
      if (sel.options.length !== lines.length) sel.innerHTML = lines.map((l) => `<option value="${esc(l)}">potline ${esc(l)}</option>`).join("");
      if (page.arg && lines.includes(page.arg)) sel.value = page.arg;
      if (sel.value) await renderPotline(sel.value, $("#pot-signal").value, page.info, page.kpis);
    } else if (page.view === "cell" && page.arg) {
      // drawn on arrival, on a range change and every 30 s (four charts: not on every 3 s poll)
      if ((full || Date.now() - (page.cellDrawn || 0) > 30e3) && page.cellRange) {
        page.cellDrawn = Date.now();
        await renderCell(page.arg, page.info, page.cellRange);
      }
    } else if (page.view === "whatif") {
      page.whatIfLive();
      await renderJobs(page.selectedJob);
    } else if (page.view === "advice") {
      await renderAdvice();
    }
    if (page.view === "alarms" || full) await renderAlarms(page.showCleared);
  } catch (e) {
    report(e);
  }
}

async function loadInfo() {
  const info = await optional("/v1/dashboard");
  if (info) page.info = info;
  clock.tz = page.info.timezone;
  const speed = Number(page.info.speed) || 1;
  const badge = $("#speed");
  badge.hidden = speed === 1;
  badge.textContent = `demo runs at ${num(speed, 1)}× speed`;
  badge.title = `1 s on screen is ${num(speed, 1)} s of plant time`;
  $("#tech").textContent = page.info.technology ? `technology ${page.info.technology}` : "no technology limits configured";
  signalOptions($("#pot-signal"), page.info);
}

function start() {
  $("#api-key").value = session.key;
  $("#key-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setKey($("#api-key").value);
    await loadInfo().catch(report);
    route();
  });
  $("#time-mode").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-mode]");
    if (!b) return;
    setTimeMode(b.dataset.mode);
    showClock();
    loadTrend();
    refresh(false);
    if (page.view === "cell" && page.cellRange) renderCell(page.arg, page.info, page.cellRange).catch(report);
  });
  $("#pot-line").addEventListener("change", (ev) => { location.hash = `#/potline/${ev.target.value}`; });
  $("#pot-signal").addEventListener("change", () => refresh(false));
  $("#alarm-cleared").addEventListener("change", (ev) => { page.showCleared = ev.target.checked; refresh(false); });
  $("#wi-job").addEventListener("change", (ev) => { page.selectedJob = ev.target.value; refresh(false); });
  rangePicker($("#cell-range"), (r) => {
    page.cellRange = r;
    if (page.view === "cell" && page.arg) renderCell(page.arg, page.info, r).catch(report);
  }, "hour").refresh();
  setupOverview();
  setupAlarms(() => renderAlarms(page.showCleared).catch(report), report);
  page.whatIfLive = setupWhatIf(liveCurrent, (id) => { page.selectedJob = id; refresh(false); });
  window.addEventListener("hashchange", route);
  loadInfo().catch(report).finally(route);
  setInterval(() => refresh(false), 3000);
  setInterval(refreshTrendRange, 60000);
  stream("/v1/stream/kpis", onKpis, async () => {
    try { onKpis(await get("/v1/kpis")); } catch (e2) { report(e2); }
  });
}

start();
