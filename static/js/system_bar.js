// Live system bar: fills from GET /api/system/status at once, then from Socket.IO `system_update`.
(function () {
  "use strict";
  const bar = document.getElementById("system-bar");
  if (!bar) return;
  const field = (name) => bar.querySelector(`[data-field="${name}"]`);
  const pct = (v) => (typeof v === "number" ? `${v.toFixed(0)}%` : "–");
  const level = (el, v) => {
    const metric = el.closest(".metric");
    metric.classList.toggle("warn", v >= 75 && v < 90);
    metric.classList.toggle("danger", v >= 90);
  };

  function render(s) {
    for (const key of ["cpu", "memory", "disk"]) {
      field(key).textContent = pct(s[key]);
      level(field(key), s[key]);
    }
    const gpus = s.gpus || [];
    field("gpus").textContent = gpus.length
      ? gpus.map((g) => `#${g.index} ${pct(g.utilization)} · ${(g.memory_used / 1024).toFixed(1)}/${(g.memory_total / 1024).toFixed(1)} GiB` +
                        (g.temperature != null ? ` · ${g.temperature}°C` : "")).join("  ")
      : "none (CPU)";
    document.getElementById("gpu-summary").title = gpus.map((g) => g.name).join(", ") || "No NVIDIA GPU detected";
    bar.dataset.updatedAt = String(s.timestamp);
  }

  function setLive(on, text) {
    document.getElementById("live-dot").classList.toggle("on", on);
    field("connection").textContent = text;
  }

  fetch(bar.dataset.statusUrl).then((r) => r.json()).then(render).catch(() => {});
  if (typeof io !== "function") { setLive(false, "offline"); return; }
  const socket = io();
  window.tunewrightSocket = socket;  // pages reuse this one connection
  socket.on("connect", () => setLive(true, "live"));
  socket.on("disconnect", () => setLive(false, "reconnecting…"));
  socket.on("system_update", render);
})();
