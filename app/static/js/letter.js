// The decision letter's 打印 button (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var button = document.querySelector("[data-print]");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
