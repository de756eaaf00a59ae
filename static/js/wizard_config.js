// Wizard step "Config": a form generated from TrainingConfig's JSON Schema (types, bounds, enums, descriptions,
// defaults), grouped for people; a field the schema gains later shows up here with no template change.
import { get } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";
import { loadDraft, patchDraft, say } from "./wizard_draft.js";

const root = $("#config-step");
const form = $("#config-form");
const errorBox = $("#config-error");

// Sections edited on other steps (Model, Dataset, Rewards) and fields with their own control elsewhere.
const ELSEWHERE = new Set(["name", "model", "dataset", "reward", "method"]);
// Where a training field goes; any field not named here lands in "Other training settings".
const GROUPS = [
  ["Training duration", ["training.num_epochs", "training.samples_per_epoch", "training.save_steps", "training.logging_steps", "training.seed"]],
  ["Batch", ["training.batch_size", "training.gradient_accumulation_steps", "training.num_generations"]],
  ["Learning rate", ["training.learning_rate", "training.lr_scheduler_type", "training.warmup_steps"]],
  ["Optimisation", ["training.optim", "training.weight_decay", "training.max_grad_norm", "training.bf16", "training.cpu_autocast"]],
  ["Generation", ["training.max_sequence_length", "training.max_new_tokens", "training.temperature", "training.top_p", "training.rollout_engine"]],
  ["GPUs (set num_gpus before DeepSpeed: ZeRO needs more than one)", ["training.num_gpus", "training.deepspeed"]],
  ["Experiment tracking (our database keeps every metric either way)", ["training.report_to", "training.tracking_project", "training.mlflow_tracking_uri"]],
];
const SECTION_TITLES = { grpo: "GRPO", pre_training: "Pre-training (SFT on formatted answers first)" };
// The product's guidance ranges (PRODUCT.md), shown as help text.
const GUIDANCE = {
  "training.batch_size": "Usual: 1–16.",
  "training.learning_rate": "Usual for LoRA: 5e-5 to 3e-4 (GRPO often lower).",
  "training.num_epochs": "Usual: 1–5.",
  "training.max_sequence_length": "Usual: 1024–4096 on a GPU; 512 is enough for the CPU demo.",
  "training.max_new_tokens": "Usual: 256–1024 on a GPU; about 64 for the CPU demo.",
  "training.temperature": "Usual: about 0.7 (1.0 gives GRPO more varied groups).",
  "training.top_p": "Usual: 0.9–0.95.",
  "grpo.kl_penalty": "Usual: 0.01–0.1.",
  "grpo.clip_range": "Usual: about 0.2.",
};
const ALGORITHMS = {
  grpo: "GRPO: rewards compared within each group of completions; token-level importance sampling.",
  gspo: "GSPO: the same groups, with sequence-level importance sampling (steadier on long answers and MoE models).",
  or_grpo: "OR-GRPO: outlier-robust advantages (median and robust spread) for noisy or heavy-tailed rewards.",
};

let schema = null;
let draft = null;
let trackers = [];  // GET /api/training/trackers: name, label, description, installed, install
const timers = {};

function resolve(node) {
  if (node && node.$ref) return schema.$defs[node.$ref.split("/").pop()];
  return node;
}

// {kind, nullable, enum, min, max, ...} from a property's schema (anyOf with null means "may be empty").
function describe(prop) {
  let nullable = false;
  let base = prop;
  if (prop.anyOf) {
    const options = prop.anyOf.filter((o) => o.type !== "null");
    nullable = options.length < prop.anyOf.length;
    base = options.length === 1 ? options[0] : { anyOf: options };
  }
  const enumValues = base.enum || (base.const !== undefined ? [base.const] : null);
  let kind = base.type || "string";
  if (enumValues) kind = "enum";
  else if (base.anyOf) kind = "text";
  return { kind, nullable, enumValues, base };
}

