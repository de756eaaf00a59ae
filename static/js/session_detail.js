// Job page: the Deploy panel. Each route (adapter on an Ollama library model, whole-model GGUF) shows its export's
// state, a button that starts the export, and once it is done the Modelfile and commands with copy buttons.
import { get, post } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const page = $("#job-page");
const sessionId = page.dataset.sessionId;
const optionsBox = $("#deploy-options");
const errorBox = $("#deploy-error");
const reasonBox = $("#deploy-reason");

function fail(error) {
  errorBox.textContent = error.message;
  errorBox.hidden = false;
}

// navigator.clipboard exists only in secure contexts (https or localhost); a studio opened over plain http on
// the LAN falls back to selecting the text and execCommand("copy").
async function copyText(text, button) {
  try {
    if (navigator.clipboard && window.isSecureContext) await navigator.clipboard.writeText(text);
    else {
      const area = el("textarea", { class: "visually-hidden" });
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      if (!ok) throw new Error("copy refused");
    }
    button.textContent = "Copied";
  } catch (_) {
    button.textContent = "Select and copy by hand";
  }
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

function block(label, text, name) {
  const button = el("button", { class: "btn btn-outline-secondary btn-sm py-0 ms-2", type: "button",
    "data-copy": name, onclick: () => copyText(text, button) }, "Copy");
  return el("div", { class: "mb-2", "data-block": name },
    el("div", { class: "d-flex align-items-center small fw-semibold" }, label, button),
    el("pre", { class: "copy-block border rounded bg-body-tertiary p-2 small mb-0", "data-text": name, text }));
}

function exportState(option) {
  const exp = option.export;
  if (!option.available) return el("p", { class: "small text-secondary", "data-field": "reason" }, option.reason);
  if (exp && exp.status === "completed") {
    return el("p", { class: "small mb-2" }, "Export ", el("code", {}, exp.id), ` ready (${exp.verification || "checked"}).`,
      " ", el("a", { href: `/api/exports/${exp.id}/download` }, "Download .tar.gz"));
  }
  const busy = exp && ["queued", "running"].includes(exp.status);
  const button = el("button", { class: "btn btn-primary btn-sm", type: "button", "data-action": "prepare", disabled: busy,
    "data-export-id": busy ? exp.id : null,
    onclick: async () => {
      button.disabled = true;
      errorBox.hidden = true;
      try { await post("/api/exports/create", option.create); await load(); } catch (error) { fail(error); button.disabled = false; }
    } }, busy ? `Exporting… ${Math.round((exp.progress || 0) * 100)}%` : `Prepare (${option.format} export)`);
  return el("div", { class: "mb-2" }, button,
    exp && exp.status === "failed" ? el("div", { class: "small text-danger" }, `Last export failed: ${(exp.error || "").split("\n")[0]}`) : null);
}

function card(option) {
  const body = el("div", { class: "card-body" },
    el("h3", { class: "h6 card-title" }, option.title),
    el("p", { class: "small text-secondary" }, option.summary),
    exportState(option));
  if (option.reason && option.available) body.append(el("p", { class: "small text-warning", "data-field": "reason" }, option.reason));
  if (option.modelfile) body.append(block("Modelfile", option.modelfile, "modelfile"));
  if (option.commands.length) body.append(block("Ollama: download, create, run", option.commands.join("\n"), "ollama-commands"));
  const lms = option.lmstudio;
  if (lms && lms.commands) {
    body.append(block("LM Studio: download and import", lms.commands.join("\n"), "lmstudio-commands"));
    body.append(block("LM Studio without the lms CLI: copy into its models folder", lms.by_hand.join("\n"), "lmstudio-folder"));
    if (lms.steps) body.append(el("details", { class: "small" }, el("summary", {}, "LM Studio settings (LMSTUDIO.md)"),
      el("pre", { class: "copy-block small", "data-text": "lmstudio-steps", text: lms.steps })));
  } else if (lms && lms.note) body.append(el("p", { class: "small text-secondary" }, lms.note));
  return el("div", { class: "col-lg-6" }, el("div", { class: "card h-100", "data-option": option.format }, body));
}

async function load() {
  try {
    const data = await get(`/api/sessions/${encodeURIComponent(sessionId)}/deployment`);
    $("#job-status").textContent = data.status;
    $("#token-hint").hidden = !data.token_required;
    reasonBox.textContent = data.reason || "";
    reasonBox.hidden = !data.reason;
    clear(optionsBox).append(...data.options.map(card));
    page.dataset.ready = "1";
  } catch (error) { fail(error); }
}

// Where it runs (scale-out): a queued session is handed to a worker, and a resumed one may move to another.
function showWorker(summary) {
  const line = $("#job-worker");
  line.hidden = !summary.worker;
  $('[data-field="worker"]', line).textContent = summary.worker || "";
  $('[data-field="attempt"]', line).textContent = summary.attempt > 1 ? ` · attempt ${summary.attempt}` : "";
}

async function loadWorker() {
  try {
    const data = await get(`/api/training/sessions/${encodeURIComponent(sessionId)}?max_points=2`);
    showWorker(data.session);
  } catch (_) { /* keeps what it showed */ }
}

const socket = getSocket();
if (socket) {
  const mine = (p) => p && p.session_id === sessionId;
  socket.on("export_status", (p) => { if (mine(p)) load(); });
  socket.on("export_complete", (p) => { if (mine(p)) load(); });
  socket.on("export_error", (p) => { if (mine(p)) load(); });
  socket.on("export_progress", (p) => {
    const button = optionsBox.querySelector(`[data-export-id="${p.export_id}"]`);
    if (button) button.textContent = `Exporting… ${Math.round((p.progress || 0) * 100)}% ${p.message || ""}`;
  });
  socket.on("session_status", (p) => { if (p && p.session_id === sessionId) { load(); loadWorker(); } });
}
load();
