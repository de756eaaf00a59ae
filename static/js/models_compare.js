// Compare 2-4 versions: metrics, config diff (differences only or all), GRPO curves overlaid, and the same
// prompts answered by each version side by side with reward scores (one request per prompt, so rows appear as
// their answers arrive).
import { get, post } from "./lib/api.js";
import { $, clear, el, humanSize, showErrors } from "./lib/dom.js";

const root = $("#compare-page");
const errorBox = $("#compare-error");
const refs = new URLSearchParams(window.location.search).getAll("v");
const COLOURS = ["#0d6efd", "#dc3545", "#198754", "#fd7e14"];
const CURVE_LABELS = { reward: "Reward", kl: "KL", completion_length: "Completion length (mean tokens)" };
const enc = encodeURIComponent;
let versions = [];

function fail(error) {
  showErrors(error, $("#prompt-form"), errorBox);
}

const fmt = (x, digits = 4) => (typeof x === "number" ? x.toFixed(digits) : "—");
const show = (value) => (value === null || value === undefined ? "—" : typeof value === "object" ? JSON.stringify(value) : String(value));

function headRow(first) {
  return el("tr", {}, el("th", { scope: "col" }, first), versions.map((v, i) => el("th", { scope: "col" },
    el("span", { class: "swatch", style: `background:${COLOURS[i]}` }), " ",
    el("a", { href: `/models/${enc(v.name)}/versions/${enc(v.version)}` }, v.ref))));
}

function metricsTable() {
  const rows = [
    ["Held-out reward", (m) => { const h = m.held_out_reward; return h && typeof h.mean === "number"
      ? `${fmt(h.mean, 3)}${typeof h.ci_low === "number" ? ` [${fmt(h.ci_low, 3)}, ${fmt(h.ci_high, 3)}]` : ""} n=${h.n}` : "—"; }],
    ["Final loss", (m) => fmt((m.final || {}).loss ?? (m.final || {}).train_loss)],
    ["Final reward", (m) => fmt((m.final || {}).reward)],
    ["Final KL", (m) => fmt((m.final || {}).kl)],
    ["Accuracy (SFT)", (m) => fmt((m.final || {}).accuracy)],
    ["Steps", (m) => show(m.steps)],
  ];
  const facts = [["Method", (v) => v.method || "—"], ["Type", (v) => v.type], ["Base model", (v) => v.base_model || "—"],
    ["Size", (v) => humanSize(v.size_bytes)], ["Status", (v) => v.status]];
  clear($("#compare-metrics thead")).append(headRow("Metric"));
  clear($("#compare-metrics tbody")).append(
    ...rows.map(([label, f]) => el("tr", {}, el("th", { scope: "row" }, label), versions.map((v) => el("td", {}, f(v.metrics || {}))))),
    ...facts.map(([label, f]) => el("tr", {}, el("th", { scope: "row" }, label), versions.map((v) => el("td", { class: "text-break" }, f(v))))));
}

function configTable(diff) {
  clear($("#compare-config thead")).append(headRow("Setting"));
  const tbody = clear($("#compare-config tbody"));
  if (!diff.length) tbody.append(el("tr", {}, el("td", { colspan: String(versions.length + 1), class: "text-secondary" },
    "The configs are identical.")));
  for (const row of diff) {
    tbody.append(el("tr", { "data-key": row.key }, el("th", { scope: "row" }, el("code", {}, row.key)),
      row.values.map((value, i) => el("td", { class: row.differs ? "differs" : null },
        row.present[i] ? show(value) : el("span", { class: "text-secondary" }, "(absent)")))));
  }
  root.dataset.configRows = String(diff.length);
}

function curves(data) {
  let any = false;
  for (const [name, perVersion] of Object.entries(data)) {
    const datasets = perVersion.map((points, i) => points ? ({ label: versions[i].ref, borderColor: COLOURS[i],
      backgroundColor: COLOURS[i], pointRadius: 1, borderWidth: 1.5, data: points.map(([x, y]) => ({ x, y })) }) : null)
      .filter(Boolean);
    any = any || datasets.length > 0;
    const canvas = $(`#curve-${name}`);
    if (!canvas || typeof Chart === "undefined") continue;
    const existing = Chart.getChart(canvas);
    if (existing) existing.destroy();
    new Chart(canvas, { type: "line", data: { datasets },
      options: { animation: false, parsing: false, responsive: true, interaction: { mode: "nearest", intersect: false },
        scales: { x: { type: "linear", title: { display: true, text: "step" } } },
        plugins: { title: { display: true, text: CURVE_LABELS[name] || name }, legend: { labels: { boxWidth: 10 } } } } });
  }
  $("#compare-curves-empty").hidden = any;
  $("#compare-curves").hidden = !any;
}

