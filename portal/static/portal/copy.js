// Copy buttons: <button class="copy" data-copy="element-id"> copies that element's text, a <button class="copy">
// without data-copy the text of the element just before it (no inline script: the CSP allows none).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) { return; }
    var named = button.getAttribute("data-copy");
    var source = named ? document.getElementById(named) : button.previousElementSibling;
    if (!source) { return; }
    var text = (source.value !== undefined ? source.value : source.textContent).trim();
    var done = function () { button.textContent = "Copied"; button.setAttribute("data-copied", "true"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else {
      var area = document.createElement("textarea");
      area.value = text; document.body.appendChild(area); area.select();
      try { document.execCommand("copy"); done(); } finally { document.body.removeChild(area); }
    }
  });
})();
