// Shared wording of the Projects pages: traits, dataset references and statuses, said the same way everywhere.

export const TRAIT_LABELS = { reasoning: "Reasoning", coding: "Coding", general: "General/tools" };
// A project can be (re)started unless its run is still in the queue or training.
export const STARTABLE = new Set(["draft", "completed", "failed", "stopped", "interrupted"]);
export const ACTIVE = new Set(["queued", "running", "stopping"]);

// A share's reference as the dataset selects name it: "builtin:<name>" or "dataset:<id>".
export function shareKey(share) {
  return share.dataset_id ? `dataset:${share.dataset_id}` : share.source;
}

// The select's value back as a share of the body (the spec takes one of dataset_id or source).
export function shareOf(key, percentage) {
  if (key.startsWith("dataset:")) return { dataset_id: Number(key.slice(8)), percentage };
  return { source: key, percentage };
}

// "arithmetic (built-in)" or the dataset's name from `names` (key -> name), else the key itself.
export function datasetLabel(key, names) {
  if (names && names[key]) return names[key];
  return key.startsWith("builtin:") ? `${key.slice(8)} (built-in)` : key;
}

export function traitsSummary(traits, names) {
  return (traits || []).map((t) => {
    const sets = t.datasets.map((d) => datasetLabel(shareKey(d), names));
    return `${TRAIT_LABELS[t.trait_type] || t.trait_type}: ${sets.length > 2 ? `${sets.length} datasets` : sets.join(", ")}`;
  }).join(" · ");
}

export const rows = (n) => (typeof n === "number" ? n.toLocaleString("en-US") : "—");
export const pct = (x, digits = 1) => (typeof x === "number" ? `${(100 * x).toFixed(digits)} %` : "—");
