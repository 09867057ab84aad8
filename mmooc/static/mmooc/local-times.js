// Instants marked <time class="local"> (signup opening and closing) in the visitor's own
// zone; course days are calendar dates, the same everywhere, and stay as the server wrote them.
(function () {
  var fmt = new Intl.DateTimeFormat("en-GB", {weekday: "short", day: "numeric", month: "short", year: "numeric",
                                             hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
  document.querySelectorAll("time.local").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = fmt.format(d); }
  });
})();
