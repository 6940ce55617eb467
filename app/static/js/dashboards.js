// Draws the dashboard's Plotly figures from their JSON data blocks (CSP forbids inline scripts)
// and reloads the page with the new filters in the URL when a filter changes.
(function () {
  "use strict";

  // The tooltips and messages of the mode bar buttons the dashboards keep, and plotly's date
  // and number formats, in Chinese: plotly.js ships English only, and its locale files are not
  // part of the bundle served here.
  var ZH_CN = {
    moduleType: "locale",
    name: "zh-CN",
    dictionary: {
      "Download plot as a PNG": "下载为 PNG 图片",
      "Download plot": "下载图表",
      "Zoom": "框选放大",
      "Reset axes": "重置坐标轴",
      "Autoscale": "自动缩放",
      "Zoom in": "放大",
      "Zoom out": "缩小",
      "Pan": "平移",
      "Double-click to zoom back out": "双击恢复原始比例",
      "Double-click on legend to isolate one trace": "双击图例只显示该系列",
      "Preparing image - this may take a few seconds": "正在生成图片，请稍候",
      "Image download succeeded": "图片已下载",
      "Sorry, there was a problem downloading your image!": "抱歉，图片下载失败！"
    },
    format: {
      days: ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
      shortDays: ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
      months: ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月",
        "十一月", "十二月"],
      shortMonths: ["1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月",
        "12月"],
      date: "%Y-%m-%d",
      decimal: ".",
      thousands: ","
    }
  };

  // Never anything that sends a chart to a server, whatever the page's config block says.
  var OFFLINE = { showSendToCloud: false, showEditInChartStudio: false, showLink: false,
    plotlyServerURL: "" };

  function pageConfig() {
    var block = document.getElementById("plotly-config");
    var config = block ? JSON.parse(block.textContent) : {};
    Object.keys(OFFLINE).forEach(function (key) { config[key] = OFFLINE[key]; });
    return config;
  }

  function chartConfig(config, target) {
    var own = JSON.parse(JSON.stringify(config));
    own.toImageButtonOptions = own.toImageButtonOptions || {};
    own.toImageButtonOptions.filename = target.getAttribute("aria-label") || target.id;
    // On a phone the toolbar drew over the chart's title, and zooming by toolbar is no use
    // there: no toolbar (each chart's CSV link stays).
    if (window.matchMedia && window.matchMedia("(max-width: 640px)").matches) {
      own.displayModeBar = false;
    }
    return own;
  }

  // A phone's chart is ~300 px wide, where the figure was laid out for 560 px or more: the
  // title (a question's whole text) was cut off at the edge and the legend wrapped into more
  // rows than the top margin had room for, over the title. Narrow charts get the title wrapped
  // to their width and the legend's rows counted again (as dashboards_charts.legend_rows
  // counts them), the top margin and the height grown by what that takes.
  var TITLE_CHAR = 15; // px of a CJK character in the 15 px title
  var TITLE_LINE = 20;
  var LEGEND_ROW = 30; // (a row of the wrapped legend, as drawn: plotly spaces them so)

  function characters(text) { // an entity (&lt; of a name typed with <) stays whole
    return text.match(/&(?:[a-z]+|#\d+);|[\s\S]/g) || [];
  }

  function legendRows(figure, room) {
    var names = figure.data.filter(function (trace) {
      return trace.showlegend !== false && trace.name && trace.type !== "heatmap";
    }).map(function (trace) { return characters(trace.name).length; });
    if (figure.layout.showlegend === false || names.length < 2) { return 0; }
    var rows = 1, used = 0;
    names.forEach(function (length) {
      var width = 50 + 13 * length;
      if (used && used + width > room) { rows += 1; used = 0; }
      used += width;
    });
    return rows;
  }

  function fitNarrow(figure, width) {
    var layout = figure.layout;
    if (!width || width >= 560 || !layout.margin) { return; }
    var top = 50;
    var title = layout.title && layout.title.text;
    if (title && title.indexOf("<br>") === -1) {
      var per = Math.max(8, Math.floor((width - 16) / TITLE_CHAR));
      var parts = characters(title), lines = [];
      for (var i = 0; i < parts.length; i += per) { lines.push(parts.slice(i, i + per).join("")); }
      layout.title.text = lines.join("<br>");
      top += (lines.length - 1) * TITLE_LINE;
    }
    var rows = legendRows(figure, width - 40);
    top += rows ? LEGEND_ROW * rows + 10 : 0; // (10: clear of the top tick label)
    var before = layout.margin.t || 0;
    if (top > before) {
      layout.margin.t = top;
      if (layout.height) { layout.height += top - before; }
    }
    var extraLines = layout.title && layout.title.text ? layout.title.text.split("<br>").length - 1 : 0;
    if (extraLines && layout.height && layout.title.yref === "container") {
      // (plotly anchors a wrapped title's first line where one line would be: the lines
      // above it went off the top; moved down by what they take)
      layout.title.y = (layout.title.y || 0.98) - (extraLines * TITLE_LINE) / layout.height;
    }
  }

  function draw() {
    if (!window.Plotly) { return; }
    window.Plotly.register(ZH_CN);
    var config = pageConfig();
    var blocks = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(blocks, function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
      fitNarrow(figure, target.clientWidth);
      window.Plotly.newPlot(target, figure.data, figure.layout, chartConfig(config, target))
        .then(function () { target.setAttribute("data-drawn", "1"); });
    });
  }

  function autoSubmit() {
    var form = document.getElementById("dash-filters");
    if (!form) { return; }
    Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(); autoSubmit(); });
}());
