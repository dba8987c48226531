// Show only the item inputs of the chosen scale (POSAS, Davey); without this script all of them show.
"use strict";

(function () {
  const form = document.querySelector("form[data-assessment]");
  if (!form) { return; }
  const select = form.querySelector("select[name=scale]");
  const groups = Array.from(form.querySelectorAll("[data-items-for]"));
  function update() {
    groups.forEach((group) => {
      const active = group.dataset.itemsFor === select.value;
      group.hidden = !active;
      group.querySelectorAll("input").forEach((input) => { input.disabled = !active; });
    });
  }
  select.addEventListener("change", update);
  update();
}());
