// Touchpoint chat widget. A site adds one tag:
//   <script src="https://desk.example.com/widget/v1/<public key>.js" async></script>
// and, for a signed-in user, window.TouchpointSettings = {user_id, email, name, user_hash} (or the
// same as data-user-id, data-email, data-name, data-user-hash on the tag).
//
// Nothing here runs text as HTML: every message, name and error is set with textContent. The UI lives
// in a shadow root, so the site's styles and ours never meet.
(function () {
  "use strict";
  if (window.TouchpointWidget) return; // included twice: the first one runs

  // ---- where we come from ----------------------------------------------------------------------

  const script = document.currentScript || Array.from(document.scripts).find((s) => /\/widget\/v1\/[^/]+\.js/.test(s.src));
  if (!script) return;
  const source = new URL(script.src);
  const BASE = source.origin;
  const KEY = decodeURIComponent(source.pathname.match(/\/widget\/v1\/([^/]+)\.js$/)[1]);
  const STORE = "touchpoint:" + KEY + ":";

  function siteUser() {
    const s = window.TouchpointSettings || {};
    const d = script.dataset;
    const user = {
      user_id: s.user_id || d.userId || "",
      email: s.email || d.email || "",
      name: s.name || d.name || "",
      user_hash: s.user_hash || d.userHash || "",
    };
    return user.user_id ? user : null;
  }

  // ---- storage that survives a reload (and works without localStorage) ---------------------------

  const memory = {};
  function load(name, fallback) {
    try {
      const raw = window.localStorage.getItem(STORE + name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (e) {
      return name in memory ? memory[name] : fallback;
    }
  }
  function save(name, value) {
    memory[name] = value;
    try {
      window.localStorage.setItem(STORE + name, JSON.stringify(value));
    } catch (e) { /* private mode: memory only */ }
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- state -------------------------------------------------------------------------------------

  let visitorId = load("visitor", "") || uuid();
  save("visitor", visitorId);
  let outbox = load("outbox", []); // messages not yet acked by the server: resent after a reconnect
  let socket = null;
  let attempt = 0;
  let stopped = false;
  let session = null; // {token, verified, name}
  let config = null;
  let lastEventId = 0; // the last server event seen in this page: a reconnect replays what came after
  let synced = false;
  let isOpen = false;
  let unread = 0;
  let prechat = null; // the pre-chat form's answers, sent with the first message
  let uploads = []; // [{upload, name, size}] waiting for the next message
  let lastTypingSent = 0;
  let typingTimer = null;

  // ---- the UI ------------------------------------------------------------------------------------

  const host = document.createElement("div");
  host.id = "touchpoint-widget";
  const root = host.attachShadow({ mode: "open" });

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v;
      else if (k === "hidden") node.hidden = v;
      else node.setAttribute(k, v);
    });
    (children || []).forEach((c) => node.appendChild(c));
    return node;
  }

  const stylesheet = el("link", { rel: "stylesheet", href: BASE + "/static/webchat/widget.css" });
  const badge = el("span", { class: "tp-badge", hidden: true, "aria-hidden": "true" });
  const launcher = el("button", { type: "button", class: "tp-launcher", "aria-label": "Chat with us", "aria-expanded": "false" },
    [el("span", { class: "tp-launcher-icon", "aria-hidden": "true", text: "💬" }), badge]);
  const title = el("h2", { class: "tp-title", text: "Chat" });
  const status = el("p", { class: "tp-status", text: "" });
  const closeButton = el("button", { type: "button", class: "tp-close", "aria-label": "Close the chat", text: "×" });
  const banner = el("p", { class: "tp-banner", role: "alert", hidden: true });
  const greeting = el("p", { class: "tp-greeting", text: "" });
  const list = el("ol", { class: "tp-messages", role: "log", "aria-live": "polite", "aria-label": "Messages" });
  const typing = el("p", { class: "tp-typing", "aria-live": "polite", text: "" });

  // Pre-chat form
  const preName = el("input", { type: "text", name: "name", required: "", maxlength: "200", autocomplete: "name" });
  const preEmail = el("input", { type: "email", name: "email", maxlength: "200", autocomplete: "email" });
  const preTopic = el("select", { name: "topic" });
  const preTopicLabel = el("label", {}, [document.createTextNode("Topic"), preTopic]);
  const prechatForm = el("form", { class: "tp-prechat", hidden: true }, [
    el("p", { text: "Before we start:" }),
    el("label", {}, [document.createTextNode("Your name"), preName]),
    el("label", {}, [document.createTextNode("Email (optional)"), preEmail]),
    preTopicLabel,
    el("button", { type: "submit", class: "tp-primary", text: "Start the chat" }),
  ]);

  // Composer
  const text = el("textarea", { name: "text", rows: "2", placeholder: "Write a message…", "aria-label": "Message" });
  const fileInput = el("input", { type: "file", class: "tp-file", "aria-label": "Attach a file" });
  const files = el("ul", { class: "tp-files" });
  const composer = el("form", { class: "tp-composer", hidden: true }, [
    files, text,
    el("div", { class: "tp-actions" }, [
      el("label", { class: "tp-attach", title: "Attach a file" }, [document.createTextNode("📎"), fileInput]),
      el("button", { type: "submit", class: "tp-primary", text: "Send" }),
    ]),
  ]);

  // Away form
  const offEmail = el("input", { type: "email", name: "email", required: "", maxlength: "200", autocomplete: "email" });
  const offName = el("input", { type: "text", name: "name", maxlength: "200", autocomplete: "name" });
  const offText = el("textarea", { name: "text", rows: "3", required: "" });
  const offNote = el("p", { class: "tp-offline-note", text: "" });
  const offlineForm = el("form", { class: "tp-offline", hidden: true }, [
    offNote,
    el("label", {}, [document.createTextNode("Your email"), offEmail]),
    el("label", {}, [document.createTextNode("Your name"), offName]),
    el("label", {}, [document.createTextNode("Message"), offText]),
    el("button", { type: "submit", class: "tp-primary", text: "Send" }),
  ]);

  const panel = el("section", { class: "tp-panel", role: "dialog", "aria-label": "Chat", hidden: true }, [
    el("header", { class: "tp-head" }, [el("div", {}, [title, status]), closeButton]),
    banner, greeting, list, typing, prechatForm, composer, offlineForm,
  ]);
  root.append(stylesheet, panel, launcher);

  function mount() {
    document.body.appendChild(host);
    if (outbox.length || load("active", false)) connect();
    outbox.forEach(renderPending);
  }

  function open() {
    isOpen = true;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    renderBadge();
    if (!socket && !stopped) connect();
    showForms();
    setTimeout(() => (composer.hidden ? (prechatForm.hidden ? offText : preName) : text).focus(), 0);
    scrollDown();
  }

  function close() {
    isOpen = false;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
  }

  launcher.addEventListener("click", () => (isOpen ? close() : open()));
  closeButton.addEventListener("click", close);

  function showBanner(message) {
    banner.textContent = message || "";
    banner.hidden = !message;
  }

  function renderBadge() {
    badge.hidden = unread === 0;
    badge.textContent = unread ? String(unread) : "";
  }

  function showForms() {
    if (!config) {
      composer.hidden = prechatForm.hidden = offlineForm.hidden = true;
      return;
    }
    const empty = !list.querySelector(".tp-msg");
    const wantsPrechat = config.prechat.enabled && empty && !prechat && !(session && session.verified);
    offlineForm.hidden = config.online;
    prechatForm.hidden = !config.online || !wantsPrechat;
    composer.hidden = !config.online || wantsPrechat;
  }

  // Who answers now: people, or the bot alone while they are away.
  function statusText() {
    if (!config || !config.online) return "Away";
    return config.bot && config.staffed === false ? config.bot.name + " answers now" : "We're here";
  }

  function applyConfig(c) {
    config = c;
    title.textContent = c.title;
    greeting.textContent = c.greeting;
    status.textContent = statusText();
    offNote.textContent = c.offline_message;
    host.style.setProperty("--tp-accent", c.color);
    text.maxLength = c.limits.message_chars;
    offText.maxLength = c.limits.message_chars;
    preTopic.replaceChildren(...c.prechat.topics.map((t) => el("option", { value: t, text: t })));
    preTopicLabel.hidden = c.prechat.topics.length === 0;
    showForms();
  }

  // ---- messages in the list ----------------------------------------------------------------------

  function messageNode(m) {
    const fallback = m.from === "bot" && config && config.bot ? config.bot.name : (config ? config.title : "Support");
    const who = m.from === "visitor" ? "You" : m.author || fallback;
    const item = el("li", { class: "tp-msg tp-from-" + m.from }, [
      el("span", { class: "tp-who", text: who }),
      el("p", { class: "tp-text", text: m.text }),
    ]);
    if (m.cards && m.cards.length) item.appendChild(cardList(m.cards));
    if (m.quick_replies && m.quick_replies.length) {
      item.appendChild(el("div", { class: "tp-quick", role: "group", "aria-label": "Suggested replies" },
        m.quick_replies.map((reply) => {
          const button = el("button", { type: "button", class: "tp-quick-reply", text: reply });
          button.addEventListener("click", () => sendText(reply));
          return button;
        })));
    }
    if (m.attachments && m.attachments.length) {
      item.appendChild(el("ul", { class: "tp-attachments" }, m.attachments.map((a) => el("li", {}, [
        a.url ? el("a", { href: BASE + a.url, target: "_blank", rel: "noopener", text: a.name }) : el("span", { text: a.name }),
      ]))));
    }
    if (m.channel && m.channel !== "webchat") {
      item.appendChild(el("span", { class: "tp-via", text: m.channel === "email" ? "by email" : "by " + m.channel }));
    }
    item.appendChild(el("span", { class: "tp-state", text: "" }));
    if (m.id) item.dataset.id = String(m.id);
    if (m.client_id) item.dataset.clientId = m.client_id;
    return item;
  }

  // Product cards from the bot: built from text nodes only; a link only when it is http(s).
  function cardList(cards) {
    return el("ul", { class: "tp-cards", "aria-label": "Products" }, cards.map((c) => {
      const safe = /^https?:\/\//i.test(c.url || "");
      const name = safe ? el("a", { href: c.url, target: "_blank", rel: "noopener noreferrer", text: c.title })
        : el("span", { text: c.title });
      const parts = [el("strong", { class: "tp-card-title" }, [name])];
      if (c.price) parts.push(el("span", { class: "tp-card-price", text: c.price }));
      if (c.stock) parts.push(el("span", { class: "tp-card-stock", text: c.stock }));
      if (c.note) parts.push(el("span", { class: "tp-card-note", text: c.note }));
      return el("li", { class: "tp-card" }, parts);
    }));
  }

  // Suggested replies belong to the latest message only: older ones would answer a question gone by.
  function refreshQuickReplies() {
    const all = Array.from(list.querySelectorAll(".tp-msg"));
    const last = all[all.length - 1];
    list.querySelectorAll(".tp-quick").forEach((q) => (q.hidden = !last || q.parentNode !== last));
  }

  function byClientId(clientId) {
    return clientId ? list.querySelector('[data-client-id="' + CSS.escape(clientId) + '"]') : null;
  }

  // A message from the server: shown once, however many times it arrives (ack, live, replay).
  function showMessage(m) {
    if (list.querySelector('[data-id="' + m.id + '"]')) return false;
    const fresh = messageNode(m);
    const pending = byClientId(m.client_id);
    if (pending) {
      pending.replaceWith(fresh);
    } else {
      const firstPending = list.querySelector(".tp-msg:not([data-id])");
      list.insertBefore(fresh, firstPending);
    }
    refreshQuickReplies();
    return true;
  }

  function renderPending(item) {
    if (byClientId(item.client_id)) return;
    const node = messageNode({ from: "visitor", text: item.text, client_id: item.client_id,
      attachments: (item.files || []).map((f) => ({ name: f.name, url: "" })) });
    node.classList.add("tp-pending");
    node.querySelector(".tp-state").textContent = "Sending…";
    list.appendChild(node);
    refreshQuickReplies();
    scrollDown();
    showForms();
  }

  function markFailed(clientId, reason) {
    const node = byClientId(clientId);
    if (!node) return;
    node.classList.add("tp-failed");
    node.querySelector(".tp-state").textContent = reason;
  }

  function scrollDown() {
    list.scrollTop = list.scrollHeight;
  }

  // ---- the socket --------------------------------------------------------------------------------

  function connect() {
    if (stopped || socket) return;
    save("active", true);
    synced = false;
    const url = BASE.replace(/^http/, "ws") + "/widget/v1/ws?key=" + encodeURIComponent(KEY) +
      "&visitor=" + encodeURIComponent(visitorId);
    const ws = new WebSocket(url);
    socket = ws;
    ws.addEventListener("open", () => {
      send({ type: "hello", user: siteUser(), last_event_id: lastEventId || null });
    });
    ws.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      handle(message);
    });
    ws.addEventListener("close", (event) => {
      if (socket === ws) socket = null;
      synced = false;
      if (event.code === 4404 || event.code === 4403) {
        stopped = true; // a wrong key or a site the widget is not enabled on: retrying will not help
        return;
      }
      // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so a restarted server is not hit all at once.
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      status.textContent = "Reconnecting…";
      setTimeout(connect, delay);
    });
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function handle(m) {
    if (m.type === "welcome") {
      attempt = 0;
      if (m.visitor_id !== visitorId) {
        visitorId = m.visitor_id; // the server started this browser afresh
        save("visitor", visitorId);
        list.replaceChildren();
        outbox.forEach(renderPending);
      }
      session = { token: m.token, verified: m.verified, name: m.name };
      applyConfig(m.config);
      if (m.name && !preName.value) preName.value = offName.value = m.name;
      (m.warnings || []).forEach((w) => console.warn("Touchpoint:", w));
      showBanner("");
    } else if (m.type === "history") {
      list.querySelectorAll(".tp-msg[data-id]").forEach((n) => n.remove());
      m.messages.forEach(showMessage);
      scrollDown();
      showForms();
    } else if (m.type === "message") {
      if (m.event_id) lastEventId = Math.max(lastEventId, m.event_id);
      if (m.client_id) acked(m.client_id); // stored (replayed after a drop, or sent from another tab)
      if (showMessage(m)) {
        if (m.from === "agent" || m.from === "bot") {
          typing.textContent = "";
          if (!isOpen) {
            unread += 1;
            renderBadge();
          }
        }
        scrollDown();
        showForms();
      }
    } else if (m.type === "seen") {
      lastEventId = Math.max(lastEventId, m.event_id);
    } else if (m.type === "synced") {
      lastEventId = Math.max(lastEventId, m.last_event_id);
      synced = true;
      status.textContent = statusText();
      flush();
    } else if (m.type === "ack") {
      acked(m.client_id);
      showMessage(m.message);
      showForms();
    } else if (m.type === "typing") {
      showTyping(m.name);
    } else if (m.type === "error") {
      problem(m);
    }
  }

  function showTyping(name) {
    typing.textContent = (name || "Support") + " is typing…";
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing.textContent = ""), 5000);
  }

  function problem(m) {
    if (m.client_id && m.code === "rate_limited") {
      markFailed(m.client_id, m.message);
      setTimeout(flush, (m.retry_after || 10) * 1000); // still in the outbox: sent again then
    } else if (m.client_id) {
      acked(m.client_id); // refused for good (too long, bad file): keep it out of the outbox
      markFailed(m.client_id, "Not sent: " + m.message);
    } else {
      showBanner(m.message);
    }
  }

  function acked(clientId) {
    outbox = outbox.filter((item) => item.client_id !== clientId);
    save("outbox", outbox);
  }

  // Everything not acked goes (again) once the server has caught us up: stored once per client id.
  function flush() {
    if (!synced) return;
    outbox.forEach((item) => {
      const node = byClientId(item.client_id);
      if (node) {
        node.classList.remove("tp-failed");
        node.querySelector(".tp-state").textContent = "Sending…";
      }
      send({ type: "message", client_id: item.client_id, text: item.text,
        uploads: (item.files || []).map((f) => f.upload), prechat: item.prechat || null });
    });
  }

  // ---- the visitor writes ------------------------------------------------------------------------

  function submitMessage() {
    const body = text.value;
    if (!body.trim() && !uploads.length) return;
    text.value = "";
    sendText(body);
  }

  // A message from the composer or a suggested reply: kept in the outbox until the server acks it.
  function sendText(body) {
    const item = { client_id: uuid(), text: body, files: uploads, prechat: prechat };
    prechat = null; // only the first message carries it
    lastTypingSent = 0; // the next keystroke is news again
    uploads = [];
    files.replaceChildren();
    outbox.push(item);
    save("outbox", outbox);
    renderPending(item);
    if (!socket) connect();
    else if (synced) send({ type: "message", client_id: item.client_id, text: item.text,
      uploads: item.files.map((f) => f.upload), prechat: item.prechat || null });
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submitMessage();
  });

  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submitMessage();
    }
  });

  text.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTypingSent > 2000 && synced) {
      lastTypingSent = now;
      send({ type: "typing" });
    }
  });

  prechatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    prechat = { name: preName.value.trim(), email: preEmail.value.trim(), topic: preTopic.value || "" };
    showForms();
    text.focus();
  });

  fileInput.addEventListener("change", async () => {
    const file = fileInput.files[0];
    fileInput.value = "";
    if (!file || !session) return;
    if (file.size > config.limits.upload_bytes) {
      showBanner(file.name + " is too large: files may be at most " + Math.round(config.limits.upload_bytes / 1048576) + " MB.");
      return;
    }
    const form = new FormData();
    form.append("token", session.token);
    form.append("file", file);
    const chip = el("li", { text: file.name + " (uploading…)" });
    files.appendChild(chip);
    try {
      const response = await fetch(BASE + "/widget/v1/uploads", { method: "POST", body: form });
      const body = await response.json();
      if (!response.ok) throw new Error(body.message || "The upload failed.");
      uploads.push(body);
      chip.textContent = body.name;
      showBanner("");
    } catch (error) {
      chip.remove();
      showBanner(error.message);
    }
  });

  offlineForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!session) {
      showBanner("Still connecting; try again in a moment.");
      return;
    }
    const body = { token: session.token, client_id: uuid(), email: offEmail.value.trim(), name: offName.value.trim(),
      text: offText.value };
    try {
      const response = await fetch(BASE + "/widget/v1/offline", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const answer = await response.json();
      if (!response.ok) throw new Error(answer.message || "Your message could not be sent.");
      if (answer.message) showMessage(answer.message);
      offText.value = "";
      showBanner("");
      offNote.textContent = "Thanks! We'll answer at " + body.email + ".";
    } catch (error) {
      showBanner(error.message);
    }
  });

  // ---- for the site ----------------------------------------------------------------------------

  window.TouchpointWidget = {
    open: open,
    close: close,
    // After the site signs a user out: forget this browser's visitor, so the next person starts afresh.
    logout: function () {
      visitorId = uuid();
      save("visitor", visitorId);
      outbox = [];
      save("outbox", outbox);
      save("active", false);
      list.replaceChildren();
      lastEventId = 0;
      if (socket) socket.close(1000);
    },
    // The live socket (for tests and debugging): closing it is a dropped connection the widget recovers from.
    get socket() {
      return socket;
    },
    get state() {
      return { connected: synced, pending: outbox.length, lastEventId: lastEventId, visitorId: visitorId };
    },
  };

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
