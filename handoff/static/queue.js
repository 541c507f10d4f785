// The live queue: most urgent first (the server's order), urgency by colour and
// word, waiting time ticking here between reads.
import { get } from "./api.js";
import { channelName, duration, h, languageName, riskWords, urgencyClass, urgencyWord } from "./format.js";

export class Queue {
  constructor({ list, empty, summary, error, me }) {
    this.list = list;
    this.empty = empty;
    this.summary = summary;
    this.error = error;
    this.me = me;
    this.entries = [];
    this.fetchedAt = performance.now();
    this.openId = null;
    this.unread = new Set();
    this.listeners = [];
    this.reading = null;
  }

  /** `listener(entries)` runs after every successful read. */
  onChange(listener) {
    this.listeners.push(listener);
  }

  /** Re-read the queue; reads asked for while one is under way are merged into one more. */
  refresh() {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      try {
        do {
          this.again = false;
          const entries = await get("/queue");
          this.entries = Array.isArray(entries) ? entries : [];
          this.fetchedAt = performance.now();
          this.error.hidden = true;
          this.render();
          for (const listener of this.listeners) listener(this.entries);
        } while (this.again);
      } catch (error) {
        if (error.status !== 401) {
          this.error.textContent = `The queue could not be updated: ${error.message}`;
          this.error.hidden = false;
        }
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }

  entry(id) {
    return this.entries.find((e) => e.id === id);
  }

  waitingSeconds(entry) {
    return entry.waiting_seconds + (performance.now() - this.fetchedAt) / 1000;
  }

  canOpen(entry) {
    return this.me.role === "supervisor" || !entry.assigned_to || entry.assigned_to === this.me.user;
  }

  setOpen(id) {
    this.openId = id;
    if (id) this.unread.delete(id);
    for (const item of this.list.children) {
      const open = item.dataset.id === id;
      if (open) item.querySelector(".unread")?.remove();
      item.classList.toggle("is-open", open);
      const link = item.querySelector("a");
      if (link) {
        if (open) link.setAttribute("aria-current", "true");
        else link.removeAttribute("aria-current");
      }
    }
  }

  markUnread(id) {
    if (id === this.openId) return;
    this.unread.add(id);
    this.render();
  }

  render() {
    const focusedId = document.activeElement?.closest?.(".queue-item")?.dataset.id;
    const rows = this.entries.map((entry) => this.row(entry));
    this.list.replaceChildren(...rows);
    const waiting = this.entries.filter((e) => !e.assigned_to).length;
    const helped = this.entries.length - waiting;
    this.empty.hidden = this.entries.length > 0;
    this.summary.textContent = `${waiting} waiting · ${helped} with a counsellor`;
    document.title = waiting ? `(${waiting}) Helpline console` : "Helpline console";
    if (focusedId) this.list.querySelector(`[data-id="${CSS.escape(focusedId)}"] a`)?.focus();
    this.tick();
  }

  row(entry) {
    const level = entry.effective_priority || entry.priority;
    const mine = entry.assigned_to === this.me.user;
    let who = "Nobody has it yet";
    if (mine) who = "With you";
    else if (entry.assigned_to) who = `With ${entry.assigned_to}`;
    const badge = h("span", { class: `badge ${urgencyClass(level)}` }, urgencyWord(level));
    const aged = level !== entry.priority
      ? h("span", { class: "aged" }, `Raised from ${urgencyWord(entry.priority)} by waiting`) : null;
    const unread = this.unread.has(entry.id) ? h("span", { class: "unread" }, "New message") : null;
    const content = [
      h("span", { class: "queue-line" }, badge, h("span", { class: "risk" }, riskWords(entry.risk)), unread),
      h("span", { class: "queue-line muted" }, `${languageName(entry.language)} · ${channelName(entry.channel)}`),
      aged ? h("span", { class: "queue-line muted" }, aged) : null,
      h("span", { class: "queue-line" }, h("span", { class: "wait", "data-id": entry.id }), " · ",
        h("span", { class: mine ? "who mine" : "who" }, who)),
    ];
    const item = h("li", {
      class: `queue-item ${urgencyClass(level)}${entry.assigned_to ? " taken" : ""}${entry.id === this.openId ? " is-open" : ""}`,
      "data-id": entry.id,
    });
    if (this.canOpen(entry)) {
      item.append(h("a", {
        class: "queue-link",
        href: `#/c/${encodeURIComponent(entry.id)}`,
        "aria-current": entry.id === this.openId ? "true" : null,
      }, ...content));
    } else {
      item.append(h("div", { class: "queue-link locked" }, ...content,
        h("span", { class: "queue-line muted" }, `Only ${entry.assigned_to} and supervisors can open it.`)));
    }
    return item;
  }

  /** Once a second: waiting times move without asking the server. */
  tick() {
    for (const span of this.list.querySelectorAll(".wait")) {
      const entry = this.entry(span.dataset.id);
      if (!entry) continue;
      const seconds = this.waitingSeconds(entry);
      span.textContent = entry.assigned_to ? `Arrived ${duration(seconds)} ago` : `Waiting ${duration(seconds)}`;
    }
  }

  clear() {
    this.entries = [];
    this.unread.clear();
    this.openId = null;
    this.list.replaceChildren();
    this.summary.textContent = "";
    this.empty.hidden = true;
    this.error.hidden = true;
  }
}
