// Account page, "Tracker secrets": set, list (names only: the API never returns a value) and delete the caller's
// tracker credentials (/api/auth/secrets).
import { del, get, request } from "./lib/api.js";
import { $, clear, el, when } from "./lib/dom.js";

const errorBox = $("#account-error");
const form = $("#secret-form");

function fail(error) {
  const details = (error.details || []).map((d) => (typeof d === "string" ? d : `${d.path}: ${d.message}`));
  errorBox.textContent = details.length ? `${error.message} ${details.join(" ")}` : error.message;
  errorBox.hidden = false;
}

async function load() {
  const { secrets, allowed } = await get("/api/auth/secrets");
  const select = $("#secret-name");
  const current = select.value;
  clear(select).append(...allowed.map((a) => el("option", { value: a.name }, `${a.name} (${a.trackers.join(", ")})`)));
  if (current) select.value = current;
  const body = clear($("#secrets-table tbody"));
  if (!secrets.length) body.append(el("tr", {}, el("td", { colspan: "4", class: "text-secondary" }, "No secrets.")));
  for (const s of secrets) {
    body.append(el("tr", { "data-secret": s.name },
      el("td", {}, el("code", {}, s.name)), el("td", {}, s.trackers.join(", ")), el("td", {}, when(s.updated_at)),
      el("td", {}, el("button", { class: "btn btn-outline-danger btn-sm", type: "button", "data-action": "delete-secret",
        onclick: () => act(del(`/api/auth/secrets/${encodeURIComponent(s.name)}`)) }, "Delete"))));
  }
}

async function act(promise) {
  errorBox.hidden = true;
  try { await promise; } catch (error) { fail(error); }
  load().catch(fail);
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#secret-name").value;
  const input = $("#secret-value");
  const value = input.value;
  input.value = "";  // the page keeps no copy once it is sent
  await act(request("PUT", `/api/auth/secrets/${encodeURIComponent(name)}`, { value }));
});

load().catch(fail);
