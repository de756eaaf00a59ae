// Wizard step "Rewards": quick start, preset gallery, no-code builder, code editor, algorithm, and a test panel
// over real dataset rows. Choices are written into the wizard's server-side draft (PATCH /api/wizard/draft).
import { get, post, patch, del } from "./lib/api.js";
import { el, $, $$, clear, showErrors } from "./lib/dom.js";

const root = $("#rewards-step");
const API = root.dataset.api;
const DRAFT = root.dataset.draftApi;
const CODE_TEMPLATE = `def reward(prompt, completion, **fields):
    """Return a score in [0, 1], or None when it does not apply to this row."""
    answer = fields.get("answer")
    if answer is None:
        return None
    return 1.0 if str(answer).strip() in completion else 0.0
`;

const state = { components: {}, presets: [], custom: [], sandbox: null, draft: {}, rows: [], testing: null, markers: null };

function status(text, kind = "ok") {
  const node = $("#rw-status");
  node.className = `small mb-2 ${kind === "error" ? "text-danger" : "text-success"}`;
  node.textContent = text;
}

// An error about "components.0.params.min" is shown at the nearest element that names a prefix of that path.
function nearest(detail) {
  let path = detail.path || "";
  while (path && !root.querySelector(`[data-error-for="${CSS.escape(path)}"]`)) {
    path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
  }
  if (!path || path === detail.path) return detail;
  return { ...detail, path, message: `${detail.path.slice(path.length + 1)}: ${detail.message}` };
}

function fail(error) {
  const placed = Object.assign(new Error(error.message), { details: (error.details || []).map(nearest) });
  showErrors(placed, root, $("#rw-error"));
}

function okay() {
  showErrors(null, root, $("#rw-error"));
}

// -- the draft ------------------------------------------------------------------------------------------------------
async function loadDraft() {
  try {
    const body = await get(DRAFT);
    state.draft = body.draft || body.config || body || {};
  } catch (_) {
    state.draft = {};
  }
  const d = state.draft.dataset || {};
  if (d.solution_start) {
    state.markers = { reasoning_start: d.reasoning_start, reasoning_end: d.reasoning_end,
                      solution_start: d.solution_start, solution_end: d.solution_end };
  }
}

async function saveDraft(section, value, done) {
  try {
    const body = await patch(DRAFT, { [section]: value });
    state.draft = body.draft || body.config || state.draft;
    okay();
    status(done);
    return true;
  } catch (error) {
    const reason = error.status === 404 ? "the wizard draft is not available on this server" : error.message;
    fail(Object.assign(new Error(`Not saved into the draft: ${reason}`), { details: error.details || [] }));
    return false;
  }
}

// -- datasets -------------------------------------------------------------------------------------------------------
async function loadSources() {
  const [catalog, list] = await Promise.all([
    get("/api/datasets/catalog").catch(() => ({ builtin: [] })),
    get("/api/datasets/list?status=Ready").catch(() => ({ datasets: [] })),
  ]);
  const select = $("#rw-source");
  clear(select);
  for (const b of catalog.builtin || []) select.append(el("option", { value: b.source }, `${b.title} (built-in)`));
  for (const d of list.datasets || []) select.append(el("option", { value: d.training_source }, `${d.name} (uploaded)`));
  let wanted = (state.draft.dataset || {}).source;
  if (!wanted) {
    try { wanted = JSON.parse(localStorage.getItem("tunewright.wizard.dataset") || "{}").source; } catch (_) { wanted = null; }
  }
  if (wanted && !$$("option", select).some((o) => o.value === wanted)) select.append(el("option", { value: wanted }, wanted));
  if (wanted) select.value = wanted;
}

const source = () => ({ source: $("#rw-source").value, ...(state.markers ? { markers: state.markers } : {}) });

