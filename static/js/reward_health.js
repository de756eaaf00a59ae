// Train page, reward health: a curve per reward component (rewards/<name>/mean, std dashed) and the health
// alerts (stored with the session: GET /api/rewards/health/<id>, live: the "reward_health" event).
// It follows whichever session train.js opened: each join replays "training_history" for that session.
import { get } from "./lib/api.js";
import { el, $, clear } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const panel = $("#reward-health");
const socket = getSocket();
const PALETTE = ["#20c997", "#fd7e14", "#6f42c1", "#d63384", "#0dcaf0", "#6c757d", "#198754", "#dc3545"];
let sessionId = null;
const chart = typeof Chart === "function" ? new Chart($("#chart-reward-components"), {
  type: "line",
  data: { datasets: [] },
  options: { animation: false, parsing: false, responsive: true,
             scales: { x: { type: "linear", title: { display: true, text: "step" } } },
             plugins: { legend: { labels: { boxWidth: 10 } } } },
}) : null;

function series(key) {
  let ds = chart.data.datasets.find((d) => d.metricKey === key);
  if (!ds) {
    const name = key.split("/")[1];
    const names = [...new Set(chart.data.datasets.map((d) => d.metricKey.split("/")[1]))];
    const color = PALETTE[(names.includes(name) ? names.indexOf(name) : names.length) % PALETTE.length];
    const std = key.endsWith("/std");
    ds = { label: `${name}${std ? " std" : ""}`, metricKey: key, data: [], pointRadius: 1, borderWidth: std ? 1 : 1.5,
           borderColor: color, backgroundColor: color, borderDash: std ? [4, 3] : undefined };
    chart.data.datasets.push(ds);
  }
  return ds;
}

function addRow(row) {
  if (!chart || row.phase !== "grpo") return;
  const x = row.global_step ?? row.step;
  for (const [key, value] of Object.entries(row)) {
    if (!/^rewards\/[^/]+\/(mean|std)$/.test(key) || typeof value !== "number") continue;
    const ds = series(key);
    const at = ds.data.findIndex((p) => p.x === x);
    if (at >= 0) ds.data[at].y = value; else ds.data.push({ x, y: value });
  }
  chart.update("none");
}

function showAlerts(alerts) {
  const list = clear($("#reward-alerts"));
  const active = alerts.filter((a) => a.active !== false);
  panel.dataset.alerts = active.map((a) => a.code).join(" ");
  if (!active.length) {
    list.append(el("div", { class: "text-secondary" }, "No reward-health alerts."));
    return;
  }
  for (const a of active) {
    list.append(el("div", { class: "alert alert-warning py-1 px-2 mb-1", "data-alert": a.code },
      el("strong", {}, a.code.replace(/_/g, " ")), a.component ? ` (${a.component})` : "",
      ` at step ${a.last_step ?? a.step}: ${a.message} `, el("span", { class: "fw-semibold" }, `What to change: ${a.hint}`)));
  }
}

let alerts = [];
async function loadAlerts() {
  try {
    alerts = (await get(`/api/rewards/health/${encodeURIComponent(sessionId)}`)).alerts;
  } catch (_) {
    alerts = [];
  }
  showAlerts(alerts);
}

if (socket && chart) {
  socket.on("training_history", (h) => {
    sessionId = h.session.id;
    chart.data.datasets = [];
    h.metrics.forEach(addRow);
    loadAlerts();
  });
  socket.on("training_update", (e) => { if (e.session_id === sessionId) addRow(e); });
  socket.on("reward_health", (e) => {
    if (e.session_id !== sessionId) return;
    alerts = alerts.filter((a) => !(a.code === e.code && (a.component || null) === (e.component || null)));
    alerts.push({ ...e, active: true, last_step: e.step });
    showAlerts(alerts);
  });
}
