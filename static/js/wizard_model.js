// Wizard step "Model": a catalogue row or a typed Hub id / folder, its availability at once, LoRA quick setup.
import { get } from "./lib/api.js";
import { $, $$ } from "./lib/dom.js";
import { loadDraft, patchDraft, say } from "./wizard_draft.js";

const root = $("#model-step");
const nameInput = $("#model-name");
const errorBox = $("#model-error");
let infoTimer = null;
let lastInfo = null;
let draft = null;

function mode() { return ($$('input[name="setup-mode"]').find((r) => r.checked) || {}).value || "recommended"; }

function showMode() {
  $("#lora-fields").hidden = mode() === "recommended";
}

async function refreshInfo() {
  const name = nameInput.value.trim();
  for (const radio of $$('input[name="model-choice"]')) radio.checked = radio.value === name;
  try {
    const info = await get(`/api/wizard/model-info?name=${encodeURIComponent(name)}`);
    if (info.name !== nameInput.value.trim()) return; // an older answer
    lastInfo = info;
    const badge = $("#model-availability");
    badge.textContent = info.availability;
    badge.className = `badge availability-${info.availability}`;
    say($("#model-reason"), info.reason, info.available ? "ok" : "error");
    const guide = info.vram_lora_gb ? `VRAM guidance: ${info.vram_lora_gb} GB+ with LoRA, ${info.vram_full_gb} GB for full fine-tuning. ` : "";
    say($("#model-hardware"), guide + info.hardware, info.fits === false ? "warn" : "ok");
  } catch (error) {
    say($("#model-reason"), error.message, "error");
  }
}

function scheduleInfo() {
  clearTimeout(infoTimer);
  infoTimer = setTimeout(refreshInfo, 250);
}

function fillLora(model) {
  $("#lora-rank").value = model.lora_rank;
  $("#lora-alpha").value = model.lora_alpha;
  $("#lora-dropout").value = model.lora_dropout;
  $("#lora-targets").value = Array.isArray(model.target_modules) ? model.target_modules.join(",") : model.target_modules;
}

function sectionFromForm() {
  const model = { name: nameInput.value.trim() };
  const onGpu = lastInfo && lastInfo.gpus && lastInfo.gpus.length > 0;
  if (mode() === "recommended") {
    // LoRA r=16, alpha 2r on every linear layer: the product's middle of the road; bf16 only where a GPU is.
    Object.assign(model, { lora_rank: 16, lora_alpha: 32, lora_dropout: 0, target_modules: "all-linear" });
    return { model, training: { bf16: !!onGpu, optim: "adamw_torch" } };
  }
  const targets = $("#lora-targets").value.trim();
  Object.assign(model, {
    lora_rank: Number($("#lora-rank").value), lora_alpha: Number($("#lora-alpha").value),
    lora_dropout: Number($("#lora-dropout").value),
    target_modules: !targets || targets === "all-linear" ? "all-linear" : targets.split(",").map((s) => s.trim()).filter(Boolean),
  });
  return { model };
}

async function save() {
  say($("#step-message"), "Saving…");
  try {
    await patchDraft(sectionFromForm(), root, errorBox);
    say($("#step-message"), "Saved.");
    window.location.href = mode() === "advanced" ? root.dataset.configStep : root.dataset.next;
  } catch (error) {
    say($("#step-message"), "Not saved: see the messages above.", "error");
  }
}

for (const radio of $$('input[name="model-choice"]')) {
  radio.addEventListener("change", () => { nameInput.value = radio.value; refreshInfo(); });
}
for (const radio of $$('input[name="setup-mode"]')) radio.addEventListener("change", showMode);
nameInput.addEventListener("input", scheduleInfo);
$("#step-continue").addEventListener("click", save);

loadDraft().then((config) => {
  draft = config;
  nameInput.value = draft.model.name;
  fillLora(draft.model);
  const custom = draft.model.lora_rank !== 16 || draft.model.lora_alpha !== 32 || draft.model.lora_dropout !== 0
    || draft.model.target_modules !== "all-linear";
  if (custom) { $("#setup-custom").checked = true; }
  showMode();
  root.dataset.ready = "1";
  return refreshInfo();
}).catch((error) => { errorBox.textContent = error.message; errorBox.hidden = false; });
