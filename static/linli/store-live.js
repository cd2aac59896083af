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
 *
 * Lines sent while the socket was closed (or before it first opened) are not lost: the element
 * may name where to ask for them, data-live-replay (devices:store-live-lines, the lines rebuilt
 * from the stored alerts) with data-live-since (the page's render time); on every open the
 * page asks for what was sent since then and adds the lines it has not shown (each line's key
 * is its event and alert id), below any line that arrived on the new socket meanwhile.
 */
(function () {
  "use strict";

  var REFUSED = [4403, 4404];

  function lineItem(box, text) {
    var empty = box.querySelector("[data-live-empty]");
    if (empty) { empty.remove(); }
    var item = document.createElement("li");
    item.textContent = text;
    return item;
  }

  // The lines sent while no socket was open, newest first, placed below the `fresh` lines the
  // new socket has brought since it opened; a line already shown (by its key) is skipped.
  function replay(box, list, seen, fresh) {
    var url = box.dataset.liveReplay;
    if (!url || !box.dataset.liveSince || !window.fetch) { return; }
    fetch(url + "?since=" + encodeURIComponent(box.dataset.liveSince), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : { lines: [] };
    }).then(function (data) {
      var at = fresh();
      data.lines.forEach(function (line) {
        if (seen[line.key]) { return; }
        seen[line.key] = true;
        var item = lineItem(box, line.text);
        list.insertBefore(item, list.children[at] || null);
        at += 1;
      });
    }).catch(function () { /* the next reconnect asks again */ });
  }

  function connect(box, list, retry, seen) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/stores/" + encodeURIComponent(box.dataset.liveStore) + "/notifications/";
    var received = 0;
    box.dataset.liveState = "connecting";
    var socket = new WebSocket(url);
    socket.onopen = function () {
      retry = 0;
      box.dataset.liveState = "open";
      replay(box, list, seen, function () { return received; });
    };
    socket.onclose = function (event) {
      box.dataset.liveState = "closed";
      if (REFUSED.indexOf(event.code) !== -1) { return; }
      retry = Math.min(retry + 1, 7);
      window.setTimeout(function () { connect(box, list, retry, seen); }, 500 * Math.pow(2, retry - 1));
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      var payload = data.payload || {};
      if (payload.alert_id !== undefined) {
        var key = data.event + ":" + payload.alert_id;
        if (seen[key]) { return; }
        seen[key] = true;
      }
      list.prepend(lineItem(box, payload.text || data.event));
      received += 1;
    };
  }

  function start() {
    if (!window.WebSocket) { return; }
    document.querySelectorAll("[data-live-store]").forEach(function (box) {
      var list = box.querySelector("[data-live-list]");
      if (list) { connect(box, list, 0, {}); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
