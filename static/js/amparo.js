// Swap validation errors (422) and conflicts (409) into the page like successes, so that forms
// show their messages; other errors keep the page as it is and raise htmx's error events.
htmx.config.responseHandling = [
  { code: "204", swap: false },
  { code: "[23]..", swap: true },
  { code: "422", swap: true },
  { code: "409", swap: true },
  { code: "[45]..", swap: false, error: true },
];

document.body.addEventListener("htmx:responseError", function (event) {
  const box = document.getElementById("messages");
  if (!box) return;
  const status = event.detail.xhr.status;
  const text = status === 403 ? box.dataset.forbidden : box.dataset.failed;
  box.insertAdjacentHTML(
    "beforeend",
    '<div class="alert alert-danger" role="alert"></div>'
  );
  box.lastElementChild.textContent = (text || "The request failed") + " (" + status + ")";
});
