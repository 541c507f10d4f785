// The live queue: most urgent first (the server's order), urgency by colour and
// word, waiting time ticking here between reads. It shows a page of PAGE_SIZE
// at a time, filtered by urgency, channel and language; the counts are the
// server's (headers of the same read), so they always cover the whole queue.
import { getWithHeaders } from "./api.js";
import { channelName, duration, h, languageName, riskWords, urgencyClass, urgencyWord } from "./format.js";

export const PAGE_SIZE = 100;

export class Queue {
  constructor({ list, empty, summary, error, me, pager }) {
    this.pager = pager; // {box, status, previous, next, level, channel, language}
    this.offset = 0;
    this.total = 0;
    this.waiting = 0;
    this.assigned = 0;
    this.filters = { level: "", channel: "", language: "" };
    this.languages = [];
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
          const { data: entries, headers } = await getWithHeaders(`/queue?${this.query()}`);
          this.entries = Array.isArray(entries) ? entries : [];
          this.total = Number(headers.get("X-Total-Count") || this.entries.length);
          this.waiting = Number(headers.get("X-Queue-Waiting") || 0);
          this.assigned = Number(headers.get("X-Queue-Assigned") || 0);
          this.languages = (headers.get("X-Queue-Languages") || "").split(",").filter(Boolean);
          if (this.offset && this.offset >= this.total) { // the page emptied: back to the last one
            this.offset = Math.max(0, Math.floor((this.total - 1) / PAGE_SIZE) * PAGE_SIZE);
            this.again = true;
          }
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

  query() {
    const params = new URLSearchParams({ offset: String(this.offset), limit: String(PAGE_SIZE) });
    for (const [name, value] of Object.entries(this.filters)) if (value) params.set(name, value);
    return params.toString();
  }

  /** A filter changed (name, value), or a page was asked for (offset). */
  setFilter(name, value) {
    this.filters[name] = value;
    this.offset = 0;
    return this.refresh();
  }

  turn(pages) {
    this.offset = Math.max(0, this.offset + pages * PAGE_SIZE);
    return this.refresh();
  }

  renderPager() {
    const p = this.pager;
    if (!p) return;
    const filtered = Object.values(this.filters).some(Boolean);
    const first = this.total ? this.offset + 1 : 0;
    const last = this.offset + this.entries.length;
    p.status.textContent = this.total > PAGE_SIZE || filtered
      ? `Showing ${first}–${last} of ${this.total}${filtered ? " matching" : ""}` : "";
    p.previous.disabled = this.offset === 0;
    p.next.disabled = last >= this.total;
    p.box.hidden = this.total <= PAGE_SIZE && this.offset === 0;
    const current = p.language.value;
    const languages = [...new Set([...this.languages, ...(current ? [current] : [])])].sort();
    if (p.language.dataset.list !== languages.join(",")) {
      p.language.dataset.list = languages.join(",");
      p.language.replaceChildren(h("option", { value: "" }, "All languages"),
        ...languages.map((code) => h("option", { value: code }, languageName(code))));
      p.language.value = current;
    }
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
    const { waiting, assigned } = this;
    this.empty.hidden = this.entries.length > 0;
    this.empty.textContent = this.waiting + this.assigned && Object.values(this.filters).some(Boolean)
      ? "Nobody here matches these filters." : "Nobody is waiting. New conversations appear here by themselves.";
    this.summary.textContent = `${waiting} waiting · ${assigned} with a counsellor`;
    document.title = waiting ? `(${waiting}) Helpline console` : "Helpline console";
    this.renderPager();
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

  /** Focus the queue's `place`-th row (the last if fewer), else the queue's heading. */
  focusAt(place) {
    const links = [...this.list.querySelectorAll(".queue-item > a")];
    const target = links.length ? links[Math.min(Math.max(place, 0), links.length - 1)] : null;
    (target || document.getElementById("queue-title")).focus();
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
