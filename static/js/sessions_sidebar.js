// Sessions sidebar: every session with its live status; click to open it on the Train page.
(function () {
  "use strict";
  const list = document.getElementById("sessions-list");
  if (!list) return;
  const trainUrl = list.dataset.trainUrl;
  const statuses = {};

  function render(sessions) {
    list.innerHTML = "";
    if (!sessions.length) {
      list.innerHTML = '<li class="text-secondary">No training sessions yet.</li>';
      return;
    }
    for (const s of sessions) {
      statuses[s.id] = s;
      const li = document.createElement("li");
      li.className = "mb-1";
      li.dataset.sessionId = s.id;
      const a = document.createElement("a");
      a.href = `${trainUrl}?session=${encodeURIComponent(s.id)}`;
      a.textContent = s.name === "untitled" ? s.id : `${s.name} (${s.id})`;
      const badge = document.createElement("span");
      badge.className = `badge ms-1 status-${s.status}`;
      badge.textContent = s.status;
      li.append(a, badge);
      list.append(li);
    }
  }

  function refresh() {
    fetch("/api/training/sessions").then((r) => r.json()).then((d) => render(d.sessions || [])).catch(() => {});
  }
  refresh();
  const socket = window.tunewrightSocket;
  if (socket) {
    socket.on("session_status", (e) => {
      const item = list.querySelector(`[data-session-id="${CSS.escape(e.session_id)}"] .badge`);
      if (item) { item.textContent = e.status; item.className = `badge ms-1 status-${e.status}`; } else { refresh(); }
    });
    socket.on("session_deleted", refresh);
  }
})();
