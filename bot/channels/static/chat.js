// The web chat: a person's view of the helpline flows. Everything shown is set
// as text (textContent), never as HTML.
const NEUTRAL_SITE = "https://www.google.com/search?q=weather";
const list = document.getElementById("messages");
const form = document.getElementById("composer");
const input = document.getElementById("text");
const footer = document.getElementById("footer");

// The page is as tall as what she sees: with the on-screen keyboard open too
// (browsers that do not resize the layout for it), so the composer stays in view.
const viewport = window.visualViewport;
function fitViewport() {
  document.documentElement.style.setProperty("--app-height", `${viewport.height}px`);
  list.lastElementChild?.scrollIntoView({ block: "end" });
}
viewport?.addEventListener("resize", fitViewport);

function newSession() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let session = sessionStorage.getItem("chat-session");
if (!session) {
  session = newSession();
  sessionStorage.setItem("chat-session", session);
}
let next = Number(sessionStorage.getItem("chat-next") || 0);
let leaving = false;

// The page's own words, in her language: first the browser's (the server wrote
// them into the page), then the conversation's, whenever it changes.
let page = JSON.parse(document.getElementById("page-texts").textContent || "{}");

function applyPage(update) {
  if (!update || !update.texts) return;
  page = update;
  document.documentElement.lang = page.lang;
  document.documentElement.dir = page.dir;
  const text = (key) => page.texts[key];
  for (const element of document.querySelectorAll("[data-text]")) {
    if (text(element.dataset.text)) element.textContent = text(element.dataset.text);
  }
  for (const element of document.querySelectorAll("[data-title]")) {
    if (text(element.dataset.title)) element.title = text(element.dataset.title);
  }
  for (const element of document.querySelectorAll("[data-placeholder]")) {
    if (text(element.dataset.placeholder)) element.placeholder = text(element.dataset.placeholder);
  }
  for (const element of document.querySelectorAll("[data-aria-label]")) {
    if (text(element.dataset.ariaLabel)) element.setAttribute("aria-label", text(element.dataset.ariaLabel));
  }
  footer.hidden = !text("web_footer"); // an organisation may set no footer
}

function show(text, who, options = []) {
  const item = document.createElement("li");
  item.className = `msg ${who}`;
  item.dir = "auto"; // right-to-left scripts (Arabic) show right to left
  item.textContent = text;
  if (options.length) {
    const row = document.createElement("div");
    row.className = "options";
    for (const option of options) {
      const button = document.createElement("button");
      button.type = "button";
      button.dir = "auto";
      button.textContent = option.label;
      button.addEventListener("click", () => {
        for (const b of row.querySelectorAll("button")) b.disabled = true;
        show(option.label, "me");
        post({ payload: option.payload });
      });
      row.append(button);
    }
    item.append(row);
  }
  list.append(item);
  item.scrollIntoView({ block: "end" });
}

async function post(body) {
  let response;
  // Too many at once (429): wait as told, then send it again; she loses nothing.
  for (let attempt = 0; attempt < 4; attempt++) {
    response = await fetch("/chat/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session, ...body }),
    });
    if (response.status !== 429) break;
    const wait = Math.min(Number(response.headers.get("Retry-After")) || 5, 60);
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!response.ok) {
    show(page.texts?.web_not_sent || "This message could not be sent. Please try again.", "bot");
    return;
  }
  const data = await response.json().catch(() => ({}));
  if (data.exit) leave(); // she typed the exit word: erased already, clear the page too
}

async function poll() {
  while (!leaving) {
    try {
      const response = await fetch(`/chat/api/messages?session=${session}&after=${next}&wait=1`);
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      for (const message of data.messages) show(message.text, "bot", message.options);
      if (data.page && data.page.lang !== page.lang) applyPage(data.page);
      next = data.next;
      sessionStorage.setItem("chat-next", String(next));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
}

function quickExit() {
  const body = JSON.stringify({ session });
  navigator.sendBeacon?.("/chat/api/exit", new Blob([body], { type: "application/json" })) ||
    fetch("/chat/api/exit", { method: "POST", body, keepalive: true, headers: { "Content-Type": "application/json" } });
  leave();
}

// Nothing of the conversation stays on the page or in this tab; a neutral site replaces it.
function leave() {
  leaving = true;
  sessionStorage.clear();
  list.replaceChildren();
  input.value = "";
  window.location.replace(NEUTRAL_SITE);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  show(text, "me");
  post({ text });
});
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    form.requestSubmit();
  }
});
document.getElementById("quick-exit").addEventListener("click", quickExit);
let escapes = [];
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const now = Date.now();
  escapes = [...escapes.filter((t) => now - t < 1500), now];
  if (escapes.length >= 3) quickExit();
});

// Messages of this tab's conversation so far (after a reload), then new ones.
if (next > 0) {
  const old = next;
  next = 0;
  fetch(`/chat/api/messages?session=${session}&after=0&wait=0`)
    .then((r) => r.json())
    .then((data) => {
      for (const message of data.messages) show(message.text, "bot", message.options);
      if (data.page) applyPage(data.page);
      next = Math.max(old, data.next);
      poll();
    });
} else {
  post({ start: true });
  poll();
}
