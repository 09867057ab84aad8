// Instants marked <time class="local"> (signup opening and closing) in the visitor's own
// zone; course days are calendar dates, the same everywhere, and stay as the server wrote them.
// On staff pages, <time class="staff-time"> keeps its UTC text and gets the reader's own time
// after it, unless their zone is UTC at that instant.
(function () {
  // In the page's language (English pages keep the day-month order of the rest of the site).
  var lang = document.documentElement.lang;
  var fmt = new Intl.DateTimeFormat(!lang || lang === "en" ? "en-GB" : lang, {weekday: "short", day: "numeric", month: "short", year: "numeric",
                                             hour: "2-digit", minute: "2-digit", timeZoneName: "short"});
  document.querySelectorAll("time.local").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) { t.textContent = fmt.format(d); }
  });
  document.querySelectorAll("time.staff-time").forEach(function (t) {
    var d = new Date(t.getAttribute("datetime"));
    if (isNaN(d) || d.getTimezoneOffset() === 0 || t.nextElementSibling && t.nextElementSibling.classList.contains("reader-time")) { return; }
    var mine = document.createElement("span");
    mine.className = "reader-time";
    mine.textContent = " (" + fmt.format(d) + ")";
    t.after(mine);
  });
})();
