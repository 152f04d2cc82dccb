// Ferry portal: the little behaviour htmx does not give. No inline scripts
// (the Content-Security-Policy forbids them); everything hangs on data-* attributes.
(function () {
  "use strict";

  // Live updates: <section data-live="/projects/7/live"> listens to the
  // server's events and updates rows marked data-item="ID" and counts
  // marked data-count="Status" in place.
  function connectLive(el) {
    if (el.dataset.liveConnected) return;
    el.dataset.liveConnected = "1";
    var es = new EventSource(el.dataset.live);
    // What the throughput section shows: the page's own, then each update's.
    var drawn = document.querySelector("[data-copied]");
    var copied = drawn ? drawn.dataset.copied : null;
    es.addEventListener("update", function (ev) {
      var u = JSON.parse(ev.data);
      (u.items || []).forEach(function (it) {
        document.querySelectorAll('[data-item="' + it.id + '"]').forEach(function (row) {
          if (it.status) {
            set(row, ".js-status", it.status);
            set(row, ".js-errors", String(it.errors));
            set(row, ".js-pass", it.last_pass || "—");
            set(row, ".js-updated", it.updated);
            if (it.status !== "Queued") set(row, ".js-wait", "");
            var fix = row.querySelector(".js-fix");
            if (fix) fix.hidden = it.status !== "Failed";
            row.dataset.status = it.status;
          }
          set(row, ".js-migrated-text", it.migrated);
          row.querySelectorAll(".js-progress").forEach(function (p) {
            p.hidden = !it.running;
            p.value = Math.round(it.percent || 0);
            p.textContent = Math.round(it.percent || 0) + "%";
          });
        });
      });
      // The project's passes copied more, started or ended: draw the
      // throughput again (the latest answer wins).
      var tp = document.querySelector("[data-throughput-url]");
      if (tp && u.copied && copied !== null && u.copied !== copied) refreshThroughput(tp);
      if (u.copied) copied = u.copied;
      if (u.breakdown) {
        document.querySelectorAll("[data-count]").forEach(function (c) {
          c.textContent = (u.breakdown[c.dataset.count] || 0).toLocaleString("en-US");
        });
        document.querySelectorAll("[data-bar]").forEach(function (b) {
          var n = u.breakdown[b.dataset.bar] || 0;
          b.style.width = (u.total ? (n * 100) / u.total : 0) + "%";
        });
      }
      document.dispatchEvent(new CustomEvent("ferry:live", { detail: u }));
    });
    document.addEventListener("htmx:beforeCleanupElement", function (e) {
      if (e.target === el) es.close();
    });
  }
  var throughputAsked = 0;
  function refreshThroughput(tp) {
    var n = ++throughputAsked;
    fetch(tp.dataset.throughputUrl, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null || n !== throughputAsked) return;
        tp.innerHTML = html;
        localTimes(tp);
      })
      .catch(function () { /* the next update asks again */ });
  }
  function set(row, sel, text) {
    var c = row.querySelector(sel);
    if (c && c.textContent !== text) c.textContent = text;
  }

  // Select all: <input type="checkbox" data-select-all="name"> ticks every
  // checkbox named name in the same form.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.dataset && t.dataset.selectAll) {
      var form = t.closest("form") || document;
      form.querySelectorAll('input[type=checkbox][name="' + t.dataset.selectAll + '"]').forEach(function (c) {
        c.checked = t.checked;
      });
    }
  });

  // Dialogs: content swapped into a <dialog> opens it; data-close closes it.
  document.addEventListener("htmx:afterSwap", function (e) {
    var d = e.target.closest && e.target.closest("dialog");
    if (d && !d.open) {
      d.showModal();
      var first = d.querySelector("input, select, textarea, button");
      if (first) first.focus();
    }
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-close]");
    if (t) {
      var d = t.closest("dialog");
      if (d) {
        d.close();
        if (t.tagName === "A") e.preventDefault(); // the link is for pages without script
      }
    }
  });
  // HX-Trigger: {"ferry-flash": "Task saved."} shows a confirmation.
  document.addEventListener("ferry-flash", function (e) {
    var a = document.getElementById("alert");
    var msg = e.detail && (e.detail.value || e.detail);
    if (a && typeof msg === "string") {
      a.innerHTML = "";
      var n = document.createElement("div");
      n.className = "notice";
      n.setAttribute("role", "status");
      n.textContent = msg;
      a.appendChild(n);
    }
  });

  // An answer that says where it goes (HX-Retarget: an error for the page's
  // alert area or an open dialog) is shown even with a 4xx status.
  document.addEventListener("htmx:beforeSwap", function (e) {
    var x = e.detail.xhr;
    if (x && x.status >= 400 && x.status < 500 && x.getResponseHeader("HX-Retarget")) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
    }
  });
  // HX-Trigger: close-dialog closes the open dialogs (after a saved form).
  document.addEventListener("close-dialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  });

  // Time zones: the server reads times typed in forms in the zone this
  // cookie names (the browser's), and <time datetime> elements, written in
  // the server's zone, are shown in the reader's.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (err) { zone = ""; }
  if (zone && document.cookie.indexOf("ferry_tz=" + encodeURIComponent(zone)) < 0) {
    document.cookie = "ferry_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function localTimes(root) {
    root.querySelectorAll("time[datetime]").forEach(function (t) {
      if (t.dataset.localized) return;
      var d = new Date(t.getAttribute("datetime"));
      if (isNaN(d.getTime())) return;
      t.dataset.localized = "1";
      t.title = t.textContent;
      t.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
        pad(d.getHours()) + ":" + pad(d.getMinutes());
    });
  }

  function scan(root) {
    root = root.querySelectorAll ? root : document;
    root.querySelectorAll("[data-live]").forEach(connectLive);
    // An error the person must see (a failed bulk add far down the page).
    var err = root.querySelector("[data-scroll-into-view]");
    if (err && !err.dataset.scrolled) {
      err.dataset.scrolled = "1";
      err.scrollIntoView({ block: "center" });
      err.focus({ preventScroll: true });
    }
    localTimes(root);
    // Before the cookie reached the server, the page named the server's zone.
    if (zone) root.querySelectorAll("[data-zone]").forEach(function (el) {
      if (el.tagName === "INPUT") { if (!el.dataset.zoneSet) { el.value = zone; el.dataset.zoneSet = "1"; } }
      else el.textContent = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.target.parentNode || document); });
})();
