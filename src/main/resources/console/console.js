// The Plaza console: plain ES module, served by every node, talking only to the node that served it.
// Sockets and the event stream authenticate with single-use stream tickets (POST /v1/stream-tickets).

const $ = (id) => document.getElementById(id);
const state = { token: null, user: null, socket: null, feed: null, open: null, conversations: [], lastSeq: {},
  received: {} };

function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 5000);
}

/** A JSON API call; a problem's detail becomes the error message shown to the user. */
async function api(method, path, body, headers = {}) {
  return (await call(method, path, body, headers)).json;
}

/** The same, with the response's status and headers (for Idempotent-Replayed). */
async function call(method, path, body, headers = {}) {
  const response = await fetch(path, {
    method,
    headers: { ...(state.token ? { Authorization: "Bearer " + state.token } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(json && json.detail ? json.detail : response.status + " " + response.statusText);
  return { json, status: response.status, headers: response.headers };
}

async function ticket() {
  return (await api("POST", "/v1/stream-tickets")).ticket;
}

/** A form's submit runs {@code action} instead of navigating; an error it throws is shown to the user. */
function onSubmit(id, action) {
  $(id).addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await action();
    } catch (err) {
      toast(err.message);
    }
  });
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// ---- sign-in -----------------------------------------------------------------------------------------------

async function signIn(token, user) {
  state.token = token;
  state.user = user;
  sessionStorage.setItem("plaza.token", token);
  sessionStorage.setItem("plaza.user", user);
  $("signin").hidden = true;
  $("tabs").hidden = false;
  $("who").textContent = "signed in as " + user;
  show("chat");
  await Promise.all([loadConversations(), connectChat(), loadHome(), connectFeed(), loadAccounts()]);
}

onSubmit("signin-dev", async () => {
  const user = $("signin-user").value.trim();
  const minted = await api("POST", "/v1/dev/tokens", { userId: user });
  await signIn(minted.token, user);
});

onSubmit("signin-token", async () => {
  const token = $("signin-jwt").value.trim();
  let claims;
  try {
    claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  } catch (err) {
    throw new Error("not a usable token: " + err.message);
  }
  await signIn(token, claims.sub);
});

function show(view) {
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
  for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== view;
}

$("tabs").addEventListener("click", (e) => {
  if (e.target.dataset.view) show(e.target.dataset.view);
});

// ---- chat --------------------------------------------------------------------------------------------------

async function loadConversations() {
  const listed = (await api("GET", "/v1/conversations")).conversations;
  const known = state.conversations.filter((c) => !listed.some((l) => l.conversationId === c.conversationId));
  state.conversations = [...known, ...listed];
  renderConversations();
}

function renderConversations() {
  const list = $("conversations");
  list.replaceChildren();
  for (const c of state.conversations) {
    const name = c.title || c.conversationId;
    const li = el("li", { "data-id": c.conversationId },
      el("div", {}, el("div", {}, name), el("div", { class: "last" }, c.lastBody ? c.lastSender + ": " + c.lastBody : "")));
    if (c.unread > 0 && c.conversationId !== state.open) li.append(el("span", { class: "unread" }, String(c.unread)));
    if (c.conversationId === state.open) li.classList.add("open");
    li.addEventListener("click", () => openConversation(c.conversationId, name));
    list.append(li);
  }
}

async function openConversation(id, name) {
  state.open = id;
  $("conversation-title").textContent = name;
  $("compose").hidden = false;
  const page = await api("GET", "/v1/conversations/" + encodeURIComponent(id) + "/messages?limit=50");
  $("messages").replaceChildren();
  // History comes from a read model about a second behind: add what this socket received meanwhile, in seq order.
  const bySeq = new Map();
  for (const m of page.messages) bySeq.set(m.seq, m);
  for (const m of state.received[id] || []) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  for (const m of [...bySeq.values()].sort((a, b) => a.seq - b.seq)) addMessage(id, m);
  markRead(id);
  renderConversations();
}

function addMessage(convId, m) {
  state.lastSeq[convId] = Math.max(state.lastSeq[convId] || 0, m.seq);
  const received = (state.received[convId] ||= []);
  if (!received.some((r) => r.seq === m.seq)) received.push(m);
  if (received.length > 200) received.shift();
  if (convId !== state.open) return;
  if (document.querySelector(`#messages li[data-seq="${m.seq}"]`)) return;
  const li = el("li", { "data-seq": String(m.seq) }, el("div", { class: "meta" }, m.sender + " · #" + m.seq),
    el("div", { class: "body" }, m.deleted ? "(deleted)" : m.body));
  if (m.sender === state.user) li.classList.add("mine");
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

function markRead(convId) {
  const seq = state.lastSeq[convId];
  if (seq && state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "read", convId, seq }));
  }
  const c = state.conversations.find((x) => x.conversationId === convId);
  if (c) c.unread = 0;
}

