// The counsellor console: sign-in, the live queue, one conversation, and the
// supervisor's team view. Plain ES modules, no build step. Live updates come
// from server-sent events; they only say "re-read", and the queue is re-read
// every 20 s anyway because the server's pub/sub may drop an event.
import { get, post, setCsrfToken, whenSessionLost } from "./api.js";
import { Alerts } from "./alerts.js";
import { ConversationView } from "./conversation.js";
import { channelName, languageName, riskWords } from "./format.js";
import { CHANNEL_LABELS } from "./channels.js";
import { Queue } from "./queue.js";
import { StatsView } from "./stats.js";
import { TeamView } from "./team.js";

const SAFETY_NET_MS = 20000;
const RECONNECT_MS = [1000, 2000, 5000, 10000, 20000];
const $ = (id) => document.getElementById(id);

const app = {
  me: null,
  claimed: new Set(), // conversations this tab claimed (to tell a transfer to me apart)
  assignedBefore: new Map(), // id -> assigned_to at the previous queue read
  queuePrimed: false,
  events: null,
  reconnects: 0,
  timers: [],
  queue: null,
  conversation: null,
  team: null,
  stats: null,
  alerts: null,

  flash(text) {
    const flash = $("flash");
    flash.textContent = text;
    flash.hidden = !text;
    clearTimeout(this.flashTimer);
    if (text) this.flashTimer = setTimeout(() => { flash.hidden = true; }, 12000);
  },
  refreshQueue() {
    return this.queue?.refresh();
  },
  goToQueue() {
    if (window.location.hash !== "#/") window.location.hash = "#/";
    else route();
  },
};

// ------------------------------------------------------------------ sign-in

function showLogin(reason = "") {
  stopLive();
  app.me = null;
  setCsrfToken("");
  app.queue?.clear();
  app.conversation?.reset();
  app.team?.hide();
  app.stats?.hide();
  app.alerts?.reset();
  $("app").hidden = true;
  $("loading").hidden = true;
  $("login-view").hidden = false;
  $("login-reason").textContent = reason;
  $("login-reason").hidden = !reason;
  $("login-error").hidden = true;
  $("login-password").value = "";
  document.title = "Sign in · Helpline console";
  $(($("login-username").value ? "login-password" : "login-username")).focus();
}

whenSessionLost(() => {
  if (app.me) showLogin("Your session has ended (after 8 hours without use, or 12 hours after signing in). Please sign in again.");
});

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  if (!username || !password) {
    error.textContent = "Enter your username and your password.";
    error.hidden = false;
    return;
  }
  const button = $("login-submit");
  button.disabled = true;
  try {
    const me = await post("/login", { username, password });
    $("login-password").value = "";
    start(me);
  } catch (problem) {
    error.textContent = problem.message;
    error.hidden = false;
    $("login-password").select();
  } finally {
    button.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await post("/logout");
  } catch {
    // Signed out either way: the page forgets everything below.
  }
  showLogin("You are signed out.");
});

// ------------------------------------------------------------------ the console

function start(me) {
  app.me = { user: me.user, role: me.role };
  setCsrfToken(me.csrf_token);
  $("login-view").hidden = true;
  $("loading").hidden = true;
  $("app").hidden = false;
  $("whoami").textContent = `${me.user} · ${me.role === "supervisor" ? "supervisor" : "counsellor"}`;
  $("nav-team").hidden = me.role !== "supervisor";
  $("nav-stats").hidden = me.role !== "supervisor";
  document.body.classList.toggle("is-supervisor", me.role === "supervisor");
  app.queue.me = app.me;
  app.claimed.clear();
  app.assignedBefore.clear();
  app.queuePrimed = false;
  startLive();
  app.queue.refresh();
  route();
}

function onQueue(entries) {
  app.alerts.review(entries);
  noticeGivenToMe(entries);
  const open = app.conversation.data;
  const entry = app.conversation.id && app.queue.entry(app.conversation.id);
  if (app.conversation.id && open) {
    // Claimed, transferred, closed or gone since it was read: read it again.
    const changed = entry ? entry.assigned_to !== open.assigned_to || entry.status !== open.state
      : ["waiting", "assigned"].includes(open.state);
    if (changed) app.conversation.refresh();
  } else if (entry && app.queue.canOpen(entry)) {
    app.conversation.refresh(); // it was not mine to see, and now it is
  }
  if (app.team.visible) app.team.refresh();
}

/** A supervisor or a colleague gave me a conversation: say so. */
function noticeGivenToMe(entries) {
  if (app.queuePrimed) {
    for (const entry of entries) {
      const was = app.assignedBefore.get(entry.id);
      if (entry.assigned_to === app.me.user && was !== app.me.user && !app.claimed.has(entry.id)) {
        app.flash(`A conversation was given to you: ${riskWords(entry.risk)} · ${languageName(entry.language)} · ${channelName(entry.channel)}.`);
        app.queue.unread.add(entry.id);
        app.queue.render();
      }
    }
  }
  app.queuePrimed = true;
  app.assignedBefore = new Map(entries.map((e) => [e.id, e.assigned_to]));
}

