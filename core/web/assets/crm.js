// crm-marketplace: the page glue htmx does not give. htmx 2.0 semantics (see docs/ui.md):
// error answers (4xx, 5xx) are swapped too, into the target the server names (HX-Retarget);
// confirmation dialogs are native <dialog> elements opened by [data-open-dialog].
document.addEventListener("DOMContentLoaded", function () {
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "[45]..", swap: true, error: true },
    ];
    htmx.config.historyCacheSize = 0;  // pages hold personal data: never keep them in localStorage
  }
});
document.addEventListener("click", function (event) {
  var opener = event.target.closest("[data-open-dialog]");
  if (opener) {
    var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
    if (dialog) { dialog.showModal(); }
    return;
  }
  var closer = event.target.closest("[data-close-dialog]");
  if (closer) { closer.closest("dialog").close(); }
});
// A dialog the server sends open (e.g. the portal's pop-ups) is shown as a modal.
function openServerDialogs(root) {
  (root || document).querySelectorAll("dialog[data-open-on-load]").forEach(function (dialog) {
    if (!dialog.open) { dialog.showModal(); }
  });
}
document.addEventListener("DOMContentLoaded", function () { openServerDialogs(document); });
document.addEventListener("htmx:afterSettle", function (event) { openServerDialogs(event.target); });