async function connectChat() {
  const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/v1/chat/ws?ticket=" + (await ticket()));
  state.socket = socket;
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "message") {
      addMessage(frame.convId, { seq: frame.seq, sender: frame.sender, body: frame.body });
      if (frame.convId === state.open) markRead(frame.convId);
      else socket.send(JSON.stringify({ type: "delivered", convId: frame.convId, seq: frame.seq }));
      // The conversation list is a read model about a second behind the socket: show the message in it at once,
      // then take the server's list a little later (titles, unread counts).
      let c = state.conversations.find((x) => x.conversationId === frame.convId);
      if (!c) state.conversations.unshift((c = { conversationId: frame.convId, unread: 0 }));
      c.lastSender = frame.sender;
      c.lastBody = frame.body;
      if (frame.convId !== state.open && frame.sender !== state.user) c.unread = (c.unread || 0) + 1;
      renderConversations();
      clearTimeout(state.inboxRefresh);
      state.inboxRefresh = setTimeout(() => loadConversations().catch(() => {}), 2000);
    } else if (frame.type === "error") {
      toast(frame.detail);
    }
  };
  socket.onclose = () => {
    if (state.socket === socket) setTimeout(() => connectChat().catch((e) => toast(e.message)), 2000);
  };
}

$("compose").addEventListener("submit", (e) => {
  e.preventDefault();
  const body = $("compose-body").value;
  if (!state.open || !body) return;
  state.socket.send(JSON.stringify({ type: "send", convId: state.open, clientMsgId: crypto.randomUUID(), body }));
  $("compose-body").value = "";
});

onSubmit("new-conversation", async () => {
  const members = $("new-members").value.split(",").map((m) => m.trim()).filter(Boolean);
  const kind = $("new-kind").value;
  const request = kind === "direct" ? { kind, with: members[0] } : { kind, members, title: $("new-title").value || undefined };
  const created = await api("POST", "/v1/conversations", request);
  await loadConversations();
  await openConversation(created.conversationId, created.title || created.conversationId);
});

// ---- feed --------------------------------------------------------------------------------------------------

async function loadHome() {
  const page = await api("GET", "/v1/timeline/home?limit=20");
  $("home").replaceChildren(...page.items.map(postItem));
  $("new-posts").hidden = true;
}

function postItem(p) {
  return el("li", { "data-id": p.postId }, el("div", { class: "meta" }, p.author + " · " + new Date(p.createdAt).toLocaleString()),
    el("div", {}, p.text));
}

async function connectFeed() {
  if (state.feed) state.feed.close();
  const stream = new EventSource("/v1/timeline/stream?ticket=" + (await ticket()));
  state.feed = stream;
  stream.addEventListener("post", (event) => {
    const p = JSON.parse(event.data);
    if (!document.querySelector(`#home li[data-id="${CSS.escape(p.postId)}"]`)) $("home").prepend(postItem(p));
  });
  stream.addEventListener("delete", (event) => {
    const p = JSON.parse(event.data);
    const li = document.querySelector(`#home li[data-id="${CSS.escape(p.postId)}"]`);
    if (li) li.remove();
  });
  // An EventSource reconnects by itself with the same (now used) ticket: open a new one with a new ticket instead.
  stream.onerror = () => {
    stream.close();
    if (state.feed === stream) setTimeout(() => connectFeed().catch((e) => toast(e.message)), 2000);
  };
}

onSubmit("post-form", async () => {
  await api("POST", "/v1/posts", { text: $("post-text").value }, { "Idempotency-Key": crypto.randomUUID() });
  $("post-text").value = "";
});

