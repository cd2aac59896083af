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
 */
(function () {
  "use strict";

  function connect(box) {
    var list = box.querySelector("[data-live-list]");
    if (!list) { return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/stores/" + encodeURIComponent(box.dataset.liveStore) + "/notifications/";
    box.dataset.liveState = "connecting";
    var socket = new WebSocket(url);
    socket.onopen = function () { box.dataset.liveState = "open"; };
    socket.onclose = function () { box.dataset.liveState = "closed"; };
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
    document.querySelectorAll("[data-live-store]").forEach(connect);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
