// Wizard step "Review": the draft as readable sections and JSON, estimates, Start, Save as…, saved configs.
import { del, get, patch, post, upload } from "./lib/api.js";
import { $, clear, el, showErrors } from "./lib/dom.js";
import { loadDraft, say } from "./wizard_draft.js";

const root = $("#review-step");
const errorBox = $("#review-error");
let draft = null;

const ORDER = ["model", "dataset", "training", "grpo", "reward", "pre_training"];  // then any newer section
const TITLES = { model: "Model", dataset: "Dataset & prompts", training: "Training", grpo: "GRPO", reward: "Reward",
                 pre_training: "Pre-training" };

function show(value) {
  if (value === null || value === undefined) return "—";
  if (Array.isArray(value)) return value.map((v) => (typeof v === "object" ? JSON.stringify(v) : v)).join(", ") || "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function renderSections() {
  const box = $("#review-sections");
  clear(box).append(el("h2", { class: "h6" }, "Configuration"));
  const top = Object.entries(draft).filter(([, v]) => typeof v !== "object" || v === null);
  if (top.length) box.append(el("dl", { class: "row small mb-2" }, top.flatMap(([k, v]) => [
    el("dt", { class: "col-sm-5 fw-normal text-secondary" }, k), el("dd", { class: "col-sm-7 mb-0" }, show(v))])));
  const sections = Object.keys(draft).sort((a, b) => (ORDER.indexOf(a) + 1 || 99) - (ORDER.indexOf(b) + 1 || 99));
  for (const section of sections) {
    const values = draft[section];
    if (typeof values !== "object" || values === null || Array.isArray(values)) continue;
    box.append(el("h3", { class: "h6 mt-2 small text-uppercase text-secondary" }, TITLES[section] || section),
      el("dl", { class: "row small mb-1", "data-section": section }, Object.entries(values).flatMap(([k, v]) => [
        el("dt", { class: "col-sm-5 fw-normal text-secondary" }, k),
        el("dd", { class: "col-sm-7 mb-0 text-break", "data-path": `${section}.${k}` }, show(v))])));
  }
  $("#review-json").textContent = JSON.stringify(draft, null, 2);
}