onSubmit("follow-form", async () => {
  const target = $("follow-user").value.trim();
  await api("PUT", "/v1/users/" + encodeURIComponent(state.user) + "/following/" + encodeURIComponent(target));
  // The stream takes whom you follow when it opens: open it again so the new author's posts arrive live.
  await connectFeed();
  $("follow-user").value = "";
});

// ---- wallet ------------------------------------------------------------------------------------------------

// Plaza has no "my accounts" list: the page remembers the accounts opened from this browser, per user.
const accountsKey = () => "plaza.accounts." + state.user;
const knownAccounts = () => JSON.parse(localStorage.getItem(accountsKey()) || "[]");

async function loadAccounts() {
  const rows = [];
  for (const id of knownAccounts()) {
    try {
      rows.push(await api("GET", "/v1/accounts/" + encodeURIComponent(id)));
    } catch (err) {
      toast(err.message);
    }
  }
  const body = $("accounts").querySelector("tbody");
  body.replaceChildren(...rows.map((a) => {
    const tr = el("tr", { "data-id": a.accountId }, el("td", {}, el("code", {}, a.accountId)),
      el("td", { class: "num balance" }, a.balance + " " + a.currency), el("td", { class: "num" }, String(a.held)),
      el("td", { class: "num available" }, String(a.available)));
    const journal = el("button", { type: "button" }, "Journal");
    journal.addEventListener("click", () => loadJournal(a.accountId));
    tr.append(el("td", {}, journal));
    return tr;
  }));
  for (const select of [$("deposit-account"), $("transfer-from")]) {
    select.replaceChildren(...rows.map((a) => el("option", { value: a.accountId }, a.accountId.slice(0, 8) + "… " + a.currency)));
  }
}

async function loadJournal(id) {
  const page = await api("GET", "/v1/accounts/" + encodeURIComponent(id) + "/entries?limit=50");
  $("journal-account").textContent = id.slice(0, 8) + "…";
  $("journal").querySelector("tbody").replaceChildren(...page.entries.map((e) => el("tr", {},
    el("td", {}, String(e.position)), el("td", {}, e.type), el("td", {}, e.side), el("td", { class: "num" }, String(e.amount)),
    el("td", { class: "num" }, String(e.balanceAfter)), el("td", {}, e.counterparty || ""))));
}

$("refresh-accounts").addEventListener("click", () => loadAccounts().catch((e) => toast(e.message)));

onSubmit("open-account", async () => {
  const opened = await api("POST", "/v1/accounts", { currency: $("open-currency").value, overdraftLimit: 0 },
    { "Idempotency-Key": crypto.randomUUID() });
  localStorage.setItem(accountsKey(), JSON.stringify([...knownAccounts(), opened.accountId]));
  await loadAccounts();
});

onSubmit("deposit-form", async () => {
  await api("POST", "/v1/accounts/" + encodeURIComponent($("deposit-account").value) + "/deposits",
    { amount: Number($("deposit-amount").value) }, { "Idempotency-Key": crypto.randomUUID() });
  $("deposit-amount").value = "";
  await loadAccounts();
});

// The last transfer sent: its body and Idempotency-Key, so "retry" sends exactly the same request again.
let lastTransfer = null;

async function sendTransfer(request) {
  const response = await call("POST", "/v1/transfers", request.body, { "Idempotency-Key": request.key });
  const replayed = response.headers.get("Idempotent-Replayed") === "true";
  $("transfer-result").textContent = "transfer " + response.json.transferId.slice(0, 8) + "… " + response.json.status
    + (replayed ? " (a replay: the same key moved no money again)" : "");
  $("transfer-retry").hidden = false;
  await loadAccounts();
}

onSubmit("transfer-form", async () => {
  const from = $("transfer-from").value;
  const currency = (await api("GET", "/v1/accounts/" + encodeURIComponent(from))).currency;
  lastTransfer = { key: crypto.randomUUID(), body: { from, to: $("transfer-to").value.trim(),
    amount: Number($("transfer-amount").value), currency } };
  await sendTransfer(lastTransfer);
});

$("transfer-retry").addEventListener("click", () => sendTransfer(lastTransfer).catch((e) => toast(e.message)));

// A reload keeps the session of this tab (each tab is a device of its own).
const saved = sessionStorage.getItem("plaza.token");
if (saved) signIn(saved, sessionStorage.getItem("plaza.user")).catch((e) => toast(e.message));
