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

  function draw() {
    if (!window.Plotly) { return; }
    window.Plotly.register(ZH_CN);
    var config = pageConfig();
    var blocks = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(blocks, function (target) {
      var source = document.getElementById(target.getAttribute("data-figure"));
      if (!source) { return; }
      var figure = JSON.parse(source.textContent);
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
