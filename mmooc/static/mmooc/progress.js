// Live sending progress: polls the page's JSON endpoint every second and updates the bar.
// The page is complete without it; this only saves reloading.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector(".progress");
  var number = new Intl.NumberFormat("en");

  function show(data) {
    var total = data.total || 0;
    Object.keys(data.counts).forEach(function (status) {
      var count = data.counts[status];
      var segment = box.querySelector('[data-bar="' + status + '"]');
      if (segment) { segment.style.width = (total ? 100 * count / total : 0) + "%"; }
      var label = box.querySelector('[data-count="' + status + '"]');
      if (label) { label.textContent = number.format(count); }
    });
    bar.setAttribute("aria-valuenow", String(data.percent));
    bar.setAttribute("data-percent", String(data.percent));
    ["percent", "done", "total", "state"].forEach(function (field) {
      var el = box.querySelector('[data-field="' + field + '"]');
      if (el) { el.textContent = typeof data[field] === "number" && field !== "percent" ? number.format(data[field]) : data[field]; }
    });
    return data.finished || data.state === "cancelled";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { if (!show(data)) { setTimeout(poll, 1000); } })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
