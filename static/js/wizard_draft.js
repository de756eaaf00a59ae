// The wizard's server-side draft config, shared by every step: read it, patch a section, show errors in place.
import { get, patch } from "./lib/api.js";
import { showErrors } from "./lib/dom.js";

export const DRAFT_URL = "/api/wizard/draft";

export async function loadDraft() {
  return (await get(DRAFT_URL)).config;
}

// PATCH a partial config; on a 400 the errors appear beside the fields (data-error-for) or in `fallback`,
// and the promise rejects so the caller does not navigate on.
export async function patchDraft(partial, root = document, fallback = null) {
  try {
    const result = await patch(DRAFT_URL, partial);
    showErrors(null, root, fallback);
    return result.config;
  } catch (error) {
    showErrors(error, root, fallback);
    throw error;
  }
}

export function say(node, text, kind = "ok") {
  if (!node) return;
  node.className = `small ${kind === "error" ? "text-danger" : kind === "warn" ? "text-warning-emphasis" : "text-secondary"}`;
  node.textContent = text;
}
