// One version's page: summary, metrics, lineage, files, config; alias, archive, deploy, delete.
import { del, get, post, request } from "./lib/api.js";
import { $, clear, el, humanSize, when } from "./lib/dom.js";

const root = $("#version-page");
const errorBox = $("#version-error");
const name = root.dataset.name;
const number = root.dataset.version;
const enc = encodeURIComponent;
const api = `/api/registry/models/${enc(name)}/versions/${enc(number)}`;

function fail(error) {
  errorBox.textContent = error.details && error.details.length
    ? `${error.message} ${error.details.map((d) => `${d.path}: ${d.message}`).join("; ")}` : error.message;
  errorBox.hidden = false;
}

async function act(promise) {
  errorBox.hidden = true;
  try { await promise; } catch (error) { fail(error); }
  await load();
}

const fmt = (x, digits = 4) => (typeof x === "number" ? x.toFixed(digits) : "—");
const short = (hash) => (hash ? `${hash.replace(/^sha256:/, "").slice(0, 16)}…` : "—");

function pair(label, ...value) { return [el("dt", { class: "col-4" }, label), el("dd", { class: "col-8 text-break mb-1" }, ...value)]; }

function summary(v) {
  clear($("#version-summary")).append(
    ...pair("Type", `${v.type} (${v.framework})`), ...pair("Method", v.method || "—"),
    ...pair("Base model", v.base_model || "—"), ...pair("Size", humanSize(v.size_bytes)),
    ...pair("Registered", when(v.created_at)),
    ...pair("From", v.session_id ? el("a", { href: `/sessions/${enc(v.session_id)}` }, `session ${v.session_id}`) : "—",
      v.export_id ? ` · export ${v.export_id}` : ""),
    ...(v.status_reason ? pair("Status reason", v.status_reason) : []));
}

function metrics(m) {
  const rows = [];
  const h = m.held_out_reward;
  if (h && typeof h.mean === "number") {
    rows.push(["Held-out reward", el("span", { "data-field": "held-out" }, fmt(h.mean, 3),
      typeof h.ci_low === "number" ? ` (95% CI ${fmt(h.ci_low, 3)} – ${fmt(h.ci_high, 3)})` : "", ` n = ${h.n}`)]);
    const d = m.held_out_difference;
    if (d && typeof d.mean === "number") rows.push(["vs base model", `${d.mean >= 0 ? "+" : ""}${fmt(d.mean, 3)}` +
      (typeof d.ci_low === "number" ? ` (${fmt(d.ci_low, 3)} – ${fmt(d.ci_high, 3)})` : "") + (m.verdict ? `: ${m.verdict}` : "")]);
  } else rows.push(["Held-out reward", el("span", { class: "text-secondary" }, "not evaluated yet (the Test step's evaluation)")]);
  for (const [key, value] of Object.entries(m.final || {})) rows.push([`Final ${key}`, fmt(value)]);
  rows.push(["Steps", m.steps ?? "—"]);
  clear($("#version-metrics tbody")).append(...rows.map(([k, v]) => el("tr", {}, el("th", { scope: "row" }, k), el("td", {}, v))));
}

