// The form-based survey designer (CSP: no inline scripts). Staff who design questionnaires are
// not programmers: here they fill in each question's words, options, scale and display
// condition in form fields instead of writing YAML. The form edits the draft as data (the
// same mappings the YAML holds); saving sends that data along with the draft form
// (definition_json) and the server writes it out as YAML and checks it, so the form and the
// "YAML 源码" view are one draft. Switching views asks the server to convert (the YAML view
// keeps its text, comments included, when the form changed nothing). Without this script the
// page is the YAML editor it always was.
(function () {
  "use strict";

  var form = document.getElementById("draft-form");
  var root = document.getElementById("sb-builder");
  var source = document.getElementById("sb-data");
  var box = form && form.querySelector("textarea[name=definition]");
  if (!form || !root || !source || !box) {
    return;
  }
  var config = JSON.parse(source.textContent);
  var tabs = form.querySelector(".sb-modes");
  var tabForm = document.getElementById("sb-tab-form");
  var tabYaml = document.getElementById("sb-tab-yaml");
  var yamlPanel = document.getElementById("sb-yaml");
  var status = document.getElementById("sb-mode-status");
  var hidden = form.querySelector("input[name=definition_json]");
  var csrf = form.querySelector("input[name=csrf_token]");
  var base = window.location.pathname.replace(/\/$/, "");
  var MODE_KEY = "kesheng.surveyDesigner.mode";
  var SCROLL_KEY = "kesheng.surveyDesigner.scroll";

  // The types by the names of the "添加题目" buttons (the YAML view's 插入题目 names them so too).
  var TYPES = (config.templates || []).map(function (t) { return [t.question.type, t.label]; });
  var TYPE_NAMES = {};
  TYPES.forEach(function (t) { TYPE_NAMES[t[0]] = t[1]; });
  var OP_WORDS = {
    eq: "等于", ne: "不等于", lt: "小于", lte: "小于等于", gt: "大于", gte: "大于等于",
    "in": "属于其中之一", not_in: "不属于其中任何一个", answered: "已作答", unanswered: "未作答"
  };
  var SCALES = { rating: [1, 5], nps: [0, 10], ces: [1, 7] };
  var SCALE_WORDS = {
    rating: { 1: "非常不满意", 2: "不满意", 3: "一般", 4: "满意", 5: "非常满意" },
    nps: { 0: "完全不可能", 10: "非常愿意" },
    ces: { 1: "非常不同意", 4: "一般", 7: "非常同意" }
  };
  var METRICS = { rating: ["csat", "满意度（CSAT）"], nps: ["nps", "净推荐值（NPS）"], ces: ["ces", "省力度（CES）"] };
  var TYPE_KEYS = ["options", "min_select", "max_select", "other_max_length", "items", "scale", "max_length"];

  var data = config.data;
  var locked = {};
  (config.locked || []).forEach(function (id) { locked[id] = true; });
  // The questions that came with a published id: their id and type stay (a new question given
  // such an id by mistake is not locked, so that it can be mended).
  var lockedQuestions = new WeakSet();
  // Their options and matrix items that were published: answers are filed under those codes,
  // so the code stays (the row's text may change, and the row may be deleted).
  var lockedCodes = config.locked_codes || {};
  var lockedRows = new WeakSet();
  // Each question's own fields of the types it had before (its options, say), brought back
  // when it gets that type again: a type picked by mistake loses nothing.
  var stashes = new WeakMap();

  function lockPublished() {
    if (data && Array.isArray(data.questions)) {
      data.questions.forEach(function (q) {
        if (q && locked[q.id]) {
          lockedQuestions.add(q);
          ["options", "items"].forEach(function (key) {
            (Array.isArray(q[key]) ? q[key] : []).forEach(function (row) {
              var code = row && (key === "options" ? row.value : row.id);
              if (code !== undefined && (lockedCodes[q.id] || []).indexOf(String(code)) !== -1) {
                lockedRows.add(row);
              }
            });
          });
        }
      });
    }
  }
  lockPublished();
  var problems = config.problems || [];
  var mode = null;
  var syncedJson = data ? canonical(data) : null; // the form's data as the YAML box has it
  // The YAML box's text as the form's data has it. After a refused save from the YAML view the
  // box holds the refused text and the form the saved draft: not the same, read the box again.
  var syncedText = config.mode === "yaml" ? null : box.value;
  var shownText = box.value; // the text the listed problems were found in

  // -- small DOM helpers -------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) {
        return;
      }
      if (key === "text") {
        node.textContent = value;
      } else if (key === "class") {
        node.className = value;
      } else if (key.slice(0, 2) === "on") {
        node.addEventListener(key.slice(2), value);
      } else if (value === true) {
        node.setAttribute(key, "");
      } else {
        node.setAttribute(key, value);
      }
    });
    (children || []).forEach(function (child) {
      if (child !== null && child !== undefined && child !== false) {
        node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
      }
    });
    return node;
  }

  var uid = 0;
  function nextId(prefix) {
    uid += 1;
    return "sb-" + prefix + "-" + uid;
  }

  // Messages go where they are seen: in the bar at the bottom of the form while the form shows,
  // beside the tabs otherwise; a warning or failure in the error colour.
  var note = el("p", { class: "sb-note", role: "status", "aria-live": "polite" });

  function say(message, isError) {
    var target = mode === "form" ? note : status;
    (target === note ? status : note).textContent = "";
    target.textContent = message || "";
    target.classList.toggle("error", !!isError);
  }

  function text(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function questions() {
    if (!Array.isArray(data.questions)) {
      data.questions = [];
    }
    return data.questions;
  }

  function usedIds() {
    var used = {};
    questions().forEach(function (q) { used[q.id] = true; });
    Object.keys(locked).forEach(function (id) { used[id] = true; }); // never reuse a retired id
    return used;
  }

  function freshId(baseId) {
    var used = usedIds();
    var clean = text(baseId).toLowerCase().replace(/[^a-z0-9_-]+/g, "_").replace(/_+/g, "_")
      .replace(/^[^a-z]+/, "").replace(/_$/, "") || "q";
    var id = clean;
    for (var n = 2; used[id]; n += 1) {
      id = clean + "_" + n;
    }
    return id;
  }

  // The data as JSON with its keys sorted: equal for equal content, whatever order keys were
  // set in (a type changed and changed back puts its options last).
  function canonical(value) {
    return JSON.stringify(value, function (key, v) {
      if (v && typeof v === "object" && !Array.isArray(v)) {
        var sorted = {};
        Object.keys(v).sort().forEach(function (k) { sorted[k] = v[k]; });
        return sorted;
      }
      return v;
    });
  }

  function copy(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function questionLabel(q, index) {
    var title = text(q.title);
    if (title.length > 18) {
      title = title.slice(0, 18) + "…";
    }
    return "第 " + (index + 1) + " 题：" + (title || q.id);
  }

  // -- an input bound to a key of a mapping --------------------------------------------------

  function textField(label, obj, key, opts) {
    opts = opts || {};
    var id = nextId("f");
    var attrs = {
      id: id, type: "text", value: text(obj[key]), placeholder: opts.placeholder,
      readonly: opts.readonly, "aria-describedby": opts.hint ? id + "-hint" : null,
      "data-key": opts.key, maxlength: opts.maxlength, "data-path": opts.path,
      oninput: function (event) {
        var value = event.target.value;
        if (value === "" && opts.optional) {
          delete obj[key];
        } else {
          obj[key] = value;
        }
        if (opts.oninput) {
          opts.oninput(value);
        }
      },
      onchange: opts.onchange,
      onfocus: opts.onfocus
    };
    var input = opts.multiline ? el("textarea", attrs) : el("input", attrs);
    if (opts.multiline) {
      input.value = text(obj[key]);
      input.rows = 2;
    }
    return el("div", { class: "field sb-field" + (opts.wide ? " sb-wide" : "") }, [
      el("label", { for: id, text: label }),
      input,
      opts.hint ? el("p", { class: "hint", id: id + "-hint", text: opts.hint }) : null
    ]);
  }

  function numberField(label, obj, key, opts) {
    var id = nextId("n");
    return el("div", { class: "field sb-field sb-narrow" }, [
      el("label", { for: id, text: label }),
      el("input", {
        id: id, type: "number", inputmode: "numeric", min: opts.min, max: opts.max, step: 1,
        "data-path": opts.path,
        value: obj[key] === undefined ? "" : text(obj[key]), placeholder: opts.placeholder,
        "aria-describedby": opts.hint ? id + "-hint" : null,
        oninput: function (event) {
          var raw = event.target.value.trim();
          if (raw === "") {
            delete obj[key];
          } else {
            obj[key] = /^-?\d+$/.test(raw) ? parseInt(raw, 10) : raw;
          }
        }
      }),
      opts.hint ? el("p", { class: "hint", id: id + "-hint", text: opts.hint }) : null
    ]);
  }

  function checkField(label, checked, onchange, hint, path) {
    var id = nextId("c");
    return el("div", { class: "sb-check" }, [
      el("input", {
        id: id, type: "checkbox", checked: !!checked, "aria-describedby": hint ? id + "-hint" : null,
        "data-path": path,
        onchange: function (event) { onchange(event.target.checked); }
      }),
      el("label", { for: id, text: label }),
      hint ? el("span", { class: "hint", id: id + "-hint", text: hint }) : null
    ]);
  }

  function selectField(label, choices, current, onchange, opts) {
    opts = opts || {};
    var id = nextId("s");
    if (opts.disabled) {
      // Fixed, yet reachable by Tab so a screen reader reads it with its reason: the current
      // choice alone, marked aria-disabled (a disabled control is skipped by the keyboard).
      choices = choices.filter(function (c) { return String(c[0]) === String(current); });
    }
    var select = el("select", {
      id: id, "aria-disabled": opts.disabled ? "true" : null,
      "aria-describedby": opts.hint ? id + "-hint" : null,
      "data-key": opts.key, "data-path": opts.path,
      onchange: function (event) { onchange(event.target.value); }
    }, choices.map(function (c) {
      return el("option", { value: c[0], text: c[1], selected: String(c[0]) === String(current) });
    }));
    if (opts.bare) {
      select.setAttribute("aria-label", label);
      return select;
    }
    return el("div", { class: "field sb-field" + (opts.narrow ? " sb-narrow" : "") }, [
      el("label", { for: id, text: label }),
      select,
      opts.hint ? el("p", { class: "hint", id: id + "-hint", text: opts.hint }) : null
    ]);
  }

  function smallButton(label, onclick, opts) {
    opts = opts || {};
    return el("button", {
      type: "button", class: "button small" + (opts.danger ? " danger" : ""), text: label,
      "aria-label": opts.aria, title: opts.aria, disabled: opts.disabled, "data-key": opts.key,
      onclick: function () { onclick(); }
    });
  }

  // -- rendering -----------------------------------------------------------------------------

  // -- undo ----------------------------------------------------------------------------------
  // Every draw replaces the form's fields, and with them the browser's own undo of what was
  // typed: Ctrl+Z did nothing after leaving a field, and a deleted question was gone. The
  // designer keeps its own history instead: the draft as it was at each draw (what changed
  // between two draws is one step), up to UNDO_LIMIT steps, undone and redone with 撤销 and 重做
  // or Ctrl+Z and Ctrl+Y (Ctrl+Shift+Z). Inside a field still being typed in, Ctrl+Z stays the
  // browser's (it undoes the typing first).
  var UNDO_LIMIT = 100;
  var past = [];
  var future = [];
  var shown = null; // the draft as last drawn (JSON)
  var restoring = false;
  var undoButton = null;
  var redoButton = null;

  function remember() {
    var now = JSON.stringify(data);
    if (!restoring && shown !== null && now !== shown) {
      past.push(shown);
      if (past.length > UNDO_LIMIT) {
        past.shift();
      }
      future.length = 0; // (emptied in place: step() holds this very array)
    }
    restoring = false;
    shown = now;
  }

  function forget() {
    past = [];
    future = [];
    shown = null;
  }

  function step(from, to, done, none, key) {
    remember(); // (typing not yet drawn is a step of its own)
    if (!from.length) {
      say(none);
      return;
    }
    to.push(shown);
    data = JSON.parse(from.pop());
    restoring = true;
    // (the focus stays on 撤销 or 重做, or on the other one once this one has no more steps)
    var again = key === "undo" ? past.length : future.length;
    render(again ? key : (key === "undo" ? "redo" : "undo"));
    say(done);
  }

  function undo() {
    step(past, future, "已撤销上一步修改（可按“重做”或 Ctrl+Y 恢复）。", "没有可撤销的修改。", "undo");
  }

  function redo() {
    step(future, past, "已重做。", "没有可重做的修改。", "redo");
  }

  function undoButtons() {
    undoButton = smallButton("撤销", undo, { aria: "撤销上一步修改（Ctrl+Z）", key: "undo" });
    redoButton = smallButton("重做", redo, { aria: "重做（Ctrl+Y）", key: "redo" });
    undoButton.disabled = !past.length;
    redoButton.disabled = !future.length;
    return el("span", { class: "sb-undo", role: "group", "aria-label": "撤销与重做" }, [
      undoButton, redoButton
    ]);
  }

  function typingInField(target) {
    var typing = target && (target.tagName === "TEXTAREA" ||
      (target.tagName === "INPUT" && /^(text|search|number|url|email)$/.test(target.type)));
    return typing && JSON.stringify(data) !== shown;
  }

  // (on the document: after a redraw the focus may be on the page itself, not in the form)
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.altKey || mode !== "form") {
      return;
    }
    if (!root.contains(event.target) && event.target !== document.body) {
      return; // (the YAML text and other fields keep the browser's undo)
    }
    var key = event.key.toLowerCase();
    var wantsUndo = key === "z" && !event.shiftKey;
    var wantsRedo = key === "y" || (key === "z" && event.shiftKey);
    if (!wantsUndo && !wantsRedo) {
      return;
    }
    if (wantsUndo && typingInField(event.target)) {
      return; // the browser undoes the typing in this field
    }
    event.preventDefault();
    if (wantsUndo) {
      undo();
    } else {
      redo();
    }
  });

  function render(focusKey) {
    pending = false;
    uid = 0;
    remember();
    root.textContent = "";
    root.appendChild(surveyPanel());
    var list = el("ol", { class: "sb-questions", "aria-label": "题目列表" });
    questions().forEach(function (q, index) {
      list.appendChild(questionCard(q, index));
    });
    root.appendChild(list);
    if (!questions().length) {
      root.appendChild(el("p", { class: "muted", text: "还没有题目：用下方按钮添加第一道题。" }));
    }
    root.appendChild(addBar());
    if (focusKey) {
      var target = root.querySelector("[data-key='" + focusKey + "']");
      if (target) {
        target.focus();
      }
    }
  }

  // A text field's change (on leaving it) may alter what other fields show (a title in the
  // condition lists, a renamed id or code): the form is drawn again, but after the click or Tab
  // that left the field has landed, and with the focus kept on the same control. (Drawn at
  // once, the button under a click would be replaced between press and release: a lost click.)
  var pointerDown = false;
  var pending = false;

  function focusables() {
    return Array.prototype.slice.call(root.querySelectorAll("input, select, textarea, button"));
  }

  function redraw() {
    var active = document.activeElement;
    var at = focusables().indexOf(active);
    var range = active && typeof active.selectionStart === "number" && active.type === "text"
      ? [active.selectionStart, active.selectionEnd] : null;
    render();
    var again = focusables()[at];
    if (at !== -1 && again) {
      again.focus();
      if (range && again.type === "text") {
        again.setSelectionRange(range[0], range[1]);
      }
    }
  }

  function redrawSoon() {
    pending = true;
    window.setTimeout(function () {
      if (pending && !pointerDown) {
        redraw();
      }
    }, 0);
  }

  document.addEventListener("pointerdown", function () { pointerDown = true; }, true);
  document.addEventListener("pointerup", function () {
    window.setTimeout(function () {
      pointerDown = false;
      if (pending) {
        redraw();
      }
    }, 0);
  }, true);

  function surveyPanel() {
    return el("fieldset", { class: "sb-survey" }, [
      el("legend", { text: "开场与结束" }),
      el("p", { class: "hint" }, ["问卷代码 ", el("code", { text: text(data.code) }), "（不可修改）"]),
      textField("开场语（intro）", data, "intro", {
        multiline: true, optional: true, wide: true,
        hint: "显示在问卷标题下方；不填时显示上方的“说明”。"
      }),
      textField("结束语（thank_you）", data, "thank_you", {
        multiline: true, optional: true, wide: true, hint: "客户提交后看到的感谢语，可不填。"
      }),
      checkField("允许匿名作答", data.anonymous_allowed === true, function (on) {
        if (on) {
          data.anonymous_allowed = true;
        } else {
          delete data.anonymous_allowed;
        }
      }, "公开链接、二维码等不知道客户身份的调查需要勾选。")
    ]);
  }

  function questionCard(q, index) {
    var isLocked = lockedQuestions.has(q);
    var own = problems.filter(function (p) { return p.question === index; });
    var type = text(q.type);
    var at = "questions[" + index + "]";
    var headingId = "sb-q-h-" + index;
    var card = el("li", {
      class: "sb-q" + (own.length ? " sb-has-error" : ""), id: "sb-q-" + index, tabindex: "-1",
      "data-index": index
    });
    var body = el("div", { role: "group", "aria-labelledby": headingId });
    card.appendChild(body);
    body.appendChild(el("div", { class: "sb-q-head" }, [
      el("h3", { class: "sb-q-title", id: headingId }, [
        "第 " + (index + 1) + " 题",
        el("span", { class: "badge", text: TYPE_NAMES[type] || type || "未选题型" }),
        el("span", { class: "muted mono small", text: text(q.id) })
      ]),
      el("div", { class: "sb-q-tools", role: "group", "aria-label": "第 " + (index + 1) + " 题的操作" }, [
        smallButton("上移", function () { move(index, -1); }, { aria: "第 " + (index + 1) + " 题上移", disabled: index === 0 }),
        smallButton("下移", function () { move(index, 1); }, { aria: "第 " + (index + 1) + " 题下移", disabled: index === questions().length - 1 }),
        smallButton("复制", function () { duplicate(index); }, { aria: "复制第 " + (index + 1) + " 题" }),
        smallButton("删除", function () { remove(index); }, { aria: "删除第 " + (index + 1) + " 题", danger: true })
      ])
    ]));
    if (own.length) {
      body.appendChild(el("ul", { class: "sb-q-errors" }, own.map(function (p, k) {
        return el("li", { class: "error", id: "sb-q-" + index + "-e" + k, text: p.message });
      })));
    }
    body.appendChild(el("div", { class: "sb-row" }, [
      textField("题目", q, "title", { key: "q" + index + ".title", wide: true, onchange: redrawSoon, path: at + ".title" })
    ]));
    body.appendChild(el("div", { class: "sb-row" }, [
      textField("提示语（可不填）", q, "help", { optional: true, wide: true, placeholder: "显示在题目下方的说明", path: at + ".help" })
    ]));
    var typeChoices = TYPES.slice();
    if (!TYPE_NAMES[type]) {
      typeChoices.unshift([type, type ? "未知题型：" + type : "请选择题型"]);
    }
    body.appendChild(el("div", { class: "sb-row" }, [
      selectField("题型", typeChoices, type, function (value) { changeType(index, value); }, {
        disabled: isLocked, key: "q" + index + ".type", path: at + ".type",
        hint: isLocked ? "已发布过的题目不能改题型（已有答卷按题目编号汇总）；需要别的题型请新增一道题。" : null
      }),
      textField("题目编号", q, "id", {
        key: "q" + index + ".id", readonly: isLocked, maxlength: 40, path: at + ".id",
        hint: isLocked ? "已发布过，不可修改。" : "统计按它归类：小写字母开头，可含数字、_、-；发布后不要再改。",
        onfocus: function (event) { event.target.setAttribute("data-before", text(q.id)); },
        onchange: function (event) {
          var before = event.target.getAttribute("data-before");
          var twin = questions().indexOf(questions().filter(function (other) {
            return other !== q && other.id === q.id;
          })[0]);
          if (twin !== -1) {
            say("题目编号“" + text(q.id) + "”已被第 " + (twin + 1) + " 题使用，请换一个（引用原编号的显示条件未改）。", true);
          } else {
            rename("question", before, before, text(q.id), index, "这道题");
            event.target.setAttribute("data-before", text(q.id));
          }
          redrawSoon();
        }
      }),
      el("div", { class: "sb-checks" }, [
        checkField("必答", q.required !== false, function (on) {
          if (on) {
            delete q.required;
          } else {
            q.required = false;
          }
        }, null, at + ".required"),
        METRICS[type] ? checkField("作为关键指标：" + METRICS[type][1], q.metric === METRICS[type][0], function (on) {
          if (on) {
            q.metric = METRICS[type][0];
          } else {
            delete q.metric;
          }
        }, "看板按它统计；每种指标每份问卷只能有一道。", at + ".metric") : null
      ])
    ]));
    if (type === "single" || type === "multiple") {
      body.appendChild(rowsEditor(q, index, OPTION_ROWS));
    }
    if (type === "multiple") {
      body.appendChild(el("div", { class: "sb-row sb-bounds" }, [
        numberField("最少选几项", q, "min_select", { min: 1, placeholder: "不限", path: at + ".min_select" }),
        numberField("最多选几项", q, "max_select", { min: 1, placeholder: "不限", path: at + ".max_select" })
      ]));
    }
    if (type === "matrix") {
      body.appendChild(el("div", { class: "sb-sub" }, [
        selectField("量表（每一项都用它打分）", [["rating", "满意度 1–5 分"], ["nps", "推荐度 0–10 分"], ["ces", "省力度 1–7 分"]],
          q.scale || "rating", function (value) {
            if (value === "rating") { delete q.scale; } else { q.scale = value; }
            redraw();
          }, { disabled: isLocked, narrow: true, path: at + ".scale", hint: isLocked ? "已发布过的矩阵题不能改量表。" : null })
      ]));
      body.appendChild(rowsEditor(q, index, ITEM_ROWS));
    }
    if (type === "text") {
      body.appendChild(el("div", { class: "sb-row" }, [
        numberField("最多字数", q, "max_length", { min: 1, max: 20000, placeholder: "500", hint: "不填为 500 字", path: at + ".max_length" })
      ]));
    }
    body.appendChild(conditionEditor(q, index));
    markInvalid(card, own, index);
    return card;
  }

  // The fields a listed fault is about, marked (red, aria-invalid, described by the fault): the
  // field of the fault's path, else the nearest one above it (the options table for an option).
  function markInvalid(card, own, index) {
    own.forEach(function (p, k) {
      var path = text(p.path);
      var found = null;
      while (path && !found) {
        found = card.querySelector("[data-path='" + path.replace(/'/g, "") + "']");
        path = path.replace(/(\.[^.[\]]+|\[\d+\])$/, "");
      }
      if (found && found.getAttribute("aria-invalid") !== "true") {
        found.setAttribute("aria-invalid", "true");
        found.classList.add("sb-invalid");
        var described = found.getAttribute("aria-describedby");
        found.setAttribute("aria-describedby", (described ? described + " " : "") + "sb-q-" + index + "-e" + k);
      }
    });
  }

  // The two lists of rows a question may have: choice options, and matrix items.
  var OPTION_ROWS = {
    key: "options", code: "value", prefix: "opt", tag: "o", noun: "选项", caption: "选项（至少 2 个）",
    codeName: "选项值", add: "添加选项",
    hint: "选项值是报表和显示条件用的代码（YAML 中的 value）：小写字母、数字、_ 或 -，同一题内不可重复；发布后不要再改。"
  };
  var ITEM_ROWS = {
    key: "items", code: "id", prefix: "item", tag: "i", noun: "评价项", caption: "评价项",
    codeName: "代码", add: "添加评价项", hint: null
  };

  function rowsEditor(q, index, kind) {
    if (!Array.isArray(q[kind.key])) {
      q[kind.key] = [];
    }
    var list = q[kind.key];
    var multiple = q.type === "multiple";
    var choice = kind === OPTION_ROWS;
    var at = "questions[" + index + "]." + kind.key;
    var rowKey = function (i) { return "q" + index + "." + kind.tag + i; };
    var rows = list.map(function (row, i) {
      var n = i + 1;
      var flag = function (name, label) {
        return el("td", { class: "sb-center" }, [el("input", {
          type: "checkbox", checked: row[name] === true, "aria-label": kind.noun + " " + n + label,
          onchange: function (event) {
            if (event.target.checked) { row[name] = true; } else { delete row[name]; }
          }
        })]);
      };
      return el("tr", {}, [
        el("td", {}, [el("input", {
          type: "text", value: text(row.label), "aria-label": kind.noun + " " + n + " 的文字",
          "data-key": rowKey(i), "data-path": at + "[" + i + "].label",
          oninput: function (event) { row.label = event.target.value; },
          onchange: redrawSoon
        })]),
        el("td", {}, [el("input", {
          type: "text", class: "mono", value: text(row[kind.code]), "aria-label": kind.noun + " " + n + " 的" + kind.codeName,
          "data-path": at + "[" + i + "]." + kind.code, readonly: lockedRows.has(row),
          "aria-describedby": lockedRows.has(row) ? at + "-kept" : null,
          onfocus: function (event) { event.target.setAttribute("data-before", text(row[kind.code])); },
          oninput: function (event) { row[kind.code] = event.target.value; },
          onchange: function (event) {
            var before = event.target.getAttribute("data-before");
            var twin = list.some(function (other) { return other !== row && other[kind.code] === row[kind.code]; });
            if (twin) {
              say("第 " + (index + 1) + " 题的" + kind.codeName + "“" + text(row[kind.code]) + "”已被另一" +
                (choice ? "个选项" : "项") + "使用，请换一个（显示条件未改）。", true);
            } else {
              rename(choice ? "value" : "item", q.id, before, text(row[kind.code]), index, "这个" + kind.noun);
              event.target.setAttribute("data-before", text(row[kind.code]));
            }
            redrawSoon();
          }
        })]),
        choice ? flag("other", " 需客户写明（其他）") : null,
        choice && multiple ? flag("exclusive", " 与其他选项互斥") : null,
        choice ? flag("follow_up", " 选中即安排回访") : null,
        choice ? flag("no_call", " 选中即不回访") : null,
        el("td", { class: "sb-row-tools" }, [
          smallButton("↑", function () { shift(list, i, -1, rowKey, kind, n); }, { aria: kind.noun + " " + n + " 上移", disabled: i === 0, key: rowKey(i) + ".up" }),
          smallButton("↓", function () { shift(list, i, 1, rowKey, kind, n); }, { aria: kind.noun + " " + n + " 下移", disabled: i === list.length - 1, key: rowKey(i) + ".down" }),
          smallButton("删除", function () { dropRow(q, index, list, i, kind); }, { aria: "删除" + kind.noun + " " + n, danger: true })
        ])
      ]);
    });
    return el("div", { class: "sb-sub" }, [
      el("table", { class: "sb-table", "data-path": at }, [
        el("caption", { text: kind.caption }),
        el("thead", {}, [el("tr", {}, [
          el("th", { scope: "col", text: "客户看到的文字" }),
          el("th", { scope: "col", text: kind.codeName }),
          choice ? el("th", { scope: "col", text: "需写明（其他）" }) : null,
          choice && multiple ? el("th", { scope: "col", text: "互斥（不能与其他项同选）" }) : null,
          choice ? el("th", { scope: "col", text: "选中即安排回访", title: "客户选了这一项即表示反映了问题（如搭售、未解决）：不论评分高低，都生成回访任务，48 小时内回访" }) : null,
          choice ? el("th", { scope: "col", text: "选中即不回访", title: "客户选了这一项即表示不同意再被电话联系：不论评分和反映的问题，都不生成回访任务" }) : null,
          el("th", { scope: "col" }, [el("span", { class: "visually-hidden", text: "操作" })])
        ])]),
        el("tbody", {}, rows)
      ]),
      list.some(function (row) { return lockedRows.has(row); }) ? el("p", {
        class: "hint", id: at + "-kept",
        text: "灰色的" + kind.codeName + "已发布过，已有答卷按它汇总，不可修改；文字可以改，不再提供的" + kind.noun + "可以删除。"
      }) : null,
      kind.hint ? el("p", { class: "hint", text: kind.hint }) : null,
      smallButton(kind.add, function () {
        var row = { label: "" };
        row[kind.code] = freshCode(list, kind.code, kind.prefix);
        list.push(row);
        render(rowKey(list.length - 1));
      }, { key: "q" + index + "." + kind.tag + ".add" })
    ]);
  }

  // A row moved one place; the focus goes with it (to its button in its new place), so that
  // pressing the button again moves it further.
  function shift(list, i, step, rowKey, kind, n) {
    var to = i + step;
    swap(list, i, to);
    var same = rowKey(to) + (step < 0 ? ".up" : ".down");
    var other = rowKey(to) + (step < 0 ? ".down" : ".up");
    render();
    var button = root.querySelector("[data-key='" + same + "']");
    if (!button || button.disabled) {
      button = root.querySelector("[data-key='" + other + "']");
    }
    if (button) {
      button.focus();
    }
    say(kind.noun + " " + n + " 已移到第 " + (to + 1) + " 位。");
  }

  function dropRow(q, index, list, i, kind) {
    var row = list[i];
    var users = conditionUsers(index, q.id, function (leaf) {
      var value = kind === OPTION_ROWS ? leaf.value : leaf.item;
      return value === row[kind.code] || (Array.isArray(value) && value.indexOf(row[kind.code]) !== -1);
    });
    if (users.length && !window.confirm(
      "第 " + users.join("、") + " 题的显示条件用到了" + kind.noun + "“" + text(row.label || row[kind.code]) +
      "”，删除后需要修改那些条件。\n\n仍然删除吗？")) {
      return;
    }
    list.splice(i, 1);
    var next = Math.min(i, list.length - 1);
    render(next >= 0 ? "q" + index + "." + kind.tag + next : "q" + index + "." + kind.tag + ".add");
    say("已删除" + kind.noun + " " + (i + 1) + "；保存后生效。");
  }

  // A code for a new option or matrix item (opt4, item3, …) that the list does not use yet.
  function freshCode(rows, key, prefix) {
    var taken = {};
    rows.forEach(function (row) { taken[row[key]] = true; });
    var n = rows.length + 1;
    while (taken[prefix + n]) {
      n += 1;
    }
    return prefix + n;
  }

  // -- display conditions (show_if) ----------------------------------------------------------

  function isLeaf(node) {
    return node && typeof node === "object" && !Array.isArray(node) && !("all" in node) && !("any" in node);
  }

  // {mode, rows} for a condition the form can show (one condition, or one all/any group of
  // them); null for deeper nesting, which only the YAML view edits.
  function flatten(showIf) {
    if (showIf === undefined) {
      return { mode: "all", rows: [] };
    }
    if (isLeaf(showIf)) {
      return { mode: "all", rows: [showIf] };
    }
    var groupMode = "all" in showIf ? "all" : "any";
    var children = showIf[groupMode];
    if (Object.keys(showIf).length === 1 && Array.isArray(children) && children.every(isLeaf)) {
      return { mode: groupMode, rows: children };
    }
    return null;
  }

  function store(q, flat) {
    if (!flat.rows.length) {
      delete q.show_if;
    } else if (flat.rows.length === 1) {
      q.show_if = flat.rows[0];
    } else {
      var group = {};
      group[flat.mode] = flat.rows;
      q.show_if = group;
    }
  }

  function targetKind(target, leaf) {
    if (!target) {
      return "unknown";
    }
    if (target.type === "matrix") {
      return leaf.item ? (target.scale || "rating") : "answer-only";
    }
    if (target.type === "text") {
      return "answer-only";
    }
    return target.type;
  }

  function opChoices(kind) {
    var answered = [["answered", "已作答"], ["unanswered", "未作答"]];
    if (SCALES[kind]) {
      return [["lte", "小于等于"], ["lt", "小于"], ["gte", "大于等于"], ["gt", "大于"], ["eq", "等于"],
        ["ne", "不等于"], ["in", "是其中之一"], ["not_in", "不是其中任何一个"]].concat(answered);
    }
    if (kind === "single") {
      return [["eq", "选了"], ["ne", "没选"], ["in", "选了其中之一"], ["not_in", "没选其中任何一个"]].concat(answered);
    }
    if (kind === "multiple") {
      return [["eq", "选了"], ["ne", "没选"], ["in", "选了其中任一"], ["not_in", "其中都没选"]].concat(answered);
    }
    return answered;
  }

  function leafOp(leaf) {
    return leaf.op === "answered" && leaf.value === false ? "unanswered" : text(leaf.op);
  }

  function valueChoices(target, kind) {
    if (SCALES[kind]) {
      var range = SCALES[kind];
      var out = [];
      for (var v = range[0]; v <= range[1]; v += 1) {
        var word = SCALE_WORDS[kind][v];
        out.push([v, word ? v + " 分（" + word + "）" : v + " 分"]);
      }
      return out;
    }
    return (target.options || []).map(function (o) { return [o.value, text(o.label) || text(o.value)]; });
  }

  function defaultLeaf(target) {
    var leaf = { question: target.id };
    if (target.type === "matrix" && target.items && target.items.length) {
      leaf.item = target.items[0].id;
    }
    var kind = targetKind(target, leaf);
    if (SCALES[kind]) {
      leaf.op = "lte";
      leaf.value = SCALES[kind][0] + Math.floor((SCALES[kind][1] - SCALES[kind][0]) / 2);
    } else if ((kind === "single" || kind === "multiple") && target.options && target.options.length) {
      leaf.op = "eq";
      leaf.value = target.options[0].value;
    } else {
      leaf.op = "answered";
    }
    return leaf;
  }

  function setOp(leaf, op, target, kind) {
    var single = leaf.value;
    if (Array.isArray(single)) {
      single = single[0];
    }
    delete leaf.value;
    if (op === "answered") {
      leaf.op = "answered";
    } else if (op === "unanswered") {
      leaf.op = "answered";
      leaf.value = false;
    } else {
      leaf.op = op;
      var choices = valueChoices(target, kind);
      var fallback = choices.length ? choices[0][0] : null;
      var first = single !== undefined && single !== null && single !== true && single !== false ? single : fallback;
      if (op === "in" || op === "not_in") {
        leaf.value = first === null ? [] : [first];
      } else if (first !== null) {
        leaf.value = first;
      }
    }
  }

  function conditionRow(q, index, flat, leaf, r, earlier) {
    var byId = {};
    earlier.forEach(function (e) { byId[e.q.id] = e; });
    var found = byId[leaf.question];
    var target = found ? found.q : null;
    var kind = targetKind(target, leaf);
    var rowKey = "q" + index + ".c" + r;
    var parts = [];
    var qChoices = earlier.map(function (e) { return [e.q.id, questionLabel(e.q, e.index)]; });
    if (!found) {
      var where = questions().map(function (x) { return x.id; }).indexOf(leaf.question);
      qChoices.unshift([text(leaf.question), where === -1
        ? "（题目 " + text(leaf.question) + " 已不存在）"
        : "（第 " + (where + 1) + " 题 " + text(leaf.question) + "：不在本题之前，请调整顺序或改选）"]);
    }
    parts.push(selectField("条件 " + (r + 1) + " 引用的题目", qChoices, leaf.question, function (value) {
      if (!byId[value]) {
        return;
      }
      flat.rows[r] = defaultLeaf(byId[value].q);
      store(q, flat);
      render(rowKey + ".q");
    }, { bare: true, key: rowKey + ".q" }));
    if (target && target.type === "matrix") {
      var items = (target.items || []).map(function (it) { return [it.id, text(it.label) || it.id]; });
      if (leaf.op === "answered") {
        items.unshift(["", "（任一评价项）"]);
      }
      parts.push(selectField("条件 " + (r + 1) + " 的评价项", items, leaf.item || "", function (value) {
        if (value) { leaf.item = value; } else { delete leaf.item; }
        var newKind = targetKind(target, leaf);
        if (!opChoices(newKind).some(function (c) { return c[0] === leafOp(leaf); })) {
          setOp(leaf, "answered", target, newKind);
        } else if (leaf.op !== "answered") {
          setOp(leaf, leafOp(leaf), target, newKind);
        }
        store(q, flat);
        redraw();
      }, { bare: true }));
    }
    var ops = opChoices(kind);
    var current = leafOp(leaf);
    if (!ops.some(function (c) { return c[0] === current; })) {
      ops = [[current, current ? "（" + (OP_WORDS[current] || current) + "：不适用于所选题目）" : "请选择"]].concat(ops);
    }
    parts.push(selectField("条件 " + (r + 1) + " 的比较方式", ops, current, function (value) {
      setOp(leaf, value, target, kind);
      store(q, flat);
      render(rowKey + ".op");
    }, { bare: true, key: rowKey + ".op" }));
    if (target && leaf.op !== "answered") {
      var values = valueChoices(target, kind);
      if (leaf.op === "in" || leaf.op === "not_in") {
        var chosen = Array.isArray(leaf.value) ? leaf.value : [];
        chosen.forEach(function (v) { // (a value no longer among the choices: shown, to untick)
          if (!values.some(function (c) { return String(c[0]) === String(v); })) {
            values = values.concat([[v, "（已删除：" + text(v) + "）"]]);
          }
        });
        parts.push(el("span", { class: "sb-multi", role: "group", "aria-label": "条件 " + (r + 1) + " 的取值" },
          values.map(function (c) {
            var id = nextId("cv");
            return el("span", { class: "sb-check" }, [
              el("input", {
                id: id, type: "checkbox", checked: chosen.some(function (v) { return String(v) === String(c[0]); }),
                onchange: function (event) {
                  var next = values.map(function (x) { return x[0]; }).filter(function (v) {
                    var was = chosen.some(function (w) { return String(w) === String(v); });
                    return String(v) === String(c[0]) ? event.target.checked : was;
                  });
                  leaf.value = next;
                  chosen = next;
                  store(q, flat);
                }
              }),
              el("label", { for: id, text: c[1] })
            ]);
          })));
      } else {
        var choices = values.slice();
        if (!choices.some(function (c) { return String(c[0]) === String(leaf.value); })) {
          choices.unshift([text(leaf.value), leaf.value === undefined ? "请选择" : "（无此取值：" + text(leaf.value) + "）"]);
        }
        parts.push(selectField("条件 " + (r + 1) + " 的取值", choices, text(leaf.value), function (value) {
          var numeric = SCALES[kind] && /^-?\d+$/.test(value);
          leaf.value = numeric ? parseInt(value, 10) : value;
          store(q, flat);
        }, { bare: true }));
      }
    }
    if (!target && leaf.op !== "answered") {
      parts.push(el("span", { class: "sb-was", text: "原条件：" + (OP_WORDS[current] || current) + " " +
        (Array.isArray(leaf.value) ? leaf.value.join("、") : text(leaf.value)) }));
    }
    parts.push(smallButton("删除条件", function () {
      flat.rows.splice(r, 1);
      store(q, flat);
      render(flat.rows.length ? "q" + index + ".c" + Math.min(r, flat.rows.length - 1) + ".q" : "q" + index + ".cadd");
    }, { aria: "删除条件 " + (r + 1), danger: true }));
    return el("li", { class: "sb-cond" }, parts);
  }

  // A condition in words: 第 2 题 小于等于 3，且（第 5 题 已作答 或 第 6 题 选了 A）.
  function describe(node) {
    if (!node || typeof node !== "object") {
      return text(node);
    }
    var groupMode = Array.isArray(node.all) ? "all" : (Array.isArray(node.any) ? "any" : null);
    if (groupMode) {
      return "（" + node[groupMode].map(describe).join(groupMode === "all" ? " 且 " : " 或 ") + "）";
    }
    var where = questions().map(function (x) { return x.id; }).indexOf(node.question);
    var target = where === -1 ? null : questions()[where];
    var who = where === -1 ? "题目 " + text(node.question) : "第 " + (where + 1) + " 题";
    if (node.item) {
      var item = target && (target.items || []).filter(function (it) { return it.id === node.item; })[0];
      who += "“" + (item ? text(item.label) : text(node.item)) + "”";
    }
    var op = node.op === "answered" && node.value === false ? "unanswered" : text(node.op);
    var labelOf = function (v) {
      var option = target && (target.options || []).filter(function (o) { return o.value === v; })[0];
      return option ? text(option.label) : text(v);
    };
    var value = op === "answered" || op === "unanswered" ? ""
      : " " + (Array.isArray(node.value) ? node.value.map(labelOf).join("、") : labelOf(node.value));
    return who + " " + (OP_WORDS[op] || op) + value;
  }

  function conditionEditor(q, index) {
    var earlier = questions().slice(0, index).map(function (e, i) { return { q: e, index: i }; })
      .filter(function (e) { return e.q.id; });
    var section = el("div", { class: "sb-sub sb-conditions" }, [el("h4", { text: "显示条件（跳题）" })]);
    var flat = flatten(q.show_if);
    if (flat === null) {
      section.appendChild(el("p", { class: "hint", text: "这道题的条件有多层“全部/任一”嵌套，表单无法逐项修改，请在“YAML 源码”中修改。当前条件：" }));
      section.appendChild(el("p", { class: "sb-raw", text: describe(q.show_if) }));
      section.appendChild(smallButton("清除条件（始终显示）", function () { delete q.show_if; redraw(); }, { danger: true }));
      return section;
    }
    if (!flat.rows.length) {
      section.appendChild(el("p", { class: "hint", text: earlier.length
        ? "始终显示。需要时可以只在前面某道题满足条件时才显示本题。"
        : "始终显示（显示条件只能引用前面的题目，第 1 题没有）。" }));
    } else {
      if (flat.rows.length > 1) {
        section.appendChild(el("p", { class: "sb-cond-mode" }, [
          "满足以下",
          selectField("多个条件的组合方式", [["all", "全部条件"], ["any", "任一条件"]], flat.mode, function (value) {
            flat.mode = value;
            store(q, flat);
          }, { bare: true }),
          "时才显示本题："
        ]));
      } else {
        section.appendChild(el("p", { class: "sb-cond-mode", text: "满足以下条件时才显示本题：" }));
      }
      section.appendChild(el("ol", { class: "sb-cond-list" }, flat.rows.map(function (leaf, r) {
        return conditionRow(q, index, flat, leaf, r, earlier);
      })));
    }
    if (earlier.length) {
      section.appendChild(smallButton(flat.rows.length ? "再加一个条件" : "添加显示条件", function () {
        flat.rows.push(defaultLeaf(earlier[earlier.length - 1].q));
        store(q, flat);
        render("q" + index + ".c" + (flat.rows.length - 1) + ".q");
      }, { key: "q" + index + ".cadd" }));
    }
    return section;
  }

  // -- question list changes -----------------------------------------------------------------

  function addBar() {
    return el("div", { class: "sb-add" }, [
      el("div", { class: "sb-add-buttons", role: "group", "aria-label": "添加题目" }, [
        el("span", { class: "sb-add-label", text: "添加题目：" })
      ].concat((config.templates || []).map(function (t) {
        return el("button", {
          type: "button", class: "button", text: t.label, title: t.hint,
          onclick: function () { add(t); }
        });
      })).concat([undoButtons()])),
      note // (the same element each time: what it says stays)
    ]);
  }

  function add(template) {
    var q = copy(template.question);
    q.id = freshId(q.id);
    questions().push(q);
    var index = questions().length - 1;
    render("q" + index + ".title");
    var card = document.getElementById("sb-q-" + index);
    if (card) {
      card.scrollIntoView({ block: "center" });
      var title = card.querySelector("[data-key='q" + index + ".title']");
      if (title) {
        title.select();
      }
    }
    say("已添加第 " + (index + 1) + " 题（" + template.label + "，题目编号 " + q.id + "）：示例文字已选中，可直接输入；保存后生效。");
  }

  function swap(list, i, j) {
    if (j < 0 || j >= list.length) {
      return;
    }
    var held = list[i];
    list[i] = list[j];
    list[j] = held;
  }

  // A renamed question id, option code or matrix item code is renamed in the display
  // conditions of the questions after it too, so the conditions keep meaning what they meant.
  function leavesAfter(index, questionId, visit) {
    var renamed = 0;
    function walk(node) {
      if (!node || typeof node !== "object") {
        return;
      }
      if (Array.isArray(node.all) || Array.isArray(node.any)) {
        (node.all || node.any).forEach(walk);
      } else if (node.question === questionId && visit(node)) {
        renamed += 1;
      }
    }
    questions().slice(index + 1).forEach(function (q) { walk(q.show_if); });
    return renamed;
  }

  function told(count, what) {
    if (count) {
      say("已同步修改后面题目中引用" + what + "的 " + count + " 个显示条件。");
    }
  }

  // ``key`` of the conditions on question ``questionId`` renamed from ``before`` to ``after``:
  // "question" (the question's own id), "value" (an option's code, in a list too) or "item".
  function rename(key, questionId, before, after, index, what) {
    if (!before || before === after) {
      return;
    }
    told(leavesAfter(index, questionId, function (leaf) {
      if (leaf[key] === before) {
        leaf[key] = after;
        return true;
      }
      if (key === "value" && Array.isArray(leaf.value) && leaf.value.indexOf(before) !== -1) {
        leaf.value = leaf.value.map(function (v) { return v === before ? after : v; });
        return true;
      }
      return false;
    }), what);
  }

  // The numbers (1-based) of the questions after ``index`` whose conditions on ``questionId``
  // have a leaf for which ``test`` holds.
  function conditionUsers(index, questionId, test) {
    var found = [];
    questions().forEach(function (q, i) {
      var hit = false;
      function walk(node) {
        if (!node || typeof node !== "object") {
          return;
        }
        if (Array.isArray(node.all) || Array.isArray(node.any)) {
          (node.all || node.any).forEach(walk);
        } else if (node.question === questionId && (!test || test(node))) {
          hit = true;
        }
      }
      if (i > index) {
        walk(q.show_if);
      }
      if (hit) {
        found.push(i + 1);
      }
    });
    return found;
  }

  // Conditions that name a question not before theirs (after a move, say): "第 4 题引用第 5 题".
  function misplaced() {
    var list = questions();
    var found = [];
    list.forEach(function (q, i) {
      var earlier = {};
      list.slice(0, i).forEach(function (e) { earlier[e.id] = true; });
      var names = {};
      (function walk(node) {
        if (!node || typeof node !== "object") {
          return;
        }
        if (Array.isArray(node.all) || Array.isArray(node.any)) {
          (node.all || node.any).forEach(walk);
        } else if (!earlier[node.question]) {
          var at = list.map(function (x) { return x.id; }).indexOf(node.question);
          names[at === -1 ? "已不存在的题目 " + text(node.question) : "第 " + (at + 1) + " 题"] = true;
        }
      }(q.show_if));
      if (Object.keys(names).length) {
        found.push("第 " + (i + 1) + " 题的显示条件引用了" + Object.keys(names).join("、"));
      }
    });
    return found;
  }

  function move(index, step) {
    var other = index + step;
    var list = questions();
    if (other < 0 || other >= list.length) {
      return;
    }
    swap(list, index, other);
    problems = [];
    render();
    var button = root.querySelector("#sb-q-" + other + " .sb-q-tools button:nth-child(" + (step < 0 ? 1 : 2) + ")");
    if (button && !button.disabled) {
      button.focus();
    } else {
      document.getElementById("sb-q-" + other).focus();
    }
    var wrong = misplaced();
    say("第 " + (index + 1) + " 题已移到第 " + (other + 1) + " 题" + (wrong.length
      ? "。注意：" + wrong.join("；") + "，条件只能引用前面的题目，请调整顺序或修改条件。" : "。"), wrong.length > 0);
  }

  function duplicate(index) {
    var q = copy(questions()[index]);
    q.id = freshId(q.id);
    delete q.metric; // each key metric once per survey
    questions().splice(index + 1, 0, q);
    problems = [];
    render("q" + (index + 1) + ".title");
    say("已复制为第 " + (index + 2) + " 题（题目编号 " + q.id + "）。");
  }

  function remove(index) {
    var q = questions()[index];
    var users = conditionUsers(index, q.id);
    var message = "删除第 " + (index + 1) + " 题“" + text(q.title) + "”吗？";
    if (users.length) {
      message += "\n\n第 " + users.join("、") + " 题的显示条件引用了这道题，删除后需要修改那些条件。";
    }
    if (lockedQuestions.has(q)) {
      message += "\n\n这道题在已发布的版本中，已有答卷不受影响；新版本不再有这道题。";
    }
    if (!window.confirm(message)) {
      return;
    }
    questions().splice(index, 1);
    problems = [];
    render();
    var next = document.getElementById("sb-q-" + Math.min(index, questions().length - 1));
    (next || root.querySelector(".sb-add button")).focus();
    say("已删除第 " + (index + 1) + " 题；保存后生效。");
  }

  function changeType(index, type) {
    var q = questions()[index];
    var was = q.type;
    var stash = stashes.get(q) || {};
    stashes.set(q, stash);
    var own = {};
    TYPE_KEYS.concat(["metric"]).forEach(function (key) {
      if (key in q) {
        own[key] = copy(q[key]);
        delete q[key];
      }
    });
    stash[was] = own;
    q.type = type;
    var choice = function (t) { return t === "single" || t === "multiple"; };
    var template = (config.templates || []).filter(function (t) { return t.question.type === type; })[0];
    var back = stash[type];
    var words;
    if (back) {
      Object.keys(back).forEach(function (key) { q[key] = copy(back[key]); });
      words = "，原来的设置已恢复。";
    } else if (choice(was) && choice(type)) {
      q.options = (own.options || []).map(function (o) {
        if (type === "single") { delete o.exclusive; }
        return o;
      });
      words = "。";
    } else {
      if (template) {
        TYPE_KEYS.forEach(function (key) {
          if (key in template.question) {
            q[key] = copy(template.question[key]);
          }
        });
      }
      words = template && (template.question.options || template.question.items) ? "，已填入示例，请修改。" : "。";
    }
    if ((own.options || own.items) && !(q.options || q.items)) {
      words += "原来的" + (own.options ? "选项" : "评价项") + "已暂存，改回" + (TYPE_NAMES[was] || was) + "即可恢复。";
    }
    var users = conditionUsers(index, q.id);
    if (users.length) {
      words += "注意：第 " + users.join("、") + " 题的显示条件引用了这道题，请检查。";
    }
    render("q" + index + ".type");
    say("第 " + (index + 1) + " 题已改为" + (TYPE_NAMES[type] || type) + words, users.length > 0);
  }

  // -- switching views, saving ---------------------------------------------------------------

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          throw new Error((json.error && json.error.message) || "服务器未能处理（" + response.status + "），请稍后重试");
        }
        return json;
      });
    });
  }

  function show(next) {
    mode = next;
    var inForm = next === "form";
    root.hidden = !inForm;
    yamlPanel.hidden = inForm;
    tabForm.setAttribute("aria-selected", String(inForm));
    tabYaml.setAttribute("aria-selected", String(!inForm));
    tabForm.tabIndex = inForm ? 0 : -1;
    tabYaml.tabIndex = inForm ? -1 : 0;
    form.classList.toggle("sb-mode-form", inForm);
    form.classList.toggle("sb-mode-yaml", !inForm);
    try {
      window.localStorage.setItem(MODE_KEY, next);
    } catch (ignored) { /* private windows */ }
  }

  function toForm() {
    if (mode === "form") {
      return Promise.resolve();
    }
    if (data && box.value === syncedText) {
      show("form");
      return Promise.resolve();
    }
    say("正在读取 YAML…");
    return post("/definition/data", { text: box.value }).then(function (json) {
      data = json.data;
      forget(); // (the YAML was edited: the form's steps were of another draft)
      lockPublished();
      syncedJson = canonical(data);
      syncedText = box.value;
      if (box.value !== shownText) {
        problems = []; // (their question numbers were of another text)
      }
      render();
      show("form");
      say("");
    }, function (error) {
      say("无法切换到表单编辑：" + error.message);
      tabYaml.focus();
    });
  }

  function toYaml() {
    if (mode === "yaml") {
      return Promise.resolve();
    }
    if (!data || canonical(data) === syncedJson) {
      show("yaml");
      return Promise.resolve();
    }
    say("正在生成 YAML…");
    return post("/definition/text", data).then(function (json) {
      box.value = json.text;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      syncedJson = canonical(data);
      syncedText = box.value;
      show("yaml");
      say("YAML 已按表单内容重新生成（原有的 # 注释不再保留）。");
    }, function (error) {
      say("无法切换到 YAML：" + error.message);
      tabForm.focus();
    });
  }

  tabForm.addEventListener("click", toForm);
  tabYaml.addEventListener("click", toYaml);
  tabs.querySelector("[role=tablist]").addEventListener("keydown", function (event) {
    if (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End") {
      event.preventDefault();
      var target = (event.key === "ArrowLeft" || event.key === "Home") ? tabForm : tabYaml;
      (target === tabForm ? toForm() : toYaml()).then(function () { target.focus(); });
    }
  });

  // The form's data is sent only when the form changed something: else the YAML text is saved
  // as it is, comments included.
  form.addEventListener("submit", function (event) {
    var changed = mode === "form" && data && canonical(data) !== syncedJson;
    hidden.value = changed ? JSON.stringify(data) : "";
    if (event.submitter && event.submitter.id === "preview-unsaved") {
      return; // (a preview in a new window: this page is not reloaded)
    }
    try {
      window.sessionStorage.setItem(SCROLL_KEY, JSON.stringify([base, window.scrollY]));
    } catch (ignored) { /* private windows */ }
  });

  // Enter in a field of the form does not submit the whole draft (it ends the field's edit).
  root.addEventListener("keydown", function (event) {
    var field = event.target;
    if (event.key === "Enter" && field.tagName === "INPUT" && field.type !== "checkbox") {
      event.preventDefault();
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-goto-question]");
    if (!button) {
      return;
    }
    toForm().then(function () {
      var card = document.getElementById("sb-q-" + button.getAttribute("data-goto-question"));
      if (card) {
        card.scrollIntoView({ block: "start" });
        (card.querySelector("[aria-invalid=true]:not(table)") || card.querySelector("input, select") || card).focus();
      }
    });
  });

  // -- start ---------------------------------------------------------------------------------

  tabs.hidden = false;
  yamlPanel.setAttribute("role", "tabpanel");
  yamlPanel.setAttribute("aria-labelledby", "sb-tab-yaml");
  Array.prototype.forEach.call(form.querySelectorAll("[data-goto-question]"), function (b) {
    b.hidden = false;
  });
  var preferred = config.mode;
  if (!preferred) {
    try {
      preferred = window.localStorage.getItem(MODE_KEY);
    } catch (ignored) { /* private windows */ }
  }
  if (data) {
    render();
  }
  // After a save the page opens where it was left, not at the top.
  try {
    var kept = JSON.parse(window.sessionStorage.getItem(SCROLL_KEY) || "null");
    window.sessionStorage.removeItem(SCROLL_KEY);
    if (kept && kept[0] === base && !form.hasAttribute("data-unsaved")) {
      window.addEventListener("load", function () { window.scrollTo(0, kept[1]); });
    }
  } catch (ignored) { /* private windows */ }
  if (preferred === "yaml" || !data) {
    show("yaml");
    if (!data) {
      say("当前 YAML 无法用表单显示（格式有误或结构不同），请先在 YAML 中修改；修好后可切换到表单编辑。");
    }
  } else {
    show("form");
  }
}());
