// The project page's curves: train loss with each trait's held-out loss (eval_<trait>_loss), and each trait's
// held-out reward (eval_<trait>_reward, GRPO) on a second chart shown once such a key arrives.
import { $ } from "./lib/dom.js";

const LOSS = /^eval_(.+)_loss$/;
const REWARD = /^eval_(.+)_reward$/;
const PALETTE = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#d63384", "#0dcaf0"];

function lineChart(canvas) {
  return new window.Chart(canvas, {
    type: "line",
    data: { datasets: [] },
    options: { animation: false, parsing: false, responsive: true, interaction: { mode: "nearest", intersect: false },
               scales: { x: { type: "linear", title: { display: true, text: "step" } } },
               plugins: { legend: { labels: { boxWidth: 10 } } } },
  });
}

export function createCharts() {
  if (typeof window.Chart !== "function") return null;
  const loss = lineChart($("#chart-trait-loss"));
  const reward = lineChart($("#chart-trait-reward"));
  let pending = false;

  function series(chart, key, label) {
    let ds = chart.data.datasets.find((d) => d.metricKey === key);
    if (!ds) {
      const color = PALETTE[chart.data.datasets.length % PALETTE.length];
      // Held-out evaluations are few (one per eval step): big points, so that a single one shows.
      const train = key === "loss";
      ds = { label, metricKey: key, data: [], pointRadius: train ? 1 : 3.5, borderWidth: 1.5, borderColor: color,
             backgroundColor: color, borderDash: train ? [4, 3] : undefined };
      chart.data.datasets.push(ds);
    }
    return ds;
  }

  function put(ds, x, y) {
    const at = ds.data.findIndex((p) => p.x === x);
    if (at >= 0) { ds.data[at].y = y; return; }
    ds.data.push({ x, y });
    if (ds.data.length > 1 && ds.data[ds.data.length - 2].x > x) ds.data.sort((a, b) => a.x - b.x);
  }

  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; loss.update("none"); reward.update("none"); });
  }

  return {
    add(m) {
      const x = m.global_step ?? m.step;
      if (typeof x !== "number") return;
      for (const [key, value] of Object.entries(m)) {
        if (typeof value !== "number") continue;
        if (key === "loss") put(series(loss, key, "train loss"), x, value);
        else if (LOSS.test(key)) put(series(loss, key, `${key.match(LOSS)[1]} (held out)`), x, value);
        else if (REWARD.test(key)) {
          put(series(reward, key, key.match(REWARD)[1]), x, value);
          $("#trait-reward-box").hidden = false;
        }
      }
      redraw();
    },
    reset() {
      [loss, reward].forEach((chart) => { chart.data.datasets = []; chart.update("none"); });
      $("#trait-reward-box").hidden = true;
    },
    keys() { return [loss, reward].flatMap((c) => c.data.datasets.map((d) => d.metricKey)); },
  };
}
