// Canned replies in the composer and the Macros menu's confirmation. No inline script: the
// Content-Security-Policy allows only files like this one.
//
// Typing "/" and a few letters (at the start of the message or after a space) lists the matching
// canned replies under the composer; arrows move, Enter, Tab or a click inserts the chosen one, filled
// in for this conversation by the server, Escape closes the list. The text is put in the textarea as
// text (textContent → value), so nothing in a customer's name can become markup.
(function () {
  "use strict";

  const TRIGGER = /(^|\s)\/([\w-]{1,50})$/;
  let searchTimer = null;

  function composerText() {
    return document.querySelector("#composer textarea");
  }

  function menu() {
    return document.getElementById("canned-menu");
  }

  // The "/word" just before the caret, if the agent is typing one.
  function slashWord(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const match = TRIGGER.exec(before);
    if (!match || textarea.selectionStart !== textarea.selectionEnd) return null;
    return { word: match[2], start: before.length - match[2].length - 1, end: before.length };
  }

  function options() {
    const box = menu();
    return box ? Array.from(box.querySelectorAll("[data-insert-url]")) : [];
  }

  function isOpen() {
    const box = menu();
    return box !== null && !box.hidden;
  }

  function close() {
    clearTimeout(searchTimer);
    const box = menu();
    if (box) {
      box.hidden = true;
      box.replaceChildren();
      delete box.dataset.query;
    }
    composerText()?.removeAttribute("aria-activedescendant");
  }

  function search(word) {
    const box = menu();
    const form = document.getElementById("composer");
    if (!box || !form) return;
    box.dataset.query = word;
    const url = form.dataset.cannedUrl + "?q=" + encodeURIComponent(word);
    htmx.ajax("GET", url, { source: box, target: box, swap: "innerHTML" }).then(() => {
      const textarea = composerText();
      const now = textarea && slashWord(textarea);
      if (!now) return close(); // the agent moved on meanwhile
      if (now.word !== word) return search(now.word); // typed on while this one was under way
      box.hidden = box.childElementCount === 0;
      activate(options()[0] || null);
    });
  }

  function activate(option) {
    options().forEach((o) => o.setAttribute("aria-selected", String(o === option)));
    const textarea = composerText();
    if (!textarea) return;
    if (option) {
      textarea.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      textarea.removeAttribute("aria-activedescendant");
    }
  }

  function move(step) {
    const list = options();
    if (!list.length) return;
    const current = list.findIndex((o) => o.getAttribute("aria-selected") === "true");
    activate(list[(current + step + list.length) % list.length]);
  }

  // Ask the server for the reply filled in for this conversation (it counts the use), then put it in
  // place of the "/word". The request comes from a detached holder, so no form is sent along.
  function pick(option) {
    const url = option.dataset.insertUrl;
    close();
    const holder = document.createElement("div");
    holder.hidden = true;
    document.body.appendChild(holder);
    htmx.ajax("POST", url, { source: holder, target: holder, swap: "innerHTML" }).then(() => {
      const result = holder.querySelector("[data-canned-text]");
      holder.remove();
      if (result) insert(result.textContent, result.dataset.missing);
    });
  }

  function insert(text, missing) {
    const textarea = composerText();
    if (!textarea) return;
    const place = slashWord(textarea) || { start: textarea.selectionStart, end: textarea.selectionEnd };
    textarea.value = textarea.value.slice(0, place.start) + text + textarea.value.slice(place.end);
    const caret = place.start + text.length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    showMissing(missing);
  }

  function showMissing(missing) {
    const note = document.getElementById("canned-missing");
    if (!note) return;
    const names = (missing || "").split(" ").filter(Boolean);
    note.hidden = names.length === 0;
    note.textContent = names.length
      ? "No value for " + names.map((n) => "{{" + n + "}}").join(", ") + ": it was left empty, fill it in before sending."
      : "";
  }

  document.addEventListener("input", (event) => {
    const textarea = event.target;
    if (!(textarea instanceof HTMLTextAreaElement) || !textarea.matches("#composer textarea")) return;
    const found = slashWord(textarea);
    clearTimeout(searchTimer);
    if (!found) {
      if (isOpen()) close();
      return;
    }
    searchTimer = setTimeout(() => search(found.word), 120);
  });

  // Captured before the workspace's own shortcuts (app.js), which skip what is handled here.
  document.addEventListener("keydown", (event) => {
    if (!isOpen() || !event.target.matches || !event.target.matches("#composer textarea")) return;
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const active = options().find((o) => o.getAttribute("aria-selected") === "true");
    if ((event.key === "Enter" || event.key === "Tab") && !active) {
      close(); // nothing to insert: the key does what it always does
      return;
    }
    const handled = { ArrowDown: () => move(1), ArrowUp: () => move(-1), Escape: close, Enter: () => pick(active) };
    handled.Tab = handled.Enter;
    const action = handled[event.key];
    if (!action || event.shiftKey) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  }, true);

  // mousedown, not click: the textarea keeps its focus and caret.
  document.addEventListener("mousedown", (event) => {
    const option = event.target.closest && event.target.closest("#canned-menu [data-insert-url]");
    if (!option) return;
    event.preventDefault();
    pick(option);
  });

  document.addEventListener("focusout", (event) => {
    if (event.target.matches && event.target.matches("#composer textarea")) setTimeout(() => {
      if (document.activeElement !== composerText()) close();
    }, 150);
  });

  // ---- macros: a confirmation listing what the macro will do --------------------------------

  let confirmed = null;

  function confirmDialog() {
    let dialog = document.getElementById("macro-confirm");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "macro-confirm";
    dialog.setAttribute("aria-labelledby", "macro-confirm-title");
    const title = document.createElement("h2");
    title.id = "macro-confirm-title";
    const intro = document.createElement("p");
    intro.textContent = "It will do all of this, or nothing if one step is refused:";
    const steps = document.createElement("ol");
    steps.className = "macro-steps";
    const buttons = document.createElement("div");
    buttons.className = "dialog-buttons";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => dialog.close());
    const apply = document.createElement("button");
    apply.type = "button";
    apply.className = "primary";
    apply.dataset.macroConfirm = "";
    apply.textContent = "Apply";
    apply.addEventListener("click", () => {
      const go = confirmed;
      confirmed = null;
      dialog.close();
      if (go) go();
    });
    buttons.append(cancel, apply);
    dialog.append(title, intro, steps, buttons);
    dialog.addEventListener("close", () => (confirmed = null));
    document.body.appendChild(dialog);
    return dialog;
  }

  document.addEventListener("htmx:confirm", (event) => {
    const form = event.target.closest && event.target.closest("form[data-macro-name]");
    if (!form) return;
    event.preventDefault();
    const dialog = confirmDialog();
    dialog.querySelector("h2").textContent = "Apply “" + form.dataset.macroName + "”?";
    const steps = dialog.querySelector(".macro-steps");
    steps.replaceChildren(...Array.from(form.querySelectorAll(".macro-steps li"), (li) => li.cloneNode(true)));
    form.closest("details")?.removeAttribute("open");
    confirmed = () => event.detail.issueRequest(true);
    dialog.showModal();
    dialog.querySelector("[data-macro-confirm]").focus();
  });
})();
