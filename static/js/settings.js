// Settings page: shows the Output Directory Base, saves a new one and tests whether a folder is writable.
import { get, post, put } from "./lib/api.js";
import { $ } from "./lib/dom.js";

const page = $("#settings-page");
const canChange = page.dataset.canChange === "true";
const errorBox = $("#settings-error");
const input = $("#output-base");
const result = $("#writable-result");

function fail(error) {
  errorBox.textContent = error.message;
  errorBox.hidden = false;
}

function showWritable(answer) {
  result.textContent = answer.detail;
  result.className = `col-12 small ${answer.writable ? "text-success" : "text-danger"}`;
  result.dataset.writable = String(answer.writable);
  result.hidden = false;
}

function render(settings) {
  $("#current-output-base").textContent = settings.output_base;
  $("#default-output-base").textContent = settings.default_output_base;
  input.value = settings.output_base;
  showWritable(settings);
}

async function load() {
  try { render(await get("/api/settings")); } catch (error) { fail(error); }
}

$("#output-base-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  try { render(await put("/api/settings", { output_base: input.value })); } catch (error) { fail(error); }
});

$("#test-writable").addEventListener("click", async () => {
  errorBox.hidden = true;
  // An administrator tests what the field holds (perhaps not saved yet); anyone else the current base.
  const body = canChange && input.value.trim() ? { path: input.value } : {};
  try { showWritable(await post("/api/settings/test-writable", body)); } catch (error) { fail(error); }
});

load();
