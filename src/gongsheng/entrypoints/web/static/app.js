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

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
window.addEventListener("load", () => setTimeout(loadCharts, 0));