async function loadOverview() {
  const params = new URLSearchParams();
  for (const ref of refs) params.append("v", ref);
  if ($("#diff-only").checked) params.set("differences_only", "1");
  const data = await get(`/api/registry/compare?${params}`);
  versions = data.versions;
  $("#compare-refs").textContent = versions.map((v) => v.ref).join(" · ");
  $("#compare-scorer").textContent = versions[0].ref;
  metricsTable();
  configTable(data.config_diff);
  return data;
}

function answersHead() {
  clear($("#compare-answers thead")).append(headRow("Prompt"));
  clear($("#compare-answers tbody"));
  clear($("#compare-answers tfoot"));
}

function answerRow(result) {
  const row = result.rows[0];
  return el("tr", { "data-prompt": row.prompt },
    el("td", {}, row.prompt, row.expected ? el("div", { class: "text-secondary" }, `expected: ${row.expected}`) : null),
    row.answers.map((a) => el("td", { "data-ref": a.ref },
      el("div", { "data-field": "answer" }, a.text || el("em", { class: "text-secondary" }, "(empty)")),
      el("div", { class: "text-secondary mt-1" }, "score ", el("b", { "data-field": "score" }, fmt(a.score, 3)),
        Object.keys(a.components).length ? ` (${Object.entries(a.components).map(([k, s]) => `${k} ${fmt(s, 2)}`).join(", ")})` : "",
        ` · ${a.tokens} tokens, ${fmt(a.seconds, 1)} s`))));
}

function footer(scores) {
  clear($("#compare-answers tfoot")).append(el("tr", {}, el("th", { scope: "row" }, "Mean score"),
    scores.map((list) => el("td", { "data-field": "mean-score" }, list.length ? fmt(list.reduce((a, b) => a + b, 0) / list.length, 3) : "—"))));
}

async function run(event) {
  event.preventDefault();
  errorBox.hidden = true;
  showErrors(null, $("#prompt-form"));
  const maxTokens = Number($("#compare-max-tokens").value);
  const source = $("#compare-source").value;
  const base = { versions: versions.map((v) => v.ref), max_tokens: maxTokens, temperature: 0 };
  let requests;
  if (source === "typed") {
    const prompts = $("#compare-prompts").value.split("\n").map((p) => p.trim()).filter(Boolean);
    if (!prompts.length || prompts.length > 8) {
      fail({ message: "Type 1 to 8 prompts, one per line.", details: [{ path: "prompts", message: "1 to 8 prompts" }] });
      return;
    }
    requests = prompts.map((p) => ({ ...base, prompts: [p] }));
  } else {
    requests = [{ ...base, dataset: { source: "held_out", n: Number($("#compare-n").value) } }];
  }
  answersHead();
  root.dataset.state = "running";
  $("#compare-run").disabled = true;
  const scores = versions.map(() => []);
  try {
    for (const [i, body] of requests.entries()) {
      $("#compare-progress").textContent = `answering ${i + 1} of ${requests.length}…`;
      const result = await post("/api/registry/compare", body);
      for (const r of result.rows) {
        $("#compare-answers tbody").append(answerRow({ rows: [r] }));
        r.answers.forEach((a, v) => scores[v].push(a.score));
      }
      footer(scores);
    }
    $("#compare-progress").textContent = "done";
    root.dataset.state = "done";
  } catch (error) {
    fail(error);
    $("#compare-progress").textContent = "";
    root.dataset.state = "failed";
  } finally { $("#compare-run").disabled = false; }
}

async function start() {
  try {
    const data = await loadOverview();
    curves(data.curves);
    answersHead();
    root.dataset.ready = "1";
  } catch (error) {
    fail(error);
    $("#compare-run").disabled = true;
  }
}

$("#diff-only").addEventListener("change", () => loadOverview().catch(fail));
$("#prompt-form").addEventListener("submit", run);
$("#compare-source").addEventListener("change", () => {
  $("#compare-prompts").disabled = $("#compare-source").value !== "typed";
});
start();
