// The Plaza console: plain ES module, served by every node, talking only to the node that served it.
// Sockets and the event stream authenticate with single-use stream tickets (POST /v1/stream-tickets).

const $ = (id) => document.getElementById(id);
const state = { token: null, user: null, socket: null, feed: null, open: null, conversations: [], lastSeq: {},
  received: {}, receipts: {}, presence: {}, older: null, syncedFrom: {}, info: {}, left: {} };

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

/** A single-use ticket for a socket or the event stream, for the signed-in user or for {@code token}'s user. */
async function ticket(token = state.token) {
  const response = await fetch("/v1/stream-tickets", { method: "POST", headers: { Authorization: "Bearer " + token } });
  const json = await response.json();
  if (!response.ok) throw new Error(json.detail || "no stream ticket: " + response.status);
  return json.ticket;
}

function socketUrl(path, streamTicket) {
  return location.origin.replace(/^http/, "ws") + path + "?ticket=" + streamTicket;
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
  // The map polls only while it is on screen.
  clearInterval(show.mapTimer);
  if (view === "dispatch") {
    loadNearby().catch((e) => toast(e.message));
    show.mapTimer = setInterval(() => loadNearby().catch(() => {}), 2000);
  }
  if (view === "ops") {
    loadOps().catch((e) => toast(e.message));
    show.mapTimer = setInterval(() => loadOps().catch(() => {}), 3000);
  }
}

$("tabs").addEventListener("click", (e) => {
  if (e.target.dataset.view) show(e.target.dataset.view);
});

// ---- chat --------------------------------------------------------------------------------------------------

async function loadConversations() {
  // The list is a read model about a second behind: a group just left may still be in it.
  const listed = (await api("GET", "/v1/conversations")).conversations
    .filter((c) => !(Date.now() - (state.left[c.conversationId] || 0) < 10_000));
  const known = state.conversations.filter((c) => !listed.some((l) => l.conversationId === c.conversationId));
  state.conversations = [...known, ...listed];
  renderConversations();
  // A direct conversation has no title: it is named after the other member, asked once per conversation.
  const unnamed = state.conversations.filter((c) => !c.title && !state.info[c.conversationId]);
  if (unnamed.length) {
    await Promise.all(unnamed.map((c) => loadInfo(c.conversationId).catch(() => {})));
    renderConversations();
  }
}

/** Kind, title, owner, admins and members, from the conversation itself (not a read model). */
async function loadInfo(id) {
  const info = await api("GET", "/v1/conversations/" + encodeURIComponent(id));
  state.info[id] = info;
  return info;
}

function conversationName(c) {
  if (c.title) return c.title;
  const info = state.info[c.conversationId];
  if (info && info.title) return info.title;
  if (info) return info.members.filter((m) => m !== state.user).join(", ") || state.user;
  return c.kind === "group" ? "group" : "direct conversation";
}

/** The open conversation's members; a group's admins may add members, and any member may leave it. */
function renderMembers(id) {
  const info = state.info[id];
  if (!info || id !== state.open) return;
  const group = info.kind === "group";
  $("members").hidden = !group;
  $("member-list").textContent = "members: " + [...info.members].sort().map((m) =>
    m + (m === info.owner ? " (owner)" : info.admins.includes(m) ? " (admin)" : "")).join(", ");
  $("add-member").hidden = !info.admins.includes(state.user);
  $("leave").hidden = !info.members.includes(state.user);
}

function renderConversations() {
  const list = $("conversations");
  list.replaceChildren();
  for (const c of state.conversations) {
    const name = conversationName(c);
    const li = el("li", { "data-id": c.conversationId },
      el("div", {}, el("div", {}, name), el("div", { class: "last" }, c.lastBody ? c.lastSender + ": " + c.lastBody : "")));
    if (c.unread > 0 && c.conversationId !== state.open) li.append(el("span", { class: "unread" }, String(c.unread)));
    if (c.conversationId === state.open) li.classList.add("open");
    li.addEventListener("click", () => openConversation(c.conversationId));
    list.append(li);
  }
}

