// The factor survey's up/down buttons: they reorder the list and set every place select to match, so the
// form sends the same fields with or without JavaScript. A changed select moves its item to that place.
(function () {
  "use strict";
  var list = document.querySelector("[data-survey-list]");
  if (!list) return;

  function items() {
    return Array.prototype.slice.call(list.querySelectorAll("[data-survey-item]"));
  }

  function renumber() {
    items().forEach(function (item, index) {
      item.querySelector("select").value = String(index + 1);
    });
  }

  function sortBySelects() {
    items()
      .map(function (item, index) {
        return { item: item, place: Number(item.querySelector("select").value), index: index };
      })
      .sort(function (a, b) {
        return a.place - b.place || a.index - b.index;
      })
      .forEach(function (entry) {
        list.appendChild(entry.item);
      });
  }

  items().forEach(function (item) {
    item.querySelectorAll("[data-move]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        if (button.dataset.move === "up" && item.previousElementSibling) {
          list.insertBefore(item, item.previousElementSibling);
        } else if (button.dataset.move === "down" && item.nextElementSibling) {
          list.insertBefore(item.nextElementSibling, item);
        }
        renumber();
        button.focus();
      });
    });
    item.querySelector("select").addEventListener("change", function (event) {
      var select = event.target;
      var wanted = Number(select.value);
      var others = items().filter(function (other) {
        return other !== item;
      });
      others.splice(wanted - 1, 0, item);
      others.forEach(function (entry) {
        list.appendChild(entry);
      });
      renumber();
      select.focus();
    });
  });
  // A form shown again with errors keeps the person's numbers: order the list by them, leave them as sent.
  if (!list.querySelector(".has-error")) sortBySelects();
})();
