// The send plan of a draft: loaded after the page (it counts every learner of the audience,
// which takes a moment in a large cohort); without script, its link shows it in the page.
(function () {
  "use strict";
  var slot = document.getElementById("send-plan");
  if (!slot || !slot.dataset.planUrl) { return; }
  fetch(slot.dataset.planUrl, {credentials: "same-origin"})
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
    .then(function (html) {
      var box = document.createElement("div");
      box.innerHTML = html;  // rendered and escaped by the server
      var plan = box.querySelector("#send-plan");
      if (plan) { slot.replaceWith(plan); }
    })
    .catch(function () {});
})();
