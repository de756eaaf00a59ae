// The dashboard (home page): renders GET /api/dashboard, then stays live over Socket.IO with no polling:
// `system_update` (every ~2 s, to everyone) refreshes the machine panel in place; `dashboard_update` (sent to
// this user when their sessions, datasets or registry versions change: services/dashboard/live.py) refetches the
// payload once, debounced so a burst of changes costs one request.
import { get } from "./lib/api.js";
import { $, clear, el, when } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const root = $("#dashboard");
const SVG = "http://www.w3.org/2000/svg";
const DEBOUNCE_MS = 250;
let chart = null;

const pct = (v) => (typeof v === "number" ? `${v.toFixed(0)}%` : "–");
const num = (v) => (typeof v === "number" ? v.toLocaleString("en") : "–");
const gib = (mib) => (mib / 1024).toFixed(1);

function level(node, value) {
  node.classList.toggle("warn", value >= 75 && value < 90);
  node.classList.toggle("danger", value >= 90);
}

function bar(value) {
  const fill = el("div", { class: "progress-bar" });
  fill.style.width = `${Math.max(0, Math.min(100, value || 0))}%`;
  return el("div", { class: "progress", role: "progressbar", "aria-valuenow": String(Math.round(value || 0)),
                     "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
}

function renderSystem(s) {
  if (!s) return;
  for (const key of ["cpu", "memory", "disk"]) {
    const meter = root.querySelector(`[data-meter="${key}"]`);
    meter.querySelector("[data-value]").textContent = pct(s[key]);
    meter.querySelector(".progress-bar").style.width = `${s[key] || 0}%`;
    level(meter, s[key]);
  }
  const gpus = s.gpus || [];
  const box = clear($("#dash-gpus"));
  if (!gpus.length) {
    box.append(root.dataset.executor === "rq" ? "No NVIDIA GPU on the web server (training runs on the workers)."
                                              : "No NVIDIA GPU detected: training runs on the CPU.");
  }
  for (const g of gpus) {
    const memory = g.memory_total ? (100 * g.memory_used) / g.memory_total : 0;
    const row = el("div", { class: "gpu mb-2 text-body", "data-gpu": String(g.index) },
      el("div", { class: "d-flex justify-content-between" }, el("span", {}, `#${g.index} ${g.name}`),
         el("span", {}, g.temperature != null ? `${g.temperature}°C` : "")),
      el("div", { class: "d-flex justify-content-between text-secondary" }, el("span", {}, "Utilisation"),
         el("span", { "data-field": "utilization" }, pct(g.utilization))),
      bar(g.utilization),
      el("div", { class: "d-flex justify-content-between text-secondary" }, el("span", {}, "Memory"),
         el("span", {}, `${gib(g.memory_used)} / ${gib(g.memory_total)} GiB`)),
      bar(memory));
    level(row, Math.max(g.utilization || 0, memory));
    box.append(row);
  }
  root.dataset.systemAt = String(s.timestamp);
}

function renderCounts(counts) {
  for (const [key, value] of Object.entries(counts)) {
    const node = root.querySelector(`[data-count="${key}"]`);
    if (node) node.textContent = num(value);
  }
}

function renderActivity(activity) {
  const labels = activity.days.map((d) => d.slice(5));
  if (!chart) {
    chart = new Chart($("#activity-chart"), {
      type: "line",
      data: { labels, datasets: [
        { label: "started", data: activity.started, borderColor: "#0d6efd", backgroundColor: "rgba(13, 110, 253, .12)",
          fill: true, tension: 0, pointRadius: 2 },
        { label: "finished", data: activity.finished, borderColor: "#198754", backgroundColor: "#198754",
          borderDash: [5, 3], tension: 0, pointRadius: 2 },
      ] },
      options: { animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
    return;
  }
  chart.data.labels = labels;
  chart.data.datasets[0].data = activity.started;
  chart.data.datasets[1].data = activity.finished;
  chart.update("none");
}

function sparkline(points) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", "0 0 120 28");
  svg.setAttribute("preserveAspectRatio", "none");
  if (points.length < 2) return svg;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const x = (v) => (x1 === x0 ? 60 : 2 + ((v - x0) / (x1 - x0)) * 116);
  const y = (v) => (y1 === y0 ? 14 : 26 - ((v - y0) / (y1 - y0)) * 24);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
  svg.append(line);
  return svg;
}

function renderRuns(runs) {
  const body = clear($("#recent-runs tbody"));
  if (!runs.length) {
    body.append(el("tr", {}, el("td", { colspan: "4", class: "text-secondary" }, "No training runs yet: start the wizard.")));
    return;
  }
  for (const r of runs) {
    const last = r.sparkline.length ? r.sparkline[r.sparkline.length - 1][1] : null;
    body.append(el("tr", { "data-session-id": r.id },
      el("td", {}, el("a", { href: `${root.dataset.trainUrl}?session=${encodeURIComponent(r.id)}`, class: "fw-semibold" },
                      r.name === "untitled" ? r.id : r.name),
         el("div", { class: "small text-secondary" }, when(r.created_at))),
      el("td", {}, el("span", { class: `badge status-${r.status}` }, r.status)),
      el("td", {}, r.method),
      el("td", { class: "text-nowrap", title: r.metric ? `${r.metric}, ${r.sparkline.length} points` : "no metrics yet" },
         sparkline(r.sparkline),
         el("span", { class: "small ms-2 sparkline-last" }, last === null ? "–" : `${r.metric} ${last.toFixed(3)}`))));
  }
}

function renderDeployed(deployed) {
  const body = clear($("#deployed-models tbody"));
  if (!deployed.length) {
    body.append(el("tr", {}, el("td", { colspan: "4", class: "text-secondary" }, "No deployed models.")));
    return;
  }
  for (const d of deployed) {
    const s = d.stats;  // null until the deploy service is installed: no figures rather than zeros
    body.append(el("tr", { "data-version-id": String(d.id) },
      el("td", {}, el("span", { class: "fw-semibold" }, d.ref),
         d.base_model ? el("div", { class: "small text-secondary text-break" }, d.base_model) : null),
      el("td", { class: "text-end", "data-field": "requests" }, s ? num(s.requests) : "–"),
      el("td", { class: "text-end" }, s ? num(s.errors) : "–"),
      el("td", { class: "text-end text-nowrap" }, s ? `${num(s.p50_ms)} / ${num(s.p95_ms)}` : "–")));
  }
}

let inFlight = false, again = false, timer = null;

async function refresh() {
  if (inFlight) { again = true; return; }
  inFlight = true;
  try {
    const data = await get(root.dataset.apiUrl);
    renderCounts(data.counts);
    renderActivity(data.activity);
    renderRuns(data.recent_runs);
    renderDeployed(data.deployed);
    renderSystem(data.system);
    root.dataset.loads = String(Number(root.dataset.loads) + 1);
  } catch (_) { /* keeps what it showed; the next event tries again */ }
  inFlight = false;
  if (again) { again = false; refresh(); }
}

function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(refresh, DEBOUNCE_MS);
}

if (root) {
  refresh();
  const socket = getSocket();
  if (socket) {
    socket.on("system_update", renderSystem);
    socket.on("dashboard_update", refreshSoon);
    socket.on("connect", () => { if (Number(root.dataset.loads) > 0) refreshSoon(); });  // missed while away
  }
}
