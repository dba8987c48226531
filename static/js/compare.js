// Before/after comparison: side by side with synchronized zoom and pan, a swipe slider, an onion skin.
// Keyboard: focus a picture, then arrows pan, + and - zoom, 0 resets; the sliders are native range inputs.
"use strict";

(function () {
  const root = document.querySelector("[data-compare]");
  if (!root) { return; }
  const controls = document.querySelector("[data-compare-controls]");
  const images = { before: root.querySelector("img[data-role=before]"), after: root.querySelector("img[data-role=after]") };
  const afterPane = root.querySelector(".pane-after");
  const reveal = root.querySelector("[data-control=reveal]");
  const opacity = root.querySelector("[data-control=opacity]");
  const adjustedLabel = root.querySelector("[data-adjusted-label]");
  const view = { scale: 1, x: 0, y: 0 };

  function setMode(mode) {
    root.dataset.mode = mode;
    root.querySelectorAll("[data-for-mode]").forEach((element) => {
      element.hidden = element.dataset.forMode !== mode;
    });
    const url = new URL(window.location.href);
    url.searchParams.set("mode", mode);
    window.history.replaceState(null, "", url);
    applyOverlay();
  }

  function applyOverlay() {
    const mode = root.dataset.mode;
    afterPane.style.clipPath = mode === "slider" ? "inset(0 0 0 " + reveal.value + "%)" : "";
    afterPane.style.opacity = mode === "onion" ? String(opacity.value / 100) : "";
    reveal.setAttribute("aria-valuetext", reveal.value + "% of the after photo hidden from the left");
    opacity.setAttribute("aria-valuetext", opacity.value + "% opaque");
  }

  function applyTransform() {
    const transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
    Object.values(images).forEach((image) => { image.style.transform = transform; });
  }

  function zoom(factor) {
    view.scale = Math.min(8, Math.max(1, view.scale * factor));
    if (view.scale === 1) { view.x = 0; view.y = 0; }
    applyTransform();
  }

  function pan(dx, dy) {
    if (view.scale === 1) { return; }
    view.x += dx;
    view.y += dy;
    applyTransform();
  }

  function chooseSources() {
    const aligned = controls.querySelector("[data-toggle=aligned]");
    const adjusted = controls.querySelector("[data-toggle=adjusted]");
    const useAligned = aligned.checked && root.dataset.beforeAligned;
    adjusted.disabled = !useAligned;
    const useAdjusted = useAligned && adjusted.checked;
    const kind = useAdjusted ? "adjusted" : (useAligned ? "aligned" : "display");
    images.before.src = root.dataset["before" + kind.charAt(0).toUpperCase() + kind.slice(1)];
    images.after.src = root.dataset["after" + kind.charAt(0).toUpperCase() + kind.slice(1)];
    adjustedLabel.hidden = !useAdjusted;
  }

  controls.addEventListener("change", (event) => {
    if (event.target.name === "mode") { setMode(event.target.value); }
    if (event.target.dataset.toggle) { chooseSources(); }
  });
  controls.querySelectorAll("[data-zoom]").forEach((button) => button.addEventListener("click", () => {
    if (button.dataset.zoom === "in") { zoom(1.25); }
    if (button.dataset.zoom === "out") { zoom(0.8); }
    if (button.dataset.zoom === "reset") { view.scale = 1; view.x = 0; view.y = 0; applyTransform(); }
  }));
  reveal.addEventListener("input", applyOverlay);
  opacity.addEventListener("input", applyOverlay);

  root.querySelectorAll(".pane").forEach((pane) => {
    pane.addEventListener("keydown", (event) => {
      const step = 40;
      const actions = {
        ArrowLeft: () => pan(step, 0), ArrowRight: () => pan(-step, 0),
        ArrowUp: () => pan(0, step), ArrowDown: () => pan(0, -step),
        "+": () => zoom(1.25), "=": () => zoom(1.25), "-": () => zoom(0.8),
        "0": () => { view.scale = 1; view.x = 0; view.y = 0; applyTransform(); },
      };
      if (actions[event.key]) { event.preventDefault(); actions[event.key](); }
    });
    pane.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(event.deltaY < 0 ? 1.15 : 0.87);
    }, { passive: false });
    let dragging = null;
    pane.addEventListener("pointerdown", (event) => {
      dragging = { x: event.clientX, y: event.clientY };
      pane.setPointerCapture(event.pointerId);
    });
    pane.addEventListener("pointermove", (event) => {
      if (!dragging) { return; }
      pan(event.clientX - dragging.x, event.clientY - dragging.y);
      dragging = { x: event.clientX, y: event.clientY };
    });
    pane.addEventListener("pointerup", () => { dragging = null; });
  });

  setMode(root.dataset.mode);
}());
