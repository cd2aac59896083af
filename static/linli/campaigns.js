/* Copy buttons on the campaign pack page (no inline scripts: the CSP refuses them).
 *
 *   <pre id="warmup-text">…</pre>
 *   <button type="button" data-copy="warmup-text">Copy</button>
 *
 * A click copies the text of the element whose id is in data-copy, with the Clipboard API
 * when the page is served securely, else by selecting it (document.execCommand). The button
 * shows ✓ for a moment when it worked.
 */
(function () {
  "use strict";

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "copy-offscreen";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try { done = document.execCommand("copy"); } catch (error) { done = false; }
    area.remove();
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () { return fallbackCopy(text); });
    }
    return fallbackCopy(text);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var source = document.getElementById(button.dataset.copy);
    if (!source) { return; }
    var label = button.textContent;
    copy(source.textContent).then(function () {
      button.textContent = "✓ " + label;
      button.dataset.copied = "true";
      setTimeout(function () { button.textContent = label; delete button.dataset.copied; }, 1500);
    });
  });
}());
