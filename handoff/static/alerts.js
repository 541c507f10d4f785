// New critical arrivals: a visible banner (always), a short chime (unless turned
// off), and a browser notification when the counsellor allowed them. Neither
// the chime nor the notification carries anything she wrote.
import { channelName, h, languageName, riskWords } from "./format.js";

const SOUND_KEY = "helpline-console-sound";

export class Alerts {
  constructor({ banner, soundButton, notifyButton }) {
    this.banner = banner;
    this.soundButton = soundButton;
    this.notifyButton = notifyButton;
    this.known = new Set(); // ids already seen as critical and waiting
    this.primed = false; // the first queue read is the state at sign-in, not news
    this.audio = null;
    this.soundButton.addEventListener("click", () => this.setSound(!this.soundOn()));
    this.notifyButton.addEventListener("click", () => this.askNotifications());
    // Browsers let a page play sound only after the person interacted with it.
    const unlock = () => this.unlockAudio();
    document.addEventListener("pointerdown", unlock, { capture: true });
    document.addEventListener("keydown", unlock, { capture: true });
    this.showSoundState();
    this.showNotifyState();
  }

  // ---- the queue tells us what is waiting

  /** Called with every fresh queue: announce conversations that became critical and waiting. */
  review(entries) {
    const critical = entries.filter((e) => e.priority === "critical" && !e.assigned_to);
    const current = new Set(critical.map((e) => e.id));
    const fresh = critical.filter((e) => !this.known.has(e.id));
    this.known = current;
    // A banner stays until its conversation is claimed, gone, or dismissed.
    for (const item of [...this.banner.querySelectorAll("[data-alert-id]")]) {
      if (!current.has(item.dataset.alertId)) item.remove();
    }
    this.banner.hidden = !this.banner.childElementCount;
    if (!this.primed) {
      this.primed = true;
      return;
    }
    if (!fresh.length) return;
    for (const entry of fresh) this.showBanner(entry);
    this.chime();
    for (const entry of fresh) this.notify(entry);
  }

  reset() {
    this.known = new Set();
    this.primed = false;
    this.banner.replaceChildren();
    this.banner.hidden = true;
  }

  describe(entry) {
    return `${riskWords(entry.risk)} · ${languageName(entry.language)} · ${channelName(entry.channel)}`;
  }

  showBanner(entry) {
    const item = h("div", { class: "alert-item", "data-alert-id": entry.id },
      h("strong", {}, "Critical: a new conversation is waiting. "),
      h("span", {}, this.describe(entry)),
      " ",
      h("a", { href: `#/c/${encodeURIComponent(entry.id)}`, class: "button primary" }, "Open it"),
    );
    const dismiss = h("button", { type: "button", class: "link-button" }, "Dismiss");
    dismiss.addEventListener("click", () => {
      item.remove();
      this.banner.hidden = !this.banner.childElementCount;
    });
    item.append(" ", dismiss);
    this.banner.append(item);
    this.banner.hidden = false;
  }

  // ---- sound

  soundOn() {
    return localStorage.getItem(SOUND_KEY) !== "off";
  }

  setSound(on) {
    localStorage.setItem(SOUND_KEY, on ? "on" : "off");
    this.showSoundState();
    if (on) {
      this.unlockAudio();
      this.chime(); // let her hear what it sounds like
    }
  }

  showSoundState() {
    const on = this.soundOn();
    this.soundButton.setAttribute("aria-pressed", on ? "true" : "false");
    this.soundButton.textContent = on ? "Sound: on" : "Sound: off";
    this.soundButton.title = on ? "A chime plays for new critical conversations. Click to turn it off."
      : "No chime for new critical conversations. Click to turn it on.";
  }

  unlockAudio() {
    if (!this.soundOn() || !window.AudioContext) return;
    try {
      this.audio ??= new AudioContext();
      if (this.audio.state === "suspended") this.audio.resume();
    } catch {
      this.audio = null;
    }
  }

  /** Two soft rising tones, made here: no audio file, nothing fetched. */
  chime() {
    if (!this.soundOn() || !window.AudioContext) return;
    try {
      this.audio ??= new AudioContext();
      const start = this.audio.currentTime + 0.02;
      [[0, 660], [0.22, 880]].forEach(([offset, frequency]) => {
        const oscillator = this.audio.createOscillator();
        const gain = this.audio.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, start + offset);
        gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.03);
        gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.5);
        oscillator.connect(gain).connect(this.audio.destination);
        oscillator.start(start + offset);
        oscillator.stop(start + offset + 0.55);
      });
    } catch {
      // No sound device: the banner is still there.
    }
  }

  // ---- browser notifications

  showNotifyState() {
    const button = this.notifyButton;
    if (!("Notification" in window)) {
      button.hidden = true;
      return;
    }
    button.hidden = false;
    const permission = Notification.permission;
    button.disabled = permission !== "default";
    button.textContent = {
      granted: "Desktop alerts: on",
      denied: "Desktop alerts: blocked",
      default: "Turn on desktop alerts",
    }[permission];
    button.title = {
      granted: "New critical conversations also show as a notification of the browser.",
      denied: "This browser blocks notifications for the console: allow them in the site settings to get them.",
      default: "Ask the browser to show new critical conversations as notifications.",
    }[permission];
  }

  async askNotifications() {
    try {
      await Notification.requestPermission();
    } finally {
      this.showNotifyState();
    }
  }

  notify(entry) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const note = new Notification("Critical: someone is waiting", {
        body: this.describe(entry),
        tag: `helpline-${entry.id}`,
      });
      note.addEventListener("click", () => {
        window.focus();
        window.location.hash = `#/c/${encodeURIComponent(entry.id)}`;
        note.close();
      });
    } catch {
      // Some browsers allow notifications only from a service worker: the banner remains.
    }
  }
}
