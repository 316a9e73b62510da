// Keyboard use of the agent workspace and a few small behaviours. No inline script anywhere:
// the Content-Security-Policy allows only files like this one.
(function () {
  "use strict";

  function rows() {
    return Array.from(document.querySelectorAll("#conv-list .conv-row"));
  }

  function selectedIndex(list) {
    const active = document.activeElement && document.activeElement.closest(".conv-row");
    if (active) return list.indexOf(active);
    return list.findIndex((r) => r.classList.contains("is-selected"));
  }

  function select(row, focus) {
    rows().forEach((r) => r.classList.toggle("is-selected", r === row));
    if (!row) return;
    row.scrollIntoView({ block: "nearest" });
    if (focus) row.querySelector(".conv-link").focus();
  }

  function move(step) {
    const list = rows();
    if (!list.length) return;
    const current = selectedIndex(list);
    const next = current < 0 ? 0 : Math.min(list.length - 1, Math.max(0, current + step));
    select(list[next], true);
  }

  function openSelected() {
    const row = document.querySelector("#conv-list .conv-row.is-selected");
    if (row) row.querySelector(".conv-link").click();
  }

  function compose(kind) {
    const composer = document.getElementById("composer");
    if (!composer) return;
    const radio = composer.querySelector('input[name="kind"][value="' + kind + '"]');
    if (radio) radio.checked = true;
    composer.querySelector("textarea").focus();
  }

  function press(shortcut) {
    const button = document.querySelector('#conv-header [data-shortcut="' + shortcut + '"]');
    if (button) button.click();
  }

  function toggleShortcuts() {
    const dialog = document.getElementById("shortcuts");
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  const keys = {
    j: () => move(1),
    k: () => move(-1),
    Enter: openSelected,
    r: () => compose("reply"),
    n: () => compose("note"),
    e: () => press("resolve"),
    a: () => press("assign-me"),
    "/": () => document.getElementById("search-input")?.focus(),
    "?": toggleShortcuts,
  };

  // Menus (the top bar's, Macros, Notifications): a click elsewhere or Escape closes them.
  const MENUS = "details.menu[open], details.macros[open], details.notifications[open]";

  function closeMenus(except) {
    document.querySelectorAll(MENUS).forEach((menu) => {
      if (!except || !menu.contains(except)) menu.open = false;
    });
  }

  // A menu in the conversation pane opens towards the side with room, never under the list beside it.
  document.addEventListener("toggle", (event) => {
    const menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.open || !menu.matches("details.macros")) return;
    const panel = menu.querySelector(".macro-list");
    const area = (menu.closest(".pane") || document.body).getBoundingClientRect();
    const summary = menu.querySelector("summary").getBoundingClientRect();
    const width = panel ? Math.max(panel.offsetWidth, 260) : 260;
    menu.classList.toggle("opens-right", summary.right - width < area.left);
  }, true);

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    const target = event.target;
    if (event.key === "Escape" && document.querySelector(MENUS)) {
      const open = target.closest && target.closest("details[open]");
      closeMenus(null);
      if (open) open.querySelector("summary").focus();
      return;
    }
    if (event.key === "Enter" && event.ctrlKey && target.matches("#composer textarea")) {
      event.preventDefault();
      target.form.requestSubmit();
      return;
    }
    if (event.ctrlKey) return;
    if (event.key === "Escape" && typing(target)) {
      target.blur();
      return;
    }
    if (typing(target) || document.querySelector("dialog[open]") && event.key !== "?") return;
    // Enter on a focused link or button does what it always does.
    if (event.key === "Enter" && target.closest("a, button")) return;
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    action();
  });

  document.addEventListener("click", (event) => {
    closeMenus(event.target);
    if (event.target.closest("[data-open-shortcuts]")) toggleShortcuts();
    const close = event.target.closest(".flash-close");
    if (close) close.closest(".flash").remove();
    const link = event.target.closest(".conv-link");
    if (link) select(link.closest(".conv-row"), false);
  });

  // After the pane or the thread changes: mark the open row, show the latest message.
  function scrollThread() {
    const thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  function markOpen() {
    const pane = document.getElementById("conversation");
    if (!pane) return;
    const row = document.getElementById("conv-row-" + pane.dataset.conversationId);
    if (row) select(row, false);
  }

  document.addEventListener("htmx:afterSettle", (event) => {
    const target = event.detail.target;
    if (target && target.id === "pane") {
      markOpen();
      scrollThread();
    }
    if (target && target.id === "composer") {
      scrollThread();
      document.querySelector("#composer textarea")?.focus();
    }
  });

  // A refusal shown in the flash area goes away by itself after a while.
  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "flash") {
      const flash = event.detail.target.querySelector(".flash");
      setTimeout(() => flash && flash.remove(), 8000);
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    markOpen();
    scrollThread();
  });

  window.touchpoint = { scrollThread: scrollThread, markOpen: markOpen };
})();
