// Datasets page: upload, catalogue, the datasets table with filters, edit/mapping, download, delete.
import * as twApi from "./lib/api.js";
import { el, humanSize } from "./lib/dom.js";

(function () {
  "use strict";
  const page = document.getElementById("datasets-page");
  if (!page) return;
  const api = page.dataset.api;  // "/api/datasets"
  const MAPPING_FIELDS = ["instruction", "response", "input", "messages", "system"];
  let datasets = [];
  let openId = null;
  let pollTimer = null;

  const statusBadge = (d) => {
    const cls = { Ready: "text-bg-success", Failed: "text-bg-danger", Processing: "text-bg-warning" }[d.status] || "text-bg-secondary";
    const badge = el("span", { class: `badge ${cls}`, title: d.error || "" }, d.status);
    if (d.status !== "Processing") return badge;
    return el("span", {}, badge, " ", el("span", { class: "text-secondary" }, `${Math.round((d.progress || 0) * 100)}%`));
  };

  function message(target, text, kind) {
    const node = document.getElementById(target);
    node.className = `small mt-2 ${kind === "error" ? "text-danger" : "text-success"}`;
    node.textContent = text;
  }

  function errorText(error) {
    return error.details && error.details.length ? `${error.message} ${error.details.join("; ")}` : error.message;
  }

  // -- list -------------------------------------------------------------------------------------
  async function refresh() {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(document.getElementById("dataset-filters"))) if (value) params.set(key, value);
    try {
      datasets = (await twApi.get(`${api}/list?${params}`)).datasets;
    } catch (error) {
      renderRows([], error.message);
      return;
    }
    renderRows(datasets);
    clearTimeout(pollTimer);
    if (datasets.some((d) => d.status === "Processing")) pollTimer = setTimeout(refresh, 1000);
    if (openId !== null) {
      const current = datasets.find((d) => d.id === openId);
      if (current && current.status !== "Processing" && document.getElementById("dataset-detail").dataset.status === "Processing") openDetail(openId);
    }
  }

  function renderRows(rows, failure) {
    const body = document.querySelector("#datasets-table tbody");
    body.replaceChildren();
    if (failure || !rows.length) {
      body.append(el("tr", {}, el("td", { colspan: 9, class: failure ? "text-danger" : "text-secondary" },
        failure || "No datasets yet: upload a file or add one from the Hub.")));
      return;
    }
    for (const d of rows) {
      const source = d.source === "hub" ? `Hub: ${d.hub_id}` : (d.original_filename || "upload");
      const actions = el("div", { class: "btn-group btn-group-sm" },
        el("button", { class: "btn btn-outline-secondary", type: "button", onclick: () => openDetail(d.id) }, "Open"),
        d.source === "upload" ? el("a", { class: "btn btn-outline-secondary", href: `${api}/${d.id}/download` }, "Download") : null,
        d.status !== "Processing" ? el("button", { class: "btn btn-outline-secondary", type: "button", onclick: () => reprocess(d) }, "Reprocess") : null,
        el("button", { class: "btn btn-outline-danger", type: "button", onclick: () => remove(d) }, "Delete"));
      body.append(el("tr", { "data-id": d.id },
        el("td", {}, el("div", { class: "fw-semibold" }, d.name), d.error ? el("div", { class: "text-danger text-wrap dataset-error" }, d.error) : null,
          d.status === "Processing" ? el("div", { class: "progress dataset-progress", role: "progressbar", "aria-label": "Processing" },
            el("div", { class: "progress-bar progress-bar-striped progress-bar-animated", style: `width: ${Math.round((d.progress || 0) * 100)}%` })) : null),
        el("td", { class: "text-truncate", style: "max-width: 14rem", title: source }, source),
        el("td", {}, d.type),
        el("td", { class: "text-end" }, d.row_count === null ? "–" : d.row_count.toLocaleString()),
        el("td", { class: "text-end" }, humanSize(d.size_bytes)),
        el("td", {}, statusBadge(d)),
        el("td", {}, d.tags.map((t) => el("span", { class: "badge text-bg-light border me-1" }, t))),
        el("td", { title: d.created_at }, new Date(d.created_at).toLocaleString()),
        el("td", { class: "text-end" }, actions)));
    }
  }

  async function remove(d) {
    if (!confirm(`Delete dataset "${d.name}"${d.source === "upload" ? " and its file" : ""}?`)) return;
    try {
      await twApi.del(`${api}/${d.id}`);
      if (openId === d.id) closeDetail();
      refresh();
    } catch (error) {
      alert(errorText(error));
    }
  }

  async function reprocess(d) {
    try { await twApi.post(`${api}/${d.id}/reprocess`, {}); refresh(); } catch (error) { alert(errorText(error)); }
  }

  // -- detail, edit, mapping, preview -------------------------------------------------------------
  function closeDetail() {
    openId = null;
    document.getElementById("dataset-detail").classList.add("d-none");
  }

  async function openDetail(id) {
    let d;
    try { d = (await twApi.get(`${api}/${id}`)).dataset; } catch (error) { alert(error.message); return; }
    openId = id;
    const panel = document.getElementById("dataset-detail");
    panel.classList.remove("d-none");
    panel.dataset.status = d.status;
    document.getElementById("detail-title").textContent = `${d.name} · ${d.status}`;
    const form = document.getElementById("edit-form");
    form.elements.name.value = d.name;
    form.elements.tags.value = d.tags.join(", ");
    form.elements.description.value = d.description;
    document.getElementById("edit-message").textContent = "";
    const columns = d.columns.map((c) => c.name);
    const mapping = document.getElementById("mapping-fields");
    mapping.replaceChildren(...MAPPING_FIELDS.map((field) => el("div", { class: "col" },
      el("label", { class: "form-label small mb-0" }, `${field} column`,
        el("select", { class: "form-select form-select-sm", name: `mapping.${field}` },
          el("option", { value: "" }, "—"),
          columns.map((c) => el("option", { value: c, selected: d.mapping[field] === c }, c)))))));
    const problems = document.getElementById("detail-problems");
    problems.replaceChildren();
    if (d.error) problems.append(el("div", { class: "alert alert-danger small py-2" }, el("div", { class: "fw-semibold" }, d.error),
      d.error_details.length > 1 ? el("ul", { class: "mb-0" }, d.error_details.map((e) => el("li", {}, e.line ? `line ${e.line}: ${e.message}` : e.message))) : null));
    if (d.warnings.length) problems.append(el("div", { class: "alert alert-warning small py-2" }, el("ul", { class: "mb-0" }, d.warnings.map((w) => el("li", {}, w)))));
    if (d.row_count !== null) problems.append(el("p", { class: "small text-secondary" },
      `${d.row_count.toLocaleString()} row${d.row_count === 1 ? "" : "s"} · ${d.duplicate_count ?? 0} duplicates · ${d.empty_count ?? 0} rows with empty values` +
      (d.sha256 ? ` · sha256 ${d.sha256.slice(0, 12)}…` : "")));
    const colBody = document.querySelector("#detail-columns tbody");
    colBody.replaceChildren(...d.columns.map((c) => el("tr", {}, el("td", {}, c.name), el("td", {}, c.type), el("td", { class: "text-end" }, c.empty))));
    loadPreview(d);
  }

  async function loadPreview(d) {
    const body = document.querySelector("#detail-preview tbody");
    const note = document.getElementById("preview-note");
    body.replaceChildren();
    note.textContent = "";
    if (d.status === "Failed" && !d.sample_rows.length) return;
    try {
      const p = await twApi.post(`${api}/preview`, { id: d.id, samples: 5, render: false });
      if (!p.mapping_usable) note.textContent = "(choose the instruction column to see mapped rows)";
      if (p.rows.some((row) => row.truncated)) {
        note.textContent += ` (long cells are truncated to ${p.cell_limit} characters here; training reads them whole)`;
      }
      p.rows.forEach((row, i) => body.append(el("tr", {}, el("td", {}, i + 1),
        el("td", { class: "preview-cell" }, row.instruction ?? JSON.stringify(row.raw)),
        el("td", { class: "preview-cell" }, row.response ?? ""))));
    } catch (error) {
      note.textContent = `(${error.message})`;
    }
  }

  document.getElementById("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const mapping = {};
    for (const field of MAPPING_FIELDS) mapping[field] = form.elements[`mapping.${field}`].value || null;
    const changes = { name: form.elements.name.value, description: form.elements.description.value,
                      tags: form.elements.tags.value };
    if (Object.values(mapping).some(Boolean)) changes.mapping = mapping;
    try {
      await twApi.patch(`${api}/${openId}`, changes);
      message("edit-message", "Saved.", "ok");
      refresh();
      openDetail(openId);
    } catch (error) {
      message("edit-message", errorText(error), "error");
    }
  });
  document.getElementById("detail-close").addEventListener("click", closeDetail);

  // -- upload -----------------------------------------------------------------------------------
  document.getElementById("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const file = form.elements.file.files[0];
    if (file && file.size > Number(page.dataset.maxUpload)) {
      // Checked here too: a server refusing a huge body early often reaches the browser as a reset connection.
      message("upload-message", `The file is larger than the upload limit of ${page.dataset.maxUploadText}.`, "error");
      return;
    }
    const bar = document.getElementById("upload-progress");
    bar.classList.remove("d-none");
    const fill = bar.querySelector(".progress-bar");
    message("upload-message", "Uploading…", "ok");
    try {
      const result = await twApi.upload(`${api}/upload`, new FormData(form), (f) => { fill.style.width = `${Math.round(f * 100)}%`; });
      message("upload-message", `Uploaded "${result.dataset.name}"; processing…`, "ok");
      form.reset();
      refresh();
    } catch (error) {
      message("upload-message", errorText(error), "error");
    } finally {
      bar.classList.add("d-none");
      fill.style.width = "0%";
    }
  });

  // -- catalogue --------------------------------------------------------------------------------
  async function loadCatalog() {
    const category = document.getElementById("catalog-category").value;
    const status = document.getElementById("hub-status");
    let data;
    try {
      data = await twApi.get(`${api}/catalog${category ? `?category=${encodeURIComponent(category)}` : ""}`);
    } catch (error) {
      status.className = "small mb-2 text-danger";
      status.textContent = error.message;
      return;
    }
    status.className = `small mb-2 ${data.hub.online ? "text-success" : "text-warning-emphasis"}`;
    status.textContent = data.hub.online ? "The Hub is reachable." : data.hub.message;
    const body = document.querySelector("#catalog-table tbody");
    body.replaceChildren(...data.entries.map((e) => el("tr", {},
      el("td", { title: e.description }, el("div", {}, e.title), el("div", { class: "text-secondary" }, e.hub_id)),
      el("td", {}, e.category),
      el("td", {}, `≈ ${e.approx_rows.toLocaleString()} rows`, el("div", { class: "text-secondary" }, e.approx_size)),
      el("td", {}, e.split + (e.config_name ? ` (${e.config_name})` : "")),
      el("td", { class: "text-end" }, el("button", {
        class: "btn btn-sm btn-outline-primary", type: "button", disabled: !e.available,
        title: e.available ? (e.cached ? "Cached on this server" : "Download and process") : data.hub.message,
        onclick: () => addHub({ hub_id: e.hub_id, config_name: e.config_name, split: e.split }),
      }, e.cached ? "Add (cached)" : "Add")))));
  }

  async function addHub(payload) {
    try {
      const result = await twApi.post(`${api}/catalog`, payload);
      message("hub-message", `Added "${result.dataset.name}"; downloading and processing…`, "ok");
      refresh();
    } catch (error) {
      message("hub-message", errorText(error), "error");
    }
  }

  document.getElementById("hub-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(event.target));
    for (const key of Object.keys(data)) if (!data[key]) delete data[key];
    addHub(data);
  });
  document.getElementById("catalog-category").addEventListener("change", loadCatalog);
  document.getElementById("dataset-filters").addEventListener("input", refresh);
  document.getElementById("dataset-filters").addEventListener("submit", (e) => { e.preventDefault(); refresh(); });

  // Live updates from processing jobs; the 1 s poll above covers a missing socket.
  if (window.tunewrightSocket) window.tunewrightSocket.on("dataset_update", () => refresh());

  refresh();
  loadCatalog();
})();
