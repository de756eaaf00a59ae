// Export step: start exports, follow their progress over Socket.IO, show manifests, download files.
import { del, get, post } from "./lib/api.js";
import { $, clear, el, humanSize, showErrors } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const app = $("#export-app");
const form = $("#export-form");
const sessionSelect = $("#export-session");
const checkpointSelect = $("#export-checkpoint");
const tbody = $("#exports-table tbody");
const detail = $("#export-detail");
const errorBox = $("#export-error");
const rows = new Map();
let checkpointsBySession = {};

function statusBadge(status) {
  const colour = { completed: "success", failed: "danger", running: "primary", queued: "secondary",
    cancelled: "warning", interrupted: "warning" }[status] || "secondary";
  return el("span", { class: `badge text-bg-${colour}`, "data-field": "status", text: status });
}

function renderRow(exp) {
  const existing = rows.get(exp.id);
  const percent = Math.round((exp.progress || 0) * 100);
  const actions = el("td", { class: "text-nowrap" });
  if (exp.status === "completed") {
    actions.append(el("a", { class: "btn btn-link btn-sm p-0 me-2", href: `/api/exports/${exp.id}/download`,
      text: "tar.gz" }));
    actions.append(el("button", { class: "btn btn-link btn-sm p-0 me-2", type: "button", text: "details",
      onclick: () => showDetail(exp.id) }));
    actions.append(el("button", { class: "btn btn-link btn-sm p-0 me-2", type: "button", text: "Register in Models",
      "data-action": "register", onclick: (event) => registerExport(exp.id, event.target) }));
  }
  if (exp.status === "queued" || exp.status === "running") {
    actions.append(el("button", { class: "btn btn-outline-warning btn-sm py-0", type: "button", text: "Cancel",
      onclick: () => post(`/api/exports/${exp.id}/cancel`).catch((e) => showErrors(e, form, errorBox)) }));
  } else {
    if (["failed", "cancelled", "interrupted"].includes(exp.status)) {
      actions.append(el("button", { class: "btn btn-outline-primary btn-sm py-0 me-1", type: "button", text: "Retry",
        onclick: () => post(`/api/exports/${exp.id}/retry`).then((r) => renderRow(r.export))
          .catch((e) => showErrors(e, form, errorBox)) }));
    }
    actions.append(el("button", { class: "btn btn-outline-danger btn-sm py-0", type: "button", text: "Delete",
      onclick: () => del(`/api/exports/${exp.id}`).then(() => { rows.get(exp.id)?.remove(); rows.delete(exp.id); })
        .catch((e) => showErrors(e, form, errorBox)) }));
  }
  const what = exp.format === "gguf"
    ? `GGUF ${exp.quantization_applied && exp.quantization_applied !== exp.quantization
      ? `${exp.quantization} → ${exp.quantization_applied}` : exp.quantization}` : exp.format;
  const tr = el("tr", { "data-export-id": exp.id, "data-status": exp.status },
    el("td", {}, el("code", { text: exp.id })), el("td", { text: exp.session_id }), el("td", { text: what }),
    el("td", {}, statusBadge(exp.status)),
    el("td", { "data-field": "progress", text: exp.status === "running" ? `${percent}% ${exp.stage || ""}` : (exp.error ? exp.error.split("\n")[0] : "") }),
    el("td", { text: exp.size ? humanSize(exp.size) : "–" }),
    el("td", { "data-field": "verification", text: verificationLabel(exp) }), actions);
  if (existing) existing.replaceWith(tr); else tbody.prepend(tr);
  rows.set(exp.id, tr);
}

// A completed export becomes a registry version by hand (runs register themselves; their exports do not).
async function registerExport(id, button) {
  errorBox.hidden = true;
  try {
    const { version } = await post("/api/registry/register", { export_id: id });
    button.replaceWith(el("a", { class: "btn btn-link btn-sm p-0 me-2", "data-field": "registered",
      href: `/models/${encodeURIComponent(version.name)}/versions/${version.version}`, text: version.ref }));
  } catch (error) { showErrors(error, form, errorBox); }
}

// Fidelity (the file answers like its model) and behaviour (the model ends its answers) are separate results.
function verificationLabel(exp) {
  if (exp.fidelity) return `${exp.fidelity}; ${exp.behaviour || ""}`;
  return exp.verification || "–";
}

