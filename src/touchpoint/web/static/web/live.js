// Live inbox: one WebSocket per page. Events carry ids only; what changed is fetched again through
// the ordinary authenticated views with htmx, so the socket never carries message content.
// Reconnects with backoff and resumes from the last event id seen: nothing lost, nothing doubled.
(function () {
  "use strict";

  const inbox = document.getElementById("inbox");
  if (!inbox || !window.WebSocket) return;

  const me = Number(document.body.dataset.me || 0);
  const seen = new Set();
  const seenOrder = [];
  let lastEventId = Number(inbox.dataset.lastEventId || 0);
  let socket = null;
  let attempt = 0;
  let viewing = null;
  const viewers = new Map(); // connection id -> {id, name}

  // ---- the socket ----------------------------------------------------------------------------

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    setState("connecting");
    socket = new WebSocket(scheme + "://" + location.host + "/ws/agent/?last_event_id=" + lastEventId);
    socket.addEventListener("open", () => {
      attempt = 0;
      setState("live");
      viewing = null;
      announce();
    });
    socket.addEventListener("message", (message) => handle(JSON.parse(message.data)));
    socket.addEventListener("close", (event) => {
      socket = null;
      viewers.clear();
      renderViewers();
      if (event.code === 4403) {
        setState("off");
        return; // signed out or no workspace: the next page load goes to the login
      }
      if (event.code === 4401) {
        // Access changed (deactivated, another role, signed out elsewhere in this browser): the page
        // reloads to show what is left, the login page at worst.
        setState("off");
        location.reload();
        return;
      }
      setState("connecting");
      // 0.5 s, 1 s, 2 s … up to 30 s, with jitter so a restarted server is not hit all at once.
      const delay = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt += 1;
      setTimeout(connect, delay);
    });
  }

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function setState(state) {
    const indicator = document.getElementById("live-state");
    if (indicator) indicator.dataset.state = state;
  }

  function handle(message) {
    if (message.type === "event") {
      if (seen.has(message.id)) return;
      remember(message.id);
      lastEventId = Math.max(lastEventId, message.id);
      apply(message);
    } else if (message.type === "hello") {
      lastEventId = Math.max(lastEventId, message.last_event_id);
    } else if (message.type === "resync") {
      // Away too long to replay: fetch everything shown again.
      lastEventId = message.last_event_id;
      refreshNav();
      refreshList();
      refreshNotifications();
      if (openConversation()) refreshConversation(openConversation());
    } else if (message.type === "presence") {
      presence(message);
    } else if (message.type === "typing") {
      showTyping(message);
    }
  }

  function remember(id) {
    seen.add(id);
    seenOrder.push(id);
    if (seenOrder.length > 2000) seen.delete(seenOrder.shift());
  }

  // ---- applying an event ---------------------------------------------------------------------

  function apply(event) {
    schedule("nav", refreshNav);
    if (event.event === "notification.created") {
      if (event.payload.recipient_id === me) schedule("notifications", refreshNotifications);
      return; // the SLA change that caused it refreshes the row and the pane
    }
    const id = event.conversation_id;
    if (!id) return;
    if (event.event === "message.created" && event.payload.kind === "incoming" && id === openConversation()) {
      showTyping(null); // their message is here: they stopped typing
    }
    const activity = event.event === "message.created" || event.event === "conversation.opened";
    schedule("row-" + id, () => refreshRow(id, activity));
    if (openConversation() === id) {
      // A reply's delivery state (sent, delivered, failed and why) shows in the thread.
      if (event.event === "message.created" || event.event === "message.delivery_changed") {
        schedule("thread", () => refreshThread(id));
      } else schedule("header", () => refreshHeader(id));
    }
  }

  // Bursts of events (a status change brings a system message too) become one request each, and a
  // part of the page never has two refreshes in flight: one that is asked for meanwhile runs after.
  // (Each request also names its own source element: htmx keeps one request per element.)
  const timers = new Map();
  const running = new Map();
  function schedule(key, task) {
    if (timers.has(key)) return;
    timers.set(key, setTimeout(() => {
      timers.delete(key);
      exclusive(key, task);
    }, 120));
  }

  function exclusive(key, task) {
    if (actionsInFlight && PANE_PARTS.includes(key)) {
      deferred.set(key, task); // the agent's own action brings a fresh header and thread anyway
      return;
    }
    const busy = running.get(key);
    if (busy) {
      busy.next = task;
      return;
    }
    const state = { next: null };
    running.set(key, state);
    Promise.resolve().then(task).catch(() => {}).finally(() => {
      running.delete(key);
      if (state.next) exclusive(key, state.next);
    });
  }

  // While the agent's own action in the pane (a reply, resolve, assign…) is in flight, the live
  // refreshes of that pane wait: its response swaps the header and thread itself, and must find them
  // where it left them. A live refresh already under way is not swapped in when it lands (the
  // action's answer is newer; calling it off would log an htmx error) and runs again afterwards.
  const PANE_PARTS = ["thread", "header"];
  const deferred = new Map();
  let actionsInFlight = 0;

  function isPaneAction(event) {
    const elt = event.detail.elt;
    return elt instanceof Element && elt.closest("#conversation form") !== null;
  }

  // Counted by request, not by element: the composer's own answer replaces the form that sent it,
  // so its htmx:afterRequest reaches the document from an ancestor that is no pane form.
  const paneRequests = new WeakSet();
  let paneActions = 0;
  const liveSince = new WeakMap(); // a live refresh of the pane -> how many actions had started then

  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (elt instanceof Element && (elt.id === "thread" || elt.id === "conv-header")) {
      liveSince.set(event.detail.xhr, paneActions);
    }
    if (!isPaneAction(event)) return;
    paneRequests.add(event.detail.xhr);
    paneActions += 1;
    actionsInFlight += 1;
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const since = liveSince.get(event.detail.xhr);
    if (since === undefined || since === paneActions) return;
    event.detail.shouldSwap = false;
    const id = openConversation();
    if (!id) return;
    if (event.detail.elt.id === "thread") schedule("thread", () => refreshThread(id));
    else schedule("header", () => refreshHeader(id));
  });

  document.addEventListener("htmx:afterRequest", (event) => {
    if (!paneRequests.has(event.detail.xhr)) return;
    paneRequests.delete(event.detail.xhr);
    actionsInFlight = Math.max(0, actionsInFlight - 1);
    if (actionsInFlight) return;
    const waiting = Array.from(deferred.entries());
    deferred.clear();
    waiting.forEach(([key, task]) => exclusive(key, task));
  });

  function query() {
    const list = document.getElementById("conv-list");
    return list ? list.dataset.query : "";
  }

  function openConversation() {
    const pane = document.getElementById("conversation");
    return pane ? Number(pane.dataset.conversationId) : null;
  }

  function refreshNav() {
    const nav = document.getElementById("inbox-nav");
    if (!nav) return null;
    return htmx.ajax("GET", "/inbox/nav/?" + query(), { source: nav, target: nav, swap: "outerHTML" });
  }

  function refreshList() {
    const list = document.getElementById("conv-list");
    return htmx.ajax("GET", "/inbox/rows/?" + query(), { source: list, target: list, swap: "innerHTML" })
      .then(() => window.touchpoint && window.touchpoint.markOpen());
  }

  // Fetch the row as the current view shows it into a detached holder, then put it where it sorts
  // (newest activity first), or drop it if the conversation left this view.
  function refreshRow(id, activity) {
    const list = document.getElementById("conv-list");
    if (!list) return null;
    const holder = document.createElement("div");
    holder.hidden = true;
    document.body.appendChild(holder);
    const url = "/conversations/" + id + "/row/?" + query();
    return htmx.ajax("GET", url, { source: holder, target: holder, swap: "innerHTML" }).then(() => {
      const fresh = holder.querySelector(".conv-row");
      const old = document.getElementById("conv-row-" + id);
      const hadFocus = old && old.contains(document.activeElement);
      if (!fresh) {
        if (old) old.remove();
      } else {
        if (old && old.classList.contains("is-selected")) fresh.classList.add("is-selected");
        if (old && !activity) old.replaceWith(fresh);
        else {
          if (old) old.remove();
          place(list, fresh);
        }
        if (hadFocus) fresh.querySelector(".conv-link").focus();
      }
      holder.remove();
    });
  }

  function place(list, row) {
    list.querySelector(".list-empty")?.remove();
    const key = row.dataset.sort;
    const later = Array.from(list.querySelectorAll(".conv-row")).find((r) => r.dataset.sort < key);
    if (later) {
      list.insertBefore(row, later);
      return;
    }
    // Older than every loaded row: if more pages exist, it will come with "load more".
    if (!list.querySelector(".load-more")) list.appendChild(row);
  }

  function refreshThread(id) {
    const thread = document.getElementById("thread");
    if (!thread) return null;
    schedule("header", () => refreshHeader(id)); // a message may reopen the conversation
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
    const url = "/conversations/" + id + "/thread/";
    return htmx.ajax("GET", url, { source: thread, target: thread, swap: "outerHTML" }).then(() => {
      if (atBottom && window.touchpoint) window.touchpoint.scrollThread();
    });
  }

  function refreshHeader(id) {
    const header = document.getElementById("conv-header");
    if (!header) return null;
    // Do not pull the form from under someone using it: refresh once they leave it.
    if (header.contains(document.activeElement) && document.activeElement.matches("input, select")) {
      document.activeElement.addEventListener("blur", () => schedule("header", () => refreshHeader(id)), { once: true });
      return null;
    }
    const url = "/conversations/" + id + "/header/";
    return htmx.ajax("GET", url, { source: header, target: header, swap: "outerHTML" });
  }

  // The top bar's notifications menu, kept open if the agent has it open.
  function refreshNotifications() {
    const menu = document.getElementById("notifications");
    if (!menu) return null;
    const url = "/notifications/" + (menu.open ? "?open=1" : "");
    return htmx.ajax("GET", url, { source: menu, target: menu, swap: "outerHTML" });
  }

  function refreshConversation(id) {
    return refreshThread(id);
  }

  // ---- who is viewing ------------------------------------------------------------------------

  function announce() {
    const open = openConversation();
    if (open === viewing) return;
    viewers.clear();
    renderViewers();
    viewing = open;
    send(open ? { type: "view", conversation_id: open } : { type: "leave" });
  }

  function presence(message) {
    if (message.conversation_id !== openConversation() || message.agent.id === me) return;
    if (message.action === "leave") viewers.delete(message.conn);
    else viewers.set(message.conn, message.agent);
    renderViewers();
  }

  function renderViewers() {
    const box = document.getElementById("viewers");
    if (!box) return;
    const names = Array.from(new Set(Array.from(viewers.values()).map((a) => a.name))).sort();
    box.textContent = names.length ? names.join(", ") + (names.length > 1 ? " are" : " is") + " viewing" : "";
  }

  // ---- typing, both ways ------------------------------------------------------------------------

  let typingTimer = null;
  function showTyping(message) {
    const box = document.getElementById("typing");
    if (!box) return;
    clearTimeout(typingTimer);
    if (!message || message.conversation_id !== openConversation()) {
      box.textContent = "";
      return;
    }
    box.textContent = (message.name || "The customer") + " is typing…"; // text, never HTML
    typingTimer = setTimeout(() => (box.textContent = ""), 5000);
  }

  // A reply being written in the chat shows in the customer's widget (never a note, never on email).
  let lastTyping = 0;
  document.addEventListener("input", (event) => {
    const composer = event.target.closest && event.target.closest("#composer");
    if (!composer || !event.target.matches("textarea")) return;
    const kind = composer.querySelector('input[name="kind"]:checked');
    const channel = composer.querySelector('select[name="channel"]');
    const via = channel ? channel.value : composer.dataset.channel;
    if (!kind || kind.value !== "reply" || via !== "webchat" || Date.now() - lastTyping < 2000) return;
    lastTyping = Date.now();
    send({ type: "typing", conversation_id: openConversation() });
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target && event.detail.target.id === "composer") lastTyping = 0; // sent: typing anew
    if (event.detail.target && event.detail.target.id === "pane") announce();
    if (event.detail.target && ["thread", "conv-header"].includes(event.detail.target.id)) renderViewers();
  });
  window.addEventListener("popstate", () => setTimeout(announce, 0));

  connect();
})();
