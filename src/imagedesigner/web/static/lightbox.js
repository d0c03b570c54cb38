/* The lightbox: one image at full size with its prompt and settings beside it. ← → move
   between the results around it, Esc closes, D downloads. A native <dialog> keeps focus. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var dialog, img, prompt, facts, position, download, useAgain, copy, prev, next;
  var figures = [], at = 0, origin = null;

  function build() {
    img = el("img", { class: "lightbox-image", alt: "" });
    prompt = el("p", { class: "lightbox-prompt", id: "lightbox-prompt" });
    facts = el("p", { class: "muted" });
    position = el("p", { class: "muted", "aria-live": "polite" });
    prev = el("button", { type: "button", text: "← Previous", onclick: function () { go(-1); } });
    next = el("button", { type: "button", text: "Next →", onclick: function () { go(1); } });
    download = el("a", { class: "button primary", download: "", text: "Download" });
    useAgain = el("button", { type: "button", text: "Use again", onclick: function () {
      var gen = ID.results.generationOf(figures[at]);
      close();
      ID.results.handlers.useAgain(gen);
    } });
    copy = el("button", { type: "button", text: "Copy prompt", onclick: function () {
      ID.copy(prompt.textContent, copy);
    } });
    var closer = el("button", { type: "button", class: "close", "aria-label": "Close", text: "×", onclick: close });
    dialog = el("dialog", { class: "lightbox", id: "lightbox", "aria-label": "Image", "aria-describedby": "lightbox-prompt" },
      el("div", { class: "lightbox-stage" }, img),
      el("aside", { class: "lightbox-side" }, closer,
        el("h2", { class: "visually-hidden", text: "Image details" }),
        prompt, facts, position,
        el("div", { class: "actions" }, prev, next),
        el("div", { class: "actions" }, download, useAgain, copy),
        el("p", { class: "muted keys", text: "Keys: ← → move · D downloads · Esc closes" })));
    dialog.addEventListener("keydown", function (ev) {
      if (ev.target.matches("input, textarea") || ev.altKey || ev.ctrlKey || ev.metaKey) return;
      if (ev.key === "ArrowLeft") { ev.preventDefault(); go(-1); }
      else if (ev.key === "ArrowRight") { ev.preventDefault(); go(1); }
      else if (ev.key === "d" || ev.key === "D") { ev.preventDefault(); download.click(); }
    });
    dialog.addEventListener("close", function () {
      var back = origin && origin.querySelector(".thumb"), now = document.activeElement;
      var lost = !now || now === document.body || dialog.contains(now);
      if (lost && back && back.isConnected) back.focus(); // unless focus has moved on already
    });
    dialog.addEventListener("click", function (ev) { if (ev.target === dialog) close(); });
    document.body.append(dialog);
  }

  function show() {
    var fig = figures[at], gen = ID.results.generationOf(fig), src = fig.dataset.src;
    img.src = src;
    img.alt = fig.querySelector("img").alt;
    prompt.textContent = gen.prompt || "";
    facts.textContent = ID.results.facts(gen);
    position.textContent = figures.length > 1 ? "Image " + (at + 1) + " of " + figures.length : "";
    download.href = ID.downloadUrl(src);
    prev.disabled = at === 0;
    next.disabled = at === figures.length - 1;
    useAgain.hidden = !ID.results.handlers.useAgain;
    copy.hidden = !gen.prompt;
  }

  function go(step) {
    var to = at + step;
    if (to < 0 || to >= figures.length) return;
    at = to;
    origin = figures[at];
    show();
  }

  function close() { if (dialog && dialog.open) dialog.close(); }

  /* open at a figure, among the results of its group (the run, the history or the gallery) */
  function openFrom(figure) {
    if (!dialog) build();
    var group = figure.closest("[data-lightbox-group]") || document;
    figures = Array.prototype.slice.call(group.querySelectorAll("figure.result"));
    at = Math.max(0, figures.indexOf(figure));
    origin = figure;
    show();
    if (!dialog.open) dialog.showModal();
    dialog.querySelector(".close").focus();
  }

  ID.lightbox = { openFrom: openFrom, close: close };
})();
