// The moderation queue without full page reloads: a vote is sent with fetch and its case leaves the
// queue; V / N / S vote on the current case, J / K move between cases. Without JavaScript the same
// forms post and the page reloads.
(function () {
  "use strict";
  var queue = document.querySelector("[data-queue]");
  if (!queue || !window.fetch) return;
  var keys = { v: "violates", n: "complies", s: "skip" };

  function cases() { return Array.prototype.slice.call(queue.querySelectorAll(".case:not(.done)")); }
  function current() {
    var active = document.activeElement && document.activeElement.closest && document.activeElement.closest(".case");
    return active && !active.classList.contains("done") ? active : cases()[0];
  }
  var announce = document.querySelector("[data-queue-status]");

  function focusCase(element, quietly) {
    if (!element) return;
    queue.querySelectorAll(".case").forEach(function (c) { c.classList.toggle("current", c === element); });
    element.focus({ preventScroll: !!quietly });
  }

  function send(caseElement, choice) {
    var form = caseElement.querySelector("form.case-vote");
    var status = form.querySelector(".case-status");
    var data = new FormData(form);
    data.set("choice", choice);
    form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok && body.ok, body: body }; });
    }).then(function (result) {
      status.textContent = result.body.message || "";
      if (announce) announce.textContent = result.body.message || "";
      if (result.ok) {
        var next = cases()[cases().indexOf(caseElement) + 1];
        caseElement.classList.add("done");
        caseElement.classList.remove("current");
        caseElement.setAttribute("aria-hidden", "true");
        focusCase(next || cases()[0]);
        if (!cases().length) {
          var empty = document.createElement("p");
          empty.className = "empty";
          empty.textContent = queue.getAttribute("data-empty") || "";
          queue.appendChild(empty);
        }
      } else {
        form.querySelectorAll("button").forEach(function (b) { b.disabled = false; });
      }
    }).catch(function () {
      form.submit();  // the network or the script failed: fall back to the plain form
    });
  }

  queue.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (!submitter || !submitter.value) return;
    event.preventDefault();
    send(form.closest(".case"), submitter.value);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var key = event.key.toLowerCase();
    var here = current();
    if (!here) return;
    if (keys[key]) { event.preventDefault(); send(here, keys[key]); }
    else if (key === "j" || key === "k") {
      event.preventDefault();
      var list = cases();
      var index = list.indexOf(here) + (key === "j" ? 1 : -1);
      focusCase(list[Math.max(0, Math.min(list.length - 1, index))]);
    }
  });

  focusCase(cases()[0], true);  // on load: mark the first case current without scrolling past the title
})();
