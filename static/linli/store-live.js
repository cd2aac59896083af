/* Live store notifications over the websocket, for every element with data-live-store.
 *
 *   <div data-live-store="7">                       the store id (ws/stores/7/notifications/)
 *     <p data-live-status data-refused="…" data-paused="…" hidden></p>
 *                                                   why the page is not listening (translated)
 *     <ul data-live-list>…</ul>                     new events are prepended here
 *     <li data-live-empty>Nothing new.</li>         removed when the first event arrives
 *   </div>
 *
 * Each message is {"event": ..., "payload": {...}} (linli/realtime.py); the line shown is
 * payload.text, or the event name when there is none. The element's data-live-state says
 * where the socket is: connecting, open, closed (a quick retry is due), paused (the server
 * could not be reached: a slow retry is due) or stopped (refused: no retry).
 *
 * When the socket closes, the page tries again after a back-off that doubles from 0.5 s up to
 * 30 s, whatever the close: a dropped socket (the server restarting, a connect that outwaited
 * the server's handshake timeout), a handshake that failed (close 1006 before open: server
 * down, network gone, handshake refused by the proxy), or a server that accepts and closes at
 * once (any other code). The back-off starts again from 0.5 s only after a socket stayed open
 * STABLE_MS. After FAST_HANDSHAKE_FAILURES handshakes in a row failed (about a minute of
 * trying) the page says so in data-live-status (data-live-state="paused": "paused, trying
 * again every few minutes") and keeps trying, slowly: after 60 s, then 120 s, then every
 * 200 s, until a socket opens (which clears the notice). It never gives up on a server it
 * cannot reach: a restart or a deploy fires no browser event, and a store's always-on screen
 * never changes visibility. Every delay gets up to half of it again at random, so the pages
 * a server restart dropped do not all reconnect (and replay) at the same moment.
 *
 * The page stops for good, and says so, only when the server refuses (a 4xxx close: 4403 not
 * allowed or signed out, 4404 unknown path): data-live-state="stopped",
 * data-live-stop="refused". Whenever the page becomes visible again or the browser comes
 * back online, a page that is not connected tries at once, from a fresh back-off (a retry
 * that was waiting is brought forward).
 *
 * Lines sent while the socket was closed (or before it first opened) are not lost: the element
 * may name where to ask for them, data-live-replay (devices:store-live-lines, the lines rebuilt
 * from the stored alerts) with data-live-since (the page's cursor, taken before the page's
 * queries and early enough for an alert stamped before it and committed after them) and
 * data-live-shown (the keys of the lines from then that were committed when the page was
 * drawn); on every open the page asks for what was sent since then and adds the lines it has
 * not shown (each line's key is its event and alert id), below any line that arrived on the
 * new socket meanwhile. Each reply says where the next replay starts (next_since: the
 * reply's time less the cursor's margin, as a line stamped before that was committed when
 * the reply read the lines), and the page moves data-live-since there, so a reconnect does not
 * fetch again what an earlier replay brought.
 */
(function () {
  "use strict";

  var FIRST_DELAY_MS = 500;
  var MAX_DELAY_MS = 30000;
  var STABLE_MS = 30000;
  var FAST_HANDSHAKE_FAILURES = 8;
  var SLOW_FIRST_DELAY_MS = 60000;
  var SLOW_MAX_DELAY_MS = 200000;

  // `ms` and up to half of it again, at random.
  function jittered(ms) {
    return ms + Math.random() * ms / 2;
  }

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
      if (data.next_since) { box.dataset.liveSince = data.next_since; }
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
      var delay;
      if (openedAt === null) {
        live.handshakeFailures += 1;
      } else if (Date.now() - openedAt >= STABLE_MS) {
        live.failures = 0;
      }
      var slow = live.handshakeFailures - FAST_HANDSHAKE_FAILURES;
      if (slow >= 0) {
        // Unreachable for about a minute: say so, and keep trying every few minutes.
        delay = Math.min(SLOW_MAX_DELAY_MS, SLOW_FIRST_DELAY_MS * Math.pow(2, slow));
        box.dataset.liveState = "paused";
        live.say("paused");
      } else {
        live.failures += 1;
        delay = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * Math.pow(2, live.failures - 1));
      }
      live.timer = window.setTimeout(function () {
        live.timer = null;
        live.connect();
      }, jittered(delay));
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
