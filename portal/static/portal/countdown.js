// Counts each <time class="countdown" datetime="..."> down to its moment; the server's text stands without JS.
(function () {
  "use strict";
  function render(ms) {
    if (ms <= 0) { return "expired"; }
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + " h " : "") + (h || m ? m + " min " : "") + r + " s";
  }
  function tick() {
    document.querySelectorAll("time.countdown[datetime]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) { el.textContent = render(at - Date.now()); }
    });
  }
  tick();
  setInterval(tick, 1000);
})();
