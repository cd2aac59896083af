/* Several losses at once: add and remove rows, and show a picked product's units on hand.
   Without JavaScript the page offers five empty rows and works the same. */
(function () {
  "use strict";
  var form = document.getElementById("loss-batch-form");
  var rows = document.getElementById("loss-rows");
  var template = document.getElementById("loss-row-template");
  var add = document.getElementById("loss-add");
  var products = document.getElementById("loss-products");
  if (!form || !rows || !template || !add || !products) { return; }
  var total = form.querySelector("input[name$='-TOTAL_FORMS']");
  var maxRows = parseInt(form.getAttribute("data-max-rows"), 10) || 40;
  var onHand = {};
  Array.prototype.forEach.call(products.options, function (option) {
    onHand[option.value] = option.getAttribute("data-on-hand");
  });

  function renumber() {
    Array.prototype.forEach.call(rows.querySelectorAll("[data-loss-row]"), function (row, index) {
      var legend = row.querySelector("legend");
      if (legend) { legend.textContent = legend.getAttribute("data-label").replace("__number__", index + 1); }
    });
  }

  function wire(row) {
    var legend = row.querySelector("legend");
    var number = legend.textContent.match(/\d+|__number__/);
    legend.setAttribute("data-label", number ? legend.textContent.replace(number[0], "__number__") : legend.textContent);
    var remove = row.querySelector("[data-loss-remove]");
    remove.hidden = false;
    remove.addEventListener("click", function () {
      // The row's fields leave the form: the server sees an empty row and skips it.
      row.parentNode.removeChild(row);
      renumber();
    });
    var product = row.querySelector("input[list='loss-products']");
    var shown = row.querySelector("[data-loss-on-hand]");
    product.addEventListener("input", function () {
      if (Object.prototype.hasOwnProperty.call(onHand, product.value)) {
        shown.textContent = onHand[product.value];
      } else if (!product.value) {
        shown.textContent = "";
      }
    });
  }

  Array.prototype.forEach.call(rows.querySelectorAll("[data-loss-row]"), wire);
  add.hidden = false;
  add.addEventListener("click", function () {
    var index = parseInt(total.value, 10);
    if (index >= maxRows) { return; }
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    wire(row);
    renumber();
    if (index + 1 >= maxRows) { add.hidden = true; }
    row.querySelector("input[list='loss-products']").focus();
  });
}());
