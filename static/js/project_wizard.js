// New-project wizard: Basic information → Reasoning → Coding → General/Tools → Output directory → Preview → Create.
// Each Next sends the whole body to POST /api/projects/check (the server's validator is the only judge) and shows
// the errors of this step and the ones before it beside their fields; later steps' errors wait for their turn.
import { get, post } from "./lib/api.js";
import { $, $$, clear, el } from "./lib/dom.js";
import { rows, shareOf, traitsSummary } from "./project_format.js";
import { generalShares, initGeneral } from "./project_wizard_general.js";
import { runPreview } from "./project_wizard_preview.js";

const root = $("#project-wizard");
const api = root.dataset.api;
const errorBox = $("#wizard-error");
const LAST = 6;
const PREVIEW = 5;
const OUTPUT = 4;
// The first segment of a (local) error path -> the step that owns it.
const STEP_OF = { name: 0, description: 0, base_model: 0, training_type: 0, max_rows: 0, traits: 1, reasoning: 1,
                  coding: 2, general: 3, output_dir: 4, mix: 5, config: 5 };
let current = 0;
let furthest = 0;
let sentTraits = [];   // the trait types of the last body sent, in order: traits.<i> -> its step
let previewed = null;  // the body (as JSON) the table shows
let created = null;
let names = {};        // dataset key -> label, for the summary

// -- the body --------------------------------------------------------------------------------------------------
function maxRows() {
  const choice = $("#p-max-rows").value;
  const value = choice === "custom" ? $("#p-max-rows-custom").value : choice;
  return value === "" ? null : Number(value);
}

function trainingSettings() {
  const text = $("#p-config").value.trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    const problem = new Error("The training settings are not valid JSON.");
    problem.details = [{ path: "config", message: `not valid JSON (${error.message})`, hint: "Fix it or clear the box." }];
    throw problem;
  }
}

function body() {
  const traits = [{ trait_type: "reasoning", datasets: [shareOf($("#p-reasoning").value, 100)] }];
  if ($("#p-coding").value) traits.push({ trait_type: "coding", datasets: [shareOf($("#p-coding").value, 100)] });
  const general = generalShares();
  if (general.length) traits.push({ trait_type: "general", datasets: general.map((g) => shareOf(g.key, g.percentage)) });
  const seed = $("#p-seed").value;
  return {
    name: $("#p-name").value.trim(), description: $("#p-description").value.trim(),
    base_model: $("#p-base-model").value.trim(), training_type: $("#p-method").value, max_rows: maxRows(),
    output_dir: $("#p-output-dir").value.trim() || null, traits,
    mix: { unit: $("#p-unit").value, upsample: $("#p-upsample").checked, seed: seed === "" ? 3407 : Number(seed) },
    config: trainingSettings(),
  };
}

// -- errors ----------------------------------------------------------------------------------------------------
// traits.<i>.rest -> <trait type>.rest, so that fields are named the same whichever traits are present.
function localPath(path) {
  const match = /^traits\.(\d+)(\..*)?$/.exec(path || "");
  if (!match || !sentTraits[Number(match[1])]) return path || "";
  return sentTraits[Number(match[1])] + (match[2] || "");
}

const stepOf = (path) => STEP_OF[path.split(".")[0]] ?? current;

function fieldFor(path) {
  for (let parts = path.split("."); parts.length; parts.pop()) {
    const node = root.querySelector(`[data-error-for="${CSS.escape(parts.join("."))}"]`);
    if (node) return node;
  }
  return null;
}

function clearErrors() {
  $$("[data-error-for]", root).forEach((node) => { node.textContent = ""; node.hidden = true; });
  errorBox.hidden = true;
  clear(errorBox);
}

// Shows `details` ([{path, message, hint}]) beside their fields; returns the earliest step they belong to.
function showDetails(details, message) {
  clearErrors();
  const unplaced = [];
  let first = LAST + 1;
  for (const d of details) {
    const path = localPath(d.path);
    first = Math.min(first, stepOf(path));
    const text = d.hint ? `${d.message}. ${d.hint}` : d.message;
    const node = path ? fieldFor(path) : null;
    if (node) {
      node.textContent = node.hidden ? text : `${node.textContent} ${text}`;
      node.hidden = false;
      if (node.closest("details")) node.closest("details").open = true;
    }
    else unplaced.push(path ? `${path}: ${text}` : text);
  }
  if (message || unplaced.length) {
    errorBox.append(...[message, ...unplaced].filter(Boolean).map((t) => el("div", {}, t)));
    errorBox.hidden = false;
  }
  return first;
}

function fail(error) {
  const first = showDetails(error.details || [], error.message);
  if (first <= LAST && first !== current) go(first);
}

// -- steps -----------------------------------------------------------------------------------------------------
function go(step) {
  current = step;
  furthest = Math.max(furthest, step);
  $$("[data-step]", root).forEach((section) => { section.hidden = Number(section.dataset.step) !== step; });
  $$("[data-goto]", root).forEach((button) => {
    const target = Number(button.dataset.goto);
    button.disabled = target > furthest || Boolean(created);
    button.classList.toggle("active", target === step);
    if (target === step) button.setAttribute("aria-current", "step"); else button.removeAttribute("aria-current");
  });
  $("#wizard-back").disabled = step === 0 || Boolean(created);
  $("#wizard-next").hidden = step === LAST;
  root.dataset.step = String(step);
  if (step === PREVIEW && previewed !== JSON.stringify(safeBody())) preview().catch(fail);
  if (step === LAST) summarise();
}

function safeBody() { try { return body(); } catch (_) { return null; } }

