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
