// Skip logic in the browser: hides questions whose show_if does not hold. Without JavaScript
// every question is shown and the server applies the same rules (surveys.validate). Also: the
// count of answered questions beside the submit button, and a refused question's red mark
// taken off once it is answered (used on the customer's page and the agents' call workbench).
(function () {
  "use strict";

  // A draft of the customer's answers, kept on the phone (localStorage) while the page is open:
  // WeChat discards a page left in the background, and the answers to nine questions and a grid
  // went with it. Keyed by a digest of the link's address (not the token in clear), put back when
  // the link is opened again, dropped once the link is answered, expired or full. Storage that
  // is off, full or refused leaves the page working as before, without a draft.
  var DRAFT_PREFIX = "kesheng-survey-draft:";
  var DRAFT_KEEP_MS = 30 * 24 * 3600 * 1000;  // (links live 14 days by default, 90 at most)

  function storage() {
    try { return window.localStorage || null; } catch (e) { return null; }
  }

  // cyrb53: a 53-bit digest, enough to tell links apart and no way back to the token.
  function digest(text) {
    var h1 = 0xdeadbeef, h2 = 0x41c6ce57;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return (h2 >>> 0).toString(36) + (h1 >>> 0).toString(36);
  }

  var draftKey = DRAFT_PREFIX + digest(window.location.pathname);

  function forgetDraft() {
    var store = storage();
    try { if (store) { store.removeItem(draftKey); } } catch (e) { /* nothing kept */ }
  }

  // The thank-you page and the answered / expired / full link's page, at the link's address.
  if (document.querySelector("[data-sv-draft-done]")) { forgetDraft(); }

  var form = document.querySelector(".sv-form");
  if (!form) { return; }
  document.body.classList.add("sv-js");

  // A text counts as given when something visible is left after trimming, as the server reads
  // it (surveys.answers.clean_text): spaces alone, or zero-width characters, are no answer.
  var INVISIBLE = /[\u200b\u200c\u200d\u2060\ufeff]/g;
  function blank(text) { return text.replace(INVISIBLE, "").trim() === ""; }

  // The answer the server would see for a question (or one matrix row): null when unanswered or
  // when the question is hidden (the server drops a hidden question's answer); a matrix asked
  // without a row is answered when any of its rows is.
  function valueOf(id, item) {
    var q = document.getElementById("q-" + id);
    if (q && q.classList.contains("sv-hidden")) { return null; }
    var name = "q_" + id + (item ? "__" + item : "");
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    if (!inputs.length && !item) {
      var rows = form.querySelectorAll('[name^="' + name + '__"]:checked');
      return rows.length ? rows[0].value : null;
    }
    var values = [];
    inputs.forEach(function (el) {
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) { return; }
      if (el.type === "radio" || el.type === "checkbox" ? el.value !== "" : !blank(el.value)) {
        values.push(el.value);
      }
    });
    var multiple = inputs.length && inputs[0].type === "checkbox";
    if (multiple) { return values.length ? values : null; }
    return values.length ? values[0] : null;
  }

  function num(v) { var n = Number(v); return isNaN(n) ? v : n; }

  function holds(cond) {
    if (cond.all) { return cond.all.every(holds); }
    if (cond.any) { return cond.any.some(holds); }
    var v = valueOf(cond.question, cond.item);
    if (cond.op === "answered") { return (v !== null) === (cond.value !== false); }
    if (v === null) { return false; }
    var want = cond.value;
    if (Array.isArray(v)) {
      var list = Array.isArray(want) ? want : [want];
      var hit = v.some(function (x) { return list.indexOf(x) >= 0; });
      if (cond.op === "eq" || cond.op === "in") { return hit; }
      if (cond.op === "ne" || cond.op === "not_in") { return !hit; }
      return false;
    }
    var a = num(v);
    switch (cond.op) {
      case "eq": return a == num(want);
      case "ne": return a != num(want);
      case "in": return want.map(String).indexOf(String(v)) >= 0;
      case "not_in": return want.map(String).indexOf(String(v)) < 0;
      case "lt": return a < want;
      case "lte": return a <= want;
      case "gt": return a > want;
      case "gte": return a >= want;
    }
    return true;
  }

  // A question the server refused as unanswered stays shown whatever the rules here say, so
  // that a page can always be completed even if this copy of the rules ever read one otherwise.
  var flagged = form.querySelectorAll(".sv-q.sv-has-error");

  // Such a question whose rule no longer holds (the customer changed the answer it depends on)
  // says so: what is typed there is not kept, as the server drops answers its rules hide.
  function notNeeded(q, yes) {
    var note = q.querySelector(".sv-not-needed-msg");
    if (yes && !note) {
      note = document.createElement("p");
      note.className = "sv-not-needed-msg";
      note.setAttribute("role", "status");
      note.textContent = "根据您前面的选择，此题已无需回答，在此填写的内容不会保存。";
      q.insertBefore(note, q.children[1] || null);
    } else if (!yes && note) {
      note.parentNode.removeChild(note);
    }
    q.classList.toggle("sv-not-needed", yes);
  }

  function refresh() {
    form.querySelectorAll(".sv-q[data-show-if]").forEach(function (q) {
      var show = holds(JSON.parse(q.getAttribute("data-show-if")));
      if (Array.prototype.indexOf.call(flagged, q) >= 0) {
        notNeeded(q, !show);
        show = true;
      }
      q.classList.toggle("sv-hidden", !show);
    });
    // Number the questions the customer sees: 1, 2, 3 … with no gap for a hidden one.
    var n = 0;
    form.querySelectorAll(".sv-q").forEach(function (q) {
      var num = q.querySelector(".sv-num");
      if (!q.classList.contains("sv-hidden") && num) { n += 1; num.textContent = n + "."; }
    });
  }

  var restoring = false;  // (a draft being put back: no focus moves to a 请注明 box)

  // "At most N" on a multiple choice: a tick beyond N is taken back at once and a short line
  // under the options says why (the server checks the same rule).
  function limit(event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked) { return; }
    var group = box.closest("[data-max-select]");
    if (!group) { return; }
    var max = Number(group.getAttribute("data-max-select"));
    if (group.querySelectorAll("input[type=checkbox]:checked").length > max) {
      box.checked = false;
      group.classList.add("sv-limit-hit");
      var note = group.parentNode.querySelector(".sv-limit-msg");
      if (note) { note.textContent = "最多只能选 " + max + " 项，如需改选，请先取消一项。"; }
      window.setTimeout(function () { group.classList.remove("sv-limit-hit"); }, 1200);
    }
  }

  // An option that rules out the others ("没有遇到问题", exclusive in the definition): ticking
  // it unticks the rest, ticking another unticks it (the server refuses the two together).
  function exclusive(event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked) { return; }
    var group = box.closest(".sv-options");
    if (!group) { return; }
    var sole = box.hasAttribute("data-exclusive");
    group.querySelectorAll("input[type=checkbox]:checked").forEach(function (other) {
      if (other !== box && (sole || other.hasAttribute("data-exclusive"))) { other.checked = false; }
    });
  }

  function clearLimitNote(event) {
    var box = event.target;
    if (box.type !== "checkbox" || box.checked) { return; }
    var q = box.closest(".sv-q");
    var note = q && q.querySelector(".sv-limit-msg");
    if (note) { note.textContent = ""; }
  }

  // "其他 – 请注明": usable (and required) only while its option is ticked. Without JavaScript
  // the box is always there and the server asks for the text when 其他 is chosen.
  function others(focusChanged) {
    form.querySelectorAll(".sv-other[data-other-for]").forEach(function (text) {
      var q = text.closest(".sv-q");
      var choice = q.querySelector('input[value="' + text.getAttribute("data-other-for") + '"]');
      var on = !!(choice && choice.checked);
      var wasOn = !text.disabled;
      text.disabled = !on;
      text.required = on;
      if (on && !wasOn && focusChanged === choice && !restoring) { text.focus(); }
    });
  }

  // After a refused submission: the summary at the top gets the focus (screen readers read it),
  // and each of its links moves to its question's first answer. Where the summary starts low on
  // the page or off-screen (the call workbench: it heads the answers, below the call record), it
  // is first scrolled to the top of the window, so that its whole list shows.
  function summary() {
    var box = document.getElementById("sv-errors");
    if (!box) { return; }
    var at = box.getBoundingClientRect();
    if (at.top < 0 || at.top > window.innerHeight / 2) {
      box.scrollIntoView({ block: "start" });
      box.focus({ preventScroll: true });
    } else {
      box.focus();
    }
    box.addEventListener("click", function (event) {
      var link = event.target.closest("a[data-question]");
      if (!link) { return; }
      var q = document.getElementById("q-" + link.getAttribute("data-question"));
      if (!q) { return; }
      event.preventDefault();
      q.scrollIntoView({ block: "start" });
      // a grid's first row left unanswered (the first row may be answered already), else the
      // question's first field
      var first = null;
      q.querySelectorAll(".sv-matrix-row").forEach(function (row) {
        if (!first && !row.querySelector("input:checked")) {
          first = row.querySelector("input:not([disabled])");
        }
      });
      first = first || q.querySelector("input:not([disabled]), textarea, select");
      if (first) { first.focus({ preventScroll: true }); }
    });
  }

  // A question counts as answered when one of its points or options is chosen (a matrix: every
  // row) or its text is not blank.
  function answered(q) {
    var rows = q.querySelectorAll(".sv-matrix-row");
    if (rows.length) {
      return Array.prototype.every.call(rows, function (row) {
        return !!row.querySelector("input:checked");
      });
    }
    if (q.querySelector("input[type=radio]:checked, input[type=checkbox]:checked")) { return true; }
    var text = q.querySelector("textarea");
    return !!(text && !blank(text.value));
  }

  // Progress beside the submit button: answered of the questions shown, and the required ones
  // still open, so a customer knows before submitting whether anything is missing.
  var counter = document.getElementById("sv-count");
  // 其他 ticked and its 请注明 box left blank: the server refuses that, required or not.
  function unspecified(q) {
    var text = q.querySelector(".sv-other[data-other-for]:not([disabled])");
    return !!(text && blank(text.value));
  }

  function progress() {
    if (!counter) { return; }
    var shown = 0, done = 0, missing = 0, vague = 0;
    form.querySelectorAll(".sv-q").forEach(function (q) {
      // (a question no longer needed is neither to answer nor missing: its answer is dropped)
      if (q.classList.contains("sv-hidden") || q.classList.contains("sv-not-needed")) { return; }
      shown += 1;
      if (answered(q) && unspecified(q)) { vague += 1; done += 1; }
      else if (answered(q)) { done += 1; }
      else if (q.querySelector(".sv-title .sv-req")) { missing += 1; }
    });
    counter.hidden = false;
    counter.textContent = "已答 " + done + " / " + shown + " 题" +
      (missing ? "，还有 " + missing + " 道必答题未答" : "") +
      (vague ? "，" + vague + " 道题选了“其他”但未注明" : "") +
      (missing || vague ? "" : "，必答题已全部完成");
    counter.classList.toggle("sv-count-done", !missing && !vague);
  }

  // After a refused submission: a question the customer has now answered loses its red mark
  // (the server checks it again on the next submission).
  function clearError(target) {
    var q = target.closest && target.closest(".sv-q.sv-has-error");
    if (!q || !answered(q)) { return; }
    q.classList.remove("sv-has-error");
    var note = q.querySelector(".sv-error");
    if (note) { note.hidden = true; }
  }

  // 清除选择 under an optional question (or matrix row) answered by a tap: shown while something
  // is chosen; pressing it takes the choice back, as if the customer had never tapped.
  function clearButtons() {
    form.querySelectorAll(".sv-clear").forEach(function (button) {
      var name = button.getAttribute("data-clear");
      button.hidden = !form.querySelector('[name="' + name + '"]:checked');
    });
  }
  form.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".sv-clear");
    if (!button) { return; }
    var inputs = form.querySelectorAll('[name="' + button.getAttribute("data-clear") + '"]');
    inputs.forEach(function (el) { el.checked = false; });
    if (inputs.length) { inputs[0].dispatchEvent(new Event("change", { bubbles: true })); }
  });

  form.addEventListener("change", function (event) {
    clearLimitNote(event);  // (before limit: a tick it takes back must keep its note)
    exclusive(event);  // (before limit: ticking 没有 when N are ticked leaves one, not N + 1)
    limit(event);
    others(event.target);
    refresh();
    clearError(event.target);
    clearButtons();
    progress();
  });
  form.addEventListener("input", function (event) {
    // (typing shows or hides a question that depends on this text at once, not on leaving it)
    if (event.target.tagName === "TEXTAREA") { refresh(); clearError(event.target); progress(); }
    else if (event.target.classList.contains("sv-other")) { progress(); }
  });
  // The draft (see the top): only on the customer's own link (data-sv-draft), not in a preview
  // or on the agents' call workbench. Every field but the hidden ones, as a list of values.
  var drafting = form.hasAttribute("data-sv-draft") && !!storage();

  function answersNow() {
    var found = null;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || /^(hidden|submit|button)$/.test(el.type)) { return; }
      var choice = el.type === "radio" || el.type === "checkbox";
      if (choice ? !el.checked : blank(el.value)) { return; }
      found = found || {};
      (found[el.name] = found[el.name] || []).push(el.value);
    });
    return found;
  }

  function saveDraft() {
    var answers = answersNow();
    try {
      if (answers) {
        storage().setItem(draftKey, JSON.stringify({ at: Date.now(), answers: answers }));
      } else {
        storage().removeItem(draftKey);
      }
    } catch (e) { /* full or refused: no draft this time */ }
  }

  var saving = null;
  function saveSoon() {
    window.clearTimeout(saving);
    saving = window.setTimeout(function () { saving = null; saveDraft(); }, 400);
  }
  function saveNow() {
    if (saving !== null) { window.clearTimeout(saving); saving = null; saveDraft(); }
  }

  // Drafts of links never opened again go after a month (one look at the keys per page load).
  function sweepDrafts() {
    var store = storage();
    try {
      for (var i = store.length - 1; i >= 0; i--) {
        var key = store.key(i);
        if (key && key.indexOf(DRAFT_PREFIX) === 0 && key !== draftKey) {
          var old = JSON.parse(store.getItem(key) || "null");
          if (!old || !(Date.now() - old.at < DRAFT_KEEP_MS)) { store.removeItem(key); }
        }
      }
    } catch (e) { /* a broken entry or refused storage: left as it is */ }
  }

  // Put the draft back into a blank page (a page the server sent back with the answers and
  // their errors shows those instead), then let each restored field announce its change as a
  // tap would: skip logic, 其他's box and the count follow from the same handlers.
  function restoreDraft() {
    if (document.getElementById("sv-errors") || answersNow()) { return false; }
    var saved = null;
    try { saved = JSON.parse(storage().getItem(draftKey) || "null"); } catch (e) { saved = null; }
    if (!saved || typeof saved.answers !== "object" || !saved.answers) { return false; }
    if (!(Date.now() - saved.at < DRAFT_KEEP_MS)) { forgetDraft(); return false; }
    var changed = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      var values = el.name && el.type !== "hidden" ? saved.answers[el.name] : null;
      if (!Array.isArray(values)) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        if (values.indexOf(el.value) >= 0 && !el.checked) { el.checked = true; changed.push(el); }
      } else if (el.type !== "submit" && el.type !== "button" && typeof values[0] === "string") {
        el.value = el.maxLength > 0 ? values[0].slice(0, el.maxLength) : values[0];
        changed.push(el);
      }
    });
    restoring = true;
    try {
      changed.forEach(function (el) { el.dispatchEvent(new Event("change", { bubbles: true })); });
    } finally {
      restoring = false;
    }
    if (!changed.length) { return false; }
    var note = document.createElement("p");
    note.className = "sv-restored";
    note.setAttribute("role", "status");
    note.textContent = "已恢复您上次填写的内容，可继续作答。";
    form.parentNode.insertBefore(note, form);
    return true;
  }

  if (drafting) {
    sweepDrafts();
    restoreDraft();
    // (after the handlers above: what they undo, a tick beyond the limit, is not kept)
    form.addEventListener("change", saveDraft);
    form.addEventListener("input", saveSoon);
    // a page put in the background may never come back: what was typed is written down first
    window.addEventListener("pagehide", saveNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { saveNow(); }
    });
    if (document.getElementById("sv-errors")) { saveDraft(); }  // the answers the server sent back
  }

  // One press sends the answers once: a second tap while the page is on its way showed the
  // customer 您已提交过本问卷 instead of the thank-you page. The button then turns grey and says
  // 正在提交… (in WeChat an unchanged button looked frozen); both undone when the browser's back
  // button brings this page back from its cache.
  var submit = form.querySelector("button[type=submit]");
  var submitLabel = submit && submit.textContent;
  var busyLabel = submit && submit.classList.contains("sv-submit") ? "正在提交…" : null;
  form.addEventListener("submit", function () {
    if (drafting) { saveNow(); }
    if (!submit) { return; }
    window.setTimeout(function () {
      submit.disabled = true;
      if (busyLabel) { submit.textContent = busyLabel; }
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    if (!submit) { return; }
    submit.disabled = false;
    submit.textContent = submitLabel;
  });

  refresh();
  others(null);
  clearButtons();
  summary();
  progress();
})();
