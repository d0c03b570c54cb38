/* The staff desk: tickets (support and admin); rights requests, legal holds, the audit log and
   the under-age flag (admin). Every call goes to the JSON API, which checks the role and writes
   the audit log. Errors sit next to the control that caused them. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var root = document.querySelector(".desk");
  if (!root) return;

  /* A table that becomes stacked rows on a phone: columns [{label, cell(row)}]. */
  function table(caption, columns, rows) {
    return el("table", { class: "stack" },
      el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, columns.map(function (c) { return el("th", { scope: "col", text: c.label }); }))),
      el("tbody", {}, rows.map(function (r) {
        return el("tr", { "data-id": r.id }, columns.map(function (c) {
          var value = c.cell(r);
          return el("td", { "data-label": c.label }, typeof value === "string" ? document.createTextNode(value) : value);
        }));
      })));
  }

  /* Load `path` into `box` with `render(data)`; the empty state shows when `isEmpty(data)`. */
  async function fill(box, empty, path, render, isEmpty) {
    box.setAttribute("aria-busy", "true");
    try {
      var data = await ID.api("GET", path);
      var blank = isEmpty ? isEmpty(data) : data.data.length === 0;
      box.replaceChildren(blank ? "" : render(data));
      empty.hidden = !blank;
      return data;
    } catch (e) {
      box.replaceChildren(el("p", { class: "error", role: "alert", text: "This could not be loaded. " + ID.human(e) }));
      empty.hidden = true;
      return null;
    } finally {
      box.setAttribute("aria-busy", "false");
    }
  }

  /* Submit a form to the API; errors go under the field the API names, else under the button. */
  function wire(form, button, statusLine, send) {
    form.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      form.querySelectorAll("[id]").forEach(function (c) {
        if (document.getElementById(c.id + "-error")) ID.clearError(c);
      });
      statusLine.textContent = "";
      button.disabled = true;
      try {
        var said = await send();
        if (said) { statusLine.textContent = said; statusLine.className = "status-line success"; ID.announce(said); }
      } catch (e) {
        var target = ID.errorTarget(form, e, button);
        ID.showError(target, e);
        if (target !== button) target.focus();
      }
      button.disabled = false;
    });
  }

  function need(input, sentence) {
    if (input.value.trim()) return false;
    ID.showError(input, sentence);
    input.focus();
    return true;
  }

  /* --- tickets ------------------------------------------------------------------------ */
  var TICKET_STATE = { open: "Waiting for an answer", answered: "Answered", closed: "Closed" };

  function ticketCard(t, reload) {
    var thread = el("ol", { class: "thread" },
      [{ author: "person", body: t.body, created_at: t.created_at }].concat(t.messages).map(function (m) {
        return el("li", { class: "msg msg-" + m.author },
          el("p", { class: "msg-meta" }, el("strong", { text: m.author === "support" ? "Support" : t.email }), " · " + ID.date(m.created_at, true)),
          el("p", { class: "msg-body", text: m.body }));
      }));
    var card = el("article", { class: "ticket card", id: "ticket-" + t.id, "data-status": t.status },
      el("div", { class: "ticket-head" }, el("h2", { text: t.subject }),
        el("span", { class: "badge badge-" + t.status, text: TICKET_STATE[t.status] })),
      el("p", { class: "muted", text: "From " + t.email + " · opened " + ID.date(t.created_at) }), thread);
    if (t.status === "closed") return card;
    var answerId = "answer-" + t.id;
    var answer = el("textarea", { id: answerId, name: "body", rows: "4", maxlength: "20000" });
    var send = el("button", { type: "submit", class: "primary", text: "Send answer" });
    var close = el("button", { type: "button", text: "Close ticket" });
    var form = el("form", { class: "reply", novalidate: true },
      el("label", { for: answerId, text: "Answer " + t.email }), answer, el("div", { class: "actions" }, send, close));
    var base = "/v1/admin/tickets/" + encodeURIComponent(t.id);
    wire(form, send, el("p"), async function () {
      if (need(answer, "Write the answer first.")) return null;
      await ID.api("POST", base + "/answers", { body: answer.value });
      await reload();
      return "Answer sent to " + t.email + ".";
    });
    close.addEventListener("click", async function () {
      ID.clearError(close);
      try { await ID.api("POST", base + "/close"); ID.announce("Ticket closed."); await reload(); }
      catch (e) { ID.showError(close, e); }
    });
    card.append(form);
    return card;
  }

  function tickets() {
    var box = document.getElementById("queue"), empty = document.getElementById("queue-empty");
    var state = document.getElementById("ticket-state");
    async function reload() {
      await fill(box, empty, "/v1/admin/tickets?status=" + encodeURIComponent(state.value), function (data) {
        return el("div", { class: "tickets" }, data.data.map(function (t) { return ticketCard(t, reload); }));
      });
    }
    state.addEventListener("change", reload);
    reload();
  }

  /* --- rights requests ---------------------------------------------------------------- */
  var RIGHT = { access: "Access / copy", rectification: "Correction", erasure: "Erasure",
    restriction: "Restriction", "restriction-lifted": "Restriction lifted", "consent-withdrawal": "Consent withdrawal",
    "ticket-deletion": "Ticket deleted", "gallery-deletion": "Gallery item deleted" };

  function deadline(r) {
    if (r.completed_at) return el("span", { class: /LATE/.test(r.status) ? "badge badge-late" : "badge badge-met", text: r.status === "met" ? "Met" : r.status });
    if (r.days_left < 0) return el("span", { class: "badge badge-late", text: "Overdue by " + -r.days_left + (r.days_left === -1 ? " day" : " days") });
    if (/legal hold/.test(r.status)) return el("span", { class: "badge", text: "Waiting for a legal hold" });
    return el("span", { class: r.days_left <= 7 ? "badge badge-soon" : "badge", text: "Due in " + r.days_left + (r.days_left === 1 ? " day" : " days") });
  }

  function requests() {
    var box = document.getElementById("requests"), empty = document.getElementById("requests-empty");
    async function reload() {
      await fill(box, empty, "/v1/admin/rights-requests", function (data) {
        return table("Rights requests, open ones first", [
          { label: "Request", cell: function (r) { return RIGHT[r.type] || r.type; } },
          { label: "Received", cell: function (r) { return ID.date(r.received_at); } },
          { label: "Due", cell: function (r) { return ID.date(r.due_at); } },
          { label: "Status", cell: deadline },
          { label: "Channel", cell: function (r) { return r.channel === "staff" ? "Staff" : "In the app"; } },
          { label: "Person (reference)", cell: function (r) { return el("code", { text: r.subject_ref }); } },
          { label: "Action", cell: function (r) {
            if (r.completed_at || /legal hold/.test(r.status)) return r.completed_at ? "Fulfilled " + ID.date(r.completed_at) : "—";
            var done = el("button", { type: "button", id: "done-" + r.id, text: "Mark fulfilled" });
            done.addEventListener("click", async function () {
              ID.clearError(done);
              try { await ID.api("POST", "/v1/admin/rights-requests/" + encodeURIComponent(r.id) + "/complete"); ID.announce("Request marked fulfilled."); await reload(); }
              catch (e) { ID.showError(done, e); }
            });
            return done;
          } },
        ], data.data);
      });
    }
    var form = document.getElementById("request-form");
    var email = document.getElementById("request-email"), received = document.getElementById("request-received");
    received.name = "received_at";  // so an error about received_at lands on this field
    wire(form, document.getElementById("request-save"), document.getElementById("request-status"), async function () {
      if (need(email, "Enter the email address of the person's account.")) return null;
      var payload = { email: email.value, type: document.getElementById("request-type").value };
      var today = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);
      if (received.value && received.value !== today) {  // an earlier day: its noon; today: now
        payload.received_at = Math.floor(new Date(received.value + "T12:00:00").getTime() / 1000);
      }
      var r = await ID.api("POST", "/v1/admin/rights-requests", payload);
      form.reset();
      await reload();
      return "Recorded. It is due on " + ID.date(r.due_at) + ".";
    });
    reload();
  }

  /* --- legal holds -------------------------------------------------------------------- */
  function holds() {
    var box = document.getElementById("holds"), empty = document.getElementById("holds-empty");
    async function reload() {
      await fill(box, empty, "/v1/admin/holds", function (data) {
        return table("Legal holds, active ones first", [
          { label: "Account", cell: function (h) { return h.email || h.user_id; } },
          { label: "Reason", cell: function (h) { return h.reason; } },
          { label: "Placed", cell: function (h) { return ID.date(h.created_at, true); } },
          { label: "Status", cell: function (h) {
            return el("span", { class: h.active ? "badge badge-active" : "badge", text: h.active ? "Active" : "Released " + ID.date(h.released_at) });
          } },
          { label: "Action", cell: function (h) {
            if (!h.active) return "—";
            var release = el("button", { type: "button", id: "release-" + h.id, text: "Release" });
            release.addEventListener("click", async function () {
              ID.clearError(release);
              var sure = await ID.ask({ title: "Release this hold?", yes: "Release", no: "Keep the hold",
                body: "The data of " + (h.email || "this account") + " follows the normal retention rules again: what is past its time, or was asked to be erased, is deleted at the next sweep." });
              if (!sure) return;
              try { await ID.api("POST", "/v1/admin/holds/" + encodeURIComponent(h.id) + "/release"); ID.announce("Hold released."); await reload(); }
              catch (e) { ID.showError(release, e); }
            });
            return release;
          } },
        ], data.data);
      });
    }
    var form = document.getElementById("hold-form");
    var email = document.getElementById("hold-email"), reason = document.getElementById("hold-reason");
    wire(form, document.getElementById("hold-place"), document.getElementById("hold-status"), async function () {
      if (need(email, "Enter the email address of the account to hold.")) return null;
      if (need(reason, "Give a reason, such as the case reference.")) return null;
      var h = await ID.api("POST", "/v1/admin/holds", { email: email.value, reason: reason.value });
      form.reset();
      await reload();
      return "Hold placed on " + h.email + ".";
    });
    reload();
  }

  /* --- the audit log ------------------------------------------------------------------ */
  function auditLog() {
    var box = document.getElementById("audit"), empty = document.getElementById("audit-empty");
    var email = document.getElementById("audit-email"), apply = document.getElementById("audit-apply");
    var older = document.getElementById("audit-older"), newest = document.getElementById("audit-newest");
    var cursor = null;
    async function show(before) {
      ID.clearError(email);
      var path = "/v1/admin/audit?limit=25" + (before ? "&before=" + before : "") +
        (email.value.trim() ? "&email=" + encodeURIComponent(email.value.trim()) : "");
      var data;
      try { data = await ID.api("GET", path); }
      catch (e) { ID.showError(e.param === "email" ? email : apply, e); return; }
      box.replaceChildren(data.data.length ? table("Audit log entries, newest first", [
        { label: "When", cell: function (e) { return ID.date(e.at, true); } },
        { label: "Who", cell: function (e) { return el("code", { text: e.actor }); } },
        { label: "Action", cell: function (e) { return e.action; } },
        { label: "About", cell: function (e) { return el("code", { text: e.target }); } },
      ], data.data) : "");
      box.setAttribute("aria-busy", "false");
      empty.hidden = data.data.length > 0;
      cursor = data.next_before;
      older.hidden = !data.has_more;
      newest.hidden = !before;
    }
    document.getElementById("audit-filter").addEventListener("submit", function (ev) { ev.preventDefault(); show(null); });
    older.addEventListener("click", function () { show(cursor).then(function () { box.focus(); }); });
    newest.addEventListener("click", function () { show(null); });
    box.setAttribute("tabindex", "-1");
    show(null);
  }

  /* --- the under-age flag ------------------------------------------------------------- */
  function underage() {
    var form = document.getElementById("underage-form"), email = document.getElementById("underage-email");
    var age = form.dataset.minimumAge;
    wire(form, document.getElementById("underage-flag"), document.getElementById("underage-status"), async function () {
      if (need(email, "Enter the email address of the account.")) return null;
      var sure = await ID.ask({ title: "Delete this account?", danger: true, yes: "Delete account", no: "Cancel",
        body: email.value + " will be marked as under " + age + ": the account and all its data are deleted now. This cannot be undone." });
      if (!sure) return null;
      var r = await ID.api("POST", "/v1/admin/underage", { email: email.value });
      var who = email.value;
      form.reset();
      return r.status === "erased" ? "The account of " + who + " and all its data are deleted."
        : "The account of " + who + " is closed; its data is kept under a legal hold and deleted when the hold is released.";
    });
  }

  var pages = { tickets: tickets, requests: requests, holds: holds, audit: auditLog, underage: underage };
  if (pages[root.dataset.desk]) pages[root.dataset.desk]();
})();
