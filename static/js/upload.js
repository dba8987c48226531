// Upload with a progress bar per file, drag-and-drop and the phone camera. Without this script the form
// still works (a plain multipart POST); with it each file goes on its own, and succeeds or fails on its own.
"use strict";

(function () {
  const form = document.querySelector("form[data-upload]");
  const list = document.querySelector("[data-upload-list]");
  const poller = document.querySelector("[data-poll]");
  if (poller) { pollUntilDone(poller.dataset.poll, () => window.location.reload()); }
  if (!form || !list) { return; }

  const csrf = form.querySelector("input[name=csrf_token]");
  const zone = form.querySelector("[data-dropzone]");
  const chosen = form.querySelector("[data-chosen]");
  const inputs = Array.from(form.querySelectorAll("input[type=file]"));
  let queue = [];

  function describeChoice() {
    const files = inputs.flatMap((input) => Array.from(input.files));
    chosen.textContent = files.length ? files.length + " photo" + (files.length > 1 ? "s" : "") + " chosen." : "";
  }
  inputs.forEach((input) => input.addEventListener("change", describeChoice));

  ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  }));
  ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("dragging")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    startAll(Array.from(event.dataTransfer.files));
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const files = inputs.flatMap((input) => Array.from(input.files));
    if (!files.length) {
      chosen.textContent = "Choose at least one photo.";
      return;
    }
    startAll(files);
    inputs.forEach((input) => { input.value = ""; });
    describeChoice();
  });

  function startAll(files) {
    files.forEach((file) => queue.push(makeRow(file)));
    pump();
  }

  let running = 0;
  function pump() {
    while (running < 2 && queue.length) {
      const job = queue.shift();
      running += 1;
      send(job, () => { running -= 1; pump(); });
    }
  }

  function makeRow(file) {
    const row = document.createElement("li");
    row.className = "upload-row";
    const name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name || "photo";
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + (file.name || "photo"));
    const status = document.createElement("span");
    status.className = "upload-status";
    status.textContent = "Waiting…";
    row.append(name, bar, status);
    list.append(row);
    // One key per photo, kept across retries: if the answer to an upload is lost on the way, resending it
    // returns the photo that was saved instead of storing it twice.
    return { file, row, bar, status, takenOn: null, key: newKey() };
  }

  function newKey() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fields(job) {
    const data = new FormData();
    data.append("file", job.file, job.file.name || "photo");
    ["taken_on", "view", "note"].forEach((key) => {
      const element = form.elements.namedItem(key);
      if (element && element.value) { data.append(key, element.value); }
    });
    if (job.takenOn) { data.set("taken_on", job.takenOn); }
    return data;
  }

  function send(job, done) {
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.setRequestHeader("Accept", "application/json");
    request.setRequestHeader("X-CSRFToken", csrf.value);
    request.setRequestHeader("Idempotency-Key", job.key);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        job.bar.value = Math.round((event.loaded / event.total) * 100);
        job.status.textContent = job.bar.value < 100 ? "Uploading " + job.bar.value + "%" : "Checking the photo…";
      }
    });
    request.addEventListener("load", () => {
      let body = {};
      try { body = JSON.parse(request.responseText); } catch (error) { body = {}; }
      if (request.status === 201 || request.status === 200) { accepted(job, body); } else { refused(job, request.status, body); }
      done();
    });
    request.addEventListener("error", () => {
      setStatus(job, "error", "The connection failed before the clinic's answer arrived. ");
      offerRetry(job);
      done();
    });
    job.status.textContent = "Uploading…";
    request.send(fields(job));
  }

  function setStatus(job, kind, text) {
    job.row.dataset.state = kind;
    job.status.textContent = text;
  }

  function accepted(job, body) {
    job.bar.value = 100;
    const photo = body.photo;
    const source = photo.taken_on_source === "exif" ? " (date read from the photo — change it if it is wrong)" : "";
    setStatus(job, "done", "Saved — taken on " + photo.taken_on + source + ". ");
    const link = document.createElement("a");
    link.href = body.url;
    link.textContent = "Open";
    job.status.append(link);
    (body.warnings || []).forEach((warning) => {
      const note = document.createElement("span");
      note.className = "upload-warning";
      note.textContent = " " + warning;
      job.status.append(note);
    });
    if (photo.status === "processing") {
      pollUntilDone("/photos/" + photo.id + "/status", (result) => {
        if (result.status === "failed") { setStatus(job, "error", "Could not process: " + result.failure_reason); }
      });
    }
  }

  function refused(job, status, body) {
    const error = body.error || { message: "The upload failed (" + status + "). Nothing was saved." };
    setStatus(job, "error", error.message + " ");
    if (error.photo_id) {
      const link = document.createElement("a");
      link.href = "/photos/" + error.photo_id;
      link.textContent = "See the existing photo";
      job.status.append(link);
    }
    if (error.fields && error.fields.taken_on) { askForDate(job); }
  }

  function offerRetry(job) {
    const again = document.createElement("button");
    again.type = "button";
    again.className = "button small";
    again.textContent = "Try again";
    again.title = "Safe to repeat: a photo that did arrive is not saved twice.";
    again.addEventListener("click", () => {
      again.remove();
      queue.push(job);
      pump();
    });
    job.status.append(again);
    again.focus();
  }

  function askForDate(job) {
    const label = document.createElement("label");
    label.textContent = "Taken on ";
    const input = document.createElement("input");
    input.type = "date";
    input.max = new Date().toISOString().slice(0, 10);
    label.append(input);
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "button small";
    retry.textContent = "Upload with this date";
    retry.addEventListener("click", () => {
      if (!input.value) { input.focus(); return; }
      job.takenOn = input.value;
      label.remove();
      retry.remove();
      queue.push(job);
      pump();
    });
    job.row.append(label, retry);
    input.focus();
  }

  function pollUntilDone(url, onDone) {
    const tick = () => fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((result) => {
        if (result.status === "processing") { window.setTimeout(tick, 1500); } else { onDone(result); }
      })
      .catch(() => window.setTimeout(tick, 5000));
    window.setTimeout(tick, 1000);
  }
}());
