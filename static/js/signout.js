// Sign-out forms (top bar, Account page): posted by fetch, which carries this page's origin and CSRF token. A
// plain form post would do, but under the studio's "Referrer-Policy: no-referrer" Chrome sends it with
// "Origin: null", which the Origin check refuses.
import { post } from "./lib/api.js";

for (const form of document.querySelectorAll("form[data-signout]")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post("/api/auth/logout");
    } finally {
      window.location.assign("/login");
    }
  });
}
