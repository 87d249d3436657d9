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

// After a swap that a person asked for (a form sent, a button pressed), move the focus to what changed:
// the first field with an error, else the swapped region itself, so that keyboard and screen-reader
// users land on the answer. Swaps nobody asked for (polling, lazy loads) and a filter being changed
// (which swaps the results on each change) leave the focus where it is.
document.body.addEventListener("htmx:afterSettle", function (event) {
  const target = event.detail.target;
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  if (!target || !document.body.contains(target) || !trigger) return;
  if (trigger.type !== "submit" && trigger.type !== "click") return;
  const invalid = target.querySelector(".is-invalid, [aria-invalid='true']");
  const focusable = invalid || target.querySelector("[data-swap-focus]") || target;
  if (focusable === target && !target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  focusable.focus();
});
