// The API docs page: Swagger UI over /api/openapi.json. "Try it out" sends the page's CSRF token, so a signed-in
// browser can call the operations that change something (services/auth/gate.py asks for it).
(function () {
  const root = document.getElementById("swagger-ui");
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    docExpansion: "list",
    tryItOutEnabled: false,
    requestInterceptor: (req) => {
      if (!["GET", "HEAD", "OPTIONS"].includes((req.method || "GET").toUpperCase())) {
        req.headers["X-CSRFToken"] = csrf;
      }
      return req;
    },
  });
})();
