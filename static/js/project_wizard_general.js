// The General/Tools step: rows of dataset + percentage, the live sum and the even split.
import { $, $$, el } from "./lib/dom.js";

const list = $("#general-rows");
const sumBox = $("#general-sum");
let fillSelect = () => {};

// Hundredths, so that 33.33 + 33.33 + 33.34 is exactly 100 and 99.9 is exactly 0.1 short.
const hundredths = (value) => Math.round(Number(value) * 100);

function renumber() {
  $$(".general-row", list).forEach((row, j) => {
    row.querySelector("select").setAttribute("aria-label", `General/tools dataset ${j + 1}`);
    row.querySelector("input").setAttribute("aria-label", `Percentage of general/tools dataset ${j + 1}`);
    const [rowError, pctError] = row.querySelectorAll("[data-error-for]");
    rowError.dataset.errorFor = `general.datasets.${j}`;
    pctError.dataset.errorFor = `general.datasets.${j}.percentage`;
  });
}

export function updateSum() {
  const inputs = $$(".general-row input", list);
  if (!inputs.length) {
    sumBox.textContent = "No general/tools datasets: the trait is left out.";
    sumBox.className = "small text-secondary";
    return;
  }
  const total = inputs.reduce((sum, input) => sum + (hundredths(input.value) || 0), 0);
  const off = Math.abs(10000 - total) / 100;
  const shown = `${total / 100} %`;
  sumBox.textContent = total === 10000 ? `${shown} — adds up to 100` : `${shown} — ${off} ${total < 10000 ? "short of" : "over"} 100`;
  sumBox.className = `small ${total === 10000 ? "text-success" : "text-danger"}`;
}

export function addRow(key, percentage) {
  const select = el("select", { class: "form-select form-select-sm dataset-select" });
  fillSelect(select);
  if (key) select.value = key;
  const input = el("input", { class: "form-control form-control-sm", type: "number", min: "0.01", max: "100",
                              step: "0.01", value: percentage ?? "" });
  input.addEventListener("input", updateSum);
  const remove = el("button", { class: "btn btn-outline-danger btn-sm", type: "button" }, "Remove");
  const row = el("div", { class: "general-row row g-2 align-items-start mb-1" },
    el("div", { class: "col-md-7" }, select, el("div", { class: "small text-danger", "data-error-for": "", hidden: true })),
    el("div", { class: "col-md-3" }, el("div", { class: "input-group input-group-sm" }, input,
      el("span", { class: "input-group-text" }, "%")), el("div", { class: "small text-danger", "data-error-for": "", hidden: true })),
    el("div", { class: "col-md-2" }, remove));
  remove.addEventListener("click", () => { row.remove(); renumber(); updateSum(); });
  list.append(row);
  renumber();
  updateSum();
}

// Equal shares in hundredths; the last rows take the remainder so that the sum is exactly 100.
function evenSplit() {
  const inputs = $$(".general-row input", list);
  if (!inputs.length) return;
  const base = Math.floor(10000 / inputs.length);
  const extra = 10000 - base * inputs.length;
  inputs.forEach((input, j) => { input.value = ((base + (j >= inputs.length - extra ? 1 : 0)) / 100).toString(); });
  updateSum();
}

export function generalShares() {
  return $$(".general-row", list).map((row) => ({
    key: row.querySelector("select").value,
    percentage: row.querySelector("input").value === "" ? null : Number(row.querySelector("input").value),
  }));
}

export function initGeneral(fill) {
  fillSelect = fill;
  $("#general-add").addEventListener("click", () => addRow("", $$(".general-row", list).length ? "" : "100"));
  $("#general-even").addEventListener("click", evenSplit);
  updateSum();
}
