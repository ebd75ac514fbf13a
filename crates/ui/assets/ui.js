// Progressive enhancement only: every page and form works without this file.
// 1. Pages marked data-live (active runs) refresh their content every few seconds, which also
//    shows a running run's output as it grows; they stop once nothing is running.
// 2. A running run's log (pre[data-follow]) is followed: the steps' lines are appended as they
//    print them, and the refresh keeps that element instead of replacing it.
// 3. Filter selects submit themselves on change.
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
        var following = main.querySelector("pre[data-following]");
        main.innerHTML = next.innerHTML;
        var fresh = main.querySelector("pre[data-follow]");
        if (following && fresh) fresh.replaceWith(following);
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

  function follow(root) {
    var log = root.querySelector("pre[data-follow]");
    if (!log || log.hasAttribute("data-following") || !window.TextDecoder) return;
    log.setAttribute("data-following", "");
    fetch(log.getAttribute("data-follow"), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok || !response.body || !response.body.getReader) return;
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var code = log.querySelector("code");
        var first = true;
        function pump() {
          return reader.read().then(function (piece) {
            if (piece.done) return;
            var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
            // The stream starts with the logs so far: it replaces what the page was served.
            if (first) { code.textContent = ""; first = false; }
            code.textContent += decoder.decode(piece.value, { stream: true });
            var empty = document.getElementById("output-empty");
            if (empty && code.textContent) empty.hidden = true;
            if (atBottom) log.scrollTop = log.scrollHeight;
            return pump();
          });
        }
        return pump();
      })
      .catch(function () { log.removeAttribute("data-following"); });
  }

  function wire(root) {
    follow(root);
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