function human(name) { return name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()); }

function getAt(obj, path) { return path.split(".").reduce((o, k) => (o == null ? undefined : o[k]), obj); }

function partialFor(path, value) {
  return path.split(".").reduceRight((inner, key) => ({ [key]: inner }), value);
}

function readValue(input, info) {
  const raw = input.type === "checkbox" ? input.checked : input.value;
  if (info.kind === "boolean") return raw;
  if (raw === "" && info.nullable) return null;
  if (info.kind === "integer" || info.kind === "number") return raw === "" ? null : Number(raw);
  if (info.kind === "array") return raw.split(",").map((s) => s.trim()).filter(Boolean);
  return raw;
}

// training.report_to: one checkbox per tracker; those not installed on the server are shown, disabled, with how
// to install them.
function trackerField(path, prop) {
  const chosen = new Set(getAt(draft, path) || []);
  const boxes = [];
  const rows = trackers.map((t) => {
    const id = `cfg-tracker-${t.name}`;
    const box = el("input", { class: "form-check-input", type: "checkbox", id, value: t.name, "data-tracker": t.name });
    box.checked = chosen.has(t.name);
    box.disabled = !t.installed && !box.checked;  // a saved choice stays visible (and untickable) if uninstalled
    box.addEventListener("change", () => save(path, () => boxes.filter((b) => b.checked).map((b) => b.value)));
    boxes.push(box);
    const note = t.installed ? t.description : `Not installed on this server (${t.install}).`;
    return el("div", { class: "form-check" }, box,
      el("label", { class: "form-check-label small", for: id }, t.label, " ",
         el("span", { class: t.installed ? "text-secondary" : "text-warning-emphasis" }, `— ${note}`)));
  });
  const credentials = "Credentials (WANDB_API_KEY, MLflow's username and password, HF_TOKEN) are secrets on your "
    + "Account page, never part of a config.";
  return el("div", { class: "col-12 config-field", id: "cfg-training-report_to" },
    el("div", { class: "form-label small mb-1" }, prop.title || "Report to", " ",
       el("code", { class: "small text-secondary" }, path)),
    rows,
    el("div", { class: "form-text" }, `${prop.description} ${credentials}`),
    el("div", { class: "small text-danger", "data-error-for": path, hidden: true }));
}

function field(path, prop) {
  if (path === "training.report_to") return trackerField(path, prop);
  const info = describe(prop);
  const id = `cfg-${path.replace(/\./g, "-")}`;
  const value = getAt(draft, path);
  let input;
  if (info.kind === "boolean") {
    input = el("input", { class: "form-check-input", type: "checkbox", id, "data-path": path });
    input.checked = !!value;
  } else if (info.kind === "enum") {
    input = el("select", { class: "form-select form-select-sm", id, "data-path": path },
      info.nullable ? el("option", { value: "" }, "(automatic)") : null,
      info.enumValues.map((v) => el("option", { value: v }, v)));
    input.value = value ?? "";
  } else {
    const numeric = info.kind === "integer" || info.kind === "number";
    const b = info.base;
    input = el("input", { class: "form-control form-control-sm", id, "data-path": path, type: numeric ? "number" : "text",
      step: info.kind === "integer" ? "1" : numeric ? "any" : null,
      min: b.minimum ?? b.exclusiveMinimum ?? null, max: b.maximum ?? b.exclusiveMaximum ?? null,
      placeholder: info.nullable ? "empty: none / all" : null });
    input.value = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(",") : value;
  }
  const bounds = [];
  const b = info.base;
  if (b.minimum !== undefined) bounds.push(`≥ ${b.minimum}`);
  if (b.exclusiveMinimum !== undefined) bounds.push(`> ${b.exclusiveMinimum}`);
  if (b.maximum !== undefined) bounds.push(`≤ ${b.maximum}`);
  if (b.exclusiveMaximum !== undefined) bounds.push(`< ${b.exclusiveMaximum}`);
  const help = [prop.description, GUIDANCE[path], bounds.length ? `Allowed: ${bounds.join(", ")}.` : "",
                prop.default !== undefined ? `Default: ${prop.default === null ? "none" : prop.default}.` : ""]
    .filter(Boolean).join(" ");
  input.addEventListener("change", () => save(path, () => readValue(input, info)));
  const label = el("label", { class: info.kind === "boolean" ? "form-check-label small" : "form-label small mb-0", for: id },
                   prop.title || human(path.split(".").pop()), " ", el("code", { class: "small text-secondary" }, path));
  const body = info.kind === "boolean" ? el("div", { class: "form-check" }, input, label) : [label, input];
  return el("div", { class: "col-sm-6 col-xl-4 config-field" }, body,
            el("div", { class: "form-text", id: `${id}-help` }, help),
            el("div", { class: "small text-danger", "data-error-for": path, hidden: true }));
}