// -- quick start ----------------------------------------------------------------------------------------------------
async function recommend() {
  const list = $("#rw-recommendations");
  clear(list).append(el("li", { class: "text-secondary" }, "Looking at the dataset…"));
  try {
    const body = await post(`${API}/recommend`, source());
    clear(list);
    for (const r of body.recommendations.slice(0, 4)) {
      list.append(el("li", { class: "mb-1" },
        el("strong", {}, r.name), ` (${Math.round(r.score * 100)}%): ${r.reason}. `,
        el("button", { class: "btn btn-link btn-sm p-0 align-baseline", type: "button", "data-recommend-id": r.preset_id,
                       onclick: () => choosePreset(r.preset_id) }, "Use it")));
    }
    okay();
  } catch (error) {
    clear(list);
    fail(error);
  }
}

// -- presets --------------------------------------------------------------------------------------------------------
function renderGallery() {
  const gallery = clear($("#rw-gallery"));
  const chosen = (state.draft.reward || {}).type === "preset" ? state.draft.reward.preset_name : null;
  const byCategory = {};
  for (const p of state.presets) (byCategory[p.category] = byCategory[p.category] || []).push(p);
  for (const [category, presets] of Object.entries(byCategory)) {
    gallery.append(el("h3", { class: "h6 small text-uppercase text-secondary mt-2" }, category));
    const row = el("div", { class: "row g-2" });
    for (const p of presets) {
      row.append(el("div", { class: "col-md-6" }, el("div", { class: "border rounded p-2 h-100 small" },
        el("div", { class: "d-flex align-items-start gap-2" },
          el("strong", { class: "me-auto" }, p.name),
          el("button", { class: "btn btn-outline-primary btn-sm py-0", type: "button", "data-preset-id": p.id,
                         "aria-pressed": String(p.id === chosen), onclick: () => choosePreset(p.id) }, "Use")),
        el("div", { class: "text-secondary" }, p.description),
        el("ul", { class: "mb-1 ps-3" }, p.components.map((c) => el("li", {}, `${c.name} × ${c.weight}: ${c.summary}`))),
        el("div", {}, `Needs: ${p.needs.length ? p.needs.join(", ") : "no dataset field"} · algorithm: ${p.algorithm}`),
        el("button", { class: "btn btn-link btn-sm p-0", type: "button", onclick: () => select({ preset: p.id }, p.name) },
           "Test it"))));
    }
    gallery.append(row);
  }
}

async function choosePreset(id) {
  const preset = state.presets.find((p) => p.id === id);
  select({ preset: id }, preset ? preset.name : id);
  if (await saveDraft("reward", { type: "preset", preset_name: id }, `Preset "${preset ? preset.name : id}" is the draft's reward.`)) {
    for (const button of $$("[data-preset-id]")) button.setAttribute("aria-pressed", String(button.dataset.presetId === id));
    if (preset) setAlgorithm(preset.algorithm, false);
  }
}

// -- no-code builder ------------------------------------------------------------------------------------------------
function defaults(schema) {
  const out = {};
  for (const [name, prop] of Object.entries(schema.properties || {})) if ("default" in prop) out[name] = prop.default;
  return out;
}

function addComponentRow(name, weight = 1, params = null) {
  const component = state.components[name];
  const index = $$("[data-component-row]").length;
  const row = el("div", { class: "border rounded p-2 mb-2 small", "data-component-row": name },
    el("div", { class: "d-flex align-items-center gap-2" },
      el("strong", { class: "me-auto" }, name),
      el("label", { for: `rw-weight-${index}` }, "weight"),
      el("input", { class: "form-control form-control-sm w-auto", type: "number", step: "0.1", id: `rw-weight-${index}`,
                    value: String(weight), "data-weight": "" }),
      el("button", { class: "btn btn-outline-danger btn-sm py-0", type: "button", "aria-label": `Remove ${name}`,
                     onclick: () => row.remove() }, "×")),
    el("div", { class: "text-secondary" }, component.summary),
    el("label", { class: "form-label mb-0", for: `rw-params-${index}` }, "parameters (JSON)"),
    el("textarea", { class: "form-control form-control-sm font-monospace", rows: "2", id: `rw-params-${index}`,
                     "data-params": "" }, JSON.stringify(params || defaults(component.params))),
    el("div", { class: "text-danger", "data-error-for": `components.${index}.params`, hidden: true }));
  $("#rw-builder-rows").append(row);
}

