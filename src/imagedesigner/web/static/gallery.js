/* The gallery page: saved images, enlarge (the lightbox), download, delete, all as a ZIP. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var grid = document.getElementById("gallery");
  if (!grid) return;
  var status = document.getElementById("gallery-status");

  function item(g) {
    var box = el("div", { class: "gallery-item card", "data-id": g.id });
    var thumbs = el("div", { class: "grid small" });
    var gen = { id: g.id, prompt: g.prompt, model: g.model, provider: "", params: {}, images: g.images,
                expires_at: null, saved_at: g.saved_at };
    g.images.forEach(function (src, i) {
      thumbs.append(ID.results.figure(gen, src, i, { lazy: true, compact: true }));
    });
    box.append(thumbs);
    box.append(el("p", { class: "prompt" }, g.prompt));
    var n = g.images.length;
    var del = el("button", { type: "button", class: "delete", text: n > 1 ? "Delete all " + n : "Delete" });
    del.addEventListener("click", function () { remove(g, box, del); });
    box.append(el("div", { class: "actions" }, del));
    return box;
  }

  async function remove(g, box, button) {
    var yes = await ID.ask({ title: "Delete from your gallery?",
      body: "The prompt and its images are deleted at once and cannot be brought back.",
      yes: "Delete", no: "Keep it", danger: true });
    if (!yes) return;
    try {
      await ID.api("DELETE", "/v1/gallery/" + encodeURIComponent(g.id));
      box.remove();
      ID.say(status, "Deleted.", "success");
      ID.announce("Deleted.");
      empty();
      document.getElementById("gallery-title").focus();
    } catch (e) {
      ID.showError(button, e);
    }
  }

  function empty() {
    var none = grid.children.length === 0;
    document.getElementById("gallery-empty").hidden = !none;
    document.getElementById("zip").hidden = none;
  }

  ID.results.handlers.useAgain = null; // nothing to fill on this page
  ID.api("GET", "/v1/gallery").then(function (data) {
    grid.replaceChildren.apply(grid, data.data.map(item));
    empty();
  }, function (e) { ID.showError(status, e); });
})();
