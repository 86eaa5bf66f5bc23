// The playlist page: reorder by drag and drop or by keyboard (Alt+Up/Down), remove, undo; through the REST API.
(function () {
  "use strict";
  const root = document.getElementById("playlist");
  const list = root && root.querySelector("ol.entries");
  if (!root || !list) { return; }
  const api = root.dataset.api;
  const status = document.getElementById("status");
  const undo = document.getElementById("undo");
  const count = document.querySelector("[data-testid=track-count]");
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value || "";

  const call = (method, path, body) =>
    fetch(api + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => {
      if (!r.ok) { return r.json().catch(() => ({})).then((e) => { throw new Error(e.detail || r.statusText); }); }
      return r.status === 204 ? {} : r.json();
    });

  const done = (message, label) => {
    status.textContent = message;
    undo.disabled = false;
    undo.textContent = "Undo " + label;
  };
  const failed = (error) => {
    status.textContent = "That did not work: " + error.message + " (reloading)";
    setTimeout(() => window.location.reload(), 1200);
  };
  const entries = () => Array.from(list.querySelectorAll("li[data-entry]"));
  const title = (li) => li.querySelector(".title").textContent;

  const saveMove = (li) => {
    const position = entries().indexOf(li);
    if (String(position) === li.dataset.position) { return; }
    list.setAttribute("aria-busy", "true");
    call("POST", "tracks/" + li.dataset.entry + "/move/", { position })
      .then(() => { renumber(); done("Moved “" + title(li) + "” to position " + (position + 1) + ".", "move"); })
      .catch(failed)
      .finally(() => list.removeAttribute("aria-busy"));
  };
  const renumber = () => entries().forEach((li, i) => { li.dataset.position = String(i); });
  renumber();

  const step = (li, by) => {
    const items = entries();
    const at = items.indexOf(li) + by;
    if (at < 0 || at >= items.length) { return; }
    if (by < 0) { list.insertBefore(li, items[at]); } else { list.insertBefore(li, items[at].nextSibling); }
    li.focus();
    saveMove(li);
  };

  let dragged = null;
  list.addEventListener("dragstart", (e) => {
    dragged = e.target.closest("li[data-entry]");
    if (!dragged) { return; }
    dragged.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.entry);
  });
  list.addEventListener("dragover", (e) => {
    const over = e.target.closest("li[data-entry]");
    if (!dragged || !over || over === dragged) { return; }
    e.preventDefault();
    const box = over.getBoundingClientRect();
    list.insertBefore(dragged, e.clientY < box.top + box.height / 2 ? over : over.nextSibling);
  });
  list.addEventListener("drop", (e) => e.preventDefault());
  list.addEventListener("dragend", () => {
    if (!dragged) { return; }
    dragged.classList.remove("dragging");
    const li = dragged;
    dragged = null;
    saveMove(li);
  });

  list.addEventListener("keydown", (e) => {
    const li = e.target.closest("li[data-entry]");
    if (!li || !e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) { return; }
    e.preventDefault();
    step(li, e.key === "ArrowUp" ? -1 : 1);
  });

  list.addEventListener("click", (e) => {
    const li = e.target.closest("li[data-entry]");
    if (!li) { return; }
    if (e.target.closest(".move-up")) { step(li, -1); }
    if (e.target.closest(".move-down")) { step(li, 1); }
    if (e.target.closest(".remove")) {
      call("DELETE", "tracks/" + li.dataset.entry + "/")
        .then(() => {
          li.remove();
          renumber();
          if (count) { count.textContent = String(entries().length); }
          done("Removed “" + title(li) + "”.", "remove");
        })
        .catch(failed);
    }
  });

  undo.addEventListener("click", () => {
    call("POST", "undo/").then(() => window.location.reload()).catch(failed);
  });
})();
