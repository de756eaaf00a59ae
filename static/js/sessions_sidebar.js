// Sessions sidebar: every session with status, method, model, start/finish and best reward; click opens it on the
// Train page. Live status changes arrive over Socket.IO.
import { get } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";
import { getSocket } from "./lib/socket.js";

const list = $("#sessions-list");

function when(iso) { return iso ? iso.slice(5, 16).replace("T", " ") : ""; }

function item(s) {
  const trainUrl = list.dataset.trainUrl;
  const reward = typeof s.best_reward === "number" ? ` · best reward ${s.best_reward.toFixed(2)}` : "";
  const times = s.finished_at ? `${when(s.started_at)} → ${when(s.finished_at)}` : s.started_at ? `since ${when(s.started_at)}` : "not started";
  return el("li", { class: "mb-2", "data-session-id": s.id },
    el("a", { href: `${trainUrl}?session=${encodeURIComponent(s.id)}`, class: "fw-semibold text-break" },
       s.name === "untitled" ? s.id : s.name),
    el("span", { class: `badge ms-1 status-${s.status}` }, s.status),
    el("div", { class: "text-secondary text-break" }, `${s.method}${s.algorithm ? `/${s.algorithm}` : ""} · ${(s.model || "").split("/").pop()}`),
    el("div", { class: "text-secondary" }, times + reward));
}

async function refresh() {
  try {
    const { sessions } = await get("/api/sessions");
    clear(list).append(...(sessions.length ? sessions.map(item) : [el("li", { class: "text-secondary" }, "No training sessions yet.")]));
  } catch (_) { /* the sidebar stays as it was; the page's own messages say what failed */ }
}

if (list) {
  refresh();
  const socket = getSocket();
  if (socket) {
    socket.on("session_status", (e) => {
      const badge = list.querySelector(`[data-session-id="${CSS.escape(e.session_id)}"] .badge`);
      if (badge && badge.textContent !== e.status && !["completed", "stopped", "failed"].includes(e.status)) {
        badge.textContent = e.status;
        badge.className = `badge ms-1 status-${e.status}`;
      } else refresh(); // new session, or an ending that sets finished_at and the best reward
    });
    socket.on("session_deleted", refresh);
  }
}