function route() {
  if (!app.me) return;
  const hash = window.location.hash;
  const match = /^#\/c\/([^/]+)$/.exec(hash);
  const layout = $("layout");
  const view = hash === "#/team" || hash === "#/stats" ? hash : "#/";
  if (!match) app.stats.hide();
  if (match) {
    const id = decodeURIComponent(match[1]);
    app.team.hide();
    app.stats.hide();
    $("placeholder").hidden = true;
    layout.dataset.show = "detail";
    app.queue.setOpen(id);
    app.conversation.open(id);
  } else if (hash === "#/team" && app.me.role === "supervisor") {
    app.conversation.hide();
    app.queue.setOpen(null);
    $("placeholder").hidden = true;
    layout.dataset.show = "detail";
    app.team.show();
  } else if (hash === "#/stats" && app.me.role === "supervisor") {
    app.conversation.hide();
    app.team.hide();
    app.queue.setOpen(null);
    $("placeholder").hidden = true;
    layout.dataset.show = "detail";
    app.stats.show();
  } else {
    app.conversation.hide();
    app.team.hide();
    app.queue.setOpen(null);
    $("placeholder").hidden = false;
    layout.dataset.show = "queue";
  }
  for (const link of document.querySelectorAll("#views a")) {
    const current = link.getAttribute("href") === view;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

window.addEventListener("hashchange", route);

// ------------------------------------------------------------------ live updates

function setLive(ok, text) {
  $("live-status").classList.toggle("offline", !ok);
  $("live-text").textContent = text;
}

function startLive() {
  stopLive();
  const events = new EventSource("/console/api/events");
  app.events = events;
  events.addEventListener("ready", () => {
    app.reconnects = 0;
    setLive(true, "Live");
    app.queue.refresh(); // whatever happened while we were away
    app.conversation.refresh();
  });
  events.addEventListener("queue", () => app.queue.refresh());
  events.addEventListener("message", (event) => onConversationEvent(event, false));
  events.addEventListener("left", (event) => onConversationEvent(event, true));
  events.addEventListener("error", () => {
    if (app.events !== events) return;
    setLive(false, "Reconnecting…");
    if (events.readyState === EventSource.CLOSED) {
      // The server refused the stream (a 401 ends the session) or went away.
      const delay = RECONNECT_MS[Math.min(app.reconnects++, RECONNECT_MS.length - 1)];
      const timer = setTimeout(async () => {
        try {
          await get("/me");
          if (app.me) startLive();
        } catch (error) {
          if (error.status !== 401 && app.me) startLive();
        }
      }, delay);
      app.timers.push(timer);
    }
  });
  app.timers.push(setInterval(() => {
    app.queue.refresh();
    app.conversation.refresh();
  }, SAFETY_NET_MS));
  app.timers.push(setInterval(() => {
    app.queue.tick();
    app.team.tick();
  }, 1000));
}

async function onConversationEvent(event, left) {
  let id;
  try {
    id = JSON.parse(event.data).id;
  } catch {
    return;
  }
  if (!id) return;
  if (id === app.conversation.id) {
    app.conversation.refresh();
    return;
  }
  if (left) {
    const entry = app.queue.entry(id);
    if (entry?.assigned_to === app.me.user) app.flash("A person you were talking with left for her safety: her conversation was erased.");
    app.queue.refresh();
    return;
  }
  const entry = app.queue.entry(id);
  if (entry?.assigned_to === app.me.user && (await app.conversation.checkUnread(id))) app.queue.markUnread(id);
}

function stopLive() {
  app.events?.close();
  app.events = null;
  for (const timer of app.timers) {
    clearTimeout(timer);
    clearInterval(timer);
  }
  app.timers = [];
}

// ------------------------------------------------------------------ boot

app.alerts = new Alerts({ banner: $("alerts"), soundButton: $("sound-toggle"), notifyButton: $("notify-toggle") });
app.queue = new Queue({
  list: $("queue-list"), empty: $("queue-empty"), summary: $("queue-summary"), error: $("queue-error"), me: {},
  pager: { box: $("queue-pager"), status: $("queue-page-status"), previous: $("queue-previous"), next: $("queue-next"), language: $("filter-language") },
});
$("filter-channel").append(...Object.entries(CHANNEL_LABELS).map(([id, label]) => {
  const option = document.createElement("option");
  option.value = id;
  option.textContent = label;
  return option;
}));
for (const select of document.querySelectorAll("#queue-filters select")) {
  select.addEventListener("change", () => app.queue.setFilter(select.dataset.filter, select.value));
}
$("queue-filters").addEventListener("submit", (event) => event.preventDefault());
$("queue-previous").addEventListener("click", () => app.queue.turn(-1));
$("queue-next").addEventListener("click", () => app.queue.turn(1));
app.queue.onChange(onQueue);
app.conversation = new ConversationView(app);
app.team = new TeamView(app);
app.stats = new StatsView(app);

try {
  start(await get("/me"));
} catch (error) {
  showLogin(error.status === 401 || error.status === undefined ? "" : error.message);
}
