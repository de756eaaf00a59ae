// The Workers panel (templates/partials/workers_panel.html; the dashboard and the Admin page): every training worker
// of the rq executor with its GPUs, free memory, state, heartbeat age and current jobs, from GET /api/system/workers,
// fetched again every 5 s (the API answers only the jobs the caller may see; a worker busy with someone else's job
// still reads busy). A worker whose heartbeat is older than the grace is lost: its row is marked.
import { get } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";

const REFRESH_MS = 5000;

const gib = (mib) => (typeof mib === "number" ? `${(mib / 1024).toFixed(1)} GiB` : "–");

// "3 s ago", "4 min ago", "2 h ago", "5 d ago".
export function ago(seconds) {
  if (typeof seconds !== "number" || Number.isNaN(seconds)) return "–";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

// One of idle | busy | stopped | lost: a worker that is not alive and did not say it stopped is lost.
export function workerState(w) {
  if (w.state === "stopped") return "stopped";
  if (!w.alive) return "lost";
  return w.busy || w.state === "busy" ? "busy" : "idle";
}

function gpuList(gpus) {
  if (!gpus || !gpus.length) return el("span", { class: "text-secondary" }, "none (CPU)");
  return gpus.map((g) => el("div", { class: "text-nowrap", "data-gpu": String(g.index) },
    `#${g.index} ${g.name}: ${gib(g.memory_free_mb)} / ${gib(g.memory_total_mb)}`));
}

function jobLinks(w, sessionsUrl) {
  const links = (w.jobs || []).map((id) => el("a", { class: "me-2", href: `${sessionsUrl}/${encodeURIComponent(id)}`,
                                                       "data-job": id }, id));
  if (links.length) return links;
  if (w.busy) return el("span", { class: "text-secondary" }, "another user's job");
  return el("span", { class: "text-secondary" }, "—");
}

function row(w, sessionsUrl, grace) {
  const state = workerState(w);
  const silent = ago(w.seconds_since_heartbeat).replace(" ago", "");
  const lostNote = state === "lost"
    ? `No heartbeat for ${silent}${grace ? ` (grace ${grace} s)` : ""}: its sessions turn interrupted and may be ` +
      "resumed on another worker."
    : null;
  return el("tr", { "data-worker": w.name, "data-state": state, title: lostNote,
                    class: state === "lost" ? "table-danger worker-lost" : null },
    el("td", { class: "fw-semibold text-break" }, w.name),
    el("td", { class: "text-break" }, w.host || "—",
       w.pid ? el("span", { class: "text-secondary" }, ` (pid ${w.pid})`) : null),
    el("td", {}, gpuList(w.gpus)),
    el("td", { class: "text-nowrap", "data-field": "free-memory" }, gib(w.free_memory_mb)),
    el("td", {}, el("span", { class: `badge worker-${state}`, "data-field": "state" }, state)),
    el("td", { class: "text-nowrap", "data-field": "heartbeat", title: w.last_heartbeat || "" },
       ago(w.seconds_since_heartbeat)),
    el("td", { "data-field": "jobs" }, jobLinks(w, sessionsUrl)));
}

function summary(workers) {
  if (!workers.length) return "No worker has registered yet: start one with tunewright worker on a GPU host.";
  const count = (state) => workers.filter((w) => workerState(w) === state).length;
  const alive = workers.filter((w) => w.alive).length;
  const parts = [`${workers.length} worker${workers.length === 1 ? "" : "s"}`, `${alive} alive`];
  for (const state of ["busy", "lost", "stopped"]) if (count(state)) parts.push(`${count(state)} ${state}`);
  return parts.join(" · ");
}

function mount(root) {
  const body = $("tbody", root);
  const note = $('[data-field="workers-summary"]', root);
  let timer = null;

  function render(data) {
    if (data.executor !== "rq") {  // the page said rq; the server says otherwise: nothing to list
      clear(root).append(el("p", { class: "small text-secondary mb-0", "data-workers-local": "" },
                            "Training runs on this machine (local executor)."));
      clearInterval(timer);
      return;
    }
    note.textContent = summary(data.workers);
    note.classList.toggle("text-danger", data.workers.some((w) => workerState(w) === "lost"));
    clear(body).append(...data.workers.map((w) => row(w, root.dataset.sessionsUrl, data.grace_seconds)));
  }

  async function refresh() {
    if (document.hidden && Number(root.dataset.loads) > 0) return;  // a background tab: catch up when shown
    try {
      render(await get(root.dataset.apiUrl));
      root.dataset.loads = String(Number(root.dataset.loads) + 1);
    } catch (error) {
      note.textContent = `Could not load the workers: ${error.message}`;
      note.classList.add("text-danger");
    }
  }

  refresh();
  timer = setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
}

for (const root of document.querySelectorAll("[data-workers-panel]")) mount(root);
