// Admin page: users (approve, disable, enable, promote, demote, reset a password), every user's queue, the audit log.
import { get, patch, post } from "./lib/api.js";
import { $, clear, el, when } from "./lib/dom.js";

const errorBox = $("#admin-error");

function fail(error) {
  errorBox.textContent = error.message;
  errorBox.hidden = false;
}

async function act(promise) {
  errorBox.hidden = true;
  try { await promise; } catch (error) { fail(error); }
  refresh();
}

function button(label, action, onclick, style = "outline-secondary") {
  return el("button", { class: `btn btn-${style} btn-sm me-1`, type: "button", "data-action": action, onclick }, label);
}

function actions(u) {
  const update = (changes) => act(patch(`/api/admin/users/${u.id}`, changes));
  const found = [];
  if (u.status === "pending") found.push(button("Approve", "approve", () => update({ status: "active" }), "success"));
  if (u.status === "active") found.push(button("Disable", "disable", () => update({ status: "disabled" }), "outline-danger"));
  if (u.status === "disabled") found.push(button("Enable", "enable", () => update({ status: "active" })));
  if (u.role === "user") found.push(button("Make admin", "promote", () => update({ role: "admin" })));
  else found.push(button("Make user", "demote", () => update({ role: "user" })));
  return found;
}

function renderUsers(users) {
  const body = $("#users-table tbody");
  clear(body);
  const select = clear($("#reset-user"));
  for (const u of users) {
    body.append(el("tr", { "data-username": u.username },
      el("td", {}, u.username), el("td", {}, u.email), el("td", {}, u.full_name || "—"),
      el("td", { "data-field": "role" }, u.role),
      el("td", { "data-field": "status" }, u.status, u.must_change_password ? " (must change password)" : ""),
      el("td", {}, when(u.created_at)), el("td", {}, when(u.last_login_at)), el("td", {}, actions(u))));
    select.append(el("option", { value: String(u.id) }, u.username));
  }
}

function renderQueue(queue) {
  const body = $("#queue-table tbody");
  clear(body);
  const rows = [
    ...queue.sessions.map((s) => el("tr", { "data-session-id": s.id },
      el("td", {}, "training"), el("td", {}, el("a", { href: `/sessions/${encodeURIComponent(s.id)}` }, s.id)),
      el("td", {}, s.name), el("td", { "data-field": "owner" }, s.owner || "—"), el("td", {}, s.status),
      el("td", {}, when(s.created_at)))),
    ...queue.exports.map((x) => el("tr", { "data-export-id": x.id },
      el("td", {}, "export"), el("td", {}, x.id), el("td", {}, x.format),
      el("td", { "data-field": "owner" }, x.owner || "—"), el("td", {}, x.status), el("td", {}, when(x.created_at)))),
  ];
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: "6", class: "text-secondary" }, "Nothing queued or running.")));
  body.append(...rows);
}

function renderAudit(events) {
  const body = $("#audit-table tbody");
  clear(body);
  for (const e of events) {
    const detail = e.detail && Object.keys(e.detail).length ? JSON.stringify(e.detail) : "";
    body.append(el("tr", { "data-action": e.action },
      el("td", {}, when(e.at)), el("td", {}, e.actor || "—"), el("td", {}, e.action), el("td", {}, e.target || ""),
      el("td", {}, e.address || ""), el("td", { class: "detail" }, detail)));
  }
}

async function refresh() {
  try {
    const action = $("#audit-action").value.trim();
    const [users, queue, audit] = await Promise.all([
      get("/api/admin/users"), get("/api/admin/queue"),
      get(`/api/admin/audit?limit=200${action ? `&action=${encodeURIComponent(action)}` : ""}`)]);
    renderUsers(users.users);
    renderQueue(queue);
    renderAudit(audit.events);
  } catch (error) { fail(error); }
}

$("#reset-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const name = form.user_id.selectedOptions[0] ? form.user_id.selectedOptions[0].textContent : "";
  errorBox.hidden = true;
  try {
    await post(`/api/admin/users/${form.user_id.value}/password`, { password: form.password.value });
    form.password.value = "";
    $("#reset-done").textContent = `${name} must choose a new password at their next sign-in.`;
    $("#reset-done").hidden = false;
  } catch (error) { fail(error); }
  refresh();
});

$("#audit-filter").addEventListener("submit", (event) => { event.preventDefault(); refresh(); });

refresh();
setInterval(refresh, 5000);
