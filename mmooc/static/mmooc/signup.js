// The signup form: the time zone field filled in from the browser's own.
(function () {
  var input = document.getElementById("id_timezone"), shown = document.getElementById("tz-detected");
  var legacy = JSON.parse(document.getElementById("legacy-zones").textContent);
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) {}
  zone = legacy[zone] || zone;
  if (zone && input && !input.dataset.bound) { input.value = zone; shown.textContent = zone; }
  if (input) { input.addEventListener("input", function () { shown.textContent = input.value; }); }
})();
