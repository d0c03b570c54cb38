/* The last 24 hours: each generation with its images, a live countdown to its deletion,
   "Use these settings again", Save to gallery and Delete now (asked first; the result panel
   is cleared too). API generations whose images were not kept say so in a line. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var DAY = 24 * 3600;

  function recent(g) {
    if (g.status && g.status !== "succeeded") return false; // running: a run; failed: nothing kept
    return g.expires_at !== null || (g.created_at || 0) > Date.now() / 1000 - DAY;
  }

  function item(g) {
    var li = el("li", { class: "history-item", "data-id": g.id });
    var status = el("p", { class: "status-line", role: "status" });
    li.append(el("p", { class: "prompt" }, g.prompt));
    li.append(ID.results.meta(g));
    if (g.images.length) {
      var thumbs = el("div", { class: "grid small" });
      g.images.forEach(function (src, i) { thumbs.append(ID.results.figure(g, src, i, { lazy: true, compact: true })); });
      li.append(thumbs);
    } else {
      li.append(el("p", { class: "muted not-kept" },
        "Made through the API: the images went to the app that asked for them and were not kept here."));
    }
    var bar = el("div", { class: "actions" });
    bar.append(el("button", { type: "button", class: "use-again", text: "Use these settings again",
      onclick: function () { ID.results.handlers.useAgain(g); } }));
    if (g.expires_at && g.images.length) {
      var keep = el("button", { type: "button", class: "keep", text: "Save to gallery" });
      keep.addEventListener("click", async function () {
        keep.disabled = true;
        try {
          if (await ID.saveToGallery(g.id)) {
            ID.say(status, "Saved in your gallery.", "success");
            await load();
          }
        } catch (e) {
          ID.showError(keep, e);
        } finally {
          keep.disabled = false;
        }
      });
      bar.append(keep);
    }
    var del = el("button", { type: "button", class: "delete", text: "Delete now" });
    del.addEventListener("click", function () { remove(g, del); });
    bar.append(del);
    li.append(bar, status);
    return li;
  }

  /* delete a generation now, after asking; it leaves the history and the result panel */
  async function remove(g, button) {
    var n = (g.images || []).length;
    var yes = await ID.ask({
      title: "Delete this now?",
      body: "The prompt" + (n ? " and its " + (n === 1 ? "image" : n + " images") : "") +
        " are deleted at once and cannot be brought back.",
      yes: "Delete now", no: "Keep it", danger: true,
    });
    if (!yes) return;
    try {
      await ID.api("DELETE", "/v1/generations/" + encodeURIComponent(g.id));
    } catch (e) {
      if (e.status !== 404) { ID.showError(button, e); return; }
    }
    document.querySelectorAll('[data-id="' + CSS.escape(g.id) + '"], .run[data-job="' + CSS.escape(g.id) + '"]')
      .forEach(function (node) { node.remove(); });
    document.querySelectorAll('figure[data-generation="' + CSS.escape(g.id) + '"]').forEach(function (f) {
      var run = f.closest(".run");
      (run || f).remove();
    });
    ID.announce("Deleted.");
    showEmpty();
    document.dispatchEvent(new CustomEvent("id:runs"));
    var heading = document.getElementById("hist");
    if (heading) heading.focus();
  }

  function showEmpty() {
    var list = document.getElementById("history");
    document.getElementById("history-empty").hidden = list.children.length > 0;
  }

  async function load() {
    var list = document.getElementById("history"), status = document.getElementById("history-status");
    try {
      var data = await ID.api("GET", "/v1/generations?limit=50");
      list.replaceChildren.apply(list, data.data.filter(recent).map(item));
      ID.clearError(status);
    } catch (e) {
      ID.showError(status, e);
    }
    showEmpty();
  }

  ID.history = { load: load, remove: remove };
})();
