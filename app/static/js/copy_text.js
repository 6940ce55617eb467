// "复制文稿": copies a read-only text box to the clipboard. The button stays hidden without
// JavaScript (the text can still be selected by hand). On a plain-http intranet page the
// Clipboard API is unavailable, so the text is selected and copied the older way.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var box = document.getElementById(button.getAttribute("data-copy"));
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (!box) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      box.focus();
      box.select();
      var done = function (ok) {
        if (status) status.textContent = ok ? "已复制到剪贴板" : "请按 Ctrl+C 复制已选中的文字";
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(box.value).then(function () { done(true); }, function () { done(false); });
      } else {
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        done(ok);
      }
    });
  });
})();
