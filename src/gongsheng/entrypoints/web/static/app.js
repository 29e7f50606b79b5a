// gongsheng web pages: ask before a form that cannot be undone (closing a period), and draw the
// page's charts with the locally served plotly.js. The figures are in the HTML; plotly.js (a
// large script) is fetched only after the page has loaded, so tables never wait for charts.
"use strict";

function drawCharts() {
  const specs = JSON.parse(document.getElementById("charts-data").textContent);
  for (const spec of specs) {
    const el = document.getElementById("chart-" + spec.id);
    if (el) Plotly.newPlot(el, spec.data, spec.layout, {displayModeBar: false, responsive: true});
  }
  performance.mark("charts-drawn");
  document.body.dataset.chartsReady = "1";
}

function loadCharts() {
  if (!document.getElementById("charts-data")) return;
  const script = document.createElement("script");
  script.src = "/static/vendor/plotly.min.js";
  script.onload = drawCharts;
  document.head.appendChild(script);
}

// A form that moves value is sent once: its buttons are disabled as it is submitted (the server
// also replays a repeated form key, so a second request posts nothing either).
function sendOnce(form) {
  form.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return;
    if (form.dataset.sent === "1") { event.preventDefault(); return; }
    form.dataset.sent = "1";
    setTimeout(() => { for (const b of form.querySelectorAll("button")) b.disabled = true; }, 0);
  });
}

// The signing form's live waterfall: the split at the typed rates, asked of the server (the
// policy's own rounding and feasibility check), shown before the form is submitted.
function livePreview(form) {
  const table = document.getElementById("preview-table");
  const error = document.getElementById("preview-error");
  const yuan = (fen) => "¥" + (fen / 100).toLocaleString("en", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  let timer = null, asked = 0;
  const ask = () => {
    const params = new URLSearchParams(new FormData(form));
    params.delete("csrf");
    const mine = ++asked;
    fetch(form.dataset.preview + "?" + params.toString(), {credentials: "same-origin"})
      .then((r) => r.json()).then((body) => {
        if (mine !== asked) return;
        form.dataset.previewed = params.toString();  // what the shown split was computed for
        if (!body.ok) { error.textContent = body.error; error.hidden = false; table.hidden = true; return; }
        error.hidden = true; table.hidden = false;
        for (const cell of table.querySelectorAll("[data-f]")) {
          const v = body[cell.dataset.f];
          cell.textContent = cell.dataset.points ? (v / 100).toFixed(2) : yuan(v);
          cell.dataset.v = v;
        }
        for (const cell of table.querySelectorAll("[data-part]")) {
          const part = body.parts.find((p) => p.part === cell.dataset.part);
          cell.textContent = part ? yuan(part.amount_fen) + (part.vacant ? " *" : "") : "—";
          cell.dataset.v = part ? part.amount_fen : "";
        }
      });
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 200); });
  ask();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  for (const form of document.querySelectorAll("form[data-once]")) sendOnce(form);
  for (const form of document.querySelectorAll("form[data-preview]")) livePreview(form);
});
window.addEventListener("load", () => setTimeout(loadCharts, 0));
