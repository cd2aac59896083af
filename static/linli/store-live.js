/* Live store notifications over the websocket, for every element with data-live-store.
 *
 *   <div data-live-store="7">                       the store id (ws/stores/7/notifications/)
 *     <ul data-live-list>…</ul>                     new events are prepended here
 *     <li data-live-empty>Nothing new.</li>         removed when the first event arrives
 *   </div>
 *
 * Each message is {"event": ..., "payload": {...}} (linli/realtime.py); the line shown is
 * payload.text, or the event name when there is none. The element's data-live-state says
 * where the socket is: connecting, open or closed.
 *
 * A socket that closes is opened again with backoff (0.5 s, 1 s, 2 s … up to 32 s), as the
 * live dashboard's: the server restarting, or a connect that outwaited the server's handshake
 * timeout (on the embedded SQLite default the consumer may wait for the one write lock), would
 * otherwise leave the page silent until it is reloaded. A refusal (4403: not allowed, logged
 * out) and an unknown path (4404) stay closed: reloading the page shows why.
 */
(function () {
  "use strict";

  var REFUSED = [4403, 4404];

  function connect(box, list, retry) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/stores/" + encodeURIComponent(box.dataset.liveStore) + "/notifications/";
    box.dataset.liveState = "connecting";
    var socket = new WebSocket(url);
    socket.onopen = function () { retry = 0; box.dataset.liveState = "open"; };
    socket.onclose = function (event) {
      box.dataset.liveState = "closed";
      if (REFUSED.indexOf(event.code) !== -1) { return; }
      retry = Math.min(retry + 1, 7);
      window.setTimeout(function () { connect(box, list, retry); }, 500 * Math.pow(2, retry - 1));
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      var empty = box.querySelector("[data-live-empty]");
      if (empty) { empty.remove(); }
      var item = document.createElement("li");
      item.textContent = (data.payload && data.payload.text) || data.event;
      list.prepend(item);
    };
  }

  function start() {
    if (!window.WebSocket) { return; }
    document.querySelectorAll("[data-live-store]").forEach(function (box) {
      var list = box.querySelector("[data-live-list]");
      if (list) { connect(box, list, 0); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
