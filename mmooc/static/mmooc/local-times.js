// Times marked <time class="local"> shown in the reader's own time zone.
(function () {
  var fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "full", timeStyle: "short"});
  document.querySelectorAll("time.local").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = fmt.format(d); }
  });
})();
