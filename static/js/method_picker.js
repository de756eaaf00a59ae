// The Model step's training-method chooser (templates/partials/method_picker.html). Lists the methods from
// GET /api/training/methods; unavailable ones are disabled with the server's reason; choosing one saves
// {"method": name} into the wizard draft and announces it with a `tunewright:method-changed` event.
import { get, patch } from "./lib/api.js";
import { $, clear, el, showErrors } from "./lib/dom.js";

const root = document.getElementById("method-picker");

function draftMethod(draft) {
  // The draft API may answer the config itself or wrap it: accept the shapes it can reasonably take.
  const candidates = [draft, draft && draft.draft, draft && draft.config, draft && draft.draft && draft.draft.config];
  for (const c of candidates) if (c && typeof c.method === "string") return c.method;
  return null;
}

function draftModel(draft) {
  const candidates = [draft, draft && draft.draft, draft && draft.config, draft && draft.draft && draft.draft.config];
  for (const c of candidates) if (c && c.model && typeof c.model.name === "string") return c.model.name;
  return null;
}

async function optional(url) {
  try { return await get(url); } catch (_) { return null; }
}

// Before full fine-tuning: the memory it needs for the chosen model, against what this machine has.
async function showMemoryWarning(method, draft) {
  const box = $("[data-role=memory]", root);
  box.hidden = true;
  if (method !== "standard") return;
  const [models, system] = await Promise.all([optional(root.dataset.modelsUrl), optional(root.dataset.systemUrl)]);
  const name = draftModel(draft);
  const model = models && (models.models || []).find((m) => m.id === name);
  const gpus = (system && system.gpus) || [];
  const gpuGb = gpus.length ? Math.max(...gpus.map((g) => g.memory_total || 0)) / 1024 : 0;
  let text = "Full fine-tuning trains every weight: about 6.5 GB of memory per billion parameters " +
    "(3 B ≈ 20 GB, 7 B ≈ 46 GB). Turn full_finetune off in Config for LoRA SFT, which needs far less.";
  if (model) {
    const need = model.vram_full_gb;
    text = `Full fine-tuning ${model.name} needs about ${need} GB of memory. ` + (gpuGb
      ? (need > gpuGb ? `This server's largest GPU has ${gpuGb.toFixed(0)} GB: it will not fit; use LoRA or QLoRA.`
        : `This server's GPU has ${gpuGb.toFixed(0)} GB.`)
      : "This server has no GPU: it would train on the CPU, slowly.");
  }
  box.textContent = text;
  box.hidden = false;
}

function render(methods, current, draft) {
  const list = clear($("[data-role=list]", root));
  for (const m of methods) {
    const id = `method-${m.name}`;
    const input = el("input", { class: "form-check-input", type: "radio", name: "training-method", id, value: m.name,
                                disabled: !m.available, checked: m.name === current });
    input.addEventListener("change", () => choose(m.name, draft));
    const reason = m.available ? null : el("div", { class: "small text-danger", "data-role": "reason", text: m.reason });
    list.append(el("div", { class: "form-check mb-1", "data-method": m.name, "data-available": String(m.available) },
      input,
      el("label", { class: "form-check-label", for: id },
        el("strong", { text: m.label || m.name }), " ",
        el("span", { class: "text-secondary small", text: `— ${m.description}` })),
      reason));
  }
  showMemoryWarning(current, draft);
}

async function choose(name, draft) {
  const saved = $("[data-role=saved]", root);
  saved.textContent = "";
  try {
    await patch(root.dataset.draftUrl, { method: name });
    showErrors(null, root, $("[data-role=error]", root));
    saved.textContent = "Saved.";
    root.dataset.current = name;
    document.dispatchEvent(new CustomEvent("tunewright:method-changed", { detail: { method: name } }));
    showMemoryWarning(name, draft);
  } catch (error) {
    showErrors(error, root, $("[data-role=error]", root));
    const previous = root.dataset.current;
    for (const input of root.querySelectorAll("input[name=training-method]")) input.checked = input.value === previous;
  }
}

async function init() {
  if (!root) return;
  try {
    const [data, draft] = await Promise.all([get(root.dataset.methodsUrl), optional(root.dataset.draftUrl)]);
    const current = draftMethod(draft) || "grpo";
    root.dataset.current = current;
    render(data.methods, current, draft);
    root.dataset.ready = "1";
  } catch (error) {
    showErrors(error, root, $("[data-role=error]", root));
  }
}

init();
