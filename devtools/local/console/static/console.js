// The local console: polls its JSON API (/_console/api/...) and renders plain DOM (textContent only).
"use strict";
const API = "/_console/api";
const POLL_MS = 500;
let lastSeq = 0;
let activeTab = "requests";
let charts = [];
let dataNext = null;

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (name === "className") node.className = value;
    else if (name === "onclick") node.onclick = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function get(path) {
  const response = await fetch(API + path, {cache: "no-store"});
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}

const time = (seconds) => new Date(seconds * 1000).toLocaleTimeString();
const ms = (value) => (value === null || value === undefined ? "-" : value.toFixed(1) + " ms");

function startCell(invocation) {
  if (!invocation) return el("td", {}, "-");
  return invocation.cold
    ? el("td", {className: "cold", "data-start": "cold"}, "cold (init " + ms(invocation.init_ms) + ")")
    : el("td", {className: "warm", "data-start": "warm"}, "warm");
}

function memoryCell(invocation) {
  if (!invocation || !invocation.peak_mb) return el("td", {}, "-");
  return el("td", {}, invocation.peak_mb + " / " + invocation.memory_mb + " MB");
}

// -- requests
async function pollRequests() {
  const {requests} = await get("/requests?after=" + lastSeq);
  const rows = document.getElementById("request-rows");
  for (const r of requests) {
    lastSeq = Math.max(lastSeq, r.seq);
    const i = r.invocation;
    const row = el("tr", {className: "clickable", "data-seq": r.seq, "data-function": r.function},
      el("td", {}, time(r.time)), el("td", {}, r.method), el("td", {className: "wrap"}, r.path),
      el("td", {className: r.status >= 400 ? "error" : ""}, r.status), el("td", {}, r.tenant || "-"),
      el("td", {}, ms(r.ms)), el("td", {}, r.function),
      el("td", {}, i && i.pid ? "pid " + i.pid : "-"), startCell(i),
      el("td", {className: i && i.error ? "error" : ""}, i ? ms(i.duration_ms) + (i.error ? " " + i.error : "") : "-"),
      memoryCell(i));
    row.onclick = () => showRequest(r.seq, row);
    rows.prepend(row);
  }
  while (rows.children.length > 500) rows.lastChild.remove();
}

async function showRequest(seq, row) {
  document.querySelectorAll("#request-rows tr.selected").forEach((r) => r.classList.remove("selected"));
  row.classList.add("selected");
  const detail = await get("/requests/" + seq);
  const box = document.getElementById("request-detail");
  box.replaceChildren(
    el("div", {}, el("h2", {}, "API Gateway event"), el("pre", {id: "detail-event"}, JSON.stringify(detail.event, null, 2))),
    el("div", {}, el("h2", {}, "Response"), el("pre", {id: "detail-response"}, JSON.stringify(detail.response, null, 2)),
      el("h2", {}, "Invocations"), el("pre", {}, JSON.stringify(detail.request.invocations, null, 2))));
  box.hidden = false;
  box.dataset.seq = String(seq);  // which request it shows
}

// -- functions
async function refreshFunctions() {
  const {functions, window} = await get("/functions");
  document.getElementById("function-rows").replaceChildren(...functions.map((f) => el("tr", {"data-function": f.name},
    el("td", {}, f.name),
    el("td", {}, f.instances.warm + " / " + f.instances.busy + " / " + f.instances.idle),
    el("td", {}, f.invocations), el("td", {}, f.cold_starts),
    el("td", {className: f.errors ? "error" : ""}, f.errors), el("td", {}, f.timeouts), el("td", {}, f.out_of_memory),
    el("td", {}, f.throttles), el("td", {}, f.concurrency_reached + " / " + (f.concurrency_limit ?? "-")),
    el("td", {}, (f.peak_mb ?? "-") + " / " + f.memory_mb + " MB"))));
  document.getElementById("functions-window").textContent =
    "Counts over the last " + window + " invocations; instances as they are now.";
}

// -- data
async function loadTenants() {
  const {tenants} = await get("/tenants");
  const select = document.getElementById("data-tenant");
  const current = select.value;
  select.replaceChildren(...tenants.map((t) => el("option", {value: t}, t)));
  if (tenants.includes(current)) select.value = current;
}

async function showData(next) {
  const tenant = document.getElementById("data-tenant").value;
  const kind = document.getElementById("data-kind").value;
  const page = await get("/data?tenant=" + encodeURIComponent(tenant) + "&kind=" + kind +
    (next ? "&next=" + encodeURIComponent(next) : ""));
  dataNext = page.next;
  document.getElementById("data-next").disabled = !dataNext;
  const names = [...new Set(page.items.flatMap((item) => Object.keys(item)))];
  document.getElementById("data-items").replaceChildren(page.items.length
    ? el("table", {}, el("thead", {}, el("tr", {}, ...names.map((n) => el("th", {}, n)))),
      el("tbody", {}, ...page.items.map((item) => el("tr", {}, ...names.map((n) =>
        el("td", {}, item[n] === undefined ? "" : typeof item[n] === "object" ? JSON.stringify(item[n]) : item[n]))))))
    : el("p", {className: "hint"}, "No " + kind + " for " + tenant + (next ? " on this page" : "") + "."));
}