async function openConversation(id) {
  state.open = id;
  const c = state.conversations.find((x) => x.conversationId === id) || { conversationId: id };
  $("conversation-title").textContent = conversationName(c);
  $("members").hidden = true;
  $("compose").hidden = false;
  loadInfo(id).then(() => {
    if (id !== state.open) return;
    $("conversation-title").textContent = conversationName(c);
    renderMembers(id);
  }).catch((e) => toast(e.message));
  const page = await api("GET", "/v1/conversations/" + encodeURIComponent(id) + "/messages?limit=50");
  $("messages").replaceChildren();
  $("typing").textContent = "";
  state.older = page.nextCursor;
  $("older").hidden = !page.nextCursor;
  // History comes from a read model about a second behind: add what this socket received meanwhile, in seq order.
  const bySeq = new Map();
  for (const m of page.messages) bySeq.set(m.seq, m);
  for (const m of state.received[id] || []) if (!bySeq.has(m.seq)) bySeq.set(m.seq, m);
  for (const m of [...bySeq.values()].sort((a, b) => a.seq - b.seq)) addMessage(id, m);
  markRead(id);
  renderConversations();
  renderPresence();
}

/** Older history, a page at a time, put above what is shown (the read model pages newest first). */
$("older").addEventListener("click", async () => {
  const id = state.open;
  try {
    const page = await api("GET", `/v1/conversations/${encodeURIComponent(id)}/messages?limit=50&before=${state.older}`);
    if (id !== state.open) return;
    const first = $("messages").firstChild;
    for (const m of [...page.messages].sort((a, b) => a.seq - b.seq)) {
      if (!document.querySelector(`#messages li[data-seq="${m.seq}"]`)) $("messages").insertBefore(messageItem(id, m), first);
    }
    state.older = page.nextCursor;
    $("older").hidden = !page.nextCursor;
  } catch (e) {
    toast(e.message);
  }
});

/** Who wrote in the open conversation, online or when last seen (pushed by the node to contacts). */
function renderPresence() {
  const senders = new Set((state.received[state.open] || []).map((m) => m.sender));
  senders.delete(state.user);
  $("presence").textContent = [...senders].filter((u) => state.presence[u]).map((u) => {
    const p = state.presence[u];
    return p.online ? u + " online" : u + " last seen " + (p.at ? new Date(p.at).toLocaleTimeString() : "a while ago");
  }).join(" · ");
}

function addMessage(convId, m) {
  state.lastSeq[convId] = Math.max(state.lastSeq[convId] || 0, m.seq);
  const received = (state.received[convId] ||= []);
  if (!received.some((r) => r.seq === m.seq)) received.push(m);
  if (received.length > 200) received.shift();
  if (convId !== state.open) return;
  if (document.querySelector(`#messages li[data-seq="${m.seq}"]`)) return;
  const li = messageItem(convId, m);
  $("messages").append(li);
  li.scrollIntoView({ block: "end" });
}

/** One message; the author's own get their receipt and edit / delete controls. */
function messageItem(convId, m) {
  const li = el("li", { "data-seq": String(m.seq) }, el("div", { class: "meta" }, m.sender + " · #" + m.seq),
    el("div", { class: "body" }, m.deleted ? "(deleted)" : m.body));
  if (m.sender === state.user) {
    li.classList.add("mine");
    li.querySelector(".meta").append(el("span", { class: "receipt" }, receiptOf(convId, m.seq)));
    if (!m.deleted) {
      const editButton = el("button", { type: "button", class: "link edit" }, "edit");
      const deleteButton = el("button", { type: "button", class: "link delete" }, "delete");
      editButton.addEventListener("click", () => startEdit(convId, m.seq, li));
      deleteButton.addEventListener("click", () => state.socket.send(JSON.stringify({ type: "delete", convId, seq: m.seq })));
      li.querySelector(".meta").append(editButton, deleteButton);
    }
  }
  return li;
}

