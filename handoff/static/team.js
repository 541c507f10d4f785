// The supervisor's view: the team online and their load, the queue's length and
// longest wait, conversations by state, and reassigning any conversation.
import { get, post } from "./api.js";
import { counsellorLabel, offlineWarning } from "./conversation.js";
import { channelName, duration, h, languageName, riskWords, urgencyClass, urgencyWord } from "./format.js";

const STATE_WORDS = { waiting: "Waiting", assigned: "With a counsellor", closed: "Closed", left: "Left for safety", bot: "With the bot" };
const $ = (id) => document.getElementById(id);

export class TeamView {
  constructor(app) {
    this.app = app;
    this.view = $("team-view");
    this.status = $("team-status");
    this.overview = null;
    this.fetchedAt = performance.now();
    this.team = [];
    this.audit = [];
  }

  get visible() {
    return !this.view.hidden;
  }

  async show() {
    this.view.hidden = false;
    await this.refresh();
  }

  hide() {
    this.view.hidden = true;
  }

  async refresh() {
    if (this.view.hidden) return;
    try {
      const [overview, team, audit] = await Promise.all([get("/overview"), get("/counsellors"), get("/audit?limit=50")]);
      this.overview = overview;
      this.team = team;
      this.audit = audit;
      this.fetchedAt = performance.now();
      this.render();
    } catch (error) {
      if (error.status !== 401) this.say(`The overview could not be updated: ${error.message}`);
    }
  }

  say(text) {
    this.status.textContent = text;
  }

  render() {
    const o = this.overview;
    $("stat-waiting").textContent = String(o.queue_length);
    $("stat-online").textContent = String(o.online.length);
    const states = Object.entries(o.conversations_by_state || {});
    $("stat-states").replaceChildren(...states.map(([state, count]) =>
      h("li", {}, h("span", { class: "state-name" }, STATE_WORDS[state] || state), h("span", { class: "state-count" }, String(count)))));
    this.tick();

    const rows = this.team.map((c) => h("tr", {},
      h("th", { scope: "row" }, c.user === this.app.me.user ? `${c.user} (you)` : c.user),
      h("td", {}, c.role === "supervisor" ? "Supervisor" : "Counsellor"),
      h("td", {}, h("span", { class: c.online ? "presence online" : "presence offline" }, c.online ? "Online" : "Offline")),
      h("td", { class: "number" }, String(c.load)),
    ));
    $("team-rows").replaceChildren(...rows);
    $("team-empty").hidden = rows.length > 0;
    this.renderConversations();
    this.renderAudit();
  }

  /** The newest counsellor actions (GET /audit). */
  renderAudit() {
    const rows = this.audit.map((e) => h("tr", {},
      h("td", {}, new Date(e.at * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "medium" })),
      h("td", {}, e.actor === "cli" ? "Operator (command line)" : e.actor),
      h("td", {}, e.what),
      h("td", {}, e.case || "—"),
      h("td", {}, e.detail || ""),
    ));
    $("audit-rows").replaceChildren(...rows);
    $("audit-empty").hidden = rows.length > 0;
  }

  /** Every open conversation, each with a reassign control. */
  renderConversations() {
    const entries = this.app.queue.entries;
    const focused = document.activeElement?.closest?.("tr[data-id]")?.dataset.id;
    this.confirming = null; // the rows are new: a pending "Reassign anyway" is asked again
    const rows = entries.map((entry) => {
      const level = entry.effective_priority || entry.priority;
      const select = h("select", { "aria-label": `Reassign the ${urgencyWord(level).toLowerCase()} ${channelName(entry.channel)} conversation to`, class: "reassign-to" },
        h("option", { value: "" }, "Choose…"),
        ...this.team
          .filter((c) => c.user !== entry.assigned_to)
          .sort((a, b) => Number(b.online) - Number(a.online) || a.user.localeCompare(b.user))
          .map((c) => h("option", { value: c.user }, counsellorLabel(c, this.app.me.user, true))));
      const button = h("button", { type: "button", class: "small" }, "Reassign");
      button.addEventListener("click", () => this.reassign(entry, select, button));
      select.addEventListener("change", () => {
        this.confirming = null;
        button.textContent = "Reassign";
      });
      return h("tr", { "data-id": entry.id },
        h("td", {}, h("span", { class: `badge ${urgencyClass(level)}` }, urgencyWord(level))),
        h("td", {}, riskWords(entry.risk)),
        h("td", {}, `${languageName(entry.language)} · ${channelName(entry.channel)}`),
        h("td", { class: "wait-cell", "data-id": entry.id }),
        h("td", {}, entry.assigned_to ? (entry.assigned_to === this.app.me.user ? "You" : entry.assigned_to) : "Nobody yet"),
        h("td", {}, h("div", { class: "reassign" }, select, button,
          h("a", { href: `#/c/${encodeURIComponent(entry.id)}`, class: "small-link" }, "Open"))),
      );
    });
    $("open-rows").replaceChildren(...rows);
    $("open-empty").hidden = rows.length > 0;
    if (focused) $("open-rows").querySelector(`tr[data-id="${CSS.escape(focused)}"] select`)?.focus();
    this.tick();
  }

  async reassign(entry, select, button) {
    const { id } = entry;
    const to = select.value;
    if (!to) {
      this.say("Choose who should take the conversation, then press Reassign.");
      select.focus();
      return;
    }
    const target = this.team.find((c) => c.user === to);
    if (target && !target.online && this.confirming !== `${id}:${to}`) {
      this.confirming = `${id}:${to}`;
      button.textContent = "Reassign anyway";
      this.say(offlineWarning(to, entry.effective_priority || entry.priority));
      return;
    }
    this.confirming = null;
    try {
      await post(`/conversations/${encodeURIComponent(id)}/transfer`, { to });
      this.say(`Reassigned to ${to === this.app.me.user ? "you" : to}.`);
      await this.app.refreshQueue();
      await this.refresh();
    } catch (error) {
      if (error.status !== 401) this.say(`Not reassigned: ${error.message}`);
    }
  }

  tick() {
    if (this.view.hidden || !this.overview) return;
    const o = this.overview;
    const longest = o.longest_wait_seconds + (performance.now() - this.fetchedAt) / 1000;
    $("stat-longest").textContent = o.queue_length ? duration(longest) : "Nobody is waiting";
    for (const cell of $("open-rows").querySelectorAll(".wait-cell")) {
      const entry = this.app.queue.entry(cell.dataset.id);
      if (entry) cell.textContent = duration(this.app.queue.waitingSeconds(entry));
    }
  }
}