async function busy(work) {
  root.dataset.busy = "1";
  $("#wizard-next").disabled = true;
  try { return await work(); } finally { delete root.dataset.busy; $("#wizard-next").disabled = false; }
}

async function check(data) {
  sentTraits = data.traits.map((t) => t.trait_type);
  const result = await post(`${api}/check`, data);
  if (result.valid) $("#output-resolved").textContent = result.output_dir;
  return result;
}

async function preview() {
  const data = body();
  sentTraits = data.traits.map((t) => t.trait_type);
  await runPreview(data);
  previewed = JSON.stringify(data);
}

async function next() {
  try {
    await busy(async () => {
      const data = body();
      const result = await check(data);
      const mine = result.valid ? [] : result.errors.filter((e) => stepOf(localPath(e.path)) <= current);
      const first = showDetails(mine);
      if (mine.length) { if (first !== current) go(first); return; }
      if (current === PREVIEW && previewed !== JSON.stringify(data)) await preview();
      go(current + 1);
    });
  } catch (error) {
    fail(error);
  }
}

function summarise() {
  const data = safeBody() || {};
  const items = [["Name", data.name], ["Base model", data.base_model], ["Method", data.training_type],
    ["Max rows", rows(data.max_rows)], ["Traits", traitsSummary(data.traits, names)],
    ["Output", $("#output-resolved").textContent]];
  clear($("#create-summary")).append(...items.flatMap(([term, value]) => [
    el("dt", { class: "col-sm-3" }, term), el("dd", { class: "col-sm-9 text-break" }, value || "—")]));
}

async function create() {
  const button = $("#create-project");
  button.disabled = true;
  try {
    const data = body();
    sentTraits = data.traits.map((t) => t.trait_type);
    const { project } = await post(api, data);
    created = project;
    clearErrors();
    const page = `/projects/${project.id}`;
    $("#created-link").textContent = project.name;
    $("#created-link").href = page;
    $("#open-project").href = page;
    $("#created").hidden = false;
    button.hidden = true;
    go(LAST);
  } catch (error) {
    button.disabled = false;
    fail(error);
  }
}

async function startTraining() {
  const button = $("#start-training");
  button.disabled = true;
  try {
    await post(`${api}/${created.id}/start`);
    window.location.href = `/projects/${created.id}`;
  } catch (error) {
    button.disabled = false;
    fail(error);
  }
}

// -- choices from the server -----------------------------------------------------------------------------------
let datasetGroups = [];  // [label, [[key, text], ...]]

function fillSelect(select) {
  const optional = select.dataset.optional ? [el("option", { value: "" }, "Skip: no coding trait")]
    : select.id === "p-reasoning" ? [] : [el("option", { value: "" }, "Choose a dataset…")];
  const previous = select.value;
  select.replaceChildren(...optional, ...datasetGroups.filter(([, items]) => items.length).map(([label, items]) =>
    el("optgroup", { label }, items.map(([key, text]) => el("option", { value: key }, text)))));
  if (previous && names[previous]) select.value = previous;
}

async function loadChoices() {
  const [catalog, list, models] = await Promise.all([
    get("/api/datasets/catalog").catch(() => ({ builtin: [] })),
    get("/api/datasets/list?status=Ready").catch((error) => { fail(error); return { datasets: [] }; }),
    get("/api/models/list").catch(() => ({ models: [] })),
  ]);
  const builtins = (catalog.builtin || []).map((b) => [b.source, `${b.title} (built-in)`]);
  const own = (list.datasets || []).map((d) => [`dataset:${d.id}`, `${d.name} (${rows(d.row_count)} rows)`]);
  datasetGroups = [["Built-in", builtins], ["Your datasets", own]];
  names = Object.fromEntries([...builtins, ...(list.datasets || []).map((d) => [`dataset:${d.id}`, d.name])]);
  $$("select.dataset-select", root).forEach(fillSelect);
  if (names["builtin:arithmetic"]) $("#p-reasoning").value = "builtin:arithmetic";
  $("#model-suggestions").replaceChildren(...(models.models || []).map((m) => el("option", { value: m.id }, m.name || m.id)));
  root.dataset.ready = "1";
}

// -- wiring ----------------------------------------------------------------------------------------------------
let outputTimer = null;
function refreshOutput() {
  clearTimeout(outputTimer);
  outputTimer = setTimeout(async () => {
    try {
      const result = await check(body());
      const mine = result.valid ? [] : result.errors.filter((e) => localPath(e.path) === "output_dir");
      showDetails(mine);
      if (mine.length) $("#output-resolved").textContent = "…";
    } catch (error) { fail(error); }
  }, 300);
}

$("#p-base-model").value = root.dataset.defaultModel || "";
$("#p-max-rows").addEventListener("change", () => {
  $("#custom-rows-field").hidden = $("#p-max-rows").value !== "custom";
  if (!$("#custom-rows-field").hidden) $("#p-max-rows-custom").focus();
});
$("#p-output-dir").addEventListener("input", refreshOutput);
$("#preview-refresh").addEventListener("click", () => preview().then(clearErrors).catch(fail));
$("#wizard-next").addEventListener("click", next);
$("#wizard-back").addEventListener("click", () => { clearErrors(); go(Math.max(0, current - 1)); });
$$("[data-goto]", root).forEach((button) => button.addEventListener("click", () => go(Number(button.dataset.goto))));
$("#create-project").addEventListener("click", create);
$("#start-training").addEventListener("click", startTraining);
initGeneral(fillSelect);
go(0);
loadChoices().catch(fail);