function startEdit(convId, seq, li) {
  const body = li.querySelector(".body");
  const input = el("input", { class: "edit-body", value: body.textContent, maxlength: "4000" });
  const form = el("form", { class: "edit-form" }, input, el("button", {}, "Save"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.socket.send(JSON.stringify({ type: "edit", convId, seq, body: input.value }));
    form.replaceWith(body);
  });
  body.replaceWith(form);
  input.focus();
}

/** " · delivered" or " · read" once another member's pointer passed this message. */
function receiptOf(convId, seq) {
  const r = state.receipts[convId] || {};
  return (r.read || 0) >= seq ? " · read" : (r.delivered || 0) >= seq ? " · delivered" : "";
}

function renderReceipts(convId) {
  if (convId !== state.open) return;
  for (const li of document.querySelectorAll("#messages li.mine")) {
    li.querySelector(".receipt").textContent = receiptOf(convId, Number(li.dataset.seq));
  }
}

/** Store-and-forward: the messages of {@code convId} after the last one this device has. */
function sync(convId) {
  const after = state.lastSeq[convId] || 0;
  state.syncedFrom[convId] = after;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "sync", convId, afterSeq: after }));
  }
}

function syncAll() {
  for (const convId of Object.keys(state.lastSeq)) sync(convId);
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
  const socket = new WebSocket(socketUrl("/v1/chat/ws", await ticket()));
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
    } else if ((frame.type === "delivered" || frame.type === "read") && frame.user !== state.user) {
      const r = (state.receipts[frame.convId] ||= {});
      r[frame.type] = Math.max(r[frame.type] || 0, frame.seq);
      if (frame.type === "read") r.delivered = Math.max(r.delivered || 0, frame.seq);
      renderReceipts(frame.convId);
    } else if (frame.type === "synced") {
      // A sync answers a page at a time: ask again from the new last seq until this device has caught up.
      const have = state.lastSeq[frame.convId] || 0;
      if (have < frame.seq && have > (state.syncedFrom[frame.convId] ?? -1)) sync(frame.convId);
    } else if (frame.type === "resync") {
      syncAll();
    } else if (frame.type === "edit" || frame.type === "delete") {
      // A deleted message arrives as a delete frame in a sync: its seq is this device's too.
      state.lastSeq[frame.convId] = Math.max(state.lastSeq[frame.convId] || 0, frame.seq);
      const kept = (state.received[frame.convId] || []).find((m) => m.seq === frame.seq);
      if (kept) Object.assign(kept, frame.type === "edit" ? { body: frame.body } : { deleted: true });
      const li = frame.convId === state.open && document.querySelector(`#messages li[data-seq="${frame.seq}"]`);
      if (li) li.replaceWith(messageItem(frame.convId, kept || { seq: frame.seq, sender: frame.sender,
        body: frame.body, deleted: frame.type === "delete" }));
    } else if (frame.type === "typing" && frame.convId === state.open && frame.user !== state.user) {
      $("typing").textContent = frame.user + " is typing…";
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => ($("typing").textContent = ""), 4000);
    } else if (frame.type === "presence") {
      state.presence[frame.user] = { online: frame.online, at: frame.at };
      renderPresence();
    } else if (frame.type === "error") {
      toast(frame.detail);
    }
  };
  // Back after a disconnect (network, sleep, a node restart): fetch what this device missed meanwhile.
  socket.onopen = () => syncAll();
  socket.onclose = () => {
    // Offline, the page waits for the network instead of trying every 2 s ("online" below reconnects).
    if (state.socket === socket && navigator.onLine) setTimeout(reconnectChat, 2000);
  };
}

function reconnectChat() {
  const s = state.socket;
  if (s && (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING)) return;
  connectChat().catch((e) => {
    toast(e.message);
    if (navigator.onLine) setTimeout(reconnectChat, 2000);
  });
}

// A socket can outlive a lost network for minutes before TCP notices: the page drops it when the browser goes
// offline and reconnects, then syncs, as soon as it is back.
window.addEventListener("offline", () => state.socket && state.socket.close());
window.addEventListener("online", () => state.token && reconnectChat());

