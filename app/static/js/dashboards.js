// Draws the dashboard's Plotly figures from their JSON data blocks (CSP forbids inline scripts)
// and reloads the page with the new filters in the URL when a filter changes.
(function () {
  "use strict";
  var config = { responsive: true, displaylogo: false, locale: "zh-CN",
    modeBarButtonsToRemove: ["lasso2d", "select2d"] };

  function draw() {
    var blocks = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(blocks, function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source || !window.Plotly) { return; }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(target, figure.data, figure.layout, config).then(function () {
        target.setAttribute("data-drawn", "1");
      });
    });
  }

  function autoSubmit() {
    var form = document.getElementById("dash-filters");
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(); autoSubmit(); });
}());
