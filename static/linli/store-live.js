/* Live store notifications over the websocket, for every element with data-live-store.
 *
 *   <div data-live-store="7">                       the store id (ws/stores/7/notifications/)
 *     <p data-live-status data-refused="…" data-unreachable="…" hidden></p>
 *                                                   why the page stopped listening (translated)
 *     <ul data-live-list>…</ul>                     new events are prepended here
 *     <li data-live-empty>Nothing new.</li>         removed when the first event arrives
 *   </div>
 *
 * Each message is {"event": ..., "payload": {...}} (linli/realtime.py); the line shown is
 * payload.text, or the event name when there is none. The element's data-live-state says
 * where the socket is: connecting, open, closed (a retry is due) or stopped.
 *
 * When the socket closes, the page tries again after a back-off that doubles from 0.5 s up to
 * 30 s, whatever the close: a dropped socket (the server restarting, a connect that outwaited
 * the server's handshake timeout), a handshake that failed (close 1006 before open: server
 * down, network gone, handshake refused by the proxy), or a server that accepts and closes at
 * once (any other code). The back-off starts again from 0.5 s only after a socket stayed open
 * STABLE_MS. The page stops trying, and says so in data-live-status, when
 *   - the server refuses (a 4xxx close: 4403 not allowed or signed out, 4404 unknown path):
 *     data-live-state="stopped", data-live-stop="refused";
 *   - MAX_HANDSHAKE_FAILURES handshakes in a row failed (about a minute of trying):
 *     data-live-stop="unreachable".
 * It starts again at once, from a fresh back-off, when the page becomes visible again or the
 * browser comes back online (a retry that was waiting is brought forward too).
 *
 * Lines sent while the socket was closed (or before it first opened) are not lost: the element
 * may name where to ask for them, data-live-replay (devices:store-live-lines, the lines rebuilt
 * from the stored alerts) with data-live-since (the page's cursor, taken before the page's
 * queries and early enough for an alert stamped before it and committed after them) and
 * data-live-shown (the keys of the lines from then that were committed when the page was
 * drawn); on every open the page asks for what was sent since then and adds the lines it has
 * not shown (each line's key is its event and alert id), below any line that arrived on the
 * new socket meanwhile.
 */
(function () {
  "use strict";

  var FIRST_DELAY_MS = 500;
  var MAX_DELAY_MS = 30000;
  var STABLE_MS = 30000;
  var MAX_HANDSHAKE_FAILURES = 8;

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

  function Live(box, list) {
    this.box = box;
    this.list = list;
    this.seen = {};
    this.failures = 0;           // closes since the last stable socket: the back-off's step
    this.handshakeFailures = 0;  // closes before open, in a row
    this.socket = null;
    this.timer = null;
    this.stopped = false;
    this.status = box.querySelector("[data-live-status]");
    var seen = this.seen;
    (box.dataset.liveShown || "").split(" ").forEach(function (key) {
      if (key) { seen[key] = true; }
    });
  }

  Live.prototype.say = function (reason) {
    if (!this.status) { return; }
    if (reason) {
      this.status.textContent = this.status.getAttribute("data-" + reason) || "";
      this.status.hidden = false;
    } else {
      this.status.textContent = "";
      this.status.hidden = true;
    }
  };

  Live.prototype.stop = function (reason) {
    this.stopped = true;
    this.box.dataset.liveState = "stopped";
    this.box.dataset.liveStop = reason;
    this.say(reason);
  };

  // Visible again or back online: try now, from a fresh back-off, if not connected.
  Live.prototype.resume = function () {
    if (this.socket !== null) { return; }
    if (this.timer !== null) {
      window.clearTimeout(this.timer);
      this.timer = null;
    }
    this.stopped = false;
    this.failures = 0;
    this.handshakeFailures = 0;
    delete this.box.dataset.liveStop;
    this.say(null);
    this.connect();
  };

  Live.prototype.connect = function () {
    var live = this;
    var box = this.box;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + location.host + "/ws/stores/" + encodeURIComponent(box.dataset.liveStore) + "/notifications/";
    var received = 0;
    var openedAt = null;
    box.dataset.liveState = "connecting";
    var socket = new WebSocket(url);
    this.socket = socket;
    socket.onopen = function () {
      openedAt = Date.now();
      live.handshakeFailures = 0;
      box.dataset.liveState = "open";
      live.say(null);
      replay(box, live.list, live.seen, function () { return received; });
    };
    socket.onclose = function (event) {
      live.socket = null;
      box.dataset.liveState = "closed";
      if (event.code >= 4000 && event.code < 5000) {
        live.stop("refused");
        return;
      }
      if (openedAt === null) {
        live.handshakeFailures += 1;
        if (live.handshakeFailures >= MAX_HANDSHAKE_FAILURES) {
          live.stop("unreachable");
          return;
        }
      } else if (Date.now() - openedAt >= STABLE_MS) {
        live.failures = 0;
      }
      live.failures += 1;
      var delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, live.failures - 1));
      live.timer = window.setTimeout(function () {
        live.timer = null;
        live.connect();
      }, delay);
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      var payload = data.payload || {};
      if (payload.alert_id !== undefined) {
        var key = data.event + ":" + payload.alert_id;
        if (live.seen[key]) { return; }
        live.seen[key] = true;
      }
      live.list.prepend(lineItem(box, payload.text || data.event));
      received += 1;
    };
  };

  function start() {
    if (!window.WebSocket) { return; }
    var lives = [];
    document.querySelectorAll("[data-live-store]").forEach(function (box) {
      var list = box.querySelector("[data-live-list]");
      if (!list) { return; }
      var live = new Live(box, list);
      lives.push(live);
      live.connect();
    });
    function resumeAll() {
      lives.forEach(function (live) { live.resume(); });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { resumeAll(); }
    });
    window.addEventListener("online", resumeAll);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
