// app.js: the gpumesh dashboard. It reads the node's local JSON API (the
// same one the CLI reads), polls it every two seconds, and sends the node's
// API token with the calls that change the node. No framework, no build.
"use strict";

const POLL_MS = 2000;
const TOKEN_KEY = "gpumesh-token";

// ---- token: taken once from the URL fragment (#token=...), then kept ----
(function takeToken() {
  const m = location.hash.match(/(?:^#|&)token=([0-9a-f]{64})/);
  if (m) {
    try { localStorage.setItem(TOKEN_KEY, m[1]); } catch (e) { window.__token = m[1]; }
    history.replaceState(null, "", location.pathname + "#/overview");
  }
})();

function token() {
  try { return localStorage.getItem(TOKEN_KEY) || window.__token || ""; } catch (e) { return window.__token || ""; }
}

function setToken(t) {
  try { localStorage.setItem(TOKEN_KEY, t); } catch (e) { window.__token = t; }
}

// ---- small helpers ----
function esc(s) {
  return String(s === undefined || s === null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const $ = (sel, root) => (root || document).querySelector(sel);
const short = (id) => (id && id.length > 16 ? id.slice(0, 6) + "…" + id.slice(-6) : id || "");
function dur(sec) {
  sec = Math.max(0, Math.floor(sec));
  const d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}
function when(t) {
  if (!t || t.startsWith("0001")) return "—";
  const d = new Date(t);
  const ago = (Date.now() - d.getTime()) / 1000;
  if (ago >= 0 && ago < 86400) return d.toLocaleTimeString() + ` <span class="muted">(${dur(ago)} ago)</span>`;
  return d.toLocaleString();
}
const gb = (b) => (b / 1e9).toFixed(b >= 1e11 ? 0 : 1) + " GB";
const gib = (b) => { const v = b / 1073741824; return (Math.abs(v - Math.round(v)) < 0.05 ? Math.round(v) : v.toFixed(1)) + " GiB"; };
const usd = (v, digits) => "$" + Number(v || 0).toFixed(digits === undefined ? 2 : digits);
const micros = (m, digits) => {
  const v = Number(m || 0) / 1e6;
  const d = digits !== undefined ? digits : Math.abs(v) >= 1 ? 2 : 6;
  return (v < 0 ? "−$" : "$") + Math.abs(v).toFixed(d);
};
function badge(text, kind) { return `<span class="badge ${kind || ""}">${esc(text)}</span>`; }
function stateBadge(s) {
  const k = { succeeded: "good", formed: "good", running: "info", bidding: "warn", awarding: "warn", failed: "bad", confirmed: "good", pending: "warn", dropped: "bad", held: "warn", ended: "" }[s];
  return badge(s, k);
}

async function api(path, opts) {
  opts = opts || {};
  const headers = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (opts.method && opts.method !== "GET" && token()) headers["X-Gpumesh-Token"] = token();
  const r = await fetch(path, { method: opts.method || "GET", headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), cache: "no-store" });
  let data = null;
  try { data = await r.json(); } catch (e) { /* not JSON */ }
  if (!r.ok) {
    const err = new Error((data && data.error) || `${r.status} ${r.statusText}`);
    err.status = r.status;
    throw err;
  }
  return data;
}

// ---- connection state and the header ----
let lastOK = 0;
function connected(ok, err) {
  $("#live").className = "dot " + (ok ? "ok" : "bad");
  const b = $("#banner");
  if (ok) {
    lastOK = Date.now();
    b.hidden = true;
    $("#updated").textContent = "updated " + new Date().toLocaleTimeString();
  } else {
    b.hidden = false;
    b.textContent = "Cannot reach the node: " + (err && err.message ? err.message : err) + ". Is it still running?";
  }
  $("#auth").textContent = token() ? "API token set: controls enabled" : "no API token: read-only";
}

// ---- pages ----
const pages = {};
let current = null, timer = null, gen = 0;

function route() {
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || "overview";
  const page = pages[name] ? name : "overview";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === page);
  if (timer) clearTimeout(timer);
  gen++;
  current = pages[page];
  const main = $("#page");
  main.dataset.page = page;
  main.innerHTML = current.shell ? current.shell() : "";
  if (current.mount) current.mount(main);
  tick(gen);
}

async function tick(g) {
  if (g !== gen) return;
  try {
    await current.update($("#page"));
    connected(true);
  } catch (e) {
    connected(false, e);
  }
  if (g === gen) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => tick(g), POLL_MS);
  }
}

// refresh polls the current page now (after a click), keeping one loop.
function refresh() {
  tick(gen);
}