// Typing: told to the other members at most every 3 s while keys are pressed.
$("compose-body").addEventListener("input", () => {
  const now = Date.now();
  if (!state.open || now - (state.typingSent || 0) < 3000) return;
  state.typingSent = now;
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify({ type: "typing", convId: state.open }));
  }
});

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
  state.info[created.conversationId] = created;
  $("new-members").value = "";
  $("new-title").value = "";
  // The list is a read model a second behind: show the new conversation in it at once.
  if (!state.conversations.some((c) => c.conversationId === created.conversationId)) {
    state.conversations.unshift({ conversationId: created.conversationId, kind: created.kind, title: created.title,
      unread: 0 });
  }
  await loadConversations();
  await openConversation(created.conversationId);
});

onSubmit("add-member", async () => {
  const id = state.open;
  const user = $("add-member-user").value.trim();
  state.info[id] = await api("POST", `/v1/conversations/${encodeURIComponent(id)}/members`, { users: [user] });
  $("add-member-user").value = "";
  renderMembers(id);
});

$("leave").addEventListener("click", async () => {
  const id = state.open;
  try {
    await api("DELETE", `/v1/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(state.user)}`);
    state.left[id] = Date.now();
    state.conversations = state.conversations.filter((c) => c.conversationId !== id);
    delete state.info[id];
    state.open = null;
    $("conversation-title").textContent = "No conversation open";
    $("members").hidden = true;
    $("presence").textContent = "";
    $("typing").textContent = "";
    $("compose").hidden = true;
    $("messages").replaceChildren();
    renderConversations();
  } catch (e) {
    toast(e.message);
  }
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
  // The server's list (a read model, a second behind) and the accounts this browser just opened.
  const listed = (await api("GET", "/v1/accounts")).items.map((a) => a.accountId);
  for (const id of [...new Set([...listed, ...knownAccounts()])]) {
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
    el("td", { class: "num" }, String(e.balanceAfter)), el("td", {}, e.counterparty || ""), reverseButton(e))));
}

/** Money received by a transfer can be sent back by its recipient: a reversal (once; its id derives from the original). */
function reverseButton(entry) {
  const cell = el("td", {});
  if (entry.side !== "CREDIT" || !entry.transferId || entry.type !== "transfer") return cell;
  const button = el("button", { type: "button", class: "reverse" }, "Reverse");
  button.addEventListener("click", async () => {
    try {
      const reversal = await api("POST", "/v1/transfers/" + entry.transferId + "/reversal");
      $("transfer-result").textContent = "reversal " + reversal.transferId.slice(0, 8) + "… " + reversal.status;
      await loadAccounts();
    } catch (e) {
      toast(e.message);
    }
  });
  cell.append(button);
  return cell;
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
  // A transfer still on its way is followed for a few seconds (a hold is placed, a credit lands).
  let t = response.json;
  for (let i = 0; i < 20 && t.status === "PENDING"; i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    t = await api("GET", "/v1/transfers/" + t.transferId);
  }
  // The balances first: once the result shows, the table is already the one after this transfer.
  await loadAccounts();
  showTransfer(t, replayed);
  $("transfer-retry").hidden = false;
}

function showTransfer(t, replayed) {
  $("transfer-result").textContent = "transfer " + t.transferId.slice(0, 8) + "… " + t.status
    + (t.status === "HELD" ? " (held until posted or voided)" : "")
    + (replayed ? " (a replay: the same key moved no money again)" : "");
  $("transfer-result").dataset.status = t.status;
  $("transfer-pending-actions").hidden = t.status !== "HELD";
  lastTransfer.id = t.transferId;
}

for (const action of ["post", "void"]) {
  $("transfer-" + action).addEventListener("click", async () => {
    try {
      const t = await api("POST", `/v1/transfers/${lastTransfer.id}/${action}`, {});
      await loadAccounts();
      showTransfer(t, false);
    } catch (e) {
      toast(e.message);
    }
  });
}

