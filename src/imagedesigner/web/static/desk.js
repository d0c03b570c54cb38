/* Two helpers of the support page and the staff desk, beside the site's own (app.js). */
(function () {
  "use strict";
  var ID = (window.ID = window.ID || {});

  /* Unix seconds → "2 Dec 2026" (or "2 Dec 2026, 14:05") in the reader's locale */
  ID.date = function (seconds, withTime) {
    if (!seconds) return "—";
    var options = { year: "numeric", month: "short", day: "numeric" };
    if (withTime) { options.hour = "2-digit"; options.minute = "2-digit"; }
    return new Date(seconds * 1000).toLocaleString(undefined, options);
  };

  /* The control an API error belongs to: the field of `form` its `param` names, else `fallback`. */
  ID.errorTarget = function (form, err, fallback) {
    var named = err && err.param && form.querySelector('[name="' + err.param + '"]');
    return named || fallback;
  };
})();
