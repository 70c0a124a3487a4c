// What-if page: pick a change to the live plant (line current, curtailment, outage, alumina feed), submit it as a
// from-live scenario job, and show the scenario against its baseline (paired bars per KPI, with units and deltas).
// Request sent: POST /v1/scenarios {"from_live": true, "change": {"kind": ..., "at_h": 0, "potline": "all", ...},
// "label": ...}; the change's fields are those of the scenario file's [[event]] of that kind (docs/scenarios.md).
"use strict";

import { get, post } from "./api.js";
import { describe, esc, num, scaled, time } from "./fmt.js";

const $ = (s) => document.querySelector(s);
const CHANGES = {
  line_current: { text: "line current", fields: [["value_kA", "new line current", "kA", 0, 700, 1]] },
  curtailment: {
    text: "curtailment (demand response)",
    fields: [["fraction", "current cut", "fraction 0–0.6", 0.01, 0.6, 0.01], ["duration_h", "for", "h", 0.25, 48, 0.25]],
  },
  outage: { text: "power outage", fields: [["duration_h", "outage length", "h", 0.25, 12, 0.25]] },
  alumina_shortfall: {
    text: "alumina feed shortfall",
    fields: [["fraction", "feed lost", "fraction 0–1", 0.01, 1, 0.01], ["duration_h", "for", "h", 0.25, 48, 0.25]],
  },
  feed_strategy: { text: "feed control strategy", choice: ["strategy", "strategy", ["tracking", "fixed", "none"]] },
};

export function setupWhatIf(liveCurrent, onSubmitted) {
  const kind = $("#wi-kind");
  kind.innerHTML = Object.entries(CHANGES).map(([k, c]) => `<option value="${k}">${esc(c.text)}</option>`).join("");
  const fields = () => {
    const c = CHANGES[kind.value];
    const now = liveCurrent();
    $("#wi-fields").innerHTML = c.choice
      ? `<label>${esc(c.choice[1])} <select name="${c.choice[0]}">${c.choice[2].map((o) => `<option>${o}</option>`).join("")}</select></label>`
      : c.fields.map(([name, label, unit, lo, hi, step]) => {
        const def = name === "value_kA" ? (now ? Math.round(now * 0.97) : 300) : name === "fraction" ? 0.25 : name === "duration_h" ? 3 : lo;
        return `<label>${esc(label)} <input type="number" name="${name}" min="${lo}" max="${hi}" step="${step}" value="${def}" required>` +
          ` <span class="unit">${esc(unit)}</span></label>`;
      }).join("");
    $("#wi-live").textContent = now ? `live line current now ${num(now, 1)} kA` : "";
  };
  kind.addEventListener("change", fields);
  fields();
  $("#wi-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const change = { kind: kind.value, at_h: 0, potline: "all" };
    for (const el of $("#wi-fields").querySelectorAll("input, select")) {
      change[el.name] = el.type === "number" ? Number(el.value) : el.value;
    }
    const label = `${CHANGES[kind.value].text}: ` + Object.entries(change).filter(([k]) => !["kind", "at_h", "potline"].includes(k))
      .map(([k, v]) => `${k} ${v}`).join(", ");
    $("#wi-msg").textContent = "submitting…";
    try {
      const job = await post("/v1/scenarios", { from_live: true, change, label });
      $("#wi-msg").textContent = `submitted ${job.job_id} (${label}); it runs with its baseline: the same plant from the same state without the change`;
      onSubmitted(job.job_id);
    } catch (e) {
      $("#wi-msg").textContent = e.status === 422 && /change/.test(e.message)
        ? "this server cannot yet apply a change to a from-live what-if (POST /v1/scenarios has no 'change' field): " + e.message
        : `could not submit: ${e.message}`;
    }
  });
  return () => { // the live current arrives with the KPI stream: fill the default once it is known
    const now = liveCurrent();
    if (!now || $("#wi-live").textContent) return;
    fields();
  };
}

export async function renderJobs(selected) {
  const { jobs } = await get("/v1/scenarios?limit=30");
  const sel = $("#wi-job");
  const done = jobs.filter((j) => !j.job_id.startsWith("baseline-") && !j.job_id.endsWith("-baseline"));
  const keep = selected || sel.value;
  sel.innerHTML = done.map((j) => `<option value="${esc(j.job_id)}">${esc(j.label || j.job_id)} · ${esc(j.status)} · ${esc(time(j.created))}</option>`).join("");
  if (keep && done.some((j) => j.job_id === keep)) sel.value = keep;
  const pending = jobs.filter((j) => j.status === "queued" || j.status === "running").length;
  $("#wi-status").textContent = pending ? `${pending} job(s) running…` : `${done.length} job(s)`;
  if (sel.value) await renderComparison(sel.value, done.find((j) => j.job_id === sel.value));
}

export async function renderComparison(jobId, job) {
  const out = $("#wi-compare");
  if (job && job.status !== "succeeded") {
    out.innerHTML = `<div class="empty">${esc(job.label || jobId)} is ${esc(job.status)}${job.error ? ": " + esc(job.error) : ""}</div>`;
    return;
  }
  let c;
  try {
    c = await get(`/v1/scenarios/${encodeURIComponent(jobId)}/comparison`);
  } catch (e) {
    out.innerHTML = `<div class="empty">${esc(e.message)}</div>`;
    return;
  }
  const rows = c.kpis.filter((r) => r.value !== null || r.baseline !== null);
  const head = `<div class="legend"><span class="key"><i class="swatch scen"></i>scenario ${esc(c.job_id)}</span>` +
    `<span class="key"><i class="swatch base"></i>baseline ${esc(c.baseline_job_id)}</span>` +
    (c.note ? `<div class="source">${esc(c.note)}</div>` : "") + `</div>`;
  out.innerHTML = head + `<table class="compare"><thead><tr><th>KPI</th><th>scenario vs baseline</th><th>scenario</th>` +
    `<th>baseline</th><th>Δ</th><th>Δ %</th></tr></thead><tbody>` + rows.map((r) => {
    const d = describe(r.name, r.unit);
    const val = scaled(r.name, r.value), ref = scaled(r.name, r.baseline), delta = val != null && ref != null ? val - ref : r.delta;
    const max = Math.max(Math.abs(r.value ?? 0), Math.abs(r.baseline ?? 0)) || 1;
    const cls = r.delta > 0 ? "up" : r.delta < 0 ? "down" : "";
    return `<tr data-kpi="${esc(r.name)}"><td><div>${esc(d.label)}${d.unit ? ` (${esc(d.unit)})` : ""}</div><div class="machine">${esc(r.name)}</div></td>` +
      `<td class="bars"><div class="bar scen" style="width:${(100 * Math.abs(r.value ?? 0)) / max}%"></div>` +
      `<div class="bar base" style="width:${(100 * Math.abs(r.baseline ?? 0)) / max}%"></div></td>` +
      `<td class="num">${num(val, 3)}</td><td class="num">${num(ref, 3)}</td>` +
      `<td class="num ${cls}">${num(delta, 3)}</td><td class="num ${cls}">${num(r.delta_pct, 2)}</td></tr>`;
  }).join("") + `</tbody></table>`;
}
