// Small fetch wrapper for the JSON API: resolves to the parsed body, rejects with the server's message.
(function () {
  "use strict";
  async function request(method, url, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    if (!response.ok) {
      const error = new Error((data && data.error) || `${response.status} ${response.statusText}`);
      error.details = (data && data.details) || [];
      error.status = response.status;
      throw error;
    }
    return data;
  }

  // Upload with progress (fetch cannot report upload progress; XMLHttpRequest can).
  function upload(url, formData, onProgress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = (e) => { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) resolve(data);
        else {
          const error = new Error((data && data.error) || `${xhr.status} ${xhr.statusText}`);
          error.details = (data && data.details) || [];
          reject(error);
        }
      };
      xhr.onerror = () => reject(new Error("The upload was interrupted (network error)."));
      xhr.send(formData);
    });
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function humanSize(bytes) {
    if (bytes === null || bytes === undefined) return "–";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
    return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
  }

  window.twApi = {
    get: (url) => request("GET", url),
    post: (url, body) => request("POST", url, body),
    patch: (url, body) => request("PATCH", url, body),
    del: (url) => request("DELETE", url),
    upload, el, humanSize,
  };
})();
