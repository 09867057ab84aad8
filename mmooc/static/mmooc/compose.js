// The compose page: a live preview (the server renders it), the welcome switch, and
// inserting a module's resources into the body.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  var timer = null;
  var pending = null;
  function list(el, items) {
    el.textContent = "";
    (items || []).forEach(function (text) {
      var li = document.createElement("li"); li.textContent = text; el.appendChild(li);
    });
  }
  function show(p) {
    document.getElementById("preview-subject").textContent = p.subject || "";
    document.getElementById("preview-body").innerHTML = p.html || "";  // sanitized by the server
    list(document.getElementById("problems"), p.problems);
    document.getElementById("note").textContent = p.note || "";
    document.getElementById("count").textContent = p.count === undefined ? "—" : p.count;
    document.getElementById("timing").textContent = p.timing || "";
  }
  function refresh() {
    var data = new FormData(form);
    data.delete("action");
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.dataset.previewUrl, {method: "POST", body: data, credentials: "same-origin",
                                    headers: {"X-CSRFToken": data.get("csrfmiddlewaretoken")},
                                    signal: pending.signal})
      .then(function (r) { return r.json(); }).then(show).catch(function () {});
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 400); }
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  form.elements.welcome.addEventListener("change", function () {
    document.getElementById("schedule-fields").hidden = form.elements.welcome.checked;
    var button = document.getElementById("schedule-button");
    if (button) { button.hidden = form.elements.welcome.checked; }
  });
  var modules = JSON.parse(document.getElementById("module-resources").textContent);
  document.getElementById("insert-resources").addEventListener("click", function () {
    var position = document.getElementById("insert-module").value;
    var module = modules.filter(function (m) { return String(m.position) === position; })[0];
    if (!module) { return; }
    var body = form.elements.body;
    var start = body.selectionStart, end = body.selectionEnd;
    body.value = body.value.slice(0, start) + module.markdown + "\n" + body.value.slice(end);
    body.focus();
    later();
  });
  if (!document.getElementById("preview-subject").textContent && form.elements.body.value) { refresh(); }
})();
