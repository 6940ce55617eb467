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

  var TYPES = [
    ["single", "单选题"], ["multiple", "多选题"], ["rating", "满意度评分（1–5 分）"],
    ["nps", "推荐度（0–10 分）"], ["ces", "省力度（1–7 分）"], ["matrix", "矩阵题（多项评分）"],
    ["text", "文本题"]
  ];
  var TYPE_NAMES = {};
  TYPES.forEach(function (t) { TYPE_NAMES[t[0]] = t[1]; });
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
  var problems = config.problems || [];
  var mode = null;
  var syncedJson = data ? JSON.stringify(data) : null; // the form's data as the YAML box has it
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

  function say(message) {
    status.textContent = message || "";
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
      "data-key": opts.key, maxlength: opts.maxlength,
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
        id: id, type: "number", inputmode: "numeric", min: opts.min, max: opts.max,
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

  function checkField(label, checked, onchange, hint) {
    var id = nextId("c");
    return el("div", { class: "sb-check" }, [
      el("input", {
        id: id, type: "checkbox", checked: !!checked, "aria-describedby": hint ? id + "-hint" : null,
        onchange: function (event) { onchange(event.target.checked); }
      }),
      el("label", { for: id, text: label }),
      hint ? el("span", { class: "hint", id: id + "-hint", text: hint }) : null
    ]);
  }

  function selectField(label, choices, current, onchange, opts) {
    opts = opts || {};
    var id = nextId("s");
    var select = el("select", {
      id: id, disabled: opts.disabled, "aria-describedby": opts.hint ? id + "-hint" : null,
      "data-key": opts.key,
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
      "aria-label": opts.aria, title: opts.aria, disabled: opts.disabled,
      onclick: function () { onclick(); }
    });
  }

  // -- rendering -----------------------------------------------------------------------------

  function render(focusKey) {
    pending = false;
    uid = 0;
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
    var isLocked = !!locked[q.id];
    var own = problems.filter(function (p) { return p.question === index; });
    var type = text(q.type);
    var card = el("li", {
      class: "sb-q" + (own.length ? " sb-has-error" : ""), id: "sb-q-" + index, tabindex: "-1",
      "data-index": index
    });
    var head = el("div", { class: "sb-q-head" }, [
      el("h3", { class: "sb-q-title" }, [
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
    ]);
    card.appendChild(head);
    if (own.length) {
      card.appendChild(el("ul", { class: "sb-q-errors" }, own.map(function (p) {
        return el("li", { class: "error", text: p.message });
      })));
    }
    card.appendChild(el("div", { class: "sb-row" }, [
      textField("题目", q, "title", { key: "q" + index + ".title", wide: true, onchange: redrawSoon })
    ]));
    card.appendChild(el("div", { class: "sb-row" }, [
      textField("提示语（可不填）", q, "help", { optional: true, wide: true, placeholder: "显示在题目下方的说明" })
    ]));
    var typeChoices = TYPES.slice();
    if (!TYPE_NAMES[type]) {
      typeChoices.unshift([type, type ? "未知题型：" + type : "请选择题型"]);
    }
    card.appendChild(el("div", { class: "sb-row" }, [
      selectField("题型", typeChoices, type, function (value) { changeType(index, value); }, {
        disabled: isLocked, key: "q" + index + ".type",
        hint: isLocked ? "已发布过的题目不能改题型（已有答卷按题目编号汇总）；需要别的题型请新增一道题。" : null
      }),
      textField("题目编号", q, "id", {
        key: "q" + index + ".id", readonly: isLocked, maxlength: 40,
        hint: isLocked ? "已发布过，不可修改。" : "统计按它归类：小写字母开头，可含数字、_、-；发布后不要再改。",
        onfocus: function (event) { event.target.setAttribute("data-before", text(q.id)); },
        onchange: function (event) {
          var before = event.target.getAttribute("data-before");
          rename("question", before, before, text(q.id), index, "这道题");
          event.target.setAttribute("data-before", text(q.id));
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
        }),
        METRICS[type] ? checkField("作为关键指标：" + METRICS[type][1], q.metric === METRICS[type][0], function (on) {
          if (on) {
            q.metric = METRICS[type][0];
          } else {
            delete q.metric;
          }
        }, "看板按它统计；每种指标每份问卷只能有一道。") : null
      ])
    ]));
    if (type === "single" || type === "multiple") {
      card.appendChild(optionsEditor(q, index));
    }
    if (type === "multiple") {
      card.appendChild(el("div", { class: "sb-row" }, [
        numberField("最少选几项", q, "min_select", { min: 1, placeholder: "不限" }),
        numberField("最多选几项", q, "max_select", { min: 1, placeholder: "不限" })
      ]));
    }
    if (type === "matrix") {
      card.appendChild(matrixEditor(q, index));
    }
    if (type === "text") {
      card.appendChild(el("div", { class: "sb-row" }, [
        numberField("最多字数", q, "max_length", { min: 1, max: 5000, placeholder: "500", hint: "不填为 500 字" })
      ]));
    }
    card.appendChild(conditionEditor(q, index));
    return card;
  }

  function optionsEditor(q, index) {
    if (!Array.isArray(q.options)) {
      q.options = [];
    }
    var multiple = q.type === "multiple";
    var rows = q.options.map(function (opt, i) {
      var labelId = nextId("o");
      var valueId = nextId("v");
      var n = i + 1;
      return el("tr", {}, [
        el("td", {}, [el("input", {
          id: labelId, type: "text", value: text(opt.label), "aria-label": "选项 " + n + " 的文字",
          "data-key": "q" + index + ".o" + i,
          oninput: function (event) { opt.label = event.target.value; },
          onchange: redrawSoon
        })]),
        el("td", {}, [el("input", {
          id: valueId, type: "text", class: "mono", value: text(opt.value), "aria-label": "选项 " + n + " 的统计代码",
          onfocus: function (event) { event.target.setAttribute("data-before", text(opt.value)); },
          oninput: function (event) { opt.value = event.target.value; },
          onchange: function (event) {
            rename("value", q.id, event.target.getAttribute("data-before"), text(opt.value), index, "这个选项");
            event.target.setAttribute("data-before", text(opt.value));
            redrawSoon();
          }
        })]),
        el("td", { class: "sb-center" }, [el("input", {
          type: "checkbox", checked: opt.other === true, "aria-label": "选项 " + n + " 需客户写明（其他）",
          onchange: function (event) {
            if (event.target.checked) { opt.other = true; } else { delete opt.other; }
          }
        })]),
        multiple ? el("td", { class: "sb-center" }, [el("input", {
          type: "checkbox", checked: opt.exclusive === true, "aria-label": "选项 " + n + " 与其他选项互斥",
          onchange: function (event) {
            if (event.target.checked) { opt.exclusive = true; } else { delete opt.exclusive; }
          }
        })]) : null,
        el("td", { class: "sb-row-tools" }, [
          smallButton("↑", function () { swap(q.options, i, i - 1); redraw(); }, { aria: "选项 " + n + " 上移", disabled: i === 0 }),
          smallButton("↓", function () { swap(q.options, i, i + 1); redraw(); }, { aria: "选项 " + n + " 下移", disabled: i === q.options.length - 1 }),
          smallButton("删除", function () { q.options.splice(i, 1); redraw(); }, { aria: "删除选项 " + n, danger: true })
        ])
      ]);
    });
    return el("div", { class: "sb-sub" }, [
      el("table", { class: "sb-table" }, [
        el("caption", { text: "选项（至少 2 个）" }),
        el("thead", {}, [el("tr", {}, [
          el("th", { scope: "col", text: "客户看到的文字" }),
          el("th", { scope: "col", text: "统计代码" }),
          el("th", { scope: "col", text: "需写明（其他）" }),
          multiple ? el("th", { scope: "col", text: "互斥（不能与其他项同选）" }) : null,
          el("th", { scope: "col" }, [el("span", { class: "visually-hidden", text: "操作" })])
        ])]),
        el("tbody", {}, rows)
      ]),
      el("p", { class: "hint", text: "统计代码用于报表和显示条件：小写字母、数字、_ 或 -，同一题内不可重复；发布后不要再改。" }),
      smallButton("添加选项", function () {
        q.options.push({ value: freshCode(q.options, "value", "opt"), label: "" });
        render("q" + index + ".o" + (q.options.length - 1));
      })
    ]);
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

  function matrixEditor(q, index) {
    if (!Array.isArray(q.items)) {
      q.items = [];
    }
    var rows = q.items.map(function (item, i) {
      var n = i + 1;
      return el("tr", {}, [
        el("td", {}, [el("input", {
          type: "text", value: text(item.label), "aria-label": "评价项 " + n + " 的文字",
          "data-key": "q" + index + ".i" + i,
          oninput: function (event) { item.label = event.target.value; },
          onchange: redrawSoon
        })]),
        el("td", {}, [el("input", {
          type: "text", class: "mono", value: text(item.id), "aria-label": "评价项 " + n + " 的代码",
          onfocus: function (event) { event.target.setAttribute("data-before", text(item.id)); },
          oninput: function (event) { item.id = event.target.value; },
          onchange: function (event) {
            rename("item", q.id, event.target.getAttribute("data-before"), text(item.id), index, "这个评价项");
            event.target.setAttribute("data-before", text(item.id));
            redrawSoon();
          }
        })]),
        el("td", { class: "sb-row-tools" }, [
          smallButton("↑", function () { swap(q.items, i, i - 1); redraw(); }, { aria: "评价项 " + n + " 上移", disabled: i === 0 }),
          smallButton("↓", function () { swap(q.items, i, i + 1); redraw(); }, { aria: "评价项 " + n + " 下移", disabled: i === q.items.length - 1 }),
          smallButton("删除", function () { q.items.splice(i, 1); redraw(); }, { aria: "删除评价项 " + n, danger: true })
        ])
      ]);
    });
    return el("div", { class: "sb-sub" }, [
      selectField("量表（每一项都用它打分）", [["rating", "满意度 1–5 分"], ["nps", "推荐度 0–10 分"], ["ces", "省力度 1–7 分"]],
        q.scale || "rating", function (value) {
          if (value === "rating") { delete q.scale; } else { q.scale = value; }
          redraw();
        }, { disabled: !!locked[q.id], narrow: true, hint: locked[q.id] ? "已发布过的矩阵题不能改量表。" : null }),
      el("table", { class: "sb-table" }, [
        el("caption", { text: "评价项" }),
        el("thead", {}, [el("tr", {}, [
          el("th", { scope: "col", text: "客户看到的文字" }),
          el("th", { scope: "col", text: "代码" }),
          el("th", { scope: "col" }, [el("span", { class: "visually-hidden", text: "操作" })])
        ])]),
        el("tbody", {}, rows)
      ]),
      smallButton("添加评价项", function () {
        q.items.push({ id: freshCode(q.items, "id", "item"), label: "" });
        render("q" + index + ".i" + (q.items.length - 1));
      })
    ]);
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
      qChoices.unshift([text(leaf.question), "（题目 " + text(leaf.question) + " 不在本题之前）"]);
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
      ops = [[current, current ? "（不适用：" + current + "）" : "请选择"]].concat(ops);
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
    parts.push(smallButton("删除条件", function () {
      flat.rows.splice(r, 1);
      store(q, flat);
      redraw();
    }, { aria: "删除条件 " + (r + 1), danger: true }));
    return el("li", { class: "sb-cond" }, parts);
  }

  function conditionEditor(q, index) {
    var earlier = questions().slice(0, index).map(function (e, i) { return { q: e, index: i }; })
      .filter(function (e) { return e.q.id; });
    var section = el("div", { class: "sb-sub sb-conditions" }, [el("h4", { text: "显示条件（跳题）" })]);
    var flat = flatten(q.show_if);
    if (flat === null) {
      section.appendChild(el("p", { class: "hint", text: "这道题的条件有多层“全部/任一”嵌套，表单无法逐项显示；请在“YAML 源码”中修改。当前条件：" }));
      section.appendChild(el("pre", { class: "mono small sb-raw", text: JSON.stringify(q.show_if) }));
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
      }));
    }
    return section;
  }

  // -- question list changes -----------------------------------------------------------------

  function addBar() {
    return el("div", { class: "sb-add", role: "group", "aria-label": "添加题目" }, [
      el("span", { class: "sb-add-label", text: "添加题目：" })
    ].concat((config.templates || []).map(function (t) {
      return el("button", {
        type: "button", class: "button", text: t.label, title: t.hint,
        onclick: function () { add(t); }
      });
    })));
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

  function referrers(id, from) {
    return questions().map(function (q, i) { return { q: q, i: i }; }).filter(function (e) {
      return e.i >= from && JSON.stringify(e.q.show_if || null).indexOf("\"question\":" + JSON.stringify(id)) !== -1;
    });
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
    var moved = list[other];
    var later = referrers(moved.id, 0).filter(function (e) { return e.i < other; });
    say("第 " + (index + 1) + " 题已移到第 " + (other + 1) + " 题" +
      (later.length ? "；注意：第 " + later.map(function (e) { return e.i + 1; }).join("、") +
        " 题的显示条件引用了它，条件只能引用前面的题目，请调整。" : "。"));
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
    var users = referrers(q.id, index + 1);
    var message = "删除第 " + (index + 1) + " 题“" + text(q.title) + "”吗？";
    if (users.length) {
      message += "\n\n第 " + users.map(function (e) { return e.i + 1; }).join("、") +
        " 题的显示条件引用了这道题，删除后需要修改那些条件。";
    }
    if (locked[q.id]) {
      message += "\n\n这道题在已发布的版本中，已有答卷不受影响；新版本不再有这道题。";
    }
    if (!window.confirm(message)) {
      return;
    }
    questions().splice(index, 1);
    problems = [];
    redraw();
    say("已删除第 " + (index + 1) + " 题；保存后生效。");
  }

  function changeType(index, type) {
    var q = questions()[index];
    var was = q.type;
    var template = (config.templates || []).filter(function (t) { return t.question.type === type; })[0];
    var keep = (was === "single" || was === "multiple") && (type === "single" || type === "multiple")
      ? copy(q.options || []) : null;
    TYPE_KEYS.forEach(function (key) { delete q[key]; });
    delete q.metric;
    q.type = type;
    if (template) {
      TYPE_KEYS.forEach(function (key) {
        if (key in template.question) {
          q[key] = copy(template.question[key]);
        }
      });
    }
    if (keep) {
      q.options = keep.map(function (o) {
        if (type === "single") { delete o.exclusive; }
        return o;
      });
    }
    render("q" + index + ".type");
    say("第 " + (index + 1) + " 题已改为" + (TYPE_NAMES[type] || type) +
      (keep || !template || !template.question.options ? "。" : "，已填入示例选项，请修改。"));
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
      syncedJson = JSON.stringify(data);
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
    if (!data || JSON.stringify(data) === syncedJson) {
      show("yaml");
      return Promise.resolve();
    }
    say("正在生成 YAML…");
    return post("/definition/text", data).then(function (json) {
      box.value = json.text;
      box.dispatchEvent(new Event("input", { bubbles: true }));
      syncedJson = JSON.stringify(data);
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

  form.addEventListener("submit", function () {
    hidden.value = mode === "form" && data ? JSON.stringify(data) : "";
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
        var first = card.querySelector(".sb-q-errors") ? card.querySelector("input, select") : card;
        (first || card).focus();
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
  if (preferred === "yaml" || !data) {
    show("yaml");
    if (!data) {
      say("当前 YAML 无法用表单显示（格式有误或结构不同），请先在 YAML 中修改；修好后可切换到表单编辑。");
    }
  } else {
    show("form");
  }
}());
