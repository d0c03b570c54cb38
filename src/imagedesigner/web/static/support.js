/* /support: open a ticket, read your tickets with support's answers, reply, delete one. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var STATE = { open: "Waiting for support", answered: "Answered", closed: "Closed" };
  var list = document.getElementById("tickets"), empty = document.getElementById("tickets-empty");
  var form = document.getElementById("ticket-form");
  var subject = document.getElementById("ticket-subject"), body = document.getElementById("ticket-body");
  var send = document.getElementById("ticket-send"), status = document.getElementById("ticket-status");

  function message(who, text, when) {
    return el("li", { class: "msg msg-" + (who === "support" ? "support" : "person") },
      el("p", { class: "msg-meta" }, el("strong", { text: who === "support" ? "Support" : "You" }), " · " + ID.date(when, true)),
      el("p", { class: "msg-body", text: text }));
  }

  function ticketCard(t) {
    var thread = el("ol", { class: "thread" }, message("person", t.body, t.created_at),
      t.messages.map(function (m) { return message(m.author, m.body, m.created_at); }));
    var replyId = "reply-" + t.id;
    var reply = el("textarea", { id: replyId, name: "body", rows: "3", maxlength: "20000" });
    var replyButton = el("button", { type: "submit", text: t.status === "closed" ? "Reopen with this reply" : "Send reply" });
    var replyForm = el("form", { class: "reply", novalidate: true },
      el("label", { for: replyId, text: t.status === "closed" ? "Write again to reopen this ticket" : "Reply" }),
      reply, el("div", { class: "actions" }, replyButton));
    replyForm.addEventListener("submit", async function (ev) {
      ev.preventDefault();
      ID.clearError(reply);
      if (!reply.value.trim()) { ID.showError(reply, "Write your reply first."); reply.focus(); return; }
      replyButton.disabled = true;
      try {
        await ID.api("POST", "/v1/support/tickets/" + encodeURIComponent(t.id) + "/messages", { body: reply.value });
        ID.announce("Reply sent.");
        await load(t.id);
      } catch (e) { ID.showError(reply, e); replyButton.disabled = false; }
    });
    var remove = el("button", { type: "button", class: "danger", text: "Delete ticket" });
    remove.addEventListener("click", async function () {
      ID.clearError(remove);
      var sure = await ID.ask({ title: "Delete this ticket?", danger: true, yes: "Delete", no: "Keep it",
        body: "The ticket and every answer on it are deleted now. This cannot be undone." });
      if (!sure) return;
      try {
        await ID.api("DELETE", "/v1/support/tickets/" + encodeURIComponent(t.id));
        ID.announce("Ticket deleted.");
        await load();
        subject.focus();
      } catch (e) { ID.showError(remove, e); }
    });
    return el("article", { class: "ticket card", id: "ticket-" + t.id, "data-status": t.status, "aria-labelledby": "title-" + t.id },
      el("div", { class: "ticket-head" },
        el("h3", { id: "title-" + t.id, text: t.subject }),
        el("span", { class: "badge badge-" + t.status, text: STATE[t.status] })),
      el("p", { class: "muted", text: "Opened " + ID.date(t.created_at) + " · deleted on " + ID.date(t.expires_at) + " unless you delete it sooner" }),
      thread, replyForm, el("div", { class: "actions" }, remove));
  }

  async function load(focusId) {
    list.setAttribute("aria-busy", "true");
    try {
      var data = await ID.api("GET", "/v1/support/tickets");
      var tickets = data.data.slice().reverse();  // newest first
      list.replaceChildren.apply(list, tickets.map(ticketCard));
      empty.hidden = tickets.length > 0;
      if (focusId) {
        var card = document.getElementById("title-" + focusId);
        if (card) { card.setAttribute("tabindex", "-1"); card.focus(); }
      }
    } catch (e) {
      list.replaceChildren(el("p", { class: "error", role: "alert", text: "Your tickets could not be loaded. " + ID.human(e) }));
    }
    list.setAttribute("aria-busy", "false");
  }

  form.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    ID.clearError(subject); ID.clearError(body); ID.clearError(send);
    status.textContent = "";
    var missing = false;
    if (!body.value.trim()) { ID.showError(body, "Write your message."); body.focus(); missing = true; }
    if (!subject.value.trim()) { ID.showError(subject, "Give your ticket a subject."); subject.focus(); missing = true; }
    if (missing) return;
    send.disabled = true;
    try {
      var t = await ID.api("POST", "/v1/support/tickets", { subject: subject.value, body: body.value });
      form.reset();
      status.textContent = "Sent. We answer here, on your ticket.";
      status.className = "status-line success";
      await load(t.id);
    } catch (e) {
      ID.showError(ID.errorTarget(form, e, send), e);
    }
    send.disabled = false;
  });

  load();
})();
