// Wizard step "Rewards" (minimal): pick one of the engine's presets; the choice goes into the draft at once.
import { $, $$ } from "./lib/dom.js";
import { loadDraft, patchDraft, say } from "./wizard_draft.js";

const root = $("#rewards-step");

function mark(presetId) {
  for (const button of $$("[data-preset-id]", root)) {
    const on = button.dataset.presetId === presetId;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.classList.toggle("active", on);
  }
}

for (const button of $$("[data-preset-id]", root)) {
  button.addEventListener("click", async () => {
    try {
      const config = await patchDraft({ reward: { type: "preset", preset_name: button.dataset.presetId } }, root, $("#rewards-error"));
      mark(config.reward.preset_name);
      say($("#step-message"), `Reward preset "${config.reward.preset_name}" saved.`);
    } catch (_) { say($("#step-message"), "Not saved.", "error"); }
  });
}

loadDraft().then((config) => {
  if (config.reward.type === "preset") mark(config.reward.preset_name);
  else say($("#step-message"), "The draft uses reward components; choosing a preset replaces them.", "warn");
  root.dataset.ready = "1";
}).catch((error) => say($("#step-message"), error.message, "error"));
