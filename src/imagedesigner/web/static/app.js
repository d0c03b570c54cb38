/* Shared helpers for every page, written once: ID.api (fetch with the CSRF header, errors in
   plain words), ID.showError next to a control, ID.announce, countdowns, ID.ask (a dialog). */
(function () {
  "use strict";
  var ID = (window.ID = window.ID || {});

  /* a provider as people know it: "OpenAI", "fal.ai", "this server" (in a sentence) */
  var PROVIDERS = { local: "this server", openai: "OpenAI", fal: "fal.ai", openrouter: "OpenRouter" };
  ID.providerName = function (provider, atStart) {
    if (atStart && provider === "local") return "This server";
    return PROVIDERS[provider] || provider;
  };

  ID.csrf = function () {
    var meta = document.querySelector('meta[name="csrf_token"]');
    return meta ? meta.content : "";
  };

  /* el("button", {class: "link", onclick: fn}, "text", child, [children], ...) */
  ID.el = function (tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === "on" && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    (function add(list) {
      list.forEach(function (c) {
        if (c === undefined || c === null || c === false) return;
        if (Array.isArray(c)) add(c);
        else node.append(typeof c === "string" ? document.createTextNode(c) : c);
      });
    })(Array.prototype.slice.call(arguments, 2));
    return node;
  };

  /* What a person reads for an API error: a sentence, never a path, a flag or a command. */
  var SENTENCES = {
    consent_required: "Saving to your gallery needs your permission to keep images past 24 hours.",
    processing_restricted: "Processing is paused for your account. Lift the restriction under Your data to make images again.",
    csrf_failed: "This page has expired. Reload it and try again.",
    missing_api_key: "You are signed out. Sign in again to continue.",
    invalid_api_key: "You are signed out. Sign in again to continue.",
    session_expired: "You are signed out. Sign in again to continue.",
    account_closed: "This account has been closed.",
    rate_limit_exceeded: "That was a lot at once. Wait a moment and try again.",
    too_many_active_jobs: "You already have several images in progress. Wait for one to finish, or cancel one.",
    too_many_event_streams: "Too many images are being followed in other tabs. Close one and try again.",
    model_unavailable: "This model is not available on this server right now. Pick another one.",
    model_not_found: "This model is not available on this server. Pick another one.",
    content_policy_violation: "The provider refused this prompt. Try describing it differently.",
    upstream_timeout: "The provider took too long to answer. Try again.",
    upstream_error: "The provider could not make this image. Try again in a moment.",
    service_unavailable: "The provider could not be reached. Try again in a moment.",
    interrupted: "The server restarted while this was being made. Try again.",
    internal_error: "Something went wrong on our side. Try again.",
    cancelled: "Cancelled.",
  };
  var JARGON = /(\/v1\/|\?[a-z_]+=|\b(GET|POST|PUT|PATCH|DELETE)\b|imagedesigner\s+\w+|Bearer|X-CSRF|Authorization)/;

  ID.human = function (err) {
    if (!err) return "Something went wrong. Try again.";
    if (err.code && SENTENCES[err.code]) return SENTENCES[err.code];
    if (err.status === 429) return SENTENCES.rate_limit_exceeded;
    if (err.status === 401) return SENTENCES.missing_api_key;
    if (err.status === 413) return "That file is too large.";
    var message = String(err.message || "");
    if (!message || JARGON.test(message) || err.status >= 500) {
      return err.status >= 500 ? SENTENCES.internal_error : "That did not work. Try again.";
    }
    return message;
  };

  function ApiError(status, body) {
    var e = (body && body.error) || {};
    this.status = status;
    this.code = e.code || null;
    this.param = e.param || null;
    this.message = e.message || "HTTP " + status;
  }
  ID.ApiError = ApiError;

  /* ID.api("POST", "/v1/...", body?, {headers}) → JSON (or null for an empty answer) */
  ID.api = async function (method, path, body, options) {
    var headers = Object.assign({ "x-csrf-token": ID.csrf() }, (options && options.headers) || {});
    var form = body instanceof FormData;
    if (body !== undefined && !form) headers["content-type"] = "application/json";
    var response;
    try {
      response = await fetch(path, {
        method: method, credentials: "same-origin", headers: headers,
        body: form ? body : body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw new ApiError(0, { error: { message: "The server could not be reached. Check your connection and try again." } });
    }
    var data = await response.json().catch(function () { return null; });
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  };

  /* An error sits under the control that caused it, in the error colour, announced. */
  ID.showError = function (control, err) {
    var text = typeof err === "string" ? err : ID.human(err);
    var slot = ID.errorSlot(control);
    slot.textContent = text;
    slot.hidden = false;
    if (control.matches("input, select, textarea")) control.setAttribute("aria-invalid", "true");
    return text;
  };
  ID.clearError = function (control) {
    var slot = ID.errorSlot(control);
    slot.textContent = "";
    slot.hidden = true;
    control.removeAttribute("aria-invalid");
  };
  ID.errorSlot = function (control) {
    var id = (control.id || "control" + Math.random().toString(36).slice(2)) + "-error";
    if (!control.id) control.id = id.replace(/-error$/, "");
    var slot = document.getElementById(id);
    if (!slot) {
      slot = ID.el("p", { id: id, class: "field-error", role: "alert", hidden: true });
      var anchor = control.closest("[data-error-after]") || control;
      anchor.after(slot);
      var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(id) < 0) control.setAttribute("aria-describedby", described.concat(id).join(" "));
    }
    return slot;
  };

  /* A quiet status line next to a control ("Saved.", "Copied"). */
  ID.say = function (node, text, kind) {
    node.textContent = text;
    node.className = "status-line" + (kind ? " " + kind : "");
  };

  ID.announce = function (text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  };

  /* "deleted in 23 h 12 min" from Unix seconds */
  ID.countdown = function (expiresAt, nowMs) {
    if (!expiresAt) return "Saved — kept until you delete it";
    var left = Math.floor((expiresAt * 1000 - (nowMs || Date.now())) / 60000);
    if (left < 1) return "deleted in under a minute";
    var h = Math.floor(left / 60), m = left % 60;
    return "deleted in " + (h ? h + " h " + m + " min" : m + " min");
  };

  /* "4 s", "1 min 05 s" */
  ID.elapsed = function (ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + " s";
    var rest = s % 60;
    return Math.floor(s / 60) + " min " + (rest < 10 ? "0" : "") + rest + " s";
  };

  ID.ordinal = function (n) {
    var tens = n % 100, ones = n % 10;
    var suffix = tens > 10 && tens < 14 ? "th" : ones === 1 ? "st" : ones === 2 ? "nd" : ones === 3 ? "rd" : "th";
    return n + suffix;
  };

  /* Keeps every [data-expires] countdown current, once a minute (and on demand). */
  ID.tickCountdowns = function () {
    document.querySelectorAll("[data-expires]").forEach(function (node) {
      node.textContent = ID.countdown(Number(node.dataset.expires) || null);
    });
  };
  window.setInterval(ID.tickCountdowns, 30000);

  ID.copy = async function (text, button) {
    var label = button.textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (e) {
      button.textContent = "Copy failed — select the text instead";
    }
    window.setTimeout(function () { button.textContent = label; }, 2000);
  };

  /* ID.ask({title, body, yes, no, danger}) → Promise<boolean>: a modal that keeps focus. */
  ID.ask = function (opts) {
    return new Promise(function (resolve) {
      var yes = ID.el("button", { type: "button", class: opts.danger ? "danger" : "primary", text: opts.yes || "OK" });
      var no = ID.el("button", { type: "button", text: opts.no || "Cancel" });
      var titleId = "ask-" + Math.random().toString(36).slice(2);
      var dialog = ID.el("dialog", { class: "ask", "aria-labelledby": titleId },
        ID.el("h2", { id: titleId, text: opts.title }),
        opts.body ? ID.el("p", { text: opts.body }) : null,
        ID.el("div", { class: "actions" }, no, yes));
      var back = document.activeElement;
      function done(answer) {
        dialog.close();
        dialog.remove();
        if (back && back.isConnected) back.focus();
        resolve(answer);
      }
      yes.addEventListener("click", function () { done(true); });
      no.addEventListener("click", function () { done(false); });
      dialog.addEventListener("cancel", function (ev) { ev.preventDefault(); done(false); });
      document.body.append(dialog);
      dialog.showModal();
      (opts.danger ? no : yes).focus();
    });
  };

  /* The gallery consent, asked where it is needed; true once granted. */
  ID.askGalleryConsent = async function () {
    var allow = await ID.ask({
      title: "Keep images in your gallery?",
      body: "Saving to your gallery needs your permission to keep images past 24 hours. " +
        "Saved images stay until you delete them; you can withdraw this under Your data.",
      yes: "Allow", no: "Not now",
    });
    if (!allow) return false;
    await ID.api("POST", "/v1/me/consents/gallery");
    return true;
  };

  /* Save a generation, asking for the consent in place the first time. */
  ID.saveToGallery = async function (generationId) {
    var path = "/v1/generations/" + encodeURIComponent(generationId) + "/save";
    try {
      return await ID.api("POST", path);
    } catch (e) {
      if (e.code !== "consent_required") throw e;
      if (!(await ID.askGalleryConsent())) return null;
      return await ID.api("POST", path);
    }
  };

  ID.downloadUrl = function (src) {
    return src + (src.indexOf("?") < 0 ? "?" : "&") + "download=1";
  };

  /* the account menu: Esc and a click outside close it */
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (d) {
      d.open = false;
      d.querySelector("summary").focus();
    });
  });
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.account-menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.open = false;
    });
  });
})();
