// Capture with a ghost: the live camera with the baseline photo laid over it at adjustable opacity, so a
// re-take matches pose and distance. The shot goes through the normal upload. Without a camera (or without
// permission) the plain file input below stays, which on phones opens the camera app.
"use strict";

(function () {
  const root = document.querySelector("[data-capture]");
  if (!root) { return; }
  const video = root.querySelector("[data-role=video]");
  const ghost = root.querySelector("[data-role=ghost]");
  const opacity = root.querySelector("[data-control=ghost-opacity]");
  const status = root.querySelector("[data-role=status]");
  const start = root.querySelector("[data-action=start]");
  const shoot = root.querySelector("[data-action=shoot]");
  const fallback = root.querySelector("form[data-fallback]");
  const csrf = fallback.querySelector("input[name=csrf_token]");

  function setGhost() {
    if (ghost && opacity) { ghost.style.opacity = String(opacity.value / 100); }
  }
  if (opacity) { opacity.addEventListener("input", setGhost); setGhost(); }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    status.textContent = "This browser cannot use the camera here: use the file button below.";
    return;
  }
  start.hidden = false;

  start.addEventListener("click", () => {
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1920 } }, audio: false })
      .then((stream) => {
        video.srcObject = stream;
        video.hidden = false;
        return video.play();
      })
      .then(() => {
        start.hidden = true;
        shoot.hidden = false;
        root.classList.add("live");
        status.textContent = "Camera on. Line up with the guide, then take the photo.";
        shoot.focus();
      })
      .catch(() => {
        status.textContent = "The camera is not available (no permission or no camera): use the file button below.";
      });
  });

  function today() {
    const now = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
  }

  shoot.addEventListener("click", () => {
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    shoot.disabled = true;
    status.textContent = "Uploading…";
    canvas.toBlob((blob) => {
      const data = new FormData();
      data.append("file", blob, "capture.jpg");
      data.append("view", root.dataset.view);
      data.append("taken_on", today());
      fetch(root.dataset.uploadUrl, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrf.value },
      })
        .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
        .then(({ ok, body }) => {
          shoot.disabled = false;
          if (ok) {
            status.textContent = "Saved. ";
            const link = document.createElement("a");
            link.href = body.url;
            link.textContent = "Open the photo";
            status.append(link);
          } else {
            status.textContent = (body.error && body.error.message) || "The upload failed; nothing was saved.";
          }
        })
        .catch(() => {
          shoot.disabled = false;
          status.textContent = "The connection failed; nothing was saved. Try again.";
        });
    }, "image/jpeg", 0.92);
  });
}());