// ---- Overview ----
pages.overview = {
  shell: () => `<div class="grid" id="ov-stats"></div><div class="split"><div class="card" id="ov-node"></div><div><div class="card" id="ov-coord"></div><div class="card" id="ov-gossip"></div></div></div>`,
  async update(root) {
    const [s, c] = await Promise.all([api("/api/v1/status"), api("/api/v1/coordinate")]);
    $("#peer").textContent = short(s.peer_id);
    const net = s.network || {};
    const relayed = (net.relay_addrs || []).length > 0;
    const reach = relayed ? "relayed" : { Public: "public", Private: "behind NAT", Unknown: "unknown" }[s.reachability] || s.reachability;
    const reachKind = { public: "good", relayed: "info", "behind NAT": "warn" }[reach] || "";
    $("#ov-stats", root).innerHTML = [
      stat("Reachability", badge(reach, reachKind), `AutoNAT: ${esc(s.reachability)}`, "ov-reach"),
      stat("Network", esc(net.name || "—"), bootText(net.bootstrap || {}), "ov-network"),
      stat("Peers", esc(s.connected_peers), `${esc(s.routing_table_size)} in the DHT routing table (${esc(s.dht_mode)})`, "ov-peers"),
      stat("Uptime", esc(dur(s.uptime_seconds)), "since " + new Date(s.started_at).toLocaleString(), "ov-uptime"),
      stat("Version", esc(s.version), "profile " + esc(s.profile), "ov-version"),
    ].join("");
    $("#ov-node", root).innerHTML = `<h2>This node</h2><dl class="kv">
      <dt>Peer ID</dt><dd><code id="ov-peer-id">${esc(s.peer_id)}</code></dd>
      <dt>Listening</dt><dd>${(s.listen_addrs || []).map((a) => `<span class="pill">${esc(a)}</span>`).join("") || "—"}</dd>
      <dt>Announced</dt><dd>${(s.addrs || []).map((a) => `<div><code>${esc(a)}</code></div>`).join("") || "—"}</dd>
      <dt>Relay</dt><dd>${(net.relay_addrs || []).map((a) => `<div><code>${esc(a)}</code></div>`).join("") || '<span class="muted">none</span>'}</dd>
      <dt>Observed</dt><dd>${(s.observed_addrs || []).map((a) => `<div><code>${esc(a)}</code></div>`).join("") || '<span class="muted">none yet</span>'}</dd>
      </dl>`;
    const co = c.coordinate || {};
    const vec = (co.vec || []).slice(0, 3).map((v) => (v * 1000).toFixed(2)).join(", ");
    $("#ov-coord", root).innerHTML = `<h2>Network coordinate</h2>` +
      (c.known
        ? `<dl class="kv"><dt>Position</dt><dd><code>(${esc(vec)}${(co.vec || []).length > 3 ? ", …" : ""}) ms</code></dd>
           <dt>Height</dt><dd>${esc(((co.height || 0) * 1000).toFixed(2))} ms</dd>
           <dt>Error</dt><dd>${esc((co.error || 0).toFixed(3))} <span class="muted">(lower is better; falls with samples)</span></dd>
           <dt>Samples</dt><dd>${esc(c.samples)}</dd></dl>`
        : `<p class="empty">No coordinate yet: it comes from pinging peers.</p>`) +
      `<h3 style="margin-top:14px">Nearest peers</h3>` +
      ((c.nearest || []).length
        ? `<table id="ov-nearest"><tr><th>Peer</th><th class="num">Measured RTT</th><th class="num">Estimated</th></tr>${c.nearest.map((p) =>
            `<tr><td><code title="${esc(p.peer)}">${esc(short(p.peer))}</code></td><td class="num">${p.measured_ms ? p.measured_ms.toFixed(2) + " ms" : "—"}</td><td class="num">${p.estimated_ms ? p.estimated_ms.toFixed(2) + " ms" : "—"}</td></tr>`).join("")}</table>`
        : `<p class="empty">No peers connected.</p>`);
    const g = s.gossip || {};
    const rej = Object.values(g.rejected || {}).reduce((a, b) => a + b, 0);
    $("#ov-gossip", root).innerHTML = `<h2>Gossip</h2><dl class="kv">
      <dt>Received</dt><dd>${esc(g.accepted)} accepted, ${esc(g.ignored)} ignored, ${esc(rej)} rejected</dd>
      <dt>Published</dt><dd>${esc(g.published || 0)}</dd>
      ${(s.topics || []).map((t) => `<dt><code>${esc(t.name)}</code></dt><dd>${esc(t.peers)} peers</dd>`).join("")}</dl>`;
  },
};

// bootText says how the node stands with its bootstrap peers.
function bootText(b) {
  if (b.connected > 0) return `bootstrap: connected ${esc(b.connected)} of ${esc(b.peers)}`;
  if (b.peers > 0) return `bootstrap: connected 0 of ${esc(b.peers)}: ${esc(b.reason || "")}`;
  return esc(b.reason || "no bootstrap peers");
}

function stat(label, value, sub, id) {
  return `<div class="card stat" id="${id}"><div class="l">${esc(label)}</div><div class="v">${value}</div><div class="s">${sub}</div></div>`;
}

// ---- Hardware ----
pages.hardware = {
  shell: () => `<div class="card" id="hw-host"></div><div id="hw-devices"></div>`,
  async update(root) {
    const [g, m] = await Promise.all([api("/api/v1/gpu"), api("/api/v1/market")]);
    const inv = g.inventory || {};
    const host = inv.host || {};
    const proofs = m.proofs || [];
    const proof = proofs.length
      ? proofs.map((p) => `${badge(p.class, "info")} ${esc(p.gflops.toFixed(1))} GFLOP/s <span class="muted">(n = ${esc(p.n)}, ${p.by ? "verified by " + esc(short(p.by)) : "self-test"} ${new Date(p.at).toLocaleString()})</span>`).join("<br>")
      : m.self_test ? '<span class="muted">self-test running or failed; see the logs</span>' : '<span class="muted">not measured (offer.self_test = false)</span>';
    const virt = inv.virtualization || {};
    $("#hw-host", root).innerHTML = `<h2>Host</h2><dl class="kv">
      <dt>Source</dt><dd>${esc(inv.source)}${inv.nvml_error ? ` <span class="muted">(NVML: ${esc(inv.nvml_error)})</span>` : ""}${inv.driver ? ` · driver ${esc(inv.driver)}` : ""}${inv.cuda ? ` · CUDA ${esc(inv.cuda)}` : ""}</dd>
      <dt>CPU</dt><dd>${esc(host.cpu_model || "—")}, ${esc(host.cores || "?")} cores, ${esc(host.threads || "?")} threads · ${esc(host.os || "")}/${esc(host.arch || "")}</dd>
      <dt>Memory</dt><dd>${host.memory_bytes ? gib(host.memory_bytes) : "—"}${host.disk_free_bytes ? ` · ${gb(host.disk_free_bytes)} free disk` : ""}</dd>
      <dt>Virtualised</dt><dd>${[virt.vm ? "VM" + (virt.hypervisor ? " (" + esc(virt.hypervisor) + ")" : "") : "", virt.container ? "container" + (virt.container_runtime ? " (" + esc(virt.container_runtime) + ")" : "") : ""].filter(Boolean).join(", ") || "no"} <span class="muted">(shown to requesters as a trust signal)</span></dd>
      <dt>Proof-of-compute</dt><dd id="hw-proof">${proof}</dd>
      </dl>${g.sampler_error ? `<p class="msg err">Telemetry: ${esc(g.sampler_error)}</p>` : ""}`;
    const devs = inv.devices || [];
    const box = $("#hw-devices", root);
    if (!devs.length) { box.innerHTML = `<div class="card empty">No devices detected.</div>`; return; }
    const hist = await Promise.all(devs.map((d) => api("/api/v1/gpu/history?device=" + encodeURIComponent(d.id)).catch(() => [])));
    box.innerHTML = devs.map((d, i) => deviceCard(d, hist[i] || [])).join("");
  },
};

