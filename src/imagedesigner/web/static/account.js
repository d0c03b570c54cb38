/* The privacy center: consents, restriction, API keys (a copy button for a new one) and
   erasure. Every message appears next to the control that caused it. */
(function () {
  "use strict";
  var ID = window.ID, el = ID.el;
  var list = document.getElementById("consents");
  if (!list) return;

  function when(ts) { return ts ? new Date(ts * 1000).toLocaleString() : "never"; }

  async function loadConsents() {
    var data = await ID.api("GET", "/v1/me/consents");
    list.replaceChildren();
    Object.keys(data.purposes).forEach(function (purpose) {
      var p = data.purposes[purpose], id = "consent-" + purpose;
      var box = el("input", { type: "checkbox", id: id, checked: p.granted });
      var status = el("p", { class: "status-line", role: "status", id: id + "-status" });
      box.addEventListener("change", function () { change(purpose, box, status); });
      list.append(el("li", { "data-purpose": purpose },
        el("label", { class: "inline", for: id }, box, " " + p.description), status));
    });
  }

  async function change(purpose, box, status) {
    ID.clearError(box);
    var path = "/v1/me/consents/" + encodeURIComponent(purpose);
    try {
      if (box.checked) {
        await ID.api("POST", path);
      } else {
        try {
          await ID.api("DELETE", path);
        } catch (e) {
          if (e.code !== "confirmation_required") throw e;
          var count = (e.message.match(/(\d+) saved/) || [])[1];
          var yes = await ID.ask({ title: "Withdraw and delete your gallery?",
            body: "Withdrawing this consent deletes " + (count ? "the " + count + (count === "1" ? " item" : " items") : "everything") +
              " saved in your gallery, with their images, for good.",
            yes: "Withdraw and delete", no: "Keep my gallery", danger: true });
          if (!yes) { box.checked = true; return; }
          await ID.api("DELETE", path + "?confirm=true");
        }
      }
      ID.say(status, "Saved.", "success");
    } catch (e) {
      box.checked = !box.checked;
      ID.say(status, "");
      ID.showError(box, e);
    }
  }

  async function loadKeys() {
    var data = await ID.api("GET", "/v1/me/keys"), keys = document.getElementById("keylist");
    keys.replaceChildren();
    data.data.forEach(function (k) {
      var item = el("li", { "data-id": k.id, class: "row" },
        el("span", {}, el("code", {}, k.prefix + "…"), " " + (k.name || "(no name)") +
          (k.revoked_at ? " · revoked" : " · last used " + when(k.last_used_at))));
      if (!k.revoked_at) {
        var revoke = el("button", { type: "button", class: "delete", text: "Revoke" });
        revoke.addEventListener("click", async function () {
          try { await ID.api("DELETE", "/v1/me/keys/" + encodeURIComponent(k.id)); await loadKeys(); }
          catch (e) { ID.showError(revoke, e); }
        });
        item.append(revoke);
      }
      keys.append(item);
    });
    document.getElementById("keys-empty").hidden = data.data.length > 0;
  }

  var newkey = document.getElementById("newkey");
  newkey.addEventListener("click", async function () {
    ID.clearError(newkey);
    try {
      var k = await ID.api("POST", "/v1/me/keys", { name: document.getElementById("keyname").value });
      document.getElementById("newtoken-value").textContent = k.key;
      document.getElementById("newtoken").hidden = false;
      document.getElementById("copykey").focus();
      await loadKeys();
    } catch (e) { ID.showError(newkey, e); }
  });
  document.getElementById("copykey").addEventListener("click", function (ev) {
    ID.copy(document.getElementById("newtoken-value").textContent, ev.currentTarget);
  });

  var restricted = document.getElementById("restricted"), rstatus = document.getElementById("restricted-status");
  restricted.addEventListener("change", function () {
    ID.clearError(restricted);
    ID.api(restricted.checked ? "POST" : "DELETE", "/v1/me/restriction").then(function () {
      ID.say(rstatus, restricted.checked ? "Processing restricted." : "Restriction lifted.", "success");
    }, function (e) {
      restricted.checked = !restricted.checked;
      ID.showError(restricted, e);
    });
  });

  var erase = document.getElementById("erase");
  erase.addEventListener("click", async function () {
    var yes = await ID.ask({ title: "Delete your account?",
      body: "Your account and all your data are deleted at once. This cannot be undone.",
      yes: "Delete everything", no: "Keep my account", danger: true });
    if (!yes) return;
    try {
      var result = await ID.api("DELETE", "/v1/me");
      if (result && result.status === "pending") {
        ID.say(document.getElementById("erase-status"), "Your request was recorded. Some data has to be kept " +
          "for now under a legal obligation; it is deleted as soon as that ends.");
        return;
      }
      window.location.assign("/?erased=1");
    } catch (e) { ID.showError(erase, e); }
  });

  loadConsents().catch(function (e) { ID.showError(list, e); });
  loadKeys().catch(function (e) { ID.showError(document.getElementById("keylist"), e); });
})();
