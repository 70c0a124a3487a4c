// Smelter Twin dashboard: plain JS, no build step, no external resources.
// KPI tiles follow the SSE stream (/v1/stream/kpis, read with fetch so the API key header can be sent);
// the rest polls every few seconds with If-None-Match so unchanged answers cost a 304.
"use strict";

const state = { key: localStorage.getItem("twin-api-key") || "", etags: {}, cache: {}, trend: {}, kpis: null };
const $ = (sel) => document.querySelector(sel);
const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(undefined, { maximumFractionDigits: d }));

function headers(extra = {}) {
  return state.key ? { "X-API-Key": state.key, ...extra } : extra;
}

function setStatus(text, cls) {
  const el = $("#status");
  el.textContent = text;
  el.className = "status " + (cls || "");
}

async function getJSON(path) {
  const h = headers();
  if (state.etags[path]) h["If-None-Match"] = state.etags[path];
  const r = await fetch(path, { headers: h, cache: "no-store" });
  if (r.status === 304) return state.cache[path];
  if (!r.ok) {
    let detail = r.statusText;
    try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
    const err = new Error(`${r.status} ${detail}`);
    err.status = r.status;
    throw err;
  }
  const body = await r.json();
  const etag = r.headers.get("ETag");
  if (etag) { state.etags[path] = etag; state.cache[path] = body; }
  return body;
}

function renderKpis(snap) {
  state.kpis = snap;
  const plant = (snap.scopes && snap.scopes.plant) || {};
  $("#kpi-tiles").innerHTML = Object.entries(plant).map(([k, v]) =>
    `<div class="tile" data-kpi="${k}"><div class="name">${k}</div><div class="value">${fmt(v)}</div></div>`).join("");
  const sel = $("#trend-kpi");
  if (!sel.options.length) {
    sel.innerHTML = Object.keys(plant).map((k) => `<option>${k}</option>`).join("");
  }
  for (const [k, v] of Object.entries(plant)) {
    const series = (state.trend[k] = state.trend[k] || []);
    series.push([Date.parse(snap.as_of) || Date.now(), v]);
    if (series.length > 600) series.shift();
  }
  renderPotlineKpis();
  drawTrend();
  setStatus("live · as of " + new Date(snap.as_of).toISOString().replace(".000Z", "Z"), "ok");
}

function renderPotlineKpis() {
  const line = $("#potline").value;
  const k = (state.kpis && state.kpis.scopes && state.kpis.scopes["potline:" + line]) || {};
  $("#potline-kpis").innerHTML = Object.entries(k).map(([n, v]) =>
    `<div class="tile"><div class="name">${n}</div><div class="value">${fmt(v, 3)}</div></div>`).join("");
}

function drawTrend() {
  const name = $("#trend-kpi").value;
  const pts = state.trend[name] || [];
  const svg = $("#trend");
  if (pts.length < 1) { svg.innerHTML = ""; return; }
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs) || x0 + 1;
  let y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (y1 - y0 < 1e-9) { y0 -= 1; y1 += 1; }
  const sx = (x) => (x1 === x0 ? 300 : ((x - x0) / (x1 - x0)) * 600);
  const sy = (y) => 190 - ((y - y0) / (y1 - y0)) * 180;
  const line = pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(" ");
  svg.innerHTML = `<polyline points="${pts.length === 1 ? line + " 600," + sy(ys[0]).toFixed(1) : line}"/>`;
  $("#trend-range").textContent = `${name}: ${fmt(y0)} … ${fmt(y1)} (${pts.length} points)`;
}

async function loadHistory() {
  const name = $("#trend-kpi").value;
  if (!name) return;
  const end = new Date(), start = new Date(end.getTime() - 24 * 3600e3);
  const q = `start=${start.toISOString()}&end=${end.toISOString()}&names=${encodeURIComponent(name)}&max_points=600`;
  try {
    const h = await getJSON(`/v1/kpis/plant/history?${q}`);
    const s = h.series[name];
    if (s && s.ts.length) state.trend[name] = s.ts.map((t, i) => [Date.parse(t), s.value[i]]).concat(state.trend[name] || []);
  } catch (e) { /* history is optional; live points still draw */ }
  drawTrend();
}

function renderPower(p) {
  $("#power-asof").textContent = "as of " + p.as_of;
  const max = Math.max(1, p.generation_MW + Math.max(p.grid_MW, 0), p.load_MW);
  const row = (label, v, cls) =>
    `<div class="bar-row"><span>${label}</span><div class="bar ${cls}" style="width:${(100 * Math.abs(v)) / max}%"></div>` +
    `<span class="num">${fmt(v, 1)} MW</span></div>`;
  $("#power-balance").innerHTML =
    Object.entries(p.units_MW).map(([u, v]) => row("unit " + u, v, "")).join("") +
    row(p.grid_MW >= 0 ? "grid import" : "grid export", p.grid_MW, "grid") +
    Object.entries(p.potlines_MW).map(([l, v]) => row("potline " + l, v, "load")).join("") +
    `<div class="bar-row"><b>balance</b><span class="muted">generation ${fmt(p.generation_MW, 1)} + grid ` +
    `${fmt(p.grid_MW, 1)} − load ${fmt(p.load_MW, 1)}</span><span class="num">${fmt(p.imbalance_MW, 1)} MW</span></div>`;
  const sel = $("#potline");
  const lines = Object.keys(p.potlines_MW);
  if (sel.options.length !== lines.length) sel.innerHTML = lines.map((l) => `<option>${l}</option>`).join("");
}

