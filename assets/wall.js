/* The wall's browser side: canvas scaling, clock, live feed (SSE), live map points,
   smooth KPI numbers, staleness warning and the quiet-hour reload.

   Aggregates come from Dash callbacks, and each tick's changes as frames over the live
   feed (applied here with Dash's set_props); this file handles what happens between
   them. Everything it keeps is bounded (ticker rows, map points), so a wall that runs for
   weeks holds the same amount of DOM on its last day as on its first. */
(function () {
  "use strict";
  var PROFILES = { "16x9": [1920, 1080], "32x9": [3840, 1080] };
  var TICKER_MAX = 24, POINTS_MAX = 200, POINT_TTL_MS = 15 * 60 * 1000;
  var state = null;

  function attr(root, name, fallback) {
    var v = root.getAttribute("data-" + name);
    return v === null || v === "" ? fallback : v;
  }
  function idKey(id) {
    var p = String(id).split("-");
    return [Number(p[0]), Number(p[1] || 0)];
  }
  function idAfter(a, b) {  // a strictly after b
    if (!b) return true;
    var x = idKey(a), y = idKey(b);
    return x[0] > y[0] || (x[0] === y[0] && x[1] > y[1]);
  }
  // The page's words (dashboard/domain/text.py), in its language: layouts/wall.py puts
  // the ones this script shows in data-words. `{name}` is filled from `fill`.
  function word(key, fill) {
    var w = (state && state.words[key]) || key;
    Object.keys(fill || {}).forEach(function (k) { w = w.split("{" + k + "}").join(fill[k]); });
    return w;
  }

  /* -- scaling: a fixed design canvas fitted to any screen --------------------------- */
  function fit() {
    if (!state) return;
    var w = window.innerWidth, h = window.innerHeight;
    var profile = w / h >= 2.6 ? "32x9" : "16x9";
    var size = PROFILES[profile];
    var scale = Math.min(w / size[0], h / size[1]);
    var canvas = state.canvas;
    var changed = state.root.getAttribute("data-profile") !== profile;
    state.root.setAttribute("data-profile", profile);
    canvas.style.width = size[0] + "px";
    canvas.style.height = size[1] + "px";
    canvas.style.transform = "translate(" + ((w - size[0] * scale) / 2) + "px," +
      ((h - size[1] * scale) / 2) + "px) scale(" + scale + ")";
    state.root.style.setProperty("--gw-scale", scale);
    if (changed) setTimeout(function () { window.dispatchEvent(new Event("resize")); }, 50);
  }

  /* -- clock, staleness, quiet-hour reload ------------------------------------------- */
  function tick() {
    if (!state) return;
    var now = new Date();
    var parts = new Intl.DateTimeFormat(state.locale, {
      timeZone: state.tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, weekday: "short"
    }).formatToParts(now);
    var p = {};
    parts.forEach(function (x) { p[x.type] = x.value; });
    var clock = document.getElementById("wall-clock");
    if (clock) clock.textContent = p.year + "-" + p.month + "-" + p.day + " " + p.weekday +
      " " + p.hour + ":" + p.minute + ":" + p.second;
    // Aggregates older than three intervals (server unreachable, callbacks failing):
    // keep the numbers, say how old they are.
    var stale = document.getElementById("wall-stale");
    if (stale && state.lastAsOf) {
      var age = (now.getTime() - state.lastAsOf) / 1000;
      var limit = 3 * (state.pushing ? state.tickMs : state.refreshMs) / 1000 + 5;
      var isStale = age > limit;
      state.root.classList.toggle("gw-is-stale", isStale);
      stale.textContent = isStale ? word("wall.stale", { s: Math.round(age) }) : "";
    }
    if (now.getSeconds() % 10 === 0) trimDashHistory();
    if (state.reloadHour >= 0 && Number(p.hour) === state.reloadHour &&
        now.getTime() - state.loadedAt > 3600 * 1000) {
      window.location.reload();
    }
    prunePoints(now.getTime());
    checkFrames(now.getTime());
  }

  /* Dash records every change the browser makes to a callback input (each tick of the
     refresh interval) in an undo history that nothing trims: on a wall that never
     reloads, the heap grew by ~1 MB an hour at a 1 s refresh (soak). Nobody undoes
     anything on a wall, so keep only the newest entries. The raw REVERT action only
     pops that history; it changes no component. */
  var HISTORY_KEEP = 20;
  function trimDashHistory() {
    var store = window.store;
    if (!store || !store.getState || !store.dispatch) return;
    var history = store.getState().history;
    if (!history || !history.past) return;
    for (var n = history.past.length - HISTORY_KEEP; n > 0; n--) {
      store.dispatch({ type: "REVERT" });
    }
  }

  /* -- live feed ---------------------------------------------------------------------- */
  function feedUrl() {
    var q = "region=" + encodeURIComponent(state.region) + "&lang=" + state.lang;
    if (state.privacy) q += "&privacy=1";
    // Each tick's panels come over the feed too (dashboard/app/wall_frames.py).
    if (setProps()) q += "&frames=1&metric=" + encodeURIComponent(state.metric);
    if (state.lastId) q += "&from=" + encodeURIComponent(state.lastId);
    return "/wall/live?" + q;
  }
  function connect() {
    if (!state) return;
    if (state.es) state.es.close();
    var es = new EventSource(feedUrl());
    state.es = es;
    es.addEventListener("case", function (ev) {
      if (state.es !== es) return;
      if (!idAfter(ev.lastEventId, state.lastId)) return;  // never show an entry twice
      state.lastId = ev.lastEventId;
      var row = JSON.parse(ev.data);
      addTickerRow(row);
      if (row.type === "REPORTED") addPoint(row);
      state.received += 1;
      window.gwWall.lastEvent = { id: row.id, at: Date.now() };
    });
    es.addEventListener("frame", function (ev) {
      if (state.es !== es) return;
      applyFrame(JSON.parse(ev.data));
    });
    // The device was revoked (or the session ended): the page loaded again says so.
    es.addEventListener("disabled", function () {
      if (state.es === es) window.location.reload();
    });
    es.addEventListener("status", function (ev) {
      if (state.es !== es) return;
      state.failures = 0;
      setFeed(JSON.parse(ev.data));
    });
    es.onerror = function () {
      // A 502/503 or a server restart closes an EventSource for good: reopen it
      // ourselves, resuming after the last entry shown. A busy server refuses new feeds
      // (503): each failure in a row doubles the wait, up to a minute, spread at random
      // so that a wall of screens does not come back at the same instant.
      if (state.es !== es) return;
      es.close();
      setFeed({ status: "down", since: state.feedDownSince || Date.now() / 1000 });
      clearTimeout(state.retry);
      var wait = Math.min(60000, 1500 * Math.pow(2, state.failures));
      state.failures += 1;
      state.retry = setTimeout(connect, wait * (0.5 + Math.random()));
    };
  }
  /* -- panel frames: each tick's changes, pushed over the live feed ------------------ */
  function setProps() {
    return window.dash_clientside && window.dash_clientside.set_props;
  }
  /* A frame is drawn against the marks of the frame before it. Its `drawn` marks are
     applied whatever the screen shows; every other mark must already be the screen's,
     else the screen applies what there is and asks the server for a refresh (which
     sends what its marks say it lacks). */
  function applyFrame(f) {
    var set = setProps();
    // A region just changed (rotation): its refresh answer draws the new region's map
    // and panels first; a frame patched onto the old region's map would not fit it.
    if (!set || !f || f.region !== state.region || state.awaitRegion) return;
    var shown = state.marks || {}, drawn = {}, fits = true, marks = {};
    (f.drawn || []).forEach(function (k) { drawn[k] = true; });
    Object.keys(f.marks || {}).forEach(function (k) {
      if (!drawn[k] && shown[k] !== f.marks[k]) fits = false;
    });
    Object.keys(f.props || {}).forEach(function (id) { set(id, f.props[id]); });
    Object.keys(f.marks || {}).forEach(function (k) {
      marks[k] = drawn[k] || fits ? f.marks[k] : shown[k];
    });
    state.marks = marks;
    set("wall-marks", { data: marks });
    state.lastFrame = Date.now();
    state.frames += 1;
    window.gwWall.lastFrame = { now: f.now, at: state.lastFrame, fits: fits };
    if (!state.pushing) {
      state.pushing = true;
      set("wall-push", { data: true });
    }
    if (!fits) refreshNow();
  }
  // The refresh callback, now: its interval input moved on.
  function refreshNow() {
    var set = setProps();
    state.nudges += 1;
    if (set) set("wall-tick", { n_intervals: 1000000000 + state.nudges });
  }
  // Back to a refresh every tick, starting now: no frame for three ticks while the feed
  // is down, or for a minute while it is up (the server stopped sending them). A live
  // feed whose frames are only late is a busy server: refreshing by callback would cost
  // it more (the stale badge, wall.stale, says so meanwhile).
  var FRAMES_LOST_MS = 60000;
  function checkFrames(now) {
    if (!state.pushing) return;
    var quiet = now - state.lastFrame;
    if (quiet <= 3 * state.tickMs + 2000 || (state.feedLive && quiet <= FRAMES_LOST_MS)) return;
    var set = setProps();
    state.pushing = false;
    if (!set) return;
    set("wall-push", { data: false });
    set("wall-tick", { interval: state.tickMs });
    refreshNow();
  }

  function setFeed(s) {
    var el = document.getElementById("wall-feed");
    if (!el) return;
    var status = s.status === "live" ? "live" : (s.status === "starting" ? "starting" : "down");
    state.feedLive = status === "live";
    if (status === "down") {
      state.feedDownSince = state.feedDownSince || (s.since ? s.since : Date.now() / 1000);
    } else {
      state.feedDownSince = null;
    }
    var label = word("wall.feed", { status: word("wall.status." + status) });
    if (status === "down" && state.feedDownSince) {
      var t = new Date(state.feedDownSince * 1000);
      label += " · " + word("wall.since", { t: t.toLocaleTimeString(state.locale,
        { timeZone: state.tz, hour12: false }) });
    }
    el.textContent = label;
    el.setAttribute("data-status", status);
    el.className = "gw-fresh gw-fresh-" + status;
  }

  function span(cls, value) {
    var s = document.createElement("span");
    s.className = "gw-w-tc " + cls;
    s.textContent = value == null ? "" : value;
    return s;
  }
  function addTickerRow(r) {
    var body = document.getElementById("wall-ticker");
    if (!body) return;
    var row = document.createElement("div");
    row.className = "gw-w-trow gw-w-new gw-urg-" + (r.urgent ? "high" : "n");
    row.setAttribute("data-id", r.id);
    row.appendChild(span("gw-w-tc-time", r.time));
    row.appendChild(span("gw-w-tc-no", r.case_no));
    row.appendChild(span("gw-w-tc-place", r.place));
    row.appendChild(span("gw-w-tc-category", r.category));
    row.appendChild(span("gw-w-tc-step", r.step));
    row.appendChild(span("gw-w-tc-left gw-left-" + r.left_class, r.left));
    body.insertBefore(row, body.firstChild);
    while (body.childNodes.length > TICKER_MAX) body.removeChild(body.lastChild);
  }

  /* -- live case points over the map --------------------------------------------------- */
  function mapDiv() { return document.querySelector("#wall-map .js-plotly-plot"); }
  function overlay() {
    var gd = mapDiv();
    if (!gd) return null;
    var layer = gd.parentNode.querySelector(".gw-w-points");
    if (!layer) {
      layer = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      layer.setAttribute("class", "gw-w-points");
      gd.parentNode.style.position = "relative";
      gd.parentNode.appendChild(layer);
    }
    if (!gd.__gwBound && gd.on) {
      gd.__gwBound = true;
      gd.on("plotly_afterplot", placePoints);
    }
    return layer;
  }
  function project(gd, lon, lat) {
    var fl = gd._fullLayout;
    if (!fl || !fl.xaxis || !fl.yaxis || !fl.xaxis.l2p) return null;
    return [fl.xaxis._offset + fl.xaxis.l2p(lon), fl.yaxis._offset + fl.yaxis.l2p(lat)];
  }
  function addPoint(r) {
    if (r.lon == null || r.lat == null) return;
    var layer = overlay();
    if (!layer) return;
    var urgent = !!r.urgent;
    var el = document.createElementNS("http://www.w3.org/2000/svg", urgent ? "path" : "circle");
    if (urgent) {
      el.setAttribute("d", "M0,-11 L3,-3 L11,-3 L5,2 L7,10 L0,5 L-7,10 L-5,2 L-11,-3 L-3,-3 Z");
      el.setAttribute("class", "gw-pt gw-pt-urgent");
    } else {
      el.setAttribute("r", "6");
      el.setAttribute("class", "gw-pt");
    }
    el.__gw = { lon: r.lon, lat: r.lat, at: Date.now(), urgent: urgent };
    layer.appendChild(el);
    place(el);
    while (layer.childNodes.length > POINTS_MAX) layer.removeChild(layer.firstChild);
  }
  function place(el) {
    var gd = mapDiv();
    var xy = gd && project(gd, el.__gw.lon, el.__gw.lat);
    if (!xy) return;
    if (el.__gw.urgent) el.setAttribute("transform", "translate(" + xy[0] + "," + xy[1] + ")");
    else { el.setAttribute("cx", xy[0]); el.setAttribute("cy", xy[1]); }
  }
  function placePoints() {
    var layer = overlay();
    if (!layer) return;
    Array.prototype.forEach.call(layer.childNodes, place);
  }
  function prunePoints(now) {
    var gd = mapDiv();
    var layer = gd && gd.parentNode.querySelector(".gw-w-points");
    if (!layer) return;
    while (layer.firstChild && now - layer.firstChild.__gw.at > POINT_TTL_MS) {
      layer.removeChild(layer.firstChild);
    }
  }
  function clearLive() {
    var body = document.getElementById("wall-ticker");
    if (body) while (body.firstChild) body.removeChild(body.firstChild);
    var gd = mapDiv();
    var layer = gd && gd.parentNode.querySelector(".gw-w-points");
    if (layer) while (layer.firstChild) layer.removeChild(layer.firstChild);
  }

  /* -- lifecycle: the router renders the wall after load, and may remove it ----------- */
  function init(root) {
    state = {
      root: root, canvas: document.getElementById("wall-canvas"),
      tz: attr(root, "tz", "Asia/Shanghai"), lang: attr(root, "lang", "zh"),
      words: JSON.parse(attr(root, "words", "{}")),
      locale: attr(root, "lang", "zh") === "en" ? "en-GB" : "zh-CN",
      region: attr(root, "region", ""), privacy: attr(root, "privacy", "0") === "1",
      metric: attr(root, "metric", ""),
      refreshMs: Number(attr(root, "refresh", "5000")),
      tickMs: Number(attr(root, "refresh", "5000")),
      marks: JSON.parse(attr(root, "marks", "{}")), pushing: false, lastFrame: 0, frames: 0, nudges: 0,
      reloadHour: Number(attr(root, "reload-hour", "-1")),
      lastId: attr(root, "from", null), lastAsOf: Date.now(), loadedAt: Date.now(),
      es: null, retry: null, failures: 0, timer: null, received: 0, feedDownSince: null
    };
    fit();
    fitKpis();
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(fitKpis);
    window.addEventListener("resize", fit);
    state.timer = setInterval(tick, 1000);
    tick();
    connect();
  }
  function teardown() {
    if (!state) return;
    if (state.es) state.es.close();
    clearTimeout(state.retry);
    clearInterval(state.timer);
    window.removeEventListener("resize", fit);
    state = null;
  }
  setInterval(function () {
    var root = document.getElementById("wall-root");
    if (root && (!state || state.root !== root)) { teardown(); init(root); }
    else if (!root && state) teardown();
  }, 250);

  /* A value too long for its card (a province at full scale: 27,512/8,301) gets a
     smaller font instead of being cut. */
  function fitText(el) {
    el.style.fontSize = "";
    var size = parseFloat(getComputedStyle(el).fontSize);
    while (el.scrollWidth > el.clientWidth + 1 && size > 24) {
      size -= 2;
      el.style.fontSize = size + "px";
    }
  }
  function fitKpis() {
    Array.prototype.forEach.call(document.querySelectorAll(".gw-w-kpi-value"), fitText);
  }

  /* -- called by Dash (clientside callbacks) ------------------------------------------ */
  function animate(el, to) {
    var from = Number(String(el.textContent).replace(/[^0-9.\-]/g, ""));
    var target = Number(String(to).replace(/[^0-9.\-]/g, ""));
    var isRate = String(to).indexOf("%") >= 0, plain = /^[0-9,]+$/.test(String(to));
    if (!(plain || isRate) || isNaN(from) || isNaN(target) || from === target) {
      el.textContent = to;
      fitText(el);
      return;
    }
    var start = performance.now(), ms = 900;
    function step(t) {
      var k = Math.min(1, (t - start) / ms), e = 1 - Math.pow(1 - k, 3);
      var v = from + (target - from) * e;
      el.textContent = k >= 1 ? to : (isRate ? v.toFixed(2) + "%" :
        Math.round(v).toLocaleString("en-US"));
      if (k < 1) requestAnimationFrame(step);
      else fitText(el);
    }
    requestAnimationFrame(step);
  }
  /* A wall device revoked (or its old token past the overlap, or its address no longer
     allowed) gets its refreshes answered 403 "wall disabled" with no data: the page is
     loaded again, and the server shows its calm "disabled" page in its place. Any other
     answer is Dash's own to handle. */
  var fetchOf = window.fetch;
  window.fetch = function (input) {
    return fetchOf.apply(this, arguments).then(function (resp) {
      var url = typeof input === "string" ? input : (input && input.url) || "";
      if (resp.status === 403 && state && url.indexOf("_dash-update-component") !== -1) {
        resp.clone().json().then(function (body) {
          if (body && body.error === "wall disabled") window.location.reload();
        }, function () {});
      }
      return resp;
    });
  };

  window.gwWall = {
    lastEvent: null,
    lastFrame: null,
    received: function () { return state ? state.received : 0; },
    frames: function () { return state ? state.frames : 0; },
    pushing: function () { return !!(state && state.pushing); },
    lastId: function () { return state ? state.lastId : null; }
  };
  window.dash_clientside = Object.assign({}, window.dash_clientside, {
    gwWall: {
      animateKpis: function (data) {
        if (!data) return window.dash_clientside.no_update;
        Object.keys(data.values || {}).forEach(function (k) {
          var el = document.getElementById("wall-kpi-" + k);
          if (el) animate(el, data.values[k]);
        });
        Object.keys(data.subs || {}).forEach(function (k) {
          var el = document.getElementById("wall-kpisub-" + k);
          if (el) el.textContent = data.subs[k];
        });
        if (state && data.as_of) state.lastAsOf = Date.parse(data.as_of);
        return window.dash_clientside.no_update;
      },
      followInterval: function (ms) {
        // The server slows its screens when it is saturated (dashboard/views/wall/pace.py):
        // numbers are late only past three of the intervals it told, not of the default.
        if (state && ms) state.refreshMs = ms;
        return window.dash_clientside.no_update;
      },
      followMarks: function (marks) {
        if (state && marks) {
          state.marks = marks;
          state.awaitRegion = null;
        }
        return window.dash_clientside.no_update;
      },
      followRegion: function (region) {
        if (state && region && region !== state.region) {
          state.region = region;
          state.awaitRegion = region;
          clearLive();
          connect();
        }
        return window.dash_clientside.no_update;
      }
    }
  });
})();