function group(title, fields) {
  if (!fields.length) return null;
  return el("section", { class: "col-12" }, el("div", { class: "card" }, el("div", { class: "card-body" },
    el("h2", { class: "h6" }, title), el("div", { class: "row g-2" }, fields))));
}

function build() {
  clear(form);
  const placed = new Set();
  const training = resolve(schema.properties.training);
  const groups = [];
  for (const [title, paths] of GROUPS) {
    const fields = paths.filter((p) => training.properties[p.split(".")[1]]).map((p) => {
      placed.add(p);
      return field(p, training.properties[p.split(".")[1]]);
    });
    groups.push(group(title, fields));
  }
  groups.push(group("Other training settings", Object.entries(training.properties)
    .filter(([name]) => !placed.has(`training.${name}`)).map(([name, prop]) => field(`training.${name}`, prop))));
  const general = [];
  for (const [name, prop] of Object.entries(schema.properties)) {
    if (ELSEWHERE.has(name) || name === "training") continue;
    const section = resolve(prop);
    if (section && section.type === "object" && section.properties) {
      groups.push(group(SECTION_TITLES[name] || human(name),
        Object.entries(section.properties).map(([key, p]) => field(`${name}.${key}`, p))));
    } else general.push(field(name, prop));
  }
  groups.unshift(group("General", general));
  form.append(...groups.filter(Boolean));
}

async function refreshLive() {
  const t = draft.training;
  $("#live-effective-batch").textContent = `${t.batch_size * t.gradient_accumulation_steps * t.num_generations} completions`;
  $("#live-algorithm").textContent = ALGORITHMS[draft.grpo.algorithm] || draft.grpo.algorithm;
  try {
    const e = await get("/api/wizard/estimate");
    $("#live-steps").textContent = e.grpo_steps === null ? "depends on the dataset size"
      : `${e.grpo_steps}${e.sft_steps ? ` + ${e.sft_steps} SFT` : ""}`;
  } catch (_) { $("#live-steps").textContent = "–"; }
}

function save(path, read) {
  clearTimeout(timers[path]);
  timers[path] = setTimeout(async () => {
    say($("#step-message"), "Saving…");
    try {
      draft = await patchDraft(partialFor(path, read()), root, errorBox);
      say($("#step-message"), `Saved ${path}.`);
      root.dataset.saved = path;
      refreshLive();
    } catch (error) {
      say($("#step-message"), "Not saved: see the message beside the field.", "error");
    }
  }, 150);
}

$("#step-continue").addEventListener("click", () => { window.location.href = root.dataset.next; });

Promise.all([get(root.dataset.schemaUrl), loadDraft(), get(root.dataset.trackersUrl)]).then(([s, d, t]) => {
  schema = s;
  draft = d;
  trackers = t.trackers;
  build();
  refreshLive();
  root.dataset.ready = "1";
}).catch((error) => { errorBox.textContent = error.message; errorBox.hidden = false; });
