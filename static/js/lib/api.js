// The JSON API client every page module imports: resolves to the parsed body, rejects with an Error that
// carries the server's message, its `details` ([{path, message, hint}]) and the HTTP status.

function apiError(status, statusText, data) {
  const error = new Error((data && data.error) || `${status} ${statusText}`);
  error.details = (data && data.details) || [];
  error.status = status;
  return error;
}

export async function request(method, url, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
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
export const del = (url) => request("DELETE", url);

// Upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
export function upload(url, formData, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.setRequestHeader("Accept", "application/json");
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