function color(t) {  // 0..1 → blue..yellow..red
  const h = 240 - 240 * Math.min(1, Math.max(0, t));
  return `hsl(${h}, 80%, 55%)`;
}

async function refreshCells() {
  const line = $("#potline").value;
  if (!line) return;
  const signal = $("#heat-signal").value;
  const data = await getJSON(`/v1/potlines/${line}/cells`);
  const cells = Object.entries(data.cells);
  // anode-effect cells are outlined instead of stretching the colour scale
  const vals = cells.filter(([, c]) => !c.anode_effect).map(([, c]) => c[signal]).filter((v) => typeof v === "number");
  const lo = Math.min(...vals), hi = Math.max(...vals);
  $("#heatmap").innerHTML = cells.map(([id, c]) => {
    const v = c[signal];
    const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
    const tip = `${id}: ${fmt(c.voltage_V, 3)} V, alumina ${fmt(c.alumina_wtpct)} wt%, superheat ${fmt(c.superheat_degC, 1)} °C` +
      (c.anode_effect ? ", ANODE EFFECT" : "");
    return `<div class="cell${c.anode_effect ? " ae" : ""}" data-cell="${id}" title="${tip}" style="background:${color(t)}">${id.split("-")[1]}</div>`;
  }).join("");
  $("#heat-legend").textContent = `${signal}: ${fmt(lo, 3)} (blue) … ${fmt(hi, 3)} (red); ${cells.length} cells`;
  const ae = cells.filter(([, c]) => c.anode_effect).map(([id]) => id);
  $("#anode-effects").innerHTML = ae.length ? `<b style="color:var(--bad)">Anode effects: ${ae.join(", ")}</b>` : "No anode effects.";
}

async function refreshAlarms() {
  const { alarms } = await getJSON("/v1/alarms");
  alarms.sort((a, b) => (a.state === "active" ? -1 : 1) - (b.state === "active" ? -1 : 1));
  $("#alarms tbody").innerHTML = alarms.map((a) =>
    `<tr class="${a.state}"><td>${a.state}</td><td>${a.asset}</td><td>${a.reason}</td><td>${a.since || ""}</td></tr>`).join("");
}

async function refreshScenarios() {
  const { jobs } = await getJSON("/v1/scenarios?limit=20");
  const sel = $("#scenario-job");
  const current = sel.value;
  const done = jobs.filter((j) => j.status === "succeeded" && !j.job_id.startsWith("baseline-"));
  sel.innerHTML = done.map((j) => `<option value="${j.job_id}">${j.label || j.job_id} (${j.created})</option>`).join("");
  if (current && done.find((j) => j.job_id === current)) sel.value = current;
  const pending = jobs.filter((j) => j.status === "queued" || j.status === "running").length;
  $("#scenario-msg").textContent = pending ? `${pending} job(s) running…` : `${done.length} finished job(s)`;
  if (sel.value) await showComparison(sel.value);
}

async function showComparison(jobId) {
  try {
    const c = await getJSON(`/v1/scenarios/${jobId}/comparison`);
    $("#comparison tbody").innerHTML = c.kpis.map((r) => {
      const cls = r.delta > 0 ? "up" : r.delta < 0 ? "down" : "";
      return `<tr><td>${r.name}</td><td>${fmt(r.value, 3)}</td><td>${fmt(r.baseline, 3)}</td>` +
        `<td class="${cls}">${fmt(r.delta, 3)}</td><td class="${cls}">${fmt(r.delta_pct, 2)}</td></tr>`;
    }).join("");
  } catch (e) {
    $("#comparison tbody").innerHTML = `<tr><td colspan="5" class="muted">${e.message}</td></tr>`;
  }
}

async function runFromLive() {
  const r = await fetch("/v1/scenarios", {
    method: "POST", headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify({ from_live: true, label: "what-if from live " + new Date().toISOString().slice(11, 19) }),
  });
  const body = await r.json();
  $("#scenario-msg").textContent = r.ok ? `submitted ${body.job_id}` : `${r.status}: ${body.detail}`;
}

async function streamKpis() {
  // Server-sent events read through fetch (EventSource cannot send the X-API-Key header).
  for (;;) {
    try {
      const r = await fetch("/v1/stream/kpis", { headers: headers({ Accept: "text/event-stream" }) });
      if (!r.ok || !r.body) throw new Error(`${r.status}`);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
          if (data) renderKpis(JSON.parse(data));
        }
      }
    } catch (e) {
      // fall back to one poll, then retry the stream
      try { renderKpis(await getJSON("/v1/kpis")); } catch (e2) { report(e2); }
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}

function report(e) {
  setStatus(e.status === 401 || e.status === 403 ? "enter an API key with the read scope" : "error: " + e.message, "err");
}

async function poll() {
  try {
    renderPower(await getJSON("/v1/power"));
    await refreshCells();
    await refreshAlarms();
    await refreshScenarios();
  } catch (e) { report(e); }
}

function start() {
  $("#api-key").value = state.key;
  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.key = $("#api-key").value.trim();
    localStorage.setItem("twin-api-key", state.key);
    state.etags = {};
    poll();
  });
  $("#potline").addEventListener("change", () => { renderPotlineKpis(); refreshCells().catch(report); });
  $("#heat-signal").addEventListener("change", () => refreshCells().catch(report));
  $("#trend-kpi").addEventListener("change", loadHistory);
  $("#scenario-job").addEventListener("change", (ev) => showComparison(ev.target.value));
  $("#run-live").addEventListener("click", () => runFromLive().catch(report));
  poll();
  setInterval(poll, 3000);
  streamKpis();
  setTimeout(loadHistory, 500);
}

start();
