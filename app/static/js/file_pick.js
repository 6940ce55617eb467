// Every file field but the complaint forms' (js/complaint_form.js does more there): our button
// and status in Chinese (macros.html file_pick) in place of the browser's, whose words follow
// the browser's language. The input stays in the page, focusable and labelled; the status
// names what was chosen.
(function () {
  "use strict";

  var inputs = document.querySelectorAll(".pc-files input.pc-file-input:not([data-max-files])");
  Array.prototype.forEach.call(inputs, function (input) {
    var box = input.closest(".pc-files");
    var pick = box.querySelector(".pc-pick[for='" + input.id + "']");
    if (!pick) {
      return;
    }
    var status = pick.querySelector(".pc-pick-status");
    box.classList.add("pc-enhanced");
    pick.hidden = false;
    input.addEventListener("change", function () {
      var names = Array.prototype.map.call(input.files, function (file) {
        return file.name;
      });
      if (!names.length) {
        status.textContent = "未选择文件";
      } else if (names.length === 1) {
        status.textContent = "已选择：" + names[0];
      } else {
        status.textContent = "已选择 " + names.length + " 个文件：" + names.join("、");
      }
    });
  });
}());
