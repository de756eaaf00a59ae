// The project page's frozen manifest (per-trait counts, sources with checksum) and its validation checks.
import { $, clear, el, when } from "./lib/dom.js";
import { TRAIT_LABELS, rows } from "./project_format.js";

const trait = (name) => TRAIT_LABELS[name] || name;

export function showManifest(manifest, sha256) {
  $("#manifest-sha").textContent = sha256 || "—";
  clear($("#manifest-traits tbody")).append(...Object.entries(manifest.traits || {}).map(([name, counts]) =>
    el("tr", { "data-trait": name }, el("td", {}, trait(name)), el("td", {}, rows(counts.train_rows)),
       el("td", {}, rows(counts.eval_rows)))));
  clear($("#manifest-sources tbody")).append(...(manifest.sources || []).map((s) =>
    el("tr", { "data-key": s.key }, el("td", {}, trait(s.trait)),
       el("td", {}, s.label, s.label !== s.key ? el("div", { class: "text-secondary" }, s.key) : null),
       el("td", {}, `${s.percentage} %`), el("td", {}, rows(s.rows)), el("td", {}, rows(s.eval_rows)),
       el("td", {}, typeof s.duplication_factor === "number" ? `${s.duplication_factor.toFixed(2)}×` : "—"),
       el("td", {}, s.shortfall > 0 ? rows(s.shortfall) : "none"),
       el("td", {}, s.checksum ? el("code", { title: s.checksum }, s.checksum.slice(0, 12)) : "—"))));
  clear($("#manifest-warnings")).append(...(manifest.warnings || []).map((w) => el("li", {}, w)));
  $("#manifest").hidden = false;
  $("#manifest-note").textContent = manifest.totals
    ? `${rows(manifest.totals.train_rows)} training rows and ${rows(manifest.totals.eval_rows)} held-out rows, seed ${manifest.seed}.`
    : "";
}

export function manifestMissing(message) {
  $("#manifest").hidden = true;
  $("#manifest-note").textContent = message;
}

export function showValidation(result) {
  const badge = $("#validation-badge");
  const table = $("#validation-checks");
  if (!result) {
    badge.hidden = true;
    table.hidden = true;
    return;
  }
  badge.hidden = false;
  badge.textContent = result.passed ? "passed" : "failed";
  badge.className = `badge ${result.passed ? "text-bg-success" : "text-bg-danger"}`;
  $("#validation-note").textContent = result.checked_at ? `Checked ${when(result.checked_at)} UTC on run ${result.session_id}.` : "";
  clear(table.tBodies[0]).append(...(result.checks || []).map((c) =>
    el("tr", { "data-check": c.name }, el("td", {}, c.name),
       el("td", {}, el("span", { class: `badge ${c.passed ? "text-bg-success" : "text-bg-danger"}` }, c.passed ? "pass" : "fail")),
       el("td", { class: "text-break" }, c.detail || ""))));
  table.hidden = false;
}
