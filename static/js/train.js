// Train page: stored history first (training_history), then live Socket.IO events, drawn with Chart.js.
(function () {
  "use strict";
  const root = document.getElementById("train-app");
  if (!root || typeof Chart !== "function") return;
  const socket = window.tunewrightSocket;
  const $ = (id) => document.getElementById(id);
  let sessionId = root.dataset.sessionId || "";
  let status = "";
  const seen = new Map(); // "phase:step" -> merged metrics, so a replayed step updates instead of duplicating

  // chart id -> [metric key, label, options]
  const CHARTS = {
    "chart-reward": [["reward", "reward mean"], ["reward_std", "reward std", { borderDash: [4, 3] }]],
    "chart-loss": [["loss", "train loss"], ["eval_loss", "eval loss"]],
    "chart-kl": [["kl", "KL"]],
    "chart-length": [["completions/min_length", "min"], ["completions/mean_length", "mean"],
                     ["completions/max_length", "max"]],
    "chart-clip": [["clip_ratio/region_mean", "region mean"], ["clip_ratio/low_mean", "low mean"],
                   ["clip_ratio/high_mean", "high mean"]],
    "chart-lr": [["learning_rate", "learning rate"]],
  };
  const charts = {};
  for (const [id, series] of Object.entries(CHARTS)) {
    charts[id] = new Chart($(id), {
      type: "line",
      data: { datasets: series.map(([key, label, extra]) => ({ label, metricKey: key, data: [], pointRadius: 1,
                                                               borderWidth: 1.5, ...(extra || {}) })) },
      options: { animation: false, parsing: false, responsive: true, interaction: { mode: "nearest", intersect: false },
                 scales: { x: { type: "linear", title: { display: true, text: "step" } } },
                 plugins: { legend: { labels: { boxWidth: 10 } } } },
    });
  }

  let pending = false;
  function scheduleRedraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; Object.values(charts).forEach((c) => c.update("none")); });
  }

  const PALETTE = ["#20c997", "#fd7e14", "#6f42c1", "#d63384", "#0dcaf0", "#6c757d"];
  function datasetFor(chart, key) {
    let ds = chart.data.datasets.find((d) => d.metricKey === key);
    if (!ds) { // reward components appear as TRL logs them: rewards/<name>/mean
      const color = PALETTE[(chart.data.datasets.length - 2) % PALETTE.length];
      ds = { label: key.replace(/^rewards\//, "").replace(/\/mean$/, ""), metricKey: key, data: [], pointRadius: 1,
             borderWidth: 1, borderColor: color, backgroundColor: color };
      chart.data.datasets.push(ds);
    }
    return ds;
  }

  function put(ds, x, y) {
    const at = ds.data.findIndex((p) => p.x === x);
    if (at >= 0) ds.data[at].y = y; else { ds.data.push({ x, y }); if (ds.data.length > 1 && ds.data[ds.data.length - 2].x > x) ds.data.sort((a, b) => a.x - b.x); }
  }

  function addMetrics(m) {
    const key = `${m.phase}:${m.step}`;
    const merged = Object.assign(seen.get(key) || {}, m);
    seen.set(key, merged);
    const x = m.global_step ?? m.step;
    for (const [id, series] of Object.entries(CHARTS)) {
      for (const [metric] of series) {
        if (typeof m[metric] === "number") put(datasetFor(charts[id], metric), x, m[metric]);
      }
    }
    for (const [metric, value] of Object.entries(m)) {
      if (/^rewards\/.+\/mean$/.test(metric) && typeof value === "number") put(datasetFor(charts["chart-reward"], metric), x, value);
    }
    updateTopBar(merged);
    scheduleRedraw();
  }

  const fmt = (v, digits = 3) => (typeof v === "number" ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(digits)) : "–");
  function updateTopBar(m) {
    const set = (k, text) => { const el = root.querySelector(`[data-top="${k}"]`); if (el && text !== undefined) el.textContent = text; };
    if ("kl" in m) set("kl", fmt(m.kl));
    if ("completions/mean_length" in m) set("completions/mean_length", fmt(m["completions/mean_length"]));
    if ("completions/clipped_ratio" in m) set("completions/clipped_ratio", fmt(m["completions/clipped_ratio"]));
    if ("grad_norm" in m) set("grad_norm", fmt(m.grad_norm));
    if ("clip_ratio/low_mean" in m || "clip_ratio/high_mean" in m) {
      const low = m["clip_ratio/low_mean"] || 0, high = m["clip_ratio/high_mean"] || 0;
      set("clip_reason", low === 0 && high === 0 ? "none" : low >= high ? "low bound" : "high bound");
    }
  }

  function updateProgress(p) {
    const total = p.total_steps || 0;
    const pct = total ? Math.min(100, (100 * p.step) / total) : 0;
    $("train-progress").style.width = `${pct}%`;
    const eta = typeof p.eta_seconds === "number" ? ` · ETA ${Math.round(p.eta_seconds)} s` : "";
    root.querySelector('[data-top="progress"]').textContent = `${p.phase || ""} ${p.step}/${total || "?"}${eta}`;
  }

  function addLog(line) {
    const log = $("train-log");
    const stick = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.textContent += `[${line.level}] ${line.message}\n`;
    if (stick) log.scrollTop = log.scrollHeight;
  }

  function addSamples(step, samples) {
    const box = $("train-samples");
    for (const s of samples) {
      const div = document.createElement("div");
      div.className = "sample";
      const scores = Object.entries(s.scores || {}).map(([k, v]) => `${k}: ${v === null ? "n/a" : Number(v).toFixed(2)}`).join(" · ");
      const head = document.createElement("div");
      head.className = "text-secondary";
      head.textContent = `step ${step} · ${scores}`;
      const prompt = document.createElement("div");
      prompt.textContent = s.prompt;
      const completion = document.createElement("pre");
      completion.textContent = s.completion;
      div.append(head, prompt, completion);
      box.prepend(div);
    }
  }

  function setStatus(value, error) {
    status = value || "";
    $("current-status").textContent = status || "–";
    $("current-status").className = `badge status-${status}`;
    $("stop-session").disabled = !["queued", "running"].includes(status);
    $("resume-session").disabled = !["stopped", "failed", "interrupted"].includes(status);
    showError(error && status === "failed" ? error : "");
  }

  function showError(message) {
    const box = $("train-error");
    box.textContent = message || "";
    box.classList.toggle("d-none", !message);
  }

  function reset() {
    seen.clear();
    Object.values(charts).forEach((c) => c.data.datasets.forEach((d) => { d.data = []; }));
    $("train-log").textContent = "";
    $("train-samples").innerHTML = "";
  }

  function open(id) {
    if (!socket || !id) return;
    if (sessionId && sessionId !== id) socket.emit("leave_session", { session_id: sessionId });
    sessionId = id;
    $("current-session").textContent = id;
    socket.emit("join_session", { session_id: id }, (ack) => { if (ack && !ack.ok) showError(ack.error); });
  }

  async function api(path, body) {
    const meta = document.querySelector('meta[name="csrf-token"]');  // checked for browser sessions (accounts)
    const response = await fetch(`/api/training/${path}`, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.getAttribute("content") : "" } });
    const data = await response.json();
    if (!response.ok) {
      const details = (data.details || []).map((d) => `${d.path}: ${d.message}`).join("; ");
      throw new Error(details ? `${data.error} ${details}` : data.error);
    }
    return data;
  }

  const opened = (d) => { window.location.search = `?session=${encodeURIComponent(d.session.id)}`; };
  $("start-default").addEventListener("click", () => api("start", { config: {} }).then(opened).catch((e) => showError(e.message)));
  // The wizard's draft (stored server-side for this browser) is what "Start" runs.
  $("start-draft").addEventListener("click", () => fetch("/api/wizard/draft", { headers: { Accept: "application/json" } })
    .then((r) => r.json()).then((d) => api("start", { config: d.config })).then(opened).catch((e) => showError(e.message)));
  $("stop-session").addEventListener("click", () => api("stop", { session_id: sessionId }).then((d) => setStatus(d.session.status)).catch((e) => showError(e.message)));
  $("resume-session").addEventListener("click", () => api("resume", { session_id: sessionId }).then((d) => { setStatus(d.session.status); open(sessionId); }).catch((e) => showError(e.message)));

  if (socket) {
    const mine = (e) => e.session_id === sessionId;
    socket.on("training_history", (h) => {
      if (!mine(h)) return;
      reset();
      h.metrics.forEach(addMetrics);
      h.logs.forEach(addLog);
      const bySteps = {};
      h.samples.forEach((s) => { (bySteps[s.step] = bySteps[s.step] || []).push(s); });
      Object.entries(bySteps).forEach(([step, list]) => addSamples(step, list));
      setStatus(h.session.status, h.session.error);
      if (h.session.step) updateProgress({ ...h.session, ...(h.session.progress || {}) });
      root.dataset.historyLoaded = "1";
    });
    socket.on("training_update", (e) => { if (mine(e)) addMetrics(e); });
    socket.on("training_progress", (e) => { if (mine(e)) updateProgress(e); });
    socket.on("training_log", (e) => { if (mine(e)) addLog(e); });
    socket.on("reward_sample", (e) => { if (mine(e)) addSamples(e.step, e.samples); });
    socket.on("session_status", (e) => { if (mine(e)) setStatus(e.status, e.error); });
    socket.on("training_error", (e) => { if (mine(e)) showError(e.error); });
    socket.on("connect", () => { if (sessionId) open(sessionId); }); // (re)join after reconnects: history again
  }

  if (!sessionId) {
    fetch("/api/training/sessions").then((r) => r.json()).then((d) => {
      if (d.sessions && d.sessions.length) { open(d.sessions[0].id); }
    }).catch(() => {});
  }
})();
