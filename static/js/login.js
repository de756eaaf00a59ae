// Sign-in and registration pages: the accounts forms post JSON to /api/auth and show the server's message; the
// access-token form (single mode, or before the first account) posts to /login by fetch, because under the
// studio's "Referrer-Policy: no-referrer" Chrome sends a plain form post with "Origin: null", which is refused.
import { csrfToken, post, setCsrfToken } from "./lib/api.js";
import { $ } from "./lib/dom.js";

function say(box, error) {
  const details = (error.details || []).filter((d) => typeof d === "string");
  box.textContent = details.length ? details.join(" ") : error.message;
  box.hidden = false;
}

function safeNext(target) {
  return target && target.startsWith("/") && !target.startsWith("//") ? target : "/";
}

async function signIn(username, password, next) {
  const answer = await post("/api/auth/login", { username, password });
  setCsrfToken(answer.csrf_token);
  // An administrator reset the password: the Account page is where a new one is chosen.
  window.location.assign(answer.user.must_change_password ? "/account" : safeNext(next));
}

const loginForm = $("#login-form");
if (loginForm) {
  loginForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#login-error");
    box.hidden = true;
    const button = loginForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await signIn(loginForm.username.value.trim(), loginForm.password.value, loginForm.dataset.next);
    } catch (error) {
      say(box, error);
      button.disabled = false;
    }
  });
}

const registerForm = $("#register-form");
if (registerForm) {
  registerForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = $("#register-error");
    box.hidden = true;
    const button = registerForm.querySelector("button[type=submit]");
    button.disabled = true;
    const body = { username: registerForm.username.value.trim(), email: registerForm.email.value.trim(),
                   password: registerForm.password.value };
    if (registerForm.full_name.value.trim()) body.full_name = registerForm.full_name.value.trim();
    try {
      const user = await post("/api/auth/register", body);
      if (user.status === "active") {
        await signIn(body.username, body.password, "/");
      } else {
        registerForm.hidden = true;
        $("#register-pending").hidden = false;
      }
    } catch (error) {
      say(box, error);
      button.disabled = false;
    }
  });
}

const tokenForm = $("#token-form");
if (tokenForm) {
  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const response = await fetch(tokenForm.action, { method: "POST", body: new URLSearchParams(new FormData(tokenForm)),
                                                     headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" });
    if (response.ok && response.redirected) {
      window.location.assign(response.url);
    } else {
      const box = $("#token-error");
      box.textContent = "That token is not this server's.";
      box.hidden = false;
    }
  });
}