function deviceCard(d, hist) {
  const t = d.telemetry || {};
  const known = (f) => !(t.unknown || []).includes(f) && t.time;
  const series = (f, scale) => (hist || []).filter((r) => !(r.unknown || []).includes(f)).map((r) => [Date.parse(r.time), (r[f] || 0) * (scale || 1)]);
  const chart = (id, label, f, unit, opts, scale) => {
    const pts = series(f, scale);
    const now = known(f) ? (t[f] * (scale || 1)) : null;
    if (!pts.length && now === null) {
      return `<div class="chart none" id="${id}"><div class="t"><span>${esc(label)}</span><b>—</b></div><div class="na">not reported by this device</div></div>`;
    }
    return `<div class="chart" id="${id}"><div class="t"><span>${esc(label)}</span><b>${now === null ? "—" : esc(fmtNum(now)) + " " + esc(unit)}</b></div>${GMChart.svg(pts, opts)}</div>`;
  };
  const mem = d.memory_total_bytes || 0;
  const gpuish = d.pool !== "cpu";
  const id = "dev-" + d.index;
  return `<div class="card" id="${esc(id)}" data-device="${esc(d.id)}"><div class="device">
    <div><h2>${esc(d.name)}</h2><dl class="kv">
      <dt>Class</dt><dd>${badge(d.class, "info")} <span class="muted">pool ${esc(d.pool)}</span></dd>
      <dt>Memory</dt><dd>${mem ? gib(mem) : "—"}</dd>
      ${d.compute_capability ? `<dt>Compute cap.</dt><dd>${esc(d.compute_capability)}${d.family ? " · " + esc(d.family) : ""}</dd>` : ""}
      ${d.pcie_gen ? `<dt>PCIe</dt><dd>gen ${esc(d.pcie_gen)} x${esc(d.pcie_width)}</dd>` : ""}
      ${gpuish ? `<dt>NVLink</dt><dd>${esc(d.nvlinks)} links</dd>` : ""}
      ${d.cores ? `<dt>Cores</dt><dd>${esc(d.cores)}</dd>` : ""}
      ${d.uuid ? `<dt>UUID</dt><dd><code>${esc(d.uuid)}</code></dd>` : ""}
      <dt>Samples</dt><dd class="samples">${esc(hist.length)}</dd>
    </dl></div>
    <div class="charts">
      ${chart(id + "-temp", "Temperature", "temperature_c", "°C", { color: "#dc2626" })}
      ${chart(id + "-power", "Power", "power_w", "W", { color: "#d97706", limit: known("power_limit_w") ? t.power_limit_w : 0 })}
      ${chart(id + "-util", "Utilisation", "utilization", "%", { min: 0, max: 100, color: "#0f766e" })}
      ${chart(id + "-mem", gpuish ? "VRAM used" : "Memory used", "memory_used_bytes", "GiB", { min: 0, max: mem ? mem / 1073741824 : undefined, color: "#7c3aed" }, 1 / 1073741824)}
    </div></div></div>`;
}

function fmtNum(v) {
  if (v === null || v === undefined || isNaN(v)) return "—";
  if (Math.abs(v) >= 100) return Math.round(v).toString();
  return (Math.round(v * 10) / 10).toString();
}

