/* Rating form, progressive enhancement only: the form works the same without this file.
   - shows the meaning of the chosen score next to each row of hearts;
   - counts the comment's characters;
   - stops a second click from sending the form twice (the server stores one vote anyway). */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-rating-form]");
  Array.prototype.forEach.call(forms, function (form) {
    Array.prototype.forEach.call(form.querySelectorAll(".hearts"), function (group) {
      var out = group.querySelector("[data-score-meaning]");
      function show() {
        var checked = group.querySelector("input:checked");
        if (!out) { return; }
        if (!checked) { out.textContent = ""; return; }
        var label = group.querySelector('label[for="' + checked.id + '"]');
        var text = label ? label.getAttribute("title") || "" : "";
        out.textContent = text;
      }
      group.addEventListener("change", show);
      show();
    });

    var comment = form.querySelector("textarea[maxlength]");
    var counter = form.querySelector("[data-char-count]");
    if (comment && counter) {
      var max = parseInt(comment.getAttribute("maxlength"), 10);
      var update = function () { counter.textContent = "(" + comment.value.length + " / " + max + ")"; };
      counter.hidden = false;
      comment.addEventListener("input", update);
      update();
    }

    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) {
        // Disabled after this event, so the first click's request still carries the button.
        window.setTimeout(function () { button.disabled = true; }, 0);
      }
    });
  });
})();
