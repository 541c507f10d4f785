// One conversation: the whole transcript, claim, reply, canned responses,
// transfer and close. Everything she wrote is put on the page as text.
import { get, post } from "./api.js";
import { channelName, clock, duration, h, languageName, riskWords, urgencyClass, urgencyWord } from "./format.js";

const CANNED_LABELS = {
  greeting: "Greeting",
  safe_now: "Are you safe now?",
  call_emergency: "Call the emergency number",
  transfer: "I am going to transfer you",
};
const DELIVERY_WORDS = { pending: "Sending…", sent: "Sent", failed: "Not delivered", unprocessed: "Not processed" };
const OPEN_STATES = new Set(["waiting", "assigned"]);
const TYPING_EVERY_MS = 4000;

const $ = (id) => document.getElementById(id);

export class ConversationView {
  /** `app` gives: me, flash(text), claimed (Set), refreshQueue(), goToQueue(). */
  constructor(app) {
    this.app = app;
    this.view = $("conversation-view");
    this.body = $("conv-body");
    this.problem = $("conv-problem");
    this.problemText = $("conv-problem-text");
    this.transcript = $("transcript");
    this.form = $("reply-form");
    this.textarea = $("reply-text");
    this.sendButton = $("send-button");
    this.replyStatus = $("reply-status");
    this.replyHint = $("reply-hint");
    this.notice = $("conv-notice");
    this.id = null;
    this.data = null;
    this.items = new Map(); // message id -> its <li>
    this.sequence = 0;
    this.lastTyping = 0;
    this.sending = false;
    this.pendingTimer = null;
    this.pendingDelay = 1000;
    this.seenUserMessages = new Map(); // id -> how many of her messages were shown
    this.drafts = new Map(); // id -> unsent reply
    this.readFailed = false;

    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send(this.textarea.value);
    });
    this.textarea.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
      event.preventDefault();
      this.form.requestSubmit();
    });
    this.textarea.addEventListener("input", () => this.typing());
    $("claim-button").addEventListener("click", () => this.claim());
    $("transfer-button").addEventListener("click", () => this.openTransfer());
    $("close-button").addEventListener("click", () => this.openClose());
    $("transfer-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.transfer();
    });
    $("close-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.close();
    });
    $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
    $("transfer-to").addEventListener("change", () => {
      this.confirmOffline = null;
      $("transfer-error").hidden = true;
      $("transfer-submit").textContent = this.me.role === "supervisor" ? "Reassign" : "Transfer";
    });
    $("close-cancel").addEventListener("click", () => $("close-dialog").close());
    $("close-return").addEventListener("change", () => this.showReturnHint());
  }

  get me() {
    return this.app.me;
  }

  // ------------------------------------------------------------------ open / read

  async open(id) {
    if (id !== this.id) {
      this.keepDraft();
      this.id = id;
      this.data = null;
      this.items.clear();
      this.focusWhenMine = false;
      this.transcript.replaceChildren();
      this.textarea.value = this.drafts.get(id) || "";
      this.replyStatus.hidden = true;
      this.notice.hidden = true;
      this.body.hidden = true;
      this.problem.hidden = true;
      this.view.setAttribute("aria-busy", "true");
    }
    this.view.hidden = false;
    await this.refresh();
  }

  /** A reply being written survives a look at the queue (in this tab's memory only). */
  keepDraft() {
    if (!this.id) return;
    if (this.textarea.value.trim()) this.drafts.set(this.id, this.textarea.value);
    else this.drafts.delete(this.id);
  }

  /** Signed out: forget everything, drafts included. */
  reset() {
    this.hide();
    this.drafts.clear();
    this.seenUserMessages.clear();
    this.textarea.value = "";
  }

  hide() {
    this.keepDraft();
    this.id = null;
    this.data = null;
    this.items.clear();
    this.transcript.replaceChildren();
    this.view.hidden = true;
    clearTimeout(this.pendingTimer);
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  }

  async refresh() {
    const id = this.id;
    if (!id) return;
    const sequence = ++this.sequence;
    try {
      const data = await get(`/conversations/${encodeURIComponent(id)}`);
      if (sequence !== this.sequence || id !== this.id) return; // a newer read or another conversation
      if (this.readFailed) this.say("");
      this.readFailed = false;
      this.render(data);
    } catch (error) {
      if (sequence !== this.sequence || id !== this.id || error.status === 401) return;
      if (error.status === 403 || error.status === 404) {
        const text = error.status === 404
          ? "This conversation no longer exists: she may have left for her safety, or it has expired."
          : error.message;
        this.showProblem(text);
      } else {
        this.readFailed = true;
        this.say(`The conversation could not be updated: ${error.message}`);
      }
    } finally {
      if (sequence === this.sequence) this.view.removeAttribute("aria-busy");
    }
  }

  showProblem(text) {
    this.data = null;
    this.items.clear();
    this.transcript.replaceChildren();
    this.body.hidden = true;
    this.problemText.textContent = text;
    this.problem.hidden = false;
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  }

  say(text) {
    this.notice.textContent = text;
    this.notice.hidden = !text;
  }

  // ------------------------------------------------------------------ render

  get isOpen() {
    return Boolean(this.data) && OPEN_STATES.has(this.data.state);
  }

  get isMine() {
    return Boolean(this.data) && this.data.assigned_to === this.me.user;
  }

  get canReply() {
    return this.isOpen && this.isMine && this.data?.reply_window_open !== false;
  }

  render(data) {
    this.data = data;
    this.problem.hidden = true;
    this.body.hidden = false;
    const supervisor = this.me.role === "supervisor";
    // The queue's level after aging, when she is in it; else the level she came in with.
    const level = this.app.queue.entry(data.id)?.effective_priority || data.priority || "asked";

    const badge = $("conv-urgency");
    badge.className = `badge ${urgencyClass(level)}`;
    badge.textContent = urgencyWord(level);
    $("conv-risk").textContent = riskWords(data.risk);
    const english = languageName(data.language);
    $("conv-language").textContent = data.language_name && data.language_name !== english && data.language_name !== data.language
      ? `${english} (${data.language_name})` : english;
    $("conv-channel").textContent = channelName(data.channel);
    $("conv-state").textContent = this.stateWords(data);
    $("conv-state").className = `conv-state state-${OPEN_STATES.has(data.state) || data.state === "closed" || data.state === "left" ? data.state : "other"}`;

    // What she may do here now.
    $("claim-button").hidden = !(data.state === "waiting" && !data.assigned_to);
    const transfer = $("transfer-button");
    transfer.hidden = !(this.isOpen && (this.isMine || supervisor));
    transfer.textContent = supervisor ? "Reassign…" : "Transfer…";
    $("close-button").hidden = !(this.isOpen && (this.isMine || !data.assigned_to || supervisor));

    // She left by safe exit: say so, and lock everything.
    $("conv-left").hidden = !data.left;
    this.view.classList.toggle("locked", Boolean(data.left) || !this.isOpen);

    const closed = $("conv-closed");
    closed.hidden = data.state !== "closed";
    if (data.state === "closed") {
      $("closed-by").textContent = data.closed_by ? `Closed by ${data.closed_by === this.me.user ? "you" : data.closed_by}.` : "Closed.";
      $("closed-outcome").textContent = data.outcome || "—";
      $("closed-notes").textContent = data.notes || "No notes.";
      $("closed-wrapup").textContent = "";
      this.wrapupWords(data.wrapup).then((words) => { $("closed-wrapup").textContent = words || "—"; });
    }
    this.renderEarlier(data);

    const dropped = $("transcript-dropped");
    dropped.hidden = !data.earlier_dropped;
    dropped.textContent = data.earlier_dropped
      ? `${data.earlier_dropped} earlier messages are not kept (a conversation keeps its newest 2,000).` : "";
    this.renderTranscript(data.messages || []);
    this.renderComposer(data, supervisor);
    if (this.focusWhenMine && this.canReply) {
      this.focusWhenMine = false;
      this.textarea.focus();
    }
    this.watchPending(data.messages || []);
    this.seenUserMessages.set(data.id, (data.messages || []).filter((m) => m.from === "user").length);
  }

  stateWords(data) {
    switch (data.state) {
      case "waiting":
        return data.waiting_seconds !== undefined
          ? `Waiting for a counsellor (${duration(data.waiting_seconds)})` : "Waiting for a counsellor";
      case "assigned":
        return data.assigned_to === this.me.user ? "With you" : `With ${data.assigned_to}`;
      case "closed":
        return "Closed";
      case "left":
        return "She left for her safety";
      default:
        return "With the bot: not handed to counsellors";
    }
  }

  renderTranscript(messages) {
    const box = this.transcript;
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80 || !box.childElementCount;
    const wanted = new Set();
    const firstRead = this.items.size === 0;
    let added = false;
    let newFailure = false;
    const heard = [];
    const failedNow = (m) => m.status === "failed" && m.from === "counsellor" && m.by === this.me.user;
    this.firstKey = messages.length ? messages[0].id || `0:${messages[0].at}` : null;
    messages.forEach((message, index) => {
      const key = message.id || `${index}:${message.at}`;
      wanted.add(key);
      const existing = this.items.get(key);
      if (existing) {
        if (existing.dataset.status !== (message.status || "")) {
          if (failedNow(message)) newFailure = true;
          existing.replaceWith(this.messageItem(key, message));
        }
        return;
      }
      box.append(this.messageItem(key, message));
      added = true;
      if (!firstRead && failedNow(message)) newFailure = true;
      if (!firstRead && message.from === "user") heard.push(message.text);
    });
    for (const [key, item] of this.items) {
      if (!wanted.has(key)) {
        item?.remove();
        this.items.delete(key);
      }
    }
    $("transcript-empty").hidden = messages.length > 0 || Boolean(this.data?.left);
    if (added && nearBottom) box.scrollTop = box.scrollHeight;
    // For screen readers: her new messages, once each (status changes stay quiet).
    if (heard.length) $("announce").textContent = heard.map((text) => `She wrote: ${text}`).join("\n");
    if (newFailure) {
      this.showReplyStatus("A message of yours was not delivered to her: it is marked “Not delivered” below. You can send it again.");
    }
  }

  messageItem(key, message) {
    const from = ["user", "bot", "counsellor"].includes(message.from) ? message.from : "bot";
    let who = { user: "Person", bot: "Bot" }[from];
    if (from === "counsellor") who = message.by === this.me.user ? "You" : (message.by || "Counsellor");
    const status = message.status || "";
    const meta = h("p", { class: "msg-meta" },
      h("span", { class: "msg-who" }, who),
      h("span", { class: "msg-time" }, clock(message.at)));
    if (message.earlier) meta.append(h("span", { class: "earlier-tag" }, "Earlier contact"));
    if (message.risk || message.category) {
      meta.append(h("span", { class: `risk-tag ${urgencyClass(message.risk)}` },
        `Risk: ${riskWords(message.category)}${message.risk ? `, ${urgencyWord(message.risk).toLowerCase()}` : ""}`
        + (message.why ? ` · why: ${message.why}` : "")));
    }
    if (status && from !== "user") {
      meta.append(h("span", { class: `delivery delivery-${DELIVERY_WORDS[status] ? status : "unknown"}` }, DELIVERY_WORDS[status] || status));
    } else if (status === "unprocessed") {
      meta.append(h("span", { class: "delivery delivery-failed" }, "The bot could not process this message"));
    }
    const text = h("p", { class: "msg-text", dir: "auto" }, message.text ?? "");
    if (!message.text) {
      text.classList.add("no-text");
      text.textContent = from === "user" && key === this.firstKey ? "(opened the chat)" : "(no text)";
    }
    if (from === "bot" && this.data?.language) text.lang = this.data.language;
    const item = h("li", { class: `msg from-${from}${status === "failed" ? " failed" : ""}`, "data-status": status }, meta, text);
    if (status === "failed" && from === "counsellor") {
      item.append(h("p", { class: "failed-note" },
        "Not delivered: her channel did not accept this message. She has not seen it."));
      if (this.canReply) {
        const again = h("button", { type: "button", class: "small" }, "Send again");
        again.addEventListener("click", () => this.send(message.text));
        item.append(again);
      }
    }
    this.items.set(key, item);
    return item;
  }

  renderComposer(data, supervisor) {
    const canReply = this.canReply;
    this.textarea.disabled = !canReply;
    this.sendButton.disabled = !canReply;
    let hint = "";
    if (data.left) hint = "She left for her safety: nothing can be sent to her.";
    else if (data.state === "closed") hint = "This conversation is closed: her next message goes to the bot.";
    else if (!OPEN_STATES.has(data.state)) hint = "She is talking with the bot.";
    else if (data.reply_window_open === false) {
      hint = "Her last message is too old to answer: she must write first. Nothing can be sent to her until she does.";
    } else if (!data.assigned_to) hint = "Claim this conversation to reply to her.";
    else if (!this.isMine) {
      hint = supervisor ? `This conversation is with ${data.assigned_to}. To write to her yourself, reassign it to yourself.`
        : `This conversation is with ${data.assigned_to}.`;
    }
    this.replyHint.textContent = hint;
    this.replyHint.hidden = !hint;
    this.form.hidden = Boolean(data.left) || data.state === "closed";

    const canned = $("canned");
    const buttons = (data.canned || []).map((item) => {
      const button = h("button", { type: "button", class: "small", title: item.text, lang: data.language || null }, CANNED_LABELS[item.id] || item.id);
      button.disabled = !canReply;
      button.addEventListener("click", () => this.insert(item.text));
      return button;
    });
    $("canned-buttons").replaceChildren(...buttons);
    $("canned-language").textContent = languageName(data.language);
    canned.hidden = !buttons.length || this.form.hidden;
  }

  /** A canned response goes into the box, to be read and sent by the counsellor. */
  insert(text) {
    const box = this.textarea;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? box.value.length;
    const before = box.value.slice(0, start);
    const glue = before && !/\s$/.test(before) ? " " : "";
    box.setRangeText(glue + text, start, end, "end");
    box.focus();
    this.typing();
  }

  /** Delivery is confirmed without an event: re-read while some message is on its way. */
  watchPending(messages) {
    clearTimeout(this.pendingTimer);
    if (!messages.some((m) => m.status === "pending")) {
      this.pendingDelay = 1000;
      return;
    }
    this.pendingTimer = setTimeout(() => this.refresh(), this.pendingDelay);
    this.pendingDelay = Math.min(this.pendingDelay * 2, 15000);
  }

  showReplyStatus(text) {
    this.replyStatus.textContent = text;
    this.replyStatus.hidden = !text;
  }

  // ------------------------------------------------------------------ actions

  async claim() {
    const id = this.id;
    this.say("");
    try {
      await post(`/conversations/${encodeURIComponent(id)}/claim`);
      this.app.claimed.add(id);
      this.say("You claimed this conversation: she is waiting for your first message.");
      this.focusWhenMine = true; // whichever read shows it as mine first
      await this.refresh();
      this.app.refreshQueue();
    } catch (error) {
      if (error.status === 401) return;
      await this.refresh();
      this.say(error.message);
    }
  }

  /** Over her channel's limit the server would cut the message: say so before. */
  tooLong(text) {
    const limit = this.data?.max_text;
    if (!limit || text.length <= limit) return "";
    return `Too long for ${channelName(this.data.channel)}: ${text.length} characters, and at most ${limit} reach her. Shorten it, or send it in two messages.`;
  }

  async send(text) {
    if (this.sending || !text || !text.trim() || !this.canReply) return;
    const tooLong = this.tooLong(text);
    if (tooLong) {
      this.showReplyStatus(tooLong);
      return;
    }
    const id = this.id;
    this.sending = true;
    this.sendButton.disabled = true;
    this.showReplyStatus("");
    try {
      await post(`/conversations/${encodeURIComponent(id)}/messages`, { text });
      if (this.textarea.value === text) this.textarea.value = "";
      this.drafts.delete(id);
      this.lastTyping = 0;
      this.say("");
      await this.refresh();
    } catch (error) {
      if (error.status !== 401) {
        this.showReplyStatus(`Not sent: ${error.message} Your text is still in the box.`);
        await this.refresh();
      }
    } finally {
      this.sending = false;
      this.sendButton.disabled = !this.canReply;
      if (this.canReply) this.textarea.focus();
    }
  }

  typing() {
    const tooLong = this.tooLong(this.textarea.value);
    if (tooLong || this.replyStatus.textContent.startsWith("Too long")) this.showReplyStatus(tooLong);
    if (!this.canReply || !this.textarea.value.trim()) return;
    const now = Date.now();
    if (now - this.lastTyping < TYPING_EVERY_MS) return;
    this.lastTyping = now;
    post(`/conversations/${encodeURIComponent(this.id)}/typing`).catch(() => {});
  }

  async openTransfer() {
    const dialog = $("transfer-dialog");
    const select = $("transfer-to");
    const supervisor = this.me.role === "supervisor";
    $("transfer-title").textContent = supervisor ? "Reassign this conversation" : "Transfer to another counsellor";
    $("transfer-submit").textContent = supervisor ? "Reassign" : "Transfer";
    $("transfer-error").hidden = true;
    select.replaceChildren(h("option", { value: "" }, "Loading the team…"));
    dialog.showModal();
    try {
      const team = await get("/counsellors");
      const options = team
        .filter((c) => c.user !== this.data?.assigned_to && (supervisor || c.user !== this.me.user))
        .sort((a, b) => Number(b.online) - Number(a.online) || a.user.localeCompare(b.user))
        .map((c) => h("option", { value: c.user }, counsellorLabel(c, this.me.user)));
      this.team = team;
      this.confirmOffline = null;
      select.replaceChildren(h("option", { value: "" }, options.length ? "Choose a counsellor…" : "Nobody else has an account"), ...options);
      select.focus();
    } catch (error) {
      if (error.status === 401) return;
      $("transfer-error").textContent = error.message;
      $("transfer-error").hidden = false;
    }
  }

  async transfer() {
    const to = $("transfer-to").value;
    const error = $("transfer-error");
    if (!to) {
      error.textContent = "Choose who should take this conversation.";
      error.hidden = false;
      return;
    }
    const verb = this.me.role === "supervisor" ? "Reassign" : "Transfer";
    const target = (this.team || []).find((c) => c.user === to);
    if (target && !target.online && this.confirmOffline !== to) {
      // Nobody sees it until they sign in: say so, and ask once more.
      this.confirmOffline = to;
      error.textContent = offlineWarning(to, this.app.queue.entry(this.id)?.effective_priority || this.data?.priority, verb);
      error.hidden = false;
      $("transfer-submit").textContent = `${verb} anyway`;
      return;
    }
    try {
      await post(`/conversations/${encodeURIComponent(this.id)}/transfer`, { to });
      $("transfer-dialog").close();
      const whom = to === this.me.user ? "yourself" : to;
      if (this.me.role === "supervisor") {
        this.say(`Reassigned to ${whom}.`);
        await this.refresh();
      } else {
        this.app.flash(`You transferred the conversation to ${to}.`);
        this.app.goToQueue();
      }
      this.app.refreshQueue();
    } catch (problem) {
      if (problem.status === 401) return;
      error.textContent = problem.message;
      error.hidden = false;
    }
  }

  /** The close dialog's outcomes and wrap-up fields (flows/wrapup.yaml), read once per page. */
  wrapupForm() {
    if (!this.wrapupPromise) {
      this.wrapupPromise = get("/wrapup").catch((problem) => {
        this.wrapupPromise = null;
        throw problem;
      });
    }
    return this.wrapupPromise;
  }

  /** "Needs: A safe place to sleep, Health care · Referrals made: Shelter" */
  async wrapupWords(wrapup) {
    if (!wrapup || !Object.keys(wrapup).length) return "";
    let form = { fields: [] };
    try {
      form = await this.wrapupForm();
    } catch {
      // The ids then stand for their labels.
    }
    const parts = [];
    for (const [id, value] of Object.entries(wrapup)) {
      const field = form.fields.find((f) => f.id === id);
      const label = (choice) => field?.choices.find((c) => c.id === choice)?.label || choice;
      const values = (Array.isArray(value) ? value : [value]).map(label);
      parts.push(`${field?.label || id}: ${values.join(", ")}`);
    }
    return parts.join(" · ");
  }

  renderEarlier(data) {
    const earlier = data.earlier_contacts || [];
    const section = $("conv-earlier");
    section.hidden = !earlier.length || Boolean(data.left);
    if (section.hidden) return;
    $("earlier-title").textContent = earlier.length === 1
      ? "She has written before: 1 earlier contact" : `She has written before: ${earlier.length} earlier contacts`;
    $("earlier-hidden-note").textContent = data.earlier_hidden
      ? ` (${data.earlier_hidden} messages; a supervisor can allow them in Statistics › Settings)` : "";
    const key = JSON.stringify(earlier);
    if (section.dataset.key === key) return;
    section.dataset.key = key;
    const list = $("earlier-list");
    list.replaceChildren();
    for (const contact of earlier) {
      const item = h("li", { class: "earlier-item" },
        h("p", { class: "earlier-head" }, `${clock(contact.closed_at)} · ${contact.counsellor || contact.closed_by || "a counsellor"}`),
        h("p", {}, h("strong", {}, "Outcome: "), contact.outcome || "—"));
      const wrapup = h("p", { class: "earlier-wrapup" });
      const notes = contact.notes ? h("p", { class: "notes" }, h("strong", {}, "Notes: "), contact.notes) : null;
      item.append(wrapup);
      if (notes) item.append(notes);
      this.wrapupWords(contact.wrapup).then((words) => { wrapup.textContent = words; });
      list.append(item);
    }
  }

  async openClose() {
    $("close-form").reset();
    $("close-error").hidden = true;
    this.showReturnHint();
    let form = { outcomes: [], fields: [] };
    try {
      form = await this.wrapupForm();
    } catch (problem) {
      if (problem.status === 401) return;
      $("close-error").textContent = `The wrap-up form could not be read: ${problem.message}`;
      $("close-error").hidden = false;
    }
    const select = $("close-outcome");
    select.replaceChildren(h("option", { value: "" }, "Choose an outcome…"),
      ...form.outcomes.map((outcome) => h("option", { value: outcome }, outcome)));
    $("close-wrapup").replaceChildren(...form.fields.map((field) => this.wrapupFieldset(field)));
    $("close-dialog").showModal();
    select.focus();
  }

  wrapupFieldset(field) {
    const type = field.choose === "many" ? "checkbox" : "radio";
    const legend = h("legend", {}, field.label, field.required ? h("span", { class: "required" }, " (required)") : null);
    const set = h("fieldset", { class: "wrapup-field", "data-field": field.id, "aria-required": field.required ? "true" : null }, legend);
    if (field.help) set.append(h("p", { class: "hint" }, field.help));
    const choices = h("div", { class: "choices" });
    for (const choice of field.choices) {
      const id = `wrapup-${field.id}-${choice.id}`;
      choices.append(h("span", { class: "choice" },
        h("input", { type, id, name: `wrapup-${field.id}`, value: choice.id }),
        h("label", { for: id }, choice.label)));
    }
    set.append(choices);
    return set;
  }

  /** {field: choice | [choices]} from the dialog, and the labels of required fields left empty. */
  wrapupValues() {
    const values = {};
    const missing = [];
    for (const set of document.querySelectorAll("#close-wrapup .wrapup-field")) {
      const checked = [...set.querySelectorAll("input:checked")].map((input) => input.value);
      const many = set.querySelector("input")?.type === "checkbox";
      if (checked.length) values[set.dataset.field] = many ? checked : checked[0];
      else if (set.getAttribute("aria-required") === "true") missing.push(set.querySelector("legend").firstChild.textContent);
    }
    return { values, missing };
  }

  showReturnHint() {
    $("close-return-hint").textContent = $("close-return").checked
      ? "She gets the bot's main menu at once."
      : "Nothing more is sent to her; her next message starts a new conversation.";
  }

  async close() {
    const outcome = $("close-outcome").value;
    const notes = $("close-notes").value;
    const returnToBot = $("close-return").checked;
    const error = $("close-error");
    if (!outcome) {
      error.textContent = "Choose an outcome: it tells the team how the conversation ended.";
      error.hidden = false;
      $("close-outcome").focus();
      return;
    }
    const { values: wrapup, missing } = this.wrapupValues();
    if (missing.length) {
      error.textContent = `The wrap-up is not complete: fill in ${missing.join(", ")}.`;
      error.hidden = false;
      document.querySelector(`#close-wrapup fieldset[aria-required="true"] input`)?.focus();
      return;
    }
    try {
      await post(`/conversations/${encodeURIComponent(this.id)}/close`, { outcome, notes, return_to_bot: returnToBot, wrapup });
      $("close-dialog").close();
      this.app.flash(returnToBot ? "Conversation closed: she is back at the bot's main menu."
        : "Conversation closed: her next message starts a new conversation.");
      const place = this.app.queue.entries.findIndex((e) => e.id === this.id);
      this.app.goToQueue();
      await this.app.refreshQueue();
      this.app.queue.focusAt(place); // where she was in the list: the next one, else the list
    } catch (problem) {
      if (problem.status === 401) return;
      error.textContent = problem.message;
      error.hidden = false;
    }
  }

  /** Her new messages in a conversation of mine that is not on screen. */
  async checkUnread(id) {
    try {
      const data = await get(`/conversations/${encodeURIComponent(id)}`);
      const count = (data.messages || []).filter((m) => m.from === "user").length;
      const seen = this.seenUserMessages.get(id);
      this.seenUserMessages.set(id, count);
      return seen !== undefined && count > seen;
    } catch {
      return false;
    }
  }
}

/** Why a transfer to someone offline needs a second press. */
export function offlineWarning(to, level, verb = "Reassign") {
  const critical = level === "critical" ? "This is a critical conversation. " : "";
  return `${critical}${to} is offline: nobody will see this conversation until ${to} signs in. `
    + `Press “${verb} anyway” to confirm, or choose someone online.`;
}

/** "bea — online, 2 open conversations"; short: "bea (online, 2 open)". */
export function counsellorLabel(c, me, short = false) {
  const name = c.user === me ? `${c.user} (you)` : c.user;
  if (short) return `${name}: ${c.online ? "online" : "offline"}, ${c.load} open`;
  const role = c.role === "supervisor" ? ", supervisor" : "";
  const load = c.load === 1 ? "1 open conversation" : `${c.load} open conversations`;
  return `${name}${role} — ${c.online ? "online" : "offline"}, ${load}`;
}
