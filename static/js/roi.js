// Drawing a rectangular region of interest on the baseline photo; the numeric fields stay the source of truth
// (and the keyboard path): dragging fills them, typing redraws the outline.
"use strict";

(function () {
  const editor = document.querySelector("[data-roi-editor]");
  const form = document.querySelector("form[data-roi-form]");
  if (!editor || !form) { return; }
  const width = Number(editor.dataset.width);
  const height = Number(editor.dataset.height);
  const shape = editor.querySelector("[data-role=shape]");
  const fields = ["x", "y", "w", "h"].map((name) => form.elements.namedItem(name));

  function draw() {
    const [x, y, w, h] = fields.map((f) => Number(f.value) || 0);
    shape.setAttribute("points", [[x, y], [x + w, y], [x + w, y + h], [x, y + h]].map((p) => p.join(",")).join(" "));
  }

  function fromPoints(points) {
    if (!points.length) { return; }
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const left = Math.min(...xs);
    const top = Math.min(...ys);
    [left, top, Math.max(...xs) - left, Math.max(...ys) - top].forEach((v, i) => { fields[i].value = Math.round(v); });
  }

  function toImage(event) {
    const box = editor.getBoundingClientRect();
    return [
      Math.max(0, Math.min(width, ((event.clientX - box.left) / box.width) * width)),
      Math.max(0, Math.min(height, ((event.clientY - box.top) / box.height) * height)),
    ];
  }

  let start = null;
  editor.addEventListener("pointerdown", (event) => {
    start = toImage(event);
    editor.setPointerCapture(event.pointerId);
  });
  editor.addEventListener("pointermove", (event) => {
    if (!start) { return; }
    fromPoints([start, toImage(event)]);
    draw();
  });
  editor.addEventListener("pointerup", () => { start = null; });
  fields.forEach((field) => field.addEventListener("input", draw));

  fromPoints(JSON.parse(editor.dataset.points || "[]"));
  draw();
}());
