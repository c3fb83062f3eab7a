// coopmatch report: sort and filter the ranking table. Data is read from data-
// attributes and textContent only; nothing from the data is ever parsed as HTML.
// State lives in the address (#sort=score-desc&filter=Lyon&show=eligible,to_check)
// so a view can be shared and reopened.
(function () {
  "use strict";
  var table = document.getElementById("ranking");
  if (!table) { return; }
  var body = table.tBodies[0];
  var box = document.getElementById("filter");
  var checks = Array.prototype.slice.call(document.querySelectorAll("input[name=verdict]"));
  var count = document.getElementById("shown");
  var headers = Array.prototype.slice.call(table.querySelectorAll("th[data-key]"));
  var state = { key: "", dir: "asc" };

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function rows() { return Array.prototype.slice.call(body.rows); }

  function value(row, key, numeric) {
    var raw = row.getAttribute("data-" + key);
    if (!numeric) { return raw === null ? "" : raw; }
    return raw === null || raw === "" ? null : parseFloat(raw);
  }

  function sortBy(key, dir) {
    if (!/^[a-z_]+$/.test(key)) { return; }
    var header = table.querySelector("th[data-key=" + key + "]");
    if (!header) { return; }
    var numeric = header.getAttribute("data-type") === "number";
    var sign = dir === "desc" ? -1 : 1;
    var indexed = rows().map(function (row, i) { return [row, i]; });
    indexed.sort(function (a, b) {
      var x = value(a[0], key, numeric), y = value(b[0], key, numeric);
      if (x === null && y === null) { return a[1] - b[1]; }
      if (x === null) { return 1; }
      if (y === null) { return -1; }
      var c = numeric ? x - y : x.localeCompare(y, document.documentElement.lang);
      if (c === 0) {  // ties keep the ranking order
        return parseFloat(a[0].getAttribute("data-order")) - parseFloat(b[0].getAttribute("data-order"));
      }
      return sign * c;
    });
    indexed.forEach(function (pair) { body.appendChild(pair[0]); });
    headers.forEach(function (h) {
      h.setAttribute("aria-sort", h === header ? (dir === "desc" ? "descending" : "ascending") : "none");
    });
    state.key = key; state.dir = dir;
  }

  function filter() {
    var words = fold(box.value).split(/\s+/).filter(Boolean);
    var shown = {};
    checks.forEach(function (c) { shown[c.value] = c.checked; });
    var n = 0;
    rows().forEach(function (row) {
      var text = fold(row.getAttribute("data-search"));
      var ok = shown[row.getAttribute("data-verdict")] !== false &&
        words.every(function (w) { return text.indexOf(w) !== -1; });
      row.classList.toggle("hidden", !ok);
      if (ok) { n += 1; }
    });
    count.textContent = String(n);
  }

  function writeHash() {
    var parts = [];
    if (state.key) { parts.push("sort=" + state.key + "-" + state.dir); }
    if (box.value) { parts.push("filter=" + encodeURIComponent(box.value)); }
    var off = checks.filter(function (c) { return !c.checked; });
    if (off.length) {
      parts.push("show=" + checks.filter(function (c) { return c.checked; })
        .map(function (c) { return c.value; }).join(","));
    }
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname); } catch (e) { /* file: URLs may refuse */ }
  }

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (params.has("filter")) { box.value = params.get("filter"); }
    if (params.has("show")) {
      var wanted = params.get("show").split(",");
      checks.forEach(function (c) { c.checked = wanted.indexOf(c.value) !== -1; });
    }
    var sort = params.get("sort");
    if (sort) {
      var cut = sort.lastIndexOf("-");
      var key = cut > 0 ? sort.slice(0, cut) : sort;
      var dir = cut > 0 ? sort.slice(cut + 1) : "asc";
      sortBy(key, dir === "desc" ? "desc" : "asc");
    }
  }

  headers.forEach(function (h) {
    h.setAttribute("tabindex", "0");
    function activate() {
      var key = h.getAttribute("data-key");
      var dir = state.key === key ? (state.dir === "asc" ? "desc" : "asc") : (h.getAttribute("data-first") || "asc");
      sortBy(key, dir); writeHash();
    }
    h.addEventListener("click", activate);
    h.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); activate(); } });
  });
  box.addEventListener("input", function () { filter(); writeHash(); });
  checks.forEach(function (c) { c.addEventListener("change", function () { filter(); writeHash(); }); });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.setAttribute("open", ""); });
  });
  readHash();
  filter();
  document.documentElement.setAttribute("data-ready", "1");
})();
