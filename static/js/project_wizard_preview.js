// The Preview step: the mix a body would build (POST /api/projects/preview), as one row per dataset.
import { post } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";
import { TRAIT_LABELS, pct, rows } from "./project_format.js";

const table = $("#preview-table");
const statusBox = $("#preview-status");

const factor = (x) => (typeof x === "number" ? `${x.toFixed(2)}×` : "—");

function sourceRow(s) {
  return el("tr", { "data-key": s.key },
    el("td", {}, TRAIT_LABELS[s.trait] || s.trait),
    el("td", {}, s.label, s.label !== s.key ? el("div", { class: "text-secondary" }, s.key) : null),
    el("td", {}, `${s.percentage} %`),
    el("td", { "data-field": "rows" }, rows(s.rows),
       s.eval_rows ? el("div", { class: "text-secondary" }, `+ ${rows(s.eval_rows)} held out`) : null),
    el("td", {}, pct(s.share_of_rows)),
    el("td", {}, pct(s.share_of_tokens)),
    el("td", { class: s.duplication_factor > 1 ? "text-warning-emphasis" : "" }, factor(s.duplication_factor)),
    el("td", { class: s.shortfall > 0 ? "text-danger" : "" }, s.shortfall > 0 ? rows(s.shortfall) : "none"));
}

function draw(preview) {
  const sources = preview.sources || [];
  clear(table.tBodies[0]).append(...sources.map(sourceRow));
  clear(table.tFoot).append(el("tr", { class: "fw-semibold" }, el("td", { colspan: "3" }, "Total"),
    el("td", { "data-field": "total-rows" }, rows(preview.total_rows),
       preview.total_eval_rows ? el("div", { class: "text-secondary fw-normal" }, `+ ${rows(preview.total_eval_rows)} held out`) : null),
    el("td", { colspan: "4", class: "text-secondary fw-normal" }, `of ${rows(preview.max_rows)} max rows`)));
  table.hidden = false;
  clear($("#preview-warnings")).append(...(preview.warnings || []).map((w) => el("li", {}, w)));
  $("#preview-tokens-note").textContent = preview.tokens_note || "";
}

// Resolves to the preview, or rejects with the API's error (its details name the fields).
let latest = 0;  // only the newest request draws: an older answer may arrive last

export async function runPreview(body) {
  const ticket = ++latest;
  statusBox.textContent = "Computing the mix…";
  table.hidden = true;
  try {
    const { preview } = await post("/api/projects/preview", body);
    if (ticket !== latest) return preview;
    draw(preview);
    statusBox.textContent = "";
    table.dataset.loaded = String(Date.now());
    return preview;
  } catch (error) {
    if (ticket === latest) statusBox.textContent = "";
    throw error;
  }
}
