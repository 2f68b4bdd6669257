// Small enhancements; every page works without them.
(function () {
  "use strict";

  // Ask before anything destructive: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // On a phone the menu scrolls sideways: keep the current page's entry in view.
  var current = document.querySelector(".topnav [aria-current=page]");
  if (current && current.parentElement.scrollWidth > current.parentElement.clientWidth) {
    current.parentElement.scrollLeft = current.offsetLeft - 8;
  }

  // Buttons that need JavaScript are hidden until it runs.
  document.querySelectorAll("[data-formset-add]").forEach(function (button) {
    button.hidden = false;
  });

  // Inline formsets: "Add another" clones the empty form; rows are removed by their checkbox.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-formset-add]");
    if (!button) return;
    event.preventDefault();
    var prefix = button.getAttribute("data-formset-add");
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById(prefix + "-empty");
    var rows = document.getElementById(prefix + "-rows");
    if (!total || !template || !rows) return;
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var first = rows.lastElementChild && rows.lastElementChild.querySelector("select, input, textarea");
    if (first) first.focus();
  });

  // Copy buttons: <button data-copy="input-id" hidden>; shown only where copying works.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (navigator.clipboard) button.hidden = false;
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.value).then(function () {
      button.textContent = button.getAttribute("data-copied") || button.textContent;
    });
  });

  // An authority added inline (directory/authority_inline_added.html) is chosen in the field
  // it was added from: a new selected option, or a new ticked checkbox.
  document.addEventListener("htmx:afterSwap", function (event) {
    var notes = event.target.querySelectorAll ? event.target.querySelectorAll("[data-new-choice]") : [];
    notes.forEach(function (note) {
      var target = document.getElementById(note.getAttribute("data-target"));
      var value = note.getAttribute("data-value");
      var label = note.getAttribute("data-label");
      if (!target) return;
      if (target.tagName === "SELECT") {
        target.add(new Option(label, value, true, true));
        return;
      }
      var sample = target.querySelector("input[type=checkbox]");
      var name = sample ? sample.name : target.id.replace(/^id_/, "");
      var row = document.createElement("div");
      var box = document.createElement("input");
      var text = document.createElement("label");
      box.type = "checkbox";
      box.name = name;
      box.value = value;
      box.checked = true;
      text.appendChild(box);
      text.appendChild(document.createTextNode(" " + label));
      row.appendChild(text);
      target.appendChild(row);
    });
  });

  // Language switcher: submit on change (a button is there for keyboard and no-JS use).
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) {
      event.target.form.submit();
    }
  });
})();
