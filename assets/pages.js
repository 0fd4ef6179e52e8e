/* The leaders' and staff pages (/kpi, /region, /case) on any screen.

   They are laid out in CSS pixels for a 1080p screen and flow down to a 1366×768 laptop.
   A screen larger than 1080p without OS scaling (a 4K monitor or TV at 100 %) would show
   them at half size, so, as the wall does (wall.js), they are scaled up: the page is laid
   out 1920 px wide (wider on a wide screen) and drawn `--gw-page-scale` times larger
   (pages.css): 2 at 3840×2160. Charts, tables, dropdowns and the date picker scale with
   the rest. Smaller screens are never scaled down: the text stays readable and the
   layout flows instead. */
(function () {
  "use strict";
  var DESIGN_W = 1920, DESIGN_H = 1080;
  var scale = 1;

  function fit() {
    var root = document.documentElement;
    var w = root.clientWidth || window.innerWidth, h = window.innerHeight;
    scale = Math.min(w / DESIGN_W, h / DESIGN_H);
    if (!(scale > 1.001)) scale = 1;
    root.style.setProperty("--gw-page-scale", String(scale));
    root.classList.toggle("gw-page-scaled", scale > 1);
  }

  /* AG Grid sizes a column to its content ("autoSize") by copying the column's cells into
     a <form> inside the grid and reading that form's getBoundingClientRect().width, which
     includes the page's scale: every column would come out `scale` times too wide. Those
     measuring forms are the only forms on these pages; give AG Grid their width in the
     page's own pixels, as it expects. */
  var rectOf = Element.prototype.getBoundingClientRect;
  HTMLFormElement.prototype.getBoundingClientRect = function () {
    var r = rectOf.call(this);
    if (scale === 1 || !this.closest(".gw-page .ag-root-wrapper")) return r;
    return new DOMRect(r.x, r.y, r.width / scale, r.height / scale);
  };

  /* Dash's date pickers name months and weekdays with window.dateFns.locale, picked by the
     browser's languages: a kiosk or laptop set to English showed "December / Mo Tu" on a
     Chinese page. They follow the page's language instead: Chinese (vendor/date-fns-zh-CN,
     loaded after this file, assigns its locale through the setter) unless the page is in
     English, where no locale means date-fns' own English. */
  var locales = {};
  Object.defineProperty(window, "dateFns", {
    configurable: true,
    get: function () {
      var page = document.querySelector(".gw-page[lang]");
      var english = page && page.getAttribute("lang") === "en";
      return { locale: english || !locales.zhCN ? {} : { zhCN: locales.zhCN } };
    },
    set: function (value) {
      var given = (value && value.locale) || {};
      Object.keys(given).forEach(function (k) { locales[k] = given[k]; });
    }
  });

  /* A query refused for now (429: too many in a minute, dashboard/app/rate_limits.py):
     the page keeps what it shows and says, in the server's words and the page's
     language, when to try again; the notice goes away by itself then. */
  var noticeTimer = null;
  function showNotice(text, seconds) {
    var el = document.getElementById("gw-notice");
    if (!el) {
      el = document.createElement("div");
      el.id = "gw-notice";
      el.className = "gw-toast";
      el.setAttribute("role", "status");
      document.body.appendChild(el);
    }
    el.textContent = text;
    el.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { el.hidden = true; }, Math.max(1, seconds) * 1000);
  }

  /* A callback answered 401 has no session behind it any more (idle timeout, logout in
     another tab, account disabled): the page goes to the login, which brings the reader
     back here afterwards. A wall device's callbacks need no session (a wall without a
     device or a session gets the login too; a revoked device's get 403: wall.js). */
  var fetchOf = window.fetch;
  window.fetch = function (input, init) {
    return fetchOf.apply(this, arguments).then(function (resp) {
      var url = typeof input === "string" ? input : (input && input.url) || "";
      if (url.indexOf("_dash-update-component") === -1) return resp;
      if (resp.status === 401) {
        var here = location.pathname + location.search;
        location.assign("/login?m=ended&next=" + encodeURIComponent(here));
      } else if (resp.status === 429) {
        // A copy: Dash reads the answer itself.
        resp.clone().json().then(function (body) {
          showNotice(body.message || "", Number(body.retry_after) || 10);
        }, function () {});
      }
      return resp;
    });
  };

  window.gwPages = { fit: fit, scale: function () { return scale; } };
  window.addEventListener("resize", fit);
  fit();
})();
