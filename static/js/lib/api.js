// The JSON API client every page module imports: resolves to the parsed body, rejects with an Error that
// carries the server's message, its `details` ([{path, message, hint}]) and the HTTP status.

function apiError(status, statusText, data) {
  const error = new Error((data && data.error) || `${status} ${statusText}`);
  error.details = (data && data.details) || [];
  error.status = status;
  return error;
}

// The CSRF token of this page (base.html's <meta name="csrf-token">): every state-changing request a browser
// session makes must carry it (accounts mode checks it; single mode ignores it).
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

// After sign-in or a password change the session (and its CSRF token) is new: the page keeps the new one.
export function setCsrfToken(token) {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && token) meta.setAttribute("content", token);
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export async function request(method, url, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (UNSAFE.has(method.toUpperCase())) options.headers["X-CSRFToken"] = csrfToken();
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  if (!response.ok) throw apiError(response.status, response.statusText, data);
  return data;
}

export const get = (url) => request("GET", url);
export const post = (url, body) => request("POST", url, body === undefined ? {} : body);
export const patch = (url, body) => request("PATCH", url, body);
export const put = (url, body) => request("PUT", url, body);
export const del = (url, body) => request("DELETE", url, body);

// Upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
export function upload(url, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch (_) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(apiError(xhr.status, xhr.statusText, data));
    };
    xhr.onerror = () => reject(new Error("The upload was interrupted (network error)."));
    xhr.send(formData);
  });
}
