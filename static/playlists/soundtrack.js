// The soundtrack page while a worker makes it: poll its progress, reload when it is finished.
(function () {
  "use strict";
  const root = document.getElementById("soundtrack");
  if (!root || (root.dataset.status !== "pending" && root.dataset.status !== "running")) { return; }
  const meter = document.getElementById("soundtrack-progress");
  const message = document.getElementById("soundtrack-message");
  let delay = 300;
  const poll = () => {
    fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((data) => {
        if (data.finished) { window.location.reload(); return; }
        meter.value = data.progress;
        message.textContent = data.message;
        delay = Math.min(delay * 1.5, 2000);
        setTimeout(poll, delay);
      })
      .catch(() => { message.textContent = "Lost contact with the server; retrying…"; setTimeout(poll, 3000); });
  };
  setTimeout(poll, delay);
})();
