/* The live dashboard (templates/campaigns/live_*.html), kept current over a websocket.
 *
 *   <div data-live-dashboard="broadcast|overview" data-live-url="/ws/...">   the feed
 *   <script type="application/json" id="live-initial">   the snapshot the page was rendered with
 *   <script type="application/json" id="live-labels">    translated words the script writes
 *
 * Snapshots carry no words (one snapshot goes to every viewer, whatever their language):
 * statuses are codes named from labels.statuses / labels.offerStatuses, and a talking point is
 * a message code with its values, written with labels.talkingPoints[code] (a "%(name)s" format).
 *
 * Messages are {"event", "payload"} (linli/realtime.py). payload.kind is "snapshot" (a whole
 * snapshot with its version) or "update" (version, previous_version and the changed parts).
 * A "live.snapshot" event (the answer on connect or to a resync) always replaces the state; an
 * update applies only onto the version it was made from (previous_version == ours), an older one
 * is ignored, and any gap asks the server for a fresh snapshot ({"type": "resync"}). A closed
 * socket reconnects with backoff, and a reconnect starts with a fresh snapshot.
 * Charts are SVG drawn here (attributes, not inline styles: the CSP refuses those).
 *
 * Viewers carry when they were reported (viewers_reported_at) and a stale flag as of the
 * snapshot; the page says how long ago ("reported 3 min ago") and marks the count stale once
 * the report is older than viewers_stale_after seconds, re-checked every 30 s on the server's
 * clock (data-server-now, the page's render time), since no message comes when the platform
 * stops reporting.
 */
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function svg(tag, attributes) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    return node;
  }

  function replaceChildren(parent, children) {
    while (parent.firstChild) { parent.removeChild(parent.firstChild); }
    children.forEach(function (child) { parent.appendChild(child); });
  }

  function ring(percent, formed) {
    var radius = 34, circumference = 2 * Math.PI * radius;
    var box = svg("svg", { viewBox: "0 0 80 80", width: "80", height: "80", "class": "live-ring" });
    box.appendChild(svg("circle", { cx: "40", cy: "40", r: String(radius), "class": "live-ring-track" }));
    box.appendChild(svg("circle", {
      cx: "40", cy: "40", r: String(radius),
      "class": formed ? "live-ring-value live-ring-formed" : "live-ring-value",
      "stroke-dasharray": (circumference * Math.min(percent, 100) / 100).toFixed(1) + " " + circumference.toFixed(1),
      transform: "rotate(-90 40 40)"
    }));
    var text = svg("text", { x: "40", y: "45", "text-anchor": "middle", "class": "live-ring-text" });
    text.textContent = percent + "%";
    box.appendChild(text);
    return box;
  }

  function bar(label, value, maximum, caption, href) {
    var row = el("div", "live-bar");
    var name = href ? el("a", "live-bar-label", label) : el("span", "live-bar-label", label);
    if (href) { name.href = href; }
    row.appendChild(name);
    var box = svg("svg", { viewBox: "0 0 100 10", preserveAspectRatio: "none", "class": "live-bar-svg" });
    box.appendChild(svg("rect", { x: "0", y: "0", width: "100", height: "10", "class": "live-bar-track" }));
    var width = maximum > 0 ? Math.max(0.5, 100 * value / maximum) : 0;
    box.appendChild(svg("rect", { x: "0", y: "0", width: width.toFixed(2), height: "10", "class": "live-bar-value" }));
    row.appendChild(box);
    row.appendChild(el("b", "live-bar-caption", caption));
    return row;
  }

  // Fills "%(name)s" placeholders (the gettext formats of the labels) from `args`.
  function format(template, args) {
    return String(template).replace(/%\((\w+)\)s/g, function (placeholder, name) {
      var value = (args || {})[name];
      return value === undefined || value === null ? placeholder : String(value);
    });
  }

  function talkingPointText(point, labels) {
    var template = (labels.talkingPoints || {})[point.message];
    var text = template ? format(template, point.args) : point.product_name;
    if (point.remaining && labels.talkingPointRemaining) {
      text += format(labels.talkingPointRemaining, { remaining: point.remaining });
    }
    return text;
  }

  // "Formed" only once settled formed (the status); an open offer at its threshold forms at
  // its deadline, so it reads "threshold reached" until then. A formed offer that sold from
  // stock (not a pre-order) is not a group waiting for its goods: "sold, ready for pickup".
  function offerState(offer, labels) {
    if (offer.status === "formed" && offer.presale === false && labels.formedFromStock) {
      return labels.formedFromStock;
    }
    if (offer.status !== "open") { return (labels.offerStatuses || {})[offer.status] || offer.status; }
    return offer.reached ? labels.thresholdReached : labels.toForm;
  }

  // A figure that may be unknown (viewers before the platform's first report): "—", not 0.
  function figure(value, labels) {
    return value === null ? (labels.unknown || "—") : value;
  }

  // How long ago the viewers were reported, in words ("" before a first report).
  function reportedAge(reportedAt, now, labels) {
    if (!reportedAt) { return ""; }
    var minutes = Math.max(0, Math.floor((now - Date.parse(reportedAt)) / 60000));
    return minutes ? format(labels.reportedAgo, { minutes: minutes }) : labels.reportedJustNow;
  }

  // A live broadcast's count is stale once its report is older than the threshold.
  function viewersStale(row, now, staleAfter) {
    if (row.viewers_stale) { return true; }
    if (!row.viewers_reported_at || (row.status !== undefined && row.status !== "live")) { return false; }
    return staleAfter > 0 && now - Date.parse(row.viewers_reported_at) > staleAfter * 1000;
  }

  function renderBroadcast(root, snapshot, labels, now) {
    root.querySelectorAll("[data-live-field]").forEach(function (node) {
      var name = node.dataset.liveField;
      if (snapshot[name] !== undefined) { node.textContent = figure(snapshot[name], labels); }
    });
    var stale = viewersStale(snapshot, now, snapshot.viewers_stale_after);
    var viewers = root.querySelector("[data-live-viewers]");
    if (viewers) { viewers.classList.toggle("live-number-stale", stale); }
    var age = root.querySelector("[data-live-viewers-age]");
    if (age) { age.textContent = reportedAge(snapshot.viewers_reported_at, now, labels); }
    var warning = root.querySelector("[data-live-viewers-stale]");
    if (warning) { warning.hidden = !stale; }
    var status = root.querySelector("[data-live-status]");
    if (status) { status.textContent = (labels.statuses || {})[snapshot.status] || snapshot.status; }
    var offers = root.querySelector("[data-live-offers]");
    if (offers) {
      replaceChildren(offers, (snapshot.offers || []).map(function (offer) {
        var card = el("div", "live-offer" + (offer.reached ? " live-offer-formed" : ""));
        card.dataset.offer = offer.id;
        card.appendChild(ring(offer.progress_percent, offer.reached));
        var words = el("div", "live-offer-words");
        words.appendChild(el("b", null, offer.product_name));
        var unit = offer.threshold_kind === "units" ? labels.units : labels.participants;
        var progress = el("span", "live-offer-progress", offer.progress + " / " + offer.threshold + " " + unit + " ");
        progress.appendChild(el("span", "live-offer-status", offerState(offer, labels)));
        words.appendChild(progress);
        words.appendChild(el("span", "muted", "¥" + offer.price + " · " + labels.cap + " " + offer.units_joined + " / " + offer.cap));
        card.appendChild(words);
        return card;
      }));
    }
    var withdrawn = root.querySelector("[data-live-withdrawn]");
    if (withdrawn) {
      withdrawn.hidden = !snapshot.withdrawn;
      withdrawn.textContent = snapshot.withdrawn ? format(labels.withdrawn, { count: snapshot.withdrawn }) : "";
    }
    var units = root.querySelector("[data-live-units]");
    if (units) {
      var rows = snapshot.units_by_product || [];
      var most = rows.reduce(function (top, row) { return Math.max(top, row.units); }, 0);
      replaceChildren(units, rows.map(function (row) { return bar(row.name, row.units, most, row.units); }));
    }
    var keywords = root.querySelector("[data-live-keywords]");
    if (keywords) {
      var chips = (snapshot.keywords || []).map(function (keyword) {
        var chip = el("span", "live-chip", keyword.word);
        chip.appendChild(el("small", null, "×" + keyword.count));
        return chip;
      });
      replaceChildren(keywords, chips.length ? chips : [el("span", "muted", labels.noKeywords)]);
    }
    var points = root.querySelector("[data-live-points]");
    if (points) {
      var items = (snapshot.talking_points || []).map(function (point) {
        var item = el("li", "live-point live-point-" + point.intent, talkingPointText(point, labels));
        item.appendChild(el("small", "muted", " ×" + point.count));
        return item;
      });
      replaceChildren(points, items.length ? items : [el("li", "muted", labels.noPoints)]);
    }
    var comments = root.querySelector("[data-live-comments]");
    if (comments) {
      var lines = (snapshot.comments || []).map(function (comment) {
        var item = el("li");
        item.appendChild(el("span", "muted", comment.at + " "));
        item.appendChild(el("b", null, comment.author + " "));
        // A member's line breaks are kept, as the page's linebreaksbr keeps them: text nodes
        // with a <br> between them, never markup from the comment.
        String(comment.text).split(/\r\n|\r|\n/).forEach(function (line, index) {
          if (index) item.appendChild(document.createElement("br"));
          item.appendChild(document.createTextNode(line));
        });
        return item;
      });
      replaceChildren(comments, lines.length ? lines : [el("li", "muted", labels.noComments)]);
    }
  }

  function renderOverview(root, snapshot, labels, now) {
    var totals = snapshot.totals || {};
    root.querySelectorAll("[data-live-total]").forEach(function (node) {
      var value = totals[node.dataset.liveTotal];
      if (value !== undefined) { node.textContent = figure(value, labels); }
    });
    var notCounted = root.querySelector("[data-live-total-stale]");
    if (notCounted) {
      notCounted.textContent = totals.viewers_stale ? format(labels.staleNotCounted, { count: totals.viewers_stale }) : "";
    }
    var list = root.querySelector("[data-live-broadcasts]");
    if (!list) { return; }
    var rows = snapshot.broadcasts || [];
    var most = rows.reduce(function (top, row) { return Math.max(top, parseFloat(row.joined_value)); }, 0);
    var link = root.dataset.liveLink || "";
    replaceChildren(list, rows.length ? rows.map(function (row) {
      var href = link ? link.replace("/0/", "/" + row.broadcast_id + "/") : null;
      var line = bar(row.store_name, parseFloat(row.joined_value), most, "¥" + row.joined_value, href);
      var age = reportedAge(row.viewers_reported_at, now, labels);
      var stale = viewersStale(row, now, snapshot.viewers_stale_after);
      var more = el("span", "muted live-bar-more",
        row.orders + " " + labels.orders + " · ¥" + row.joined_value_reached + " " + labels.atThreshold +
        " · " + figure(row.viewers, labels) + " " + labels.viewers + (age ? " (" + age : ""));
      if (age && stale) {
        more.appendChild(document.createTextNode(", "));
        more.appendChild(el("span", "live-stale", labels.stale));
      }
      more.appendChild(document.createTextNode((age ? ")" : "") + " · " +
        row.offers_reached + "/" + row.offers + " " + labels.offersReached));
      line.appendChild(more);
      return line;
    }) : [el("p", "muted", labels.noBroadcasts)]);
  }

  function Dashboard(root) {
    this.root = root;
    this.kind = root.dataset.liveDashboard;
    this.labels = readJson("live-labels") || {};
    this.snapshot = readJson("live-initial") || null;
    this.socket = null;
    this.retry = 0;
    this.resyncAsked = false;
    // The server's clock (the page's render time) less ours: report ages are on its clock.
    var serverNow = parseInt(root.dataset.serverNow || "", 10);
    this.clockOffset = isNaN(serverNow) ? 0 : serverNow - Date.now();
    if (this.snapshot) { this.render(); }
    var self = this;
    // No message comes when the platform stops reporting: re-read the report's age.
    window.setInterval(function () { if (self.snapshot) { self.render(); } }, 30000);
  }

  Dashboard.prototype.render = function () {
    var now = Date.now() + this.clockOffset;
    if (this.kind === "overview") {
      renderOverview(this.root, this.snapshot, this.labels, now);
    } else {
      renderBroadcast(this.root, this.snapshot, this.labels, now);
    }
    this.root.dataset.liveVersion = this.snapshot.version;
  };

  Dashboard.prototype.setState = function (state) {
    this.root.dataset.liveState = state;
    var words = { connecting: this.labels.connecting, open: this.labels.open, closed: this.labels.closed };
    var node = this.root.querySelector("[data-live-connection]");
    if (node && words[state]) { node.textContent = words[state]; }
  };

  Dashboard.prototype.resync = function () {
    if (this.resyncAsked || !this.socket || this.socket.readyState !== WebSocket.OPEN) { return; }
    this.resyncAsked = true;
    this.socket.send(JSON.stringify({ type: "resync" }));
  };

  Dashboard.prototype.receive = function (data) {
    var payload = data.payload || {};
    var current = this.snapshot ? this.snapshot.version : -1;
    if (payload.kind === "snapshot") {
      if (data.event === "live.snapshot" || payload.snapshot.version > current) {
        this.snapshot = payload.snapshot;
        this.resyncAsked = false;
        this.render();
      }
      return;
    }
    if (payload.kind !== "update" || payload.version <= current) { return; }
    if (this.snapshot && payload.previous_version === current) {
      var next = Object.assign({}, this.snapshot, payload.changes);
      next.version = payload.version;
      this.snapshot = next;
      this.render();
    } else {
      this.resync();  // a version was missed
    }
  };

  Dashboard.prototype.connect = function () {
    var self = this;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    this.setState("connecting");
    var socket = new WebSocket(scheme + location.host + this.root.dataset.liveUrl);
    this.socket = socket;
    socket.onopen = function () { self.retry = 0; self.resyncAsked = false; self.setState("open"); };
    socket.onmessage = function (message) { self.receive(JSON.parse(message.data)); };
    socket.onclose = function (event) {
      self.setState("closed");
      if (event.code === 4403) { return; }  // refused: reloading the page shows why
      self.retry = Math.min(self.retry + 1, 6);
      window.setTimeout(function () { self.connect(); }, 500 * Math.pow(2, self.retry - 1));
    };
  };

  function start() {
    if (!window.WebSocket) { return; }
    document.querySelectorAll("[data-live-dashboard]").forEach(function (root) {
      new Dashboard(root).connect();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
