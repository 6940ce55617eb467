// Asks before consequential actions (CSP forbids inline scripts, so no onclick="confirm()"):
// a form with data-confirm="…" is submitted, or a link/button with it followed, only after
// the user agrees in the browser's own dialog. Usable on any page that loads this file.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-confirm]");
    if (link && !window.confirm(link.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
}());