function fmtSeconds(s) {
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

async function renderEstimate() {
  const box = $("#review-estimate");
  try {
    const e = await get("/api/wizard/estimate");
    const rows = [
      ["GRPO steps", e.grpo_steps === null ? "depends on the dataset size (all rows)" : e.grpo_steps],
      ["SFT pre-training steps", e.sft_steps === null ? "depends on the dataset size" : e.sft_steps],
      ["Completions per step", e.completions_per_step],
      ["Time per step", e.seconds_per_step ? `${e.seconds_per_step.toFixed(1)} s (median of ${e.measured_steps} steps of earlier sessions of this model on this machine)`
        : "not measured yet: no earlier session of this model here"],
      ["Estimated GRPO time", e.estimated_seconds ? fmtSeconds(e.estimated_seconds) : "—"],
      ["Memory", `${e.memory.weights_gb ? `about ${e.memory.weights_gb} GB of weights on the ${e.memory.device.toUpperCase()}; ` : ""}${e.memory.message}`],
    ];
    clear(box).append(...rows.flatMap(([k, v]) => [el("dt", { class: "col-sm-5 fw-normal text-secondary" }, k),
                                                    el("dd", { class: "col-sm-7 mb-1" }, String(v))]));
    if (e.memory.fits === false) box.append(el("dd", { class: "col-12 text-danger" }, "This model will probably not fit in the GPU's memory."));
  } catch (error) { clear(box).append(el("dd", { class: "text-danger" }, error.message)); }
}

async function refresh() {
  draft = await loadDraft();
  renderSections();
  renderEstimate();
  root.dataset.ready = "1";
}

async function listConfigs() {
  const tbody = $("#saved-configs tbody");
  try {
    const { configs } = await get("/api/configs/list");
    clear(tbody).append(...configs.map((c) => el("tr", { "data-config-name": c.name },
      el("td", {}, el("span", { class: "fw-semibold" }, c.name), c.read_only ? el("span", { class: "badge text-bg-light ms-1" }, "preset") : null,
         c.description ? el("div", { class: "text-secondary" }, c.description) : null),
      el("td", { class: "text-break" }, c.model || "—"),
      el("td", {}, c.read_only ? "shipped" : (c.updated_at || "").slice(0, 16).replace("T", " ")),
      el("td", { class: "text-nowrap" },
        el("button", { class: "btn btn-outline-primary btn-sm", type: "button", onclick: () => useConfig(c.name) }, "Use"),
        el("a", { class: "btn btn-link btn-sm", href: `/api/configs/export?name=${encodeURIComponent(c.name)}` }, "Export"),
        c.read_only ? null : el("button", { class: "btn btn-link btn-sm text-danger", type: "button", onclick: () => removeConfig(c.name) }, "Delete")))));
  } catch (error) { say($("#configs-message"), error.message, "error"); }
}

async function useConfig(name) {
  try {
    await post("/api/wizard/draft/from-config", { name });
    say($("#configs-message"), `The draft now holds "${name}".`);
    await refresh();
  } catch (error) { showErrors(error, root, $("#configs-message")); }
}

async function removeConfig(name) {
  if (!window.confirm(`Delete the saved config "${name}"? Its file in configs/ is removed.`)) return;
  try { await del(`/api/configs/${encodeURIComponent(name)}`); say($("#configs-message"), `Deleted "${name}".`); listConfigs(); }
  catch (error) { say($("#configs-message"), error.message, "error"); }
}

$("#save-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  say($("#save-message"), "Saving…");
  try {
    const { config } = await post("/api/configs/save", { name: $("#save-name").value, description: $("#save-description").value, config: draft });
    showErrors(null, $("#save-form"));
    await patch("/api/wizard/draft", { name: config.name });  // the run started from here carries the name
    await refresh();
    say($("#save-message"), `Saved as configs/${config.name}.json.`);
    listConfigs();
  } catch (error) {
    showErrors(error, $("#save-form"));
    say($("#save-message"), error.message, "error");
  }
});

$("#import-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("#import-file").files[0];
  if (!file) { say($("#configs-message"), "Choose a .json, .yaml or .yml file first.", "warn"); return; }
  const form = new FormData();
  form.append("file", file);
  say($("#configs-message"), "Importing…");
  try {
    const { config } = await upload("/api/configs/import", form);
    say($("#configs-message"), `Imported as "${config.name}". Press Use to load it into the draft.`);
    listConfigs();
  } catch (error) {
    const box = $("#configs-message");
    clear(box).append(el("div", { class: "text-danger" }, error.message),
      ...(error.details || []).map((d) => el("div", { class: "text-danger" }, `${d.path}: ${d.message}${d.hint ? `. ${d.hint}` : ""}`)));
  }
});

$("#review-start").addEventListener("click", async () => {
  const button = $("#review-start");
  button.disabled = true;
  say($("#start-message"), "Creating the session…");
  try {
    const { session } = await post("/api/training/start", { config: draft, priority: $("#start-priority").value });
    window.location.href = `${root.dataset.trainUrl}?session=${encodeURIComponent(session.id)}`;
  } catch (error) {
    showErrors(error, root, errorBox);
    say($("#start-message"), "Not started: see the message above.", "error");
    button.disabled = false;
  }
});

$("#json-copy").addEventListener("click", async () => {
  try { await navigator.clipboard.writeText(JSON.stringify(draft, null, 2)); say($("#start-message"), "JSON copied."); }
  catch (_) { say($("#start-message"), "The browser refused the clipboard: select the JSON and copy it.", "warn"); }
});
$("#json-download").addEventListener("click", () => {
  const url = URL.createObjectURL(new Blob([JSON.stringify(draft, null, 2)], { type: "application/json" }));
  const link = el("a", { href: url, download: `${draft.name || "config"}.json` });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});
$("#draft-reset").addEventListener("click", async () => {
  if (!window.confirm("Reset the draft to the default config?")) return;
  await post("/api/wizard/draft/reset");
  refresh();
});

refresh().catch((error) => { errorBox.textContent = error.message; errorBox.hidden = false; });
listConfigs();
