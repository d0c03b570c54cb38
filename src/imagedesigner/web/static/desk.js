/* The few shared page helpers the support and staff pages use (ID.api, ID.el, ID.human,
   ID.showError, ID.clearError, ID.announce, ID.ask, ID.date), for when the site-wide helpers
   (app.js) are not on the page. Where app.js has defined one, that one is kept. */
(function () {
  "use strict";
  var ID = (window.ID = window.ID || {});
  function fill(name, fn) { if (typeof ID[name] !== "function") ID[name] = fn; }

  fill("csrf", function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    var holder = document.querySelector("[data-csrf]");
    return (meta && meta.content) || (holder && holder.dataset.csrf) || "";
  });

  fill("el", function (tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) return;
      if (k.slice(0, 2) === "on" && typeof v === "function") node.addEventListener(k.slice(2), v);
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    });
    for (var i = 2; i < arguments.length; i++) {
      [].concat(arguments[i]).forEach(function (c) {
        if (c !== undefined && c !== null && c !== false) node.append(c);
      });
    }
    return node;
  });

  fill("human", function (err) {
    if (!err) return "Something went wrong. Try again.";
    if (err.status === 401) return "You are signed out. Sign in again to continue.";
    if (err.status === 429) return "That was a lot at once. Wait a moment and try again.";
    if (err.code === "csrf_failed") return "This page has expired. Reload it and try again.";
    if (!err.status || err.status >= 500) return "Something went wrong on our side. Try again.";
    var message = String(err.message || "");
    return /\/v1\/|\bBearer\b|imagedesigner\s+\w+/.test(message) ? "That did not work. Try again." : message;
  });

  fill("api", async function (method, path, body) {
    var headers = { "x-csrf-token": ID.csrf() };
    if (body !== undefined) headers["content-type"] = "application/json";
    var response;
    try {
      response = await fetch(path, {
        method: method, credentials: "same-origin", headers: headers,
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch (e) {
      throw { status: 0, message: "The server could not be reached. Check your connection and try again." };
    }
    var data = await response.json().catch(function () { return null; });
    if (!response.ok) {
      var e = (data && data.error) || {};
      throw { status: response.status, code: e.code || null, param: e.param || null, message: e.message || "" };
    }
    return data;
  });

  fill("errorSlot", function (control) {
    var id = control.id + "-error", slot = document.getElementById(id);
    if (!slot) {
      slot = ID.el("p", { id: id, class: "field-error", role: "alert", hidden: true });
      control.after(slot);
      var described = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      control.setAttribute("aria-describedby", described.concat(id).join(" "));
    }
    return slot;
  });
  fill("showError", function (control, err) {
    var slot = ID.errorSlot(control), text = typeof err === "string" ? err : ID.human(err);
    slot.textContent = text;
    slot.hidden = false;
    if (control.matches("input, select, textarea")) control.setAttribute("aria-invalid", "true");
    return text;
  });
  fill("clearError", function (control) {
    var slot = document.getElementById(control.id + "-error");
    if (slot) { slot.textContent = ""; slot.hidden = true; }
    control.removeAttribute("aria-invalid");
  });

  fill("announce", function (text) {
    var region = document.getElementById("announcer");
    if (!region) {
      region = ID.el("div", { id: "announcer", class: "visually-hidden", role: "status", "aria-live": "polite" });
      document.body.append(region);
    }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  });

  /* ID.ask({title, body, yes, no, danger}) → Promise<boolean>, a modal dialog */
  fill("ask", function (opts) {
    return new Promise(function (resolve) {
      var back = document.activeElement, titleId = "ask-title";
      var yes = ID.el("button", { type: "button", class: opts.danger ? "danger" : "primary", text: opts.yes || "OK" });
      var no = ID.el("button", { type: "button", text: opts.no || "Cancel" });
      var dialog = ID.el("dialog", { class: "ask", "aria-labelledby": titleId },
        ID.el("h2", { id: titleId, text: opts.title }), opts.body ? ID.el("p", { text: opts.body }) : null,
        ID.el("div", { class: "actions" }, no, yes));
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
  });

  /* Unix seconds → "2 Dec 2026, 14:05" in the reader's locale */
  fill("date", function (seconds, withTime) {
    if (!seconds) return "—";
    var options = { year: "numeric", month: "short", day: "numeric" };
    if (withTime) { options.hour = "2-digit"; options.minute = "2-digit"; }
    return new Date(seconds * 1000).toLocaleString(undefined, options);
  });

  /* The control an API error belongs to: the field its `param` names, else the fallback. */
  fill("errorTarget", function (form, err, fallback) {
    var named = err && err.param && form.querySelector('[name="' + err.param + '"]');
    return named || fallback;
  });
})();
