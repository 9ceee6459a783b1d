// plate-bridge web page: the live list (server-sent events). No framework, no
// innerHTML: every value goes through textContent or setAttribute, so a plate read
// as "<img src=x onerror=...>" stays text.
"use strict";

(function () {
  var MAX_ITEMS = 50;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Same text as the server renders (bridge/web/pages_live.py).
  function when(moment) {
    return moment && moment.length >= 19 ? moment.slice(0, 19).replace("T", " ") + " UTC" : moment || "";
  }

  function scoreText(score) {
    return score === null || score === undefined ? "" : Math.round(score * 100) + "%";
  }

  function readItem(read) {
    var li = el("li", "read");
    li.setAttribute("data-id", read.id);
    li.setAttribute("data-plate", read.plate);
    li.setAttribute("data-watched", read.watched ? "true" : "false");
    if (read.picture) {
      var img = el("img");
      img.setAttribute("src", "picture/" + encodeURIComponent(read.id));
      img.setAttribute("alt", "Picture of " + read.plate);
      li.appendChild(img);
    }
    var info = el("div", "info");
    info.appendChild(el("span", "plate", read.plate));
    info.appendChild(el("span", "status", read.watched ? "watched: " + read.watch_name : "unknown"));
    info.appendChild(el("span", "kind", read.watch_kind || ""));
    info.appendChild(el("span", "camera", read.camera));
    var time = el("time", "time", when(read.time));
    time.setAttribute("datetime", read.time);
    info.appendChild(time);
    info.appendChild(el("span", "score", scoreText(read.score)));
    info.appendChild(el("span", "vehicle", read.vehicle));
    li.appendChild(info);
    return li;
  }

  function live(list) {
    var state = document.getElementById("live-state");
    function show(text, ok) {
      if (!state) return;
      state.textContent = text;
      state.className = "state " + (ok ? "good" : "bad");
    }
    var source = new EventSource("events");
    source.addEventListener("open", function () { show("live", true); });
    source.addEventListener("error", function () {
      // CLOSED: the server refused the stream (e.g. 503, too many live pages): the
      // browser will not retry by itself, so say so instead of "reconnecting" for ever.
      if (source.readyState === EventSource.CLOSED) show("not live: reload the page", false);
      else show("reconnecting…", false);
    });
    source.addEventListener("read", function (message) {
      var read;
      try { read = JSON.parse(message.data); } catch (err) { return; }
      if (list.querySelector('li[data-id="' + CSS.escape(read.id) + '"]')) return;
      list.insertBefore(readItem(read), list.firstChild);
      while (list.children.length > MAX_ITEMS) list.removeChild(list.lastChild);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("live");
    if (list && window.EventSource) live(list);
  });
})();
