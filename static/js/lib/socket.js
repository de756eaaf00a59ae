// The page's one Socket.IO connection (opened by system_bar.js in base.html; opened here if a page has none).
export function getSocket() {
  if (!window.tunewrightSocket && typeof window.io === "function") window.tunewrightSocket = window.io();
  return window.tunewrightSocket || null;
}
