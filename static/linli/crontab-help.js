// Admin, periodic task form: under the crontab field, show the chosen crontab in words
// (the page puts {crontab id: text} in #readable-crontabs). Written with textContent, so a
// crontab's text is never read as HTML.
(function () {
  "use strict";

  function start() {
    var source = document.getElementById("readable-crontabs");
    var select = document.getElementById("id_crontab");
    if (!source || !select) {
      return;
    }
    var readable = JSON.parse(source.textContent);
    var field = document.querySelector(".field-crontab");
    var help = field ? field.querySelector(".help") : null;
    var original = help ? help.textContent : "";
    var translation = document.querySelector(".field-crontab_translation");
    if (translation) {
      translation.hidden = true;
    }
    select.addEventListener("change", function () {
      if (!help) {
        return;
      }
      var words = readable[select.value];
      help.textContent = words ? original + " — " + words : original;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
