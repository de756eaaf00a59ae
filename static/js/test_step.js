// Test step: stream answers over Socket.IO (test_token / test_done), compare two models, batch, evaluate, history.
import { get, post, upload } from "./lib/api.js";
import { $, clear, el, showErrors } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const app = $("#test-app");
const form = $("#test-form");
const modelSelect = $("#test-model");
const compareSelect = $("#test-compare-model");
const errorBox = $("#test-error");
const stopButton = $("#test-stop");
const socket = getSocket();
const streams = new Map(); // request_id -> output element
let models = [];

function settings() {
  const data = Object.fromEntries(new FormData(form));
  const out = { prompt: data.prompt, temperature: Number(data.temperature), top_p: Number(data.top_p),
    max_tokens: Number(data.max_tokens), seed: Number(data.seed) };
  if (data.system_prompt) out.system_prompt = data.system_prompt;
  return out;
}

async function loadModels() {
  ({ testable: models } = await get("/api/models/list"));
  for (const select of [modelSelect, compareSelect]) {
    const keep = select === compareSelect ? [el("option", { value: "", text: "—" })] : [];
    clear(select).append(...keep, ...models.map((m) => el("option", { value: m.id, text: `[${m.kind}] ${m.label}` })));
  }
  if (app.dataset.modelId) modelSelect.value = app.dataset.modelId;
}

function startStream(modelId, output, label, tag) {
  clear(output);
  label.textContent = modelId;
  return new Promise((resolve, reject) => {
    socket.emit("test_generate", { ...settings(), model_id: modelId, tag }, (ack) => {
      if (!ack || !ack.ok) { reject(new Error((ack && ack.error) || "The server refused the request.")); return; }
      streams.set(ack.request_id, { output, resolve });
    });
  });
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showErrors(null, form, errorBox);
  if (!socket) return;
  const second = compareSelect.value;
  $("#output-b-col").hidden = !second;
  stopButton.disabled = false;
  app.dataset.state = "streaming";
  try {
    const runs = [startStream(modelSelect.value, $("#output-a"), $("#output-a-label"), "a")];
    if (second) runs.push(startStream(second, $("#output-b"), $("#output-b-label"), "b"));
    const done = await Promise.all(runs);
    $("#test-stats").textContent = done.map((d) => `${d.tokens} tokens in ${d.seconds.toFixed(2)} s${d.stopped ? " (stopped)" : ""}`).join(" · ");
  } catch (error) { showErrors(error, form, errorBox); }
  stopButton.disabled = true;
  app.dataset.state = "done";
  loadHistory();
});

stopButton.addEventListener("click", () => {
  for (const id of streams.keys()) socket.emit("test_stop", { request_id: id });
});

if (socket) {
  socket.on("test_token", (t) => { const s = streams.get(t.request_id); if (s) s.output.append(t.text); });
  socket.on("test_done", (d) => {
    const s = streams.get(d.request_id);
    if (!s) return;
    streams.delete(d.request_id);
    if (d.error) { s.output.append(el("span", { class: "text-danger", text: `\n${d.error}` })); s.resolve({ tokens: 0, seconds: 0 }); }
    else s.resolve(d);
  });
  socket.on("batch_progress", (p) => { $("#batch-status").textContent = `batch ${p.batch_id}: ${p.done} / ${p.total}`; });
  socket.on("batch_complete", (b) => showBatch(b.id));
  socket.on("evaluation_complete", (e) => showEvaluation(e));
}

async function showBatch(id) {
  const { batch } = await get(`/api/models/batch/${id}`);
  const status = clear($("#batch-status"));
  status.append(`batch ${batch.id}: ${batch.status} (${batch.done} / ${batch.total}) `,
    el("a", { href: `/api/models/batch/${batch.id}`, text: "JSON" }), " · ",
    el("a", { href: `/api/models/batch/${batch.id}?format=csv`, text: "CSV" }));
  const tbody = clear($("#batch-table tbody"));
  for (const r of batch.results) {
    tbody.append(el("tr", {}, el("td", { text: r.index + 1 }), el("td", { text: r.prompt }), el("td", { text: r.expected ?? "" }),
      el("td", { text: r.output }), el("td", { text: r.match === null ? "" : (r.match ? "yes" : "no") })));
  }
  $("#batch-table").hidden = false;
}

$("#batch-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData();
  const s = settings();
  for (const key of ["temperature", "top_p", "max_tokens", "seed"]) data.append(key, s[key]);
  if (s.system_prompt) data.append("system_prompt", s.system_prompt);
  data.append("model_id", modelSelect.value);
  try {
    let result;
    if ($("#batch-heldout").checked) {
      result = await post("/api/models/batch", { ...s, model_id: modelSelect.value, dataset_split: true, n: 20 });
    } else {
      const file = $("#batch-file").files[0];
      if (!file) throw Object.assign(new Error("Choose a prompts file."), { details: [{ path: "file", message: "no file" }] });
      data.append("file", file);
      result = await upload("/api/models/batch", data);
    }
    $("#batch-status").textContent = `batch ${result.batch.id}: queued (${result.batch.total} prompts)`;
  } catch (error) { showErrors(error, $("#batch-form"), errorBox); }
});

function showEvaluation(e) {
  const box = clear($("#evaluation-result"));
  $("#evaluation-status").textContent = e.status + (e.error ? `: ${e.error}` : "");
  if (!e.result) return;
  const r = e.result;
  const fmt = (s) => `${s.mean.toFixed(3)} [${s.ci_low?.toFixed(3)}, ${s.ci_high?.toFixed(3)}]`;
  const table = el("table", { class: "table table-sm", id: "evaluation-table" },
    el("thead", {}, el("tr", {}, el("th", { text: "" }), el("th", { text: "base" }), el("th", { text: "fine-tuned" }))),
    el("tbody", {}, el("tr", {}, el("td", { text: "total" }), el("td", { text: fmt(r.base.total) }), el("td", { text: fmt(r.fine_tuned.total) })),
      ...Object.keys(r.base.components).map((name) => el("tr", {}, el("td", { text: name }),
        el("td", { text: fmt(r.base.components[name]) }), el("td", { text: fmt(r.fine_tuned.components[name]) })))));
  box.append(table, el("p", { "data-field": "verdict", text: `n = ${e.n}; fine-tuned − base = ${fmt(r.difference)} (95% interval): ${r.verdict}` }));
}

$("#evaluate").addEventListener("click", async () => {
  const model = models.find((m) => m.id === modelSelect.value);
  if (!model || !model.session_id) { showErrors(new Error("Pick a session (or one of its checkpoints or exports) first."), form, errorBox); return; }
  try {
    const { evaluation } = await post("/api/models/evaluate", { session_id: model.session_id, n: 20 });
    $("#evaluation-status").textContent = `evaluation ${evaluation.id}: running`;
  } catch (error) { showErrors(error, form, errorBox); }
});

async function loadHistory() {
  const { runs } = await get("/api/models/history?limit=20");
  clear($("#test-history")).append(...runs.map((r) => el("li", { class: "mb-1" },
    el("code", { text: r.model_id }), ` ${r.kind} · ${r.tokens} tokens · `, el("em", { text: r.prompt }), " → ", r.output)));
}

(async () => {
  try { await loadModels(); await loadHistory(); app.dataset.ready = "1"; } catch (error) { showErrors(error, form, errorBox); }
})();