function lineage(l) {
  const box = clear($("#version-lineage"));
  box.append(el("div", {}, el("strong", {}, "Config hash: "), el("code", {}, l.config_hash || "—")));
  box.append(el("strong", {}, "Datasets"), el("ul", { class: "mb-1", "data-field": "datasets" },
    (l.datasets || []).map((d) => el("li", {}, d.name || d.source || "?", d.id ? ` (id ${d.id})` : "",
      " sha256 ", el("code", {}, d.sha256 || "not recorded")))));
  const reward = l.reward || {};
  const codes = (reward.custom || []).filter((u) => u.code_sha256);
  box.append(el("strong", {}, "Reward"), el("pre", { class: "copy-block border rounded p-1 mb-1", "data-field": "reward" },
    JSON.stringify(reward, null, 2)));
  if (codes.length) box.append(el("div", {}, el("strong", {}, "Reward code: "),
    codes.map((u) => el("code", { class: "me-2" }, `${u.name || "custom"} sha256 ${short(u.code_sha256)}`))));
  if (l.export) box.append(el("div", {}, el("strong", {}, "Registered from export: "),
    `${l.export.id} (${l.export.format}${l.export.quantization ? ` ${l.export.quantization}` : ""})`,
    l.export.verification ? ` verification ${l.export.verification.status || "—"}` : ""));
  box.append(el("strong", {}, "Exports of the run"), el("ul", { class: "mb-0", "data-field": "exports" },
    (l.exports || []).length ? l.exports.map((x) => el("li", {}, `${x.id} ${x.format}${x.quantization ? ` ${x.quantization}` : ""}: `,
      x.files.map((f) => el("span", { class: "me-2" }, `${f.name} (${humanSize(f.size)}) `, el("code", {}, short(f.sha256))))))
      : [el("li", { class: "text-secondary" }, "none")]));
}

function aliases(v) {
  const list = clear($("#version-aliases"));
  if (!v.aliases.length) list.append(el("li", { class: "list-inline-item text-secondary" }, "none"));
  for (const alias of v.aliases) {
    list.append(el("li", { class: "list-inline-item", "data-alias": alias }, el("code", {}, `${v.name}@${alias}`), " ",
      el("button", { class: "btn btn-link btn-sm p-0", type: "button", "aria-label": `Remove alias ${alias}`,
        onclick: () => act(del(`/api/registry/models/${enc(name)}/aliases/${enc(alias)}`)) }, "remove")));
  }
}

async function load() {
  let v;
  try { v = await get(api); } catch (error) { fail(error); return; }
  $("#version-status").textContent = v.status;
  $("#version-status").className = `badge status-${v.status}`;
  summary(v);
  metrics(v.metrics || {});
  lineage(v.lineage || {});
  aliases(v);
  const deployment = v.deployment;
  clear($("#version-deployment")).append(deployment
    ? el("pre", { class: "copy-block border rounded p-1 mb-0" }, JSON.stringify(deployment, null, 2))
    : el("span", { class: "text-secondary" }, "never deployed"));
  clear($("#version-files tbody")).append(...(v.files || []).map((f) => el("tr", {},
    el("td", { class: "text-break" }, f.name), el("td", {}, humanSize(f.size)), el("td", {}, el("code", { title: f.sha256 }, short(f.sha256))))));
  const config = (v.lineage || {}).config;
  $("#version-config").textContent = config ? JSON.stringify(config, null, 2) : "No config recorded.";
  $("#version-config-hash").textContent = (v.lineage || {}).config_hash || "";
  $("#version-compare").href = `/models/${enc(name)}`;
  const archived = v.status === "archived";
  const archive = $("[data-action=archive]");
  archive.textContent = archived ? "Unarchive" : "Archive";
  archive.disabled = v.status === "deployed";
  $("[data-action=deploy]").hidden = v.status !== "ready";
  $("[data-action=undeploy]").hidden = v.status !== "deployed";
  $("[data-action=delete]").disabled = v.status === "deployed";
  root.dataset.status = v.status;
  root.dataset.ready = "1";
}

$("[data-action=archive]").addEventListener("click", () =>
  act(post(`${api}/archive`, { archived: root.dataset.status !== "archived" })));
$("[data-action=deploy]").addEventListener("click", () => act(post(`${api}/deploy`)));
$("[data-action=undeploy]").addEventListener("click", () => act(post(`${api}/undeploy`)));
$("#alias-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const alias = $("#alias-name").value.trim();
  act(request("PUT", `/api/registry/models/${enc(name)}/aliases/${enc(alias)}`, { version: Number(number) })
    .then(() => { $("#alias-name").value = ""; }));
});
$("[data-action=delete]").addEventListener("click", async () => {
  if (!window.confirm(`Delete ${name}:v${number} and its weight files? This cannot be undone.`)) return;
  errorBox.hidden = true;
  try {
    await del(api);
    window.location.href = `/models`;
  } catch (error) { fail(error); }
});
load();
