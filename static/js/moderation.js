// The manager's desk without full page reloads: a vote is sent with fetch, its card folds into a
// confirmation with an Undo button for the policy's seconds; N / V / S vote on the current case, U takes
// back the last vote still undoable, J / K move between cases. Without JavaScript the same forms post.
(function () {
  "use strict";
  var queue = document.querySelector("[data-queue]");
  if (!queue || !window.fetch) return;
  var keys = { n: "complies", v: "violates", s: "skip" };
  var undoSeconds = parseInt(queue.getAttribute("data-undo-seconds") || "0", 10);
  var announce = document.querySelector("[data-queue-status]");
  var left = document.querySelector("[data-votes-left]");
  var undoable = [];  // cards whose vote may still be taken back, the latest last

  function cases() { return Array.prototype.slice.call(queue.querySelectorAll(".case:not(.done)")); }
  function current() {
    var active = document.activeElement && document.activeElement.closest && document.activeElement.closest(".case");
    return active && !active.classList.contains("done") ? active : cases()[0];
  }
  function say(text) { if (announce) announce.textContent = text || ""; }
  function showLeft(count) {
    if (left && typeof count === "number") {
      left.setAttribute("data-votes-left", count);
      left.textContent = left.textContent.replace(/\d+/, count);
    }
  }

  function focusCase(element, quietly) {
    if (!element) return;
    queue.querySelectorAll(".case").forEach(function (c) { c.classList.toggle("current", c === element); });
    element.focus({ preventScroll: !!quietly });
  }

  function post(form, data) {
    return fetch(form.action, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": data.get("csrfmiddlewaretoken") },
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok && body.ok, body: body }; });
    });
  }

  function buttons(form, enabled) { form.querySelectorAll("button").forEach(function (b) { b.disabled = !enabled; }); }

  function closeUndo(caseElement) {
    var confirm = caseElement.querySelector("form.case-confirm");
    clearInterval(caseElement._tick);
    undoable = undoable.filter(function (c) { return c !== caseElement; });
    confirm.querySelector(".case-undo").remove();
    confirm.querySelector(".case-undo-left").textContent = "";
  }

  function confirmVote(caseElement, message) {
    var confirm = caseElement.querySelector("form.case-confirm");
    var counter = confirm.querySelector(".case-undo-left");
    confirm.querySelector(".case-confirm-text").textContent = message;
    confirm.hidden = false;
    buttons(confirm, true);
    var ends = Date.now() + undoSeconds * 1000;
    function tick() {
      var seconds = Math.ceil((ends - Date.now()) / 1000);
      if (seconds <= 0) { closeUndo(caseElement); return; }
      counter.textContent = seconds + " s";
    }
    tick();
    caseElement._tick = setInterval(tick, 1000);
    undoable.push(caseElement);
  }

  function send(caseElement, choice) {
    var form = caseElement.querySelector("form.case-vote");
    var status = form.querySelector(".case-status");
    var data = new FormData(form);
    data.set("choice", choice);
    buttons(form, false);
    post(form, data).then(function (result) {
      showLeft(result.body.left);
      if (result.ok) {  // the confirmation beside the case says it (a status of its own): once is enough
        status.textContent = "";
        var next = cases()[cases().indexOf(caseElement) + 1];
        caseElement.classList.add("done");
        caseElement.classList.remove("current");
        confirmVote(caseElement, result.body.message);
        focusCase(next || cases()[0]);
        if (!cases().length && queue.getAttribute("data-empty") && !queue.querySelector(".empty")) {
          var empty = document.createElement("p");
          empty.className = "empty";
          empty.textContent = queue.getAttribute("data-empty") || "";
          queue.appendChild(empty);
        }
      } else {
        say(result.body.message);
        status.textContent = result.body.message || "";
        buttons(form, true);
      }
    }).catch(function () {
      form.submit();  // the network or the script failed: fall back to the plain form
    });
  }

  function undo(caseElement) {
    var confirm = caseElement.querySelector("form.case-confirm");
    buttons(confirm, false);
    post(confirm, new FormData(confirm)).then(function (result) {
      say(result.body.message);
      showLeft(result.body.left);
      if (result.ok) {
        clearInterval(caseElement._tick);
        undoable = undoable.filter(function (c) { return c !== caseElement; });
        confirm.hidden = true;
        caseElement.classList.remove("done");
        buttons(caseElement.querySelector("form.case-vote"), true);
        var empty = queue.querySelector(".empty");
        if (empty) empty.remove();
        focusCase(caseElement);
      } else {
        confirm.querySelector(".case-confirm-text").textContent = result.body.message || "";
        closeUndo(caseElement);
      }
    }).catch(function () { confirm.submit(); });
  }

  queue.addEventListener("submit", function (event) {
    var form = event.target;
    event.preventDefault();
    if (form.classList.contains("case-confirm")) { undo(form.closest(".case")); return; }
    var submitter = event.submitter;
    if (!submitter || !submitter.value) return;
    send(form.closest(".case"), submitter.value);
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var key = event.key.toLowerCase();
    if (key === "u") {
      if (undoable.length) { event.preventDefault(); undo(undoable[undoable.length - 1]); }
      return;
    }
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
