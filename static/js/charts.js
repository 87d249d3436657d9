// Draws every <canvas data-chart="activity"> from the JSON block named by data-source.
(function () {
  const palette = ["#0d6efd", "#dc3545", "#198754", "#fd7e14"];
  document.querySelectorAll('canvas[data-chart="activity"]').forEach(function (canvas) {
    const source = document.getElementById(canvas.dataset.source);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels.map(function (day) {
          return new Date(day + "T12:00:00").toLocaleDateString(document.documentElement.lang, { day: "numeric", month: "short" });
        }),
        datasets: data.series.map(function (series, index) {
          return { label: series.label, data: series.data, backgroundColor: palette[index % palette.length] };
        }),
      },
      options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  });
})();

// Draws every <canvas data-chart="share"> (a doughnut) from {"labels": [...], "values": [...], "colors": [...]}.
(function () {
  document.querySelectorAll('canvas[data-chart="share"]').forEach(function (canvas) {
    const source = document.getElementById(canvas.dataset.source);
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "doughnut",
      data: { labels: data.labels, datasets: [{ data: data.values, backgroundColor: data.colors }] },
      options: { maintainAspectRatio: false, plugins: { legend: { position: "right" } } },
    });
  });
})();
