// coopmatch serve: the decision dialog and the territory autocomplete. Values are read from data-
// attributes and set with .value / textContent only; nothing is ever parsed as HTML.
(function () {
  "use strict";
  var dialog = document.getElementById("decide-dialog");
  if (dialog) {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button.decide") : null;
      if (!button) { return; }
      var form = dialog.querySelector("form");
      form.elements.project_id.value = button.getAttribute("data-project") || "";
      form.elements.funder_id.value = button.getAttribute("data-funder") || "";
      form.elements.call_id.value = button.getAttribute("data-call") || "";
      dialog.querySelector(".pair").textContent = form.elements.project_id.value + " × " +
        form.elements.funder_id.value + (form.elements.call_id.value ? " / " + form.elements.call_id.value : "");
      dialog.showModal();
    });
    var cancel = dialog.querySelector("button.cancel");
    if (cancel) { cancel.addEventListener("click", function () { dialog.close(); }); }
  }
  var place = document.getElementById("territory");
  var list = document.getElementById("places");
  if (place && list) {
    var timer = null;
    place.addEventListener("input", function () {
      clearTimeout(timer);
      var q = place.value;
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        fetch("/api/v1/territories?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { places: [] }; })
          .then(function (data) {
            while (list.firstChild) { list.removeChild(list.firstChild); }
            data.places.forEach(function (p) {
              var option = document.createElement("option");
              option.value = p.code;
              option.textContent = p.label;
              list.appendChild(option);
            });
          });
      }, 150);
    });
  }
}());
