// A project's page: the project from /api/projects/<id>, its run live over Socket.IO (the session room the Train
// page joins: training_history on join, then training_update / training_progress / training_log / session_status),
// the frozen manifest and the validation checks.
import { del, get, post } from "./lib/api.js";
import { $ } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";
import { ACTIVE, STARTABLE } from "./project_format.js";
import { createCharts } from "./project_charts.js";
import { manifestMissing, showManifest, showValidation } from "./project_manifest.js";

const root = $("#project-page");
const api = root.dataset.api;
const charts = createCharts();
const socket = getSocket();
const LOG_LINES = 200;
let project = null;
let joined = null;     // the session id whose room this page is in
let manifestOf = null; // the session id whose manifest is shown
let validationPolls = 0; // a completed run is validated in the background: look again a while

function showError(message) {
  $("#project-error").textContent = message || "";
  $("#project-error").hidden = !message;
}

function fail(error) {
  const details = (error.details || []).map((d) => `${d.path}: ${d.message}`).join("; ");
  showError(details ? `${error.message} ${details}` : error.message);
}

function setStatus(status, error) {
  const badge = $("#project-status");
  badge.textContent = status;
  badge.className = `badge status-${status}${status === "draft" ? " text-bg-light border" : ""}`;
  root.dataset.status = status;
  $("#project-start").disabled = !STARTABLE.has(status);
  $("#project-start").textContent = status === "draft" ? "Start training" : "Start training again";
  $("#project-stop").disabled = !["queued", "running"].includes(status);
  $("#project-validate").disabled = status !== "completed";
  $("#project-delete").disabled = ACTIVE.has(status);
  if (error && status === "failed") showError(error);
}

function setProgress(p) {
  const total = p.total_steps || 0;
  const percent = total ? Math.min(100, (100 * (p.step || 0)) / total) : 0;
  $("#project-progress-bar").style.width = `${percent}%`;
  $("#project-progress").setAttribute("aria-valuenow", String(Math.round(percent)));
  const eta = typeof p.eta_seconds === "number" ? ` · ETA ${Math.round(p.eta_seconds)} s` : "";
  $("#project-progress-text").textContent = p.step || total ? `${p.phase || ""} ${p.step || 0}/${total || "?"}${eta}` : "–";
}

function addLog(line) {
  const log = $("#project-log");
  const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  const lines = (log.textContent + `[${line.level}] ${line.message}\n`).split("\n");
  log.textContent = lines.slice(-LOG_LINES - 1).join("\n");
  if (stick) log.scrollTop = log.scrollHeight;
}

function join(sessionId) {
  if (!socket || !sessionId || joined === sessionId) return;
  if (joined) socket.emit("leave_session", { session_id: joined });
  joined = sessionId;
  socket.emit("join_session", { session_id: sessionId }, (ack) => { if (ack && !ack.ok) showError(ack.error); });
}

async function loadManifest() {
  if (!project.session_id || manifestOf === project.session_id) return;
  try {
    const { manifest } = await get(`${api}/manifest`);
    showManifest(manifest, project.manifest_sha256);
    manifestOf = project.session_id;
  } catch (error) {
    manifestMissing(error.message);
  }
}

async function load() {
  try {
    ({ project } = await get(api));
  } catch (error) {
    fail(error);
    return;
  }
  setStatus(project.status, project.error);
  if (project.session_id) {
    $("#project-run").hidden = false;
    $("#run-id").textContent = project.session_id;
    $("#run-link").href = `/sessions/${encodeURIComponent(project.session_id)}`;
  }
  showValidation(project.validation);
  if (project.status === "completed" && !project.validation && validationPolls < 60) {
    validationPolls += 1;
    setTimeout(load, 5000);
  }
  join(project.session_id);
  await loadManifest();
  root.dataset.loaded = "1";
}

async function act(work) {
  showError("");
  try { await work(); } catch (error) { fail(error); }
  await load();
}

$("#project-start").addEventListener("click", () => act(async () => {
  $("#project-start").disabled = true;
  await post(`${api}/start`);
}));
$("#project-stop").addEventListener("click", () => act(() => post("/api/training/stop", { session_id: project.session_id })));
$("#project-validate").addEventListener("click", async () => {
  const button = $("#project-validate");
  button.disabled = true;
  $("#validation-note").textContent = "Validating: the checks load the trained model…";
  try { showValidation(await post(`${api}/validate`)); } catch (error) { fail(error); }
  button.disabled = root.dataset.status !== "completed";
});
$("#project-delete").addEventListener("click", async () => {
  if (!window.confirm(`Delete project "${project ? project.name : ""}" and its runs?`)) return;
  try {
    await del(api);
    window.location.href = root.dataset.listUrl;
  } catch (error) { fail(error); }
});

if (socket) {
  const mine = (e) => e && e.session_id === joined;
  socket.on("training_history", (h) => {
    if (!mine(h)) return;
    if (charts) { charts.reset(); h.metrics.forEach(charts.add); }
    $("#project-log").textContent = "";
    (h.logs || []).forEach(addLog);
    setStatus(h.session.status, h.session.error);
    $("#run-output").textContent = h.session.output_dir || "";
    setProgress({ ...h.session, ...(h.session.progress || {}) });
    const waiting = h.session.waiting_reason;
    $("#project-waiting").textContent = waiting ? `Queued: ${waiting}` : "";
    $("#project-waiting").hidden = !waiting;
    root.dataset.historyLoaded = "1";
  });
  socket.on("training_update", (e) => { if (mine(e) && charts) charts.add(e); });
  socket.on("training_progress", (e) => { if (mine(e)) { setProgress(e); $("#project-waiting").hidden = true; } });
  socket.on("training_log", (e) => { if (mine(e)) addLog(e); });
  socket.on("session_status", (e) => {
    if (!mine(e)) return;
    setStatus(e.status, e.error);
    if (!ACTIVE.has(e.status)) setTimeout(load, 1000); // the validation runs once the run completes
  });
  socket.on("connect", () => { if (joined) { const id = joined; joined = null; join(id); } });
}

load();