// ---- Jobs ----
const jobsState = { selected: null, logs: {} };
const FINAL = ["succeeded", "failed", "formed"];
pages.jobs = {
  shell: () => `<div class="card"><h2>Requested by this node</h2><div id="jobs-req"></div></div>
    <div class="card" id="job-detail" hidden></div>
    <div class="card"><h2>Provided by this node</h2><div id="jobs-prov"></div></div>`,
  mount(root) {
    root.addEventListener("click", async (ev) => {
      const tr = ev.target.closest("tr[data-job]");
      if (tr) { jobsState.selected = tr.dataset.job; refresh(); return; }
      const cancel = ev.target.closest("button[data-cancel]");
      if (cancel) {
        cancel.disabled = true;
        try { await api(`/api/v1/jobs/${encodeURIComponent(cancel.dataset.cancel)}/cancel`, { method: "POST" }); }
        catch (e) { alert("Cancel failed: " + e.message); }
        refresh();
      }
    });
  },
  async update(root) {
    const j = await api("/api/v1/jobs");
    const req = j.requested || [], prov = j.provided || [];
    $("#jobs-req", root).innerHTML = req.length
      ? `<table><tr><th>Job</th><th>State</th><th class="num">Workers</th><th class="num">Bids</th><th>Cluster</th><th class="num">Price / h</th><th class="num">Charged</th><th>Created</th></tr>${req.map((v) =>
          `<tr class="click ${v.id === jobsState.selected ? "sel" : ""}" data-job="${esc(v.id)}"><td><code>${esc(short(v.id))}</code></td><td>${stateBadge(v.state)}</td><td class="num">${esc(v.spec.workers || 1)}</td><td class="num">${esc(v.bids)}</td>
           <td>${(v.cluster || []).map((m) => `<span class="pill" title="${esc(m.peer)}">${esc(short(m.peer))} ${esc(m.class)}</span>`).join("") || "—"}</td>
           <td class="num">${v.cost ? micros(v.cost.per_hour, 4) : "—"}</td><td class="num">${v.charged ? micros(v.charged.requester_pays) : "—"}</td><td>${when(v.created)}</td></tr>`).join("")}</table>`
      : `<p class="empty">No jobs requested yet. Submit one with <code>gpumesh submit</code>.</p>`;
    $("#jobs-prov", root).innerHTML = prov.length
      ? `<table><tr><th>Job</th><th>Requester</th><th>State</th><th>Ranks</th><th class="num">Devices</th><th class="num">Price / h</th><th>Accepted</th></tr>${prov.map((r) =>
          `<tr><td><code>${esc(short(r.job))}</code></td><td><code title="${esc(r.requester)}">${esc(short(r.requester))}</code></td><td>${r.ended ? stateBadge("ended") + ` <span class="muted">${esc(r.ended)}</span>` : r.running ? stateBadge("running") : stateBadge("held")}</td>
           <td>${esc((r.ranks || []).join(", "))} of ${esc(r.world_size)}</td><td class="num">${esc((r.devices || []).length)}</td><td class="num">${usd(r.price, 4)}</td><td>${when(r.accepted)}</td></tr>`).join("")}</table>`
      : `<p class="empty">No awards accepted as provider yet.</p>`;
    if (!jobsState.selected && req.length) jobsState.selected = req[0].id;
    const det = $("#job-detail", root);
    if (!jobsState.selected) { det.hidden = true; return; }
    const v = await api("/api/v1/jobs/" + encodeURIComponent(jobsState.selected)).catch(() => null);
    if (!v) { det.hidden = true; return; }
    det.hidden = false;
    const story = v.events || [];
    const logs = await jobLogs(v.id);
    const counts = v.logs || { lines: 0, dropped: 0 };
    const live = !FINAL.includes(v.state);
    det.innerHTML = `<div class="row"><h2 style="margin:0">Job <code>${esc(v.id)}</code></h2>${stateBadge(v.state)}${live ? badge("live", "info") : ""}
        <span style="flex:1"></span>${live ? `<button class="danger" data-cancel="${esc(v.id)}" ${token() ? "" : "disabled title=\"needs the API token\""}>Cancel job</button>` : ""}</div>
      ${v.error ? `<p class="msg err">${esc(v.error)}</p>` : ""}
      ${v.placement ? `<p class="muted">${esc(v.placement)}</p>` : ""}
      ${v.network ? `<p class="muted">${esc(netLine(v.network))}</p>` : ""}
      <div class="split"><div><h3>Logs (${esc(counts.lines)} lines${counts.dropped ? `, ${esc(counts.dropped)} dropped past the node's cap` : ""}${logs.length < counts.lines ? `, last ${logs.length} shown` : ""})</h3><pre class="log" id="job-logs">${logs.map((l) => esc(`[${l.rank}] ${l.text}`)).join("\n") || '<span class="ev">no output yet</span>'}</pre></div>
      <div><h3>Events</h3><pre class="log">${story.map((e) => `<span class="ev">${esc(new Date(e.at).toLocaleTimeString())} ${esc(e.kind.padEnd(9))}</span> ${esc(e.text)}`).join("\n")}</pre></div></div>
      ${(v.workers || []).length ? `<h3 style="margin-top:12px">Results</h3><table><tr><th>Rank</th><th>Provider</th><th>Status</th><th class="num">Exit</th><th class="num">Seconds</th><th>Outputs</th></tr>${v.workers.map((w) =>
        `<tr><td>${esc(w.rank)}</td><td><code>${esc(short(w.peer))}</code></td><td>${stateBadge(w.result.status)}</td><td class="num">${esc(w.result.exit_code)}</td><td class="num">${esc((w.seconds || 0).toFixed(2))}</td><td>${(w.outputs || []).map((o) => `<span class="pill">${esc(o)}</span>`).join("")}</td></tr>`).join("")}</table>` : ""}`;
    const pre = $("#job-logs", det);
    if (pre) pre.scrollTop = pre.scrollHeight;
  },
};

// netLine is a job network's traffic (JobView.network) in words: bytes
// and packets each way, summed over its providers, and drops by reason.
function netLine(n) {
  const size = (b) => { const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; for (b = b || 0; b >= 1024 && i < u.length - 1; i++) b /= 1024; return (i ? b.toFixed(1) : b) + " " + u[i]; };
  const drops = Object.entries(n.drops || {}).sort(([a], [b]) => a.localeCompare(b));
  const dropped = drops.reduce((t, [, c]) => t + c, 0);
  return `Job network: ${size(n.bytes_in)} in (${n.packets_in || 0} packets), ${size(n.bytes_out)} out (${n.packets_out || 0} packets); ` +
    (dropped ? `${dropped} dropped: ${drops.map(([k, c]) => `${c} ${k}`).join(", ")}` : "none dropped");
}

// jobLogs reads the job's new log lines page by page (a few pages per
// refresh) from where the last refresh stopped, and keeps the last
// LOG_TAIL of them.
const LOG_TAIL = 2000, LOG_PAGES = 5;
async function jobLogs(id) {
  for (const k of Object.keys(jobsState.logs)) if (k !== id) delete jobsState.logs[k]; // one job's tail at a time
  const st = jobsState.logs[id] || (jobsState.logs[id] = { next: 0, lines: [] });
  for (let i = 0; i < LOG_PAGES; i++) {
    const p = await api(`/api/v1/jobs/${encodeURIComponent(id)}/logs?from=${st.next}`).catch(() => null);
    if (!p || !(p.lines || []).length) break;
    st.lines.push(...p.lines);
    if (st.lines.length > LOG_TAIL) st.lines.splice(0, st.lines.length - LOG_TAIL);
    st.next = p.next;
    if (p.final) break;
  }
  return st.lines;
}

// ---- Market ----
const marketState = { formBuilt: false, dirty: false };
pages.market = {
  shell: () => `<div class="card" id="mk-state"></div>
    <div class="split">
      <div class="card"><h2>Asking prices</h2><p class="muted">USD per device-hour. An entry is a device class (<code>A100-80GB</code>) or a pool (<code>gpu</code>, <code>apple</code>, <code>cpu</code>); a class entry wins over its pool's. Bids rise above these floors with load.</p>
        <div id="mk-asks"></div><h3 style="margin-top:14px">Edit</h3><div class="prices" id="mk-prices"></div>
        <div class="row"><button id="mk-add">+ add entry</button><span style="flex:1"></span><button class="primary" id="mk-save-prices">Save prices</button></div><div class="msg" id="mk-prices-msg"></div></div>
      <div class="card"><h2>Availability hours</h2><p class="muted">Local-time windows in which this node takes jobs, such as <code>18:00-08:00</code>; separate several with commas; empty = always.</p>
        <div class="row"><input id="mk-hours" placeholder="always" size="34"><button class="primary" id="mk-save-hours">Save hours</button></div><div class="msg" id="mk-hours-msg"></div>
        <div id="mk-offer"></div></div>
    </div>
    <div class="split"><div class="card"><h2>Recent clearing prices</h2><div id="mk-clearing"></div></div><div class="card"><h2>Bidding</h2><div id="mk-stats"></div></div></div>
    <div class="card" id="mk-token" hidden><h2>API token</h2><p class="muted">Changes need this node's API token: the file <code>api.token</code> in its data dir. Open the dashboard through the link the node prints, or paste the token here.</p>
      <div class="row"><input id="mk-token-in" size="70" placeholder="64 hex digits"><button id="mk-token-save">Use token</button></div></div>`,
  mount(root) {
    marketState.formBuilt = false;
    marketState.dirty = false;
    root.addEventListener("input", (ev) => { if (ev.target.closest("#mk-prices")) marketState.dirty = true; });
    root.addEventListener("click", async (ev) => {
      const id = ev.target.id;
      if (id === "mk-add") { addPriceRow("", ""); marketState.dirty = true; }
      if (ev.target.dataset.remove !== undefined) { ev.target.closest(".row").remove(); marketState.dirty = true; }
      if (id === "mk-save-prices") {
        const entries = [...root.querySelectorAll("#mk-prices .row")].map((r) => [$(".pk", r).value.trim(), $(".pv", r).value.trim()]).filter((e) => e[0] || e[1]).map((e) => e[0] + "=" + e[1]);
        await send("#mk-prices-msg", "PUT", "/api/v1/prices", { prices: entries }, "Prices saved");
        marketState.dirty = false; marketState.formBuilt = false;
      }
      if (id === "mk-save-hours") {
        const hours = $("#mk-hours").value.split(/[,\s]+/).map((s) => s.trim()).filter(Boolean);
        await send("#mk-hours-msg", "PUT", "/api/v1/hours", { hours }, "Hours saved");
        marketState.formBuilt = false;
      }
      if (id === "mk-pause") await send("#mk-state-msg", "POST", "/api/v1/pause", { reason: ($("#mk-reason") || {}).value || "" }, "Paused");
      if (id === "mk-resume") await send("#mk-state-msg", "POST", "/api/v1/resume", undefined, "Resumed");
      if (id === "mk-token-save") { setToken($("#mk-token-in").value.trim()); marketState.formBuilt = false; }
      if (id.startsWith("mk-")) refresh();
    });
  },
  async update(root) {
    const m = await api("/api/v1/market");
    const canEdit = !!token();
    $("#mk-token", root).hidden = canEdit;
    const msg = $("#mk-state-msg") ? $("#mk-state-msg").outerHTML : `<div class="msg" id="mk-state-msg"></div>`;
    let state, kind;
    if (!m.offering) { state = "Not offering"; kind = "bad"; }
    else if (m.paused) { state = "Paused"; kind = "warn"; }
    else if (!m.available) { state = "Outside its hours"; kind = "warn"; }
    else { state = "Offering"; kind = "good"; }
    $("#mk-state", root).innerHTML = `<div class="state"><span class="big" id="mk-status">${badge(state, kind)}</span>
      <span class="muted">${m.offering ? (m.paused ? `since ${when(m.paused_at)}${m.pause_reason ? ": " + esc(m.pause_reason) : ""}; no bids, every device shown busy` : m.published ? `record #${esc(m.record_seq)} published to the DHT, valid until ${new Date(m.record_expires).toLocaleTimeString()}` : "publishing the capacity record…") : "offer.enabled = false in the config: this node only buys"}</span>
      <span style="flex:1"></span>${m.offering ? (m.paused ? `<button class="primary" id="mk-resume" ${canEdit ? "" : "disabled"}>Resume offering</button>` : `<input id="mk-reason" placeholder="reason (optional)" size="18"><button class="danger" id="mk-pause" ${canEdit ? "" : "disabled"}>Pause offering</button>`) : ""}</div>${msg}`;
    $("#mk-asks", root).innerHTML = (m.asks || []).length
      ? `<table id="mk-asks-table"><tr><th>Class</th><th>Pool</th><th class="num">Devices</th><th class="num">Free</th><th class="num">Ask / h</th></tr>${m.asks.map((a) =>
          `<tr data-class="${esc(a.class)}"><td>${badge(a.class, "info")}</td><td>${esc(a.pool)}</td><td class="num">${esc(a.devices)}</td><td class="num">${esc(a.free)}</td><td class="num ask">${usd(a.price, 4)}</td></tr>`).join("")}</table>`
      : `<p class="empty">No devices.</p>`;
    if (!marketState.formBuilt && !marketState.dirty) {
      const box = $("#mk-prices", root);
      box.innerHTML = "";
      for (const e of m.prices || []) {
        const i = e.indexOf("=");
        addPriceRow(e.slice(0, i), e.slice(i + 1));
      }
      const hi = $("#mk-hours", root);
      if (document.activeElement !== hi) hi.value = (m.hours || []).join(", ");
      for (const el of root.querySelectorAll("#mk-prices input, #mk-hours, #mk-save-prices, #mk-save-hours, #mk-add")) el.disabled = !canEdit;
      marketState.formBuilt = true;
    }
    $("#mk-offer", root).innerHTML = `<dl class="kv" style="margin-top:14px"><dt>Executors</dt><dd>${(m.executors || []).map((e) => `<span class="pill">${esc(e)}</span>`).join("") || "—"}</dd>
      <dt>Region</dt><dd>${esc(m.region || "—")}${m.country ? " · " + esc(m.country) : ""}</dd>
      <dt>Saved to</dt><dd>${m.config_file ? `<code>${esc(m.config_file)}</code>` : '<span class="muted">no config file: changes last until restart</span>'}${m.save_error ? `<div class="msg err">${esc(m.save_error)}</div>` : ""}</dd></dl>`;
    $("#mk-clearing", root).innerHTML = (m.clearing || []).length
      ? `<table><tr><th>When</th><th>Side</th><th>Job</th><th>Counterparty</th><th>Class</th><th class="num">Price / h</th></tr>${m.clearing.map((c) =>
          `<tr><td>${when(c.at)}</td><td>${esc(c.role === "provider" ? "sold" : "bought")}</td><td><code>${esc(short(c.job))}</code></td><td><code title="${esc(c.peer)}">${esc(short(c.peer))}</code></td><td>${esc(c.class || "—")}</td><td class="num">${usd(c.price, 4)}</td></tr>`).join("")}</table>`
      : `<p class="empty">No job has cleared here yet: prices appear once this node buys or sells compute.</p>`;
    const st = m.stats || {};
    const declined = Object.entries(st.declined || {});
    $("#mk-stats", root).innerHTML = `<dl class="kv"><dt>Bids sent</dt><dd>${esc(st.bids_sent || 0)} <span class="muted">(${esc(st.bids_refused || 0)} refused or lost)</span></dd>
      <dt>Awards accepted</dt><dd>${esc(st.accepted || 0)} <span class="muted">(${esc(st.released || 0)} ended)</span></dd>
      <dt>Not bid on</dt><dd>${declined.length ? declined.map(([k, v]) => `<span class="pill">${esc(k)}: ${esc(v)}</span>`).join("") : "none"}</dd></dl>`;
  },
};

function addPriceRow(key, value) {
  const box = $("#mk-prices");
  const row = document.createElement("div");
  row.className = "row";
  const safe = key.replace(/[^A-Za-z0-9_.+-]/g, "");
  row.innerHTML = `<input class="pk" placeholder="class or pool" value="${esc(key)}" aria-label="class or pool"> = $<input class="pv" id="${safe ? "price-" + esc(safe) : ""}" placeholder="0.00" value="${esc(value)}" inputmode="decimal" aria-label="price"> / h <button data-remove title="remove">×</button>`;
  if (!safe) $(".pv", row).removeAttribute("id");
  box.appendChild(row);
}

async function send(msgSel, method, path, body, okText) {
  const el = $(msgSel);
  try {
    const m = await api(path, { method, body });
    if (el) { el.className = "msg ok"; el.textContent = okText + (m && m.saved ? " and written to the config file." : "."); }
    return m;
  } catch (e) {
    if (el) { el.className = "msg err"; el.textContent = (e.status === 401 ? "Refused: " : "") + e.message; }
    return null;
  }
}

// ---- Ledger ----
const ledgerState = { verified: {} };

// units is an amount of token base units (a decimal string, any size) with
// decimals places, to at most 6 decimals: 1002500 with 6 is "1.002500".
function units(s, decimals) {
  if (s === undefined || s === null || s === "") return "—";
  let v;
  try { v = BigInt(s); } catch (e) { return "?"; }
  const neg = v < 0n; if (neg) v = -v;
  const d = BigInt(decimals || 0), scale = 10n ** d;
  const whole = v / scale;
  let frac = (v % scale).toString().padStart(Number(d), "0").slice(0, 6);
  return (neg ? "−" : "") + whole.toString() + (frac ? "." + frac : "");
}

// sumUnits adds decimal strings exactly.
const sumUnits = (xs) => xs.reduce((a, x) => { try { return a + BigInt(x || "0"); } catch (e) { return a; } }, 0n).toString();

// settlementCards are the Ledger page's settlement parts: the wallet with
// its escrow and stake on chain, and each voucher channel held or signed.
function settlementCards(bal) {
  const w = bal.wallet, chans = bal.vouchers || [];
  if (!w && !chans.length) {
    return { wallet: `<p class="empty">Settlement off: receipts are recorded, nothing is paid on chain ([settlement] contract in the config).</p>`, vouchers: "" };
  }
  const dec = w ? w.decimals : 6;
  const held = chans.filter((c) => c.role === "held"), signed = chans.filter((c) => c.role === "signed");
  let wallet = "";
  if (w) {
    const elig = w.eligible === undefined ? "" : w.eligible ? " " + badge("eligible for staked jobs", "good") : " " + badge("below the minimum stake", "warn");
    wallet = `<dl class="kv" id="lg-wallet-kv">
      <dt>Wallet</dt><dd><code id="lg-wallet-address">${esc(w.address)}</code></dd>
      <dt>Token</dt><dd><code title="${esc(w.token)}">${esc(short(w.token))}</code> on chain ${esc(w.chain_id)}, contract <code title="${esc(w.contract)}">${esc(short(w.contract))}</code></dd>
      <dt>Escrow</dt><dd id="lg-escrow">${esc(units(w.escrow, dec))}${w.pending_withdrawal && w.pending_withdrawal !== "0" ? ` (${esc(units(w.pending_withdrawal, dec))} asked back, waiting out the notice)` : ""}</dd>
      <dt>Stake</dt><dd id="lg-stake">${esc(units(w.stake, dec))}${elig}</dd>
      <dt>In the wallet</dt><dd>${esc(units(w.balance, dec))}</dd>
      ${w.chain_error ? `<dt>Chain</dt><dd class="msg err" id="lg-chain-error">${esc(w.chain_error)}</dd>` : ""}</dl>`;
  }
  const redeemable = sumUnits(held.map((c) => c.redeemable));
  const row = (c) => {
    const other = c.role === "held" ? c.requester : c.provider;
    const red = c.role === "held"
      ? `<td class="num">${esc(units(c.redeemed, dec))}</td><td class="num">${esc(units(c.redeemable, dec))}</td><td>${c.redemption ? stateBadge(c.redemption) + (c.tx ? ` <code title="${esc(c.tx)}">${esc(short(c.tx))}</code>` : "") + (c.redeemed_at ? " " + when(c.redeemed_at) : "") : "none yet"}</td>`
      : `<td class="num">—</td><td class="num">—</td><td>—</td>`;
    return `<tr data-channel="${esc(c.role)}"><td>${esc(c.role === "held" ? "held (paid to you)" : "signed (you pay)")}</td><td><code title="${esc(other)}">${esc(short(other))}</code></td><td class="num">${esc(c.nonce)}</td><td class="num">${esc(units(c.cumulative, dec))}</td>${red}</tr>`;
  };
  const n = (k, word) => `${k} ${word}${k === 1 ? "" : "s"}`;
  const count = (cs) => cs.reduce((a, c) => a + (c.nonce || 0), 0);
  const vouchers = `<p id="lg-voucher-summary">held: ${esc(n(held.length, "channel"))}, ${esc(n(count(held), "voucher"))}; signed: ${esc(n(signed.length, "channel"))}, ${esc(n(count(signed), "voucher"))}; redeemable now <b id="lg-redeemable">${esc(units(redeemable, dec))}</b></p>` +
    (chans.length
      ? `<table id="lg-vouchers-table"><tr><th>Channel</th><th>Counterparty wallet</th><th class="num">Vouchers</th><th class="num">Cumulative</th><th class="num">Redeemed</th><th class="num">Redeemable</th><th>Last redemption</th></tr>${chans.map(row).join("")}</table>`
      : `<p class="empty">No vouchers yet: each receipt of a settled job comes with one.</p>`);
  return { wallet, vouchers };
}
pages.ledger = {
  shell: () => `<div class="grid" id="lg-balances"></div><div class="card"><h2>Settlement</h2><div id="lg-wallet"></div><div id="lg-vouchers"></div></div><div class="card"><h2>Receipts</h2><div id="lg-receipts"></div></div><div class="card" id="lg-receipt" hidden></div><div class="card"><h2>Anchors</h2><div id="lg-anchor-status"></div><div id="lg-anchors"></div></div>`,
  mount(root) {
    root.addEventListener("click", async (ev) => {
      const tr = ev.target.closest("tr[data-receipt]");
      if (tr) { ledgerState.selected = tr.dataset.receipt; refresh(); return; }
      const b = ev.target.closest("button[data-verify]");
      if (b) {
        b.disabled = true;
        const a = ledgerState.anchors[Number(b.dataset.verify)];
        try {
          const r = await api("/api/v1/anchors/verify", { method: "POST", body: a });
          ledgerState.verified[a.tx] = r.ok ? "verified on chain " + r.chain_id : (r.checked ? "FAILED: " : "not checked: ") + (r.reason || "");
        } catch (e) { ledgerState.verified[a.tx] = "error: " + e.message; }
        refresh();
      }
    });
  },
  async update(root) {
    const [bal, rec, anc] = await Promise.all([api("/api/v1/balances"), api("/api/v1/receipts?limit=50"), api("/api/v1/anchors")]);
    const pools = bal.pools || [];
    const sum = (f) => pools.reduce((a, p) => a + (p[f] || 0), 0);
    $("#lg-balances", root).innerHTML = [
      stat("Earned", micros(sum("earned")), `as provider, ${esc(micros(sum("provider_fees")))} fees`, "lg-earned"),
      stat("Spent", micros(sum("spent")), `as requester, ${esc(micros(sum("requester_fees")))} fees`, "lg-spent"),
      stat("Net", micros(sum("net")), pools.length ? pools.map((p) => `${esc(p.pool)} ${esc(micros(p.net))}`).join(" · ") : "no receipts yet", "lg-net"),
      stat("Ledger", esc(rec.size) + " entries", rec.anchored ? `${esc(rec.anchored)} anchored on chain` : "none anchored yet", "lg-size"),
    ].join("");
    const sc = settlementCards(bal);
    $("#lg-wallet", root).innerHTML = sc.wallet;
    $("#lg-vouchers", root).innerHTML = sc.vouchers;
    const rows = rec.receipts || [];
    $("#lg-receipts", root).innerHTML = rows.length
      ? `<table id="lg-receipts-table"><tr><th>#</th><th>Logged</th><th>Side</th><th>Job</th><th>Counterparty</th><th>Devices</th><th class="num">GPU time</th><th class="num">Unit price</th><th class="num">Amount</th><th>Status</th><th>Anchored</th></tr>${rows.map((r) => {
          const c = r.receipt;
          return `<tr class="click ${c.id === ledgerState.selected ? "sel" : ""}" data-receipt="${esc(c.id)}"><td>${esc(r.index)}</td><td>${when(r.logged)}</td><td>${esc(r.role === "provider" ? "earned" : "spent")}</td><td><code>${esc(short(c.job))}</code> r${esc(c.rank)}</td><td><code title="${esc(r.counterparty)}">${esc(short(r.counterparty))}</code></td>
            <td>${esc(c.devices)}× ${esc(c.class || c.pool)}</td><td class="num">${esc((c.gpu_millis / 1000).toFixed(2))} s</td><td class="num">${micros(c.unit_price, 4)}/h</td><td class="num">${micros(c.amount)}</td><td>${stateBadge(c.status)}</td><td>${r.anchored ? badge("anchored", "good") : badge("not yet", "")}</td></tr>`;
        }).join("")}</table>`
      : `<p class="empty">No receipts yet: each job this node runs or buys ends in a receipt both sides sign.</p>`;
    const det = $("#lg-receipt", root);
    if (ledgerState.selected) {
      const p = await api("/api/v1/receipts/" + encodeURIComponent(ledgerState.selected)).catch(() => null);
      det.hidden = !p;
      if (p) {
        det.innerHTML = `<h2>Receipt <code>${esc(p.receipt.id)}</code></h2><dl class="kv">
          <dt>Job</dt><dd><code>${esc(p.receipt.job)}</code> rank ${esc(p.receipt.rank)}, attempt ${esc(p.receipt.attempt)}</dd>
          <dt>Provider</dt><dd><code>${esc(p.receipt.provider)}</code></dd><dt>Requester</dt><dd><code>${esc(p.receipt.requester)}</code></dd>
          <dt>Time</dt><dd>${new Date(p.receipt.start).toLocaleString()} → ${new Date(p.receipt.end).toLocaleTimeString()}</dd>
          <dt>Money</dt><dd>requester pays ${micros(p.requester_pays)}, provider receives ${micros(p.provider_receives)}, pool ${esc(p.receipt.incentive_pool)} gets ${micros(p.pool_receives)}</dd>
          <dt>Result</dt><dd>exit ${esc(p.receipt.exit_status)} · <code>${esc(p.receipt.result_digest || "—")}</code></dd>
          <dt>Ledger entry</dt><dd>#${esc(p.entry.index)} of ${esc(p.log_size)} · leaf <code>${esc(short(p.entry.hash))}</code></dd>
          <dt>Inclusion</dt><dd>proof of ${esc((p.inclusion.proof || []).length)} hashes in the tree of size ${esc(p.inclusion.size)} (root <code>${esc(short(p.inclusion.root))}</code>) ${p.inclusion.anchored ? badge("anchored root", "good") : badge("current head", "")}</dd>
          <dt>Anchor</dt><dd>${p.anchor ? `<code>${esc(p.anchor.tx)}</code> block ${esc(p.anchor.block)}` : esc(p.not_anchored || "—")}</dd></dl>`;
      }
    }
    const st = anc.status || {};
    ledgerState.anchors = anc.anchors || [];
    $("#lg-anchor-status", root).innerHTML = `<dl class="kv"><dt>Anchoring</dt><dd>${st.enabled ? badge("on", "good") + (st.chain_id ? ` chain ${esc(st.chain_id)}` : "") + (st.interval ? ` · every ${esc(st.interval)} or ${esc(st.every)} entries` : "") : badge("off", "") + " " + esc(st.reason || "")}</dd>
      <dt>Ledger</dt><dd>${esc(rec.size)} entries, ${esc(st.anchored || 0)} covered by an anchor</dd>
      ${st.retrying ? `<dt>Retrying</dt><dd class="msg err">${esc(st.retrying)}</dd>` : ""}${st.error ? `<dt>Last error</dt><dd class="msg err">${esc(st.error)}</dd>` : ""}</dl>`;
    $("#lg-anchors", root).innerHTML = ledgerState.anchors.length
      ? `<table id="lg-anchors-table"><tr><th>Transaction</th><th>Chain</th><th class="num">Block</th><th>State</th><th class="num">Confirmations</th><th class="num">Gas</th><th>Sent</th><th>Verification</th></tr>${ledgerState.anchors.slice().reverse().map((a) => {
          const i = ledgerState.anchors.indexOf(a);
          const v = ledgerState.verified[a.tx];
          return `<tr><td><code title="${esc(a.tx)}">${esc(short(a.tx))}</code></td><td>${esc(a.chain_id)}</td><td class="num">${esc(a.block || "—")}</td><td>${stateBadge(a.state)}</td><td class="num">${esc(a.confirmations || 0)}</td><td class="num">${esc(a.gas_used || "—")}</td><td>${when(a.sent)}</td>
            <td>${v ? `<span class="${v.startsWith("verified") ? "msg ok" : "msg err"}">${esc(v)}</span>` : `<button data-verify="${i}">Verify on chain</button>`}</td></tr>`;
        }).join("")}</table>`
      : `<p class="empty">No anchors yet.</p>`;
  },
};

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  api("/api/v1/status").then((s) => { $("#peer").textContent = short(s.peer_id); document.title = "gpumesh · " + short(s.peer_id); }).catch(() => {});
  route();
});
