/* The studio's controls that follow the model: the picker (grouped by provider, saying who
   receives the prompt and what the model can do), shapes, count and the advanced options. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var CATALOGUE_URL = "/app/models"; // the web app's model catalogue (one place)
  var MODEL_KEY = "imagedesigner.model";
  var FALLBACK_RATIOS = ["1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16"];
  var RATIO_NAMES = { "1:1": "Square", "3:2": "Landscape", "4:3": "Landscape", "5:4": "Landscape",
    "2:3": "Portrait", "3:4": "Portrait", "4:5": "Portrait", "16:9": "Wide", "21:9": "Wide",
    "9:16": "Tall", "9:21": "Tall" };

  var models = [], byId = {};

  function providerName(p) { return ID.providerName(p, true); }
  function shortName(m) { return m.id.indexOf(m.provider + "/") === 0 ? m.id.slice(m.provider.length + 1) : m.id; }
  function whereItGoes(m) {
    if (m.provider === "local") return "Runs on this server — nothing leaves it";
    return "Sent to " + (m.subprocessor || providerName(m.provider));
  }
  function gcd(a, b) { return b ? gcd(b, a % b) : a; }

  function chips(m) {
    var c = m.capabilities || {}, out = [];
    if (c.edits) out.push("Edits");
    if (c.seeds) out.push("Seeds");
    if (c.sizes && c.sizes.length) out.push(c.sizes.length + " sizes");
    else if (c.aspect_ratios && c.aspect_ratios.length) out.push(c.aspect_ratios.length + " shapes");
    else if (c.size_range) out.push("Any size " + c.size_range[0] + "–" + c.size_range[1] + " px");
    if ((c.max_n || 1) > 1) out.push("Up to " + c.max_n + " at once");
    if ((c.backgrounds || []).indexOf("transparent") >= 0) out.push("Transparent");
    if (c.partial_images) out.push("Live previews");
    return out;
  }

  /* every ratio the model offers: its own ratios, the ratios of its sizes, or common ones */
  function shapes(m) {
    var c = m.capabilities || {};
    if (c.aspect_ratios && c.aspect_ratios.length) return c.aspect_ratios.map(function (r) { return { ratio: r }; });
    if (c.sizes && c.sizes.length) {
      return c.sizes.map(function (s) {
        var wh = s.split("x").map(Number), d = gcd(wh[0], wh[1]);
        return { ratio: wh[0] / d + ":" + wh[1] / d, size: s };
      });
    }
    return FALLBACK_RATIOS.map(function (r) { return { ratio: r }; });
  }

  function modelOption(m, checked) {
    var id = "model-" + m.id.replace(/[^a-z0-9]+/gi, "-");
    var reason = m.retired ? "Retired" : !m.available ? "Unavailable — no key configured on this server" : "";
    var input = el("input", { type: "radio", name: "model", id: id, value: m.id,
      checked: checked, disabled: !!reason, "aria-describedby": id + "-info" });
    var info = el("span", { class: "model-info", id: id + "-info" },
      el("span", { class: "where" }, whereItGoes(m)),
      el("span", { class: "chips" }, chips(m).map(function (t) { return el("span", { class: "chip" }, t); })),
      reason ? el("span", { class: "reason" }, reason) : null);
    return el("label", { class: "model-option" + (reason ? " unavailable" : ""), for: id }, input,
      el("span", { class: "model-text" },
        el("span", { class: "model-name" }, shortName(m), " ",
          el("span", { class: "badge badge-" + m.provider }, providerName(m.provider))),
        info));
  }

  function renderPicker(selected) {
    var list = document.getElementById("model-list");
    var groups = {};
    models.forEach(function (m) { (groups[m.provider] = groups[m.provider] || []).push(m); });
    list.replaceChildren();
    Object.keys(groups).forEach(function (p) {
      var group = el("div", { class: "model-group", role: "group", "aria-labelledby": "group-" + p },
        el("p", { class: "group-title", id: "group-" + p }, providerName(p),
          p === "local" ? null : [" · ", el("a", { href: "/privacy#subprocessors" }, "who receives your prompt")]));
      groups[p].forEach(function (m) { group.append(modelOption(m, m.id === selected)); });
      list.append(group);
    });
  }

  function usable(m) { return m && m.available && !m.retired; }

  function initialModel(fallback) {
    var saved = null;
    try { saved = localStorage.getItem(MODEL_KEY); } catch (e) { /* storage may be off */ }
    if (usable(byId[saved])) return saved;
    if (usable(byId[fallback])) return fallback;
    var first = models.filter(usable)[0];
    return first ? first.id : null;
  }

  function current() {
    var checked = document.querySelector('input[name="model"]:checked');
    return checked ? byId[checked.value] : null;
  }

  function showSummary(m) {
    var summary = document.getElementById("model-summary");
    summary.replaceChildren(
      el("span", { class: "model-name" }, m ? shortName(m) : "No model available", " ",
        m ? el("span", { class: "badge badge-" + m.provider }, providerName(m.provider)) : null),
      m ? el("span", { class: "where" }, whereItGoes(m)) : null);
  }

  function renderShapes(m, keep) {
    var box = document.getElementById("shape-list");
    var list = shapes(m), ratios = list.map(function (s) { return s.ratio; });
    var chosen = ratios.indexOf(keep) >= 0 ? keep : ratios.indexOf("1:1") >= 0 ? "1:1" : ratios[0];
    box.replaceChildren();
    list.forEach(function (s) {
      var id = "shape-" + s.ratio.replace(":", "x");
      var wh = s.ratio.split(":").map(Number), scale = 28 / Math.max(wh[0], wh[1]);
      var frame = el("span", { class: "shape-box", "aria-hidden": "true" });
      frame.style.width = Math.max(6, Math.round(wh[0] * scale)) + "px"; // CSSOM: allowed by the CSP
      frame.style.height = Math.max(6, Math.round(wh[1] * scale)) + "px";
      box.append(el("label", { class: "shape", for: id, title: RATIO_NAMES[s.ratio] || s.ratio },
        el("input", { type: "radio", name: "shape", id: id, value: s.ratio, "data-size": s.size,
          checked: s.ratio === chosen }),
        el("span", { class: "shape-frame" }, frame), el("span", { class: "shape-label" }, s.ratio)));
    });
  }

  function renderCount(m, keep) {
    var select = document.getElementById("n"), max = Math.min((m.capabilities || {}).max_n || 1, 10);
    var value = Math.min(Number(keep) || 1, max);
    select.replaceChildren();
    for (var i = 1; i <= max; i++) select.append(el("option", { value: String(i), selected: i === value }, String(i)));
  }

  function renderOptions(m, keep) {
    var c = m.capabilities || {};
    function fill(id, values, defaultLabel) {
      var select = document.getElementById(id), wrap = select.closest("[data-option]");
      var previous = keep[id] !== undefined ? keep[id] : select.value;
      wrap.hidden = !values.length || (id === "output_format" && values.length < 2);
      select.replaceChildren(el("option", { value: "" }, defaultLabel));
      values.filter(function (v) { return v !== "auto"; }).forEach(function (v) {
        select.append(el("option", { value: v, selected: v === previous }, v === "jpeg" ? "JPEG" : v === "png" ? "PNG" : v === "webp" ? "WebP" : v[0].toUpperCase() + v.slice(1)));
      });
    }
    fill("quality", c.qualities || [], "Model's default");
    fill("background", c.backgrounds || [], "Model's default");
    fill("output_format", c.output_formats || [], "PNG (default)");
    document.getElementById("seed-option").hidden = !c.seeds;
    var any = document.querySelectorAll("#advanced [data-option]:not([hidden])").length > 0;
    document.getElementById("advanced-none").hidden = any;
  }

  function onModel(keep) {
    var m = current();
    showSummary(m);
    if (!m) return;
    keep = keep || {};
    var shape = document.querySelector('input[name="shape"]:checked');
    renderShapes(m, keep.shape || (shape && shape.value));
    renderCount(m, keep.n || document.getElementById("n").value);
    renderOptions(m, keep);
    try { localStorage.setItem(MODEL_KEY, m.id); } catch (e) { /* storage may be off */ }
    document.dispatchEvent(new CustomEvent("id:model", { detail: m }));
  }

  /* The request's fields, only those the model has. */
  function values() {
    var m = current(), shape = document.querySelector('input[name="shape"]:checked'), out = { model: m.id };
    out.n = Number(document.getElementById("n").value) || 1;
    if (shape && shape.dataset.size) out.size = shape.dataset.size;
    else if (shape) out.aspect_ratio = shape.value;
    ["quality", "background", "output_format"].forEach(function (id) {
      var s = document.getElementById(id);
      if (!s.closest("[data-option]").hidden && s.value) out[id] = s.value;
    });
    var seed = document.getElementById("seed");
    if (!document.getElementById("seed-option").hidden && seed.value !== "") out.seed = Number(seed.value);
    if ((m.capabilities || {}).partial_images) out.partial_images = 2;
    return out;
  }

  /* "use these settings again": the model, shape, count, seed and options of a generation */
  function fill(gen) {
    var p = gen.params || {};
    var radio = document.querySelector('input[name="model"][value="' + CSS.escape(gen.model) + '"]');
    var note = null;
    if (radio && !radio.disabled) radio.checked = true;
    else note = "The model " + gen.model + " is not available now; the other settings were filled in.";
    var ratio = p.aspect_ratio;
    if (!ratio && p.size && p.size.indexOf("x") > 0) {
      var wh = p.size.split("x").map(Number), d = gcd(wh[0], wh[1]);
      ratio = wh[0] / d + ":" + wh[1] / d;
    }
    onModel({ shape: ratio, n: p.n, quality: p.quality || "", background: p.background || "",
      output_format: p.output_format === "png" ? "" : p.output_format || "" });
    document.getElementById("seed").value = p.seed === null || p.seed === undefined ? "" : String(p.seed);
    if (p.seed !== null && p.seed !== undefined) document.getElementById("advanced").open = true;
    return note;
  }

  async function load(fallback) {
    var body = await ID.api("GET", CATALOGUE_URL);
    models = (body && body.data) || [];
    byId = {};
    models.forEach(function (m) { byId[m.id] = m; });
    renderPicker(initialModel(body.default_model || fallback));
    document.getElementById("model-list").addEventListener("change", function () { onModel(); });
    document.getElementById("model-list").addEventListener("click", function (ev) {
      if (ev.detail > 0 && ev.target.closest(".model-option:not(.unavailable)")) document.getElementById("model-picker").open = false;
    });
    onModel();
  }

  ID.controls = { load: load, current: current, values: values, fill: fill, CATALOGUE_URL: CATALOGUE_URL };
})();