async function showDetail(id) {
  const exp = await get(`/api/exports/${id}`);
  const m = exp.manifest || {};
  clear(detail).append(el("h2", { class: "h6", text: `Export ${id}` }));
  const v = m.verification || {};
  detail.append(el("p", {}, el("strong", { text: "Verification: " }),
    el("span", { "data-field": "verification-status", text: v.status || "–" }),
    v.agreement !== undefined ? ` (token agreement ${(v.agreement * 100).toFixed(0)}%)` : ""));
  if (v.fidelity) {
    detail.append(el("p", { class: "mb-1" }, el("strong", { text: "Fidelity: " }),
      el("span", { "data-field": "verification-fidelity", text: v.fidelity.summary })));
    detail.append(el("p", { class: "mb-1" }, el("strong", { text: "Behaviour: " }),
      el("span", { "data-field": "verification-behaviour", text: v.behaviour.summary })));
  }
  for (const problem of v.problems || []) detail.append(el("div", { class: "text-warning", text: problem }));
  if (m.tensor_types) {
    detail.append(el("p", {}, el("strong", { text: "Tensor types: " }),
      Object.entries(m.tensor_types).map(([k, n]) => `${k} × ${n}`).join(", ")));
    if (m.note) detail.append(el("p", { class: "text-secondary", text: m.note }));
  }
  if (m.ollama) detail.append(el("p", {}, el("strong", { text: "Ollama: " }), el("code", { text: m.ollama.create }),
    " then ", el("code", { text: m.ollama.run })));
  if (m.lmstudio) detail.append(el("p", {}, el("strong", { text: "LM Studio: " }),
    `put the GGUF in <models>/${m.lmstudio.folder}/ (steps in LMSTUDIO.md).`));
  const list = el("ul", { class: "mb-0" });
  for (const f of m.files || []) {
    list.append(el("li", {}, el("a", { href: `/api/exports/${id}/download?file=${encodeURIComponent(f.name)}`,
      text: f.name }), ` ${humanSize(f.size)} sha256 ${f.sha256.slice(0, 12)}…`));
  }
  detail.append(list);
  detail.hidden = false;
}

async function loadSessions() {
  const [{ sessions }, models] = await Promise.all([get("/api/training/sessions"), get("/api/models/list")]);
  checkpointsBySession = {};
  for (const m of models.sessions) {
    if (m.kind === "checkpoint") (checkpointsBySession[m.session_id] ||= []).push(m.id.split(":").slice(2).join(":"));
  }
  const trained = new Set(models.sessions.map((m) => m.session_id));
  clear(sessionSelect);
  for (const s of sessions.filter((s) => trained.has(s.id))) {
    sessionSelect.append(el("option", { value: s.id, text: `${s.name} (${s.id}, ${s.status})` }));
  }
  if (app.dataset.sessionId) sessionSelect.value = app.dataset.sessionId;
  fillCheckpoints();
}

function fillCheckpoints() {
  clear(checkpointSelect).append(el("option", { value: "", text: "final (adapter or model folder)" }));
  for (const c of checkpointsBySession[sessionSelect.value] || []) checkpointSelect.append(el("option", { value: c, text: c }));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showErrors(null, form, errorBox);
  const data = Object.fromEntries(new FormData(form));
  if (data.format !== "gguf") delete data.quantization;
  try {
    const { export: exp } = await post("/api/exports/create", data);
    renderRow(exp);
  } catch (error) { showErrors(error, form, errorBox); }
});
sessionSelect.addEventListener("change", fillCheckpoints);
$("#export-format").addEventListener("change", (e) => { $("#quantization-field").hidden = e.target.value !== "gguf"; });

const socket = getSocket();
if (socket) {
  socket.on("export_status", renderRow);
  socket.on("export_progress", (p) => {
    const tr = rows.get(p.export_id);
    if (tr) tr.querySelector("[data-field=progress]").textContent = `${Math.round((p.progress || 0) * 100)}% ${p.message || ""}`;
  });
  socket.on("export_complete", (exp) => { renderRow(exp); });
  socket.on("export_error", (p) => get(`/api/exports/${p.export_id}`).then(renderRow));
}

(async () => {
  try {
    await loadSessions();
    const { exports } = await get("/api/exports/list");
    for (const exp of exports.reverse()) renderRow(exp);
    app.dataset.ready = "1";
  } catch (error) { showErrors(error, form, errorBox); }
})();
