// The only script of the storefront and the console: a section with data-poll="<url>" is redrawn from that URL
// every 1.5 s until the answer says it is final (header X-Final: true); then the page is reloaded once, so its
// actions (a cancel button, say) match the new state. Everything else is plain HTML forms.
"use strict";
(function () {
  const INTERVAL_MS = 1500;
  function poll(section) {
    const url = section.getAttribute("data-poll");
    const tick = async () => {
      let response;
      try {
        response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      } catch (_) {
        setTimeout(tick, INTERVAL_MS * 2);  // offline for a moment: try again later
        return;
      }
      if (!response.ok) {
        return;  // signed out or gone: the page stays as it is
      }
      section.innerHTML = await response.text();
      if (response.headers.get("X-Final") === "true") {
        window.location.reload();
      } else {
        setTimeout(tick, INTERVAL_MS);
      }
    };
    setTimeout(tick, INTERVAL_MS);
  }
  document.querySelectorAll("[data-poll]").forEach(poll);
})();
