/* One result as a person meets it, the same in the studio, the history and the gallery: the
   image large, its actions (Enlarge, Download, Save, Use again, Delete) and its line of facts. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var generations = new WeakMap(); // figure → its generation

  /* pages set what Use again / Delete / Save do: ID.results.handlers.useAgain = fn(gen) */
  var handlers = { useAgain: null, remove: null, saved: null };

  function facts(gen) {
    var p = gen.params || {}, bits = [gen.model, "made by " + ID.providerName(gen.provider)];
    if (p.size) bits.push(p.size);
    else if (p.aspect_ratio) bits.push(p.aspect_ratio);
    if (p.seed !== null && p.seed !== undefined) bits.push("seed " + p.seed);
    return bits.join(" · ");
  }

  function countdown(gen) {
    if (!gen.expires_at) return el("span", { class: "saved-mark" }, "Saved in your gallery");
    return el("span", { class: "countdown", "data-expires": String(gen.expires_at) }, ID.countdown(gen.expires_at));
  }

  function meta(gen) {
    var box = el("div", { class: "result-meta" },
      el("p", { class: "muted" }, facts(gen), " · ", countdown(gen)));
    (gen.warnings || []).forEach(function (w) {
      box.append(el("p", { class: "quiet-note" }, el("span", { "aria-hidden": "true" }, "ⓘ "), w.message));
    });
    return box;
  }

  function label(gen, index, count) {
    var words = (gen.prompt || "Image").slice(0, 80);
    return count > 1 ? "Image " + (index + 1) + " of " + count + ": " + words : words;
  }

  /* the action buttons; `status` is where this result's messages go */
  function actions(gen, src, figure, status, opts) {
    var bar = el("div", { class: "result-actions" });
    var download = el("a", { class: "button download", href: ID.downloadUrl(src), download: "", text: "Download" });
    if (opts.compact) { // small tiles: the history and the gallery act on the whole generation
      bar.append(download);
      return bar;
    }
    bar.append(el("button", { type: "button", class: "enlarge", text: "Enlarge",
      onclick: function () { ID.lightbox.openFrom(figure); } }), download);
    if (gen.expires_at) {
      var save = el("button", { type: "button", class: "save", text: "Save to gallery" });
      save.addEventListener("click", async function () {
        save.disabled = true;
        try {
          var done = await ID.saveToGallery(gen.id);
          if (done) {
            gen.expires_at = null;
            ID.say(status, "Saved in your gallery.", "success");
            if (handlers.saved) handlers.saved(gen);
          }
        } catch (e) {
          ID.showError(save, e);
        } finally {
          save.disabled = false;
        }
      });
      bar.append(save);
    }
    if (handlers.useAgain) {
      bar.append(el("button", { type: "button", class: "use-again", text: "Use again",
        onclick: function () { handlers.useAgain(gen); } }));
    }
    if (handlers.remove) {
      var del = el("button", { type: "button", class: "delete", text: "Delete" });
      del.addEventListener("click", function () { handlers.remove(gen, del); });
      bar.append(del);
    }
    return bar;
  }

  /* <figure class="result"> for image `index` of `gen` */
  function figure(gen, src, index, opts) {
    opts = opts || {};
    var count = (gen.images || []).length || 1;
    var img = el("img", { src: src, alt: label(gen, index, count), loading: opts.lazy ? "lazy" : null, decoding: "async" });
    var fig = el("figure", { class: "result", "data-generation": gen.id, "data-src": src, tabindex: "-1" });
    var status = el("p", { class: "status-line", role: "status" });
    fig.append(el("button", { type: "button", class: "thumb", "aria-label": "Enlarge " + label(gen, index, count),
      onclick: function () { ID.lightbox.openFrom(fig); } }, img));
    fig.append(actions(gen, src, fig, status, opts), status);
    generations.set(fig, gen);
    return fig;
  }

  ID.results = {
    figure: figure, meta: meta, facts: facts, label: label, handlers: handlers,
    generationOf: function (fig) { return generations.get(fig); },
  };
})();
