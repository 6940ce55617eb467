// New campaign form: shows only the field of the chosen audience (机构, 客户分层, 产品 or
// 客户号名单), and for the anonymous link none of them nor what sending alone uses (channel,
// link validity, reminder, quota). CSP forbids inline scripts, hence this file.
// Without JavaScript every field stays visible and the server uses the one the audience names.
(function () {
  "use strict";
  var audience = document.getElementById("audience");
  if (!audience) { return; }
  var parts = document.querySelectorAll("[data-audience]");
  var others = document.querySelectorAll("[data-audience-not]");
  var note = document.querySelector("[data-audience-note]");
  if (note) { note.hidden = true; }

  function show() {
    parts.forEach(function (part) {
      part.hidden = part.getAttribute("data-audience") !== audience.value;
    });
    others.forEach(function (part) {
      // (a field the server refused stays in sight)
      part.hidden = part.getAttribute("data-audience-not") === audience.value &&
        !part.querySelector(".has-error");
    });
  }

  audience.addEventListener("change", show);
  show();
}());
