// Sessions page: filters, the queue with reasons, and per session rename, priority, stop, resume, delete, duplicate.
import { del, get, patch, post } from "./lib/api.js";
import { $, clear, el, when } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const root = $("#sessions-page");
const errorBox = $("#sessions-error");

function fail(error) {
  errorBox.textContent = error.details && error.details.length
    ? `${error.message} ${error.details.map((d) => `${d.path}: ${d.message}`).join("; ")}` : error.message;
  errorBox.hidden = false;
}

async function act(promise) {
  errorBox.hidden = true;
  try { await promise; } catch (error) { fail(error); }
  refresh();
}

function row(s) {
  const nameInput = el("input", { class: "form-control form-control-sm", value: s.name, "aria-label": `Name of session ${s.id}`, maxlength: "200" });
  const rename = el("button", { class: "btn btn-outline-secondary btn-sm", type: "button", "data-action": "rename",
    onclick: () => act(patch(`/api/sessions/${encodeURIComponent(s.id)}`, { name: nameInput.value })) }, "Rename");
  const priority = el("select", { class: "form-select form-select-sm", "aria-label": `Priority of session ${s.id}`,
    disabled: s.status !== "queued", "data-action": "priority",
    onchange: (e) => act(patch(`/api/sessions/${encodeURIComponent(s.id)}`, { priority: e.target.value })) },
    ["low", "normal", "high"].map((p) => el("option", { value: p }, p)));
  priority.value = s.priority_name;
  const id = encodeURIComponent(s.id);
  const actions = [
    el("a", { class: "btn btn-outline-primary btn-sm", href: `${root.dataset.trainUrl}?session=${id}` }, "Open"),
    el("a", { class: "btn btn-outline-secondary btn-sm", href: `/sessions/${id}`, "data-action": "job-page" },
      s.status === "completed" ? "Deploy" : "Details"),
    ["queued", "running"].includes(s.status) ? el("button", { class: "btn btn-outline-danger btn-sm", type: "button", "data-action": "stop",
      onclick: () => act(post("/api/training/stop", { session_id: s.id })) }, "Stop") : null,
    ["stopped", "failed", "interrupted"].includes(s.status) ? el("button", { class: "btn btn-outline-secondary btn-sm", type: "button", "data-action": "resume",
      onclick: () => act(post("/api/training/resume", { session_id: s.id })) }, "Resume") : null,
    el("button", { class: "btn btn-outline-secondary btn-sm", type: "button", "data-action": "duplicate", onclick: async () => {
      try { await post("/api/wizard/draft/from-config", { session_id: s.id }); window.location.href = root.dataset.wizardUrl; }
      catch (error) { fail(error); }
    } }, "Duplicate into wizard"),
    ["queued", "running", "stopping"].includes(s.status) ? null : el("button", { class: "btn btn-outline-danger btn-sm", type: "button",
      "data-action": "delete", onclick: () => {
        if (window.confirm(`Delete session "${s.name}" (${s.id}) with its metrics and output folder?`)) act(del(`/api/training/sessions/${id}`));
      } }, "Delete"),
  ];
  return el("tr", { "data-session-id": s.id },
    el("td", {}, el("div", { class: "input-group input-group-sm" }, nameInput, rename), el("code", { class: "small" }, s.id)),
    el("td", {}, el("span", { class: `badge status-${s.status}` }, s.status),
       s.waiting_reason ? el("div", { class: "text-secondary", "data-field": "waiting-reason" }, s.waiting_reason) : null,
       s.worker ? el("div", { class: "text-secondary", "data-field": "worker", title: "The worker it was handed to (scale-out)" },
         `worker ${s.worker}${s.attempt > 1 ? ` · attempt ${s.attempt}` : ""}`) : null,
       s.error ? el("div", { class: "text-danger text-break" }, s.error) : null),
    el("td", {}, `${s.method}${s.algorithm ? ` / ${s.algorithm}` : ""}`),
    el("td", { class: "text-break" }, s.model || "—"),
    el("td", {}, when(s.started_at), el("br"), when(s.finished_at)),
    el("td", {}, typeof s.best_reward === "number" ? s.best_reward.toFixed(3) : "—"),
    el("td", {}, priority),
    el("td", {}, el("div", { class: "d-flex flex-wrap gap-1" }, actions)));
}

async function refresh() {
  const params = new URLSearchParams();
  if ($("#filter-status").value) params.set("status", $("#filter-status").value);
  if ($("#filter-model").value) params.set("model", $("#filter-model").value);
  try {
    const data = await get(`/api/sessions?${params}`);
    const modelSelect = $("#filter-model");
    const chosen = modelSelect.value;
    clear(modelSelect).append(el("option", { value: "" }, "all"), ...data.models.map((m) => el("option", { value: m }, m)));
    modelSelect.value = data.models.includes(chosen) ? chosen : "";
    clear($("#sessions-table tbody")).append(...data.sessions.map(row));
    $("#sessions-count").textContent = `${data.sessions.length} session(s)`;
    clear($("#queue-list")).append(...(data.queue.length
      ? data.queue.map((q) => el("li", { "data-session-id": q.session_id }, el("code", {}, q.session_id),
        ` (${q.priority}): ${q.waiting_reason}`))
      : [el("li", { class: "text-secondary empty" }, "Nothing waits.")]));
    root.dataset.ready = "1";
  } catch (error) { fail(error); }
}

$("#filter-status").addEventListener("change", refresh);
$("#filter-model").addEventListener("change", refresh);
// Live updates re-render the table; wait while someone is typing a new name so the text is not lost.
let deferred = false;
function liveRefresh() {
  const active = document.activeElement;
  if (active && active.tagName === "INPUT" && $("#sessions-table").contains(active)) { deferred = true; return; }
  refresh();
}
$("#sessions-table").addEventListener("focusout", () => { if (deferred) { deferred = false; setTimeout(liveRefresh, 500); } });
const socket = getSocket();
if (socket) { socket.on("session_status", liveRefresh); socket.on("session_deleted", liveRefresh); }
refresh();
