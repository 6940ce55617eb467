// The complaint form's attachments, checked as soon as they are chosen (the server checks them
// again, by their content): a customer on a phone learns that a photo is too large or a file of
// the wrong kind before uploading it, and sees what will be sent. The limits come from the
// input's data-* attributes, which the server writes from its own limits.
(function () {
  "use strict";

  // After a refused submission, the list of fields to fix takes the focus (a screen reader reads
  // it; its links lead to each field).
  var summary = document.getElementById("pc-errors");
  if (summary) {
    summary.focus();
  }

  // The staff case page after a refused action: on a phone the actions (办理) come below the
  // whole case, so the page would open at its top with the refusal out of sight; bring the
  // message (or the first refused field) into view.
  var refused = document.querySelector(".cp-actions .flash-error, .cp-actions .error");
  if (refused) {
    var spot = refused.getBoundingClientRect();
    if (spot.top < 0 || spot.bottom > window.innerHeight) {
      refused.scrollIntoView({ block: "center" });
    }
    // and the first field to fix takes the focus (its message is read with it: the fields'
    // aria-describedby), where the focus stayed at the top of the page, 20 Tab stops away
    var invalid = document.querySelector('.cp-actions [aria-invalid="true"]');
    if (invalid) {
      invalid.focus({ preventScroll: true });
    }
  }

  // A complaint form sent once: on a slow connection a second press of 提交投诉 sent it again
  // (the server also takes one submission once, this spares the customer the wait). The button
  // then looks pressed and says so (正在提交…): an unchanged one looked frozen in WeChat while a
  // photo uploaded. Both are undone when the back button brings the page back from its cache.
  var sent = document.querySelector("form.pc-card");
  var button = sent && sent.querySelector("button[type=submit]");
  if (button) {
    var label = button.textContent;
    // 提交投诉 → 正在提交…, 查询 (the progress lookup) → 正在查询…
    var busy = "正在" + (label.indexOf("提交") === 0 ? "提交" : label.trim()) + "…";
    sent.addEventListener("submit", function (event) {
      // (after every listener has run: the attachment check below may still stop the send)
      window.setTimeout(function () {
        if (!event.defaultPrevented) {
          button.disabled = true;
          button.textContent = busy;
        }
      }, 0);
    });
    window.addEventListener("pageshow", function () {
      button.disabled = false;
      button.textContent = label;
    });
  }

  var input = document.querySelector("input[type=file][data-max-files]");
  if (!input) {
    return;
  }
  var box = input.closest(".field");
  var pick = box.querySelector(".pc-pick");
  var status = box.querySelector(".pc-pick-status");
  var list = box.querySelector(".pc-chosen");
  var shown = box.querySelector(".pc-file-errors");
  var maxFiles = Number(input.getAttribute("data-max-files"));
  var maxBytes = Number(input.getAttribute("data-max-bytes"));
  var maxTotal = Number(input.getAttribute("data-max-total"));
  var kinds = input.getAttribute("data-kinds");
  var accepted = input.getAttribute("accept").toLowerCase().split(",");

  function size(bytes) {
    if (bytes >= 1024 * 1024) {
      return (bytes / (1024 * 1024)).toFixed(1) + " MB";
    }
    return Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function limit(bytes) {
    return Math.round(bytes / (1024 * 1024)) + " MB";
  }

  function allowedKind(file) {
    var dot = file.name.lastIndexOf(".");
    var ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    // (some Android browsers give no type: the name's extension decides here)
    return file.type ? accepted.indexOf(file.type.toLowerCase()) >= 0 : accepted.indexOf(ext) >= 0;
  }

  function problems(files) {
    if (files.length > maxFiles) {
      return ["最多上传 " + maxFiles + " 个附件，您选择了 " + files.length + " 个"];
    }
    var found = [];
    var total = 0;
    Array.prototype.forEach.call(files, function (file) {
      var reason = null;
      if (file.size > maxBytes) {
        reason = "文件过大（" + size(file.size) + "），每个附件不能超过 " + limit(maxBytes);
      } else if (total + file.size > maxTotal) {
        reason = "附件合计不能超过 " + limit(maxTotal);
      } else if (!allowedKind(file)) {
        reason = "文件类型不支持，仅支持 " + kinds + " 文件";
      }
      if (reason) {
        found.push("“" + file.name + "”：" + reason);
      } else {
        total += file.size;
      }
    });
    return found;
  }

  function show(messages) {
    shown.textContent = "";
    messages.forEach(function (text) {
      var line = document.createElement("p");
      line.className = "error";
      line.textContent = text;
      shown.appendChild(line);
    });
    box.classList.toggle("has-error", messages.length > 0);
    if (messages.length) {
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  function listFiles(files) {
    list.textContent = "";
    Array.prototype.forEach.call(files, function (file) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      var bytes = document.createElement("span");
      name.className = "pc-chosen-name";
      name.textContent = file.name;
      bytes.className = "pc-chosen-size";
      bytes.textContent = size(file.size);
      item.appendChild(name);
      item.appendChild(bytes);
      list.appendChild(item);
    });
    list.hidden = files.length === 0;
    status.textContent = files.length ? "已选择 " + files.length + " 个文件" : "未选择文件";
  }

  // Our button and status in Chinese instead of the browser's (which follow the phone's
  // language); the input itself stays in the page, focusable and labelled.
  box.classList.add("pc-enhanced");
  pick.hidden = false;

  input.addEventListener("change", function () {
    var stale = box.querySelector(".pc-reselect");
    if (stale) {
      stale.remove();
    }
    listFiles(input.files);
    show(problems(input.files));
  });

  input.form.addEventListener("submit", function (event) {
    var found = problems(input.files);
    if (found.length) {
      event.preventDefault();
      show(found);
      input.focus();
      box.scrollIntoView({block: "center"});
    }
  });
}());
