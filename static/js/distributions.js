// Per-factor score distributions: with scripts on, the reader picks one factor and sees its chart;
// without, every factor's chart is shown one under the other.
document.querySelectorAll("[data-distributions]").forEach((figure) => {
  const pick = figure.querySelector("[data-distribution-pick]");
  const charts = figure.querySelectorAll("[data-distribution]");
  if (!pick || charts.length < 2) return;
  const show = () => charts.forEach((chart) => { chart.hidden = chart.dataset.distribution !== pick.value; });
  pick.closest("label").hidden = false;
  figure.classList.add("picking");
  pick.addEventListener("change", show);
  show();
});