function builderComponents() {
  return $$("[data-component-row]").map((row, i) => {
    let params;
    try { params = JSON.parse($("[data-params]", row).value || "{}"); } catch (_) {
      throw Object.assign(new Error(`The parameters of component ${i + 1} are not valid JSON.`),
                          { details: [{ path: `components.${i}.params`, message: "not valid JSON" }] });
    }
    return { name: row.dataset.componentRow, weight: Number($("[data-weight]", row).value || 1), params };
  });
}

async function saveCustom(body, label) {
  try {
    const saved = (await post(`${API}/custom`, body)).reward;
    await loadCustom();
    select({ custom_id: saved.id }, saved.name);
    await saveDraft("reward", { type: "custom", custom: [{ id: saved.id, weight: 1 }] },
                    `Saved ${label} "${saved.name}" and made it the draft's reward.`);
    return saved;
  } catch (error) {
    fail(error);
    return null;
  }
}

// -- saved custom rewards -------------------------------------------------------------------------------------------
async function loadCustom() {
  const body = await get(`${API}/custom`);
  state.custom = body.rewards;
  const list = clear($("#rw-custom-list"));
  if (!state.custom.length) list.append(el("li", { class: "text-secondary" }, "None saved yet."));
  for (const r of state.custom) {
    list.append(el("li", { class: "d-flex align-items-center gap-2 mb-1", "data-custom-id": String(r.id) },
      el("span", { class: "me-auto" }, el("strong", {}, r.name), ` (${r.kind === "code" ? "code" : r.components.map((c) => c.name).join(" + ")}; curve: ${r.metric})`),
      el("button", { class: "btn btn-outline-secondary btn-sm py-0", type: "button", onclick: () => select({ custom_id: r.id }, r.name) }, "Test"),
      el("button", { class: "btn btn-outline-primary btn-sm py-0", type: "button", onclick: () => saveDraft(
        "reward", { type: "custom", custom: [{ id: r.id, weight: 1 }] }, `"${r.name}" is the draft's reward.`) }, "Use"),
      el("button", { class: "btn btn-outline-danger btn-sm py-0", type: "button", onclick: async () => {
        try { await del(`${API}/custom/${r.id}`); await loadCustom(); } catch (error) { fail(error); }
      } }, "Delete")));
  }
}

// -- algorithm ------------------------------------------------------------------------------------------------------
function setAlgorithm(value, save = true) {
  const radio = $(`#rw-alg-${value}`);
  if (radio) radio.checked = true;
  if (save) saveDraft("grpo", { algorithm: value }, `Algorithm ${value} is in the draft.`);
}

// -- test panel -----------------------------------------------------------------------------------------------------
function select(what, label) {
  state.testing = what;
  $("#rw-testing").textContent = label;
  return runTest();
}

async function loadRows() {
  try {
    state.rows = (await post(`${API}/samples`, { ...source(), count: 3 })).samples;
    okay();
  } catch (error) {
    state.rows = [];
    fail(error);
  }
  const box = clear($("#rw-samples"));
  state.rows.forEach((row, i) => {
    box.append(el("div", { class: "border rounded p-2 mb-2 small", "data-sample": String(i) },
      el("div", { class: "text-secondary text-truncate" }, `Prompt: ${row.prompt}`),
      ...["good", "bad"].map((variant) => el("div", { class: "mt-1" },
        el("label", { class: "form-label mb-0", for: `rw-completion-${i}-${variant}` },
           variant === "good" ? "Reference in the marker format" : "A bad completion"),
        el("textarea", { class: "form-control form-control-sm font-monospace", rows: "2", id: `rw-completion-${i}-${variant}`,
                         "data-variant": variant }, row[variant]),
        el("div", { class: "mt-1", "data-result": variant })))));
  });
}

