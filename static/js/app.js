// Photophone pages: drag-and-drop upload with preview, run progress polling, rating without a reload.
(function () {
  "use strict";

  const input = document.getElementById("id_image");
  const zone = document.getElementById("dropzone");
  if (input && zone) {
    const preview = document.getElementById("preview");
    const hint = document.getElementById("drop-hint");
    const show = (file) => {
      if (!file || !file.type.startsWith("image/")) { return; }
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      hint.textContent = file.name;
    };
    input.addEventListener("change", () => show(input.files[0]));
    ["dragenter", "dragover"].forEach((type) => zone.addEventListener(type, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((type) => zone.addEventListener(type, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        show(input.files[0]);
      }
    });
  }

  // The upload form's mood sliders: moving one means "match this mood".
  const useMood = document.getElementById("id_use_mood");
  if (useMood) {
    ["id_valence", "id_arousal"].forEach((id) => {
      const slider = document.getElementById(id);
      if (slider) { slider.addEventListener("input", () => { useMood.checked = true; }); }
    });
  }

  const run = document.getElementById("run");
  if (run && (run.dataset.status === "pending" || run.dataset.status === "running")) {
    const message = document.getElementById("progress-message");
    let delay = 300;
    const poll = () => {
      fetch(run.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => r.json())
        .then((data) => {
          if (data.finished) { window.location.reload(); return; }
          if (message) { message.textContent = data.message; }
          delay = Math.min(delay * 1.5, 3000);
          setTimeout(poll, delay);
        })
        .catch(() => { if (message) { message.textContent = "Lost contact with the server; retrying…"; } setTimeout(poll, 3000); });
    };
    setTimeout(poll, delay);
  }

  // The mood map: drag the marker (or use the arrow keys, or the sliders) to choose a mood to match.
  const map = document.getElementById("moodmap");
  const marker = document.getElementById("mood-marker");
  const valence = document.getElementById("mood-valence");
  const arousal = document.getElementById("mood-arousal");
  if (map && marker && valence && arousal) {
    const clamp = (x) => Math.min(1, Math.max(0, x));
    const place = (v, a) => {
      v = Math.round(clamp(v) * 100) / 100;
      a = Math.round(clamp(a) * 100) / 100;
      valence.value = v;
      arousal.value = a;
      marker.setAttribute("cx", String(v * 100));
      marker.setAttribute("cy", String(100 - a * 100));
      marker.setAttribute("aria-valuenow", String(v));
      marker.setAttribute("aria-valuetext", `valence ${v}, arousal ${a}`);
    };
    const fromPointer = (e) => {
      const point = map.createSVGPoint();
      point.x = e.clientX;
      point.y = e.clientY;
      const p = point.matrixTransform(map.getScreenCTM().inverse());
      place(p.x / 100, 1 - p.y / 100);
    };
    let dragging = false;
    map.addEventListener("pointerdown", (e) => { dragging = true; map.classList.add("dragging"); map.setPointerCapture(e.pointerId); fromPointer(e); });
    map.addEventListener("pointermove", (e) => { if (dragging) { fromPointer(e); } });
    ["pointerup", "pointercancel"].forEach((type) => map.addEventListener(type, () => { dragging = false; map.classList.remove("dragging"); }));
    const steps = { ArrowLeft: [-0.05, 0], ArrowRight: [0.05, 0], ArrowUp: [0, 0.05], ArrowDown: [0, -0.05] };
    marker.addEventListener("keydown", (e) => {
      const step = steps[e.key];
      if (step) { e.preventDefault(); place(Number(valence.value) + step[0], Number(arousal.value) + step[1]); }
      if (e.key === "Enter") { e.preventDefault(); document.getElementById("mood-form").requestSubmit(); }
    });
    [valence, arousal].forEach((input) => input.addEventListener("input", () => place(Number(valence.value), Number(arousal.value))));
  }

  // A rating button pressed again undoes the rating (it is then sent as "clear").
  const showRating = (form, rating) => {
    form.querySelectorAll("button").forEach((b) => {
      const chosen = rating !== null && b.dataset.rating === String(rating);
      b.classList.toggle("chosen", chosen);
      b.setAttribute("aria-pressed", String(chosen));
      b.name = chosen ? "clear" : "rating";
      b.value = chosen ? "1" : b.dataset.rating;
    });
  };
  document.querySelectorAll("form.rate").forEach((form) => {
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const button = e.submitter;
      const body = new FormData(form);
      body.set(button.name, button.value);
      fetch(form.action, { method: "POST", body, headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then((r) => { if (!r.ok) { throw new Error(r.statusText); } return r.json(); })
        .then((data) => showRating(form, data.rating))
        .catch(() => form.submit());
    });
  });

  document.querySelectorAll("form.delete-photo").forEach((form) => {
    form.addEventListener("submit", (e) => {
      if (!window.confirm("Delete this photo, its results and your ratings of them?")) { e.preventDefault(); }
    });
  });
})();
