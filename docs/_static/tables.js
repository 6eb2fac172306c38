// A table wider than the page (long text in three or more columns, on a phone) is shown
// row by row instead, each cell under its column's name, rather than cut off at the edge.
(function () {
  "use strict";

  function label(table) {
    const names = Array.from(table.querySelectorAll("thead th")).map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      Array.from(row.children).forEach((cell, i) => {
        if (names[i]) cell.dataset.label = names[i];
      });
    }
  }

  function fit(tables) {
    for (const table of tables) {
      table.classList.remove("stacked");
      if (table.scrollWidth > table.parentElement.clientWidth + 1) table.classList.add("stacked");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const tables = Array.from(document.querySelectorAll("article table.docutils"));
    tables.forEach(label);
    fit(tables);
    window.addEventListener("resize", () => fit(tables));
    // Math typeset later can widen a table: measure again when MathJax is done.
    if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
      window.MathJax.startup.promise.then(() => fit(tables));
    }
  });
})();
