// Staff pages: warn before the session ends for inactivity, and keep it alive while the user
// types or clicks on a page without sending it (a long decision being written). The server
// ends a session SESSION_IDLE_MINUTES after its last request (app/web/auth/idle.py); this page
// reaches it through /account/keepalive at most once a minute while the user is active.
// Tabs share the time of the last keep-alive (localStorage), so one tab in use keeps the
// others from warning. When the time is up nothing is reloaded: what was typed stays on the
// screen, to be copied before signing in again.
(function () {
  "use strict";
  var body = document.body;
  var limit = parseInt(body.getAttribute("data-idle-seconds") || "0", 10) * 1000;
  var url = body.getAttribute("data-keepalive");
  if (!limit || !url) { return; }
  var token = body.getAttribute("data-csrf") || "";
  var WARN = Math.min(120000, Math.floor(limit / 3));
  var KEY = "kesheng.lastTouch";
  // (the server notes a page request's time at most once a minute: count from a minute before)
  var ownTouch = Date.now() - 60000;
  var lastActivity = Date.now();
  var banner = null, ended = false;

  function lastTouch() {
    var shared = 0;
    try { shared = parseInt(window.localStorage.getItem(KEY) || "0", 10) || 0; } catch (e) { /* private mode */ }
    return Math.max(ownTouch, shared);
  }

  function ping() {
    ownTouch = Date.now();
    try { window.localStorage.setItem(KEY, String(ownTouch)); } catch (e) { /* private mode */ }
    fetch(url, { method: "POST", headers: { "X-CSRFToken": token }, credentials: "same-origin",
      redirect: "manual" })
      .then(function (reply) { if (reply.status !== 204) { end(); } })
      .catch(function () { /* offline for a moment: the next activity tries again */ });
  }

  function show(text, withButton) {
    if (!banner) {
      banner = document.createElement("div");
      banner.className = "idle-banner";
      banner.setAttribute("role", "alert");
      document.body.appendChild(banner);
    }
    banner.textContent = text + " ";
    if (withButton) {
      var stay = document.createElement("button");
      stay.type = "button";
      stay.className = "button primary";
      stay.textContent = "继续使用";
      stay.addEventListener("click", function () { hide(); ping(); });
      banner.appendChild(stay);
    } else {
      var link = document.createElement("a");
      link.className = "button primary";
      link.href = (body.getAttribute("data-login") || "/login") + "?next=" +
        encodeURIComponent(location.pathname + location.search);
      link.textContent = "重新登录";
      banner.appendChild(link);
    }
  }

  function hide() {
    if (banner) { banner.remove(); banner = null; }
  }

  function end() {
    ended = true;
    show("已因长时间未操作自动退出。未提交的内容仍在本页，请先复制保存，再", false);
  }

  function activity() {
    if (ended) { return; }
    lastActivity = Date.now();
    if (banner) { hide(); ping(); return; }
    if (Date.now() - lastTouch() > 60000) { ping(); }
  }

  ["keydown", "pointerdown", "input"].forEach(function (kind) {
    document.addEventListener(kind, activity, { passive: true, capture: true });
  });

  window.setInterval(function () {
    if (ended) { return; }
    var deadline = lastTouch() + limit;
    var left = deadline - Date.now();
    if (left <= 0) { end(); return; }
    if (left <= WARN) {
      var minutes = Math.max(1, Math.round(left / 60000));
      show("您已较长时间未操作，约 " + minutes + " 分钟后将自动退出。", true);
    }
  }, 5000);
})();
