// DOM helpers for page modules. Text always goes in through textContent / text nodes: never innerHTML with data.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// An ISO timestamp as "YYYY-MM-DD HH:MM" (UTC, as the server sends it), or a dash.
export function when(iso) { return iso ? iso.slice(0, 16).replace("T", " ") : "—"; }

export function humanSize(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i += 1; }
  return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

// Show an API error beside the fields it names: an element with data-error-for="<path>" receives the message
// for that path; messages with no such element go to `fallback` (an element), so nothing is lost in an alert.
export function showErrors(error, root = document, fallback = null) {
  for (const node of $$("[data-error-for]", root)) { node.textContent = ""; node.hidden = true; }
  const unplaced = [];
  for (const d of (error && error.details) || []) {
    const target = d.path ? root.querySelector(`[data-error-for="${CSS.escape(d.path)}"]`) : null;
    const text = d.hint ? `${d.message}. ${d.hint}` : d.message;
    if (target) { target.textContent = text; target.hidden = false; } else unplaced.push(d.path ? `${d.path}: ${text}` : text);
  }
  if (fallback) {
    clear(fallback);
    if (error) {
      fallback.append(el("div", { text: error.message }), ...unplaced.map((t) => el("div", { class: "small", text: t })));
      fallback.hidden = false;
    } else fallback.hidden = true;
  }
}
