/* Pickup counter: a camera "Scan" button where the browser can read barcodes itself
   (BarcodeDetector). Hardware scanners type into the code field and need nothing here. */
(function () {
  "use strict";
  var input = document.getElementById("pickup-code");
  var button = document.getElementById("pickup-scan");
  var video = document.getElementById("pickup-video");
  if (!input || !button || !video || !("BarcodeDetector" in window) ||
      !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return;
  }
  var stream = null;

  function stop() {
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); }
    stream = null;
    video.hidden = true;
  }

  button.hidden = false;
  button.addEventListener("click", function () {
    if (stream) { stop(); return; }
    var detector = new window.BarcodeDetector();
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(function () {
      function look() {
        if (!stream) { return; }
        detector.detect(video).then(function (codes) {
          var digits = codes.length ? String(codes[0].rawValue).replace(/\D/g, "") : "";
          if (digits.length === 6) {
            input.value = digits;
            stop();
            input.form.submit();
          } else {
            window.setTimeout(look, 250);
          }
        }, function () { window.setTimeout(look, 500); });
      }
      look();
    }).catch(stop);
  });
}());
