// The survey designer (CSP: no inline scripts). Staff edit a YAML definition, where indentation
// matters and typing it from memory is error-prone, so this script:
// - selects the line of a definition error ("定位到第 N 行");
// - makes Tab insert two spaces (Shift+Tab / Tab on several lines outdents / indents them;
//   Esc then Tab leaves the box, so the keyboard is never trapped);
// - inserts a question snippet ("插入题目") at the end of the questions list, with an id not
//   used yet, and selects its title for typing over;
// - warns before previewing or publishing with unsaved changes (both use the saved draft) and
//   before leaving the page with them.
(function () {
  "use strict";

  var INDENT = "  ";
  var SNIPPET_INDENT = 2; // the snippets' items are written as "  - id: …"
  var form = document.getElementById("draft-form");
  var box = form && form.querySelector("textarea[name=definition]");
  if (!box) {
    return;
  }

  // -- editing helpers ---------------------------------------------------------------------

  function replaceSelection(text) {
    // execCommand keeps the browser's undo history (Ctrl+Z); setRangeText where it is missing.
    box.focus();
    if (!document.execCommand || !document.execCommand("insertText", false, text)) {
      box.setRangeText(text, box.selectionStart, box.selectionEnd, "end");
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  }

  function offsetOfLine(lines, index) {
    var offset = 0;
    for (var i = 0; i < index; i += 1) {
      offset += lines[i].length + 1;
    }
    return offset;
  }

  function scrollToLine(line) {
    var height = parseFloat(getComputedStyle(box).lineHeight) || 20;
    box.scrollTop = Math.max(0, (line - 4) * height);
  }

  // -- "定位到第 N 行" ---------------------------------------------------------------------

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-goto-line]");
    if (!button) {
      return;
    }
    var target = document.getElementById(button.getAttribute("aria-controls")) || box;
    var lines = target.value.split("\n");
    var line = Math.min(Math.max(Number(button.getAttribute("data-goto-line")), 1), lines.length);
    var start = offsetOfLine(lines, line - 1);
    target.focus();
    target.setSelectionRange(start, start + lines[line - 1].length);
    scrollToLine(line);
  });

  // -- Tab indents ---------------------------------------------------------------------------

  var escaped = false;
  box.addEventListener("keydown", function (event) {
    var plainTab = event.key === "Tab" && !event.ctrlKey && !event.altKey && !event.metaKey;
    if (plainTab && !escaped) {
      event.preventDefault();
      indent(event.shiftKey);
    }
    escaped = event.key === "Escape";
  });

  function indent(outdent) {
    var value = box.value;
    var start = box.selectionStart;
    var end = box.selectionEnd;
    var several = value.slice(start, end).indexOf("\n") !== -1;
    if (!outdent && !several) {
      replaceSelection(INDENT);
      return;
    }
    var lineStart = value.lastIndexOf("\n", start - 1) + 1;
    if (end > start && value.charAt(end - 1) === "\n") {
      end -= 1; // a selection up to a line's start does not take in that line
    }
    var lineEnd = value.indexOf("\n", end);
    lineEnd = lineEnd === -1 ? value.length : lineEnd;
    var block = value.slice(lineStart, lineEnd);
    var changed = outdent ? block.replace(/^ {1,2}/gm, "") : block.replace(/^/gm, INDENT);
    if (changed === block) {
      return;
    }
    box.setSelectionRange(lineStart, lineEnd);
    replaceSelection(changed);
    box.setSelectionRange(lineStart, lineStart + changed.length);
  }

  // -- "插入题目" ---------------------------------------------------------------------------

  var status = document.getElementById("sv-insert-status");

  function say(message) {
    if (status) {
      status.textContent = message;
    }
  }

  function usedIds(text) {
    var used = {};
    var pattern = /(?:^|[\s{,])id:\s*["']?([A-Za-z0-9_-]+)/gm;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      used[match[1]] = true;
    }
    return used;
  }

  function freshId(base, text) {
    var used = usedIds(text);
    var id = base;
    for (var n = 2; used[id]; n += 1) {
      id = base + "_" + n;
    }
    return id;
  }

  // Where a new question goes: after the last line of the top-level "questions:" block (before
  // the next top-level field and the blank or comment lines above it), and the indentation of
  // that list's items. null when the list is not written one item per line.
  function questionsEnd(lines) {
    var start = -1;
    for (var i = 0; i < lines.length; i += 1) {
      if (/^questions:/.test(lines[i])) {
        start = i;
        break;
      }
    }
    if (start === -1) {
      return { missing: true };
    }
    if (!/^questions:\s*(#.*)?$/.test(lines[start])) {
      return null;
    }
    var end = lines.length;
    var itemIndent = null;
    for (var j = start + 1; j < lines.length; j += 1) {
      if (/^[^\s#-]/.test(lines[j])) {
        end = j;
        break;
      }
      var item = /^(\s*)- /.exec(lines[j]);
      if (item && itemIndent === null) {
        itemIndent = item[1].length;
      }
    }
    while (end > start + 1 && /^(\s*|#.*)$/.test(lines[end - 1])) {
      end -= 1;
    }
    return { line: end, indent: itemIndent === null ? SNIPPET_INDENT : itemIndent };
  }

  function reindent(text, indent) {
    if (indent === SNIPPET_INDENT) {
      return text;
    }
    var pad = new Array(indent + 1).join(" ");
    return text.replace(/^ {2}/gm, pad);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-snippet]");
    if (!button) {
      return;
    }
    var value = box.value;
    var lines = value.split("\n");
    var place = questionsEnd(lines);
    if (place === null) {
      say("问卷定义中的 questions 不是逐题分行书写的列表，无法自动插入，请按速查表手动添加。");
      return;
    }
    var id = freshId(button.getAttribute("data-id-base"), value);
    var snippet = button.getAttribute("data-snippet").replace("__ID__", id);
    var offset;
    if (place.missing) {
      offset = value.length;
      snippet = "questions:\n" + snippet;
    } else {
      snippet = reindent(snippet, place.indent);
      offset = Math.min(offsetOfLine(lines, place.line), value.length);
    }
    if (offset > 0 && value.charAt(offset - 1) !== "\n") {
      snippet = "\n" + snippet;
    }
    box.setSelectionRange(offset, offset);
    replaceSelection(snippet);
    // Select the example title, to be typed over.
    var titleAt = snippet.indexOf("title: ") + "title: ".length;
    var titleEnd = snippet.indexOf("\n", titleAt);
    box.setSelectionRange(offset + titleAt, offset + titleEnd);
    var line = value.slice(0, offset).split("\n").length + (snippet.charAt(0) === "\n" ? 1 : 0);
    scrollToLine(line);
    say("已在第 " + line + " 行加入一道“" + button.textContent.trim() + "”（题目编号 " + id +
      "）：题目文字已选中，可直接输入；保存后生效。");
  });

  // -- unsaved changes -----------------------------------------------------------------------

  // (the form-based designer's fields are in the form too: selects and boxes count)
  function snapshot() {
    var fields = form.querySelectorAll("input:not([type=hidden]), textarea, select");
    return Array.prototype.map.call(fields, function (el) {
      return el.type === "checkbox" ? String(el.checked) : el.value;
    }).join("\u0000");
  }

  // A page shown again with errors holds text that was not saved.
  var saved = form.hasAttribute("data-unsaved") ? null : snapshot();
  var submitting = false;
  var acknowledged = null; // what the form held when the user chose to go on without saving

  function dirty() {
    return !submitting && snapshot() !== saved;
  }

  var previewUnsaved = document.getElementById("preview-unsaved");

  form.addEventListener("submit", function (event) {
    if (event.submitter !== previewUnsaved) { // (a preview opens elsewhere: this page stays)
      submitting = true;
    }
  });

  // 预览 shows the draft as it stands on this page: with unsaved changes, the page's fields
  // are posted to the preview (in a new window) instead of opening the saved draft.
  document.addEventListener("click", function (event) {
    var preview = event.target.closest("[data-preview]");
    if (preview && previewUnsaved && dirty() && form.requestSubmit) {
      event.preventDefault();
      form.requestSubmit(previewUnsaved);
    }
  });

  document.addEventListener("click", function (event) {
    var action = event.target.closest("[data-needs-saved]");
    if (!action || !dirty()) {
      return;
    }
    var going = window.confirm(
      "您有尚未保存的修改。发布的是上次保存的草稿，不含这些修改。\n\n" +
      "点“取消”回到编辑，先“保存草稿”；点“确定”仍然继续。"
    );
    acknowledged = going ? snapshot() : null;
    if (!going) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  window.addEventListener("beforeunload", function (event) {
    // (asked again once anything changed since the user chose to go on without saving)
    if (dirty() && snapshot() !== acknowledged) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
}());
