// A page drawn in answer to a form (a refused case action, a customer's number shown once)
// names its own address in <meta name="kesheng-page-url">: the address bar shows that, so
// that reloading reads the page again instead of sending the form again (each resend of
// 查看完整信息 was one more audited reveal of the customer's contact details).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="kesheng-page-url"]');
  if (meta && window.history && window.history.replaceState && window.location.pathname !== meta.content) {
    window.history.replaceState(null, "", meta.content + window.location.hash);
  }
}());
