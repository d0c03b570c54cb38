/* A run: one submitted job followed live through its events (GET /v1/jobs/{id}/events, SSE):
   a placeholder per image, queue position / percent / elapsed, blurred partial images, Cancel;
   then the images, large, with focus on the first and the live region saying how many. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var FINAL = { completed: true, failed: true, cancelled: true };

  function ratioOf(fields) {
    if (fields.aspect_ratio) return fields.aspect_ratio.replace(":", " / ");
    if (fields.size && fields.size.indexOf("x") > 0) return fields.size.replace("x", " / ");
    return "1 / 1";
  }

  function Run(job, fields, prompt, retry) {
    this.job = job;
    this.fields = fields;
    this.prompt = prompt;
    this.retry = retry || null;
    this.started = job.started_at ? job.started_at * 1000 : null;
    this.partials = 0;
    this.label = Number(fields.n) > 1 ? "Making your images" : "Making your image";
    this.build();
    this.follow();
  }

  Run.prototype.build = function () {
    var n = Math.max(1, Number(this.fields.n) || 1), self = this;
    this.status = el("p", { class: "run-status" }, "Sending…");
    this.bar = el("progress", { max: "100", hidden: true, "aria-label": "Progress" });
    this.cancel = el("button", { type: "button", class: "cancel", text: "Cancel", onclick: function () { self.stop(); } });
    this.grid = el("div", { class: "grid", "data-count": String(Math.min(n, 4)), "data-lightbox-group": "" });
    this.slots = [];
    for (var i = 0; i < n; i++) {
      var slot = el("div", { class: "placeholder", role: "img", "aria-label": "Image " + (i + 1) + " is being made" },
        el("img", { class: "partial", alt: "", hidden: true }));
      slot.style.aspectRatio = ratioOf(this.fields);
      this.slots.push(slot);
      this.grid.append(slot);
    }
    this.note = el("div", { class: "run-note" });
    this.node = el("article", { class: "run card", "aria-busy": "true", "data-job": this.job.id },
      el("div", { class: "run-head" },
        el("p", { class: "run-prompt" }, this.prompt || "Your image"),
        el("div", { class: "run-progress" }, this.status, this.bar, this.cancel)),
      this.grid, this.note);
    var runs = document.getElementById("runs");
    runs.querySelectorAll(".run:not([aria-busy=true])").forEach(function (old) { old.remove(); });
    runs.prepend(this.node);
    document.dispatchEvent(new CustomEvent("id:runs"));
    this.timer = window.setInterval(function () { self.tick(); }, 1000);
  };

  Run.prototype.where = function () { return ID.providerName(this.job.provider); };

  Run.prototype.tick = function () {
    if (!this.started || this.percent !== undefined) return;
    this.setText(this.label + " · " + ID.elapsed(Date.now() - this.started));
  };

  Run.prototype.setText = function (text) { this.status.textContent = text; };

  Run.prototype.onProgress = function (data) {
    var stage = data.stage;
    if (stage === "queued" || (!stage && !this.started)) {
      var pos = data.position;
      this.setText("Waiting for " + this.where() + (pos ? " — " + ID.ordinal(pos) + " in line" : pos === 0 ? " — next in line" : "…"));
      return;
    }
    if (!this.started) this.started = Date.now();
    var percent = data.percent;
    if ((percent === null || percent === undefined) && data.total) percent = (100 * data.done) / data.total;
    if ((percent === null || percent === undefined) && data.steps) percent = (100 * data.step) / data.steps;
    this.label = stage === "rendering" && data.total > 1 && data.done < data.total
      ? "Making image " + (data.done + 1) + " of " + data.total : "Making your image" + (this.slots.length > 1 ? "s" : "");
    if (percent !== null && percent !== undefined) {
      this.percent = Math.round(percent);
      this.bar.hidden = false;
      this.bar.value = this.percent;
      this.setText(this.label + " — " + this.percent + "% · " + ID.elapsed(Date.now() - this.started));
    } else {
      this.percent = undefined;
      this.tick();
    }
  };

  Run.prototype.onPartial = function (data) {
    if (!data.b64_json) return;
    var slot = this.slots[this.partials++ % this.slots.length], img = slot.querySelector("img");
    img.src = "data:image/" + (data.output_format || "png") + ";base64," + data.b64_json;
    img.hidden = false;
    slot.classList.add("has-partial");
  };

  Run.prototype.follow = function () {
    var self = this, source = new EventSource(this.job.links.events);
    this.source = source;
    source.addEventListener("queued", function (ev) { self.onProgress(Object.assign({ stage: "queued" }, parse(ev))); });
    source.addEventListener("progress", function (ev) { self.onProgress(parse(ev)); });
    source.addEventListener("partial_image", function (ev) { self.onPartial(parse(ev)); });
    source.addEventListener("completed", function (ev) { self.finish("completed", parse(ev)); });
    source.addEventListener("failed", function (ev) { self.finish("failed", parse(ev)); });
    source.addEventListener("cancelled", function (ev) { self.finish("cancelled", parse(ev)); });
    // the browser reconnects on its own with Last-Event-ID; nothing to do on a transient error
  };

  function parse(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return {}; }
  }

  Run.prototype.stop = async function () {
    this.cancel.disabled = true;
    this.setText("Cancelling…");
    try {
      await ID.api("POST", this.job.links.cancel);
    } catch (e) {
      this.cancel.disabled = false;
      ID.showError(this.cancel, e);
    }
  };

  Run.prototype.end = function () {
    if (this.source) this.source.close();
    window.clearInterval(this.timer);
    this.node.removeAttribute("aria-busy");
    this.cancel.remove();
    this.bar.remove();
  };

  Run.prototype.finish = async function (kind, data) {
    if (this.done || !FINAL[kind]) return;
    this.done = true;
    this.end();
    if (kind === "completed") return this.show();
    this.grid.remove();
    if (kind === "cancelled") {
      this.setText("Cancelled — nothing was kept.");
      ID.announce("Cancelled.");
      return;
    }
    var message = ID.human(data && data.code ? { code: data.code, message: data.message, status: 400 } : data);
    this.setText("");
    var self = this;
    this.note.append(el("p", { class: "error banner", role: "alert" }, message));
    if (this.retry) {
      this.note.append(el("button", { type: "button", text: "Try again", onclick: function () { self.node.remove(); self.retry(); } }));
    }
  };

  /* the finished images, from the history record (its owner URLs, prompt and settings) */
  Run.prototype.show = async function () {
    var gen;
    try {
      gen = await ID.api("GET", "/v1/generations/" + encodeURIComponent(this.job.id));
    } catch (e) {
      this.setText("");
      this.note.append(el("p", { class: "error banner", role: "alert" }, ID.human(e)));
      return;
    }
    var grid = this.grid, count = gen.images.length;
    grid.replaceChildren();
    grid.dataset.count = String(Math.min(count || 1, 4));
    gen.images.forEach(function (src, i) { grid.append(ID.results.figure(gen, src, i)); });
    this.setText(count === 1 ? "1 image ready" : count + " images ready");
    this.note.append(ID.results.meta(gen));
    ID.announce(count === 1 ? "1 image ready" : count + " images ready");
    var first = grid.querySelector(".thumb");
    if (first) first.focus();
    document.dispatchEvent(new CustomEvent("id:generated", { detail: gen }));
  };

  /* submit: 202 with the job (Prefer: respond-async); errors before a job are thrown */
  async function start(fields, file) {
    var body = fields, path = "/v1/images/generations";
    if (file) {
      body = new FormData();
      Object.keys(fields).forEach(function (k) { body.append(k, String(fields[k])); });
      body.append("image", file);
      path = "/v1/images/edits";
    }
    return ID.api("POST", path, body, { headers: { Prefer: "respond-async" } });
  }

  /* after a reload: follow the jobs still queued or running */
  async function resume() {
    var list = await ID.api("GET", "/v1/jobs?limit=20");
    var active = (list.data || []).filter(function (j) { return j.status === "queued" || j.status === "running"; });
    for (var i = active.length - 1; i >= 0; i--) {
      var job = active[i], gen = null;
      try { gen = await ID.api("GET", "/v1/generations/" + encodeURIComponent(job.id)); } catch (e) { /* gone */ }
      if (gen) new Run(job, gen.params || {}, gen.prompt, null);
    }
    return active.length;
  }

  ID.runs = { Run: Run, start: start, resume: resume };
})();