onSubmit("transfer-form", async () => {
  const from = $("transfer-from").value;
  const currency = (await api("GET", "/v1/accounts/" + encodeURIComponent(from))).currency;
  lastTransfer = { key: crypto.randomUUID(), body: { from, to: $("transfer-to").value.trim(),
    amount: Number($("transfer-amount").value), currency } };
  if ($("transfer-pending").checked) Object.assign(lastTransfer.body, { pending: true, timeoutSeconds: 600 });
  await sendTransfer(lastTransfer);
});

$("transfer-retry").addEventListener("click", () => sendTransfer(lastTransfer).catch((e) => toast(e.message)));

// ---- dispatch ----------------------------------------------------------------------------------------------

// The map is drawn by the page from H3 cell corners the node sends (no map tiles: nothing outside the node).
const dispatch = { center: { lat: 38.7223, lng: -9.1393 }, cells: [], pickup: null, ride: null, rider: null,
  me: null, simulated: [] };

async function loadNearby() {
  const c = dispatch.center;
  dispatch.cells = (await api("GET", `/v1/dispatch/nearby?lat=${c.lat}&lng=${c.lng}&rings=3`)).cells;
  drawMap();
}

/** Longitude/latitude to canvas pixels, fitted to the cells shown (equirectangular around the center). */
function projection(canvas) {
  const points = dispatch.cells.flatMap((c) => c.boundary);
  if (points.length === 0) return null;
  const k = Math.cos((dispatch.center.lat * Math.PI) / 180);
  const xs = points.map((p) => p.lng * k);
  const ys = points.map((p) => p.lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((canvas.width - 20) / (x1 - x0), (canvas.height - 20) / (y1 - y0));
  const ox = (canvas.width - (x1 - x0) * scale) / 2;
  const oy = (canvas.height - (y1 - y0) * scale) / 2;
  return {
    at: (p) => [ox + (p.lng * k - x0) * scale, oy + (y1 - p.lat) * scale],
    back: (x, y) => ({ lat: y1 - (y - oy) / scale, lng: ((x - ox) / scale + x0) / k }),
  };
}

function drawMap() {
  const canvas = $("map");
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const proj = projection(canvas);
  if (!proj) return;
  const dot = (p, color, r = 5) => {
    const [x, y] = proj.at(p);
    g.beginPath();
    g.arc(x, y, r, 0, 2 * Math.PI);
    g.fillStyle = color;
    g.fill();
  };
  for (const cell of dispatch.cells) {
    g.beginPath();
    cell.boundary.forEach((p, i) => (i === 0 ? g.moveTo(...proj.at(p)) : g.lineTo(...proj.at(p))));
    g.closePath();
    // White at surge 1, deeper orange up to the cap.
    g.fillStyle = `rgba(234, 88, 12, ${Math.min(0.6, (cell.surge - 1) / 3)})`;
    g.fill();
    g.strokeStyle = "#d1d5db";
    g.stroke();
    if (cell.surge > 1) {
      const [x, y] = proj.at(cell.boundary[0]);
      g.fillStyle = "#9a3412";
      g.fillText("×" + cell.surge.toFixed(1), x + 4, y + 12);
    }
    for (const d of cell.drivers) dot(d.location, "#16a34a", 4);
  }
  // What is drawn, for tests and tools (a canvas shows pixels only).
  canvas.dataset.cells = dispatch.cells.length;
  canvas.dataset.drivers = dispatch.cells.reduce((n, c) => n + c.drivers.length, 0);
  // Drivers this page runs, in the states the index does not show.
  for (const d of [dispatch.me, ...dispatch.simulated]) {
    if (d && d.status !== "available" && d.status !== "offline") dot(d.position, d.status === "offered" ? "#d97706" : "#2563eb");
  }
  if (dispatch.pickup) dot(dispatch.pickup, "#dc2626", 6);
}

$("map").addEventListener("click", (e) => {
  const canvas = $("map");
  const proj = projection(canvas);
  if (!proj) return;
  const box = canvas.getBoundingClientRect();
  const point = proj.back((e.clientX - box.left) * (canvas.width / box.width), (e.clientY - box.top) * (canvas.height / box.height));
  dispatch.pickup = point;
  if (dispatch.me && dispatch.me.status === "available") dispatch.me.target = point;
  drawMap();
});

/**
 * One driver on its own socket: goes online, pings every second while it moves towards its target (or wanders), and
 * with {@code auto} takes every offer and drives the trip: to the pickup, then to the dropoff.
 */
class DriverClient {
  constructor(token, position, { auto, onChange }) {
    Object.assign(this, { token, position, auto, onChange, status: "offline", offer: null, rideId: null, target: null,
      lastAt: 0 });
  }

  async connect(vehicleType) {
    this.socket = new WebSocket(socketUrl("/v1/dispatch/driver/ws", await ticket(this.token)));
    this.socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    this.socket.onopen = () => {
      this.send({ type: "online", vehicleType });
      this.ping();
      this.timer = setInterval(() => this.tick(), 1000);
    };
    this.socket.onclose = () => {
      clearInterval(this.timer);
      this.status = "offline";
      this.onChange(this);
    };
  }

  send(frame) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  receive(f) {
    if (f.type === "status") {
      this.status = f.status;
      if (f.status === "assigned") {
        this.rideId = f.rideId;
        this.offer = this.offer || {};
        if (this.auto) this.target = this.offer.pickup;
      }
      if (f.status === "available") this.offer = null;
    } else if (f.type === "offer") {
      this.status = "offered";
      this.offer = f;
      if (this.auto) setTimeout(() => this.send({ type: "accept", rideId: f.rideId }), 500 + Math.random() * 1000);
    } else if (f.type === "offer_ended") {
      this.status = "available";
      this.offer = null;
    } else if (f.type === "ride") {
      if (f.status === "started") this.status = "on_trip";
      if (f.status === "completed" || f.status === "cancelled") {
        this.status = "available";
        this.rideId = null;
        this.offer = null;
        this.target = null;
      }
    } else if (f.type === "error" && !this.auto) {
      toast(f.detail);
    }
    this.onChange(this);
  }

  tick() {
    if (this.auto && this.rideId && this.target && near(this.position, this.target)) {
      // One stage per second: the socket may handle frames concurrently, and a trip starts after the arrival.
      if (this.status === "assigned" && !this.arrived) {
        this.send({ type: "arrived", rideId: this.rideId });
        this.arrived = true;
      } else if (this.status === "assigned") {
        this.send({ type: "started", rideId: this.rideId });
        this.target = this.offer.dropoff;
        this.arrived = false;
      } else if (this.status === "on_trip") {
        this.send({ type: "completed", rideId: this.rideId });
        this.target = null;
      }
    }
    this.move();
    this.ping();
  }

  /** Towards the target at about 15 m/s, or a few metres in a random direction. */
  move() {
    const p = this.position;
    if (this.target) {
      const dLat = this.target.lat - p.lat;
      const dLng = this.target.lng - p.lng;
      const step = Math.min(1, 0.000135 / Math.max(1e-9, Math.hypot(dLat, dLng)));
      this.position = { lat: p.lat + dLat * step, lng: p.lng + dLng * step };
    } else if (this.auto) {
      this.position = { lat: p.lat + (Math.random() - 0.5) * 0.0001, lng: p.lng + (Math.random() - 0.5) * 0.0001 };
    }
  }

  ping() {
    // The node refuses a ping that is not later than the previous one.
    const at = Math.max(Date.now(), this.lastAt + 1);
    this.lastAt = at;
    this.send({ type: "ping", lat: this.position.lat, lng: this.position.lng, heading: 0, speed: this.target ? 15 : 0,
      at: new Date(at).toISOString() });
  }

  close() {
    clearInterval(this.timer);
    if (this.socket) this.socket.close();
  }
}

function near(a, b) {
  return Math.hypot(a.lat - b.lat, a.lng - b.lng) < 0.0002;
}

// -- the signed-in user as a rider

async function connectRider() {
  if (dispatch.rider) return;
  const socket = new WebSocket(socketUrl("/v1/dispatch/rider/ws", await ticket()));
  dispatch.rider = socket;
  socket.onmessage = (event) => {
    const f = JSON.parse(event.data);
    if (f.type === "ride" && dispatch.ride && f.rideId === dispatch.ride.rideId) showRide(f.status, f.driverId);
    else if (f.type === "error") toast(f.detail);
  };
  socket.onclose = () => {
    if (dispatch.rider === socket) dispatch.rider = null;
  };
  await new Promise((resolve) => socket.addEventListener("open", resolve, { once: true }));
}

function showRide(status, driverId) {
  $("ride-status").textContent = `ride ${dispatch.ride.rideId.slice(0, 8)}… ${status}`
    + (driverId ? ` (driver ${driverId})` : "");
  $("ride-status").dataset.status = status;
  $("ride-cancel").hidden = ["completed", "cancelled", "no_drivers_available", "started"].includes(status);
}

onSubmit("ride-form", async () => {
  if (!dispatch.pickup) throw new Error("click the map to choose a pickup first");
  await connectRider();
  const p = dispatch.pickup;
  dispatch.ride = await api("POST", "/v1/rides", { pickup: p, dropoff: { lat: p.lat + 0.01, lng: p.lng + 0.012 },
    vehicleType: $("ride-vehicle").value }, { "Idempotency-Key": crypto.randomUUID() });
  showRide(dispatch.ride.status, dispatch.ride.driverId);
});

$("ride-cancel").addEventListener("click", async () => {
  try {
    const ride = await api("POST", `/v1/rides/${dispatch.ride.rideId}/cancel`);
    showRide(ride.status, ride.driverId);
  } catch (e) {
    toast(e.message);
  }
});

// -- the signed-in user as a driver

function showMe(d) {
  $("drive-status").textContent = d.status + (d.rideId ? " — ride " + d.rideId.slice(0, 8) + "…" : "");
  $("drive-status").dataset.status = d.status;
  $("drive-toggle").textContent = d.status === "offline" ? "Go online" : "Go offline";
  $("drive-offer").hidden = d.status !== "offered";
  if (d.offer && d.status === "offered") {
    $("drive-offer-text").textContent = `Offer: ride ${d.offer.rideId.slice(0, 8)}…, fare ${(d.offer.fareCents / 100).toFixed(2)}`;
  }
  $("drive-trip").hidden = !["assigned", "on_trip"].includes(d.status);
  drawMap();
}

onSubmit("drive-form", async () => {
  if (dispatch.me && dispatch.me.status !== "offline") {
    dispatch.me.send({ type: "offline" });
    dispatch.me.close();
    dispatch.me = null;
    showMe({ status: "offline" });
    return;
  }
  dispatch.me = new DriverClient(state.token, dispatch.pickup || { ...dispatch.center }, { auto: false, onChange: showMe });
  await dispatch.me.connect($("drive-vehicle").value);
});

$("drive-accept").addEventListener("click", () => dispatch.me.send({ type: "accept", rideId: dispatch.me.offer.rideId }));
$("drive-decline").addEventListener("click", () => dispatch.me.send({ type: "decline", rideId: dispatch.me.offer.rideId }));
$("drive-trip").addEventListener("click", (e) => {
  if (e.target.dataset.stage) dispatch.me.send({ type: e.target.dataset.stage, rideId: dispatch.me.rideId });
});

// -- simulated drivers (dev tokens, so dev mode only)

onSubmit("simulate-form", async () => {
  const count = Math.min(50, Number($("simulate-count").value));
  const c = dispatch.center;
  for (let i = dispatch.simulated.length; i < count; i++) {
    const id = `sim-${state.user}-${i + 1}`.slice(0, 64);
    const token = (await api("POST", "/v1/dev/tokens", { userId: id })).token;
    // Within about 1.3 km of the center: on the map (three rings of cells, about 2.5 km).
    const start = { lat: c.lat + (Math.random() - 0.5) * 0.024, lng: c.lng + (Math.random() - 0.5) * 0.03 };
    const driver = new DriverClient(token, start, { auto: true, onChange: showSimulated });
    driver.id = id;
    dispatch.simulated.push(driver);
    await driver.connect(["car", "car", "car", "xl", "moto"][i % 5]);
  }
  showSimulated();
});

$("simulate-stop").addEventListener("click", () => {
  dispatch.simulated.forEach((d) => {
    d.send({ type: "offline" });
    d.close();
  });
  dispatch.simulated = [];
  showSimulated();
});

function showSimulated() {
  const byStatus = {};
  for (const d of dispatch.simulated) byStatus[d.status] = (byStatus[d.status] || 0) + 1;
  $("simulate-status").textContent = dispatch.simulated.length === 0 ? "None running."
    : dispatch.simulated.length + " simulated drivers: " + Object.entries(byStatus).map(([k, v]) => `${v} ${k}`).join(", ");
  drawMap();
}

$("ops-check").addEventListener("click", async () => {
  $("ops-check").disabled = true;
  try {
    // The read models trail the entities by about a second: the checker retries for up to 10 s while something fails.
    const report = await api("GET", "/v1/admin/ledger/check?settle=10");
    $("ops-checks").querySelector("tbody").replaceChildren(...report.checks.map((c) => el("tr", {},
      el("td", {}, c.passed ? "PASS" : "FAIL"), el("td", {}, c.name), el("td", {}, c.summary))));
    $("ops-checks").dataset.passed = String(report.passed);
  } catch (e) {
    toast(e.message);
  } finally {
    $("ops-check").disabled = false;
  }
});

// ---- ops ---------------------------------------------------------------------------------------------------

let lastOps = null;

async function loadOps() {
  const o = await api("GET", "/v1/ops/overview");
  const rows = (id, items, cells) => $(id).querySelector("tbody").replaceChildren(...items.map((item) =>
    el("tr", {}, ...cells(item).map(([text, cls]) => el("td", cls ? { class: cls } : {}, String(text))))));
  rows("ops-members", o.members, (m) => [[m.address + (m.self ? " (this node)" : "")], [m.status],
    [m.reachable ? "yes" : "NO"], [m.appVersion], [m.roles.join(", ")]]);
  rows("ops-projections", o.projections, (p) => [[p.projection], [p.events, "num"],
    [p.recentMaxSeconds.toFixed(2) + " s", "num"], [p.meanSeconds.toFixed(2) + " s", "num"]]);
  rows("ops-consumers", o.consumers, (c) => [[c.group], [c.records === null ? "—" : c.records, "num"]]);
  // Rates from the differences between two polls (the node reports totals).
  let rates = "—";
  if (lastOps) {
    const seconds = (Date.parse(o.at) - Date.parse(lastOps.at)) / 1000;
    const answers = (o.httpResponses - lastOps.httpResponses) / seconds;
    const errors = (o.httpServerErrors - lastOps.httpServerErrors) / seconds;
    rates = `${answers.toFixed(1)}/s, of which 5xx ${errors.toFixed(2)}/s`;
  }
  lastOps = o;
  const sockets = Object.entries(o.webSockets).map(([k, v]) => `${k} ${v}`).join(", ") || "none";
  rows("ops-node", [["node", o.node], ["HTTP answers", rates], ["5xx since start", o.httpServerErrors],
    ["open sockets", sockets], ["CPU", o.processCpu === null ? "—" : (100 * o.processCpu).toFixed(0) + " %"],
    ["heap used", (o.heapUsedBytes / 1048576).toFixed(0) + " MB"]], ([k, v]) => [[k], [v]]);
  $("ops").dataset.members = o.members.length;
}

// For a developer in the browser's console (and the browser test): drop the chat socket as a flaky network would;
// the page reconnects two seconds later and syncs what it missed.
window.plaza = { dropChatConnection: () => state.socket && state.socket.close() };

// A reload keeps the session of this tab (each tab is a device of its own).
const saved = sessionStorage.getItem("plaza.token");
if (saved) signIn(saved, sessionStorage.getItem("plaza.user")).catch((e) => toast(e.message));
