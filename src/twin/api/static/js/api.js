// HTTP access to the API: the API key (kept in localStorage), ETag revalidation, and optional routes.
"use strict";

const etags = new Map();
const bodies = new Map();
export const session = { key: localStorage.getItem("twin-api-key") || "" };

export function headers(extra = {}) {
  return session.key ? { "X-API-Key": session.key, ...extra } : extra;
}

export function setKey(key) {
  session.key = key.trim();
  localStorage.setItem("twin-api-key", session.key);
  etags.clear();
  bodies.clear();
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status} ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

async function problem(r) {
  let detail = r.statusText;
  try { detail = (await r.json()).detail || detail; } catch (e) { /* not JSON */ }
  return new ApiError(r.status, typeof detail === "string" ? detail : JSON.stringify(detail));
}

// GET a JSON resource; unchanged answers (304) come from the cache.
export async function get(path) {
  const h = headers();
  if (etags.has(path)) h["If-None-Match"] = etags.get(path);
  const r = await fetch(path, { headers: h, cache: "no-store" });
  if (r.status === 304 && bodies.has(path)) return bodies.get(path);
  if (!r.ok) throw await problem(r);
  const body = await r.json();
  const etag = r.headers.get("ETag");
  if (etag) { etags.set(path, etag); bodies.set(path, body); }
  return body;
}

// GET a route that this server may not have (404/405): null instead of an error.
export async function optional(path) {
  try {
    return await get(path);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

export async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify(body),
  });
  if (!r.ok) throw await problem(r);
  return r.json();
}

// Server-sent events read through fetch (EventSource cannot send the X-API-Key header).
export async function stream(path, onData, onError) {
  for (;;) {
    try {
      const r = await fetch(path, { headers: headers({ Accept: "text/event-stream" }) });
      if (!r.ok || !r.body) throw await problem(r);
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
          if (data) onData(JSON.parse(data));
        }
      }
    } catch (e) {
      onError(e);
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}
