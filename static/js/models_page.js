// Models page (and one model's page): the registry's versions as a filterable table; tick 2-4 to compare.
import { get } from "./lib/api.js";
import { $, clear, el, humanSize, when } from "./lib/dom.js";

const root = $("#models-page");
const errorBox = $("#models-error");
const onlyModel = root.dataset.model || "";
const compareButton = $("#compare-selected");

const enc = encodeURIComponent;
export const versionUrl = (v) => `/models/${enc(v.name)}/versions/${enc(v.version)}`;

export function heldOut(metrics) {
  const h = (metrics || {}).held_out_reward;
  if (!h || typeof h.mean !== "number") return "—";
  const ci = typeof h.ci_low === "number" ? ` [${h.ci_low.toFixed(3)}, ${h.ci_high.toFixed(3)}]` : "";
  return `${h.mean.toFixed(3)}${ci} n=${h.n}`;
}

// Ticked versions survive a filter change (the table is redrawn; the choice is not lost with it).
const chosen = new Set();
function selected() { return [...chosen]; }

function updateCompare() {
  const refs = selected();
  compareButton.disabled = refs.length < 2 || refs.length > 4;
  compareButton.textContent = refs.length ? `Compare selected (${refs.length})` : "Compare selected";
}

function row(v) {
  const final = (v.metrics || {}).final || {};
  const loss = typeof final.loss === "number" ? final.loss : final.train_loss;
  return el("tr", { "data-ref": v.ref, "data-status": v.status, class: v.status === "archived" ? "archived" : null },
    el("td", {}, el("input", { type: "checkbox", class: "form-check-input", "data-ref": v.ref,
      "aria-label": `Compare ${v.ref}`, checked: chosen.has(v.ref),
      onchange: (event) => { if (event.target.checked) chosen.add(v.ref); else chosen.delete(v.ref); updateCompare(); } })),
    el("td", {}, el("a", { href: versionUrl(v), "data-field": "ref" }, v.ref)),
    el("td", {}, (v.aliases || []).map((a) => el("span", { class: "badge text-bg-light border me-1" }, `@${a}`))),
    el("td", {}, v.type), el("td", {}, v.method || "—"), el("td", { class: "text-break" }, v.base_model || "—"),
    el("td", {}, el("span", { class: `badge status-${v.status}`, "data-field": "status" }, v.status)),
    el("td", { "data-field": "held-out" }, heldOut(v.metrics)),
    el("td", {}, typeof loss === "number" ? loss.toFixed(4) : "—"),
    el("td", {}, humanSize(v.size_bytes)), el("td", {}, when(v.created_at)));
}

let seq = 0;
async function refresh() {
  const mine = ++seq;
  const params = new URLSearchParams();
  for (const key of ["q", "type", "status"]) {
    const value = $(`#filter-${key}`).value.trim();
    if (value) params.set(key, value);
  }
  try {
    const data = await get(`/api/registry/models?${params}`);
    if (mine !== seq) return;  // a newer filter answered first
    const models = onlyModel ? data.models.filter((m) => m.name === onlyModel) : data.models;
    const versions = models.flatMap((m) => [...m.versions].reverse());
    const tbody = clear($("#models-table tbody"));
    if (versions.length) tbody.append(...versions.map(row));
    else tbody.append(el("tr", {}, el("td", { colspan: "11", class: "text-secondary" },
      data.models.length || params.toString() ? "No version matches these filters." :
        "No models yet: a completed training run registers one.")));
    $("#models-count").textContent = `${versions.length} version(s) of ${models.length} model(s)`;
    errorBox.hidden = true;
    updateCompare();
    root.dataset.ready = "1";
  } catch (error) {
    errorBox.textContent = error.message;
    errorBox.hidden = false;
  }
}

let timer = null;
$("#filter-q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 200); });
$("#filter-type").addEventListener("change", refresh);
$("#filter-status").addEventListener("change", refresh);
$("#models-filters").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });
compareButton.addEventListener("click", () => {
  const params = new URLSearchParams();
  for (const ref of selected()) params.append("v", ref);
  window.location.href = `/models/compare?${params}`;
});
refresh();
