// Wizard step "Dataset": choose a source, map its fields, pick a system prompt template, preview the prompt.
// The choice is saved into the wizard's server-side draft (PATCH /api/wizard/draft {dataset: ...}); only the
// chosen template's id, a display preference, stays in localStorage.
import * as twApi from "./lib/api.js";
import { el, showErrors } from "./lib/dom.js";

const root = document.getElementById("dataset-step");
if (root) {
  const api = root.dataset.api;
  const templatesApi = root.dataset.templatesApi;
  const STORE = "tunewright.wizard.template";
  const MARKERS = ["reasoning_start", "reasoning_end", "solution_start", "solution_end"];
  const $ = (id) => document.getElementById(id);
  let saved = {};
  let templates = [];
  let sources = {};  // value -> {splits, split, mapping, label}
  let previewRows = [];
  let previewTimer = null;

  function note(id, text, kind) {
    const node = $(id);
    node.className = `small ${kind === "error" ? "text-danger" : kind === "warn" ? "text-warning-emphasis" : "text-secondary"}`;
    node.textContent = text;
  }

  // -- sources ----------------------------------------------------------------------------------
  async function loadSources() {
    const [catalog, list] = await Promise.all([
      twApi.get(`${api}/catalog`).catch(() => ({ entries: [], builtin: [], hub: { online: false, message: "Catalogue unavailable." } })),
      twApi.get(`${api}/list?status=Ready`).catch(() => ({ datasets: [] })),
    ]);
    const select = $("ds-source");
    select.replaceChildren();
    const group = (label, items) => items.length ? select.append(el("optgroup", { label }, items)) : null;
    group("Built-in (offline)", catalog.builtin.map((b) => {
      sources[b.source] = { splits: Object.keys(b.splits), split: "train", mapping: b.mapping };
      return el("option", { value: b.source }, `${b.title} — ${b.description}`);
    }));
    group("Your datasets", list.datasets.map((d) => {
      sources[d.training_source] = { splits: d.split ? [d.split] : [], split: d.split || "train", mapping: d.mapping, id: d.id };
      return el("option", { value: d.training_source }, `${d.name} (${d.type}, ${(d.row_count ?? 0).toLocaleString()} rows)`);
    }));
    group("Hugging Face Hub", catalog.entries.map((e) => {
      sources[e.hub_id] = { splits: e.splits, split: e.split, mapping: e.mapping };
      return el("option", { value: e.hub_id, disabled: !e.available }, `${e.title} — ${e.category}${e.available ? "" : " (offline)"}`);
    }));
    if (!catalog.hub.online) note("ds-source-note", catalog.hub.message, "warn");
    if (saved.source && sources[saved.source]) select.value = saved.source;
    onSourceChange(true);
  }

  function onSourceChange(restoring) {
    const info = sources[$("ds-source").value] || { splits: [], split: "train", mapping: {} };
    $("ds-splits").replaceChildren(...info.splits.map((s) => el("option", { value: s })));
    $("ds-split").value = restoring && saved.split ? saved.split : info.split;
    if (restoring && saved.max_samples) $("ds-max").value = saved.max_samples;
    fillColumnSelects([], restoring ? { instruction: saved.instruction_field, response: saved.response_field } : {});
    schedulePreview();
  }

  function fillColumnSelects(columns, chosen) {
    for (const field of ["instruction", "response"]) {
      const select = $(`ds-${field}`);
      const current = chosen[field] !== undefined ? chosen[field] : select.value;
      select.replaceChildren(el("option", { value: "" }, "(dataset default)"), ...columns.map((c) => el("option", { value: c }, c)));
      if (current && columns.includes(current)) select.value = current;
      else if (current) { select.append(el("option", { value: current }, current)); select.value = current; }
    }
  }

  // -- templates --------------------------------------------------------------------------------
  async function loadTemplates(selectId) {
    templates = (await twApi.get(templatesApi)).templates;
    const select = $("tpl-select");
    select.replaceChildren(...templates.map((t) => el("option", { value: t.id }, t.builtin ? `${t.name} (built-in)` : t.name)));
    const wanted = selectId ?? saved.template_id;
    if (wanted !== undefined && templates.some((t) => String(t.id) === String(wanted))) select.value = String(wanted);
    showTemplate(selectId === undefined && !!saved.system_prompt_template);
  }

  function currentTemplate() {
    return templates.find((t) => String(t.id) === $("tpl-select").value) || templates[0];
  }

  function showTemplate(restoring) {
    const t = currentTemplate();
    $("tpl-name").value = t.builtin ? "" : t.name;
    $("tpl-text").value = restoring ? saved.system_prompt_template ?? t.system_prompt : t.system_prompt;
    for (const m of MARKERS) $(`tpl-${m}`).value = restoring && saved[m] ? saved[m] : t.markers[m];
    $("tpl-update").disabled = $("tpl-delete").disabled = !!t.builtin;
    schedulePreview();
  }

  function templateForm() {
    const body = { name: $("tpl-name").value, system_prompt: $("tpl-text").value };
    for (const m of MARKERS) body[m] = $(`tpl-${m}`).value;
    return body;
  }

  // The system prompt as the server renders it: placeholders replaced by the markers.
  function renderedSystemPrompt() {
    let text = $("tpl-text").value;
    for (const m of MARKERS) text = text.split(`{${m}}`).join($(`tpl-${m}`).value);
    return text;
  }

  async function templateAction(action) {
    try {
      let result;
      if (action === "new") result = await twApi.post(templatesApi, templateForm());
      else if (action === "update") result = await twApi.patch(`${templatesApi}/${currentTemplate().id}`, templateForm());
      else {
        if (!confirm(`Delete template "${currentTemplate().name}"?`)) return;
        await twApi.del(`${templatesApi}/${currentTemplate().id}`);
      }
      await loadTemplates(result ? result.template.id : "default");
      note("tpl-message", action === "delete" ? "Template deleted." : "Template saved.", "ok");
    } catch (error) {
      note("tpl-message", [error.message, ...(error.details || [])].join(" "), "error");
    }
  }

  // -- preview ----------------------------------------------------------------------------------
  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 300);
  }

  async function preview() {
    const source = $("ds-source").value;
    if (!source) return;
    const body = { source, split: $("ds-split").value || undefined, samples: Number($("pv-samples").value) || 5,
                   system_prompt: renderedSystemPrompt(),
                   instruction_field: $("ds-instruction").value || undefined, response_field: $("ds-response").value || undefined };
    note("pv-message", "Loading…");
    try {
      const result = await twApi.post(`${api}/preview`, body);
      fillColumnSelects(result.columns, {});
      previewRows = result.rows;
      const tbody = document.querySelector("#pv-table tbody");
      tbody.replaceChildren(...result.rows.map((row, i) => el("tr", { class: "preview-row", onclick: () => showPrompt(result, i) },
        el("td", {}, i + 1), el("td", { class: "preview-cell" }, row.instruction ?? JSON.stringify(row.raw)),
        el("td", { class: "preview-cell" }, row.response ?? ""))));
      note("pv-message", result.mapping_usable
        ? `${result.total_rows ? `${result.total_rows.toLocaleString()} rows · ` : ""}read in ${result.elapsed_ms} ms. Click a row to see its prompt.`
        : "No instruction column recognised: choose one.", result.mapping_usable ? "ok" : "warn");
      showPrompt(result, 0);
    } catch (error) {
      note("pv-message", error.message, "error");
      document.querySelector("#pv-table tbody").replaceChildren();
      $("pv-prompt").textContent = "";
    }
  }

  function showPrompt(result, index) {
    $("pv-tokenizer").textContent = result.tokenizer ? `(${result.tokenizer})` : "";
    $("pv-prompt").textContent = (result.prompts && result.prompts[index]) || "";
  }

  // -- save -------------------------------------------------------------------------------------
  // Errors come back per field (dataset.<name>) and are shown beside it ([data-error-for]).
  function showFieldErrors(error) {
    showErrors(error, root, $("step-message"));
    if (error) $("step-message").className = "small text-danger";
  }

  async function save() {
    const t = currentTemplate();
    const dataset = {
      source: $("ds-source").value, split: $("ds-split").value || "train",
      instruction_field: $("ds-instruction").value || null, response_field: $("ds-response").value || null,
      max_samples: $("ds-max").value ? Number($("ds-max").value) : null,
      system_prompt: $("tpl-text").value || null,  // placeholders are filled from the markers by the server
    };
    for (const m of MARKERS) dataset[m] = $(`tpl-${m}`).value;
    localStorage.setItem(STORE, String(t ? t.id : "default"));
    note("step-message", "Saving…");
    const result = await twApi.patch("/api/wizard/draft", { dataset });
    showFieldErrors(null);
    return result.config.dataset;
  }

  async function loadDraft() {
    const d = (await twApi.get("/api/wizard/draft")).config.dataset;
    saved = { ...d, template_id: localStorage.getItem(STORE) || undefined, system_prompt_template: d.system_prompt || undefined };
  }

  $("ds-source").addEventListener("change", () => onSourceChange(false));
  for (const id of ["ds-split", "ds-instruction", "ds-response", "pv-samples", "tpl-text", ...MARKERS.map((m) => `tpl-${m}`)]) {
    $(id).addEventListener("change", schedulePreview);
  }
  $("tpl-select").addEventListener("change", () => showTemplate(false));
  $("tpl-save-new").addEventListener("click", () => templateAction("new"));
  $("tpl-update").addEventListener("click", () => templateAction("update"));
  $("tpl-delete").addEventListener("click", () => templateAction("delete"));
  $("pv-refresh").addEventListener("click", preview);
  $("step-continue").addEventListener("click", () => save()
    .then(() => { window.location.href = root.dataset.next; })
    .catch(showFieldErrors));

  loadDraft().then(loadTemplates).then(loadSources).then(() => { root.dataset.ready = "1"; })
    .catch((error) => note("pv-message", error.message, "error"));
}
