/* The studio page: the prompt (Enter generates, Shift+Enter is a new line), the upload with
   its preview, submitting a run, "use these settings again", and errors under their control. */
(function () {
  "use strict";
  var ID = window.ID;
  var form = document.getElementById("generate");
  if (!form) return;
  var prompt = document.getElementById("prompt"), go = document.getElementById("go");
  var source = document.getElementById("source"), attached = null, previewUrl = null;
  var CONTROL_OF = { prompt: "prompt", n: "n", seed: "seed", quality: "quality", background: "background",
    output_format: "output_format", image: "source", "image[]": "source", mask: "source" };

  function control(param) {
    if (param === "model") return document.getElementById("model-summary");
    if (param === "size" || param === "aspect_ratio") return document.querySelector("#shape-list input") || go;
    return document.getElementById(CONTROL_OF[param] || "") || go;
  }

  function clearErrors() {
    form.querySelectorAll("[aria-invalid=true]").forEach(function (c) { ID.clearError(c); });
    form.querySelectorAll(".field-error").forEach(function (slot) { slot.hidden = true; slot.textContent = ""; });
  }

  function label() {
    go.textContent = attached ? "Edit image" : "Generate";
  }

  /* --- the image to start from: picker or drop, a preview, remove ------------------------ */
  function attach(file) {
    ID.clearError(source);
    attached = file || null;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = attached ? URL.createObjectURL(attached) : null;
    document.getElementById("preview").hidden = !attached;
    document.getElementById("dropzone").classList.toggle("has-file", !!attached);
    var img = document.getElementById("preview-img");
    if (previewUrl) img.src = previewUrl; else img.removeAttribute("src");
    if (!attached) source.value = "";
    label();
    checkEdits();
  }

  function checkEdits() {
    var m = ID.controls.current();
    if (attached && m && !(m.capabilities || {}).edits) {
      ID.showError(source, "This model cannot start from an image. Pick one marked “Edits”, or remove the image.");
    } else if (attached) {
      ID.clearError(source);
    }
  }

  source.addEventListener("change", function () { attach(source.files[0]); });
  document.getElementById("remove-source").addEventListener("click", function () {
    attach(null);
    document.getElementById("source-choose").focus();
  });
  var zone = document.getElementById("dropzone");
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (ev) { ev.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    var file = ev.dataTransfer && ev.dataTransfer.files[0];
    if (file) attach(file);
  });
  document.getElementById("source-choose").addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); source.click(); }
  });

  /* --- prompt, examples, seed ---------------------------------------------------------- */
  prompt.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  prompt.addEventListener("input", function () {
    prompt.style.height = "auto"; // grows with its text (CSSOM, allowed by the CSP)
    prompt.style.height = Math.min(prompt.scrollHeight + 2, 320) + "px";
  });
  document.querySelectorAll(".example").forEach(function (button) {
    button.addEventListener("click", function () {
      prompt.value = button.textContent.trim();
      ID.clearError(prompt);
      prompt.focus();
    });
  });
  document.getElementById("dice").addEventListener("click", function () {
    var seed = document.getElementById("seed");
    seed.value = String(crypto.getRandomValues(new Uint32Array(1))[0]);
    ID.clearError(seed);
  });
  document.addEventListener("id:model", checkEdits);

  /* --- a run --------------------------------------------------------------------------- */
  function welcome() {
    var anything = document.querySelector("#runs .run, #history li");
    document.getElementById("welcome").hidden = !!anything;
  }
  document.addEventListener("id:runs", welcome);

  async function submit(fields, file, text) {
    var job = await ID.runs.start(Object.assign({ prompt: text }, fields), file);
    var retry = function () { submit(fields, file, text).catch(function (e) { ID.showError(go, e); }); };
    new ID.runs.Run(job, fields, text, retry);
    welcome();
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    if (go.getAttribute("aria-disabled") === "true") return;
    clearErrors();
    var text = prompt.value.trim();
    if (!text) {
      ID.showError(prompt, "Describe the image you want first.");
      prompt.focus();
      return;
    }
    var m = ID.controls.current();
    if (!m) { ID.showError(go, "No model is available on this server."); return; }
    if (attached && !(m.capabilities || {}).edits) { checkEdits(); source.focus(); return; }
    var fields = ID.controls.values();
    fields.response_format = "url";
    go.setAttribute("aria-disabled", "true");
    go.textContent = "Sending…";
    try {
      await submit(fields, attached, text);
    } catch (e) {
      var target = control(e.param);
      ID.showError(target, e);
      if (target !== go) target.focus();
    } finally {
      go.removeAttribute("aria-disabled");
      label();
    }
  });

  /* --- what results do here ------------------------------------------------------------ */
  ID.results.handlers.useAgain = function (gen) {
    prompt.value = gen.prompt || "";
    prompt.dispatchEvent(new Event("input"));
    var note = ID.controls.fill(gen);
    clearErrors();
    var hint = document.getElementById("prompt-hint");
    hint.textContent = note || "Settings filled in from that image. Change anything, then press Enter.";
    prompt.focus();
    prompt.scrollIntoView({ block: "center" });
  };
  ID.results.handlers.remove = function (gen, button) { return ID.history.remove(gen, button); };
  ID.results.handlers.saved = function () { ID.history.load(); };
  document.addEventListener("id:generated", function () { ID.history.load().then(welcome); });

  var studio = document.getElementById("studio");
  ID.controls.load(studio.dataset.defaultModel).catch(function (e) {
    ID.showError(document.getElementById("model-summary"), e);
  }).then(function () {
    return ID.runs.resume();
  }).catch(function (e) { ID.showError(go, e); });
  ID.history.load().then(welcome);
  label();
})();
