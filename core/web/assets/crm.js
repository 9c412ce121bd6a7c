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
// Tabs (role="tablist"): each [role=tab] shows the [role=tabpanel] it labels (aria-labelledby);
// arrow keys, Home and End move between tabs. Without script every panel stays visible.
function setUpTabs(root) {
  (root || document).querySelectorAll('[role="tablist"]').forEach(function (list) {
    var tabs = Array.prototype.slice.call(list.querySelectorAll('[role="tab"]'));
    function panelOf(tab) {
      var panel = document.querySelector('[role="tabpanel"][aria-labelledby="' + tab.id + '"]');
      if (panel && !panel.id) { panel.id = tab.id.replace(/^tab-/, "panel-"); }
      if (panel) { tab.setAttribute("aria-controls", panel.id); }
      return panel;
    }
    function select(chosen, focus) {
      tabs.forEach(function (tab) {
        var on = tab === chosen, panel = panelOf(tab);
        tab.setAttribute("aria-selected", on ? "true" : "false");
        tab.tabIndex = on ? 0 : -1;
        if (panel) { panel.hidden = !on; }
      });
      if (focus) { chosen.focus(); }
    }
    select(tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0], false);
    list.addEventListener("click", function (event) {
      var tab = event.target.closest('[role="tab"]');
      if (tab) { select(tab, true); }
    });
    list.addEventListener("keydown", function (event) {
      var i = tabs.indexOf(document.activeElement), next = null;
      if (i < 0) { return; }
      if (event.key === "ArrowRight") { next = tabs[(i + 1) % tabs.length]; }
      else if (event.key === "ArrowLeft") { next = tabs[(i - 1 + tabs.length) % tabs.length]; }
      else if (event.key === "Home") { next = tabs[0]; }
      else if (event.key === "End") { next = tabs[tabs.length - 1]; }
      if (next) { event.preventDefault(); select(next, true); }
    });
  });
}
document.addEventListener("DOMContentLoaded", function () { setUpTabs(document); });
