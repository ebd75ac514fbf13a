// Progressive enhancement only: every page and form works without this file.
// 1. Pages marked data-live (active runs) refresh their content every few seconds, which also
//    shows a running run's output as it grows; they stop once nothing is running.
// 2. Filter selects submit themselves on change.
(function () {
  "use strict";
  var REFRESH_MS = 3000;

  function refresh() {
    var main = document.getElementById("main");
    if (!main || !main.hasAttribute("data-live")) return;
    // Never replace what someone is typing into.
    var active = document.activeElement;
    if (active && main.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
      setTimeout(refresh, REFRESH_MS);
      return;
    }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (text) {
        var next = new DOMParser().parseFromString(text, "text/html").getElementById("main");
        if (!next) return;
        var log = document.getElementById("output");
        var atBottom = log && log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        main.innerHTML = next.innerHTML;
        if (next.hasAttribute("data-live")) {
          setTimeout(refresh, REFRESH_MS);
        } else {
          main.removeAttribute("data-live");
        }
        var newLog = document.getElementById("output");
        if (newLog && atBottom) newLog.scrollTop = newLog.scrollHeight;
        wire(main);
      })
      .catch(function () { setTimeout(refresh, REFRESH_MS * 3); });
  }

  function wire(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wire(document);
    var summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    setTimeout(refresh, REFRESH_MS);
  });
})();
