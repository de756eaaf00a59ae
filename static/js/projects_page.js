// Projects list: every project of the caller with its status, traits, a Start Training button and its page.
import { get, post } from "./lib/api.js";
import { $, clear, el } from "./lib/dom.js";
import { STARTABLE, rows, traitsSummary } from "./project_format.js";

const root = $("#projects-page");
const api = root.dataset.api;
const errorBox = $("#projects-error");

function fail(error) {
  errorBox.textContent = error.details && error.details.length
    ? `${error.message} ${error.details.map((d) => `${d.path}: ${d.message}`).join("; ")}` : error.message;
  errorBox.hidden = false;
}

async function start(project, button) {
  button.disabled = true;
  errorBox.hidden = true;
  try {
    await post(`${api}/${project.id}/start`);
    window.location.href = `/projects/${project.id}`;
  } catch (error) {
    fail(error);
    button.disabled = false;
  }
}

function row(p, names) {
  const page = `/projects/${p.id}`;
  const startButton = STARTABLE.has(p.status) ? el("button", { class: "btn btn-primary btn-sm", type: "button",
    "data-action": "start" }, p.status === "draft" ? "Start Training" : "Start Training again") : null;
  if (startButton) startButton.addEventListener("click", () => start(p, startButton));
  return el("tr", { "data-project-id": p.id },
    el("td", {}, el("a", { href: page }, p.name), p.description ? el("div", { class: "text-secondary" }, p.description) : null),
    el("td", {}, p.training_type),
    el("td", {}, rows(p.max_rows)),
    el("td", {}, el("span", { class: `badge status-${p.status} ${p.status === "draft" ? "text-bg-light border" : ""}` }, p.status)),
    el("td", {}, traitsSummary(p.traits, names)),
    el("td", {}, el("div", { class: "d-flex flex-wrap gap-1" }, startButton,
      el("a", { class: "btn btn-outline-secondary btn-sm", href: page }, "Open"))));
}

async function refresh() {
  const body = $("#projects-table tbody");
  try {
    const [{ projects }, { datasets }] = await Promise.all([get(api), get("/api/datasets/list").catch(() => ({ datasets: [] }))]);
    const names = Object.fromEntries(datasets.map((d) => [`dataset:${d.id}`, d.name]));
    clear(body);
    if (!projects.length) {
      body.append(el("tr", { class: "empty" }, el("td", { colspan: "6", class: "text-secondary" },
        "No projects yet: ", el("a", { href: "/projects/new" }, "create one"), ".")));
    }
    projects.forEach((p) => body.append(row(p, names)));
    root.dataset.loaded = "1";
  } catch (error) {
    fail(error);
  }
}

refresh();