// -- events
async function refreshEvents() {
  const {mappings, batches, dead_letters, published} = await get("/events");
  document.getElementById("mappings").replaceChildren(...mappings.map((m) => el("div", {},
    el("p", {}, m.name + " on " + m.table + " (batch " + m.batch_size + ", retries " + m.max_retries +
      (m.bisect ? ", bisect on error" : "") + (m.destination ? ", on failure: " + m.destination : "") + ")"),
    el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "shard"), el("th", {}, "checkpoint"),
      el("th", {}, "read to"), el("th", {}, "pending"), el("th", {}, "retries"))),
      el("tbody", {}, ...m.shards.map((s) => el("tr", {}, el("td", {}, s.shard_id), el("td", {}, s.checkpoint || "-"),
        el("td", {}, s.read_to || "-"), el("td", {}, s.pending), el("td", {}, s.attempts))))))));
  document.getElementById("batch-rows").replaceChildren(...batches.slice().reverse().map((b) => el("tr", {},
    el("td", {}, time(b.time)), el("td", {}, b.mapping), el("td", {}, b.shard_id), el("td", {}, b.size),
    el("td", {}, b.first_sequence + ".." + b.last_sequence),
    el("td", {className: b.failed_at === null ? "" : "error"},
      b.failed_at === null ? "processed" : (b.error || "failed") + " at record " + b.failed_at + (b.bisected ? ", bisected" : "")),
    el("td", {}, b.function))));
  document.getElementById("dead-letters").replaceChildren(...(dead_letters.length ? dead_letters.slice().reverse().map((d) => {
    const info = d.DDBStreamBatchInfo || {};
    return el("div", {className: "letter"},
      el("p", {}, d.timestamp + " " + d.requestContext.condition + " after " + d.requestContext.approximateInvokeCount +
        " invocations: shard " + info.shardId + ", sequence numbers " + info.startSequenceNumber + ".." +
        info.endSequenceNumber + " (" + info.batchSize + " records)"),
      el("pre", {}, JSON.stringify((d.records || []).map((r) => r.dynamodb && r.dynamodb.Keys), null, 1)));
  }) : [el("p", {className: "hint"}, "None.")]));
  document.getElementById("published").replaceChildren(...(published.length ? [el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "source"), el("th", {}, "detail-type"), el("th", {}, "detail"))),
    el("tbody", {}, ...published.slice().reverse().map((e) => el("tr", {}, el("td", {}, e.time), el("td", {}, e.source),
      el("td", {}, e["detail-type"]), el("td", {className: "wrap"}, JSON.stringify(e.detail))))))] : [el("p", {className: "hint"}, "None.")]));
}

// -- usage
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];

function chart(target, title, times, series) {
  const width = Math.max(400, document.getElementById("usage").clientWidth - 20);
  const options = {title, width, height: 220, scales: {x: {time: true}}, series: [{}, ...series.map((s, i) =>
    ({label: s.label, stroke: COLORS[i % COLORS.length], width: 2, dash: s.dash, points: {show: true}}))]};
  return new uPlot(options, [times, ...series.map((s) => s.values)], document.getElementById(target));
}

async function refreshUsage() {
  const usage = await get("/usage");
  document.getElementById("bucket").textContent = usage.bucket_seconds;
  const tenants = Object.keys(usage.series).sort();
  const times = [...new Set(tenants.flatMap((t) => usage.series[t].time))].sort((a, b) => a - b);
  // A bucket without a tenant's requests: 0 requests and errors, no latency.
  const aligned = (tenant, field) => times.map((moment) => {
    const index = usage.series[tenant].time.indexOf(moment);
    if (index >= 0) return usage.series[tenant][field][index];
    return field === "requests" || field === "errors" ? 0 : null;
  });
  charts.forEach((c) => c.destroy());
  document.getElementById("usage-chart").replaceChildren();
  document.getElementById("latency-chart").replaceChildren();
  charts = [
    chart("usage-chart", "requests (errors dashed)", times, tenants.flatMap((t) => [
      {label: t + " requests", values: aligned(t, "requests")},
      {label: t + " errors", values: aligned(t, "errors"), dash: [4, 4]}])),
    chart("latency-chart", "latency", times, tenants.flatMap((t) => [
      {label: t + " p50", values: aligned(t, "p50_ms")},
      {label: t + " p99", values: aligned(t, "p99_ms"), dash: [4, 4]}])),
  ];
  document.getElementById("usage-rows").replaceChildren(...usage.table.map((row) => el("tr", {},
    el("td", {}, row.tenant), el("td", {}, row.method), el("td", {}, row.route), el("td", {}, row.requests),
    el("td", {className: row.errors ? "error" : ""}, row.errors), el("td", {}, row.p50_ms), el("td", {}, row.p99_ms))));
  window.consoleCharts = charts;  // for a look at the drawn data (the browser test)
  document.getElementById("usage").dataset.drawn = String(tenants.length);
}

// -- tabs and polling
const REFRESH = {functions: refreshFunctions, events: refreshEvents, usage: refreshUsage};
let refreshing = false;

async function tick() {
  if (refreshing) return;
  refreshing = true;
  try {
    await pollRequests();
    if (REFRESH[activeTab] && activeTab !== "usage") await REFRESH[activeTab]();
  } catch (error) {
    console.warn(error);
  } finally {
    refreshing = false;
  }
}

document.querySelectorAll("nav button").forEach((button) => button.addEventListener("click", async () => {
  activeTab = button.dataset.tab;
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b === button));
  document.querySelectorAll(".tab").forEach((tab) => tab.classList.toggle("active", tab.id === activeTab));
  if (activeTab === "data") { await loadTenants(); await showData(null); }
  else if (REFRESH[activeTab]) await REFRESH[activeTab]();
}));
document.getElementById("data-form").addEventListener("submit", (event) => { event.preventDefault(); showData(null); });
document.getElementById("data-next").addEventListener("click", () => showData(dataNext));
setInterval(tick, POLL_MS);
setInterval(() => { if (activeTab === "usage") refreshUsage().catch(console.warn); }, 5000);
tick();
