// Account page: change password, personal access tokens (the secret is shown once), delete the account.
import { del, get, post, setCsrfToken } from "./lib/api.js";
import { $, $$, clear, el, when } from "./lib/dom.js";

const root = $("#account-page");
const errorBox = $("#account-error");

function fail(error) {
  const details = (error.details || []).map((d) => (typeof d === "string" ? d : `${d.path}: ${d.message}`));
  errorBox.textContent = details.length ? `${error.message} ${details.join(" ")}` : error.message;
  errorBox.hidden = false;
}

async function loadTokens() {
  const body = $("#tokens-table tbody");
  const { tokens } = await get("/api/auth/tokens");
  clear(body);
  const live = tokens.filter((t) => !t.revoked);
  if (!live.length) body.append(el("tr", {}, el("td", { colspan: "6", class: "text-secondary" }, "No tokens.")));
  for (const t of live) {
    body.append(el("tr", { "data-token-id": String(t.id) },
      el("td", {}, t.name), el("td", {}, el("code", {}, `${t.prefix}…`)), el("td", {}, t.scopes.join(", ")),
      el("td", {}, when(t.expires_at)), el("td", {}, when(t.last_used_at)),
      el("td", {}, el("button", { class: "btn btn-outline-danger btn-sm", type: "button", "data-action": "revoke",
        onclick: () => act(del(`/api/auth/tokens/${t.id}`)) }, "Revoke"))));
  }
}

async function act(promise) {
  errorBox.hidden = true;
  try { await promise; } catch (error) { fail(error); }
  loadTokens().catch(fail);
}

$("#password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  errorBox.hidden = true;
  try {
    const answer = await post("/api/auth/password", { current_password: form.current_password.value,
                                                      new_password: form.new_password.value });
    setCsrfToken(answer.csrf_token);
    for (const input of $$('input[name="csrf_token"]')) input.value = answer.csrf_token;
    form.reset();
    $("#password-done").hidden = false;
    const notice = $("#must-change");
    if (notice) notice.hidden = true;
  } catch (error) { fail(error); }
});

$("#token-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { name: form.name.value.trim(),
                 scopes: $$('input[name="scopes"]:checked', form).map((box) => box.value) };
  if (form.expires_in_days.value) body.expires_in_days = Number(form.expires_in_days.value);
  errorBox.hidden = true;
  try {
    const created = await post("/api/auth/tokens", body);
    $("#new-token-secret").textContent = created.token;
    $("#new-token").hidden = false;
    form.name.value = "";
  } catch (error) { fail(error); }
  loadTokens().catch(fail);
});

$("#delete-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const confirm = event.target.confirm.value;
  errorBox.hidden = true;
  if (confirm !== root.dataset.username) {
    fail(new Error("Type your username exactly to confirm the deletion."));
    return;
  }
  try {
    await del("/api/auth/account", { confirm });
    window.location.assign("/login");
  } catch (error) { fail(error); }
});

loadTokens().catch(fail);
