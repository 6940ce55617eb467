// Renders the before/after chart of a problem page from its JSON data block (CSP: no inline JS).
(function () {
  "use strict";
  var holder = document.getElementById("im-chart");
  var block = document.getElementById("im-chart-data");
  if (!holder || !block || typeof window.Plotly === "undefined") {
    return;
  }
  var figure = JSON.parse(block.textContent);
  window.Plotly.newPlot(holder, figure.data, figure.layout, figure.config || {}).then(function () {
    holder.setAttribute("data-rendered", "1");
  });
})();