function renderResult(node, result) {
  clear(node);
  const total = result.normalised === null ? "n/a" : result.normalised.toFixed(2);
  node.append(el("div", {}, el("strong", { "data-total": "" }, `score ${total}`),
                 result.total === null ? "" : ` (weighted sum ${result.total.toFixed(2)})`));
  node.append(el("ul", { class: "mb-0 ps-3" }, result.components.map((c) => el("li", {},
    `${c.name} × ${c.weight}: ${c.score === null ? "None" : c.score.toFixed(2)}`,
    c.note ? el("span", { class: "text-secondary" }, ` — ${c.note.length > 400 ? c.note.slice(-400) : c.note}`) : ""))));
}

async function runTest() {
  if (!state.testing) return;
  if (!state.rows.length) await loadRows();
  if (!state.rows.length) return;
  const samples = [];
  const targets = [];
  for (const node of $$("[data-sample]")) {
    const row = state.rows[Number(node.dataset.sample)];
    for (const area of $$("textarea[data-variant]", node)) {
      samples.push({ prompt: row.prompt, completion: area.value, fields: row.fields });
      targets.push($(`[data-result="${area.dataset.variant}"]`, node));
    }
  }
  try {
    const body = await post(`${API}/test`, { ...state.testing, samples, ...(state.markers ? { markers: state.markers } : {}) });
    body.samples.forEach((result, i) => renderResult(targets[i], result));
    const warnings = clear($("#rw-warnings"));
    for (const w of body.warnings) warnings.append(el("div", { class: "alert alert-warning py-1 px-2 mb-1", "data-warning": w.kind }, w.message));
    root.dataset.tested = String(Number(root.dataset.tested || 0) + 1);
    okay();
  } catch (error) {
    fail(error);
  }
}

// -- start ----------------------------------------------------------------------------------------------------------
async function start() {
  $("#rw-code").value = CODE_TEMPLATE;
  await loadDraft();
  const [presets, components] = await Promise.all([get(`${API}/presets`), get(`${API}/components`)]);
  state.presets = presets.presets;
  for (const c of components.components) state.components[c.name] = c;
  state.sandbox = components.sandbox;
  $("#rw-sandbox-note").textContent = state.sandbox.available
    ? "reward(prompt, completion, **fields) runs in an isolated sandbox (no network, no files outside a scratch folder, CPU and memory limits). A raise, hang or non-number scores None."
    : `Code rewards are unavailable here: ${state.sandbox.reason}`;
  for (const id of ["#rw-code-test", "#rw-code-save"]) $(id).disabled = !state.sandbox.available;
  $("#rw-add-component").append(...Object.values(state.components).map((c) => el("option", { value: c.name }, c.name)));
  renderGallery();
  await Promise.all([loadSources(), loadCustom()]);
  setAlgorithm(((state.draft.grpo || {}).algorithm) || "grpo", false);

  $("#rw-recommend").addEventListener("click", recommend);
  $("#rw-source").addEventListener("change", () => { state.rows = []; loadRows().then(runTest); });
  $("#rw-load-rows").addEventListener("click", () => loadRows().then(runTest));
  $("#rw-add").addEventListener("click", () => addComponentRow($("#rw-add-component").value));
  $("#rw-builder-test").addEventListener("click", () => {
    try { select({ components: builderComponents() }, "the no-code builder"); } catch (error) { fail(error); }
  });
  $("#rw-builder-save").addEventListener("click", () => {
    try {
      saveCustom({ name: $("#rw-builder-name").value, kind: "components", components: builderComponents() }, "no-code reward");
    } catch (error) { fail(error); }
  });
  $("#rw-code-test").addEventListener("click", () => select({ code: $("#rw-code").value }, "the code reward"));
  $("#rw-code-save").addEventListener("click", () => saveCustom({ name: $("#rw-code-name").value, kind: "code", code: $("#rw-code").value }, "code reward"));
  for (const radio of $$("input[name=rw-algorithm]")) radio.addEventListener("change", () => setAlgorithm(radio.value));
  root.dataset.ready = "1";
}

start().catch(fail);
